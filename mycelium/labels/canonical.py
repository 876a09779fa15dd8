"""One encoding of percentages and written fractions in label steps.

GSM8K writes the same quantity several ways: "20%" of x as ``20/100*x``, ``x*.2``,
``x*20*.01`` or ``x*20/100``; "1/4 of 24" as ``24*1/4`` (which parses as (24*1)/4, leaving a
"x1" step whose result other steps then reuse by value). A student cannot learn one
operation from three encodings, so every step list is rewritten to one form:

    a written percentage or fraction is one operand: "30%" has the value 3/10, "1/4" the
    value 1/4, each with the span of its words in the problem text.

Rewrites (applied until none applies; values are unchanged, only the DAG's shape):

- ``DIV(a, b)`` of two written values whose quotient (not a whole number: "4/2 = 2 coffees"
  is a count) the text writes as one fraction or percentage ("1/2*50" of "half the number",
  "50/100*266" of "50%") -> that operand, unless ``a`` is a quantity written in digits ("1/2"
  of "half as long as his 1 year of courses" halves the year);

- ``DIV("30%", "%")`` (30 over the 100 implied by "%") -> the operand "30%" = 3/10 in every
  step that reads it; ``DIV("the rest", "%")`` ("100% - 50% - 25%" of "... and the rest are
  bunnies") -> the operand "the rest" = 1, the whole;
- ``DIV("1", "4")`` of the parts of one written "1/4" -> the operand "1/4";
- ``DIV(x, "4")`` by the denominator of a written "1/4" -> ``MUL(x, "1/4")``;
- ``MUL(..., "30%", "%"=1/100, ...)`` -> ``MUL(..., "30%"=3/10, ...)``;
- ``MUL(x, "1")`` then ``DIV(that, "4")`` of one written "1/4", or of any fraction the text
  writes as one operand ("half" for "60*1/2"), and ``MUL(x, "30%")`` then ``DIV(that, "%")``
  -> ``MUL(x, "1/4")`` (resp. ``MUL(x, "half")``, ``MUL(x, "30%"=3/10)``), when nothing else
  reads the MUL.

A step whose result nothing reads (the answer itself, "what percent") is left as it is.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Callable

from mycelium.dag.graph import format_value
from mycelium.dag.steps import Arg, Step
from mycelium.labels.args import is_percent_sign, is_whole_rest, match_operand, writes_percent
from mycelium.labels.nouns import counted_noun

Refold = Callable[[Fraction], "Arg | None"]


def _is_percent_number(a: Arg) -> bool:
    return a.kind == "number" and writes_percent(a.text) and a.span is not None


def _is_whole_rest(a: Arg) -> bool:
    """``a`` is the 100 (%) a "the rest" implies."""
    return is_whole_rest(a) and Fraction(a.value) == 100


def _is_percent_sign(a: Arg, value: Fraction) -> bool:
    return is_percent_sign(a) and Fraction(a.value) == value


def _fraction_parts(text: str, n: Arg, d: Arg) -> bool:
    """``n`` and ``d`` are the numerator and denominator of one written "n/d"."""
    return (n.kind == d.kind == "number" and n.span is not None and d.span is not None
            and n.span[1] + 1 == d.span[0] and text[n.span[1]] == "/")


def _unit_fraction_denominator(text: str, d: Arg) -> bool:
    """``d`` is the denominator of a written "1/d" (not the whole fraction)."""
    return (d.kind == "number" and d.span is not None and d.span[0] >= 2
            and text[d.span[0] - 2:d.span[0]] == "1/" and (d.span[0] < 3 or not text[d.span[0] - 3].isdigit()))


def _counts(text: str, a: Arg) -> bool:
    """Is ``a`` a number written in digits before what it counts ("1 *year*"), a quantity rather
    than the numerator of a fraction? (A "one" in words is as often "one box" as "one-fourth".)"""
    return (a.kind == "number" and a.span is not None and a.text.isdigit()
            and counted_noun(text, a.span[1]) is not None)


def _as_percent(a: Arg) -> Arg:
    """The percentage operand "30%" as its value 3/10 (from its written 30)."""
    return replace(a, value=format_value(Fraction(a.value) / 100))


def _as_fraction(text: str, n: Arg, d: Arg) -> Arg:
    span = (n.span[0], d.span[1])
    return Arg("number", format_value(Fraction(n.value) / Fraction(d.value)), text=text[span[0]:span[1]], span=span)


def _fold(args: list[Arg], quotient: Fraction, refold: Refold) -> Arg | None:
    """The one operand that writes ``quotient``: the fraction word the step itself read ("20 x
    1/4" of "one-fourth" read as "one" / "fourth": that "fourth", not an earlier
    "Three-fourths"), else ``refold``'s choice."""
    for x in args:
        hit = match_operand(quotient, [x]) if x.kind == "implicit" else None
        if hit is not None and Fraction(hit.value) == quotient:
            return hit
    return refold(quotient)


def _readers(steps: list[Step], i: int) -> list[int]:
    return [k for k, s in enumerate(steps) if any(a.kind == "result" and a.step == i for a in s.args)]


