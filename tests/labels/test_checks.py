"""Automatic label checks (mycelium.labels.checks) on hand-built records."""

from dataclasses import replace

import pytest

from mycelium.dag.steps import Arg, Step
from mycelium.labels.checks import (CHECKS, check_record, in_question, is_foreign, is_question, reaches, states_sum, takes_part, total,
                                     unused_unit_rates)
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
        "same_span_twice": 0, "repeated_occurrence": 0, "self_product": 0, "computed_literal": 0, "twin_unread": 0,
        "value_coincidence": 0,
        "equals_result": 0, "result_elsewhere": 0, "solves_equation": 0, "relation_reused": 0,
        "shared_region": 0,
        "fragment_region": 0, "fraction_part": 0,
        "foreign_region": 0, "final_in_question": 1}


def test_each_check_flags_its_shape(parsed):
    twice = Step(0, "ADD", [num("12"), num("12")], "24", region=MON)
    assert check_record(record([twice]), parsed)["same_span_twice"] == 1
    coincidence = [Step(0, "ADD", [num("12"), num("12", 20)], "12", region=MON),
                   Step(1, "MUL", [Arg("result", "12", step=0), num("12", 20)], "144", region=TUE)]
    assert check_record(record(coincidence), parsed)["equals_result"] == 1
    assert check_record(record(coincidence), parsed)["result_elsewhere"] == 0  # 12 (result) x 12 (written): one step
    elsewhere = coincidence + [Step(2, "ADD", [num("12", 20), Arg("result", "144", step=1)], "156", region=TUE)]
    assert check_record(record(elsewhere), parsed)["result_elsewhere"] == 1  # the written 12 where a result is 12
    solved = "Let x be the third number.\nx + 2x = 300\nThis is 3x=300\nx = 300/3 = <<300/3=100>>100"
    assert check_record(record(coincidence), parsed, solved)["solves_equation"] == 1
    assert check_record(record(coincidence), parsed, "He walks 50m + 50m = <<50+50=100>>100 meters")["solves_equation"] == 0
    symbolic = [Step(0, "POW", [num("12")], "\\left(\\frac{1}{3}\\right)^{x}", region=MON),
                Step(1, "MUL", [Arg("result", "\\left(\\frac{1}{3}\\right)^{x}", step=0), num("12", 20)], "12", region=TUE)]
    assert check_record(record(symbolic), parsed)["result_elsewhere"] == 0  # a MATH value that is no number
    assert check_record(record(coincidence), parsed)["value_coincidence"] == 0  # no unused rate of 1
    shared = [Step(0, "MUL", [num("12")], "12", region=MON), Step(1, "MUL", [num("12", 20)], "12", region=MON)]
    assert check_record(record(shared), parsed)["shared_region"] == 2
    fragment = [Step(0, "ADD", [num("12"), num("12", 20)], "24", region=span("12 miles"))]
    assert check_record(record(fragment), parsed)["fragment_region"] == 1


def test_a_relation_word_read_by_two_steps_is_flagged():
    # audit 29: "twice as much ... another set" read as x "twice" x "twice"
    text = "Kobe ordered five pieces, and Pau ordered twice as much as Kobe did. If they order another set, how many?"
    twice = Arg("implicit", "2", text="twice", span=(text.index("twice"), text.index("twice") + 5))
    five = Arg("number", "5", text="five", span=(13, 17))
    steps = [Step(0, "MUL", [five, twice], "10"), Step(1, "MUL", [Arg("result", "10", step=0), twice], "20")]
    (p,) = parse([text], load_spacy())
    reused = LabelRecord("t", text, "20", steps, "20", True)
    assert check_record(reused, p)["relation_reused"] == 1
    # a recurring relation ("doubles each hour") and one word for two quantities are not flagged
    text2 = "The 50 ants double each hour. How many after 2 hours?"
    double = Arg("implicit", "2", text="double", span=(text2.index("double"), text2.index("double") + 6))
    fifty = Arg("number", "50", text="50", span=(4, 6))
    (p2,) = parse([text2], load_spacy())
    chain = [Step(0, "MUL", [fifty, double], "100"), Step(1, "MUL", [Arg("result", "100", step=0), double], "200")]
    assert check_record(LabelRecord("t", text2, "200", chain, "200", True), p2)["relation_reused"] == 0
    text3 = "Sally makes $6 and Bob makes $4, and both save half. How much do they save?"
    half = Arg("implicit", "1/2", text="half", span=(text3.index("half"), text3.index("half") + 4))
    six, four = (Arg("number", v, text=f"${v}", span=(text3.index(f"${v}"), text3.index(f"${v}") + 2)) for v in "64")
    (p3,) = parse([text3], load_spacy())
    both = [Step(0, "MUL", [half, six], "3"), Step(1, "MUL", [half, four], "2")]
    assert check_record(LabelRecord("t", text3, "5", both, "5", True), p3)["relation_reused"] == 0
    both[1] = Step(1, "MUL", [half, six], "3")  # the same quantity halved again
    assert check_record(LabelRecord("t", text3, "3", both, "3", True), p3)["relation_reused"] == 1
    # a unit's size or the "%" of a percentage read twice is no relation read twice
    week = replace(twice, text="week", value="7")
    assert check_record(replace(reused, steps=[replace(s, args=[a if a is not twice else week for a in s.args])
                                               for s in steps]), p)["relation_reused"] == 0


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


