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
from mycelium.labels.cot_ops import (Found, Literal, NodeRef, ParseError, find_arithmetic, find_worded_arithmetic,
                                     parse_annotations)
from mycelium.labels.args import extract_numbers, is_percent_sign
from mycelium.labels.grounding import Grounder, Mention, context_words, key, states_relation
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
    """Arithmetic the solution writes without a calculator annotation ("100+20+80 = 200.",
    "120 pills x 3 bottles = 360 pills") whose value a later annotation, or later arithmetic
    kept so, uses, or that follows the last annotation and gives the gold answer
    ("$1000-($150+$300+$250) = $300"). Without it that later operand would be grounded to a
    written number of the same value: a coincidence that validates a wrong DAG."""
    # an annotation with no op ("20 x 3 = <<60=60>>60") computes nothing: the arithmetic written
    # before it is the step
    positions = [f.span[0] for f in annotated if f.expr.nodes]
    out = []
    plain = find_arithmetic(cot)
    # ... also written with unit words between the numbers ("120 pills x 3 bottles = 360 pills")
    worded = [w for w in find_worded_arithmetic(cot)
              if not any(f.span[0] < w.span[1] and w.span[0] < f.span[1] for f in plain)]
    # from the last back, so that arithmetic whose value only later recovered arithmetic uses
    # counts too ("80*2 = 160 racers ... the 160-130 = 30 racers dropped")
    for f in sorted(plain + worded, key=lambda f: f.span[0], reverse=True):
        a, b = f.span
        if any(a <= p <= b + 2 for p in positions):  # the annotated equation, written out
            continue
        if f.expr.agrees is False and not f.expr.approx_agrees:
            continue
        value = f.expr.value
        later = [g for g in annotated if g.span[0] > b]
        if any(lit.value == value for g in later + out for lit in g.expr.literals if not lit.implicit):
            out.append(f)
        elif not later and gold is not None and answer_equals(value, gold):  # the final step, unannotated
            out.append(f)
    return out[::-1]


def with_fraction_parts(numbers: list[Arg]) -> list[Arg]:
    """Add the numerator and denominator of each written fraction as numbers of their own:
    a CoT that writes "24*1/4" parses as (24*1)/4, and the "1" and the "4" are there in the
    problem's "1/4" (digits only; "3 1/2" keeps its whole part as the fraction's)."""
    parts = []
    for a in numbers:
        m = re.fullmatch(r"(\d+)/(\d+)(?:st|nd|rd|th)?", a.text)
        if m and a.span:
            s0 = a.span[0]
            parts.append(Arg("number", m.group(1), text=m.group(1), span=(s0, s0 + len(m.group(1)))))
            parts.append(Arg("number", m.group(2), text=m.group(2), span=(s0 + m.start(2), s0 + m.end(2))))
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
) -> tuple[list[Step], list[bool], list[int]]:
    """Ground every node's literal operands (``Grounder``: position and meaning, not value
    alone). Returns the steps (an operand that could not be grounded stays as written, with
    no span), per step whether a choice was ambiguous (a tie between different occurrences or
    steps), and per step how many written-number operands the CoT writes as counting another
    thing ("2 *people*" grounded to "$2 *boxes*": ``Grounder.counts_other``)."""
    steps: list[Step] = []
    results: list[Fraction | None] = []
    recovered = frozenset(k for k, n in enumerate(nodes) if n.recovered)
    ambiguous: list[bool] = []
    other: list[list[int]] = []  # per step: operands whose CoT mention counts another thing (Grounder.counts_other)
    for k, node in enumerate(nodes):
        args: list[Arg] = []
        # an earlier step the op reads by reference is taken too: "60 - 12*5" is no "(12*5) - (12*5)"
        taken: set = {("result", o) for o in node.operands if isinstance(o, int)}
        rivals: list = []
        context = context_words(_sentence_at(cot, node.found.span[0]))
        said = iter(mentions(cot, node))
        other.append([])
        hundred = any(isinstance(x, Literal) and x.value == 100 for x in node.operands)
        ambiguous.append(False)
        for o in node.operands:
            if isinstance(o, int):  # a reference to an earlier node (global index)
                args.append(Arg("result", format_value(nodes[o].value), step=o))
                continue
            mention = next(said)
            choice = grounder.ground(o.value, node.op, context, results, taken, recovered, _is_percent(node), mention,
                                     hundred=hundred)
            if choice.arg is None:
                args.append(Arg("number", format_value(o.value), text=o.text))  # as written, ungrounded
                continue
            rivals += choice.rivals
            if grounder.counts_other(choice.arg, mention):
                other[-1].append(len(args))
            taken.add(key(choice.arg))
            args.append(choice.arg)
        ambiguous[-1] = any(r not in taken for r in rivals)
        for a in args:
            grounder.take(a)
        steps.append(Step(k, node.op, args, None, expr=node.found.expr.text))
        # lets a later literal be recognised as this result; an identity step ("16*1" of
        # "16*1/2") only repeats its input, so its value names nothing new
        # ... but "5 * $1" multiplies by a written price of 1: its value is new (a 1 the CoT
        # writes as a numerator, "16*1/2", or that the text writes in a fraction stays one)
        written_unit = any(a.kind == "number" and a.span is not None and Fraction(a.value) in (0, 1)
                           and not _in_fraction(grounder.text, a.span) and not _cot_numerator(node, o)
                           for a, o in zip(args, node.operands) if isinstance(o, Literal))
        # ... and so does "5 puppies * 1 cup" where the 1 is a result ("1/2 cup * 2 = 1 cup"): 5 cups
        computed_unit = any(a.kind == "result" and Fraction(a.value) in (0, 1) for a in args)
        identity = is_identity(node.op, [Fraction(a.value) for a in args]) and not written_unit and not computed_unit
        results.append(None if identity else node.value)
    adopt_orphans(steps, results)  # an operand it turns into a result no longer counts as written
    counted_other = [sum(st.args[n].kind == "number" for n in flagged) for st, flagged in zip(steps, other)]
    return steps, ambiguous, counted_other


