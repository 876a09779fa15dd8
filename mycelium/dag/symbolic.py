"""Symbolic ops: MATH's algebra steps, executed exactly with sympy.

==========  =====  ================================  ==========================================
name        arity  value                             why it is in the set
==========  =====  ================================  ==========================================
SOLVE       2..5   the solution for the variable     "2x = 3/2, so x = 3/4"; "x + y = 10,
                   (last operand) of the equation    x - y = 2": SOLVE(eq1, eq2, x) solves the
                   or system (the others); unique,   system for all its unknowns and keeps x.
                   else the set of solutions         Several roots: a FiniteSet
SUBS        3      a with variable b replaced by c   "plug x = 4 into 1 - kx = -3y"; an earlier
                                                     step's value for a named quantity
SIMPLIFY    1      sympy.simplify(a)                 "(a+7) - a + 3 = 10"
EXPAND      1      sympy.expand(a)                   "(x+1)(x+2) = x^2+3x+2"
FACTOR      1      sympy.factor(a)                   "x^2-1 = (x-1)(x+1)"
EQ          2      the equation a = b                "x + (8 - x) + (15 - x) + 2 = 20": an
                                                     equation the CoT writes from the problem's
                                                     numbers, its sides built by numeric ops
MAX         1..10  the largest real number (of the   "x = 4 or x = -1/2; since x > 0, x = 4":
                   operands, or of the members of    MAX(SOLVE(...)), the root a condition
                   one set operand)                  ("positive", "a >= b") keeps
MIN         1..10  the smallest, as MAX              "the smaller root", "a <= b"
TUPLE       2..10  the tuple (a, b, ...)             coordinates "(7, 2)", ordered-pair answers
==========  =====  ================================  ==========================================

Operands and results are ``Value``s: a ``Fraction`` (every rational, as the numeric ops'
values) or a sympy object (an expression with symbols, an irrational number such as
``63*pi`` or ``sqrt(63)``, an equation, a tuple or a set). A rational result always comes
back as a ``Fraction``, so a DAG that mixes numeric and symbolic nodes hands the numeric
ops the values they expect. The numeric ops (``mycelium.dag.ops``) also run here when an
operand is not rational (``apply_any``): MUL(63, pi) is 63*pi.

Safety: sympy's solve/simplify can run for minutes on adversarial input, so every op runs
under ``deadline`` (``TIME_BUDGET`` seconds, a SIGALRM timer in the main thread) and
fails with Reason.TIMEOUT; powers, factorials and binomials are size-checked before they
are computed (``mycelium.dag.latex_sympy``'s caps).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from fractions import Fraction
from typing import Callable, Iterator, Sequence, Union

import sympy

from mycelium.dag.latex import TexError
from mycelium.dag.latex_sympy import checked_pow, read_tex
from mycelium.dag.ops import MAX_BINOM, MAX_FACTORIAL
from mycelium.dag.ops import ExecutionError, Reason, apply_op, check_arity

Value = Union[Fraction, sympy.Basic]
TIME_BUDGET = 2.0  # seconds per symbolic op


@contextlib.contextmanager
def deadline(seconds: float = TIME_BUDGET) -> Iterator[None]:
    """Raise ``ExecutionError(TIMEOUT)`` in the block after ``seconds`` (main thread only:
    elsewhere the block runs unbounded, as signals reach only the main thread)."""
    if threading.current_thread() is not threading.main_thread() or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        yield
        return

    def _fire(signum, frame):
        raise ExecutionError(Reason.TIMEOUT, f"over {seconds} s")

    old = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def to_sympy(x: Value) -> sympy.Basic:
    """A ``Value`` as a sympy object (a Fraction becomes a Rational)."""
    if isinstance(x, (Fraction, int)):
        x = Fraction(x)
        return sympy.Rational(x.numerator, x.denominator)
    if isinstance(x, sympy.Basic):
        return x
    raise ExecutionError(Reason.BAD_VALUE, f"operand {x!r} is not a value")


def from_sympy(x: sympy.Basic) -> Value:
    """A rational sympy number as a Fraction; anything else unchanged. sympy's booleans
    (an equation that became True/False) and non-finite numbers are BAD_VALUE."""
    if isinstance(x, sympy.logic.boolalg.BooleanAtom) or x in (sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        raise ExecutionError(Reason.BAD_VALUE, f"{x} is not a value")
    if isinstance(x, sympy.Rational):
        return Fraction(int(x.p), int(x.q))
    return x


def _var(x: Value) -> sympy.Symbol:
    if not isinstance(x, sympy.Symbol):
        raise ExecutionError(Reason.BAD_VALUE, f"{x} is not a variable")
    return x


def _as_zero(eq: sympy.Basic) -> sympy.Expr:
    return eq.lhs - eq.rhs if isinstance(eq, sympy.Equality) else eq


def _solve(eq: Value, var: Value) -> sympy.Basic:
    v = _var(var)
    expr = _as_zero(to_sympy(eq))
    if v not in expr.free_symbols:
        raise ExecutionError(Reason.BAD_VALUE, f"{v} is not in {expr}")
    sols = sympy.solve(expr, v, dict=False)
    sols = [s for s in sols if not s.has(sympy.I)]
    if not sols:
        raise ExecutionError(Reason.BAD_VALUE, f"{eq} has no real solution for {v}")
    return sols[0] if len(sols) == 1 else sympy.FiniteSet(*sols)


def _solve_system(*args: Value) -> sympy.Basic:
    """SOLVE(eq1, ..., eqk, var): one equation, or a system solved for all its unknowns."""
    *eqs, var = args
    if len(eqs) == 1:
        return _solve(eqs[0], var)
    v = _var(var)
    exprs = [_as_zero(to_sympy(e)) for e in eqs]
    unknowns = sorted(set().union(*(e.free_symbols for e in exprs)), key=str)
    sols = sympy.solve(exprs, unknowns, dict=True)
    values = {d[v] for d in sols if v in d and not d[v].has(sympy.I)}
    if not values:
        raise ExecutionError(Reason.BAD_VALUE, f"the system has no real solution for {v}")
    return next(iter(values)) if len(values) == 1 else sympy.FiniteSet(*values)


def _extreme(pick: Callable, xs: Sequence[Value]) -> sympy.Basic:
    """The largest/smallest of real numbers: the operands, or the members of one set operand."""
    items = list(to_sympy(xs[0]).args) if len(xs) == 1 and isinstance(to_sympy(xs[0]), (sympy.FiniteSet, sympy.Tuple)) \
        else [to_sympy(x) for x in xs]
    if not items or not all(x.is_real and x.is_number for x in items):
        raise ExecutionError(Reason.BAD_VALUE, "MAX/MIN of values that are not real numbers")
    return pick(items, key=lambda x: sympy.N(x, 30))


def _subs(expr: Value, var: Value, value: Value) -> sympy.Basic:
    e = to_sympy(expr)
    out = e.subs(_var(var), to_sympy(value))
    if isinstance(e, sympy.Equality) and isinstance(out, sympy.Equality):
        return out
    return out


def _numeric(op: str) -> Callable[..., sympy.Basic]:
    """The sympy form of a numeric op of ``mycelium.dag.ops`` (for non-rational operands)."""
    def pow_(a, b):
        try:
            return checked_pow(a, b)
        except TexError as e:
            raise ExecutionError(Reason.OVERFLOW, str(e)) from e

    def cap(x, n, what):
        if x.is_Integer and abs(int(x)) > n:
            raise ExecutionError(Reason.OVERFLOW, f"{what} of {x}")
        return x

    def div(a, b):
        if b == 0:
            raise ExecutionError(Reason.DIV_BY_ZERO, f"{a} / 0")
        return a / b

    def gcd_lcm(fn):
        def f(*xs):
            out = xs[0]
            for x in xs[1:]:
                out = fn(out, x)
            return out
        return f

    table = {
        "ADD": lambda *xs: sympy.Add(*xs), "SUB": lambda a, b: a - b, "MUL": lambda *xs: sympy.Mul(*xs),
        "DIV": div, "POW": pow_, "SQRT": sympy.sqrt, "ROOT": lambda a, n: pow_(a, 1 / n), "MOD": sympy.Mod,
        "NEG": lambda a: -a, "FACT": lambda a: sympy.factorial(cap(a, MAX_FACTORIAL, "factorial")),
        "BINOM": lambda a, b: sympy.binomial(cap(a, MAX_BINOM, "binomial"), cap(b, MAX_BINOM, "binomial")),
        "GCD": gcd_lcm(sympy.gcd), "LCM": gcd_lcm(sympy.lcm), "FLOOR": sympy.floor, "CEIL": sympy.ceiling,
        "ABS": sympy.Abs,
    }
    return table[op]


SYMBOLIC_OPS: dict[str, tuple[int, int, Callable[..., sympy.Basic]]] = {
    "SOLVE": (2, 5, _solve_system),
    "SUBS": (3, 3, _subs),
    "SIMPLIFY": (1, 1, lambda a: sympy.simplify(to_sympy(a))),
    "EQ": (2, 2, lambda a, b: sympy.Eq(to_sympy(a), to_sympy(b), evaluate=False)),
    "MAX": (1, 10, lambda *xs: _extreme(max, xs)),
    "MIN": (1, 10, lambda *xs: _extreme(min, xs)),
    "TUPLE": (2, 10, lambda *xs: sympy.Tuple(*(to_sympy(x) for x in xs))),
    "EXPAND": (1, 1, lambda a: sympy.expand(to_sympy(a))),
    "FACTOR": (1, 1, lambda a: sympy.factor(to_sympy(a))),
}


def is_rational(x: Value) -> bool:
    return isinstance(x, (Fraction, int)) and not isinstance(x, bool)


def apply_any(op: str, args: Sequence[Value]) -> Value:
    """Apply any op (numeric or symbolic) to ``Value``s. All-rational operands of a numeric
    op go through ``mycelium.dag.ops.apply_op`` unchanged (an irrational result, NON_RATIONAL
    there, is computed in sympy); otherwise sympy, under
    ``deadline``. Raises ``ExecutionError`` (UNKNOWN_OP, BAD_ARITY, BAD_VALUE, OVERFLOW,
    DIV_BY_ZERO, TIMEOUT)."""
    if op in SYMBOLIC_OPS:
        lo, hi, fn = SYMBOLIC_OPS[op]
        if not lo <= len(args) <= hi:
            raise ExecutionError(Reason.BAD_ARITY, f"{op} takes {lo}..{hi}, got {len(args)}")
    else:
        check_arity(op, len(args))
        if all(is_rational(a) for a in args):
            try:
                return apply_op(op, args)
            except ExecutionError as e:  # sqrt(63), 2**(1/2): exact in sympy
                if e.reason != Reason.NON_RATIONAL:
                    raise
        fn = _numeric(op)
    try:
        with deadline():
            operands = [to_sympy(a) for a in args] if op not in SYMBOLIC_OPS else list(args)
            return from_sympy(fn(*operands))
    except ExecutionError:
        raise
    except (TypeError, ValueError, ZeroDivisionError, NotImplementedError, AttributeError, RecursionError) as e:
        raise ExecutionError(Reason.BAD_VALUE, f"{op}: {type(e).__name__}") from e


def format_symbolic(x: sympy.Basic) -> str:
    """A sympy value as LaTeX that ``mycelium.dag.latex_sympy.read_tex`` reads back."""
    return sympy.latex(x)


def parse_symbolic(text: str) -> Value:
    """An expression literal (LaTeX, as written or as ``format_symbolic`` wrote it) as a
    ``Value``. Raises ``ExecutionError(BAD_VALUE)`` with the parser's reason."""
    try:
        with deadline():
            return from_sympy(read_tex(text))
    except TexError as e:
        raise ExecutionError(Reason.BAD_VALUE, f"{text[:40]!r}: {e.reason.value}") from e


def values_equal(a: Value, b: Value) -> bool:
    """Exact equality of two values (expressions: their difference simplifies to 0; sets,
    tuples and equations: structurally, after that)."""
    if is_rational(a) and is_rational(b):
        return Fraction(a) == Fraction(b)
    try:
        with deadline():
            x, y = to_sympy(a), to_sympy(b)
            if x == y:
                return True
            if isinstance(x, sympy.Expr) and isinstance(y, sympy.Expr):
                return sympy.simplify(x - y) == 0
            return False
    except (ExecutionError, TypeError, ValueError, AttributeError, RecursionError):
        return False
