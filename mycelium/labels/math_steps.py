"""MATH solutions as steps: the statements of a solution's math, executed as a symbolic DAG.

``math_steps(problem, cot)`` walks the relation chains of the CoT's math in order
(``mycelium.labels.math_text.statements``) and keeps what each one computes:

1. **Solve** "x = 3/4" (a name set to a value) when an equation met before (in the problem
   or the CoT) has x as its only unknown once the names known so far are substituted, and
   solves to that value: SUBS steps for the known names, then SOLVE(equation, x).
2. **Evaluate** the first piece of a chain whose names are all known ("\\frac{32}{2} = 16",
   "\\sqrt{10^2 - 8^2} = 6", "\\frac{c}{b}" once b and c are): one numeric op node per
   operator of that piece (ADD, MUL, POW, BINOM, FACT, GCD, FLOOR, ...; as GSM8K's
   arithmetic), a known name read as the step or literal that set it. A chain "name = ..."
   names the result.
3. **Bind** "x = a + 7" (a name set to an expression of unknowns) to that expression as the
   problem writes it.
4. **Transform** a chain of equal expressions with unknowns ("(x+1)(x+2) = x^2+3x+2"): its
   first piece, from the problem or an earlier step, with the known names substituted
   (SUBS) and then EXPAND, FACTOR or SIMPLIFY as the last piece shows.
5. **Equations** ("2x = 3/2", "1 - 4k = 9") are remembered for 1, each with the operand it
   is: the problem's own equation when equivalent (same solutions), an earlier equation
   with known names substituted (SUBS steps), else the CoT's own equation built from its
   sides' ops (numbers grounded as in 2, unknown names as variables) and EQ; an equation
   whose sides the language does not read stays the CoT's text (ungrounded).

Grounding of a literal (a number in a piece): the same number written in the problem (an
unused occurrence first, math before prose; a picture's labels count, its coordinates do
not), else an earlier step's value, else a word that implies it ("half", "%", "dozen":
``mycelium.labels.args.implicit_operands``), else (when allowed)
a constant of the notation or of a formula (pi; 2 and 3 as exponents and root indices;
``FORMULA_CONSTANTS`` 1 and 2), else
it stays ungrounded (no span): the problem is then rejected, as GSM8K's ungrounded operands.
A negative literal whose magnitude is written is NEG of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

import sympy

from mycelium.dag.graph import format_value
from mycelium.dag.latex import GREEK, Tex
from mycelium.dag.latex import to_sympy as tex_to_sympy
from mycelium.dag.ops import ExecutionError
from mycelium.dag.steps import Arg, Step
from mycelium.dag.symbolic import Value, apply_any, deadline, is_rational, parse_symbolic, to_sympy, values_equal
from mycelium.labels.math_text import Piece, ProblemIndex, Statement, statements

_OPS = {"add": "ADD", "sub": "SUB", "mul": "MUL", "div": "DIV", "pow": "POW", "sqrt": "SQRT", "root": "ROOT",
        "mod": "MOD", "neg": "NEG", "fact": "FACT", "binom": "BINOM", "gcd": "GCD", "lcm": "LCM",
        "floor": "FLOOR", "ceil": "CEIL", "abs": "ABS", "tuple": "TUPLE"}
FUNCTION_NAMES = ("f", "g", "h", "p", "q")  # letters MATH defines functions with: "f(x) = x^3 + 3"
EXPONENT_CONSTANTS = (Fraction(2), Fraction(3))  # "x^2", "\\sqrt[3]{..}": the notation's, not data
# numbers a formula brings that the problem need not write: 1 ("n - 1", "\\frac{1}{2}bh"), 2 (a
# half, an average of two, a square)
FORMULA_CONSTANTS = (Fraction(1), Fraction(2), Fraction(1, 2))


@dataclass
class MathStep:
    """A step found in the CoT and where: ``pos`` the char position of its statement."""

    step: Step
    pos: int
    ungrounded: bool


@dataclass
class _State:
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


class _Skip(Exception):
    """This piece is not for this rule (an unknown name, an unsupported node)."""


def _name(t: Tex) -> str | None:
    """A chain's first piece that names a quantity: "x", "a_1", "AE" (letters only)."""
    if t.kind == "sym":
        return t.name
    if t.kind == "mul" and all(c.kind == "sym" and len(c.name) == 1 for c in t.args) and len(t.args) <= 3:
        return "".join(c.name for c in t.args)
    return None


