from fractions import Fraction as F

import pytest
from mycelium.dag.latex import TexError, TexFailure, parse_tex, split_relations, tokenize

def test_spans_point_at_the_literals():
    tree = parse_tex(r"12 + \frac{3}{4}")
    assert tree.kind == "add"
    num, frac = tree.args
    assert (num.value, num.span) == (F(12), (0, 2))
    assert frac.kind == "div" and frac.args[0].span == (11, 12)


def test_relations_split_at_top_level_only():
    s = r"\frac{a=b}{2} = 3 = \boxed{3}"
    assert [s[i:j].strip() for i, j in split_relations(s)] == [r"\frac{a=b}{2}", "3", r"\boxed{3}"]


def _failure(tex: str) -> TexFailure:
    with pytest.raises(TexError) as e:
        parse_tex(tex)
    return e.value.reason


@pytest.mark.parametrize("tex, reason", [
    ("\\frac{" * 500 + "1" + "}{2}" * 500, TexFailure.TOO_LONG),  # 500 deep: refused on its length
    ("(" * 100 + "1" + ")" * 100, TexFailure.TOO_DEEP),
    ("\\frac{" * 70 + "1" + "}{2}" * 70, TexFailure.TOO_DEEP),
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
def test_hostile_latex_fails_to_parse_with_a_reason(tex, reason):
    assert _failure(tex) == reason


def test_tokenizer_is_a_whitelist():
    kinds = [t.kind for t in tokenize(r"\frac{1}{2}\cdot x^2")]
    assert kinds == ["FRAC", "LBRACE", "NUM", "RBRACE", "LBRACE", "NUM", "RBRACE", "MULOP", "SYM", "POW", "NUM"]


def test_degrees_vanish_and_geometry_names_are_one_symbol():
    kinds = [(t.kind, t.text) for t in tokenize(r"\angle ACB = 180^\circ - \overline{AB}")]
    assert kinds == [("SYM", "angle_ACB"), ("EQ", "="), ("NUM", "180"), ("OP", "-"), ("SYM", "overline_AB")]
