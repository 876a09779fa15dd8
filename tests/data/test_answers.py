import pytest

from mycelium.data.answers import (
    answers_match,
    clean_gsm8k_solution,
    extract_answer,
    extract_boxed,
    extract_gsm8k_answer,
)

SOLUTION = (
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
    "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72"
)


def test_gsm8k_final_answer_strips_commas():
    assert extract_gsm8k_answer(SOLUTION) == "72"
    assert extract_gsm8k_answer("so\n#### 1,200") == "1200"
    assert extract_gsm8k_answer("no final line") is None


def test_boxed_takes_last_and_balances_braces():
    assert extract_boxed(r"first \boxed{1} then \boxed{\frac{3}{4}}.") == r"\frac{3}{4}"
    assert extract_boxed(r"\boxed{x^{2}+1}") == "x^{2}+1"
    assert extract_boxed(r"\boxed{unclosed") is None
    assert extract_boxed("nothing") is None


def test_extract_answer_from_generated_cot():
    assert extract_answer(r"So the total is \boxed{72}.") == "72"
    assert extract_answer("She earns $1,200 in all. The answer is $1,200.") == "1200"
    assert extract_answer("I am not sure.") is None


def test_extract_answer_latex_thousands_separator():
    assert extract_answer(r"So she pays \boxed{9{,}500} dollars.") == "9500"
    assert extract_answer(r"The total is \boxed{1{,}234{,}567}.") == "1234567"


@pytest.mark.parametrize(
    "cot, expected",
    [
        ("She buys 12 eggs and 682 more, so the total = 694.", "694"),  # no box, no "The answer is"
        ("He paid $1,200.50 in all.", "1200.50"),
        ("The total is 1,200, so that is it", "1200"),
        ("It drops to -3 degrees", "-3"),
        ("Each gets 7/2 cups.", "7/2"),
        ("First 9{,}500 then", "9500"),
        ("Choose 3,4", "4"),  # a comma group of other than 3 digits is a list, not thousands
        # the stated answer still wins over a later number
        ("The answer is 72. Check: 24 + 48 = 72, over 3 days", "72"),
        (r"\boxed{5} because 2 + 3", "5"),
    ],
)
def test_extract_answer_falls_back_to_last_number(cot, expected):
    assert extract_answer(cot) == expected


def test_clean_solution_keeps_annotation_positions():
    text, annotations = clean_gsm8k_solution(SOLUTION)
    assert "<<" not in text and "####" not in text
    assert text.endswith("The answer is 72.")
    assert [a for _, a in annotations] == ["48/2=24", "48+24=72"]
    # each annotation stood right before the result it computed
    for pos, expr in annotations:
        result = expr.split("=")[-1]
        assert text[pos : pos + len(result)] == result


@pytest.mark.parametrize(
    "pred, gold",
    [
        ("72", "72"),
        ("1200", "1,200"),
        ("0.75", r"\frac{3}{4}"),
        ("3/4", r"\dfrac{3}{4}"),
        ("25", r"25\%"),
        ("5", "$5"),
        ("5/2", r"2\frac{1}{2}"),
        ("2.5", "2 1/2"),
        ("10", "10 dollars"),
        ("-3", "−3"),
        ("9500", "9{,}500"),
        ("9{,}500", "9500"),
        ("1234567", "1{,}234{,}567"),
        ("45833333333333333/50000000000000000", "0.9166666666666666"),  # exact sum of MAWPS float reprs
        ("1/6", "0.16666666666666666"),
    ],
)
def test_answers_match_equivalent_forms(pred, gold):
    assert answers_match(pred, gold)


@pytest.mark.parametrize("pred, gold", [("73", "72"), (None, "1"), ("", "1"), ("1", ""), ("2 1/2", "21/2"), ("95", "9{,}500"), ("1/3", "0.333"),
                                        ("0.16667", "0.16666666666666666")])
def test_answers_match_rejects(pred, gold):
    assert not answers_match(pred, gold)