def _value_of(s: _State, arg: Arg) -> Value:
    if arg.kind == "result":
        return s.values[arg.step]
    if arg.kind in ("expr", "constant"):
        return parse_symbolic(arg.value)
    return Fraction(arg.value)


_NAME = re.compile(r"[A-Za-z](?:_\w+)?|\\[a-z]+|(?:[A-Z] )+[A-Z]")


def is_name(arg: Arg) -> bool:
    """An expr arg that is only a variable's name ("x", "a_1", "AE"): it carries no data, so
    it is grounded wherever the problem or the CoT names it."""
    return arg.kind == "expr" and bool(_NAME.fullmatch(arg.value))


def _add(s: _State, op: str, args: list[Arg], pos: int, expr: str) -> Arg:
    """Execute op on the args' values, append the step, return a result arg for it."""
    value = apply_any(op, [_value_of(s, a) for a in args])
    k = len(s.steps)
    ungrounded = any(a.kind not in ("result", "constant") and a.span is None and not is_name(a) for a in args) \
        or all(a.kind == "constant" for a in args)  # no data: "2 \\cdot 2 \\cdot 2" of nothing written
    s.steps.append(MathStep(Step(k, op, args, None, expr=expr), pos, ungrounded))
    s.values.append(value)
    return Arg("result", format_value(value), step=k)


def _ground_number(s: _State, value: Fraction, text: str, pos: int, expr: str, exponent: bool = False,
                   avoid: frozenset = frozenset()) -> Arg:
    written = sorted((w for w in s.problem.numbers if w.value == value),
                     key=lambda w: (w.span in s.used, not w.in_math, w.span))
    if written:  # the problem writes it: data, even when a step happens to have the same value
        w = written[0]
        s.used.add(w.span)
        return Arg("number", format_value(value), text=w.text, span=w.span)
    if s.constants and value == 1:  # the unit of "n - 1", "\\frac{1}{6}": a constant, not a step that made 1
        return Arg("constant", "1", text=text)
    same = [k for k in range(len(s.values) - 1, -1, -1) if is_rational(s.values[k]) and Fraction(s.values[k]) == value]
    fresh = [k for k in same if k not in avoid]
    if fresh:  # an earlier step's value: the CoT reuses it
        return Arg("result", format_value(value), step=fresh[0])
    if same and s.prose and (found := _recover(s, value, pos)) is not None:
        return found  # "16 + 8 + 8": the second 8 another sentence made
    if same:
        return Arg("result", format_value(value), step=same[0])
    implied = [arg for v, arg in s.problem.implicit if v == value and arg.span not in s.used]
    if implied:  # a word that implies it ("half", "dozen", "%"), as GSM8K's implicit operands
        s.used.add(implied[0].span)
        return Arg("implicit", format_value(value), text=implied[0].text, span=implied[0].span)
    if value < 0 and any(w.value == -value for w in s.problem.numbers):
        inner = _ground_number(s, -value, text.lstrip("-"), pos, expr)
        return _add(s, "NEG", [inner], pos, expr)
    if s.constants and (exponent and value in EXPONENT_CONSTANTS or value in FORMULA_CONSTANTS):
        return Arg("constant", format_value(value), text=text)
    if s.prose and (found := _recover(s, value, pos)) is not None:
        return found
    return Arg("number", format_value(value), text=text)  # ungrounded: no span


_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=[A-Z$\\])|\n\s*\n")
_PROSE_NUMBER = re.compile(r"(?<![\w.^_{])\d+(?:\.\d+)?(?![\w}])")


