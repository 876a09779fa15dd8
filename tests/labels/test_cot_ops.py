import builtins
import json
from fractions import Fraction as F
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium.dag.graph import execute
from mycelium.data.answers import clean_gsm8k_solution
from mycelium.labels.cot_ops import Found, find_arithmetic, find_worded_arithmetic, parse_annotations
from mycelium.labels.expressions import Literal, NodeRef, ParsedExpr, ParseError, parse_expression

GSM8K_TRAIN = Path(__file__).resolve().parents[3] / "shared" / "data" / "gsm8k" / "train.jsonl"


def test_find_arithmetic_plain_text():
    cot = (
        "Natalia sold 48/2 = 24 clips in May.\n"
        "She paid $1,200 - $200 = $1,000 for it.\n"
        "Then 3 * 4 = 12 apples, and 25% of 80 = 20.\n"
        "She has 5 apples and 3 pears."
    )
    found = find_arithmetic(cot)
    assert [cot[f.span[0] : f.span[1]] for f in found] == ["48/2 = 24", "1,200 - $200 = $1,000", "3 * 4 = 12", "25% of 80 = 20"]
    for f in found:
        assert isinstance(f, Found) and cot[f.span[0] : f.span[1]] == f.expr.text and f.expr.agrees


def test_find_arithmetic_latex_and_algebra():
    cot = (
        "We get $\\frac{48}{2}=24$ and $2^{10} = 1024$. Then $x = 3 + 4 = 7$, "
        "but $2x + 3 = 11$ and $a(2)+3=5$ are algebra, as is $x + 2 - 5 = 0$."
    )
    found = find_arithmetic(cot)
    texts = [f.expr.text for f in found]
    assert texts == ["\\frac{48}{2}=24", "2^{10} = 1024", "3 + 4 = 7"]
    assert [f.expr.ops for f in found] == [["DIV"], ["POW"], ["ADD"]]


def test_find_arithmetic_splits_lines_and_adjacent_numbers():
    cot = "48/2 = 24\n(24+1)*2 = 50"
    assert [f.expr.text for f in find_arithmetic(cot)] == ["48/2 = 24", "(24+1)*2 = 50"]
    assert find_arithmetic("no numbers here") == []
    assert find_arithmetic("just 5 and 6") == []


def test_find_arithmetic_reads_a_product_written_without_an_op():
    # 97 GSM8K train solutions write "200(.40)=80"; a bracket after a space or a word is no product
    found = find_arithmetic("Work:200(.40)=80\n200-80=120")
    assert [(f.expr.text, f.expr.ops, f.expr.value) for f in found] == [
        ("200(.40)=80", ["MUL"], 80), ("200-80=120", ["SUB"], 120)]
    assert find_arithmetic("f(2)=5 and in (3) ways 4 = 4") == []


def test_find_worded_arithmetic_reads_unit_words_between_the_numbers():
    cot = ("She has 120 pills x 3 bottles = 360 pills. Mason has 200 blueberries/carton * 3 cartons = 600. "
           "He paid $60/game x 2 games= $120. 26 boxes – 6 boxes of pans = 20 boxes. "
           "It takes 3 miles / 6 miles/hour = .5 hours. "
           "Ann had 4 dozen chocolate chip cookies - 2.5 dozen = 1.5 dozen left.")
    found = find_worded_arithmetic(cot)
    assert [(f.expr.ops, f.expr.value) for f in found] == [
        (["MUL"], 360), (["MUL"], 600), (["MUL"], 120), (["SUB"], 20), (["DIV"], F(1, 2)), (["SUB"], F(3, 2))]
    for f in found:  # the equation with its words, and each literal where the CoT writes it
        assert cot[f.span[0]:f.span[1]] == f.expr.text
        assert [f.expr.text[a:b] for a, b in (lit.span for lit in f.expr.literals)] == \
               [lit.text for lit in f.expr.literals]
    assert [lit.text for lit in found[0].expr.literals] == ["120", "3"]
    # no unit word: find_arithmetic's; a stated result the op does not give: no equation
    assert find_worded_arithmetic("so 2 x 3 = 6 and") == []
    assert find_worded_arithmetic("120 pills x 3 bottles = 300 pills") == []


