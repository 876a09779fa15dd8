"""Parsing one CoT equation into ops: "48/2*3=72" -> DIV(48, 2) = 24, MUL(#0, 3) = 72.

Finding the equations in a CoT is ``mycelium.labels.cot_ops``; this module parses one.
Three inputs, one parser:
  (a) GSM8K calculator annotations, "48/2=24", "100*.25=25", "(3*2)+1=7";
  (b) plain CoT arithmetic, "48 x 2 = 96", "$1,200 - $200 = $1,000", "25% of 80 = 20";
  (c) MATH LaTeX, "\\frac{48}{2}=24", "2 \\cdot 3", "2^{10}", "\\sqrt{16}=4", "\\dfrac{3}{4}".

Nothing is ever ``eval``ed. A whitelist tokenizer turns text into numbers, operators,
brackets and a few LaTeX commands (anything else is a BREAK token), a small Pratt parser
builds a tree, and the tree is decomposed into op nodes in evaluation order (post-order,
left to right) that execute exactly through ``mycelium.dag.ops``. Input length, nesting
depth and result size are capped, so no input can hang it.

Grammar (loosest first): ``=`` splits segments (a newline ends an expression); ``+ -``
(10); ``* / x × ÷ \\cdot \\times \\div of mod`` and juxtaposition before a
bracket/\\frac/\\sqrt, "2(3+4)" (20); unary minus (25); ``^ **`` right-assoc (40);
postfix ``%`` (50). ``\\frac{a}{b}`` is DIV(a, b), ``\\sqrt{a}`` SQRT(a), ``\\sqrt[n]{a}``
ROOT(a, n). Conventions of the decomposition:
  - "2\\frac{1}{2}" (an integer before a numeric \\frac) is the mixed number ADD(2, DIV(1, 2)).
  - ADD and MUL are n-ary and flatten same-op children: "12+24+5" is one ADD(12, 24, 5).
  - SUB, DIV, POW are binary: "100-50-30" is SUB(SUB(100, 50), 30).
  - A minus before a literal is part of the literal ("-3"); before anything else, NEG.
  - "25%" is DIV(25, 100) where the 100 is an implicit literal (its text is "%"), so a
    percent grounds like GSM8K's "25/100*80" (see mycelium.labels.args).
  - "a = b = c": the expression is the first segment; the stated result is the value of the
    last segment ("\\frac{1}{2} \\cdot 8 = \\frac{8}{2} = 4" states 4).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Union

from mycelium.dag.graph import DAG, Node, Ref
from mycelium.dag.ops import ExecutionError, Reason, apply_op

MAX_CHARS = 500  # longer than any single CoT equation; keeps parsing trivially bounded
MAX_DEPTH = 40  # bracket/exponent nesting
MAX_TOKENS = 200


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Literal:
    """A number as written: value, the text ("$1,200", "%"), its char span in the parsed text."""

    value: Fraction
    text: str
    span: tuple[int, int]
    implicit: bool = False  # a constant the notation implies (the 100 of "25%")


@dataclass(frozen=True)
class NodeRef:
    """The result of an earlier node of the same expression."""

    index: int


Operand = Union[Literal, NodeRef]


@dataclass
class OpNode:
    """One op of the expression, its operands, its exact value and the text it covers."""

    op: str
    operands: list[Operand]
    value: Fraction
    span: tuple[int, int]


@dataclass
class ParsedExpr:
    """A parsed CoT equation. Spans index into ``text``."""

    text: str
    nodes: list[OpNode]  # evaluation order; empty for a bare number
    value: Fraction  # exact value of the expression (last node, or the bare literal)
    stated: Fraction | None = None  # value of the last "=" segment, if any
    stated_text: str | None = None
    stated_span: tuple[int, int] | None = None
    literals: list[Literal] = field(default_factory=list)  # every literal, in text order

    @property
    def agrees(self) -> bool | None:
        """Does the stated result equal the computed value exactly? None when nothing is stated."""
        return None if self.stated is None else self.stated == self.value

    @property
    def approx_agrees(self) -> bool | None:
        """Exact, or the stated result is the value rounded or truncated to the stated
        precision (GSM8K writes "10/3=3.33", "8*18=144.00")."""
        if self.stated is None or self.stated_text is None:
            return None
        if self.agrees:
            return True
        m = re.search(r"\.(\d+)", self.stated_text)
        scale = 10 ** (len(m.group(1)) if m else 0)
        v = self.value * scale
        half = Fraction(1, 2)
        truncated = Fraction(int(v))  # int() truncates toward zero
        rounded = Fraction(int(v + half)) if v >= 0 else -Fraction(int(-v + half))  # half away from zero
        return any(c / scale == self.stated for c in (truncated, rounded))

    @property
    def ops(self) -> list[str]:
        return [n.op for n in self.nodes]

    def to_dag(self) -> DAG:
        """The expression as a ``mycelium.dag.graph.DAG`` (literals become Fractions)."""
        nodes = []
        for n in self.nodes:
            nodes.append(Node(n.op, [Ref(o.index) if isinstance(o, NodeRef) else o.value for o in n.operands]))
        return DAG(nodes)


class Failure(str, enum.Enum):
    """Why a string is not a parseable equation."""

    EMPTY = "EMPTY"
    TOO_LONG = "TOO_LONG"
    TOO_DEEP = "TOO_DEEP"
    BAD_TOKEN = "BAD_TOKEN"  # a character or word outside the whitelist
    SYNTAX = "SYNTAX"  # tokens in an order the grammar rejects ("3 +", "(4", "2 3")
    EXECUTION = "EXECUTION"  # parsed, but does not execute (see ``exec_reason``)


@dataclass
class ParseError:
    """A typed parse failure, returned (never raised) by ``parse_expression``."""

    reason: Failure
    message: str = ""
    position: int | None = None  # char offset in the input, where known
    exec_reason: Reason | None = None  # for EXECUTION: DIV_BY_ZERO, OVERFLOW, NON_RATIONAL, ...


# ----------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class Token:
    kind: str  # NUM OP PCT LP RP FRAC SQRT EQ BREAK
    text: str
    span: tuple[int, int]
    op: str = ""  # for OP: + - * / ^ mod; for LP/RP: the bracket char ( [ {
    value: Fraction | None = None  # for NUM


_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_NUM = r"(?:\d{1,3}(?:(?:,|\{,\})\d{3}(?!\d))+|\d+)(?:\.\d+)?|\.\d+"
_CMD_END = r"(?![A-Za-z])"
# One alternative per token kind, tried in order at each position. Group names are kinds;
# SKIP is whitespace, LaTeX spacing and sizing, and a "$" / "\$" directly before a number.
_TOKEN = re.compile(
    "|".join(
        (
            r"(?P<SKIP>[^\S\n]+|\\[,!;: ]|~|\\q?quad" + _CMD_END + r"|\\displaystyle" + _CMD_END
            + r"|\\(?:left|right|[bB]igg?[lr]?)" + _CMD_END + r"|\\?\$(?=\s?(?:\d|\.\d)))",
            r"(?P<FRAC2>\\[dt]?frac\s*(?P<f1>\d)\s*(?P<f2>\d))",  # \frac12 = 1/2
            r"(?P<FRAC>\\[dt]?frac" + _CMD_END + r")",
            r"(?P<SQRT>\\sqrt" + _CMD_END + r")",
            rf"(?P<NUM>{_NUM})",
            r"(?P<POW>\*\*|\^)",
            r"(?P<MUL>\*|×|·|⋅|∙|\\times" + _CMD_END + r"|\\cdot" + _CMD_END
            + r"|(?<=[\d\s)])[xX](?![A-Za-z])(?=\s*(?:[\d(.]|\\?\$))|(?<![A-Za-z])of(?![A-Za-z]))",
            r"(?P<DIV>/|÷|\\div" + _CMD_END + r")",
            r"(?P<MOD>\\bmod" + _CMD_END + r"|\\mod" + _CMD_END + r"|(?<![A-Za-z])mod(?![A-Za-z]))",
            r"(?P<ADD>\+)",
            r"(?P<SUB>-|−)",
            r"(?P<PCT>\\?%)",
            r"(?P<EQ>=)",
            r"(?P<LP>[(\[{])",
            r"(?P<RP>[)\]}])",
            r"(?P<BREAK>\\[A-Za-z]+|[A-Za-z]+|.)",
        )
    ),
    re.DOTALL,
)
_OP_OF_KIND = {"POW": "^", "MUL": "*", "DIV": "/", "MOD": "mod", "ADD": "+", "SUB": "-"}


def tokenize(s: str) -> list[Token]:
    """Whitelist tokens of ``s`` (spans into ``s``); anything unknown is a BREAK token."""
    out: list[Token] = []
    for m in _TOKEN.finditer(s):
        kind, span, text = m.lastgroup, m.span(), m.group(0)
        if kind == "SKIP":
            continue
        if kind == "FRAC2":  # "\frac12": one FRAC token and two one-digit NUM tokens
            out.append(Token("FRAC", text[: m.start("f1") - m.start()].rstrip(), (m.start(), m.start("f1"))))
            for g in ("f1", "f2"):
                out.append(Token("NUM", m.group(g), m.span(g), value=Fraction(m.group(g))))
        elif kind == "NUM":
            out.append(Token("NUM", text, span, value=Fraction(text.replace("{,}", "").replace(",", ""))))
        elif kind in _OP_OF_KIND:
            out.append(Token("OP", text, span, op=_OP_OF_KIND[kind]))
        elif kind in ("LP", "RP"):
            out.append(Token(kind, text, span, op=text))
        else:
            out.append(Token(kind, text, span))
    return out


# ----------------------------------------------------------------------------- parser

# AST: a Literal, or (op, children, span). Plain tuples: they live only inside this module.
_Tree = Union[Literal, tuple]
_BINARY = {  # operator -> (op, left binding power)
    "+": ("ADD", 10), "-": ("SUB", 10), "*": ("MUL", 20), "/": ("DIV", 20), "mod": ("MOD", 20), "^": ("POW", 40),
}
_UNARY_BP = 25
_PCT_BP = 50
_JUXTAPOSE = ("LP", "FRAC", "SQRT")  # "2(3+4)", "3\frac{1}{2}" (times), "2\sqrt{9}"


class _Fail(Exception):
    def __init__(self, reason: Failure, message: str, position: int | None = None):
        super().__init__(message)
        self.error = ParseError(reason, message, position)


def _span(tree: _Tree) -> tuple[int, int]:
    return tree.span if isinstance(tree, Literal) else tree[2]


def _make(op: str, children: list[_Tree], span: tuple[int, int]) -> _Tree:
    """An op tree node; ADD/MUL absorb same-op children so "1+2+3" is one n-ary node."""
    if op in ("ADD", "MUL"):
        flat: list[_Tree] = []
        for c in children:
            flat.extend(c[1] if not isinstance(c, Literal) and c[0] == op else [c])
        children = flat
    return (op, children, span)


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens, self.i, self.depth = tokens, 0, 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self) -> Token:
        t = self.peek()
        if t is None:
            end = self.tokens[-1].span[1] if self.tokens else 0
            raise _Fail(Failure.SYNTAX, "unexpected end", end)
        self.i += 1
        return t

    def end(self) -> int:
        return self.tokens[self.i - 1].span[1]

    def expr(self, rbp: int) -> _Tree:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            where = self.peek().span[0] if self.peek() else None
            raise _Fail(Failure.TOO_DEEP, f"nesting deeper than {MAX_DEPTH}", where)
        left = self.nud(self.next())
        while (t := self.peek()) is not None:
            if t.kind == "OP" and t.op in _BINARY:
                op, lbp = _BINARY[t.op]
                if lbp <= rbp:
                    break
                self.next()
                right = self.expr(lbp - 1 if op == "POW" else lbp)  # POW is right-associative
                left = _make(op, [left, right], (_span(left)[0], self.end()))
            elif t.kind == "PCT":
                if _PCT_BP <= rbp:
                    break
                self.next()
                hundred = Literal(Fraction(100), t.text, t.span, implicit=True)
                left = _make("DIV", [left, hundred], (_span(left)[0], t.span[1]))
            elif t.kind in _JUXTAPOSE:
                if 20 <= rbp:
                    break
                right = self.expr(20)
                # "2\frac{1}{2}" is the mixed number 5/2 (MATH writes them so); "2\sqrt{3}",
                # "2(3+4)" are products.
                mixed = t.kind == "FRAC" and isinstance(left, Literal) and left.value >= 0 \
                    and left.value.denominator == 1 and not isinstance(right, Literal) and right[0] == "DIV" \
                    and all(isinstance(c, Literal) for c in right[1])
                left = _make("ADD" if mixed else "MUL", [left, right], (_span(left)[0], self.end()))
            else:
                break
        self.depth -= 1
        return left

    def group(self) -> _Tree:
        """A LaTeX argument: a {braced} expression, or a single primary ("\\frac 1 2")."""
        t = self.peek()
        if t is not None and t.kind == "LP" and t.op == "{":
            return self.nud(self.next())
        return self.expr(_PCT_BP - 1)

    def nud(self, t: Token) -> _Tree:
        if t.kind == "NUM":
            return Literal(t.value, t.text, t.span)
        if t.kind == "OP" and t.op in ("-", "+"):
            operand = self.expr(_UNARY_BP)
            if t.op == "+":
                return operand
            if isinstance(operand, Literal) and not operand.implicit:
                return Literal(-operand.value, f"-{operand.text}", (t.span[0], operand.span[1]))
            return ("NEG", [operand], (t.span[0], self.end()))
        if t.kind == "LP":
            inner = self.expr(0)
            close = self.next()
            if close.kind != "RP" or close.op != _BRACKETS[t.op]:
                raise _Fail(Failure.SYNTAX, f"{t.op!r} closed by {close.text!r}", close.span[0])
            return inner
        if t.kind == "FRAC":
            num = self.group()
            den = self.group()
            return ("DIV", [num, den], (t.span[0], self.end()))
        if t.kind == "SQRT":
            index = None
            nxt = self.peek()
            if nxt is not None and nxt.kind == "LP" and nxt.op == "[":
                index = self.nud(self.next())
            radicand = self.group()
            children = [radicand] if index is None else [radicand, index]
            return ("SQRT" if index is None else "ROOT", children, (t.span[0], self.end()))
        raise _Fail(Failure.SYNTAX, f"unexpected {t.text!r}", t.span[0])


def _parse_tree(tokens: list[Token]) -> _Tree:
    if not tokens:
        raise _Fail(Failure.EMPTY, "no expression")
    p = _Parser(tokens)
    tree = p.expr(0)
    if p.peek() is not None:
        t = p.peek()
        raise _Fail(Failure.SYNTAX, f"unexpected {t.text!r}", t.span[0])
    return tree


def _decompose(tree: _Tree, nodes: list[OpNode], literals: list[Literal]) -> Operand:
    """Post-order: children first, left to right; each op becomes one executed OpNode."""
    if isinstance(tree, Literal):
        literals.append(tree)
        return tree
    op, children, span = tree
    operands = [_decompose(c, nodes, literals) for c in children]
    values = [o.value if isinstance(o, Literal) else nodes[o.index].value for o in operands]
    try:
        value = apply_op(op, values)
    except ExecutionError as e:
        err = _Fail(Failure.EXECUTION, str(e), span[0])
        err.error.exec_reason = e.reason
        raise err
    nodes.append(OpNode(op, operands, value, span))
    return NodeRef(len(nodes) - 1)


def _split_eq(tokens: list[Token]) -> list[list[Token]]:
    segments: list[list[Token]] = [[]]
    for t in tokens:
        if t.kind == "EQ":
            segments.append([])
        else:
            segments[-1].append(t)
    return segments


def _parse_tokens(text: str, tokens: list[Token]) -> ParsedExpr:
    bad = next((t for t in tokens if t.kind == "BREAK"), None)
    if bad is not None:
        raise _Fail(Failure.BAD_TOKEN, f"not arithmetic: {bad.text!r}", bad.span[0])
    if len(tokens) > MAX_TOKENS:
        raise _Fail(Failure.TOO_LONG, f"more than {MAX_TOKENS} tokens")
    segments = _split_eq(tokens)
    nodes: list[OpNode] = []
    literals: list[Literal] = []
    root = _decompose(_parse_tree(segments[0]), nodes, literals)
    value = root.value if isinstance(root, Literal) else nodes[root.index].value
    out = ParsedExpr(text, nodes, value, literals=literals)
    if len(segments) > 1 and segments[-1]:
        last = segments[-1]
        stated_nodes: list[OpNode] = []
        stated_root = _decompose(_parse_tree(last), stated_nodes, [])
        out.stated = stated_root.value if isinstance(stated_root, Literal) else stated_nodes[-1].value
        out.stated_span = (last[0].span[0], last[-1].span[1])
        out.stated_text = text[out.stated_span[0] : out.stated_span[1]]
    return out


def parse_expression(s: str) -> ParsedExpr | ParseError:
    """Parse one equation or expression ("48/2=24", "\\frac{3}{4}", "25% of 80 = 20").

    Returns a ``ParsedExpr`` (op nodes in evaluation order, exact value, stated result) or a
    ``ParseError``; never raises on a string, never evaluates code, never hangs.
    """
    if not isinstance(s, str):
        return ParseError(Failure.BAD_TOKEN, f"not a string: {type(s).__name__}")
    if len(s) > MAX_CHARS:
        return ParseError(Failure.TOO_LONG, f"{len(s)} chars > {MAX_CHARS}")
    try:
        return _parse_tokens(s, tokenize(s))
    except _Fail as f:
        return f.error
    except RecursionError:  # belt and braces: MAX_DEPTH keeps us far from the limit
        return ParseError(Failure.TOO_DEEP, "recursion limit")