def _sentences(cot: str) -> list[tuple[int, int]]:
    cuts = [0] + [m.end() for m in _SENTENCE.finditer(cot)] + [len(cot)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _strict(s: _State, value: Fraction) -> Arg | None:
    """``value`` as a problem number (unused first) or an earlier step's value; no fallbacks."""
    written = sorted((w for w in s.problem.numbers if w.value == value), key=lambda w: (w.span in s.used, not w.in_math, w.span))
    if written:
        w = written[0]
        return Arg("number", format_value(value), text=w.text, span=w.span)
    for k in range(len(s.values) - 1, -1, -1):
        if is_rational(s.values[k]) and Fraction(s.values[k]) == value:
            return Arg("result", format_value(value), step=k)
    return None


def _recover(s: _State, value: Fraction, pos: int) -> Arg | None:
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
        found = set()
        for i in range(len(others)):
            for j in range(i + 1, len(others)):
                x, y = others[i][0], others[j][0]
                for op, r in (("ADD", x + y), ("SUB", x - y), ("MUL", x * y), ("DIV", x / y if y else None)):
                    if r == value:
                        found.add((op, x, y))
        if not found:
            continue
        if len(found) != 1:
            return None
        op, x, y = next(iter(found))
        args = []
        for v in (x, y):
            arg = _strict(s, v)
            if arg is None:
                return None
            if arg.span is not None:
                s.used.add(arg.span)
            args.append(arg)
        s.recovered.add((a, b))
        return _add(s, op, args, a, s.cot[a:b].strip())
    return None


def _call(s: _State, t: Tex) -> Tex | None:
    """The argument of "f(3)" (read as f times 3) when f is a function defined so far."""
    if t.kind == "mul" and len(t.args) == 2 and t.args[0].kind == "sym" and t.args[0].name in s.functions:
        return t.args[1]
    return None


def _computable(s: _State, t: Tex, unknowns: bool = False) -> bool:
    """Can ``t`` be evaluated (its names all known; with ``unknowns``, unknown names stay
    symbols: an equation's sides)?"""
    if (inner := _call(s, t)) is not None:
        return _computable(s, inner, unknowns)
    if t.kind == "num" or t.kind == "const":
        return True
    if t.kind == "sym":
        return unknowns or t.name in s.bind
    if t.kind not in _OPS:
        return False
    return all(_computable(s, c, unknowns) for c in t.args if c is not None)


def _decompose(s: _State, t: Tex, pos: int, expr: str, exponent: bool = False) -> Arg:
    """Op nodes for tree ``t`` (post-order), returning the arg that stands for its value; an
    unknown name is a variable arg."""
    if t.kind == "num":
        return _ground_number(s, t.value, t.text, pos, expr, exponent)
    if t.kind == "const":
        return Arg("constant", "\\pi", text=t.text)
    if t.kind == "sym":
        return s.bind[t.name] if t.name in s.bind else _var_arg(s, t.name)
    if (inner := _call(s, t)) is not None:  # f(3): the definition of f with its variable set to 3
        var, definition = s.functions[t.args[0].name]
        key = f"{t.args[0].name}({sympy.srepr(_subs_value(s, tex_to_sympy(inner), list(s.bind)))})"
        if key not in s.evaluated:  # "f(-2) = -5, so g(f(-2))": f(-2) once
            s.evaluated[key] = _add(s, "SUBS", [definition, _var_arg(s, var), _decompose(s, inner, pos, expr)], pos, expr)
        return s.evaluated[key]
    if t.kind == "div" and all(c.kind == "num" for c in t.args) and s.constants \
            and Fraction(t.args[0].value, t.args[1].value) in FORMULA_CONSTANTS \
            and not any(w.value in (t.args[0].value, t.args[1].value) for w in s.problem.numbers):
        return Arg("constant", "1/2", text=f"\\frac{{{t.args[0].text}}}{{{t.args[1].text}}}")  # "\\frac{1}{2}bh"
    args: list[Arg] = []
    for i, c in enumerate(c for c in t.args if c is not None):
        if c.kind == "num":  # siblings read different steps where the CoT made several of one value
            taken = frozenset(a.step for a in args if a.kind == "result")
            args.append(_ground_number(s, c.value, c.text, pos, expr, t.kind in ("pow", "root") and i == 1, taken))
        else:
            args.append(_decompose(s, c, pos, expr))
    return _add(s, _OPS[t.kind], args, pos, expr)


def _var_arg(s: _State, name: str) -> Arg:
    span = s.problem.variables.get(name)
    if name in GREEK:
        return Arg("expr", "\\" + name, text=name, span=span)
    return Arg("expr", name if len(name) == 1 or "_" in name else " ".join(name), text=name, span=span)


def _problem_expression(s: _State, value: sympy.Basic) -> Arg | None:
    """The problem's own writing of an expression equal to ``value``, as an expr arg."""
    for p in s.problem.expressions:
        if p.value.free_symbols and _same(p.value, value):
            return Arg("expr", s.problem.text[p.span[0]:p.span[1]], text=s.problem.text[p.span[0]:p.span[1]], span=p.span)
    return None


def _same(a: sympy.Basic, b: sympy.Basic) -> bool:
    try:
        with deadline(1.0):
            return a == b or (isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr) and sympy.expand(a - b) == 0)
    except (ExecutionError, TypeError, ValueError, AttributeError, RecursionError):
        return False