def _finders(text):
    """Span of a word's first occurrence in ``text``, and a written-number Arg on it."""
    at = lambda w: (text.index(w), text.index(w) + len(w))  # noqa: E731
    return at, lambda w: Arg("number", w, text=w, span=at(w))


def test_a_region_from_another_steps_clause_is_foreign():
    # audit 5, problem 3983: the dessert eggs 6 x 5 got the savory clause ("8 eggs each")
    text = ("Each savory souffle calls for 8 eggs each and the dessert ones call for 6 eggs each. "
            "She wants to make 3 savory souffles and 5 dessert souffles. How many eggs will she need?")
    (p,) = parse([text], load_spacy())
    at, arg = _finders(text)
    savory, dessert = at("Each savory souffle calls for 8 eggs each"), at("the dessert ones call for 6 eggs each")
    steps = [Step(0, "MUL", [arg("8"), arg("3")], "24", region=savory),
             Step(1, "MUL", [arg("6"), arg("5")], "30", region=savory),
             Step(2, "ADD", [Arg("result", "24", step=0), Arg("result", "30", step=1)], "54",
                  region=at("How many eggs will she need"))]
    assert [is_foreign(p, steps, k, s.region, 2) for k, s in enumerate(steps)] == [False, True, False]
    assert not is_foreign(p, steps, 1, dessert, 2)
    # the question is the last step's, not an earlier step's with operands of its own
    assert is_foreign(p, steps, 0, steps[2].region, 2)
    assert check_record(LabelRecord("t", text, "54", steps, "54", True), p)["foreign_region"] == 1


def test_a_part_of_the_asked_sum_may_sit_in_the_question_but_a_comparison_may_not():
    text = ("Her sister has two more dolls than their grandmother. If their grandmother has 50 dolls, "
            "how many dolls do they have altogether?")
    (p,) = parse([text], load_spacy())
    at, arg = _finders(text)
    question = at("how many dolls do they have altogether")
    steps = [Step(0, "ADD", [arg("50"), arg("two")], "52", region=question),
             Step(1, "ADD", [Arg("result", "52", step=0), arg("50")], "102", region=question),
             Step(2, "MUL", [Arg("result", "102", step=1), arg("two")], "204", region=question)]
    assert states_sum(p, steps, 1, question, 2) and not is_foreign(p, steps, 1, question, 2)
    assert not states_sum(p, steps, 0, question, 2)  # "two more ... than": the sister's own comparison
    assert is_foreign(p, steps, 0, question, 2)
    assert reaches(steps, 0, 2) and not reaches(steps, 2, 1)


def test_the_clause_that_takes_a_part_states_the_rest_and_is_not_foreign():
    text = "Harly's animal shelter has 80 dogs. She adopts out 40% of them. How many dogs does she have now?"
    (p,) = parse([text], load_spacy())
    at, arg = _finders(text)
    part = at("She adopts out 40% of them")
    steps = [Step(0, "MUL", [arg("80"), arg("40%")], "32", region=part),
             Step(1, "SUB", [arg("80"), Arg("result", "32", step=0)], "48", region=part),
             Step(2, "SUB", [Arg("result", "32", step=0), arg("80")], "-48", region=part)]
    assert takes_part(steps, 1, part) and not is_foreign(p, steps, 1, part, None)
    assert not takes_part(steps, 2, part)  # 32 - 80 takes no part of 32
    assert not takes_part(steps, 1, at("Harly's animal shelter has 80 dogs"))


def test_an_unused_rate_of_one_is_a_value_coincidence():
    # audit 5, problem 173: the turtle's 20 s is 20 ft / (1 foot/second), grounded to the "20"
    text = ("A hare runs 10 feet/second and a turtle crawls 1 foot/second. If they run a 20 foot-race, "
            "how much of a head start does the turtle need?")
    i20, i10 = text.index("20"), text.index("10")
    steps = [Step(0, "DIV", [Arg("number", "20", "20", (i20, i20 + 2)), Arg("number", "10", "10", (i10, i10 + 2))], "2"),
             Step(1, "SUB", [Arg("number", "20", "20", (i20, i20 + 2)), Arg("result", "2", step=0)], "18")]
    r = LabelRecord("t", text, "18", steps, "18", True)
    assert unused_unit_rates(r) == 1
    assert unused_unit_rates(LabelRecord("t", "She has 1 dog and 1 1/2 cats.", "1", [], "1", True)) == 0
    assert unused_unit_rates(LabelRecord("t", "It costs $1 per ball bearing.", "1", [], "1", True)) == 1


