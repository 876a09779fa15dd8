"""A problem's computation as steps: the nodes of its DAG and their operands.

``Step``/``Arg`` are what the labels build, the wiring wires and the solver executes; the
DAG (``mycelium.dag.graph``) is made from them. They sit here, with the DAG, so that nothing
below the labels has to import the labels to hold a step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ArgKind = Literal["number", "implicit", "result", "expr", "constant", "cot"]
# Operands whose ``value`` is LaTeX, read by mycelium.dag.symbolic.parse_symbolic (MATH):
# "expr" an expression, equation or variable written in the problem ("x^2+bx-28=0", "x"),
# "constant" a constant of the notation the problem does not write (\pi).
EXPRESSION_KINDS = ("expr", "constant")


@dataclass
class Arg:
    """One operand of an operation."""

    kind: ArgKind  # a number written in the problem, an implicit constant ("half"), a step result,
    # or (MATH) an expression written in the problem / a notation constant (EXPRESSION_KINDS)
    value: str  # exact rational, e.g. "48", "1/2"; LaTeX for EXPRESSION_KINDS
    text: str = ""  # the words it came from ("48", "half"); empty for results
    span: tuple[int, int] | None = None  # char span in the problem text (number/implicit)
    step: int | None = None  # index of the step whose result this is (result)


@dataclass
class Step:
    """One operation: a node of the problem's DAG."""

    index: int
    op: str  # an op name from mycelium.dag.ops (ADD, SUB, MUL, DIV, ...)
    args: list[Arg]
    value: str | None  # exact result of executing this node, None if it failed
    expr: str = ""  # the CoT arithmetic it came from, e.g. "48/2=24"
    cot_span: tuple[int, int] | None = None  # char span of its CoT step in the trace's cot
    region: tuple[int, int] | None = None  # clause-expanded char span in the problem text
    iaf_spans: list[tuple[int, int]] = field(default_factory=list)  # raw IAF-selected tokens
