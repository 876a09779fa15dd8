"""Grounding by position and meaning: each error kind of the label audit, with the right value.

Real problem texts and GSM8K-style solutions, labelled end to end (real spaCy parse,
synthetic attention), plus the ``Grounder`` on its own.
"""

from fractions import Fraction

import pytest

from fake_traces import make_trace
from mycelium.labels.args import extract_numbers, implicit_operands
from mycelium.labels.assemble import LabelSettings, label_trace
from mycelium.labels.clauses import load_spacy, parse
from mycelium.labels.grounding import Grounder, Mention, context_words, is_relation, unit_words


@pytest.fixture(scope="module")
def nlp():
    return load_spacy()


def label(text, solution, gold, nlp, **kw):
    trace = make_trace(text=text, solution=solution, gold=gold, focus=())
    settings = LabelSettings(**kw)
    (parsed,) = parse([text], nlp, settings.clauses)
    return label_trace(trace, parsed, settings)[0]


def words(text, arg):
    return text[arg.span[0]:arg.span[1]] if arg.span else None


def test_unannotated_sum_is_a_step_not_a_written_number(nlp):
    # kind 1: the solution sums 100+20+80 without an annotation; "$200" is a price of
    # the same value, and grounding the 200 to it would validate a wrong DAG
    text = "Mia pays $100 for a coat, $20 for a hat and $80 for shoes. A dress costs $200. How much did she spend on the coat, hat and shoes and the dress?"
    solution = ("The coat, hat and shoes cost 100+20+80 = 200 dollars.\n"
                "With the dress she spent 200+200 = <<200+200=400>>400 dollars.\n#### 400")
    flagged = label(text, solution, "400", nlp)  # "$200" equals a result: the check rejects it
    assert flagged.reason == "check_value_coincidence"
    r = label(text, solution, "400", nlp, reject_checks=())
    assert r.validated, r.reason
    assert [s.op for s in r.steps] == ["ADD", "ADD"]
    assert [words(text, a) for a in r.steps[0].args] == ["$100", "$20", "$80"]
    first, second = r.steps[1].args
    assert first.kind == "result" and first.step == 0
    assert words(text, second) == "$200"


def test_each_equal_value_goes_to_its_own_occurrence(nlp):
    # kind 2: "3*2" pages per friend is twice a week; "6*2" is the 2 friends, not the
    # "twice" step 1 already used
    text = "James writes a 3-page letter to 2 different friends twice a week. How many pages does he write a year?"
    solution = ("He writes each friend 3*2=<<3*2=6>>6 pages a week.\n"
                "So he writes 6*2=<<6*2=12>>12 pages every week.\n"
                "That means he writes 12*52=<<12*52=624>>624 pages a year.\n#### 624")
    r = label(text, solution, "624", nlp, reject_checks=())
    assert r.answer == "624"
    assert r.steps[0].args[1].kind == "implicit" and words(text, r.steps[0].args[1]) == "twice"
    assert r.steps[1].args[1].kind == "number" and words(text, r.steps[1].args[1]) == "2"


def test_one_occurrence_is_not_both_operands_when_the_cot_names_the_other(nlp):
    # kind 2: "5 periods * $5 / period": the dollar amount is the second 5
    text = "A teacher teaches 5 periods a day and works 24 days a month. He is paid $5 per period. How much does he earn in a month?"
    solution = ("The amount paid per day is 5 periods * $5 / period = $<<5*5=25>>25 per day.\n"
                "The amount for 24 days is $25 / day * 24 days = $<<25*24=600>>600.\n#### 600")
    r = label(text, solution, "600", nlp, reject_checks=())
    assert r.validated, r.reason
    assert [words(text, a) for a in r.steps[0].args] == ["5", "$5"]


def test_a_percentage_is_taken_over_an_equal_number_before_it(nlp):
    # kind 2: "30-second" comes first, but the op divides by 100: "30%" is meant
    text = "A 30-second video clip costs $50. The store gives a 30% discount. How much is the discount?"
    solution = "The discount is 50*30/100 = $<<50*30/100=15>>15.\n#### 15"
    r = label(text, solution, "15", nlp, reject_checks=())
    assert r.answer == "15"
    grounded = [words(text, a) for s in r.steps for a in s.args if a.span]
    assert "30%" in grounded and "30" not in grounded


def test_a_written_number_does_not_stand_in_for_a_fraction_word(nlp):
    # kind 1: "Cori is 3" is not the 3 of "one-third"
    text = "Cori is 3 years old today. In 5 years, she will be one-third the age of her aunt. How old is her aunt today?"
    solution = ("In 5 years, Cori will be 3 + 5 = <<3+5=8>>8 years old.\n"
                "In 5 years, Cori's aunt will be 8 x 3 = <<8*3=24>>24 years old.\n"
                "Today, her aunt is 24 - 5 = <<24-5=19>>19 years old.\n#### 19")
    r = label(text, solution, "19", nlp, reject_checks=())
    assert r.answer == "19"
    mul = r.steps[1]
    assert mul.args[1].kind == "implicit" and words(text, mul.args[1]) == "third"
    assert "one-third" in text[mul.region[0]:mul.region[1]]


def test_region_holds_the_relation_word_not_only_an_operand(nlp):
    # kind 3: "three times as much" is where the op is stated, not "caught 2 trouts"
    text = "Tom caught 2 trouts. His dad caught three times as much as Tom. How many trouts did his dad catch?"
    solution = "His dad caught 2*3=<<2*3=6>>6 trouts.\n#### 6"
    r = label(text, solution, "6", nlp)
    assert r.validated, r.reason
    (mul,) = r.steps
    assert "times" in text[mul.region[0]:mul.region[1]]


