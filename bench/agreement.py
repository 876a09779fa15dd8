"""How two solver runs on the same problems overlap: which problems each answers right.

    python bench/agreement.py outputs/evaluate/<run a>/predictions.jsonl outputs/evaluate/<run b>/predictions.jsonl

Prints, over the problems both runs hold: right in a, right in b, right in both, right in
either (an oracle that always picks the right run), and how often the two answers agree. Two
runs that solve different problems leave room for combining them; two that solve the same
ones do not.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def read(path: Path) -> dict[str, dict]:
    with open(path, encoding="utf-8") as f:
        return {d["id"]: d for d in map(json.loads, f) if d.get("id")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    args = ap.parse_args()
    a, b = read(args.a), read(args.b)
    ids = [i for i in a if i in b]
    if not ids:
        raise SystemExit(f"{args.a} and {args.b} share no problem id")
    right_a = {i for i in ids if a[i]["correct"]}
    right_b = {i for i in ids if b[i]["correct"]}
    agree = [i for i in ids if a[i]["answer"] is not None and a[i]["answer"] == b[i]["answer"]]
    rows = [("problems in both", len(ids)), ("right in a", len(right_a)), ("right in b", len(right_b)),
            ("right in both", len(right_a & right_b)), ("right in either (oracle)", len(right_a | right_b)),
            ("same answer", len(agree)), ("same answer and right", sum(a[i]["correct"] for i in agree))]
    print("| | problems |\n|---|---:|")
    for name, n in rows:
        print(f"| {name} | {n} ({n / len(ids):.1%}) |")


if __name__ == "__main__":
    main()