def test_one_occurrence_read_twice_beside_another_of_its_value_is_a_repeated_occurrence():
    # "2 x 2" penthouse units read from "only 2 units" twice while "the top 2 floors" is there
    text = ("A new condo development has 23 floors. Regular floors have 12 units, whereas penthouse floors have "
            "only 2 units. If the top 2 floors are assigned for penthouse units, how many units does this condo have?")
    (parsed,) = parse([text], load_spacy())
    two = text.index("2 units")
    units = Arg("number", "2", text="2", span=(two, two + 1))
    steps = [Step(0, "MUL", [units, units], "4", region=(0, len(text)))]
    rec = LabelRecord("t", text, "4", steps, "4", True)
    assert check_record(rec, parsed)["repeated_occurrence"] == 1
    assert check_record(rec, parsed)["same_span_twice"] == 1
    # "12 + 12" of one "12 miles" when nothing else is 12: worth a look, not a repeated occurrence
    text = "Sam walks 12 miles to the lake and back. How far does he walk?"
    (parsed,) = parse([text], load_spacy())
    twelve = Arg("number", "12", text="12", span=(10, 12))
    rec = LabelRecord("t", text, "24", [Step(0, "ADD", [twelve, twelve], "24", region=(0, 39))], "24", True)
    assert check_record(rec, parsed)["repeated_occurrence"] == 0 and check_record(rec, parsed)["same_span_twice"] == 1
    # ... but it is one when an earlier step computed a 12: that result is the other operand
    result = [Step(0, "MUL", [Arg("number", "4", text="4", span=None), Arg("number", "3", text="3", span=None)], "12"),
              Step(1, "ADD", [twelve, twelve], "24", region=(0, 39))]
    assert check_record(LabelRecord("t", text, "24", result, "24", True), parsed)["repeated_occurrence"] == 1


def test_one_occurrence_read_by_two_steps_beside_an_unread_twin_is_flagged():
    # gsm8k/train/59: "gave 15 of them" read for the first hour's 15 too; "collected 15 coins" read by no step
    text = ("During the first hour, she collected 15 coins. For the next two hours, she collected 35 coins. In the "
            "fourth hour, she collected 50 coins but she gave 15 of them to her coworker. How many coins did she have?")
    (parsed,) = parse([text], load_spacy())
    def at(word, start=0):
        i = text.index(word, start)
        return Arg("number", word.strip("$%"), text=word, span=(i, i + len(word)))

    gave, first = at("15", text.index("gave")), at("15")
    total = Step(0, "ADD", [gave, at("35"), at("35"), at("50")], "135")
    left = Step(1, "SUB", [Arg("result", "135", step=0), gave], "120")
    assert check_record(LabelRecord("t", text, "120", [total, left], "120", True), parsed)["twin_unread"] == 1
    # the right reading takes each occurrence once: nothing is flagged
    total = replace(total, args=[first, at("35"), at("35"), at("50")])
    assert check_record(LabelRecord("t", text, "120", [total, left], "120", True), parsed)["twin_unread"] == 0
    # a twin written another way is no twin: "$7 a slice" read twice beside "7 pies" is not flagged
    text = "Slices are $7 a slice. Each pie is cut into 6 slices. If she sells 7 pies, how much does she make?"
    (parsed,) = parse([text], load_spacy())
    price = at("$7")
    steps = [Step(0, "MUL", [price, at("6")], "42"), Step(1, "MUL", [Arg("result", "42", step=0), price], "294")]
    assert check_record(LabelRecord("t", text, "294", steps, "294", True), parsed)["twin_unread"] == 0
    # "20%" read by both fees while "another 20%" is read by none is flagged; a step reading one occurrence twice is not
    text = "He is charged a 20% fee. Then he adds $20. He is hit with another 20% fee. What does he owe?"
    (parsed,) = parse([text], load_spacy())
    fee = at("20%")
    steps = [Step(0, "MUL", [fee, at("$20")], "4"), Step(1, "MUL", [Arg("result", "4", step=0), fee], "4/5")]
    assert check_record(LabelRecord("t", text, "4/5", steps, "4/5", True), parsed)["twin_unread"] == 1
    steps = [Step(0, "MUL", [fee, fee], "1/25")]
    assert check_record(LabelRecord("t", text, "1/25", steps, "1/25", True), parsed)["twin_unread"] == 0