def _solutions(eq: sympy.Basic, var: sympy.Symbol) -> set | None:
    try:
        with deadline(1.0):
            expr = eq.lhs - eq.rhs if isinstance(eq, sympy.Equality) else eq
            return {x for x in sympy.solve(expr, var) if not x.has(sympy.I)}
    except (ExecutionError, TypeError, ValueError, NotImplementedError, AttributeError, RecursionError):
        return None


def _equivalent(a: sympy.Basic, b: sympy.Basic) -> bool:
    """Two equations with the same unknowns and (one unknown) the same solutions, or (several)
    proportional sides."""
    fa, fb = a.free_symbols, b.free_symbols
    if fa != fb or not fa:
        return False
    if len(fa) == 1:
        v = next(iter(fa))
        sa, sb = _solutions(a, v), _solutions(b, v)
        return sa is not None and sa == sb and bool(sa)
    try:
        with deadline(1.0):
            ratio = sympy.simplify((a.lhs - a.rhs) / (b.lhs - b.rhs))
            return ratio.is_number and ratio != 0
    except (ExecutionError, TypeError, ValueError, ZeroDivisionError, AttributeError, RecursionError):
        return False


def _substituted(s: _State, base: Arg, value: sympy.Basic, names: list[str], pos: int, expr: str) -> Arg:
    """SUBS steps replacing each known name in ``value`` (whose arg is ``base``)."""
    cur = base
    for n in names:
        cur = _add(s, "SUBS", [cur, _var_arg(s, n), s.bind[n]], pos, expr)
    return cur


def _known(s: _State, value: sympy.Basic) -> list[str]:
    return sorted(str(x) for x in value.free_symbols if str(x) in s.bind)


def _subs_value(s: _State, value: sympy.Basic, names: list[str]) -> sympy.Basic:
    names = [n for n in names if sympy.Symbol(n) in value.free_symbols]
    return value.subs({sympy.Symbol(n): to_sympy(_value_of(s, s.bind[n])) for n in names}) if names else value


def _grounded(arg: Arg) -> bool:
    return arg.kind == "result" or arg.span is not None


