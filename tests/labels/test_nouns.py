"""What a number counts (mycelium.labels.nouns) and the unit_mismatch check built on it."""

from __future__ import annotations

import pytest

from fake_traces import make_trace
from mycelium.labels.assemble import LabelSettings, label_trace
from mycelium.labels.clauses import load_spacy, parse
from mycelium.labels.nouns import Counted, canonical, counted_noun, names_other


@pytest.fixture(scope="module")
def nlp():
    return load_spacy()


def at(text: str, number: str, nth: int = 0) -> Counted:
    start = -1
    for _ in range(nth + 1):
        start = text.index(number, start + 1)
    return Counted.at(text, (start, start + len(number)))


def test_the_counted_noun_is_the_word_right_after_the_number():
    assert counted_noun("he has 2 people", 8) == "person"  # an irregular plural
    assert counted_noun("4 mph", 1) == counted_noun("4 miles per hour", 1) == "mile"  # short forms
    assert counted_noun("a 4-foot board", 3) == "foot"
    assert counted_noun("45 - 5 = 40", 2) is None  # a symbol first
    assert counted_noun("14 plus 12", 2) is None  # arithmetic, not a thing
    assert counted_noun("20 of them", 2) is None  # a stop word
    assert canonical("scarves") == canonical("scarf") and canonical("halves") == canonical("half")


def test_a_cot_count_of_another_thing_than_the_written_number_is_flagged():
    problem = "Lola and Dora bought a deck of cards for $10, they also bought $2 boxes of stickers and split them."
    cot = "They each have $9/person x 2 people = $18 to spend."
    assert names_other(at(cot, "2"), at(problem, "$2"))
    # the same thing, or a paraphrase that keeps one side's word, agrees
    assert not names_other(at("She bought 2 boxes of stickers", "2"), at(problem, "$2"))
    assert not names_other(at("Tayzia's two daughters' haircuts", "two"), at("Tayzia and her two young daughters", "two"))
    assert not names_other(at("10 mph - 4 mph = 6 mph", "4"), at("at 4 miles per hour", "4"))
    # a number the CoT or the text names nothing with is never flagged
    assert not names_other(at("45 - 5 = 40", "5"), at(problem, "$2"))


def test_unit_mismatch_is_counted_and_rejects_only_when_asked(nlp):
    text = "Mr. Fletcher's mom, dad, grandma and three little sisters go to the show. Tickets cost $12 per adult. How much do the adults' tickets cost?"
    solution = "The cost for 3 adults will be $12/adult x 3 adults = $<<12*3=36>>36\n#### 36"
    trace = make_trace(text=text, solution=solution, gold="36", focus=())
    (parsed,) = parse([text], nlp, LabelSettings().clauses)
    record, d = label_trace(trace, parsed, LabelSettings())
    assert record.validated and d.checks["unit_mismatch"] == 1  # the 3 adults are not the three sisters
    strict = LabelSettings(reject_checks=LabelSettings().reject_checks + ("unit_mismatch",))
    record, _ = label_trace(trace, parsed, strict)
    assert not record.validated and record.reason == "check_unit_mismatch"
