import time
from fractions import Fraction as F

import pytest

from mycelium.dag.ops import MAX_BITS, OP_NAMES, OPS, ExecutionError, Reason, apply_op


def _reason(op, args):
    with pytest.raises(ExecutionError) as e:
        apply_op(op, args)
    return e.value.reason


def test_op_table_is_small_and_documented():
    assert set(OP_NAMES) == {"ADD", "SUB", "MUL", "DIV", "POW", "SQRT", "ROOT", "MOD", "NEG",
                             "FACT", "BINOM", "GCD", "LCM", "FLOOR", "CEIL", "ABS"}
    import mycelium.dag.ops as ops_module

    for name in OP_NAMES:  # every op appears in the module docstring's table
        assert f"\n{name} " in ops_module.__doc__
    assert OPS["ADD"].max_arity is None and OPS["MUL"].max_arity is None
    assert OPS["SUB"].max_arity == 2 and OPS["DIV"].max_arity == 2


def test_arithmetic_is_exact():
    assert apply_op("ADD", [F(12), F(24), F(5)]) == 41
    assert apply_op("SUB", [F(100), F(50)]) == 50
    assert apply_op("MUL", [F(1, 3), F(3)]) == 1
    assert apply_op("DIV", [F(1), F(3)]) == F(1, 3)
    assert apply_op("DIV", [F(48), F(2)]) == 24
    assert apply_op("MOD", [F(17), F(5)]) == 2
    assert apply_op("MOD", [F(-1), F(5)]) == 4  # Python's sign convention: sign of the divisor
    assert apply_op("NEG", [F(3)]) == -3
    assert apply_op("ADD", [1, 2]) == 3  # ints are exact too


def test_powers_and_roots():
    assert apply_op("POW", [F(2), F(10)]) == 1024
    assert apply_op("POW", [F(2), F(-2)]) == F(1, 4)
    assert apply_op("POW", [F(8), F(2, 3)]) == 4
    assert apply_op("POW", [F(-8), F(1, 3)]) == -2
    assert apply_op("POW", [F(4, 9), F(1, 2)]) == F(2, 3)
    assert apply_op("POW", [F(0), F(0)]) == 1
    assert apply_op("POW", [F(-1), F(10**30)]) == 1
    assert apply_op("SQRT", [F(16)]) == 4
    assert apply_op("SQRT", [F(9, 4)]) == F(3, 2)
    assert apply_op("ROOT", [F(27), F(3)]) == 3
    big = F(10**200 + 7) ** 2  # beyond float range for the root guess
    assert apply_op("SQRT", [big]) == 10**200 + 7
    assert apply_op("ROOT", [F(3**400), F(5)]) == 3**80


def test_typed_failures():
    assert _reason("DIV", [F(1), F(0)]) is Reason.DIV_BY_ZERO
    assert _reason("MOD", [F(1), F(0)]) is Reason.DIV_BY_ZERO
    assert _reason("POW", [F(0), F(-1)]) is Reason.DIV_BY_ZERO
    assert _reason("SQRT", [F(2)]) is Reason.NON_RATIONAL
    assert _reason("SQRT", [F(-4)]) is Reason.NON_RATIONAL
    assert _reason("POW", [F(2), F(1, 2)]) is Reason.NON_RATIONAL
    assert _reason("ROOT", [F(8), F(3, 2)]) is Reason.BAD_VALUE
    assert _reason("FOO", [F(1), F(2)]) is Reason.UNKNOWN_OP
    assert _reason("SUB", [F(1), F(2), F(3)]) is Reason.BAD_ARITY
    assert _reason("ADD", [F(1)]) is Reason.BAD_ARITY
    assert _reason("SQRT", []) is Reason.BAD_ARITY
    assert _reason("ADD", [1.5, F(1)]) is Reason.BAD_VALUE  # floats are not exact


def test_overflow_fails_fast():
    t = time.perf_counter()
    assert _reason("POW", [F(2), F(10**9)]) is Reason.OVERFLOW
    assert _reason("POW", [F(10), F(10**10)]) is Reason.OVERFLOW
    assert _reason("POW", [F(2), F(1, 10**9)]) is Reason.OVERFLOW  # root index cap
    assert _reason("MUL", [F(2**4000), F(2**4000)]) is Reason.OVERFLOW
    assert _reason("ADD", [F(2 ** (MAX_BITS + 1)), F(1)]) is Reason.OVERFLOW
    assert time.perf_counter() - t < 1.0
    assert apply_op("POW", [F(10), F(100)]) == 10**100  # a googol is fine


def test_math_counting_and_number_theory_ops():
    assert apply_op("FACT", [F(5)]) == 120
    assert apply_op("FACT", [F(0)]) == 1
    assert apply_op("BINOM", [F(10), F(2)]) == 45
    assert apply_op("GCD", [F(12), F(18), F(8)]) == 2
    assert apply_op("LCM", [F(4), F(6)]) == 12
    assert apply_op("FLOOR", [F(7, 2)]) == 3 and apply_op("FLOOR", [F(-7, 2)]) == -4
    assert apply_op("CEIL", [F(7, 2)]) == 4
    assert apply_op("ABS", [F(-3, 4)]) == F(3, 4)


def test_math_ops_refuse_bad_operands_with_a_reason():
    assert _reason("FACT", [F(1, 2)]) == Reason.BAD_VALUE
    assert _reason("FACT", [F(-1)]) == Reason.BAD_VALUE
    assert _reason("FACT", [F(1000000)]) == Reason.OVERFLOW
    assert _reason("BINOM", [F(10 ** 9), F(2)]) == Reason.OVERFLOW
    assert _reason("GCD", [F(3, 2), F(6)]) == Reason.BAD_VALUE
