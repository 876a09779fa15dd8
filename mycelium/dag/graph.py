"""A problem's computation DAG and its exact execution.

A ``DAG`` is a list of ``Node``s in topological order. Each operand is either a literal
``Fraction`` or a ``Ref`` to an *earlier* node, so a node list is acyclic by construction
and executes in one left-to-right pass. The answer is the ``output`` node (the last one
by default).

``execute`` raises ``ExecutionError`` with a typed ``Reason`` (see ``mycelium.dag.ops``):
DIV_BY_ZERO, OVERFLOW, UNKNOWN_OP, BAD_ARITY, BAD_REFERENCE, BAD_VALUE, NON_RATIONAL, EMPTY.
Irrational results (sqrt(2)) are an exact failure, NON_RATIONAL, not a sympy expression:
GSM8K/MAWPS labels and answers are rationals, and a symbolic value would make "executes to
gold" depend on a CAS's simplifier. A ``symbolic`` DAG (MATH's labels) is different: its
values may be sympy objects (``mycelium.dag.symbolic``: expressions, equations, 63*pi,
sqrt(63)); it may use the symbolic ops (SOLVE, SUBS, SIMPLIFY, EXPAND, FACTOR) and literals
that are expressions; its numeric ops on irrational operands run in sympy; and rational
values stay Fractions, so a numeric DAG executes the same either way.

Canonical answer format (``format_value``): integers as "24", "-3"; everything else as an
exact reduced fraction "7/2", "-1/3" (never a decimal: 1/3 has none). This is the same
format as the ``value`` strings of ``mycelium.records.labels``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence, Union

from mycelium.dag.ops import OPS, ExecutionError, Reason, apply_op, check_arity
from mycelium.dag.steps import EXPRESSION_KINDS, Arg, Step
from mycelium.dag.symbolic import (SYMBOLIC_OPS, Value, apply_any, format_symbolic, is_rational, parse_symbolic,
                                   values_equal)

__all__ = [
    "DAG", "ExecutionError", "Node", "Reason", "Ref", "answer_equals", "dag_from_steps",
    "execute", "execute_all", "format_value", "parse_value", "steps_from_dag",
]


@dataclass(frozen=True)
class Ref:
    """A reference to the result of an earlier node, by its position in ``DAG.nodes``."""

    node: int


Operand = Union[Fraction, Ref, Value]


@dataclass
class Node:
    """One operation: an op name from ``mycelium.dag.ops.OPS`` and its operands."""

    op: str
    args: list[Operand]


@dataclass
class DAG:
    """Nodes in topological order; ``output`` is the answer node (negative indices allowed)."""

    nodes: list[Node] = field(default_factory=list)
    output: int = -1
    symbolic: bool = False  # values may be sympy objects (MATH); False: exact rationals only

    def __str__(self) -> str:
        lines = []
        for i, n in enumerate(self.nodes):
            args = ", ".join(f"#{a.node}" if isinstance(a, Ref) else format_value(a) for a in n.args)
            lines.append(f"#{i} = {n.op}({args})")
        return "\n".join(lines)


def execute_all(dag: DAG) -> list[Fraction]:
    """The exact value of every node, in order. Raises ``ExecutionError`` on the first failure."""
    values: list[Fraction] = []
    for i, node in enumerate(dag.nodes):
        try:
            if dag.symbolic:
                operands = [values[_ref(a, i)] if isinstance(a, Ref) else a for a in node.args]
                values.append(apply_any(node.op, operands))
                continue
            check_arity(node.op, len(node.args))
            operands = []
            for a in node.args:
                if isinstance(a, Ref):
                    # Only earlier nodes: this is what rules out cycles and forward references.
                    if not isinstance(a.node, int) or not 0 <= a.node < i:
                        raise ExecutionError(Reason.BAD_REFERENCE, f"node {i} refers to #{a.node}")
                    operands.append(values[a.node])
                else:
                    operands.append(a)
            values.append(apply_op(node.op, operands))
        except ExecutionError as e:
            e.node = i
            raise
    return values


def _ref(a: Ref, i: int) -> int:
    if not isinstance(a.node, int) or not 0 <= a.node < i:
        raise ExecutionError(Reason.BAD_REFERENCE, f"node {i} refers to #{a.node}")
    return a.node


def execute(dag: DAG) -> Fraction:
    """The exact value of the DAG's output node. Raises ``ExecutionError`` (typed) on failure."""
    if not dag.nodes:
        raise ExecutionError(Reason.EMPTY, "DAG has no nodes")
    n = len(dag.nodes)
    if not -n <= dag.output < n:
        raise ExecutionError(Reason.BAD_REFERENCE, f"output #{dag.output} of {n} nodes")
    return execute_all(dag)[dag.output]