def _try_solve(s: _State, name: str, target: Value, pos: int, expr: str) -> Arg | None:
    """SOLVE for ``name`` from one equation met so far (grounded ones first, latest first),
    or from a system of two, whose only unknown (unknowns) once the known names are
    substituted is ``name`` (``name`` and one other), when it gives ``target``."""
    var = sympy.Symbol(name)
    order = [e for e in reversed(s.equations) if _grounded(e[1])] + [e for e in reversed(s.equations) if not _grounded(e[1])]
    candidates = [e for e in order if var in e[0].free_symbols]
    for eq, arg in candidates:
        known = _known(s, eq)
        if set(str(x) for x in eq.free_symbols) - set(known) != {name}:
            continue
        sols = _solutions(_subs_value(s, eq, known), var)
        if not sols or len(sols) != 1 or not values_equal(next(iter(sols)), target):
            continue
        cur = _substituted(s, arg, eq, known, pos, expr)
        return _add(s, "SOLVE", [cur, _var_arg(s, name)], pos, expr)
    for i, (e1, a1) in enumerate(candidates):  # a system of two equations in two unknowns
        for e2, a2 in order:
            if e2 is e1 or (e1, a1) in [(x, y) for x, y in order[:0]]:
                continue
            k1, k2 = _known(s, e1), _known(s, e2)
            unknowns = {str(x) for x in e1.free_symbols | e2.free_symbols} - set(k1) - set(k2)
            if len(unknowns) != 2 or name not in unknowns:
                continue
            x1, x2 = _subs_value(s, e1, k1), _subs_value(s, e2, k2)
            value = _system(x1, x2, var, [sympy.Symbol(u) for u in sorted(unknowns)])
            if value is None or not values_equal(value, target):
                continue
            c1 = _substituted(s, a1, e1, k1, pos, expr)
            c2 = _substituted(s, a2, e2, k2, pos, expr)
            return _add(s, "SOLVE", [c1, c2, _var_arg(s, name)], pos, expr)
    return None


def _system(e1: sympy.Basic, e2: sympy.Basic, var: sympy.Symbol, unknowns: list) -> sympy.Basic | None:
    """The unique real value of ``var`` in the solutions of the system, or None."""
    try:
        with deadline(1.0):
            z = [e.lhs - e.rhs if isinstance(e, sympy.Equality) else e for e in (e1, e2)]
            sols = sympy.solve(z, unknowns, dict=True)
            values = {d[var] for d in sols if var in d and not d[var].has(sympy.I) and not d[var].free_symbols}
            return next(iter(values)) if len(values) == 1 else None
    except (ExecutionError, TypeError, ValueError, NotImplementedError, AttributeError, RecursionError):
        return None


def _register_equation(s: _State, eq: sympy.Basic, text: str, pos: int, sides: tuple[Piece, Piece] | None = None) -> None:
    for peq, span in s.problem.equations:
        if _equivalent(peq, eq):
            s.equations.append((peq, Arg("expr", s.problem.text[span[0]:span[1]], text=s.problem.text[span[0]:span[1]], span=span)))
            return
    for keq, karg in reversed(s.equations):
        known = [n for n in _known(s, keq) if sympy.Symbol(n) not in eq.free_symbols]
        if known and _equivalent(_subs_value(s, keq, known), eq):
            s.equations.append((eq, _substituted(s, karg, keq, known, pos, text)))
            return
        if not known and _equivalent(keq, eq):
            return  # a rewriting of one already known
    if sides is not None and all(_computable(s, p.tree, unknowns=True) for p in sides):
        # the CoT's own equation from the problem's numbers ("x + (8 - x) + (15 - x) + 2 = 20"):
        # its sides' ops, then EQ
        lhs, rhs = (_decompose(s, p.tree, pos, text) for p in sides)
        s.equations.append((eq, _add(s, "EQ", [lhs, rhs], pos, text)))
        return
    s.equations.append((eq, Arg("expr", text, text=text)))  # the CoT's own equation: ungrounded