@pytest.mark.parametrize("annotation", ["25/100*80=20", "80*.25=20", "80*25*.01=20", ".25*80=20"])
def test_percentages_have_one_encoding(nlp, annotation):
    # kind 5: every way GSM8K writes 25% of 80 labels as one MUL(80, "25%" = 1/4)
    text = "A shop has 80 apples. It sells 25% of them. How many apples does it sell?"
    solution = f"It sells <<{annotation}>>20 apples.\n#### 20"
    r = label(text, solution, "20", nlp, reject_checks=())
    assert r.answer == "20", r.reason
    (mul,) = r.steps
    assert mul.op == "MUL"
    assert sorted((words(text, a), a.value) for a in mul.args) == [("25%", "1/4"), ("80", "80")]


def test_a_fraction_split_by_the_parser_is_one_operand(nlp):
    # kind 5: "24*1/4" parses as (24*1)/4; the label is MUL(24, "1/4"), no "x1" step
    text = "Sam had 24 diaries and lost 1/4 of them. How many did he lose?"
    solution = "He lost 24*1/4 = <<24*1/4=6>>6 diaries.\n#### 6"
    r = label(text, solution, "6", nlp, reject_checks=())
    assert r.answer == "6"
    (mul,) = r.steps
    assert sorted(words(text, a) for a in mul.args) == ["1/4", "24"]


def test_a_tie_between_occurrences_is_rejected_not_guessed(nlp):
    text = "Ann has 7 red pens. Bob has 7 blue pens. Carl has 10 pens. How many more pens does Carl have than Ann?"
    solution = "Carl has 10-7=<<10-7=3>>3 more.\n#### 3"
    r = label(text, solution, "3", nlp)
    assert not r.validated and r.reason == "ambiguous_grounding"


def test_both_occurrences_taken_by_one_step_is_no_tie(nlp):
    text = "Ann has 5 red pens and 5 blue pens. How many pens does she have?"
    solution = "She has 5+5=<<5+5=10>>10 pens.\n#### 10"
    r = label(text, solution, "10", nlp)
    assert r.validated, r.reason
    assert {a.span for a in r.steps[0].args} == {a.span for a in extract_numbers(text)}


def test_grounder_scores_the_cot_mention_and_keeps_a_step_to_one_occurrence():
    text = "A teacher teaches 5 periods a day. He is paid $5 per period."
    g = Grounder(text, extract_numbers(text), implicit_operands(text))
    context = context_words("The amount paid per day is 5 periods * $5 / period")
    first = g.ground(Fraction(5), "MUL", context, [], set(), mention=Mention(False, frozenset({"period"})))
    assert first.arg.text == "5"
    second = g.ground(Fraction(5), "MUL", context, [], {first.arg.span}, mention=Mention(True, frozenset({"period"})))
    assert second.arg.text == "$5"
    assert g.ground(Fraction(7), "MUL", context, [], set()).arg is None


def test_grounder_prefers_an_earlier_result_to_an_unrelated_number():
    text = "She has 20 apples and buys 4 bags of 5 apples."
    g = Grounder(text, extract_numbers(text), implicit_operands(text))
    choice = g.ground(Fraction(20), "ADD", context_words("She has 20+20 = 40 apples"), [Fraction(20)], set(), recovered=frozenset({0}))
    assert choice.arg.kind == "result" and choice.arg.step == 0


def test_unit_words_and_relation_words():
    text = "He buys 2 large pizzas and 2 small pizzas."
    spans = [a.span for a in extract_numbers(text)]
    assert "larg" in "".join(unit_words(text, spans[0])) and "small" in unit_words(text, spans[1])
    half, dozen = implicit_operands("half a dozen")
    assert is_relation(half) and not is_relation(dozen)


def test_a_sum_stated_across_conjuncts_of_one_sentence_takes_both(nlp):
    text = "On Monday it rained 4 inches and on Tuesday it rained 3 inches. How many inches did it rain?"
    solution = "It rained 4+3=<<4+3=7>>7 inches.\n#### 7"
    r = label(text, solution, "7", nlp)
    assert r.validated, r.reason
    (add,) = r.steps
    region = text[add.region[0]:add.region[1]]
    assert "4 inches" in region and "3 inches" in region


def test_a_unit_word_loses_to_a_written_number_of_its_value():
    # audit 5, problem 832: the 1000 is the "1000 balloons", not "liters" = 1000
    text = "John buys 1000 balloons. Each balloon holds 10 liters of air."
    g = Grounder(text, extract_numbers(text), implicit_operands(text))
    choice = g.ground(Fraction(1000), "MUL", context_words("He needs 1000*10 = 10000 liters"), [], set())
    assert choice.arg.text == "1000" and not choice.rivals
    # with no written 1000 the unit word still grounds it
    text = "Each balloon holds 10 liters of air."
    g = Grounder(text, extract_numbers(text), implicit_operands(text))
    assert g.ground(Fraction(1000), "MUL", frozenset(), [], set()).arg.text == "liters"
    # a relation word keeps its preference over a written number ("Cori is 3", "one-third")
    text = "Cori is 3 years old. Her aunt ate one-third of 12 pies."
    g = Grounder(text, extract_numbers(text), implicit_operands(text))
    assert g.ground(Fraction(3), "DIV", frozenset(), [], set()).arg.kind == "implicit"
