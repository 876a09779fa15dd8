"""The statistics behind the solver's answer priors (mycelium/solver/rerank.py), as a table.

For a labels dir: the share of validated labels that read a written number twice (the reuse
prior's cost). For a dataset: the share of gold answers equal to a number written in the
problem (the echo prior's cost). For predictions.jsonl files (evaluate.py's): how many answers
echo a number the DAG reads or read a number twice, and how many of those are right.

    python bench/answer_priors.py --labels artifacts/labels/gsm8k-train/smollm2_135m-dataset/default \
        --gold gsm8k/test --predictions outputs/evaluate/<run>/predictions.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from fractions import Fraction
from pathlib import Path

from mycelium.data.problems import load_problems
from mycelium.dag.graph import parse_value
from mycelium.labels.args import extract_numbers
from mycelium.labels.stage import read_labels


def value(text: str) -> Fraction | None:
    parsed = parse_value(str(text))
    return parsed[0] if parsed is not None else None


def written(args: list) -> list:
    """The written (non-result) operands of a DAG's steps, as (span, value)."""
    return [(tuple(a.span), value(a.value)) for a in args if a.kind != "result" and a.span is not None]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labels", type=Path, help="a labels dir: share of validated labels reading a number twice")
    ap.add_argument("--gold", help="<dataset>/<split>: share of gold answers equal to a written number")
    ap.add_argument("--predictions", type=Path, nargs="*", default=[], help="evaluate.py predictions.jsonl files")
    ap.add_argument("--data-dir", default=os.environ.get("MYCELIUM_DATA_DIR"))
    args = ap.parse_args()
    rows = []
    if args.labels:
        recs = [r for r in read_labels(args.labels) if r.validated]
        twice = sum(any(v > 1 for v in Counter(sp for s in r.steps for sp, _ in written(s.args)).values()) for r in recs)
        rows.append((f"validated labels reading a written number twice ({args.labels})", twice, len(recs), ""))
    if args.gold:
        name, split = args.gold.split("/")
        probs = load_problems(name, split, args.data_dir)
        echo = sum(value(p.answer) in {value(x.value) for x in extract_numbers(p.text)} for p in probs)
        rows.append((f"gold answers equal to a number written in the problem ({args.gold})", echo, len(probs), ""))
    for path in args.predictions:
        preds = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
        n_echo = ok_echo = n_twice = ok_twice = 0
        for p in preds:
            if p["answer"] is None:
                continue
            ops = [(tuple(a["span"]), value(a["value"])) for s in p["steps"] for a in s["args"]
                   if a["kind"] != "result" and a.get("span")]
            if value(p["answer"]) in {v for _, v in ops}:
                n_echo, ok_echo = n_echo + 1, ok_echo + p["correct"]
            if any(c > 1 for c in Counter(sp for sp, _ in ops).values()):
                n_twice, ok_twice = n_twice + 1, ok_twice + p["correct"]
        rows.append((f"answers echoing a number the DAG reads ({path})", n_echo, len(preds), f"{ok_echo} right"))
        rows.append((f"answers from a DAG reading a number twice ({path})", n_twice, len(preds), f"{ok_twice} right"))
    print("| statistic | count | of | share | note |\n|---|---:|---:|---:|---|")
    for what, k, n, note in rows:
        print(f"| {what} | {k} | {n} | {k / n:.1%} | {note} |" if n else f"| {what} | 0 | 0 | - | {note} |")


if __name__ == "__main__":
    main()
