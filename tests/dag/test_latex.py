from fractions import Fraction as F

import pytest
import sympy

from mycelium.dag.latex import TexError, TexFailure, parse_tex, read_tex, split_relations, tokenize

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


def test_spans_point_at_the_literals():
    tree = parse_tex(r"12 + \frac{3}{4}")
    assert tree.kind == "add"
    num, frac = tree.args
    assert (num.value, num.span) == (F(12), (0, 2))
    assert frac.kind == "div" and frac.args[0].span == (11, 12)


def test_sympy_latex_reads_back():
    for value in (sympy.sqrt(2) / 2, x**2 + 2 * x + 1, sympy.factor(x**2 - 1), sympy.FiniteSet(1, 2),
                  sympy.Tuple(1, 2), 63 * sympy.pi, sympy.floor(x)):
        assert read_tex(sympy.latex(value)) == value


def test_relations_split_at_top_level_only():
    s = r"\frac{a=b}{2} = 3 = \boxed{3}"
    assert [s[i:j].strip() for i, j in split_relations(s)] == [r"\frac{a=b}{2}", "3", r"\boxed{3}"]


def _failure(tex: str) -> TexFailure:
    with pytest.raises(TexError) as e:
        read_tex(tex)
    return e.value.reason


@pytest.mark.parametrize("tex, reason", [
    ("\\frac{" * 500 + "1" + "}{2}" * 500, TexFailure.TOO_LONG),  # 500 deep: refused on its length
    ("(" * 100 + "1" + ")" * 100, TexFailure.TOO_DEEP),
    ("\\frac{" * 70 + "1" + "}{2}" * 70, TexFailure.TOO_DEEP),
    ("2^{2^{2^{99999}}}", TexFailure.OVERFLOW),
    ("9^{9^{9}}", TexFailure.OVERFLOW),
    ("2^{10^{100}}", TexFailure.OVERFLOW),
    ("1000000!", TexFailure.OVERFLOW),
    (r"\binom{100000}{3}", TexFailure.OVERFLOW),
    (r"\input{/etc/passwd}", TexFailure.UNSUPPORTED),
    (r"\def\x{1}\x", TexFailure.UNSUPPORTED),
    (r"\include{x}", TexFailure.UNSUPPORTED),
    ("__import__('os')", TexFailure.UNSUPPORTED),
    ("{{1+2}", TexFailure.UNBALANCED),
    ("1+2}", TexFailure.UNBALANCED),
    ("(((1", TexFailure.UNBALANCED),
    ("x+" * 50_000, TexFailure.TOO_LONG),
    ("", TexFailure.EMPTY),
    ("1 2", TexFailure.SYNTAX),
])
def test_hostile_latex_fails_with_a_reason(tex, reason):
    assert _failure(tex) == reason


def test_tokenizer_is_a_whitelist():
    kinds = [t.kind for t in tokenize(r"\frac{1}{2}\cdot x^2")]
    assert kinds == ["FRAC", "LBRACE", "NUM", "RBRACE", "LBRACE", "NUM", "RBRACE", "MULOP", "SYM", "POW", "NUM"]
