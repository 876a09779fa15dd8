"""Automatic label checks (mycelium.labels.checks) on hand-built records."""

import pytest

from mycelium.dag.steps import Arg, Step
from mycelium.labels.checks import CHECKS, check_record, is_question, total
from mycelium.labels.clauses import load_spacy, parse
from mycelium.records.labels import LabelRecord

TEXT = "Sam walks 12 miles on Monday. He runs 12 miles on Tuesday and rests. How many miles does he cover?"


@pytest.fixture(scope="module")
def parsed():
    (p,) = parse([TEXT], load_spacy())
    return p


def span(word, start=0):
    i = TEXT.index(word, start)
    return (i, i + len(word))


def num(word, start=0):
    return Arg("number", word, text=word, span=span(word, start))


def record(steps):
    return LabelRecord("t", TEXT, "24", steps, "24", True)


MON = span("Sam walks 12 miles on Monday")
TUE = span("He runs 12 miles on Tuesday")
Q = span("How many miles does he cover")


def test_clean_record_flags_nothing_and_counts_the_question(parsed):
    steps = [Step(0, "ADD", [num("12"), num("12", 20)], "24", region=Q)]
    assert check_record(record(steps), parsed) == {
        "same_span_twice": 0, "value_coincidence": 0, "shared_region": 0, "fragment_region": 0, "fraction_part": 0,
        "final_in_question": 1}


def test_each_check_flags_its_shape(parsed):
    twice = Step(0, "ADD", [num("12"), num("12")], "24", region=MON)
    assert check_record(record([twice]), parsed)["same_span_twice"] == 1
    coincidence = [Step(0, "ADD", [num("12"), num("12", 20)], "12", region=MON),
                   Step(1, "MUL", [Arg("result", "12", step=0), num("12", 20)], "144", region=TUE)]
    assert check_record(record(coincidence), parsed)["value_coincidence"] == 1
    shared = [Step(0, "MUL", [num("12")], "12", region=MON), Step(1, "MUL", [num("12", 20)], "12", region=MON)]
    assert check_record(record(shared), parsed)["shared_region"] == 2
    fragment = [Step(0, "ADD", [num("12"), num("12", 20)], "24", region=span("12 miles"))]
    assert check_record(record(fragment), parsed)["fragment_region"] == 1


def test_questions_and_totals():
    assert is_question(TEXT, Q)
    assert is_question("If so, calculate her total income.", (0, 33))
    assert not is_question(TEXT, MON)
    assert total([{"shared_region": 2}, {"shared_region": 1, "fragment_region": 1}])["shared_region"] == 3
    assert set(total([])) == set(CHECKS)


def test_a_digit_of_a_written_fraction_is_flagged(parsed):
    text = "Ann ate 1/2 of a pie and 2 apples."
    two = Arg("number", "2", text="2", span=(text.index("1/2") + 2, text.index("1/2") + 3))
    whole = Arg("number", "1/2", text="1/2", span=(text.index("1/2"), text.index("1/2") + 3))
    rec = lambda arg: LabelRecord("t", text, "1", [Step(0, "MUL", [arg, arg], "1", region=(0, len(text)))], "1", True)  # noqa: E731
    (p,) = parse([text], load_spacy())
    assert check_record(rec(two), p)["fraction_part"] == 1
    assert check_record(rec(whole), p)["fraction_part"] == 0
