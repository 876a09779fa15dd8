"""A safe LaTeX math reader: text -> a small tree (``Tex``) -> sympy, with no ``eval``.

    parse_tex(r"\\frac{3}{4} + 2^{10}")        # Tex("add", ...)
    read_tex(r"\\binom{5}{2}")                   # Integer(10) (mycelium.dag.latex_sympy)

MATH solutions write algebra ("2x+3", "(x+7)^2-49", "\\lfloor x\\rfloor"), which
``mycelium.labels.expressions`` (numeric arithmetic only) does not read. This module reads
it through a whitelist: a tokenizer that knows digits, single letters, greek letters and a
fixed set of commands (``\\frac``, ``\\sqrt``, ``\\binom``, ``\\cdot``, ``\\pi``, ``\\lfloor``,
``\\gcd``, ``\\operatorname{lcm}``, ``\\text{...}`` units, spacing), and a Pratt parser over
them. Any other command (``\\input``, ``\\def``, ``\\infty``) fails with a reason code;
nothing is ever executed, and ``sympy.parsing`` is not used (its LaTeX path can run
arbitrary code and hang). sympy objects are made only by explicit constructors.

Grammar (loosest first): ``+ -`` (10); ``* / \\cdot \\times \\div \\bmod`` and juxtaposition
("2x", "2\\sqrt{3}", "(a)(b)") (20); unary minus (25); ``^`` right-assoc (40); postfix
``!`` and ``\\%`` (50). Groups: ``( )``, ``[ ]``, ``{ }``, ``\\left( \\right)``, ``|x|``,
``\\lfloor x \\rfloor``, ``\\lceil x \\rceil``; a parenthesised comma list is a tuple.
A top-level ``=`` makes an equation (``parse_tex`` of "x + 1 = 3"); chains "a = b = c" are
split by the caller (``split_relations``).

Limits (each failure is a ``TexError`` with a ``TexFailure`` code, raised in bounded time):
``MAX_CHARS`` input length, ``MAX_TOKENS``, ``MAX_DEPTH`` nesting; the tree's value
(``mycelium.dag.latex_sympy``) caps powers, factorials and binomials.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from fractions import Fraction

MAX_CHARS = 2000
MAX_TOKENS = 600
MAX_DEPTH = 60


class TexFailure(str, enum.Enum):
    """Why a LaTeX string was not read. A ``str`` enum so it serialises as its name."""

    TOO_LONG = "TOO_LONG"
    TOO_DEEP = "TOO_DEEP"
    UNSUPPORTED = "UNSUPPORTED"  # a command or character outside the whitelist
    UNBALANCED = "UNBALANCED"  # a bracket or brace without its partner
    SYNTAX = "SYNTAX"  # tokens in an order the grammar does not accept
    OVERFLOW = "OVERFLOW"  # a power, factorial or binomial above the caps
    EMPTY = "EMPTY"


class TexError(Exception):
    """A typed failure: ``reason`` (``TexFailure``) says which."""

    def __init__(self, reason: TexFailure, message: str = ""):
        super().__init__(f"{reason.value}: {message}" if message else reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Tex:
    """One node of a parsed expression.

    ``kind``: num (``value`` a Fraction), sym (``name``), const (``name`` "pi"), add, sub,
    mul, div, neg, pow, sqrt, root (args: radicand, index), fact, binom, gcd, lcm, floor,
    ceil, abs, mod, tuple, eq. ``span``: char span in the parsed string; ``text`` the
    literal as written (num, sym, const)."""

    kind: str
    args: tuple["Tex", ...] = ()
    span: tuple[int, int] = (0, 0)
    value: Fraction | None = None
    name: str = ""
    text: str = ""


GREEK = tuple("alpha beta gamma delta epsilon theta lambda mu nu rho sigma tau phi psi omega".split())
_SKIP = {"left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr", "displaystyle", "quad", "qquad",
         "limits", "nolimits", "circ", "$", ",", "!", ";", ":", " ", "boxed", "fbox"}
_SPACE = {"\\,", "\\!", "\\;", "\\:", "\\ ", "~"}
_TEXT_CMDS = {"text", "textbf", "mbox", "mathrm", "textnormal", "operatorname", "mathbf", "mathit"}
_CMD = {"frac": "FRAC", "dfrac": "FRAC", "tfrac": "FRAC", "sqrt": "SQRT", "binom": "BINOM", "dbinom": "BINOM",
        "tbinom": "BINOM", "cdot": "MULOP", "times": "MULOP", "div": "DIVOP", "pi": "PI", "lfloor": "LFLOOR",
        "rfloor": "RFLOOR", "lceil": "LCEIL", "rceil": "RCEIL", "gcd": "GCD", "bmod": "MODOP", "mod": "MODOP",
        "%": "PCT", "{": "LSET", "}": "RSET"}
_DEGREE = re.compile(r"\^\s*(?:\\circ|\{\s*\\circ\s*\})")
_NAMED = re.compile(r"\\(angle|overline|triangle|arc|widehat)\s*(?:\{\s*([A-Z]+)\s*\}|([A-Z]+))")
_NUMBER = re.compile(r"\d{1,3}(?:(?:,\\!|\{,\}),?\d{3})+(?:\.\d+)?|\d+\.\d+|\d+|\.\d+")


@dataclass(frozen=True)
class Token:
    kind: str  # NUM SYM PI OP(+-) MULOP DIVOP MODOP POW SUB FACT PCT LP RP LB RB LBRACE RBRACE BAR ...
    text: str
    span: tuple[int, int]


def _group_end(s: str, i: int) -> int:
    """Index after the brace group opening at s[i] == "{" (UNBALANCED if it never closes)."""
    depth = 0
    for j in range(i, len(s)):
        depth += {"{": 1, "}": -1}.get(s[j], 0)
        if depth == 0:
            return j + 1
    raise TexError(TexFailure.UNBALANCED, "unclosed {")


def tokenize(s: str) -> list[Token]:
    """Whitelist tokens of ``s``. Raises ``TexError`` (TOO_LONG, UNSUPPORTED, UNBALANCED)."""
    if len(s) > MAX_CHARS:
        raise TexError(TexFailure.TOO_LONG, f"{len(s)} chars > {MAX_CHARS}")
    out: list[Token] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace() or s[i:i + 2] in _SPACE or c == "&" or c == "$":
            i += 2 if s[i:i + 2] in _SPACE else 1
            continue
        if s.startswith("\\\\", i):  # a line break inside align
            i += 2
            continue
        if m := _NUMBER.match(s, i):
            out.append(Token("NUM", m.group(), m.span()))
            i = m.end()
            continue
        if c.isalpha():
            out.append(Token("SYM", c, (i, i + 1)))
            i += 1
            continue
        if m := _DEGREE.match(s, i):  # "180^\circ": the degree sign is a unit
            i = m.end()
            continue
        if m := _NAMED.match(s, i):  # "\angle ACB", "\overline{AB}": one name
            out.append(Token("SYM", f"{m.group(1)}_{m.group(2) or m.group(3)}", m.span()))
            i = m.end()
            continue
        if c == "\\":
            m = re.compile(r"\\([A-Za-z]+|.)").match(s, i)
            if m is None:
                raise TexError(TexFailure.UNSUPPORTED, "trailing backslash")
            name, end = m.group(1), m.end()
            if name in _TEXT_CMDS:  # \text{ cm}, \operatorname{lcm}: units vanish, lcm/gcd are functions
                j = end
                while j < n and s[j] == " ":
                    j += 1
                if j >= n or s[j] != "{":
                    raise TexError(TexFailure.SYNTAX, f"\\{name} without a group")
                close = _group_end(s, j)
                word = s[j + 1:close - 1].strip()
                if word in ("lcm", "gcd"):
                    out.append(Token(word.upper(), word, (i, close)))
                elif len(word) == 1 and word.isalpha() and name in ("mathrm", "mathbf", "mathit"):
                    out.append(Token("SYM", word, (i, close)))
                i = close
                continue
            if name in _SKIP:
                i = end
                continue
            if name in GREEK:
                out.append(Token("SYM", name, (i, end)))
            elif name in _CMD:
                out.append(Token(_CMD[name], m.group(), (i, end)))
            else:
                raise TexError(TexFailure.UNSUPPORTED, f"\\{name}")
            i = end
            continue
        kind = {"+": "OP", "-": "OP", "*": "MULOP", "/": "DIVOP", "^": "POW", "_": "SUB", "!": "FACT",
                "(": "LP", ")": "RP", "[": "LB", "]": "RB", "{": "LBRACE", "}": "RBRACE", "|": "BAR",
                "=": "EQ", ",": "COMMA", "%": "PCT"}.get(c)
        if kind is None:
            raise TexError(TexFailure.UNSUPPORTED, repr(c))
        out.append(Token(kind, c, (i, i + 1)))
        i += 1
    if len(out) > MAX_TOKENS:
        raise TexError(TexFailure.TOO_LONG, f"{len(out)} tokens > {MAX_TOKENS}")
    depth = 0
    for t in out:  # braces must balance (brackets may be half-open intervals: checked by the parser)
        depth += {"LBRACE": 1, "RBRACE": -1}.get(t.kind, 0)
        if depth < 0:
            raise TexError(TexFailure.UNBALANCED, "} without {")
    if depth:
        raise TexError(TexFailure.UNBALANCED, "{ without }")
    return out


_INFIX = {"OP": 10, "MULOP": 20, "DIVOP": 20, "MODOP": 20, "POW": 40, "FACT": 50, "PCT": 50}
_STARTS = {"NUM", "SYM", "PI", "LP", "LB", "LBRACE", "FRAC", "SQRT", "BINOM", "LFLOOR", "LCEIL", "GCD", "LCM", "BAR"}
_CLOSE = {"LP": "RP", "LB": "RB", "LBRACE": "RBRACE", "LFLOOR": "RFLOOR", "LCEIL": "RCEIL", "BAR": "BAR",
          "LSET": "RSET"}


class _Parser:
    def __init__(self, s: str, tokens: list[Token]):
        self.s, self.toks, self.i, self.depth = s, tokens, 0, 0

    def peek(self, k: int = 0) -> Token | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def take(self, kind: str | None = None) -> Token:
        t = self.peek()
        if t is None:
            raise TexError(TexFailure.UNBALANCED if kind in _CLOSE.values() else TexFailure.SYNTAX,
                           f"expected {kind or 'more'} at the end")
        if kind is not None and t.kind != kind:
            raise TexError(TexFailure.UNBALANCED if kind in _CLOSE.values() else TexFailure.SYNTAX,
                           f"expected {kind}, got {t.text!r}")
        self.i += 1
        return t

    def expr(self, rbp: int = 0, bar: bool = False) -> Tex:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TexError(TexFailure.TOO_DEEP, f"nesting > {MAX_DEPTH}")
        left = self.nud(self.take())
        while (t := self.peek()) is not None:
            if t.kind in _INFIX:
                bp = _INFIX[t.kind]
            elif t.kind in _STARTS and not (bar and t.kind == "BAR"):
                bp = 20  # juxtaposition: "2x", "(a)(b)", "2\sqrt{3}"
            else:
                break
            if bp <= rbp:
                break
            left = self.led(left, t, bp, bar)
        self.depth -= 1
        return left

    def arg(self) -> Tex:
        """A command's argument: a brace group or a single token ("\\frac12", "x^2")."""
        t = self.peek()
        if t is not None and t.kind == "LBRACE":
            self.take()
            e = self.expr()
            self.take("RBRACE")
            return e
        t = self.take()
        if t.kind == "NUM" and len(t.text) > 1 and t.text.isdigit():  # "\frac12": one digit each
            self.toks.insert(self.i, Token("NUM", t.text[1:], (t.span[0] + 1, t.span[1])))
            t = Token("NUM", t.text[0], (t.span[0], t.span[0] + 1))
        if t.kind in ("NUM", "SYM", "PI"):
            return self.nud(t)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TexError(TexFailure.TOO_DEEP, f"nesting > {MAX_DEPTH}")
        out = self.nud(t)
        self.depth -= 1
        return out

    def _num(self, t: Token) -> Tex:
        text = t.text.replace(",\\!", "").replace("{,}", "").replace(",", "")
        return Tex("num", span=t.span, value=Fraction(text), text=t.text)

    def nud(self, t: Token) -> Tex:
        k, sp = t.kind, t.span
        if k == "NUM":
            return self._num(t)
        if k == "SYM":
            name = t.text
            if (nx := self.peek()) is not None and nx.kind == "SUB":  # x_1, a_{12}
                self.take()
                sub = self.take()
                if sub.kind == "LBRACE":
                    inner = []
                    while (x := self.take()).kind != "RBRACE":
                        if x.kind not in ("NUM", "SYM"):
                            raise TexError(TexFailure.SYNTAX, "subscript")
                        inner.append(x.text)
                    sub_text = "".join(inner)
                elif sub.kind in ("NUM", "SYM"):
                    sub_text = sub.text
                else:
                    raise TexError(TexFailure.SYNTAX, "subscript")
                name = f"{name}_{sub_text}"
            return Tex("sym", span=sp, name=name, text=self.s[sp[0]:sp[1]])
        if k == "PI":
            return Tex("const", span=sp, name="pi", text=t.text)
        if k == "OP":
            operand = self.expr(25)
            if t.text == "+":
                return operand
            if operand.kind == "num":  # a minus before a literal is part of the literal
                return Tex("num", span=(sp[0], operand.span[1]), value=-operand.value, text="-" + operand.text)
            return Tex("neg", (operand,), (sp[0], operand.span[1]))
        if k in ("LP", "LB", "LBRACE", "LFLOOR", "LCEIL", "BAR", "LSET"):
            items = [self.expr(bar=k == "BAR")]
            while (nx := self.peek()) is not None and nx.kind == "COMMA" and k not in ("BAR",):
                self.take()
                items.append(self.expr())
            end = self.take(_CLOSE[k]) if k != "LP" or (self.peek() and self.peek().kind == "RP") else self.take("RP")
            span = (sp[0], end.span[1])
            if k == "LFLOOR":
                return Tex("floor", tuple(items[:1]), span)
            if k == "LCEIL":
                return Tex("ceil", tuple(items[:1]), span)
            if k == "BAR":
                return Tex("abs", tuple(items), span)
            if len(items) > 1 or k == "LSET":
                return Tex("tuple" if k != "LSET" else "set", tuple(items), span)
            return items[0]
        if k == "FRAC":
            a, b = self.arg(), self.arg()
            return Tex("div", (a, b), (sp[0], b.span[1]))
        if k == "BINOM":
            a, b = self.arg(), self.arg()
            return Tex("binom", (a, b), (sp[0], b.span[1]))
        if k == "SQRT":
            index = None
            if (nx := self.peek()) is not None and nx.kind == "LB":
                self.take()
                index = self.expr()
                self.take("RB")
            a = self.arg()
            return Tex("root", (a, index), (sp[0], a.span[1])) if index is not None else Tex("sqrt", (a,), (sp[0], a.span[1]))
        if k in ("GCD", "LCM"):
            g = self.nud(self.take())
            items = g.args if g.kind == "tuple" else (g,)
            return Tex(k.lower(), tuple(items), (sp[0], g.span[1]))
        raise TexError(TexFailure.SYNTAX, f"unexpected {t.text!r}")

    def led(self, left: Tex, t: Token, bp: int, bar: bool) -> Tex:
        k = t.kind
        if k not in _INFIX:  # juxtaposition: no token to take
            if left.kind == "num" and t.kind == "NUM":
                raise TexError(TexFailure.SYNTAX, "two numbers side by side")
            right = self.expr(bp, bar)
            if left.kind == "num" and right.kind == "div" and all(a.kind == "num" for a in right.args) \
                    and left.value.denominator == 1 and left.value >= 0:  # "2\frac{1}{2}": a mixed number
                return Tex("add", (left, right), (left.span[0], right.span[1]))
            return _flat("mul", left, right)
        self.take()
        if k == "FACT":
            return Tex("fact", (left,), (left.span[0], t.span[1]))
        if k == "PCT":
            hundred = Tex("num", span=t.span, value=Fraction(100), text="%")
            return Tex("div", (left, hundred), (left.span[0], t.span[1]))
        if k == "POW":
            right = self.arg() if self.peek() is not None and self.peek().kind != "LP" else self.expr(bp - 1)
            return Tex("pow", (left, right), (left.span[0], right.span[1]))
        right = self.expr(bp, bar)
        if k == "OP":
            return _flat("add", left, right) if t.text == "+" else Tex("sub", (left, right), (left.span[0], right.span[1]))
        if k == "MULOP":
            return _flat("mul", left, right)
        if k == "DIVOP":
            return Tex("div", (left, right), (left.span[0], right.span[1]))
        return Tex("mod", (left, right), (left.span[0], right.span[1]))