def _gsm8k_rows(n: int) -> list[dict]:
    if not GSM8K_TRAIN.exists():
        pytest.skip(f"{GSM8K_TRAIN} not present")
    with GSM8K_TRAIN.open() as f:
        return [json.loads(next(f)) for _ in range(n)]


def test_gsm8k_annotations_parse_and_agree():
    """Every calculator annotation of the first 50 train rows parses and its stated result
    equals exact execution (on the full train split: 23714/23716 parse, all of those agree;
    the two failures are Python floor division "560//10=56")."""
    n = 0
    for row in _gsm8k_rows(50):
        text, annotations = clean_gsm8k_solution(row["answer"])
        results = parse_annotations(annotations)
        assert len(results) == len(annotations)
        for (pos, ann), r in zip(annotations, results):
            assert isinstance(r, Found), (ann, r)
            assert r.span == (pos, pos) and r.expr.text == ann
            assert r.expr.agrees, (ann, r.expr.value)
            assert execute(r.expr.to_dag()) == r.expr.stated
            n += 1
    assert n > 100


def test_gsm8k_cleaned_text_equations_are_found():
    """The cleaned solution keeps "48/2 = 24": find_arithmetic recovers most annotations
    (the rest interleave units, "3 green hats + 16 pink hats = 19 hats")."""
    hit = total = 0
    for row in _gsm8k_rows(50):
        text, annotations = clean_gsm8k_solution(row["answer"])
        found = {(tuple(f.expr.ops), f.expr.value) for f in find_arithmetic(text)}
        for r in parse_annotations(annotations):
            total += 1
            hit += (tuple(r.expr.ops), r.expr.value) in found
    assert hit / total > 0.7


# ---------------------------------------------------------------- properties

_PIECES = st.sampled_from(
    ["0", "1", "2", "9", "12", "1,200", ".5", "0.25", "$", "%", "+", "-", "*", "/", "^", "**", "x", "×", "÷",
     "(", ")", "{", "}", "[", "]", "=", " ", "\\frac", "\\dfrac", "\\sqrt", "\\cdot", "\\times", "\\div",
     "\\left", "\\right", "of", "mod", "\\bmod", "\n", "a", "\\pi", "10**10**10", "9^9^9", "//"]
)
_ARITHMETIC = st.lists(_PIECES, max_size=60).map("".join)


@pytest.fixture
def no_eval(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec/compile called")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, refuse)


@settings(deadline=500, max_examples=300)
@given(st.one_of(st.text(max_size=200), _ARITHMETIC))
def test_parse_never_raises_or_evals(s):
    # The monkeypatch fixture does not mix with @given: patch by hand around the call.
    saved = builtins.eval, builtins.exec

    def refuse(*args, **kwargs):
        raise AssertionError("eval/exec called")

    builtins.eval = builtins.exec = refuse
    try:
        r = parse_expression(s)
        found = find_arithmetic(s)
    finally:
        builtins.eval, builtins.exec = saved
    assert isinstance(r, (ParsedExpr, ParseError))
    if isinstance(r, ParsedExpr):
        assert isinstance(r.value, F)
        for n in r.nodes:
            assert all(isinstance(o, (Literal, NodeRef)) for o in n.operands)
    for f in found:
        assert s[f.span[0] : f.span[1]] == f.expr.text and f.expr.nodes


def test_no_eval_fixture_blocks_eval(no_eval):
    with pytest.raises(AssertionError):
        eval("1")
    assert isinstance(parse_expression("48/2=24"), ParsedExpr)
    assert find_arithmetic("so 48/2 = 24 clips")
