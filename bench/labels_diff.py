"""What a change to the labelling rules did: two labels runs of the same traces, side by side.

    python bench/labels_diff.py <labels before> <labels after> [--show 3] [--seed 0]

Counts the problems that validated before and not after (by their new rejection reason),
those that validate only after (by their old reason), and those validated in both whose DAG
(ops and where each operand comes from) changed; ``--show N`` prints N random problems of
each group with both DAGs, for reading by hand. Both arguments are labels directories (or
their ``labels.jsonl``) from ``extract.py stage=labels``.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter

from mycelium.labels.stage import read_labels
from mycelium.records.labels import LabelRecord


def dag(r: LabelRecord) -> list[tuple]:
    """A record's DAG as ops and operand sources (a text span, or an earlier step)."""
    return [(s.op, [(a.kind, a.span if a.kind != "result" else a.step) for a in s.args]) for s in r.steps]


def describe(r: LabelRecord) -> str:
    steps = [f"    {s.op}({', '.join(a.text or f'step {a.step}' if a.kind == 'result' or a.text else a.value for a in s.args)})"
             f" = {s.value}" for s in r.steps]
    return "\n".join([f"  {r.reason or 'validated'}", *steps])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--show", type=int, default=0, help="random problems of each group to print")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    before = {r.id: r for r in read_labels(args.before)}
    after = {r.id: r for r in read_labels(args.after)}
    if set(before) != set(after):
        raise SystemExit(f"the two runs label different problems ({len(before)} vs {len(after)}): "
                         "compare labels of the same traces")
    lost = [i for i in before if before[i].validated and not after[i].validated]
    gained = [i for i in before if not before[i].validated and after[i].validated]
    changed = [i for i in before if before[i].validated and after[i].validated and dag(before[i]) != dag(after[i])]
    print(f"validated: {sum(r.validated for r in before.values())} -> {sum(r.validated for r in after.values())}")
    print(f"lost {len(lost)}, now rejected as: {dict(Counter(after[i].reason for i in lost).most_common())}")
    print(f"gained {len(gained)}, rejected before as: {dict(Counter(before[i].reason for i in gained).most_common())}")
    print(f"validated in both, DAG changed: {len(changed)}")
    rng = random.Random(args.seed)
    for name, ids in (("lost", lost), ("gained", gained), ("changed", changed)):
        for i in rng.sample(ids, min(args.show, len(ids))):
            print(f"\n## {name}: {i}\n{after[i].text}\nbefore:\n{describe(before[i])}\nafter:\n{describe(after[i])}")


if __name__ == "__main__":
    main()