def _transform(s: _State, first: Piece, last: Piece, pos: int, expr: str) -> Arg | None:
    """SUBS of the known names in ``first`` then EXPAND/FACTOR/SIMPLIFY to ``last``."""
    base = _problem_expression(s, first.value)
    if base is None:
        for k in range(len(s.values) - 1, -1, -1):
            v = s.values[k]
            if not is_rational(v) and isinstance(v, sympy.Expr) and _same(v, first.value):
                base = Arg("result", format_value(v), step=k)
                break
    if base is None:
        return None
    known = _known(s, first.value)
    cur = _substituted(s, base, first.value, known, pos, expr)
    now = s.values[cur.step] if cur.kind == "result" else first.value
    if _same(now, last.value) and (now == last.value or not isinstance(now, sympy.Expr) or not now.free_symbols):
        # the problem's expression as written, simplified (sympy's reading already is)
        return cur if cur.kind == "result" else _add(s, "SIMPLIFY", [cur], pos, expr)
    for op, fn in (("EXPAND", sympy.expand), ("FACTOR", sympy.factor)):
        try:
            with deadline(1.0):
                if fn(to_sympy(now)) == last.value:
                    return _add(s, op, [cur], pos, expr)
        except (ExecutionError, TypeError, ValueError, AttributeError, RecursionError):
            continue
    return _add(s, "SIMPLIFY", [cur], pos, expr)


def _definition(s: _State, pieces: list[Piece], text: str, source: str) -> bool:
    """Remember "f(x) = x^3 + 3" (a function of one variable): the expression as an arg
    grounded where it is written (``source`` "problem": the problem text; else the CoT's,
    ungrounded unless the problem writes it too)."""
    t = pieces[0].tree
    if len(pieces) != 2 or t.kind != "mul" or len(t.args) != 2 or t.args[0].kind != "sym" \
            or t.args[0].name not in FUNCTION_NAMES or t.args[1].kind != "sym":
        return False
    body = pieces[1]
    if source == "problem":
        written = text[body.span[0]:body.span[1]]
        arg = Arg("expr", written, text=written, span=body.span)
    else:
        arg = _problem_expression(s, body.value) or Arg("expr", sympy.latex(body.value), text=sympy.latex(body.value))
    s.functions[t.args[0].name] = (t.args[1].name, arg)
    return True


def _statement(s: _State, st: Statement) -> None:
    pieces, pos, text = st.pieces, st.span[0], st.text
    if _definition(s, pieces, "", "cot"):
        return
    name = _name(pieces[0].tree) if len(pieces) >= 2 else None
    rest = pieces[1:] if name else pieces
    subbed = [_subs_value(s, p.value, _known(s, p.value)) for p in pieces]
    closed = [not v.free_symbols or _computable(s, p.tree) for v, p in zip(subbed[len(pieces) - len(rest):], rest)]
    if name and name not in s.bind and any(closed):  # rule 1: a value for an unknown an equation gives
        target = subbed[len(pieces) - len(rest) + max(i for i, c in enumerate(closed) if c)]
        arg = _try_solve(s, name, target, pos, text)
        if arg is not None:
            s.bind[name] = arg
            return
    if all(closed):  # no unknown left: evaluate
        ops = [p for p in rest if p.tree.kind in _OPS and _computable(s, p.tree)]
        if ops:  # rule 2: the first piece that computes something (once: a CoT repeats itself)
            key = re.sub(r"\s+", "", ops[0].tree and text[ops[0].span[0] - pos:ops[0].span[1] - pos])
            arg = s.evaluated.get(key) if not _known(s, ops[0].value) else None
            if arg is None:
                arg = s.evaluated[key] = _decompose(s, ops[0].tree, pos, text)
        else:  # rule 4 with known names: "x - a + 3 = (a+7) - a + 3 = 10" once x = a + 7
            with_names = [p for p in rest if p.value.free_symbols and p.tree.kind != "sym"]
            arg = _transform(s, with_names[0], rest[-1], pos, text) if with_names else None
            if arg is None and name and _computable(s, rest[-1].tree):
                leaf = _decompose(s, rest[-1].tree, pos, text)
                arg = leaf if leaf.kind == "result" or leaf.span is not None else None
        if name and arg is not None:
            s.bind[name] = arg
        return
    if name and name not in s.bind:  # rule 3: a name for an expression
        arg = _problem_expression(s, rest[0].value)
        if arg is not None:
            s.bind[name] = arg
            return
    if len(pieces) < 2:
        return
    first, last = pieces[0], pieces[-1]
    if _same(subbed[0], subbed[-1]) and first.tree.kind != "sym":  # rule 4: a chain of equal expressions
        arg = _transform(s, first, last, pos, text)
        if arg is not None and name:
            s.bind[name] = arg
        return
    if isinstance(first.value, sympy.Expr) and isinstance(last.value, sympy.Expr):  # rule 5
        _register_equation(s, sympy.Eq(first.value, last.value, evaluate=False), text, pos, (first, last))


