"""The yield of a labels run by MATH subject and level, as markdown tables.

    python -m mycelium.labels.yield_table --labels artifacts/labels/math-train-shuffle0/smollm2_135m-dataset/default

prints, from the records' ``type`` and ``level``: per subject and per level the problems,
the validated ones, the yield and the labelled steps per validated problem; the overall
line; the rejection reasons; the ops of the validated steps; and how the validated steps'
operands are grounded (written numbers, expressions, step results, constants).
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from mycelium.records.labels import LabelRecord


def _row(name: str, records: list[LabelRecord]) -> str:
    ok = [r for r in records if r.validated]
    steps = sum(len(r.steps) for r in ok)
    rate = len(ok) / len(records) if records else 0.0
    per = steps / len(ok) if ok else 0.0
    return f"| {name} | {len(records)} | {len(ok)} | {rate:.1%} | {per:.2f} |"


def group_table(records: Sequence[LabelRecord], key: Callable[[LabelRecord], str | None], title: str) -> str:
    """A markdown table of yield per ``key`` (rows sorted by key), then the overall row."""
    groups: dict[str, list[LabelRecord]] = defaultdict(list)
    for r in records:
        groups[key(r) or "(none)"].append(r)
    lines = [f"| {title} | problems | validated | yield | steps / validated |", "|---|---:|---:|---:|---:|"]
    lines += [_row(k, v) for k, v in sorted(groups.items())]
    lines.append(_row("**all**", list(records)))
    return "\n".join(lines)


def counts_table(counter: Counter, title: str, total: int) -> str:
    """A markdown table of counts (most common first) with their share of ``total``."""
    lines = [f"| {title} | count | share |", "|---|---:|---:|"]
    lines += [f"| {k} | {v} | {v / max(total, 1):.1%} |" for k, v in counter.most_common()]
    return "\n".join(lines)


def yield_report(records: Sequence[LabelRecord]) -> str:
    """Every table of the module doc, separated by blank lines."""
    ok = [r for r in records if r.validated]
    reasons = Counter((r.reason or "").split(":")[0] for r in records if not r.validated)
    ops = Counter(s.op for r in ok for s in r.steps)
    kinds = Counter(a.kind for r in ok for s in r.steps for a in s.args)
    problem_path = sum(any(s.expr.startswith("(problem)") for s in r.steps) for r in ok)
    return "\n\n".join([
        group_table(records, lambda r: r.type, "subject"),
        group_table(records, lambda r: r.level, "level"),
        counts_table(reasons, "rejection reason", len(records)),
        counts_table(ops, "op (validated steps)", sum(ops.values())),
        counts_table(kinds, "operand kind (validated steps)", sum(kinds.values())),
        f"validated from the problem's own math (no CoT step read): {problem_path} of {len(ok)}",
    ])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", required=True, help="a labels dir (or its labels.jsonl)")
    args = parser.parse_args(argv)
    from mycelium.labels.stage import read_labels  # the stage imports spaCy: only when run

    print(yield_report(read_labels(args.labels)))


if __name__ == "__main__":
    main()
