"""What a MATH step's operands are grounded in, and the state a solution is read with.

``State`` holds what reading a solution has found so far (steps, their values, the names
bound, the equations met, the problem numbers used); ``ground_number`` decides what a
literal of the CoT's math is, in order:

1. the same number written in the problem (math before prose, then an unused occurrence,
   then the one nearest the step's other operands; not an answer option "(B) 17"; never a span a sibling operand holds; a number written
   as an exponent only for an exponent, and an exponent 2 or 3 the problem writes only as
   some other number is a constant; a picture's labels count, its coordinates do not);
2. an earlier step's value (the CoT reuses it; siblings of one node read different steps
   when the CoT made several of one value);
3. a word that implies it ("half", "%", "dozen": ``mycelium.labels.args.implicit_operands``);
4. NEG of a written magnitude ("-3" where the problem writes 3);
5. with ``constants``: a constant of the notation or of a formula, only in the place a formula
   puts it (``constant_fits``: 2 and 3 as exponents, 2 as a divisor, 1 added or as a
   numerator, angle sums in a problem about angles; typed "constant");
6. with ``prose``: arithmetic a CoT sentence states in words (``recover``);
7. else ungrounded (no span): the problem is rejected, as GSM8K's ungrounded operands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

import sympy

from mycelium.dag.graph import format_value
from mycelium.dag.steps import Arg, Step
from mycelium.dag.symbolic import Value, apply_any, is_rational, parse_symbolic
from mycelium.dag.latex import GREEK
from mycelium.labels.math_text import ProblemIndex

EXPONENT_CONSTANTS = (Fraction(2), Fraction(3))  # "x^2", "\\sqrt[3]{..}": the notation's, not data
# angle sums a problem about angles does not write: a right angle, a line or a triangle, a turn
ANGLE_CONSTANTS = (Fraction(90), Fraction(180), Fraction(360))


@dataclass
class MathStep:
    """A step found in the CoT and where: ``pos`` the char position of its statement."""

    step: Step
    pos: int
    ungrounded: bool


@dataclass
class State:
    problem: ProblemIndex
    constants: bool
    steps: list[MathStep] = field(default_factory=list)
    values: list[Value] = field(default_factory=list)
    bind: dict[str, Arg] = field(default_factory=dict)
    equations: list[tuple[sympy.Basic, Arg]] = field(default_factory=list)
    used: set = field(default_factory=set)
    evaluated: dict[str, Arg] = field(default_factory=dict)  # a piece's text -> its value's arg
    functions: dict[str, tuple[str, Arg]] = field(default_factory=dict)  # "f" -> (its variable, its expression)
    cot: str = ""
    prose: bool = False  # recover arithmetic the CoT states in words (``_recover``)
    sentences: list[tuple[int, int]] = field(default_factory=list)
    recovered: set = field(default_factory=set)  # sentences whose arithmetic made a step
    cot_numbers: bool = False  # accept a number only the CoT writes (kind "cot"): the relaxed bound


def value_of(s: State, arg: Arg) -> Value:
    if arg.kind == "result":
        return s.values[arg.step]
    if arg.kind in ("expr", "constant"):
        return parse_symbolic(arg.value)
    return Fraction(arg.value)


_NAME = re.compile(r"[A-Za-z](?:_\w+)?|\\[a-z]+(?: [A-Z]+)?|(?:[A-Z] )+[A-Z]")
_GEOMETRY_NAME = re.compile(r"(angle|overline|triangle|arc|widehat)_([A-Z]+)")
_ANGLES = re.compile(r"\\circ|\bangles?\b|\bdegrees?\b|\btriangle|\bpolygon|\bparallel", re.I)


def is_name(arg: Arg) -> bool:
    """An expr arg that is only a variable's name ("x", "a_1", "AE"): it carries no data, so
    it is grounded wherever the problem or the CoT names it."""
    return arg.kind == "expr" and bool(_NAME.fullmatch(arg.value))


def add_step(s: State, op: str, args: list[Arg], pos: int, expr: str) -> Arg:
    """Execute op on the args' values, append the step, return a result arg for it."""
    value = apply_any(op, [value_of(s, a) for a in args])
    k = len(s.steps)
    ungrounded = any(a.kind not in ("result", "constant", "cot") and a.span is None and not is_name(a) for a in args) \
        or all(a.kind == "constant" for a in args)  # no data: "2 \\cdot 2 \\cdot 2" of nothing written
    s.steps.append(MathStep(Step(k, op, args, None, expr=expr), pos, ungrounded))
    s.values.append(value)
    return Arg("result", format_value(value), step=k)