def format_value(x: Fraction) -> str:
    """Canonical exact string: "24", "-3", "7/2". Parses back with ``Fraction(s)``. A
    symbolic value (a sympy object) is LaTeX that ``mycelium.dag.symbolic.parse_symbolic``
    reads back."""
    if not is_rational(x) and not isinstance(x, float):
        return format_symbolic(x)
    x = Fraction(x)
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


_RATIONAL = re.compile(r"-?\d+(?:/\d+)?")  # format_value's rationals; anything else is a symbolic value


def _literal(value: str) -> Fraction:
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError, TypeError) as e:
        raise ExecutionError(Reason.BAD_VALUE, f"operand value {value!r}") from e


def dag_from_steps(steps: Sequence[Step], symbolic: bool = False) -> DAG:
    """Build a DAG from label ``Step``s (in order): number/implicit args become literals,
    result args become ``Ref``s to the step with that ``index``. ``symbolic`` (MATH) makes
    a symbolic DAG; it also holds when a step uses a symbolic op or an expression/constant
    argument (``EXPRESSION_KINDS``, read with ``parse_symbolic``) or a labelled value that is
    not a rational ("3 \\sqrt{7}": a MATH label read back).

    Raises ``ExecutionError`` BAD_REFERENCE for a result arg naming a missing or later step,
    BAD_VALUE for an arg whose value is not an exact rational string.
    """
    position = {s.index: i for i, s in enumerate(steps)}
    symbolic = symbolic or any(s.op in SYMBOLIC_OPS or any(a.kind in EXPRESSION_KINDS for a in s.args)
                               or (s.value is not None and not _RATIONAL.fullmatch(s.value)) for s in steps)
    nodes = []
    for i, s in enumerate(steps):
        args: list[Operand] = []
        for a in s.args:
            if a.kind == "result":
                j = position.get(a.step) if a.step is not None else None
                if j is None or j >= i:
                    raise ExecutionError(Reason.BAD_REFERENCE, f"step {s.index} uses step {a.step}", node=i)
                args.append(Ref(j))
            elif a.kind in EXPRESSION_KINDS:
                args.append(parse_symbolic(a.value))
            else:
                args.append(_literal(a.value))
        nodes.append(Node(s.op, args))
    return DAG(nodes, symbolic=symbolic)


def steps_from_dag(dag: DAG) -> list[Step]:
    """Label ``Step``s for a DAG: literals become number args (no text or span: the caller
    grounds them), refs become result args. Each step's ``value`` is its exact result, or
    None from the first failing node on (failure makes every later value unknown)."""
    try:
        values: list[Fraction | None] = list(execute_all(dag))
    except ExecutionError as e:
        ok = [] if e.node is None else execute_all(DAG(dag.nodes[: e.node], symbolic=dag.symbolic))
        values = list(ok) + [None] * (len(dag.nodes) - len(ok))
    steps = []
    for i, (node, v) in enumerate(zip(dag.nodes, values)):
        args = [
            Arg("result", "", step=a.node) if isinstance(a, Ref)
            else Arg("number", format_value(a), text=format_value(a))
            for a in node.args
        ]
        steps.append(Step(i, node.op, args, None if v is None else format_value(v)))
    return steps


# Gold answers: "72", "1,200", "$5", "-3", "3/4", "\frac{3}{4}", "0.25", "25%", "2 1/2".
_GOLD_WRAPPERS = re.compile(r"^\$+|\$+$|^\\\(|\\\)$|^\\\[|\\\]$")
_GOLD_NUMBER = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$")
_GOLD_FRAC = re.compile(r"^([-+]?)\\[dt]?frac\{([-+]?\d+)\}\{(\d+)\}$")
_GOLD_SLASH = re.compile(r"^([-+]?\d+)/(\d+)$")
_GOLD_MIXED = re.compile(r"^(\d+)\s+(\d+)/(\d+)$")
_GOLD_UNITS = re.compile(r"\\(?:text|mbox|mathrm)\{[^{}]*\}|\\[,!;: ]|\^\\circ|\^\{\\circ\}")


