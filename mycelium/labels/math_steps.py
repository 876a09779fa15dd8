"""MATH solutions as steps: the statements of a solution's math, executed as a symbolic DAG.

``math_steps(problem, cot)`` walks the relation chains of the CoT's math in order
(``mycelium.labels.math_text.statements``) and keeps what each one computes:

1. **Solve** "x = 3/4" (a name set to a value) when an equation met before (in the problem
   or the CoT) has x as its only unknown once the names known so far are substituted, and
   solves to that value: SUBS steps for the known names, then SOLVE(equation, x); when it
   has several real roots and the value is the largest or the smallest ("x = 4 or x = -1/2;
   x > 0"), MAX or MIN of SOLVE's set.
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

Function calls "f(-2)" of a function the problem (or the CoT) defines, "f(x) = x^3 + 3", are
SUBS of its definition. Literals are grounded by ``mycelium.labels.math_grounding``. When the
CoT's steps do not reach the answer grounded, ``problem_steps`` reads the problem's own math
the same way (the fallback the labels stage takes, ``labels.math_problem_steps``).
"""

from __future__ import annotations

import re

import sympy

from mycelium.dag.graph import format_value
from mycelium.dag.latex import Tex
from mycelium.dag.latex_sympy import to_sympy as tex_to_sympy
from mycelium.dag.ops import ExecutionError
from mycelium.dag.steps import Arg
from mycelium.dag.symbolic import Value, deadline, is_rational, parse_symbolic, to_sympy, values_equal
from mycelium.labels.math_grounding import (MathStep, State, add_step, ground_number, sentences,
                                           value_of, var_arg)
from mycelium.labels.math_text import Piece, ProblemIndex, Statement, statements

_OPS = {"add": "ADD", "sub": "SUB", "mul": "MUL", "div": "DIV", "pow": "POW", "sqrt": "SQRT", "root": "ROOT",
        "mod": "MOD", "neg": "NEG", "fact": "FACT", "binom": "BINOM", "gcd": "GCD", "lcm": "LCM",
        "floor": "FLOOR", "ceil": "CEIL", "abs": "ABS", "tuple": "TUPLE"}
_HALF = re.compile(r"\\[dt]?frac\s*\{?\s*1\s*\}?\s*\{?\s*2\s*\}?|(?<![\d.])1/2(?!\d)|\bhalf\b|\bhalves\b", re.I)
FUNCTION_NAMES = ("f", "g", "h", "p", "q")  # letters MATH defines functions with: "f(x) = x^3 + 3"
def _name(t: Tex) -> str | None:
    """A chain's first piece that names a quantity: "x", "a_1", "AE" (letters only)."""
    if t.kind == "sym":
        return t.name
    if t.kind == "mul" and all(c.kind == "sym" and len(c.name) == 1 for c in t.args) and len(t.args) <= 3:
        return "".join(c.name for c in t.args)
    return None


def _call(s: State, t: Tex) -> Tex | None:
    """The argument of "f(3)" (read as f times 3) when f is a function defined so far."""
    if t.kind == "mul" and len(t.args) == 2 and t.args[0].kind == "sym" and t.args[0].name in s.functions:
        return t.args[1]
    return None


def _computable(s: State, t: Tex, unknowns: bool = False) -> bool:
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


