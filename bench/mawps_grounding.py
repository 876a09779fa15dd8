"""How often value grounding picks the right occurrence of a number, measured on MAWPS.

    python extract.py stage=all data=mawps_cv split=train0 teacher=smollm2_135m limit=200
    python bench/mawps_grounding.py --labels artifacts/labels/mawps_cv-train0/smollm2_135m-dataset/limit=200

The labels stage grounds each literal operand of the CoT to a number in the problem text by
value. MAWPS's gold equations name the exact occurrence (``numberK``) of every operand, and
``mycelium.data.mawps_folds`` keeps the char span of each. For every validated problem this
compares, step by step and operand by operand (so the order of SUB and DIV counts), the
label's ``number`` args with the gold spans (in any order for ADD and MUL), and counts how often a plain first-occurrence
value match would have chosen another occurrence (the ambiguous operands).

Caveat, measured on all 1,920 rows: MAWPS's equations name the *first* occurrence of a
value whenever it is written more than once (281 operands have a repeated value, none names
a later occurrence), and 155 operands name an occurrence an earlier operand of the same
equation already named ("6 + 2 = 8. 6 * 8 = 48." for "6 books a shelf ... 2 shelves and 6
shelves"). The dataset's masking was itself a first-occurrence value match, so where values
repeat its gold is not evidence of the right occurrence; the table counts those cases apart.

Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from fractions import Fraction

from mycelium.data.mawps_folds import FoldProblem, GoldOperand, load_fold_problems
from mycelium.labels.gold import gold_by_step
from mycelium.labels.args import extract_numbers
from mycelium.records.labels import LabelRecord


@dataclass
class Counts:
    """Operand tallies over validated problems. A gold ``number`` operand is ``right`` when
    the label's arg at the same place (any place for ADD and MUL) is a number whose span overlaps the gold span (a label
    span may include a "$" or "%"), ``wrong`` when it is a number elsewhere, ``not_number``
    when the label grounded it to an earlier result or an implicit constant."""

    problems: int = 0
    validated: int = 0
    unaligned: int = 0  # validated, but the label's steps do not line up with the gold ops
    operands: int = 0  # gold number operands checked
    right: int = 0
    wrong: int = 0
    not_number: int = 0
    repeated: int = 0  # the gold value is written more than once in the text
    repeated_right: int = 0
    ambiguous: int = 0  # the first occurrence of the gold value is not the gold occurrence
    ambiguous_right: int = 0  # ... and the label picked the gold occurrence anyway
    gold_reused: int = 0  # the gold names an occurrence an earlier operand already named
    reused_problems: int = 0  # problems with such an operand whose value is written elsewhere too
    wrong_in_reused: int = 0  # wrong or not_number operands of those problems
    results: int = 0  # gold restated results checked
    results_right: int = 0  # ... grounded to the result of the right step

    def add(self, other: "Counts") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _overlaps(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
    return a is not None and b is not None and a[0] < b[1] and b[0] < a[1]


def occurrences(value: Fraction, text: str) -> list[tuple[int, int]]:
    """Spans of the numbers written in ``text`` with exactly ``value``, in text order (the
    first is what a plain value match picks)."""
    return [a.span for a in extract_numbers(text) if Fraction(a.value) == value]


def compare(record: LabelRecord, steps: Sequence[Sequence[GoldOperand | None]]) -> Counts:
    """Tally one problem's label against its gold (``gold_by_step`` of its CoT). Only a
    validated record with one step per gold op node (same arity) is compared; another
    validated record counts as ``unaligned`` (its steps were pruned: the labels stage
    grounded a restated result to an equal number of the text, so the step computing it
    became dead)."""
    c = Counts(problems=1, validated=int(record.validated))
    if not record.validated:
        return c
    if len(record.steps) != len(steps) or any(len(s.args) != len(g) for s, g in zip(record.steps, steps)):
        c.unaligned = 1
        return c
    used: set[tuple[int, int]] = set()
    reused = False
    misses = 0
    for step, gold_args in zip(record.steps, steps):
        args = _aligned(step.args, gold_args) if step.op in ("ADD", "MUL") else step.args
        for arg, gold in zip(args, gold_args):
            if gold is None:
                continue
            if gold.kind == "result":
                c.results += 1
                c.results_right += int(_matches(arg, gold))
            if gold.kind != "number":
                continue
            c.operands += 1
            spans = occurrences(gold.value, record.text)
            if gold.span in used:
                c.gold_reused += 1
                reused = reused or len(spans) > 1
            used.add(gold.span)
            hit = _matches(arg, gold)
            if hit:
                c.right += 1
            elif arg.kind == "number":
                c.wrong += 1
            else:
                c.not_number += 1
            misses += not hit
            if len(spans) > 1:
                c.repeated += 1
                c.repeated_right += int(hit)
            if spans and not _overlaps(spans[0], gold.span):
                c.ambiguous += 1
                c.ambiguous_right += int(hit)
    if reused:
        c.reused_problems, c.wrong_in_reused = 1, misses
    return c


def _matches(arg, gold: GoldOperand | None) -> bool:
    if gold is None:
        return False
    if gold.kind == "result":
        return arg.kind == "result" and arg.step == gold.step
    return arg.kind == "number" and _overlaps(arg.span, gold.span)


def _aligned(args: Sequence, gold_args: Sequence[GoldOperand | None]) -> list:
    """The label's operands of a commutative op (ADD, MUL) in the gold's order: "7 * 7" of
    result x written is the same step as written x result."""
    out: list = [None] * len(gold_args)
    rest = list(range(len(args)))
    for n, g in enumerate(gold_args):  # exact matches first, so a miss cannot take another's arg
        k = next((k for k in rest if _matches(args[k], g)), None)
        if k is not None:
            out[n] = args[k]
            rest.remove(k)
    for n in range(len(out)):
        if out[n] is None and rest:
            out[n] = args[rest.pop(0)]
    return out


def tally(records: Sequence[LabelRecord], problems: dict[str, FoldProblem]) -> Counts:
    """``compare`` over every record whose problem is in ``problems`` (by id) and whose text
    is that problem's; others count as ``unaligned`` when validated."""
    total = Counts()
    for r in records:
        fp = problems.get(r.id)
        if fp is None or fp.problem.text != r.text:
            total.add(Counts(problems=1, validated=int(r.validated), unaligned=int(r.validated)))
            continue
        total.add(compare(r, gold_by_step(fp.problem.solution, fp.gold)))
    return total


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "-"