Role = tuple[str, int] | None  # the parent node's kind and this operand's place ("div", 1: a divisor)


def constant_fits(value: Fraction, role: Role, angles: bool) -> bool:
    """May ``value`` in this ``role`` be a constant the problem does not write? Only where a
    formula puts it: 2 and 3 as an exponent or root index, 2 as a divisor (a half, an
    average of two), 1 added, subtracted or as a numerator ("n - 1", "\\frac{1}{6}"), and in a
    problem about angles 90, 180, 360 added, subtracted or divided ("180^\\circ - 73^\\circ")."""
    kind, place = role or ("", -1)
    if kind in ("pow", "root") and place == 1:
        return value in EXPONENT_CONSTANTS
    if value == 2:
        return kind == "div" and place == 1
    if value == 1:
        return kind in ("add", "sub") or (kind == "div" and place == 0)
    if value in ANGLE_CONSTANTS:
        return angles and (kind in ("add", "sub") or (kind == "div" and place == 0))
    return False


def ground_number(s: State, value: Fraction, text: str, pos: int, expr: str, role: Role = None,
                  avoid: frozenset = frozenset(), near: tuple = ()) -> Arg:
    """What the literal ``value`` of the CoT's math is (the module doc's order). ``role``: its
    place in its node (``constant_fits``); ``avoid``: steps a sibling operand already reads;
    ``near``: spans of sibling operands already grounded (never the same span twice in one
    step; of several unused occurrences the nearest wins: "2 pineapples at $4 each")."""
    def distance(w) -> int:
        return min((abs(w.span[0] - n[0]) for n in near), default=0)

    exponent = role is not None and role[0] in ("pow", "root") and role[1] == 1
    constant = s.constants and constant_fits(value, role, bool(_ANGLES.search(s.problem.text)))
    written = sorted((w for w in s.problem.numbers if w.value == value and w.span not in near
                      and (exponent or not w.exponent)),
                     key=lambda w: (not w.in_math, w.span in s.used, distance(w), w.span))
    if exponent and constant and not any(w.exponent for w in written):
        # a square or a cube the problem does not write as one is the notation's, not the "2" of "(2, 5)"
        return Arg("constant", format_value(value), text=text)
    if written:  # the problem writes it: data, even when a step happens to have the same value
        w = written[0]
        s.used.add(w.span)
        return Arg("number", format_value(value), text=w.text, span=w.span)
    if constant and value == 1:  # the unit of "n - 1", "\\frac{1}{6}": a constant, not a step that made 1
        return Arg("constant", "1", text=text)
    same = [k for k in range(len(s.values) - 1, -1, -1) if is_rational(s.values[k]) and Fraction(s.values[k]) == value]
    fresh = [k for k in same if k not in avoid]
    if fresh:  # an earlier step's value: the CoT reuses it
        return Arg("result", format_value(value), step=fresh[0])
    if same and s.prose and (found := recover(s, value, pos)) is not None:
        return found  # "16 + 8 + 8": the second 8 another sentence made
    if same:
        return Arg("result", format_value(value), step=same[0])
    implied = [arg for v, arg in s.problem.implicit if v == value and arg.span not in s.used and arg.span not in near]
    if implied:  # a word that implies it ("half", "dozen", "%"), as GSM8K's implicit operands
        s.used.add(implied[0].span)
        return Arg("implicit", format_value(value), text=implied[0].text, span=implied[0].span)
    if value < 0 and any(w.value == -value for w in s.problem.numbers):
        inner = ground_number(s, -value, text.lstrip("-"), pos, expr, ("neg", 0))
        return add_step(s, "NEG", [inner], pos, expr)
    if constant:
        return Arg("constant", format_value(value), text=text)
    if s.prose and (found := recover(s, value, pos)) is not None:
        return found
    if s.cot_numbers:  # the relaxed reading (an upper bound, not a label): the CoT's own number
        return Arg("cot", format_value(value), text=text)
    return Arg("number", format_value(value), text=text)  # ungrounded: no span