def _decompose(s: State, t: Tex, pos: int, expr: str, role: tuple[str, int] | None = None) -> Arg:
    """Op nodes for tree ``t`` (post-order), returning the arg that stands for its value; an
    unknown name is a variable arg."""
    if t.kind == "num":
        return ground_number(s, t.value, t.text, pos, expr, role)
    if t.kind == "const":
        return Arg("constant", "\\pi", text=t.text)
    if t.kind == "sym":
        return s.bind[t.name] if t.name in s.bind else var_arg(s, t.name)
    if (inner := _call(s, t)) is not None:  # f(3): the definition of f with its variable set to 3
        var, definition = s.functions[t.args[0].name]
        key = f"{t.args[0].name}({sympy.srepr(_subs_value(s, tex_to_sympy(inner), list(s.bind)))})"
        if key not in s.evaluated:  # "f(-2) = -5, so g(f(-2))": f(-2) once
            s.evaluated[key] = add_step(s, "SUBS", [definition, var_arg(s, var), _decompose(s, inner, pos, expr)], pos, expr)
        return s.evaluated[key]
    if t.kind == "div" and all(c.kind == "num" for c in t.args) and s.constants and role is not None \
            and role[0] == "mul" and (t.args[0].value, t.args[1].value) == (1, 2) \
            and not _HALF.search(s.problem.text):  # a factor 1/2 ("\\frac{1}{2}bh") the problem does not write
        return Arg("constant", "1/2", text=f"\\frac{{{t.args[0].text}}}{{{t.args[1].text}}}")  # "\\frac{1}{2}bh"
    args: list[Arg] = []
    for i, c in enumerate(c for c in t.args if c is not None):
        if c.kind == "num":  # siblings read different steps where the CoT made several of one value
            taken = frozenset(a.step for a in args if a.kind == "result")
            near = tuple(a.span for a in args if a.span is not None)
            args.append(ground_number(s, c.value, c.text, pos, expr, (t.kind, i), taken, near))
        else:
            args.append(_decompose(s, c, pos, expr, (t.kind, i)))
    return add_step(s, _OPS[t.kind], args, pos, expr)


def _problem_expression(s: State, value: sympy.Basic) -> Arg | None:
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


def _substituted(s: State, base: Arg, value: sympy.Basic, names: list[str], pos: int, expr: str) -> Arg:
    """SUBS steps replacing each known name in ``value`` (whose arg is ``base``)."""
    cur = base
    for n in names:
        cur = add_step(s, "SUBS", [cur, var_arg(s, n), s.bind[n]], pos, expr)
    return cur


def _known(s: State, value: sympy.Basic) -> list[str]:
    return sorted(str(x) for x in value.free_symbols if str(x) in s.bind)


def _subs_value(s: State, value: sympy.Basic, names: list[str]) -> sympy.Basic:
    names = [n for n in names if sympy.Symbol(n) in value.free_symbols]
    return value.subs({sympy.Symbol(n): to_sympy(value_of(s, s.bind[n])) for n in names}) if names else value


def _grounded(arg: Arg) -> bool:
    return arg.kind == "result" or arg.span is not None


def _try_solve(s: State, name: str, target: Value, pos: int, expr: str, pick: bool = True) -> Arg | None:
    """SOLVE for ``name`` from one equation met so far (grounded ones first, latest first),
    or from a system of two, whose only unknown (unknowns) once the known names are
    substituted is ``name`` (``name`` and one other), when it gives ``target``; with
    ``pick``, MAX/MIN of several roots when ``target`` is the largest/smallest. ``name``
    counts as unknown even when bound ("x = 6 and x = -2": both roots)."""
    var = sympy.Symbol(name)
    bound = s.bind.pop(name, None)
    try:
        return _solve_for(s, name, var, target, pos, expr, pick)
    finally:
        if bound is not None:
            s.bind.setdefault(name, bound)


def _solve_for(s: State, name: str, var: sympy.Symbol, target: Value, pos: int, expr: str, pick: bool) -> Arg | None:
    order = [e for e in reversed(s.equations) if _grounded(e[1])] + [e for e in reversed(s.equations) if not _grounded(e[1])]
    candidates = [e for e in order if var in e[0].free_symbols]
    for eq, arg in candidates:
        known = _known(s, eq)
        if set(str(x) for x in eq.free_symbols) - set(known) != {name}:
            continue
        sols = _solutions(_subs_value(s, eq, known), var)
        if not sols or not any(values_equal(x, target) for x in sols):
            continue
        extreme = None
        if len(sols) > 1:  # "x = 4 or x = -1/2 ... since x > 0, x = 4": the root the CoT keeps
            real = [x for x in sols if x.is_real]
            if not pick or len(real) != len(sols):
                continue
            extreme = "MAX" if values_equal(max(real), target) else "MIN" if values_equal(min(real), target) else None
            if extreme is None:
                continue
        cur = _substituted(s, arg, eq, known, pos, expr)
        solved = add_step(s, "SOLVE", [cur, var_arg(s, name)], pos, expr)
        return add_step(s, extreme, [solved], pos, expr) if extreme else solved
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
            return add_step(s, "SOLVE", [c1, c2, var_arg(s, name)], pos, expr)
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