def table(c: Counts) -> str:
    """The markdown table of ``c``."""
    rows = [
        ("problems (labels records)", str(c.problems), ""),
        ("validated", str(c.validated), _pct(c.validated, c.problems)),
        ("validated, steps pruned so they do not line up with the gold (not compared)", str(c.unaligned),
         _pct(c.unaligned, c.validated)),
        ("number operands checked", str(c.operands), ""),
        ("grounded to the right occurrence", str(c.right), _pct(c.right, c.operands)),
        ("grounded to another occurrence", str(c.wrong), _pct(c.wrong, c.operands)),
        ("grounded to a result or an implicit constant", str(c.not_number), _pct(c.not_number, c.operands)),
        ("value written more than once in the text", str(c.repeated), _pct(c.repeated, c.operands)),
        ("... of which grounded right", str(c.repeated_right), _pct(c.repeated_right, c.repeated)),
        ("ambiguous: first value match is another occurrence", str(c.ambiguous), _pct(c.ambiguous, c.operands)),
        ("... of which grounded right", str(c.ambiguous_right), _pct(c.ambiguous_right, c.ambiguous)),
        ("gold names an occurrence an earlier operand named", str(c.gold_reused), _pct(c.gold_reused, c.operands)),
        ("problems whose gold does so while the value is written elsewhere too", str(c.reused_problems), ""),
        ("... their operands not grounded to the gold occurrence", str(c.wrong_in_reused),
         _pct(c.wrong_in_reused, c.wrong + c.not_number)),
        ("restated results checked", str(c.results), ""),
        ("... grounded to the right step's result", str(c.results_right), _pct(c.results_right, c.results)),
    ]
    lines = ["| | count | % |", "|---|---:|---:|"]
    lines += [f"| {a} | {b} | {p} |" for a, b, p in rows]
    return "\n".join(lines)


def main() -> None:
    from mycelium.labels.stage import read_labels

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--labels", required=True, help="a labels dir (or labels.jsonl) made from mawps_cv traces")
    ap.add_argument("--data-dir", default=os.environ.get("MYCELIUM_DATA_DIR") or "../shared/data")
    args = ap.parse_args()
    problems = {fp.problem.id: fp for fp in load_fold_problems(args.data_dir, "all")}
    print(table(tally(read_labels(args.labels), problems)))


if __name__ == "__main__":
    main()