def _new_state(problem: str, cot: str, constants: bool, prose: bool) -> _State:
    s = _State(ProblemIndex.build(problem), constants, cot=cot, prose=prose, sentences=_sentences(cot))
    for st in statements(problem):
        _definition(s, st.pieces, problem, "problem")
    for eq, span in s.problem.equations:  # the problem's own equations may be solved as written
        if eq.free_symbols:
            text = problem[span[0]:span[1]]
            s.equations.append((eq, Arg("expr", text, text=text, span=span)))
    return s


def _run(s: _State, st: Statement) -> None:
    """``_statement``, leaving nothing behind when the language does not execute it."""
    mark = (len(s.steps), dict(s.bind), len(s.equations), set(s.used), dict(s.evaluated))
    try:
        _statement(s, st)
    except (ExecutionError, _Skip, KeyError, TypeError, ValueError, AttributeError, RecursionError):
        del s.steps[mark[0]:], s.values[mark[0]:], s.equations[mark[2]:]
        s.bind, s.used, s.evaluated = mark[1], mark[3], mark[4]


def math_steps(problem: str, cot: str, constants: bool = True, prose: bool = True) -> tuple[list[MathStep], list[sympy.Basic]]:
    """The steps of a MATH solution (see the module doc), and the value of every chain the
    CoT states (for ``cot_executes``). ``constants``: ground exponents/root indices 2 and 3
    as notation constants and 1 and 2 as formula constants (``FORMULA_CONSTANTS``); ``prose``:
    recover a literal from arithmetic a CoT sentence states in words (``_recover``)."""
    s = _new_state(problem, cot, constants, prose)
    stated: list[sympy.Basic] = []
    for st in statements(cot):
        stated.append(st.pieces[-1].value)
        _run(s, st)
    return s.steps, stated


def problem_steps(problem: str, cot: str, gold: str, constants: bool = True) -> list[MathStep]:
    """Steps from the problem's own math, read as the CoT's is ("If $x = 2$ and $y = 5$, what
    is $\\frac{x^4+2y^2}{6}$?": the names bound, the expression evaluated), then, when no
    step gives ``gold``, SOLVE for a name of the question from the problem's equations
    ("Solve for $x$: $3^{2x} = \\sqrt{27}$"). The fallback for a CoT whose reasoning the
    language does not read; each step's ``pos`` is where the CoT states its answer
    (``\\boxed``), so the teacher's attention there gives it a region. Returns [] when
    ``gold`` does not read."""
    from mycelium.dag.graph import answer_equals

    s = _new_state(problem, "", constants, prose=False)
    for st in statements(problem):
        _run(s, st)
    if not any(answer_equals(v, gold) for v in s.values):
        try:
            target = parse_symbolic(gold)
        except ExecutionError:
            target = None
        names = sorted(s.problem.variables, key=lambda n: -s.problem.variables[n][0])  # the question's last
        for name in names if target is not None else ():
            if name in s.bind:
                continue
            try:
                if _try_solve(s, name, target, len(problem), "") is not None:
                    break
            except (ExecutionError, TypeError, ValueError, AttributeError, RecursionError):
                continue
    at = max(cot.rfind("\\boxed"), 0)
    for m in s.steps:
        m.pos = at
        m.step.expr = f"(problem) {m.step.expr}".strip()
    return s.steps