def _register_equation(s: State, eq: sympy.Basic, text: str, pos: int, sides: tuple[Piece, Piece] | None = None) -> None:
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
        s.equations.append((eq, add_step(s, "EQ", [lhs, rhs], pos, text)))
        return
    s.equations.append((eq, Arg("expr", text, text=text)))  # the CoT's own equation: ungrounded


def _transform(s: State, first: Piece, last: Piece, pos: int, expr: str) -> Arg | None:
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
        return cur if cur.kind == "result" else add_step(s, "SIMPLIFY", [cur], pos, expr)
    for op, fn in (("EXPAND", sympy.expand), ("FACTOR", sympy.factor)):
        try:
            with deadline(1.0):
                if fn(to_sympy(now)) == last.value:
                    return add_step(s, op, [cur], pos, expr)
        except (ExecutionError, TypeError, ValueError, AttributeError, RecursionError):
            continue
    return add_step(s, "SIMPLIFY", [cur], pos, expr)


def _definition(s: State, pieces: list[Piece], text: str, source: str) -> bool:
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


def _statement(s: State, st: Statement) -> None:
    pieces, pos, text = st.pieces, st.span[0], st.text
    if _definition(s, pieces, "", "cot"):
        return
    name = _name(pieces[0].tree) if len(pieces) >= 2 else None
    rest = pieces[1:] if name else pieces
    subbed = [_subs_value(s, p.value, _known(s, p.value)) for p in pieces]
    closed = [not v.free_symbols or _computable(s, p.tree) for v, p in zip(subbed[len(pieces) - len(rest):], rest)]
    if name and any(closed):  # rule 1: a value for an unknown an equation gives
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


def _new_state(problem: str, cot: str, constants: bool, prose: bool, cot_numbers: bool = False) -> State:
    s = State(ProblemIndex.build(problem), constants, cot=cot, prose=prose, sentences=sentences(cot),
               cot_numbers=cot_numbers)
    for st in statements(problem):
        _definition(s, st.pieces, problem, "problem")
    for eq, span in s.problem.equations:  # the problem's own equations may be solved as written
        if eq.free_symbols:
            text = problem[span[0]:span[1]]
            s.equations.append((eq, Arg("expr", text, text=text, span=span)))
    return s


def _run(s: State, st: Statement) -> None:
    """``_statement``, leaving nothing behind when the language does not execute it."""
    mark = (len(s.steps), dict(s.bind), len(s.equations), set(s.used), dict(s.evaluated))
    try:
        _statement(s, st)
    except (ExecutionError, KeyError, TypeError, ValueError, AttributeError, RecursionError):
        del s.steps[mark[0]:], s.values[mark[0]:], s.equations[mark[2]:]
        s.bind, s.used, s.evaluated = mark[1], mark[3], mark[4]


def math_steps(problem: str, cot: str, constants: bool = True, prose: bool = True,
               cot_numbers: bool = False) -> tuple[list[MathStep], list[sympy.Basic]]:
    """The steps of a MATH solution (see the module doc), and the value of every chain the
    CoT states (for ``cot_executes``). ``constants``: a number a formula puts in its place
    may be a constant (``mycelium.labels.math_grounding.constant_fits``); ``prose``:
    recover a literal from arithmetic a CoT sentence states in words (``_recover``);
    ``cot_numbers``: the relaxed reading, where a number only the CoT writes is an operand of
    kind "cot" (an upper bound on what grounding loses; such labels break the grounding rule)."""
    s = _new_state(problem, cot, constants, prose, cot_numbers)
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
                if _try_solve(s, name, target, len(problem), "", pick=False) is not None:
                    break
            except (ExecutionError, TypeError, ValueError, AttributeError, RecursionError):
                continue
    at = max(cot.rfind("\\boxed"), 0)
    for m in s.steps:
        m.pos = at
        m.step.expr = f"(problem) {m.step.expr}".strip()
    return s.steps
