"""Training throughput: the segmenter's LightningModule step vs a bare PyTorch loop.

Same backbone weights, same batches (from SegmenterDataModule over GSM8K questions whose
sentences stand in for regions), same AdamW and gradient clipping. Each loop runs ``--steps``
timed steps after ``--warmup`` untimed ones; the loops alternate ``--rounds`` times and the
fastest round of each counts (the machine is shared, so the minimum is the least noisy).
Tokens are real (non-pad) tokens. Goal: Lightning >= 0.9x the bare loop.

    python bench/train_throughput.py                      # SmolLM2-135M truncated to 4 layers
    python bench/train_throughput.py --backbone tiny --steps 20
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch.utils.data import DataLoader

from mycelium.models.bio import IGNORE
from mycelium.models.datamodule import SegmenterDataModule
from mycelium.models.segmenter import SegmenterModule

ROOT = Path(__file__).resolve().parents[1]
GSM8K = ROOT.parent / "shared" / "data" / "gsm8k" / "train.jsonl"


def backbone_partial(name: str, num_layers: int):
    """The backbone partial from ``conf/backbone/<name>.yaml`` (the config training uses)."""
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        cfg = compose(config_name="train", overrides=[f"backbone={name}", f"backbone.num_layers={num_layers}"])
    return instantiate(cfg.backbone)


def write_labels(directory: Path, n: int) -> Path:
    """``n`` GSM8K questions as validated records, each sentence a region (a stand-in workload)."""
    rows = []
    lines = GSM8K.read_text().splitlines()[:n] if GSM8K.is_file() else []
    texts = [json.loads(x)["question"] for x in lines] or ["Natalia sold 48 clips in April. She sold half as many in May."] * n
    for i, text in enumerate(texts):
        regions = [m.span() for m in re.finditer(r"[^.?!]+[.?!]", text)]
        steps = [{"index": k, "op": "ADD", "args": [], "value": "1", "region": [s + (text[s] == " "), e]}
                 for k, (s, e) in enumerate(regions)]
        rows.append({"id": f"bench-{i}", "text": text, "gold_answer": "1", "steps": steps, "answer": "1", "validated": True})
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return directory


def bare_loop(model: torch.nn.Module, batches: list[dict], warmup: int, lr: float) -> float:
    """Seconds for the timed steps of a plain forward/backward/clip/step loop."""
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    start = 0.0
    for k, b in enumerate(batches):
        if k == warmup:
            start = time.perf_counter()
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
        loss = F.cross_entropy(logits.flatten(0, 1), b["labels"].flatten(), ignore_index=IGNORE)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return time.perf_counter() - start


class StepTimer(L.Callback):
    """Wall time from the start of step ``warmup`` to the end of the last step."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.end = warmup, 0.0, 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.end = time.perf_counter()


def lightning_loop(module: SegmenterModule, batches: list[dict], warmup: int) -> float:
    """Seconds for the timed steps of ``Trainer.fit`` on the same batches."""
    timer = StepTimer(warmup)
    trainer = L.Trainer(
        accelerator="cpu", devices=1, precision="32-true", max_steps=len(batches), max_epochs=1,
        limit_val_batches=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, gradient_clip_val=1.0, callbacks=[timer],
    )
    trainer.fit(module, train_dataloaders=DataLoader(batches, batch_size=None))  # ready batches
    return timer.end - timer.start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbone", default="smollm2_135m", help="conf/backbone name (falls back to tiny)")
    p.add_argument("--num-layers", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    name = args.backbone
    try:
        model, tokenizer = backbone_partial(name, args.num_layers)(task="token_classification", num_labels=3)
    except Exception as e:  # no offline SmolLM2 here: measure the tiny backbone instead
        print(f"backbone {name} unavailable ({type(e).__name__}: {e}); using tiny")
        name = "tiny"
        model, tokenizer = backbone_partial(name, args.num_layers)(task="token_classification", num_labels=3)

    torch.manual_seed(0)  # the same batches every run (the stream shuffles from torch RNG)
    n_batches = args.warmup + args.steps
    with tempfile.TemporaryDirectory() as tmp:
        dm = SegmenterDataModule(str(write_labels(Path(tmp), 4 * n_batches * args.batch_size)), tokenizer,
                                 splits={"train": 0.8, "val": 0.2}, batch_size=args.batch_size, max_length=256)
        batches = list(dm.stream("train", shuffle=True))[:n_batches]
    tokens = sum(int(b["attention_mask"].sum()) for b in batches[args.warmup :])
    width = sum(b["input_ids"].numel() for b in batches[args.warmup :]) / args.steps / args.batch_size

    weights = copy.deepcopy(model.state_dict())
    results: dict[str, list[float]] = {"bare PyTorch": [], "LightningModule": []}
    for _ in range(args.rounds):
        model.load_state_dict(weights)
        results["bare PyTorch"].append(bare_loop(model, batches, args.warmup, lr=3e-5))
        module = SegmenterModule(lambda **kw: (model, tokenizer), optim=lambda params: torch.optim.AdamW(params, lr=3e-5))
        module.model.load_state_dict(weights)
        results["LightningModule"].append(lightning_loop(module, batches, args.warmup))

    base = min(results["bare PyTorch"])
    print(f"\nbackbone={name} num_layers={args.num_layers} batch={args.batch_size}x~{width:.0f} "
          f"steps={args.steps} (+{args.warmup} warmup) threads={torch.get_num_threads()} rounds={args.rounds}\n")
    print("| loop | best s | all rounds s | tokens/s | vs bare |")
    print("|---|---:|---|---:|---:|")
    for label, times in results.items():
        best = min(times)
        print(f"| {label} | {best:.2f} | {', '.join(f'{t:.2f}' for t in times)} | {tokens / best:,.0f} | {base / best:.2f}x |")


if __name__ == "__main__":
    main()
