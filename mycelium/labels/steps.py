"""The CoT's operations as grounded steps (phases 4-5): which op, which operands.

``cot_operations`` lists a trace's operations: its GSM8K calculator annotations, plus the
arithmetic the solution writes without one when a later annotation uses its value or it
gives the answer ("100+20+80 = 200." before "<<200*2=400>>"), or, with no annotations, the
arithmetic found in the CoT text. ``flatten`` makes every op node one ``FlatOp``;
``ground_steps`` grounds their literal operands (``mycelium.labels.grounding``) and returns
``Step``s with per-step flags (ungrounded, ambiguous).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import NamedTuple

from mycelium.dag.graph import answer_equals, format_value
from mycelium.dag.steps import Arg, Step
from mycelium.labels.cot_ops import Found, Literal, NodeRef, ParseError, find_arithmetic, parse_annotations
from mycelium.labels.args import extract_numbers
from mycelium.labels.grounding import Grounder, Mention, context_words, key
from mycelium.records.traces import Trace


def cot_operations(trace: Trace) -> tuple[list[Found], bool, set[int]]:
    """The CoT's equations in order, whether any failed to parse, and which of them were
    recovered from the CoT text because no calculator annotation covers them."""
    if trace.annotations:
        parsed = parse_annotations(trace.annotations)
        annotated = [f for f in parsed if isinstance(f, Found)]
        failed = any(isinstance(f, ParseError) for f in parsed)
        found = sorted(annotated + _unannotated(trace.cot, annotated, trace.gold_answer), key=lambda f: f.span[0])
        return found, failed, {k for k, f in enumerate(found) if f.span[0] != f.span[1]}
    found = [f for f in find_arithmetic(trace.cot) if f.expr.stated is not None and f.expr.nodes]
    return found, False, set()


def _unannotated(cot: str, annotated: list[Found], gold: str | None = None) -> list[Found]:
    """Arithmetic the solution writes without a calculator annotation ("100+20+80 = 200.")
    whose value a later annotation uses, or that follows the last annotation and gives the
    gold answer ("$1000-($150+$300+$250) = $300"). Without it that later operand would be grounded to
    a written number of the same value: a coincidence that validates a wrong DAG."""
    positions = [f.span[0] for f in annotated]
    out = []
    for f in find_arithmetic(cot):
        a, b = f.span
        if any(a <= p <= b + 2 for p in positions):  # the annotated equation, written out
            continue
        if f.expr.agrees is False and not f.expr.approx_agrees:
            continue
        value = f.expr.value
        later = [g for g in annotated if g.span[0] > b]
        if any(lit.value == value for g in later for lit in g.expr.literals if not lit.implicit):
            out.append(f)
        elif not later and gold is not None and answer_equals(value, gold):  # the final step, unannotated
            out.append(f)
    return out


def with_fraction_parts(numbers: list[Arg]) -> list[Arg]:
    """Add the numerator and denominator of each written fraction as numbers of their own:
    a CoT that writes "24*1/4" parses as (24*1)/4, and the "1" and the "4" are there in the
    problem's "1/4" (digits only; "3 1/2" keeps its whole part as the fraction's)."""
    parts = []
    for a in numbers:
        m = re.fullmatch(r"(\d+)/(\d+)", a.text)
        if m and a.span:
            s0 = a.span[0]
            parts.append(Arg("number", m.group(1), text=m.group(1), span=(s0, s0 + len(m.group(1)))))
            parts.append(Arg("number", m.group(2), text=m.group(2), span=(s0 + m.start(2), a.span[1])))
    return sorted(numbers + parts, key=lambda a: a.span)


class FlatOp(NamedTuple):
    """One op node of the CoT, references to earlier nodes made global."""

    op: str
    operands: list  # Literal, or int: index of an earlier FlatOp
    found: Found  # the equation it belongs to
    value: Fraction  # what the CoT computed for it
    recovered: bool = False  # written in the CoT text without a calculator annotation


def flatten(found: list[Found], recovered: set[int] | None = None) -> list[FlatOp]:
    """All op nodes of all equations, in order (``recovered``: indices into ``found``)."""
    out: list[FlatOp] = []
    for k, f in enumerate(found):
        base = len(out)
        for node in f.expr.nodes:
            operands = [base + o.index if isinstance(o, NodeRef) else o for o in node.operands]
            out.append(FlatOp(node.op, operands, f, node.value, k in (recovered or ())))
    return out


def _sentence_at(cot: str, pos: int) -> str:
    """The CoT sentence (line, or text between sentence stops) around char ``pos``."""
    a = _sentence_start(cot, pos)
    ends = [e for e in (cot.find("\n", pos), cot.find(". ", pos)) if e >= 0]
    return cot[a : min(ends) if ends else len(cot)]


def _sentence_start(cot: str, pos: int) -> int:
    starts = [cot.rfind(sep, 0, max(pos - 1, 0)) + len(sep) for sep in ("\n", ". ")]
    return max([x for x in starts if x > 0] or [0])


def mentions(cot: str, node: FlatOp) -> list[Mention | None]:
    """Where the CoT writes each literal operand of ``node`` in words: for arithmetic found
    in the text, the literal itself; for an annotation, the same value written earlier in
    its sentence ("5 periods * $5 / period = <<5*5=25>>"), the k-th such for the k-th literal
    of that value. None where the CoT writes no such number."""
    f = node.found
    literals = [o for o in node.operands if isinstance(o, Literal)]
    if f.span[0] != f.span[1]:  # found in the text: the literal's own span
        return [None if o.implicit else Mention.at(cot, (f.span[0] + o.span[0], f.span[0] + o.span[1]))
                for o in literals]
    start = _sentence_start(cot, f.span[0])
    written = extract_numbers(cot[start:f.span[0]], offset=start)
    out, seen = [], {}
    for o in literals:
        same = [w for w in written if Fraction(w.value) == o.value]
        k = seen.get(o.value, 0)
        seen[o.value] = k + 1
        out.append(Mention.at(cot, same[k].span) if k < len(same) and not o.implicit else None)
    return out


def _is_percent(node: FlatOp) -> bool:
    """The op divides by 100 or multiplies by 1/100: its other literal is a percentage."""
    lits = [o for o in node.operands if isinstance(o, Literal)]
    return (node.op == "DIV" and any(o.value == 100 for o in lits[1:])) or (
        node.op == "MUL" and any(o.value == Fraction(1, 100) for o in lits))


def ground_steps(
    nodes: list[FlatOp],
    grounder: Grounder,
    cot: str,
) -> tuple[list[Step], list[bool]]:
    """Ground every node's literal operands (``Grounder``: position and meaning, not value
    alone). Returns the steps (an operand that could not be grounded stays as written, with
    no span) and per step whether a choice was ambiguous (a tie between different
    occurrences or steps)."""
    steps: list[Step] = []
    results: list[Fraction | None] = []
    recovered = frozenset(k for k, n in enumerate(nodes) if n.recovered)
    ambiguous: list[bool] = []
    for k, node in enumerate(nodes):
        args: list[Arg] = []
        taken: set = set()
        rivals: list = []
        context = context_words(_sentence_at(cot, node.found.span[0]))
        said = iter(mentions(cot, node))
        ambiguous.append(False)
        for o in node.operands:
            if isinstance(o, int):  # a reference to an earlier node (global index)
                args.append(Arg("result", format_value(nodes[o].value), step=o))
                continue
            choice = grounder.ground(o.value, node.op, context, results, taken, recovered, _is_percent(node), next(said))
            if choice.arg is None:
                args.append(Arg("number", format_value(o.value), text=o.text))  # as written, ungrounded
                continue
            rivals += choice.rivals
            taken.add(key(choice.arg))
            args.append(choice.arg)
        ambiguous[-1] = any(r not in taken for r in rivals)
        for a in args:
            grounder.take(a)
        steps.append(Step(k, node.op, args, None, expr=node.found.expr.text))
        # lets a later literal be recognised as this result; an identity step ("16*1" of
        # "16*1/2") only repeats its input, so its value names nothing new
        identity = any(Fraction(a.value) == node.value for a in args) and node.op in ("MUL", "DIV", "ADD", "SUB")
        results.append(None if identity else node.value)
    return steps, ambiguous
