"""How far two reviewers of one audit packet agree: the audit's own noise.

    python bench/audit_agreement.py docs/audits/audit-17/report-1.md docs/audits/audit-17/second-1.md [...pairs]

Arguments come in pairs (first review, second review of the same packet). Each review holds
the per-step table ../shared/LABEL_AUDIT.md asks for, rows ``| problem | step | op and args |
ARG | REGION | ...``. For the steps both reviews judged, prints a markdown table: each
reviewer's figures (wrong arguments, regions ok, problems fully right), the share of steps on
which they agree, and Cohen's kappa (scikit-learn), which discounts the agreement two
reviewers would reach by chance at their own rates. Rows of several packets are pooled, their
problem numbers kept apart by the packet's position in the argument list.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(\d+)\s*\|[^|]*\|\s*\**(ok|wrong)\**\s*\|\s*\**(ok|weak|wrong)\**\s*\|", re.IGNORECASE)


def read_review(path: str | Path) -> dict[tuple[int, int], tuple[str, str]]:
    """(problem, step) -> (ARG, REGION) verdicts of one review's per-step table.

    Raises:
        SystemExit: the file holds no such row (not a review in the rubric's format).
    """
    rows = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = ROW.match(line.strip())
        if m:
            rows[int(m.group(1)), int(m.group(2))] = (m.group(3).lower(), m.group(4).lower())
    if not rows:
        raise SystemExit(f"{path}: no per-step rows '| problem | step | op and args | ARG | REGION |'")
    return rows


def figures(verdicts: dict[tuple, tuple[str, str]]) -> dict[str, float]:
    """Wrong-argument share, regions-ok share, and problems fully right (every step ARG ok and
    REGION ok) of one review."""
    steps = list(verdicts.values())
    problems: dict = defaultdict(list)
    for (packet, problem, _), v in verdicts.items():
        problems[packet, problem].append(v)
    right = sum(all(a == "ok" and r == "ok" for a, r in vs) for vs in problems.values())
    return {"steps": len(steps), "arg wrong": sum(a == "wrong" for a, _ in steps) / len(steps),
            "regions ok": sum(r == "ok" for _, r in steps) / len(steps),
            "problems fully right": right / len(problems), "problems": len(problems)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reviews", nargs="+", help="pairs: first review, second review of the same packet")
    args = ap.parse_args()
    if len(args.reviews) % 2:
        raise SystemExit("give the reviews in pairs: first, second, first, second, ...")
    first, second = {}, {}
    for n in range(0, len(args.reviews), 2):
        a, b = read_review(args.reviews[n]), read_review(args.reviews[n + 1])
        for k in sorted(set(a) & set(b)):
            first[(n, *k)], second[(n, *k)] = a[k], b[k]
        if set(a) ^ set(b):
            print(f"note: {len(set(a) ^ set(b))} steps of packet {n // 2 + 1} are in one review only (left out)")
    fa, fb = figures(first), figures(second)
    keys = list(first)
    arg = [first[k][0] for k in keys], [second[k][0] for k in keys]
    region = [first[k][1] for k in keys], [second[k][1] for k in keys]
    agree = lambda x, y: sum(p == q for p, q in zip(x, y)) / len(x)  # noqa: E731
    print(f"\n{fa['steps']} steps of {fa['problems']} problems judged by both reviews\n")
    print("| measure | first review | second review | steps agreeing | Cohen's kappa |")
    print("|---|---:|---:|---:|---:|")
    print(f"| wrong arguments | {fa['arg wrong']:.1%} | {fb['arg wrong']:.1%} | {agree(*arg):.1%} | "
          f"{cohen_kappa_score(*arg):.2f} |")
    print(f"| regions ok (ok / weak / wrong) | {fa['regions ok']:.1%} | {fb['regions ok']:.1%} | "
          f"{agree(*region):.1%} | {cohen_kappa_score(*region):.2f} |")
    print(f"| problems fully right | {fa['problems fully right']:.1%} | {fb['problems fully right']:.1%} | | |")


if __name__ == "__main__":
    main()