def test_a_product_of_one_occurrence_is_a_self_product_unless_the_sentence_squares_or_cubes():
    # "2 x 2" legs of Johnny and his son read from the "two" of "two dogs"
    text = "Johnny is out walking his two dogs at night, and his son joins him for the walk. How many legs are there?"
    (parsed,) = parse([text], load_spacy())
    two = text.index("two")
    dogs = Arg("number", "2", text="two", span=(two, two + 3))
    rec = LabelRecord("t", text, "4", [Step(0, "MUL", [dogs, dogs], "4", region=(0, 42))], "4", True)
    assert check_record(rec, parsed)["self_product"] == 1
    # a sum of one occurrence is not a product ("there and back")
    rec = LabelRecord("t", text, "4", [Step(0, "ADD", [dogs, dogs], "4", region=(0, 42))], "4", True)
    assert check_record(rec, parsed)["self_product"] == 0
    # the area of a square and the volume of a cube read one side twice or three times
    for text, side in (("A floor is covered with a square carpet with 4 m sides. How much is uncovered?", "4"),
                       ("Bob has a cube of silver that measures 3 inches on each side. What is it worth?", "3")):
        (parsed,) = parse([text], load_spacy())
        at = text.index(side)
        arg = Arg("number", side, text=side, span=(at, at + 1))
        steps = [Step(0, "MUL", [arg, arg, arg], str(int(side) ** 3), region=(0, len(text)))]
        assert check_record(LabelRecord("t", text, "1", steps, "1", True), parsed)["self_product"] == 0


def test_a_math_expression_read_twice_is_not_a_repeated_occurrence():
    # MATH operands may be expressions ("x^2+1"): they have no value to compare, and no crash
    text = "Let f(x) = x^2+1. Find f(x) times f(x) when x = 2."
    (parsed,) = parse([text], load_spacy())
    i = text.index("x^2+1")
    expr = Arg("expr", "x^2+1", text="x^2+1", span=(i, i + 5))
    rec = LabelRecord("t", text, "25", [Step(0, "MUL", [expr, expr], "x^4+2x^2+1", region=(0, len(text)))], "25", True)
    assert check_record(rec, parsed)["repeated_occurrence"] == 0 and check_record(rec, parsed)["same_span_twice"] == 1


def test_a_written_number_the_math_solution_computes_is_a_computed_literal():
    # the solution computes C(5,2) = 10 pairs of girls; the "10" of "10 members" only has its value
    text = "A club has 10 members, 5 boys and 5 girls. Two members are chosen at random. What is the probability that they are both girls?"
    cot = "There are $\\binom{5}{2} = 10$ ways to choose two girls and $\\binom{10}{2} = 45$ ways in all, so $\\frac{10}{45} = \\frac{2}{9}$."
    (parsed,) = parse([text], load_spacy())
    ten = Arg("number", "10", text="10", span=(11, 13))
    steps = [Step(0, "BINOM", [ten, Arg("number", "2", text="Two", span=(text.index("Two"), text.index("Two") + 3))], "45"),
             Step(1, "DIV", [ten, Arg("result", "45", step=0)], "2/9", region=(0, len(text)))]
    rec = LabelRecord("t", text, "2/9", steps, "2/9", True, type="Counting & Probability")
    assert check_record(rec, parsed, cot)["computed_literal"] == 2
    assert check_record(rec, parsed)["computed_literal"] == 0  # no solution, nothing to read
    # a solution that restates a given ("$x = 10$") or names a variable computes nothing
    assert check_record(rec, parsed, "Since $n = 10$ and $k = 10$, the answer is $\\frac{2}{9}$.")["computed_literal"] == 0
    # GSM8K records (no subject) are left to the arithmetic checks
    gsm = LabelRecord("t", text, "2/9", steps, "2/9", True)
    assert check_record(gsm, parsed, cot)["computed_literal"] == 0


def test_a_condition_before_the_question_phrase_is_not_the_question():
    # "If Laurel earned $30000 in 2014" states data; the question begins at "calculate"
    text = ("Kendra made 20% more money than Laurel made in 2014. If Laurel earned $30000 in 2014, calculate "
            "Kendra's total earnings in the two years.")
    (parsed,) = parse([text], load_spacy())
    cond = text.index("If Laurel"), text.index(" in 2014,") + len(" in 2014")
    ask = text.index("calculate"), len(text) - 1
    assert not in_question(parsed, cond)
    assert in_question(parsed, ask)
    # a step on "$30000" whose region is the condition holds its own operand: not foreign
    s0 = Step(0, "MUL", [Arg("number", "1/5", "20%", (text.index("20%"), text.index("20%") + 3)),
                         Arg("number", "30000", "$30000", (text.index("$30000"), text.index("$30000") + 6))], "6000")
    s1 = Step(1, "ADD", [s0.args[1], Arg("result", "6000", step=0)], "36000")
    assert not is_foreign(parsed, [s0, s1], 1, cond, None)