def parse_value(text: str) -> tuple[Fraction, bool] | None:
    """A gold/answer string as an exact rational, plus whether it was a percent; None if
    it is not a plain number ("x+1", "\\sqrt{2}", "(1,2)" are not).

    Handles "$1,200", "1{,}200", "-3", "0.25", "3/4", "2 1/2", "\\frac{3}{4}", "25%", "25\\%",
    "\\boxed{..}"-free LaTeX with "\\text{ cm}" units.
    """
    s = text.strip().replace("−", "-")
    s = _GOLD_UNITS.sub("", s)
    s = _GOLD_WRAPPERS.sub("", s).strip()
    s = s.replace("\\$", "").replace("$", "").replace("{,}", "").strip()
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)  # thousands commas only
    percent = s.endswith("%")
    if percent:
        s = s.rstrip("%").rstrip("\\").strip()
    s = s.replace(" ", "") if not _GOLD_MIXED.match(s) else s
    if len(s) > 200:  # a gold answer, not a number worth parsing
        return None
    try:
        if _GOLD_NUMBER.match(s) or _GOLD_SLASH.match(s):
            return Fraction(s), percent
        if m := _GOLD_FRAC.match(s):
            v = Fraction(int(m.group(2)), int(m.group(3)))
            return (-v if m.group(1) == "-" else v), percent
        if m := _GOLD_MIXED.match(s):
            return Fraction(int(m.group(1))) + Fraction(int(m.group(2)), int(m.group(3))), percent
    except ZeroDivisionError:
        return None
    return None


# A gold written as a float's repr: 12+ decimal places ("0.16666666666666666", MAWPS stores
# repeating fractions so). Its last digits are float rounding, not the answer.
_FLOAT_REPR = re.compile(r"^\s*-?\d+\.\d{12,}\s*$")
FLOAT_REPR_RTOL = Fraction(1, 10**9)


def float_repr_close(value: Fraction, gold: str) -> bool:
    """True when one side carries a float's rounding and ``value`` is within a relative 1e-9 of
    ``gold``: ``gold`` written as a float's repr (12 or more decimal places), or ``value`` an
    exact result of such reprs (a denominator of 10^12 or more: 0.1666...6 + 0.5833...3 is
    0.74999999999999993, gold "0.75"). 1/6 matches "0.16666666666666666", while "0.333"
    still does not match 1/3 (answers are exact otherwise). MAWPS writes every repeating
    fraction so; GTS and DeductReasoner score with a 1e-4 tolerance."""
    value = Fraction(value)
    if not (_FLOAT_REPR.match(gold) or value.denominator >= 10**12):
        return False
    parsed = parse_value(gold)
    if parsed is None or parsed[1]:
        return False
    g = parsed[0]
    return abs(value - g) <= FLOAT_REPR_RTOL * max(1, abs(g))


def answer_equals(value: Fraction, gold: str) -> bool:
    """Does the exact ``value`` equal the gold answer string?

    Plain numbers are compared exactly (no float tolerance: 1/3 != "0.333"), except where one
    side carries a float's rounding (``float_repr_close``). A percent gold
    "25%" matches 25 or 1/4 (a DAG may or may not end with the /100). Anything else (LaTeX
    beyond a plain fraction) goes to math-verify.
    """
    if not is_rational(value):
        return _symbolic_equals(value, gold)
    parsed = parse_value(gold)
    if parsed is not None:
        g, percent = parsed
        return value == g or (percent and value == g / 100) or float_repr_close(value, gold)
    try:
        from math_verify import parse, verify

        s = gold.strip()
        target = parse(s) if "$" in s else parse(f"${s}$")  # it reads LaTeX only inside $..$
        return bool(target) and bool(verify(target, parse(format_value(value))))
    except Exception:  # math-verify raises on pathological input; a non-match is the answer
        return False


def _symbolic_equals(value: Value, gold: str) -> bool:
    """A symbolic value against a gold string: exactly (``values_equal``) when
    ``mycelium.dag.latex`` reads the gold, else math-verify on both as LaTeX (intervals,
    tuples, sets, as the evaluation compares answers). An equation never matches."""
    import sympy

    if isinstance(value, (sympy.Equality, sympy.logic.boolalg.Boolean)):
        return False  # an equation is a step towards the answer, never the answer ("ab + a + b = 1")
    try:  # a gold our reader reads is compared exactly (fast); math-verify for the rest
        g = parse_symbolic(gold.strip().strip("$"))
        if isinstance(g, sympy.Equality) and isinstance(g.lhs, sympy.Symbol):
            g = g.rhs  # "x = 5"
        if not isinstance(g, sympy.Equality):
            return values_equal(value, g)
    except ExecutionError:
        pass
    try:
        from math_verify import parse, verify

        s = gold.strip()
        target = parse(s) if "$" in s else parse(f"${s}$")
        return bool(target) and bool(verify(target, parse(f"${format_symbolic(value)}$")))
    except Exception:  # math-verify raises on pathological input; a non-match is the answer
        return False
