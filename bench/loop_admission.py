"""Which of the self-improvement loop's added labels ``loop.admit=solution`` would keep.

    python bench/loop_admission.py outputs/loops/self_improve_wiring/round_00{1,2,3}/added.jsonl \\
        --right 937,967,... --coincidence 111,936,...

Each added record (a DAG the students solved that executed to gold and passed the labels'
checks) is judged by ``mycelium.loop.selection.agrees_with_solution`` against its problem's
gold solution (GSM8K train). ``--right``/``--coincidence`` take a hand audit's verdicts
(problem indices): the table then shows how many of each the rule keeps. Prints a markdown
table.
"""

from __future__ import annotations

import argparse
import os

from mycelium.data.problems import load_problems
from mycelium.labels.stage import read_labels
from mycelium.loop.selection import agrees_with_solution


def _ids(text: str) -> set[int]:
    return {int(x) for x in text.split(",") if x.strip()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("added", nargs="+", help="added.jsonl files of loop rounds")
    ap.add_argument("--right", default="", help="comma-separated problem indices a hand audit found right")
    ap.add_argument("--coincidence", default="", help="... that reach gold only by coincidence")
    ap.add_argument("--data-dir", default=os.environ.get("MYCELIUM_DATA_DIR") or "../shared/data")
    args = ap.parse_args()
    problems = {p.id: p for p in load_problems("gsm8k", "train", data_dir=args.data_dir)}
    records = [r for path in args.added for r in read_labels(path)]
    unknown = [r.id for r in records if r.id not in problems]
    if unknown:
        raise SystemExit(f"{len(unknown)} records are not GSM8K train problems (e.g. {unknown[0]})")
    right, luck = _ids(args.right), _ids(args.coincidence)
    groups = {"audited right": [], "audited coincidence": [], "other": []}
    for r in records:
        n = int(r.id.rsplit("/", 1)[1])
        group = "audited right" if n in right else "audited coincidence" if n in luck else "other"
        groups[group].append(agrees_with_solution(r, problems[r.id].solution))
    print("| added labels | count | kept by loop.admit=solution |")
    print("|---|---:|---:|")
    for name, kept in groups.items():
        if kept:
            print(f"| {name} | {len(kept)} | {sum(kept)} |")
    total = [k for kept in groups.values() for k in kept]
    print(f"| all | {len(total)} | {sum(total)} |")


if __name__ == "__main__":
    main()
