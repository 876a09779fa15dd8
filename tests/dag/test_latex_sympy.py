import pytest
import sympy

from mycelium.dag.latex import TexError, TexFailure
from mycelium.dag.latex_sympy import read_tex

x, y, a = sympy.symbols("x y a")


@pytest.mark.parametrize("tex, value", [
    (r"\frac{3}{4} + 2^{10}", sympy.Rational(4099, 4)),
    (r"\dfrac{(-648)(650)}{650}", -648),
    (r"\sqrt{10^2 - 8^2}", 6),
    (r"\sqrt[3]{27}", 3),
    (r"\left(\frac{1}{2}\right) (15)(8)", 60),
    (r"\$22,\!000/4", 5500),
    (r"5!", 120),
    (r"\binom{16}{5}", 4368),
    (r"\gcd(12, 18)", 6),
    (r"\operatorname{lcm}[4,6]", 12),
    (r"\lfloor 3.5 \rfloor + \lceil 0.2 \rceil", 4),
    (r"|-3|", 3),
    (r"2\frac{1}{2}", sympy.Rational(5, 2)),
    (r"\frac12", sympy.Rational(1, 2)),
    (r"25\%", sympy.Rational(1, 4)),
    (r"10\text{ cm}", 10),
    (r"\boxed{7}", 7),
    (r"-3\cdot -3", 9),
    (r"63\pi", 63 * sympy.pi),
    (r"3^{\frac{3}{2}}", 3 * sympy.sqrt(3)),
])
def test_numbers_read_exactly(tex, value):
    assert read_tex(tex) == value


def test_algebra_reads_as_symbols():
    assert read_tex(r"x^2+1300x+1300") == x**2 + 1300 * x + 1300
    assert read_tex(r"(x-a+3)").subs(x, a + 7) == 10
    assert read_tex(r"x \cdot \lfloor x \rfloor") == x * sympy.floor(x)
    assert read_tex(r"x_1 + x_{2}") == sympy.Symbol("x_1") + sympy.Symbol("x_2")
    assert read_tex(r"\alpha + 1") == sympy.Symbol("alpha") + 1
    assert read_tex("x = 4") == sympy.Eq(x, 4)
    assert read_tex(r"(7, 2)") == sympy.Tuple(7, 2)
    assert read_tex(r"\{1, 2\}") == sympy.FiniteSet(1, 2)


def test_sympy_latex_reads_back():
    for value in (sympy.sqrt(2) / 2, x**2 + 2 * x + 1, sympy.factor(x**2 - 1), sympy.FiniteSet(1, 2),
                  sympy.Tuple(1, 2), 63 * sympy.pi, sympy.floor(x)):
        assert read_tex(sympy.latex(value)) == value


@pytest.mark.parametrize("tex", [  # nested towers, factorials, binomials
    "2^{2^{2^{99999}}}",
    "9^{9^{9}}",
    "2^{10^{100}}",
    "1000000!",
    r"\binom{100000}{3}",
])
def test_huge_values_fail_before_they_are_computed(tex):
    with pytest.raises(TexError) as e:
        read_tex(tex)
    assert e.value.reason == TexFailure.OVERFLOW


@pytest.mark.parametrize("tex", [r"(8,0,0,0) (7,1,0,0)", r"2 (1,2)", r"(1,2)^2", r"\sqrt{(1,2)}", r"-(3,4)",
                                 r"|(1,2)|", r"\lfloor (1,2)\rfloor", r"\lceil (1,2) \rceil", r"(1,2) \bmod 3",
                                 r"\binom{(1,2)}{2}", r"(1,2)!", r"\gcd((1,2),4)"])
def test_arithmetic_on_a_tuple_fails_with_a_reason(tex):
    # an align block of tuples, "(8,0,0,0) \\ (7,1,0,0)", once read as their product crashed sympy
    with pytest.raises(TexError) as e:
        read_tex(tex)
    assert e.value.reason == TexFailure.SYNTAX
