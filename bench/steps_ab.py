"""A blind side-by-side of two grounding rules: the steps whose operands a change moved, for a reviewer.

    python bench/steps_ab.py <labels before> <labels after> --n 30 --seed 7 --out packet.md
    python bench/steps_ab.py ... --tally verdicts.md     # after the reviewer filled the table

The sibling of ``bench/regions_ab.py`` for changes that move operands (and with them, often,
regions). Both runs label the same traces. A problem counts when it validates in both runs
with the same ops in the same order and at least one step whose operands or region differ.
``--n`` such problems are drawn with ``--seed``; the packet shows each as the audit does
(``mycelium.labels.audit``), and for each changed step its two versions (operands and region)
as "X" and "Y" in a random order per step, so the reviewer cannot tell which rule made which.
The key is written beside the packet (``<out>.key.tsv``). The reviewer judges each version by
../shared/LABEL_AUDIT.md (ARG ok / wrong; REGION ok / weak / wrong) and fills a table whose
rows read ``| problem | step | X arg | X region | Y arg | Y region |``; ``--tally`` reads it
with the key and prints the counts before and after.
"""

from __future__ import annotations

import random
import re
from collections import Counter

from regions_ab import RANK, quote, run_ab  # the sibling bench: its command line and region quotes

from mycelium.labels.audit import _arg_line
from mycelium.records.labels import LabelRecord


def changed_steps(before: LabelRecord, after: LabelRecord) -> list[int]:
    """Indices of the steps whose operands or region differ, for a problem validated in both
    runs with the same ops; [] otherwise (another step structure is not comparable step by step)."""
    if not (before.validated and after.validated) or [s.op for s in before.steps] != [s.op for s in after.steps]:
        return []
    src = lambda s: [(a.kind, a.span if a.kind != "result" else a.step) for a in s.args]  # noqa: E731
    return [k for k, (b, a) in enumerate(zip(before.steps, after.steps))
            if src(b) != src(a) or b.region != a.region]


def _version(r: LabelRecord, step, letter: str) -> list[str]:
    return ([f"  - version {letter}:"] + [f"    - arg {j + 1}: {_arg_line(a, r.text)}" for j, a in enumerate(step.args)]
            + [f"    - region: {quote(r, step.region)}"])


def packet(pairs: list[tuple[LabelRecord, LabelRecord]], seed: int) -> tuple[str, list[tuple[str, int, str]]]:
    """The markdown packet and the key rows (problem id, step number from 1, letter of "after")."""
    rng = random.Random(seed)
    lines, key = [], []
    for n, (b, a) in enumerate(pairs, 1):
        changed = set(changed_steps(b, a))
        lines += [f"## {n}. `{a.id}`", "", f"> {a.text.strip()}", "", f"Gold answer: **{a.gold_answer}**", ""]
        for k, s in enumerate(a.steps):
            lines.append(f"- **Step {k + 1}: {s.op}** → {s.value}   (CoT arithmetic: `{s.expr}`)")
            if k in changed:
                after_letter = rng.choice("XY")
                x, y = (s, b.steps[k]) if after_letter == "X" else (b.steps[k], s)
                lines += _version(a, x, "X") + _version(a, y, "Y")
                key.append((a.id, k + 1, after_letter))
            else:
                lines += [f"  - arg {j + 1}: {_arg_line(arg, a.text)}" for j, arg in enumerate(s.args)]
                lines.append(f"  - region (same in both): {quote(a, s.region)}")
        lines.append("")
    return "\n".join(lines), key


ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(ok|wrong)\s*\|\s*(ok|weak|wrong)\s*\|\s*(ok|wrong)\s*\|"
                 r"\s*(ok|weak|wrong)\s*\|", re.I)


def tally(verdicts: str, ids: list[str], key: dict[tuple[str, int], str]) -> dict[str, Counter]:
    """ARG and REGION counts before and after from the reviewer's rows
    ``| problem number | step | X arg | X region | Y arg | Y region |``; "pair" compares each
    step's after with its before (ARG first, then REGION)."""
    out = {"before": Counter(), "after": Counter(), "pair": Counter()}
    for line in verdicts.splitlines():
        m = ROW.match(line.strip())
        if not m:
            continue
        pid, step = ids[int(m.group(1)) - 1], int(m.group(2))
        if (pid, step) not in key:
            raise SystemExit(f"row for problem {m.group(1)} step {step}: not a changed step of the packet")
        x, y = (m.group(3).lower(), m.group(4).lower()), (m.group(5).lower(), m.group(6).lower())
        after, before = (x, y) if key[pid, step] == "X" else (y, x)
        for name, (arg, region) in (("before", before), ("after", after)):
            out[name][f"arg {arg}"] += 1
            out[name][f"region {region}"] += 1
        score = lambda v: (RANK[v[0]], RANK[v[1]])  # noqa: E731
        out["pair"]["after better" if score(after) > score(before) else
                    "before better" if score(after) < score(before) else "same"] += 1
    return out


def report(counts: dict[str, Counter]) -> None:
    for name in ("before", "after"):
        c = counts[name]
        print(f"{name:6s} ARG ok {c['arg ok']} wrong {c['arg wrong']}; "
              f"REGION ok {c['region ok']} weak {c['region weak']} wrong {c['region wrong']}")
    print(dict(counts["pair"]))


def main() -> None:
    run_ab(__doc__, changed_steps, packet, tally, report, "Steps", "a changed step", order=sorted)


if __name__ == "__main__":
    main()
