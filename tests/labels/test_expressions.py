"""Parsing one CoT equation: the forms of the grammar, typed errors, exact values."""

from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium.dag.graph import execute
from mycelium.dag.ops import Reason
from mycelium.labels.expressions import MAX_CHARS, Failure, Literal, ParsedExpr, ParseError, parse_expression


def _ok(s: str) -> ParsedExpr:
    r = parse_expression(s)
    assert isinstance(r, ParsedExpr), (s, r)
    return r


def _shape(r: ParsedExpr) -> list[tuple]:
    """Nodes as (op, [literal text or #ref], value) for compact assertions."""
    return [
        (n.op, [o.text if isinstance(o, Literal) else f"#{o.index}" for o in n.operands], n.value)
        for n in r.nodes
    ]


@pytest.mark.parametrize(
    "s, shape, stated",
    [
        # (a) GSM8K calculator annotations
        ("48/2=24", [("DIV", ["48", "2"], 24)], 24),
        ("0.2*50=10", [("MUL", ["0.2", "50"], 10)], 10),
        ("12+24+5=41", [("ADD", ["12", "24", "5"], 41)], 41),
        ("(3*2)+1=7", [("MUL", ["3", "2"], 6), ("ADD", ["#0", "1"], 7)], 7),
        ("100*.25=25", [("MUL", ["100", ".25"], 25)], 25),
        ("5/100*40=2", [("DIV", ["5", "100"], F(1, 20)), ("MUL", ["#0", "40"], 2)], 2),
        ("48/2*3=72", [("DIV", ["48", "2"], 24), ("MUL", ["#0", "3"], 72)], 72),
        ("100-50-30-15=5", [("SUB", ["100", "50"], 50), ("SUB", ["#0", "30"], 20), ("SUB", ["#1", "15"], 5)], 5),
        # (b) plain CoT arithmetic
        ("48 / 2 = 24", [("DIV", ["48", "2"], 24)], 24),
        ("48 x 2 = 96", [("MUL", ["48", "2"], 96)], 96),
        ("48 × 2", [("MUL", ["48", "2"], 96)], None),
        ("48 ÷ 2 = 24", [("DIV", ["48", "2"], 24)], 24),
        ("$1,200 - $200 = $1,000", [("SUB", ["1,200", "200"], 1000)], 1000),
        ("25% of 80 = 20", [("DIV", ["25", "%"], F(1, 4)), ("MUL", ["#0", "80"], 20)], 20),
        ("2 ** 3 = 8", [("POW", ["2", "3"], 8)], 8),
        ("-3 + 5 = 2", [("ADD", ["-3", "5"], 2)], 2),
        ("-(3 + 4)", [("ADD", ["3", "4"], 7), ("NEG", ["#0"], -7)], None),
        ("2(3+4) = 14", [("ADD", ["3", "4"], 7), ("MUL", ["2", "#0"], 14)], 14),
        # (c) MATH LaTeX
        ("\\frac{48}{2}=24", [("DIV", ["48", "2"], 24)], 24),
        ("2 \\cdot 3", [("MUL", ["2", "3"], 6)], None),
        ("3 \\times 4", [("MUL", ["3", "4"], 12)], None),
        ("12 \\div 4", [("DIV", ["12", "4"], 3)], None),
        ("2^{10}", [("POW", ["2", "10"], 1024)], None),
        ("2^{-1}", [("POW", ["2", "-1"], F(1, 2))], None),
        ("\\sqrt{16}=4", [("SQRT", ["16"], 4)], 4),
        ("\\sqrt[3]{27}", [("ROOT", ["27", "3"], 3)], None),
        ("\\dfrac{3}{4}", [("DIV", ["3", "4"], F(3, 4))], None),
        ("\\frac12", [("DIV", ["1", "2"], F(1, 2))], None),
        ("2\\frac{1}{2}", [("DIV", ["1", "2"], F(1, 2)), ("ADD", ["2", "#0"], F(5, 2))], None),
        ("\\left(3+4\\right) \\cdot 2", [("ADD", ["3", "4"], 7), ("MUL", ["#0", "2"], 14)], None),
        ("17 \\bmod 5", [("MOD", ["17", "5"], 2)], None),
        ("1{,}000 + 1", [("ADD", ["1{,}000", "1"], 1001)], None),
        ("\\frac{1}{2} \\cdot 8 = \\frac{8}{2} = 4", [("DIV", ["1", "2"], F(1, 2)), ("MUL", ["#0", "8"], 4)], 4),
    ],
)
def test_forms(s, shape, stated):
    r = _ok(s)
    assert _shape(r) == shape
    assert r.value == shape[-1][2]
    assert r.stated == stated
    assert r.agrees is (None if stated is None else True)
    # The expression's own DAG executes to the same value.
    assert execute(r.to_dag()) == r.value
    # Literal spans slice back to their text.
    for lit in r.literals:
        assert r.text[lit.span[0] : lit.span[1]] == lit.text


