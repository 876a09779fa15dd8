"""The operation set: every op a DAG node (and a classifier label) can name.

All values are exact rationals (``fractions.Fraction``); no op ever produces a float.

==========  =======  ==========================  ===============================================
name        arity    value                       why it is in the set
==========  =======  ==========================  ===============================================
ADD         n >= 2   a + b + ...                 n-ary so GSM8K's "12+24+5=41" is one node / one
                                                 clause label, not a chain of two
SUB         2        a - b                       "100-50-30" is two SUB nodes (not associative)
MUL         n >= 2   a * b * ...                 n-ary for the same reason as ADD ("2*3*4")
DIV         2        a / b                       "half as many" -> DIV(x, 2); percent -> DIV(x, 100)
POW         2        a ** b                      areas/volumes, compound growth, MATH powers;
                                                 b must be rational; a fractional b is allowed
                                                 only when the root is exact (8**(2/3) = 4)
SQRT        1        sqrt(a)                     MATH "\\sqrt{16}"; exact or NON_RATIONAL
ROOT        2        a ** (1/b), b a positive    MATH "\\sqrt[3]{27}"; b an integer <= 64
                     integer
MOD         2        a mod b (sign of b, as      MATH number theory "remainder when ... divided"
                     Python's %)
NEG         1        -a                          unary minus of a sub-expression, "-(3+4)"; a
                                                 minus on a literal is folded into the literal
FACT        1        a! (a an integer 0..400)    MATH counting "5!"
BINOM       2        C(a, b) (integers, a <=     MATH counting "\\binom{10}{2}"
                     10,000)
GCD         n >= 2   gcd of integers             MATH number theory "\\gcd(12, 18)"
LCM         n >= 2   lcm of integers             "\\operatorname{lcm}[4, 6]"
FLOOR       1        floor(a)                    "\\lfloor 3.5 \\rfloor", "how many whole ..."
CEIL        1        ceil(a)                     "\\lceil x \\rceil", "at least how many ..."
ABS         1        |a|                         "|x - 3|", distances
==========  =======  ==========================  ===============================================

MATH's algebra (solve, substitute, simplify/expand/factor) is ``mycelium.dag.symbolic``:
SOLVE, SUBS, SIMPLIFY, EXPAND, FACTOR, whose operands may be expressions; the numeric ops
above also run there (in sympy) when an operand is irrational or symbolic (MUL(63, pi)).

Deliberately not ops: percent (DIV by an implicit operand 100, so "25%" grounds as the
number 25 plus the implicit "%" = 100), rounding to a decimal place (rare in GSM8K's
annotations and MATH's labelled steps).

Safety: every result's numerator and denominator must fit in ``MAX_BITS`` bits, and POW
checks the size of its result *before* computing it, so ``2**(10**9)`` fails fast with
OVERFLOW instead of hanging. Failures raise ``ExecutionError`` carrying a ``Reason``; they
live here (not in graph.py) because the op functions themselves raise them.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

# A clause that states several operations gets one label: its ops in order, joined ("MUL+ADD").
MULTI_OP_SEP = "+"

MAX_BITS = 4096  # ~1233 decimal digits: far beyond any GSM8K/MATH quantity, still instant
MAX_ROOT_INDEX = 64  # largest n for an n-th root (ROOT, or POW with exponent p/n)
MAX_FACTORIAL = 400  # 400! has ~2,900 bits, under MAX_BITS
MAX_BINOM = 10_000


class Reason(str, enum.Enum):
    """Why executing an op or a DAG failed. A ``str`` enum so it serialises as its name."""

    DIV_BY_ZERO = "DIV_BY_ZERO"
    OVERFLOW = "OVERFLOW"  # a magnitude or exponent above the caps
    UNKNOWN_OP = "UNKNOWN_OP"
    BAD_ARITY = "BAD_ARITY"
    BAD_REFERENCE = "BAD_REFERENCE"  # a forward, self or out-of-range node reference
    BAD_VALUE = "BAD_VALUE"  # an operand that is not an exact rational (e.g. "abc", a float)
    NON_RATIONAL = "NON_RATIONAL"  # sqrt(2), 2**(1/2), (-1)**(1/2): no exact rational result
    EMPTY = "EMPTY"  # a DAG with no nodes
    TIMEOUT = "TIMEOUT"  # a symbolic op (mycelium.dag.symbolic) ran past its time budget


class ExecutionError(Exception):
    """A typed execution failure: ``reason`` says which, ``node`` where (if known)."""

    def __init__(self, reason: Reason, message: str = "", node: int | None = None):
        super().__init__(f"{reason.value}: {message}" if message else reason.value)
        self.reason = reason
        self.message = message
        self.node = node


def _check(x: Fraction) -> Fraction:
    """Refuse results too large to keep computing with (the OVERFLOW cap)."""
    if x.numerator.bit_length() > MAX_BITS or x.denominator.bit_length() > MAX_BITS:
        raise ExecutionError(Reason.OVERFLOW, f"result exceeds {MAX_BITS} bits")
    return x


def _iroot(n: int, k: int) -> int | None:
    """The exact integer k-th root of n >= 0, or None when n is not a perfect k-th power."""
    if n < 2:
        return n
    if k == 2:
        r = math.isqrt(n)
    elif n.bit_length() < 50 * k:  # root < 2**50: a float guess is within one of it
        r = int(round(n ** (1.0 / k)))
    else:  # too big for a float: Newton's method on integers, from above
        r = 1 << ((n.bit_length() + k - 1) // k)
        while True:
            s = ((k - 1) * r + n // r ** (k - 1)) // k
            if s >= r:
                break
            r = s
    for cand in (r - 1, r, r + 1):  # the float guess can be off by one
        if cand >= 0 and cand**k == n:
            return cand
    return None


def _root(x: Fraction, k: int) -> Fraction:
    """Exact k-th root of a rational, or NON_RATIONAL."""
    if k < 1 or k > MAX_ROOT_INDEX:
        raise ExecutionError(Reason.OVERFLOW, f"root index {k} outside 1..{MAX_ROOT_INDEX}")
    if x < 0 and k % 2 == 0:
        raise ExecutionError(Reason.NON_RATIONAL, f"even root of negative {x}")
    sign = -1 if x < 0 else 1
    num, den = _iroot(abs(x.numerator), k), _iroot(x.denominator, k)
    if num is None or den is None:
        raise ExecutionError(Reason.NON_RATIONAL, f"{x} has no exact rational {k}-th root")
    return Fraction(sign * num, den)


def _add(*xs: Fraction) -> Fraction:
    return _check(sum(xs, Fraction(0)))


def _sub(a: Fraction, b: Fraction) -> Fraction:
    return _check(a - b)


def _mul(*xs: Fraction) -> Fraction:
    out = Fraction(1)
    for x in xs:
        out = _check(out * x)  # check each partial product so a long chain can't blow up
    return out


def _div(a: Fraction, b: Fraction) -> Fraction:
    if b == 0:
        raise ExecutionError(Reason.DIV_BY_ZERO, f"{a} / 0")
    return _check(a / b)


def _pow(a: Fraction, b: Fraction) -> Fraction:
    p, q = b.numerator, b.denominator  # a ** (p/q) = (q-th root of a) ** p
    if a == 0 and p < 0:
        raise ExecutionError(Reason.DIV_BY_ZERO, f"0 ** {b}")
    if a == 0 or p == 0:
        return Fraction(0) if p else Fraction(1)
    base = _root(a, q) if q > 1 else a
    if abs(base) == 1:
        return base ** abs(p) if p > 0 else 1 / base ** abs(p)
    # Size of the result before computing it: |p| * log2(base) must stay under the cap.
    # |base| != 1, so log2 >= 1 and |p| > MAX_BITS already overflows (and keeps p a float).
    log2 = max(math.log2(abs(base.numerator)), math.log2(base.denominator))
    if abs(p) > MAX_BITS or abs(p) * log2 > MAX_BITS:
        raise ExecutionError(Reason.OVERFLOW, f"{a} ** {b} exceeds {MAX_BITS} bits")
    return _check(base**p)


def _sqrt(a: Fraction) -> Fraction:
    return _root(a, 2)


def _nth_root(a: Fraction, n: Fraction) -> Fraction:
    if n.denominator != 1:
        raise ExecutionError(Reason.BAD_VALUE, f"root index {n} is not an integer")
    return _root(a, int(n))


def _mod(a: Fraction, b: Fraction) -> Fraction:
    if b == 0:
        raise ExecutionError(Reason.DIV_BY_ZERO, f"{a} mod 0")
    return _check(a % b)


def _neg(a: Fraction) -> Fraction:
    return -a


def _integer(a: Fraction, what: str, cap: int | None = None) -> int:
    if a.denominator != 1:
        raise ExecutionError(Reason.BAD_VALUE, f"{what} of non-integer {a}")
    if cap is not None and not 0 <= a <= cap:
        raise ExecutionError(Reason.OVERFLOW if a > cap else Reason.BAD_VALUE, f"{what} of {a} outside 0..{cap}")
    return int(a)


def _fact(a: Fraction) -> Fraction:
    return Fraction(math.factorial(_integer(a, "factorial", MAX_FACTORIAL)))


def _binom(a: Fraction, b: Fraction) -> Fraction:
    n, k = _integer(a, "binomial", MAX_BINOM), _integer(b, "binomial")
    return _check(Fraction(math.comb(n, k)))


def _gcd(*xs: Fraction) -> Fraction:
    return Fraction(math.gcd(*(_integer(x, "gcd") for x in xs)))


def _lcm(*xs: Fraction) -> Fraction:
    return _check(Fraction(math.lcm(*(_integer(x, "lcm") for x in xs))))


@dataclass(frozen=True)
class OpSpec:
    """One op: its name, how many operands it takes, its exact function, how it is written."""

    name: str
    min_arity: int
    max_arity: int | None  # None: n-ary
    fn: Callable[..., Fraction]
    symbol: str  # for formatting a node as infix text


OPS: dict[str, OpSpec] = {
    s.name: s
    for s in (
        OpSpec("ADD", 2, None, _add, "+"),
        OpSpec("SUB", 2, 2, _sub, "-"),
        OpSpec("MUL", 2, None, _mul, "*"),
        OpSpec("DIV", 2, 2, _div, "/"),
        OpSpec("POW", 2, 2, _pow, "^"),
        OpSpec("SQRT", 1, 1, _sqrt, "sqrt"),
        OpSpec("ROOT", 2, 2, _nth_root, "root"),
        OpSpec("MOD", 2, 2, _mod, "mod"),
        OpSpec("NEG", 1, 1, _neg, "-"),
        OpSpec("FACT", 1, 1, _fact, "!"),
        OpSpec("BINOM", 2, 2, _binom, "binom"),
        OpSpec("GCD", 2, None, _gcd, "gcd"),
        OpSpec("LCM", 2, None, _lcm, "lcm"),
        OpSpec("FLOOR", 1, 1, lambda a: Fraction(math.floor(a)), "floor"),
        OpSpec("CEIL", 1, 1, lambda a: Fraction(math.ceil(a)), "ceil"),
        OpSpec("ABS", 1, 1, abs, "abs"),
    )
}
OP_NAMES: tuple[str, ...] = tuple(OPS)


def check_arity(op: str, n: int) -> OpSpec:
    """The op's spec, or ExecutionError(UNKNOWN_OP / BAD_ARITY)."""
    spec = OPS.get(op)
    if spec is None:
        raise ExecutionError(Reason.UNKNOWN_OP, repr(op))
    if n < spec.min_arity or (spec.max_arity is not None and n > spec.max_arity):
        raise ExecutionError(Reason.BAD_ARITY, f"{op} takes {spec.min_arity}..{spec.max_arity}, got {n}")
    return spec


def apply_op(op: str, args: Sequence[Fraction]) -> Fraction:
    """Apply ``op`` to exact operands. Raises ``ExecutionError`` with a typed ``Reason``."""
    spec = check_arity(op, len(args))
    for a in args:
        if not isinstance(a, Fraction):  # an int is fine by value, a float is not exact
            if isinstance(a, int) and not isinstance(a, bool):
                continue
            raise ExecutionError(Reason.BAD_VALUE, f"operand {a!r} is not a Fraction")
        _check(a)
    return spec.fn(*(Fraction(a) for a in args))
