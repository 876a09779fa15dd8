"""Finding the arithmetic in a CoT: every equation in CoT text, and GSM8K's calculator annotations.

    find_arithmetic("She sold 48/2 = 24 clips, then 24 + 48 = 72.")  # two ``Found``s
    parse_annotations([(17, "48/2=24")])  # one ``Found`` (or ``ParseError``) per annotation

The text is tokenized with the parser's whitelist tokenizer, cut into runs of arithmetic
tokens (prose, i.e. BREAK tokens, and two adjacent operands end a run), runs that continue
into a variable are skipped as algebra, each run is trimmed to what can start and end an
expression, and what is left is parsed by ``mycelium.labels.expressions.parse_expression``
(the grammar is documented there). Nothing that does not parse is ever raised on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable

# Literal, NodeRef and ParseError are the types a Found's expression and parse_annotations hand out.
from mycelium.labels.expressions import Literal, NodeRef, ParsedExpr, ParseError, Token, parse_expression, tokenize

__all__ = ["Found", "Literal", "NodeRef", "ParseError", "find_arithmetic", "find_worded_arithmetic",
           "parse_annotations"]


@dataclass
class Found:
    """An equation found in a CoT: its char span in the CoT and the parsed expression.
    For ``find_arithmetic``, ``cot[span[0]:span[1]] == expr.text``; for annotations the span is
    zero-width (where the annotation stood in the cleaned solution)."""

    span: tuple[int, int]
    expr: ParsedExpr


def _runs(tokens: list[Token]) -> list[tuple[int, int]]:
    """Maximal token runs [i, j) without a BREAK, also split between two adjacent operands
    ("= 24 24 + 5": two equations)."""
    runs: list[tuple[int, int]] = []
    start = 0
    for k, t in enumerate(tokens):
        if t.kind == "BREAK":
            if k > start:
                runs.append((start, k))
            start = k + 1
            continue
        prev = tokens[k - 1] if k > start else None
        frac_digits = k - 2 >= start and tokens[k - 2].kind == "FRAC"  # "\frac12" is FRAC NUM NUM
        if prev is not None and prev.kind in ("NUM", "RP", "PCT") and t.kind == "NUM" and not frac_digits:
            runs.append((start, k))
            start = k
    if start < len(tokens):
        runs.append((start, len(tokens)))
    return runs


_VARIABLE = re.compile(
    r"[A-Za-z]|\\(?:alpha|beta|gamma|delta|epsilon|varepsilon|zeta|eta|theta|iota|kappa|lambda"
    r"|mu|nu|xi|pi|rho|sigma|tau|phi|varphi|chi|psi|omega)"
)


def _is_algebra(tokens: list[Token], i: int, j: int) -> bool:
    """Does run [i, j) continue into a variable ("2x", "a(2)+3", "x + 2 - 5", "5 - b")?
    An operator at the run's edge continues into any neighbouring variable; an operand
    only into one it touches. "=" at the edge separates ("x = 2 + 3" is arithmetic)."""
    for edge, k in ((tokens[i], i - 1), (tokens[j - 1], j)):
        if edge.kind == "EQ" or not 0 <= k < len(tokens):
            continue
        near = tokens[k]
        if near.kind != "BREAK" or not _VARIABLE.fullmatch(near.text):
            continue
        touching = near.span[1] == edge.span[0] or edge.span[1] == near.span[0]
        if edge.kind == "OP" or touching:
            return True
    return False


def _trim(tokens: list[Token], i: int, j: int) -> tuple[int, int]:
    """Shrink run [i, j): drop what cannot start or end an expression, unmatched edge
    brackets, and leading segments without an op ("so 5 = 2 + 3" keeps "2 + 3")."""
    changed = True
    while i < j and changed:
        changed = False
        first, last = tokens[i], tokens[j - 1]
        if first.kind in ("EQ", "PCT", "RP") or (first.kind == "OP" and first.op not in ("-", "+")):
            i, changed = i + 1, True
        elif last.kind in ("EQ", "OP", "LP", "FRAC", "SQRT"):
            j, changed = j - 1, True
        elif first.kind == "LP" and not _balanced_from(tokens[i:j]):
            i, changed = i + 1, True
        elif last.kind == "RP" and not _balanced_from(tokens[i:j][::-1], opener="RP"):
            j, changed = j - 1, True
    # Leading "=" segments with no op: "5 = 2 + 3" -> "2 + 3".
    while True:
        eq = next((k for k in range(i, j) if tokens[k].kind == "EQ"), None)
        if eq is None or any(tokens[k].kind in _OPERATORS for k in range(i, eq)) or _juxtaposes(tokens[i:eq]):
            return i, j
        i = eq + 1


_OPERATORS = ("OP", "FRAC", "SQRT", "PCT")


def _balanced_from(run: list[Token], opener: str = "LP") -> bool:
    """Is run[0] (an opener, or a closer when scanning reversed) matched within the run?"""
    depth = 0
    for t in run:
        if t.kind in ("LP", "RP"):
            depth += 1 if t.kind == opener else -1
            if depth == 0:
                return True
    return False


def _juxtaposes(run: list[Token]) -> bool:
    """Does a number or bracket touch an opening bracket, a product written without an op
    ("200(.40)=80")?"""
    return any(a.kind in ("NUM", "RP") and b.kind == "LP" and a.span[1] == b.span[0] for a, b in zip(run, run[1:]))


def find_arithmetic(cot: str) -> list[Found]:
    """Every equation or expression with at least one op in CoT text, plain or LaTeX
    ("48 / 2 = 24", "$\\frac{48}{2}=24$", "200(.40)=80"), with its char span in ``cot``. Algebra
    ("2x + 3") and text that does not parse are skipped, never raised on."""
    tokens = tokenize(cot)
    found = []
    for i, j in _runs(tokens):
        if _is_algebra(tokens, i, j):
            continue
        i, j = _trim(tokens, i, j)
        if i >= j or not (any(t.kind in _OPERATORS for t in tokens[i:j]) or _juxtaposes(tokens[i:j])):
            continue
        start, end = tokens[i].span[0], tokens[j - 1].span[1]
        expr = parse_expression(cot[start:end])
        if isinstance(expr, ParsedExpr) and expr.nodes:
            found.append(Found((start, end), expr))
    return found


# "120 pills x 3 bottles = 360", "15 minutes/shampoo * 3 shampoos = 45", "$60/game x 2 games= $120":
# two numbers, an operator and a stated result, with up to four unit words after the first number
# ("4 dozen chocolate chip cookies - 2.5 dozen = 1.5 dozen") and three after the second
_UNIT = r"(?:[A-Za-z][A-Za-z'’-]*(?:/[A-Za-z][A-Za-z'’-]*)?|/\s?[A-Za-z][A-Za-z'’-]*)"
_AMOUNT = r"\$?(?:\d[\d,]*(?:\.\d+)?|\.\d+)%?"
_WORDED = re.compile(rf"(?<![\w.$/])({_AMOUNT})((?:\s*{_UNIT}){{0,4}})\s*([x×*/+\-–−])\s*({_AMOUNT})"
                     rf"((?:\s*{_UNIT}){{0,3}})\s*=\s*({_AMOUNT})(?![\d.]?\d)")
_UNIT_CHARS = re.compile(r"[A-Za-z'’/-]")


def find_worded_arithmetic(cot: str) -> list[Found]:
    """Two-operand equations the CoT writes with unit words between the numbers, which
    ``find_arithmetic`` reads as prose: "120 pills x 3 bottles = 360 pills" (GSM8K writes such
    arithmetic without a calculator annotation). Each ``Found`` spans the words too
    (``cot[span[0]:span[1]] == expr.text``) and its literals keep their places in it. Only an
    equation whose stated result agrees with its op (exactly, or rounded as written) is kept;
    one ``find_arithmetic`` reads as it stands (no unit word) is left to it."""
    found = []
    for m in _WORDED.finditer(cot):
        if not (m.group(2).strip() or m.group(5).strip()):
            continue
        # the unit words become blanks of their length, so the literals keep their offsets
        chars = list(m.group(0))
        for g in (2, 5):
            a = m.start(g) - m.start()
            for k in range(a, a + len(m.group(g))):
                if _UNIT_CHARS.match(chars[k]):
                    chars[k] = " "
        op = m.start(3) - m.start()
        chars[op] = "-" if chars[op] in "–−" else chars[op]
        expr = parse_expression("".join(chars))
        if (isinstance(expr, ParsedExpr) and len(expr.nodes) == 1 and expr.stated is not None
                and (expr.agrees or expr.approx_agrees)):
            found.append(Found(m.span(), replace(expr, text=m.group(0))))
    return found


def parse_annotations(annotations: Iterable[tuple[int, str]]) -> list[Found | ParseError]:
    """Parse GSM8K calculator annotations given as (char position, "48/2=24") pairs, as
    returned by ``mycelium.data.answers.clean_gsm8k_solution``. One result per pair, in
    order; a ``Found`` has the zero-width span (pos, pos)."""
    out: list[Found | ParseError] = []
    for pos, text in annotations:
        expr = parse_expression(text)
        out.append(Found((pos, pos), expr) if isinstance(expr, ParsedExpr) else expr)
    return out
