"""The value of a parsed LaTeX tree (``mycelium.dag.latex.Tex``) as an exact sympy object.

    read_tex(r"\\binom{5}{2}")   # Integer(10)
    read_tex("x + 1 = 3")         # Eq(x + 1, 3)

sympy objects are made only by explicit constructors (``Rational``, ``Symbol``, ``Add``,
``Pow``, ``binomial``, ...), never by ``sympify`` of a string. Sizes are checked before
anything is computed: ``MAX_EXPONENT`` and the bits of a numeric power (``MAX_BITS``, as
``mycelium.dag.ops``), ``MAX_FACTORIAL``, ``MAX_BINOM``; a breach is ``TexError(OVERFLOW)``.
"""

from __future__ import annotations

import math

import sympy

from mycelium.dag.latex import Tex, TexError, TexFailure, parse_tex
from mycelium.dag.ops import MAX_BINOM, MAX_BITS, MAX_FACTORIAL

MAX_EXPONENT = 10_000  # |exponent| of any power (symbolic bases too)

def checked_pow(base: sympy.Expr, exp: sympy.Expr) -> sympy.Expr:
    """base ** exp, refusing powers whose size is out of bounds *before* computing them."""
    if exp.is_Number and abs(exp) > MAX_EXPONENT:
        raise TexError(TexFailure.OVERFLOW, f"exponent {exp}")
    if not exp.is_Number and exp.free_symbols == set() and exp.is_real and abs(sympy.N(exp, 15)) > MAX_EXPONENT:
        raise TexError(TexFailure.OVERFLOW, "exponent too large")
    if base.is_Rational and exp.is_Rational and base != 0:
        b = abs(base)
        bits = max(math.log2(max(b.p, 1)), math.log2(b.q))
        if abs(exp) * bits > MAX_BITS:
            raise TexError(TexFailure.OVERFLOW, f"{base}^{exp} exceeds {MAX_BITS} bits")
    return sympy.Pow(base, exp)


def _int_arg(x: sympy.Expr, cap: int, what: str) -> sympy.Integer:
    if not x.is_Integer:
        return x
    if abs(int(x)) > cap:
        raise TexError(TexFailure.OVERFLOW, f"{what} of {x} > {cap}")
    return x


_CONTAINERS = frozenset({"tuple", "set", "eq"})  # the only nodes whose parts may be tuples, sets, equations


def to_sympy(t: Tex) -> sympy.Basic:
    """The exact sympy value of a tree: rationals stay ``Rational``, symbols are ``Symbol``s,
    an equation is an unevaluated ``Eq``, a tuple a ``Tuple``, a set a ``FiniteSet``.
    Raises ``TexError`` OVERFLOW (powers, factorials, binomials over the caps) or SYNTAX
    (a function or arithmetic of a tuple, set or equation, division by zero)."""
    k = t.kind
    if k == "num":
        return sympy.Rational(t.value.numerator, t.value.denominator)
    if k == "sym":
        return sympy.Symbol(t.name)
    if k == "const":
        return sympy.pi
    args = [to_sympy(a) for a in t.args if a is not None]
    if k not in _CONTAINERS and not all(isinstance(a, sympy.Expr) for a in args):
        # "(8,0,0,0) \\ (7,1,0,0)" read as a product of tuples, |(1,2)|, (1,2)!: no number
        raise TexError(TexFailure.SYNTAX, f"{k} of a tuple, set or equation")
    if k == "add":
        return sympy.Add(*args)
    if k == "sub":
        return sympy.Add(args[0], sympy.Mul(-1, args[1]))
    if k == "mul":
        return sympy.Mul(*args)
    if k == "div":
        if args[1] == 0:
            raise TexError(TexFailure.SYNTAX, "division by zero")
        return sympy.Mul(args[0], checked_pow(args[1], sympy.Integer(-1)))
    if k == "neg":
        return sympy.Mul(-1, args[0])
    if k == "pow":
        return checked_pow(args[0], args[1])
    if k == "sqrt":
        return sympy.sqrt(args[0])
    if k == "root":
        n = _int_arg(args[1], 64, "root index")
        return checked_pow(args[0], sympy.Integer(1) / n)
    if k == "fact":
        return sympy.factorial(_int_arg(args[0], MAX_FACTORIAL, "factorial"))
    if k == "binom":
        return sympy.binomial(_int_arg(args[0], MAX_BINOM, "binomial"), _int_arg(args[1], MAX_BINOM, "binomial"))
    if k in ("gcd", "lcm"):
        if len(args) < 2:
            raise TexError(TexFailure.SYNTAX, f"{k} of one argument")
        out = args[0]
        for a in args[1:]:
            out = sympy.gcd(out, a) if k == "gcd" else sympy.lcm(out, a)
        return out
    if k == "floor":
        return sympy.floor(args[0])
    if k == "ceil":
        return sympy.ceiling(args[0])
    if k == "abs":
        return sympy.Abs(args[0])
    if k == "mod":
        return sympy.Mod(args[0], args[1])
    if k == "tuple":
        return sympy.Tuple(*args)
    if k == "set":
        return sympy.FiniteSet(*args)
    if k == "eq":
        return sympy.Eq(args[0], args[1], evaluate=False)
    raise TexError(TexFailure.SYNTAX, f"node {k}")


def read_tex(s: str) -> sympy.Basic:
    """``to_sympy(parse_tex(s))``: the one entry point for text that may be hostile."""
    return to_sympy(parse_tex(s))