def test_percent_hundred_is_an_implicit_literal():
    r = _ok("25% of 80 = 20")
    hundred = r.nodes[0].operands[1]
    assert isinstance(hundred, Literal) and hundred.implicit and hundred.value == 100


def test_stated_result_disagreement_and_rounding():
    r = _ok("48/2=25")
    assert r.agrees is False and r.approx_agrees is False
    r = _ok("10/3=3.33")
    assert r.agrees is False and r.approx_agrees is True
    r = _ok("2/3=0.67")
    assert r.approx_agrees is True
    assert _ok("8*18=144.00").agrees is True
    assert _ok("48/2=").stated is None


@pytest.mark.parametrize(
    "s, reason",
    [
        ("", Failure.EMPTY),
        ("=24", Failure.EMPTY),
        ("abc", Failure.BAD_TOKEN),
        ("3 * 4 = 12 apples", Failure.BAD_TOKEN),
        ("__import__('os')", Failure.BAD_TOKEN),
        ("(4", Failure.SYNTAX),
        ("3 +", Failure.SYNTAX),
        ("2 3", Failure.SYNTAX),
        ("(3]", Failure.SYNTAX),
        ("560//10=56", Failure.SYNTAX),  # Python floor division: not in the op set
        ("1" * (MAX_CHARS + 1), Failure.TOO_LONG),
        ("(" * 50 + "1" + ")" * 50, Failure.TOO_DEEP),
        ("-" * 100 + "1", Failure.TOO_DEEP),
    ],
)
def test_typed_errors(s, reason):
    r = parse_expression(s)
    assert isinstance(r, ParseError) and r.reason is reason, r


@pytest.mark.parametrize(
    "s, exec_reason",
    [("1/0", Reason.DIV_BY_ZERO), ("2^(10^9)", Reason.OVERFLOW), ("2**2**2**2**2", Reason.OVERFLOW),
     ("9^9^9", Reason.OVERFLOW), ("\\sqrt{2}", Reason.NON_RATIONAL), ("3=1/0", Reason.DIV_BY_ZERO)],
)
def test_execution_errors(s, exec_reason):
    r = parse_expression(s)
    assert isinstance(r, ParseError) and r.reason is Failure.EXECUTION and r.exec_reason is exec_reason


# ---------------------------------------------------------------- properties


@settings(deadline=500, max_examples=200)
@given(st.recursive(
    st.integers(0, 999).map(str),
    lambda inner: st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
    max_leaves=12,
))
def test_parse_matches_python_fractions(expr):
    """Well-formed integer arithmetic parses and agrees with a reference computed by a
    separate recursive evaluator over the same string (Fractions, no eval)."""
    r = parse_expression(expr)

    def ref(s: str) -> F:
        if not s.startswith("("):
            return F(int(s))
        body, depth = s[1:-1], 0
        for i, c in enumerate(body):  # the top-level operator of "(A op B)"
            depth += (c == "(") - (c == ")")
            if depth == 0 and c in "+-*/" and i > 0:
                a, b = ref(body[:i]), ref(body[i + 1 :])
                return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else None}[c] if (c != "/" or b) else None
        raise AssertionError(s)

    try:
        want = ref(expr)
    except TypeError:  # a None from a division by zero propagated into arithmetic
        want = None
    if want is None:
        assert isinstance(r, ParseError) and r.exec_reason is Reason.DIV_BY_ZERO
    else:
        assert isinstance(r, ParsedExpr) and r.value == want