_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=[A-Z$\\])|\n\s*\n")
_PROSE_NUMBER = re.compile(r"(?<![\w.^_{])\d+(?:\.\d+)?(?![\w}])")


def sentences(cot: str) -> list[tuple[int, int]]:
    cuts = [0] + [m.end() for m in _SENTENCE.finditer(cot)] + [len(cot)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


_WORD = re.compile(r"[A-Za-z]{3,}")


def _words_after(text: str, end: int, n: int = 4) -> set[str]:
    """The next ``n`` words after char ``end`` up to the next number or stop ("4 white, 4
    brown": {"white"}), a plural "s" dropped ("socks" is "sock")."""
    clause = re.split(r"[,.;:?!$\d]", text[end:end + 60])[0]
    return {w.lower().rstrip("s") for w in _WORD.findall(clause)[:n]}


def strict(s: State, value: Fraction, said: set[str] = frozenset(), taken: tuple = ()) -> Arg | None:
    """``value`` as a problem number or an earlier step's value; no fallbacks. Of several
    occurrences, the one whose next words the CoT repeats after it (``said``: "4 options for
    the brown sock" is the "4 brown"), then an unused one; never a span in ``taken``."""
    def overlap(w) -> int:
        return len(_words_after(s.problem.text, w.span[1]) & said)

    written = sorted((w for w in s.problem.numbers if w.value == value and w.span not in taken),
                     key=lambda w: (-overlap(w), w.span in s.used, not w.in_math, w.span))
    if written:
        w = written[0]
        return Arg("number", format_value(value), text=w.text, span=w.span)
    for k in range(len(s.values) - 1, -1, -1):
        if is_rational(s.values[k]) and Fraction(s.values[k]) == value:
            return Arg("result", format_value(value), step=k)
    return None


def recover(s: State, value: Fraction, pos: int) -> Arg | None:
    """Arithmetic the CoT states in words: the last sentence before ``pos`` that writes
    ``value`` ("4 options for the white sock and 4 for the brown sock for a total of 16")
    and two other numbers there, each a problem number or an earlier step's value, that one
    op (ADD, SUB, MUL, DIV, in the order written) turns into ``value``, and only one such
    (op, operands) does: that op becomes a step. None otherwise (no guess among several)."""
    for a, b in reversed([x for x in s.sentences if x[0] < pos and x not in s.recovered]):
        nums = [(Fraction(m.group()), (a + m.start(), a + m.end())) for m in _PROSE_NUMBER.finditer(s.cot[a:b])]
        mentions = [sp for v, sp in nums if v == value and sp[1] <= pos]  # written before the statement
        if not mentions:
            continue
        others = [(v, sp) for v, sp in nums if sp[1] <= mentions[-1][0] and v != value]
        found: dict[tuple, tuple] = {}
        for i in range(len(others)):
            for j in range(i + 1, len(others)):
                x, y = others[i][0], others[j][0]
                for op, r in (("ADD", x + y), ("SUB", x - y), ("MUL", x * y), ("DIV", x / y if y else None)):
                    if r == value:
                        found.setdefault((op, x, y), (others[i][1], others[j][1]))
        if not found:
            continue
        if len(found) != 1:
            return None
        (op, x, y), spans = next(iter(found.items()))
        args: list[Arg] = []
        for v, sp in zip((x, y), spans):
            arg = strict(s, v, _words_after(s.cot, sp[1]), tuple(a.span for a in args))
            if arg is None:
                return None
            if arg.span is not None:
                s.used.add(arg.span)
            args.append(arg)
        s.recovered.add((a, b))
        return add_step(s, op, args, a, s.cot[a:b].strip())
    return None


def var_arg(s: State, name: str) -> Arg:
    """A variable as an expr arg, its value LaTeX that reads back as the same name."""
    span = s.problem.variables.get(name)
    if name in GREEK:
        return Arg("expr", "\\" + name, text=name, span=span)
    if m := _GEOMETRY_NAME.fullmatch(name):  # "angle_ACB" is how the reader names "\angle ACB"
        return Arg("expr", f"\\{m.group(1)} {m.group(2)}", text=name, span=span)
    return Arg("expr", name if len(name) == 1 or "_" in name else " ".join(name), text=name, span=span)
