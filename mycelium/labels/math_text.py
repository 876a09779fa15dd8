"""The math of a MATH text: its LaTeX segments, the statements in them, and what is written.

    segments(r"Since $x = 4$, \\[y = 2x.\\]")       # [(7, 12), (17, 23)]: "x = 4", "y = 2x."
    statements(cot)                                # Statement per relation chain, in order
    ProblemIndex.build(problem_text)               # numbers, variables, expressions written

A *statement* is one relation chain "a = b = c" of a segment: ``\\\\`` line breaks of an
``align`` continue a chain when the next line starts with "=", commas, semicolons,
``\\Rightarrow``/``\\implies``, "and" and the inequality signs separate chains, and
``\\boxed{}`` keeps its content. Each piece is read by ``mycelium.dag.latex`` (nothing is
executed); a piece it does not read is dropped from its chain (the chain's pieces are
equal, so the others still are).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

import sympy

from mycelium.dag.latex import Tex, TexError, parse_tex, split_relations, tokenize
from mycelium.dag.latex_sympy import to_sympy
from mycelium.dag.steps import Arg
from mycelium.labels.args import alternatives, extract_numbers, implicit_operands

_OPEN = re.compile(r"\$\$|\$|\\\[|\\\(|\\begin\{(align\*?|aligned|equation\*?|eqnarray\*?|gather\*?|multline\*?)\}")
_CLOSE = {"$$": "$$", "$": "$", "\\[": "\\]", "\\(": "\\)"}
_ASY = re.compile(r"\[asy\].*?\[/asy\]", re.S)
_CHOICES = re.compile(r"\\text(?:bf|rm)\{\s*\(A\)\s*\}|\\mathrm\{\s*\(A\)\s*\}|\(A\)\s*\$?\s*[-\d\\]")
_ASY_LABEL = re.compile(r'label\s*\(\s*"([^"]*)"')
# separators of statements inside a segment (top level only; see _cut)
_SEP = re.compile(r"\\(?:Rightarrow|Longrightarrow|implies|iff|Leftrightarrow|quad|qquad|text\{\s*(?:and|or|so|thus|,)\s*\}"
                  r"|le|ge|leq|geq|lt|gt|neq|ne|approx|cdots|ldots|dots)(?![A-Za-z])|[<>;]|\\\\\\\\(?!\s*&?\s*=)")


def segments(text: str) -> list[tuple[int, int]]:
    """Char spans of the math content of ``text`` ($..$, $$..$$, \\[..\\], \\(..\\),
    align/equation environments), delimiters excluded, ``[asy]`` pictures skipped, ``\\$``
    (a dollar sign) not a delimiter."""
    out = []
    blank = _ASY.sub(lambda m: " " * len(m.group()), text)
    i = 0
    while (m := _OPEN.search(blank, i)) is not None:
        if m.start() > 0 and blank[m.start() - 1] == "\\" and m.group().startswith("$"):
            i = m.end()
            continue
        closer = _CLOSE.get(m.group()) or f"\\end{{{m.group(1)}}}"
        j = m.end()
        while True:
            k = blank.find(closer, j)
            if k < 0 or closer != "$" or blank[k - 1] != "\\":
                break
            j = k + 1
        if k < 0:
            break
        out.append((m.end(), k))
        i = k + len(closer)
    return out


def formula_spans(text: str) -> list[tuple[int, int]]:
    """Char spans of the formulas of ``text`` with their delimiters ("$x^2$", "\\[..\\]",
    an align environment): ``segments`` widened over the delimiters around each."""
    out = []
    for a, b in segments(text):
        opener = next((d for d in ("$$", "$", "\\[", "\\(") if text.endswith(d, 0, a)), None)
        begin = None if opener else _BEGIN.search(text[:a])  # "\\begin{align*}" ends right at a
        start = a - len(opener) if opener else begin.start() if begin is not None else a
        closer = next((d for d in ("$$", "$", "\\]", "\\)") if text.startswith(d, b)), None)
        end = None if closer else _END.match(text, b)
        out.append((start, b + len(closer) if closer else end.end() if end is not None else b))
    return out


_BEGIN = re.compile(r"\\begin\{[a-z]+\*?\}$")
_END = re.compile(r"\\end\{[a-z]+\*?\}")


@dataclass
class Piece:
    """One side of a relation chain: its tree, sympy value and char span in the text."""

    tree: Tex
    value: sympy.Basic
    span: tuple[int, int]


@dataclass
class Statement:
    """A relation chain: its pieces (equal to each other), the span of the whole chain."""

    pieces: list[Piece]
    span: tuple[int, int]
    text: str


def _cut(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """Top-level pieces of segment text[a:b] between statement separators and commas."""
    s = text[a:b]
    cuts, depth = [], 0
    seps = {m.start(): m.end() for m in _SEP.finditer(s)}
    i = 0
    while i < len(s):
        c = s[i]
        if i in seps and depth == 0:
            cuts.append((i, seps[i]))
            i = seps[i]
            continue
        if c in "{([":
            depth += 1
        elif c in "})]":
            depth = max(depth - 1, 0)
        elif c == "," and depth == 0 and not re.match(r",\\!|,\d{3}(?!\d)", s[i:i + 5]):
            cuts.append((i, i + 1))
        i += 1
    out, start = [], 0
    for c0, c1 in cuts:
        out.append((a + start, a + c0))
        start = c1
    out.append((a + start, b))
    return [(x, y) for x, y in out if text[x:y].strip()]


_TRAILING = re.compile(r"[\s.,;:]+$")


def read_piece(text: str, a: int, b: int) -> Piece | None:
    """The piece text[a:b] read by ``mycelium.dag.latex`` (which skips ``\\boxed`` and
    ``&``); None when it does not read or is itself an equation."""
    while a < b and text[a].isspace():
        a += 1
    m = _TRAILING.search(text[a:b])
    if m:
        b = a + m.start()
    if a >= b:
        return None
    try:
        tree = parse_tex(text[a:b])
        value = to_sympy(tree)
    except (TexError, RecursionError, TypeError, ValueError, ZeroDivisionError):
        return None
    if tree.kind == "eq":
        return None
    return Piece(_offset(tree, a), value, (a, b))


def _offset(tree: Tex, a: int) -> Tex:
    """``tree`` with its spans moved by ``a`` (from the piece into the whole text)."""
    return Tex(tree.kind, tuple(_offset(c, a) if c is not None else None for c in tree.args),
               (a + tree.span[0], a + tree.span[1]), tree.value, tree.name, tree.text)


def statements(text: str) -> list[Statement]:
    """Every relation chain in the math of ``text``, in text order (pieces that do not
    read are dropped; a chain with no piece left is dropped)."""
    out = []
    for a, b in segments(text):
        for c, d in _cut(text, a, b):
            pieces = [p for x, y in split_relations(text[c:d]) if (p := read_piece(text, c + x, c + y)) is not None]
            if pieces:
                out.append(Statement(pieces, (c, d), text[c:d]))
    return out


@dataclass
class Written:
    """A number written in the problem: value, span, text, whether inside math."""

    value: Fraction
    span: tuple[int, int]
    text: str
    in_math: bool
    exponent: bool = False  # written as an exponent ("x^4"): notation, it grounds only an exponent


@dataclass
class ProblemIndex:
    """What a MATH problem text writes: numbers (math and prose, words included), variables
    (first span of each symbol) and expressions/equations (each piece and chain)."""

    text: str
    numbers: list[Written] = field(default_factory=list)
    variables: dict[str, tuple[int, int]] = field(default_factory=dict)
    expressions: list[Piece] = field(default_factory=list)
    equations: list[tuple[sympy.Eq, tuple[int, int]]] = field(default_factory=list)
    implicit: list[tuple[Fraction, Arg]] = field(default_factory=list)  # (value, the word's arg): "half" -> 2, 1/2

    @classmethod
    def build(cls, text: str) -> "ProblemIndex":
        idx = cls(text)
        math_chars = segments(text)
        for a, b in math_chars:  # numbers and names from the tokens: a piece sympy refuses still writes them
            _written(text, a, b, idx)
        for st in statements(text):
            for p in st.pieces:
                idx.expressions.append(p)
            for p, q in zip(st.pieces, st.pieces[1:]):
                idx.equations.append((sympy.Eq(p.value, q.value, evaluate=False), (p.span[0], q.span[1])))
        blank = _ASY.sub(lambda m: " " * len(m.group()), text)
        for a, b in reversed(math_chars):
            blank = blank[:a] + " " * (b - a) + blank[b:]
        for n in extract_numbers(blank):
            idx.numbers.append(Written(Fraction(n.value), n.span, n.text, False))
        for m in _ASY.finditer(text):  # a picture's labels are data ("label("10", (3,5), W)"); its coordinates not
            for lab in _ASY_LABEL.finditer(text, m.start(), m.end()):
                for d in _DIGITS.finditer(text, lab.start(1), lab.end(1)):
                    idx.numbers.append(Written(Fraction(d.group()), d.span(), d.group(), False))
        for arg in implicit_operands(blank):
            for v in [Fraction(arg.value)] + alternatives(arg):
                idx.implicit.append((v, arg))
        choices = _CHOICES.search(text)  # "(A) 4 (B) \\sqrt{17} ...": the answer options are not data
        if choices is not None:
            idx.numbers = [w for w in idx.numbers if w.span[0] < choices.start()]
            idx.expressions = [p for p in idx.expressions if p.span[0] < choices.start()]
            idx.equations = [e for e in idx.equations if e[1][0] < choices.start()]
        idx.numbers.sort(key=lambda w: w.span)
        return idx


_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def _written(text: str, a: int, b: int, idx: ProblemIndex) -> None:
    """Numbers (a leading unary minus kept) and single-letter names of math segment text[a:b]."""
    try:
        tokens = tokenize(text[a:b])
    except TexError:  # unreadable math still writes its digits
        for m in _DIGITS.finditer(text, a, b):
            idx.numbers.append(Written(Fraction(m.group()), m.span(), m.group(), True))
        return
    for k, t in enumerate(tokens):
        span = (a + t.span[0], a + t.span[1])
        if t.kind == "NUM":
            value = Fraction(t.text.replace(",\\!", "").replace("{,}", "").replace(",", ""))
            prev = tokens[k - 1] if k else None
            before = tokens[k - 2] if k > 1 else None
            if prev is not None and prev.text == "-" and (before is None or before.kind in ("LP", "LB", "EQ", "COMMA", "LBRACE")):
                idx.numbers.append(Written(-value, (a + prev.span[0], span[1]), text[a + prev.span[0]:span[1]], True))
            idx.numbers.append(Written(value, span, t.text, True, exponent=prev is not None and prev.kind == "POW"))
        elif t.kind == "SYM":
            idx.variables.setdefault(t.text, span)