def _drop(steps: list[Step], origins: list[list[int]], j: int, into: Arg | int) -> None:
    """Remove step ``j``; its readers read ``into`` (a literal, or the step index)."""
    for s in steps:
        s.args = [(into if isinstance(into, Arg) else replace(a, step=into)) if a.kind == "result" and a.step == j
                  else a for a in s.args]
    keep = origins.pop(j)
    if isinstance(into, int):
        origins[into] += keep
    del steps[j]
    for k, s in enumerate(steps):
        s.index = k
        s.args = [replace(a, step=a.step - 1) if a.kind == "result" and a.step > j else a for a in s.args]


def _rewrite_once(steps: list[Step], origins: list[list[int]], text: str, refold: Refold | None) -> bool:
    for j, s in enumerate(steps):
        a = s.args
        readers = _readers(steps, j)
        if refold is not None and s.op == "DIV" and len(a) == 2 and readers and all(x.kind != "result" for x in a):
            # "1/2*50" of "half the number": the fraction is one operand ("half" = 1/2), and
            # whatever its digits were grounded to (a "one" elsewhere) goes with the step
            quotient = Fraction(a[0].value) / Fraction(a[1].value)
            # a whole quotient is a count ("4/2 = 2 coffees" of "cut in half"), not a fraction;
            # and a quantity divided ("1/2" of "half as long as his 1 year of courses") is a step
            literal = _fold(a, quotient, refold) if quotient.denominator != 1 and not _counts(text, a[0]) else None
            if literal is not None:
                _drop(steps, origins, j, literal)
                return True
        if s.op == "DIV" and len(a) == 2 and readers:
            literal = None
            if _is_percent_number(a[0]) and _is_percent_sign(a[1], Fraction(100)):
                literal = _as_percent(a[0])
            elif any(_is_whole_rest(x) and _is_percent_sign(y, Fraction(100)) for x, y in (a, a[::-1])):
                # "100%" of "the rest": the whole, 1 (100 / 100 either way round)
                literal = replace(next(x for x in a if _is_whole_rest(x)), value="1")
            elif _fraction_parts(text, a[0], a[1]):
                literal = _as_fraction(text, a[0], a[1])
            if literal is not None:
                for k in readers:  # the collapsed step's origins go to its readers
                    origins[k] += origins[j]
                _drop(steps, origins, j, literal)
                return True
        if s.op == "MUL":
            signs = [x for x in a if _is_percent_sign(x, Fraction(1, 100))]
            pcts = [x for x in a if _is_percent_number(x) and Fraction(x.value) >= 1]
            if signs and pcts:
                rest = [x for x in a if x is not signs[0]]
                s.args = [_as_percent(x) if x is pcts[0] else x for x in rest]
                return True
        if s.op == "DIV" and len(a) == 2 and a[0].kind == "result":
            i = a[0].step
            if steps[i].op != "MUL" or _readers(steps, i) != [j]:
                continue
            for x in steps[i].args:
                new = None
                if _fraction_parts(text, x, a[1]):
                    new = _as_fraction(text, x, a[1])
                elif (refold is not None and x.kind != "result" and a[1].kind != "result"
                      and (q := Fraction(x.value) / Fraction(a[1].value)).denominator != 1):
                    # "60*1/2" of "half of the $60"; a whole quotient is a count
                    new = _fold([x, a[1]], q, refold)
                elif _is_percent_number(x) and Fraction(x.value) >= 1 and _is_percent_sign(a[1], Fraction(100)):
                    new = _as_percent(x)
                if new is not None:
                    steps[i].args = [new if y is x else y for y in steps[i].args]
                    _drop(steps, origins, j, i)
                    return True
    return False


def _unit_fractions(steps: list[Step], text: str) -> None:
    """``DIV(x, "4")`` of a written "1/4" -> ``MUL(x, "1/4")`` (after the folds above, so a
    "24*1/4" split by the parser is folded first)."""
    for j, s in enumerate(steps):
        if s.op == "DIV" and len(s.args) == 2 and _unit_fraction_denominator(text, s.args[1]):
            d = s.args[1]
            n0 = d.span[0] - 2
            one_over = Arg("number", format_value(1 / Fraction(d.value)), text=text[n0:d.span[1]], span=(n0, d.span[1]))
            steps[j] = replace(s, op="MUL", args=[s.args[0], one_over])


def canonical_steps(steps: list[Step], text: str, refold: Refold | None = None) -> tuple[list[Step], list[list[int]]]:
    """``steps`` rewritten to the one encoding above (copies; the input is not changed),
    and for each new step the indices of the input steps it absorbed (itself first).

    ``text`` is the problem text the arguments' spans index into. ``refold(value)`` returns
    the one operand of the text that writes ``value`` as a fraction or percentage ("half" for
    1/2, "50%" for 1/2, "3/4"), or None: then a DIV of two written values is that operand.
    A step folded this way passes nothing of itself to its readers' ``origins``."""
    steps = [replace(s, args=list(s.args)) for s in steps]
    origins = [[k] for k in range(len(steps))]
    while _rewrite_once(steps, origins, text, refold):
        pass
    _unit_fractions(steps, text)
    return steps, origins