_FRACTION_WORD = re.compile(r"[\s-]*(?:hal(?:f|ves)|(?:third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|quarter)s?)\b",
                            re.IGNORECASE)


def _in_fraction(text: str, span: tuple[int, int]) -> bool:
    """Is ``span`` the numerator or denominator of a written fraction ("the 1 of 1/2", the
    "One" of "One-third"; not the 1 of a rate, "$1/hour")?"""
    return (bool(re.match(r"/\d", text[span[1]:span[1] + 2])) or bool(re.search(r"\d/$", text[max(span[0] - 2, 0):span[0]]))
            or bool(_FRACTION_WORD.match(text, span[1])))


def _cot_numerator(node: FlatOp, literal: Literal) -> bool:
    """Does the CoT write ``literal`` as the numerator of a fraction ("16*1/2", which parses as
    (16*1)/2)?"""
    return bool(re.match(r"\s*/", node.found.expr.text[literal.span[1]:]))


def is_identity(op: str, values: list[Fraction]) -> bool:
    """Does the op only repeat an input: x*1, x/1, x+0, x-0 ("16*1" of "16*1/2")? "1000-500
    = 500" is no identity: its value is new even though it equals an operand."""
    neutral = {"MUL": 1, "DIV": 1, "ADD": 0, "SUB": 0}.get(op)
    if neutral is None or len(values) != 2:
        return False
    if op in ("DIV", "SUB"):
        return values[1] == neutral
    return neutral in values


def _divided_percent(step: Step, n: int) -> bool:
    """Is operand ``n`` of ``step`` a "%" read as the 100 a division divides ("100/4" of "20% have four
    leaves and one quarter of these")? A "%" divides by 100; the 100 divided is a count."""
    return step.op == "DIV" and n == 0 and is_percent_sign(step.args[n])


def adopt_orphans(steps: list[Step], results: list[Fraction | None]) -> int:
    """Ground a later literal to an earlier step that nothing uses, when their values agree.

    A solution computes what it needs: "1200/2 = 600 cats" followed by "1200-600" reads the
    result, even when grounding preferred the written "600 cats" of equal value (which would
    leave the step orphaned, pruned, and the DAG valid by coincidence). For each step
    whose result no later step takes, the first later operand of that value grounded to a
    written number or a unit word (not a relation word such as "half": it states an op of its
    own, ``grounding.states_relation``; but a "%" a division divides is a count) becomes that result; in a step that reads one
    occurrence twice ("7 * 7"), the second reading. ``steps`` are changed in place;
    ``results``: the values ``ground_steps`` recognises (None: an identity step). Returns how
    many were adopted.
    """
    consumed = {a.step for s in steps for a in s.args if a.kind == "result"}
    adopted = 0
    for i, value in enumerate(results[:-1]):
        if value is None or i in consumed:
            continue
        for later in steps[i + 1:]:
            same = [n for n, a in enumerate(later.args) if a.kind != "result" and a.span is not None
                    and (not states_relation(a, value, later.op) or _divided_percent(later, n))
                    and Fraction(a.value) == value]
            # "7 * 7" read as one written "7" twice: the second reading is the result
            spans = [later.args[n].span for n in same]
            twice = [n for n in same if spans.count(later.args[n].span) > 1]
            n = twice[-1] if twice else same[0] if same else None
            if n is not None:
                later.args[n] = Arg("result", format_value(value), step=i)
                consumed.add(i)
                adopted += 1
                break
    return adopted