def _flat(kind: str, left: Tex, right: Tex) -> Tex:
    """n-ary ADD/MUL: "a+b+c" is one node (as mycelium.dag.ops's ADD)."""
    args = (left.args if left.kind == kind else (left,)) + (right,)
    return Tex(kind, args, (left.span[0], right.span[1]))


def split_relations(s: str) -> list[tuple[int, int]]:
    """Char spans of the pieces of a relation chain "a = b = c" (top level only: "=" inside
    braces or brackets does not split). Pieces may be empty."""
    depth, start, out = 0, 0, []
    for i, c in enumerate(s):
        depth += {"{": 1, "(": 1, "[": 1, "}": -1, ")": -1, "]": -1}.get(c, 0)
        if c == "=" and depth == 0:
            out.append((start, i))
            start = i + 1
    out.append((start, len(s)))
    return out


def parse_tex(s: str) -> Tex:
    """The tree of one LaTeX expression, or of an equation "lhs = rhs" (kind ``eq``).
    Raises ``TexError`` with a ``TexFailure`` on anything outside the grammar or the limits."""
    tokens = tokenize(s)
    if not tokens:
        raise TexError(TexFailure.EMPTY, "no tokens")
    eqs = [k for k, t in enumerate(tokens) if t.kind == "EQ"]
    if len(eqs) > 1:
        raise TexError(TexFailure.SYNTAX, "a chain: split it with split_relations first")
    if eqs:
        k = eqs[0]
        lhs, rhs = _parse_tokens(s, tokens[:k]), _parse_tokens(s, tokens[k + 1:])
        return Tex("eq", (lhs, rhs), (lhs.span[0], rhs.span[1]))
    return _parse_tokens(s, tokens)


def _parse_tokens(s: str, tokens: list[Token]) -> Tex:
    if not tokens:
        raise TexError(TexFailure.EMPTY, "empty side")
    p = _Parser(s, list(tokens))
    tree = p.expr()
    if p.peek() is not None:
        t = p.peek()
        raise TexError(TexFailure.UNBALANCED if t.kind in ("RP", "RB", "RBRACE", "RFLOOR", "RCEIL") else TexFailure.SYNTAX,
                       f"unexpected {t.text!r} at {t.span[0]}")
    return tree
