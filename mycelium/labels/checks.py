"""Automatic label checks: the audit rubric's failure kinds that a program can count.

Execution to the gold answer cannot see a coincidence, so every labels run also counts the
shapes that the hand audit (../shared/LABEL_AUDIT.md) found behind wrong labels. Each check
reads one record (and the spaCy parse of its text) and returns how many steps it flags; the
report sums them over validated problems (``report.json``: ``checks``).

- ``same_span_twice``: one written occurrence used for two operands of one step
  ("12 miles" x "12 miles"). Right for "5 + 5" of one "5 miles each way"; worth a look.
- ``value_coincidence``: a written-number operand whose value equals an earlier step's
  result: the solution may have meant the result.
- ``shared_region``: steps that share a region while their written operands lie in
  different clauses (the rubric's SHARED flag).
- ``fragment_region``: a region that cuts a quantity ("by 30" without its "%", "(sq ft"):
  fewer than 3 words, unbalanced brackets, or a boundary inside or right before a number.
- ``fraction_part``: an operand that is one digit group of a written fraction ("the 2 of
  1/2", "3/5" built from the 3 of "1/3" and the 5 of "2/5"): a digit taken for its value.
- ``final_in_question``: the problem's last step's region lies in its question sentence
  (a count of problems, not a failure).
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from mycelium.labels.clauses import ParsedText, tokens_of
from mycelium.dag.steps import Step
from mycelium.records.labels import LabelRecord

CHECKS = ("same_span_twice", "value_coincidence", "shared_region", "fragment_region", "fraction_part",
          "final_in_question")
_FRACTION = re.compile(r"(?<![\d/])\d+/\d+(?![\d/])")
_WORDS = re.compile(r"[A-Za-z0-9$%]+")


def _same_span_twice(r: LabelRecord) -> int:
    return sum(len(spans) != len(set(spans)) for s in r.steps
               for spans in [[a.span for a in s.args if a.span is not None]])


def _value_coincidence(r: LabelRecord) -> int:
    flagged = 0
    for k, s in enumerate(r.steps):
        earlier = {Fraction(x.value) for x in r.steps[:k] if x.value is not None}
        flagged += any(a.kind == "number" and Fraction(a.value) in earlier for a in s.args)
    return flagged


def _fraction_part(r: LabelRecord) -> int:
    """Steps with an operand that is one digit group of a written fraction ("the 2 of 1/2")."""
    fractions = [m.span() for m in _FRACTION.finditer(r.text)]
    inside = lambda sp: any(f[0] <= sp[0] and sp[1] <= f[1] and sp != f for f in fractions)  # noqa: E731
    return sum(any(a.kind == "number" and a.span is not None and inside(a.span) for a in s.args) for s in r.steps)


def _clause_ids(parsed: ParsedText, spans: list[tuple[int, int]]) -> set[int]:
    return {int(parsed.clause[t]) for sp in spans for t in tokens_of(parsed, sp)}


def _shared_region(r: LabelRecord, parsed: ParsedText) -> int:
    return shared_steps(r.steps, parsed)


def shared_steps(steps: list[Step], parsed: ParsedText) -> int:
    """Steps that share a region while their written operands lie in different clauses."""
    by_region: dict[tuple[int, int], list[set[int]]] = {}
    for s in steps:
        spans = [a.span for a in s.args if a.span is not None]  # written numbers and implied words
        if s.region is not None and spans:
            by_region.setdefault(s.region, []).append(_clause_ids(parsed, spans))
    flagged = 0
    for clauses in by_region.values():
        if len(clauses) > 1 and not set.intersection(*clauses):
            flagged += len(clauses)
    return flagged


def _fragment(r: LabelRecord, a: int, b: int) -> bool:
    return is_fragment(r.text, r.steps, a, b)


def is_fragment(text: str, steps: list[Step], a: int, b: int) -> bool:
    """Does region [a, b) of ``text`` cut a quantity or hold fewer than 3 words
    (``fragment_region``)? ``steps`` give the operand spans it must not cut."""
    piece = text[a:b]
    if len(_WORDS.findall(piece)) < 3 or piece.count("(") != piece.count(")"):
        return True
    after = text[b:b + 2]
    if re.match(r"\s?%", after) or (b < len(text) and text[b - 1:b + 1].strip().isdigit() and text[b].isdigit()):
        return True
    return any(sp[0] < a < sp[1] or sp[0] < b < sp[1] for s in steps for x in s.args if (sp := x.span))


ASKS = re.compile(r"\b(?:calculate|find|determine|compute|how (?:many|much|long|far|old)|what (?:is|was|are|were))\b", re.I)


def is_question(text: str, sentence: tuple[int, int]) -> bool:
    """Does the (trimmed) sentence span ask the question: does it end with a "?" (inside it
    or right after it), or hold an instruction or a question phrase ("..., calculate her
    total income.", "Calculate the combined total ...")?"""
    a, b = sentence
    return (text[a:b].rstrip().endswith("?") or text[b:b + 3].lstrip().startswith("?")
            or bool(ASKS.search(text, a, b)))


def _final_in_question(r: LabelRecord, parsed: ParsedText) -> int:
    if not r.steps or r.steps[-1].region is None:
        return 0
    toks = tokens_of(parsed, r.steps[-1].region)
    if len(toks) == 0:
        return 0
    sent = int(parsed.sent[toks[-1]])
    a, b = parsed.sent_spans[sent]
    return int(is_question(r.text, (int(a), int(b))))


def check_record(r: LabelRecord, parsed: ParsedText) -> dict[str, int]:
    """Counts of flagged steps (problems for ``final_in_question``) for one record."""
    regions = {s.region for s in r.steps if s.region is not None}
    return {
        "same_span_twice": _same_span_twice(r),
        "value_coincidence": _value_coincidence(r),
        "shared_region": _shared_region(r, parsed),
        "fragment_region": sum(_fragment(r, a, b) for a, b in regions),
        "fraction_part": _fraction_part(r),
        "final_in_question": _final_in_question(r, parsed),
    }


def total(counts: list[dict[str, int]]) -> dict[str, int]:
    """Sum of ``check_record`` results."""
    return {k: int(np.sum([c.get(k, 0) for c in counts])) for k in CHECKS}
