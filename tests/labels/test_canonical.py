"""One encoding of percentages and written fractions (mycelium.labels.canonical)."""

from fractions import Fraction

from mycelium.dag.graph import dag_from_steps, execute
from mycelium.dag.steps import Arg, Step
from mycelium.labels.canonical import canonical_steps

TEXT = "She sells 30% of her 80 apples and gives 1/4 of the rest away."
PCT = Arg("number", "30", text="30%", span=(10, 13))
SIGN = Arg("implicit", "100", text="%", span=(12, 13))
APPLES = Arg("number", "80", text="80", span=(21, 23))
ONE = Arg("number", "1", text="1", span=(41, 42))
FOUR = Arg("number", "4", text="4", span=(43, 44))


def res(i):
    return Arg("result", "0", step=i)


def value(steps):
    return execute(dag_from_steps(steps))


def test_percent_over_the_percent_sign_becomes_one_operand():
    steps = [Step(0, "DIV", [PCT, SIGN], None), Step(1, "MUL", [res(0), APPLES], None)]
    out, origins = canonical_steps(steps, TEXT)
    assert [s.op for s in out] == ["MUL"] and origins == [[1, 0]]
    assert out[0].args[0].text == "30%" and out[0].args[0].value == "3/10"
    assert value(out) == value(steps) == 24


def test_multiply_then_divide_by_the_sign_folds_into_the_multiply():
    steps = [Step(0, "MUL", [APPLES, PCT], None), Step(1, "DIV", [res(0), SIGN], None)]
    out, _ = canonical_steps(steps, TEXT)
    assert [s.op for s in out] == ["MUL"] and value(out) == 24
    assert {a.text: a.value for a in out[0].args}["30%"] == "3/10"


def test_hundredth_factor_is_dropped_for_the_percent_value():
    hundredth = Arg("implicit", "1/100", text="%", span=(12, 13))
    steps = [Step(0, "MUL", [PCT, hundredth, APPLES], None)]
    out, _ = canonical_steps(steps, TEXT)
    assert [(a.text, a.value) for a in out[0].args] == [("30%", "3/10"), ("80", "80")]
    assert value(out) == 24


def test_split_written_fraction_is_one_operand():
    rest = Arg("number", "56", text="56", span=None)
    steps = [Step(0, "MUL", [rest, ONE], None), Step(1, "DIV", [res(0), FOUR], None)]
    out, origins = canonical_steps(steps, TEXT)
    assert len(out) == 1 and origins == [[0, 1]]
    frac = out[0].args[1]
    assert (frac.text, frac.value, frac.span) == ("1/4", "1/4", (41, 44))
    assert value(out) == Fraction(14)


def test_refold_replaces_a_division_of_written_values_and_its_digits():
    half = Arg("implicit", "1/2", text="half", span=(0, 4))
    steps = [Step(0, "DIV", [Arg("number", "1", text="one", span=(50, 53)), Arg("implicit", "2", text="half", span=(0, 4))], None),
             Step(1, "MUL", [res(0), APPLES], None)]
    out, origins = canonical_steps(steps, TEXT, refold=lambda v: half if v == Fraction(1, 2) else None)
    assert len(out) == 1 and out[0].args[0] == half and origins == [[1]]
    assert value(out) == 40

    # a whole quotient is a count ("4/2 = 2 coffees" of "cut in half"), never folded into
    # an operand that writes 2 (the "half" of a DIV by 2)
    two = Arg("implicit", "2", text="half", span=(0, 4))
    count = [Step(0, "DIV", [Arg("number", "4", text="4", span=(50, 51)), two], None),
             Step(1, "MUL", [res(0), APPLES], None)]
    out, _ = canonical_steps(count, TEXT, refold=lambda v: two if v == 2 else None)
    assert [s.op for s in out] == ["DIV", "MUL"] and value(out) == 160


def test_the_answer_step_and_unrelated_steps_stay():
    steps = [Step(0, "DIV", [PCT, SIGN], None)]  # "what percent": nothing reads it
    out, _ = canonical_steps(steps, TEXT)
    assert out == steps and out is not steps


def test_division_by_the_denominator_of_a_unit_fraction_is_a_product():
    text = "Ann has 36 pens and gives 1/4 of them away."
    four = Arg("number", "4", text="4", span=(text.index("1/4") + 2, text.index("1/4") + 3))
    steps = [Step(0, "DIV", [Arg("number", "36", text="36", span=(8, 10)), four], None)]
    out, _ = canonical_steps(steps, text)
    assert out[0].op == "MUL" and (out[0].args[1].text, out[0].args[1].value) == ("1/4", "1/4")
    assert value(out) == 9
    two_fifths = "Ann has 36 pens and gives 2/5 of them away."  # not a unit fraction: unchanged
    five = Arg("number", "5", text="5", span=(two_fifths.index("2/5") + 2, two_fifths.index("2/5") + 3))
    assert canonical_steps([Step(0, "DIV", [steps[0].args[0], five], None)], two_fifths)[0][0].op == "DIV"
