from fractions import Fraction as F

import pytest

from mycelium.labels.args import IMPLICIT, alternatives, extract_numbers, implicit_operands, is_conversion, match_operand
from mycelium.dag.steps import Arg

PROBLEM = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "Tickets cost $1,200.50 plus a 25% fee; .25 of them and 3/4 of a cup, 1 1/2 hours later "
    "forty-five pens, a hundred and twelve cars, twelve eggs."
)


def _values(args):
    return [(a.text, F(a.value)) for a in args]


def _check_spans(args, text, offset=0):
    for a in args:
        assert text[a.span[0] - offset : a.span[1] - offset] == a.text


def test_extract_numbers():
    args = extract_numbers(PROBLEM)
    assert _values(args) == [
        ("48", F(48)),
        ("$1,200.50", F(240100, 200)),
        ("25%", F(25)),
        (".25", F(1, 4)),
        ("3/4", F(3, 4)),
        ("1 1/2", F(3, 2)),
        ("forty-five", F(45)),
        ("a hundred and twelve", F(112)),
        ("twelve", F(12)),
    ]
    assert all(a.kind == "number" for a in args)
    _check_spans(args, PROBLEM)


def test_offset_shifts_spans():
    region_start = PROBLEM.index("Tickets")
    region = PROBLEM[region_start:]
    args = extract_numbers(region, offset=region_start)
    _check_spans(args, PROBLEM)  # spans index the full problem text
    assert args[0].text == "$1,200.50"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("He earns $12 an hour", [("$12", 12)]),
        ("1,000,000 people", [("1,000,000", 1000000)]),
        ("0.5 liters", [("0.5", F(1, 2))]),
        ("5 percent", [("5 percent", 5)]),
        ("a 120-page book", [("120", 120)]),
        ("the 4th day and the 1st, 2nd and 3rd", []),  # ordinals are not numbers
        ("the first and the second", []),
        ("one hundred and five", [("one hundred and five", 105)]),
        ("twenty one", [("twenty one", 21)]),
        ("five six", [("five", 5), ("six", 6)]),
        ("often, someone", []),  # no number words inside other words
        ("3/4/2020", []),  # a date, not a fraction
        # a fraction written as an ordinal is the fraction (20 GSM8K train problems); "4th" is no number
        ("1/10th the size, 1/3rd of tips, the 4th day", [("1/10th", F(1, 10)), ("1/3rd", F(1, 3))]),
        # a rate written with a slash is its number: 45 GSM8K train problems ("$4/pound")
        ("for $4/pound, $15,000/year or 12/hr", [("$4", 4), ("$15,000", 15000), ("12", 12)]),
        ("It is 5.", [("5", 5)]),
        # thousands commas stay one number; any other comma group is a list
        ("1,200 people", [("1,200", 1200)]),
        ("Tickets cost $1,200.50", [("$1,200.50", F(2401, 2))]),
        ("25% of them", [("25%", 25)]),
        ("1 1/2 hours", [("1 1/2", F(3, 2))]),
        ("Choose 3,4 or 5 apples", [("3", 3), ("4", 4), ("5", 5)]),
        ("3, 4 and 5", [("3", 3), ("4", 4), ("5", 5)]),
        ("1,2345 and 1,23", [("1", 1), ("2345", 2345), ("1", 1), ("23", 23)]),
        ("It was 1,200, then 3.", [("1,200", 1200), ("3", 3)]),
        # a clock time is one quantity: the hours on the clock, am/pm kept in the text only
        ("She left at 3:30 pm and came back", [("3:30 pm", F(7, 2))]),
        ("from 10:45 to 11:00", [("10:45", F(43, 4)), ("11:00", 11)]),
        ("at 9:00 a.m. sharp", [("9:00 a.m.", 9)]),
        ("at 8:15am", [("8:15am", F(33, 4))]),
        ("at 15:30", [("15:30", F(31, 2))]),
        ("the clock read 12:15:30", [("12:15:30", 12 + F(15, 60) + F(30, 3600))]),
        ("3:30 amounts", [("3:30", F(7, 2))]),  # "am" only as a word of its own
        ("the ratio is 3:2", [("3", 3), ("2", 2)]),  # not a time: minutes have two digits
        ("25:30", [("25", 25), ("30", 30)]),  # no hour 25
    ],
)
def test_number_forms(text, expected):
    args = extract_numbers(text)
    assert [(a.text, F(a.value)) for a in args] == [(t, F(v)) for t, v in expected]
    _check_spans(args, text)


def test_implicit_operands():
    text = ("She sold half as many, twice as many, a dozen eggs, a third of them, the third day, 25% off, for 2 weeks"
            " to a couple.")
    args = implicit_operands(text, offset=7)
    got = [(a.text, F(a.value)) for a in args]
    assert got == [
        ("half", 2), ("twice", 2), ("dozen", 12), ("third", 3), ("day", 24), ("%", 100), ("weeks", 7), ("couple", 2),
    ]
    assert all(a.kind == "implicit" for a in args)
    _check_spans(args, text, offset=7)


def test_implicit_table_words_all_match_themselves():
    import re

    for entry in IMPLICIT:
        assert entry.value > 0 and all(a > 0 for a in entry.alternatives)
        re.compile(entry.words)


def test_alternatives():
    half = implicit_operands("half")[0]
    assert alternatives(half) == [F(1, 2)]
    pct = extract_numbers("25%")[0]
    assert alternatives(pct) == [F(1, 4)]
    assert alternatives(extract_numbers("48")[0]) == []
    assert alternatives(implicit_operands("two thirds")[0]) == [F(1, 3)]


def test_match_operand():
    text = "Natalia sold 48 clips in April and half as many in May, 25% of them on sale."
    cands = extract_numbers(text) + implicit_operands(text)
    assert match_operand(F(48), cands).text == "48"
    two = match_operand(F(2), cands)
    assert two.kind == "implicit" and two.text == "half" and two.value == "2"
    half = match_operand(F(1, 2), cands)  # the alternative reading: value replaced, span kept
    assert half.text == "half" and half.value == "1/2" and text[half.span[0] : half.span[1]] == "half"
    quarter = match_operand(F(1, 4), cands)
    assert quarter.text == "25%" and quarter.value == "1/4"
    assert match_operand(F(100), cands).text == "%"
    assert match_operand(F(7), cands) is None
    # Written numbers win over implicit constants of the same value.
    assert match_operand(F(2), [Arg("implicit", "2", "twice", (0, 5)), Arg("number", "2", "2", (9, 10))]).kind == "number"
    # Earlier results can be candidates too.
    assert match_operand(F(24), [Arg("result", "24", step=0)]).step == 0


def test_clock_time_is_not_two_numbers():
    values = [F(a.value) for a in extract_numbers("The shop opens at 3:30 pm.")]
    assert values == [F(7, 2)]
    assert F(3) not in values and F(30) not in values


@pytest.mark.parametrize(
    "text, expected",
    [
        ("He works weekdays and rests on weekends.", [("weekdays", 5), ("weekends", 2)]),
        ("On Monday, Wednesday, and Friday, Harry walks 7 dogs.", [("Monday, Wednesday, and Friday", 3)]),
        ("the Wednesday, Thursday and Friday editions", [("Wednesday, Thursday and Friday", 3)]),
        ("On Tuesdays and Thursdays he bakes.", [("Tuesdays and Thursdays", 2)]),
        ("She works from Monday to Friday.", [("Monday to Friday", 5)]),
        ("Monday through Saturday, she spends $0.50", [("Monday through Saturday", 6)]),
        ("from Sunday to Thursday", [("Sunday to Thursday", 5)]),  # a range wraps round the week
        ("open Monday-Thursday", [("Monday-Thursday", 4)]),
        # counted whole or not at all: no 3 or 2 inside a longer list or range
        ("Monday, Wednesday, and Friday, and Sunday", []),
        ("Monday through Friday and Saturday", []),
        # the amounts of two days, not a count of days
        ("the sum of the distances from Monday and Wednesday", []),
        ("On Monday he did 20. On Tuesday he did 34.", []),
        ("Monday and Wednesday", [("Monday and Wednesday", 2)]),
        ("monday and wednesday", []),  # capitalised names only
    ],
)
def test_days_named_are_their_count(text, expected):
    args = implicit_operands(text)
    assert [(a.text, F(a.value)) for a in args] == [(t, F(v)) for t, v in expected]
    _check_spans(args, text)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("35 children, 5 chaperones, and herself.", [("herself", 1)]),
        ("everyone, including himself, has 2 glasses", [("himself", 1)]),
        ("She splits the deck among herself and two other players.", [("herself", 1)]),
        ("He wants to buy himself and his friends a sandwich.", [("himself", 1)]),
        # a reflexive that counts no one
        ("James hurts himself and decides to see a doctor.", []),
        ("She treats herself and buys new shoes.", []),
        ("She drank the last cup herself.", []),
        # a person named with a counted company is the one more
        ("Jean and her three friends are playing.", [("Jean", 1)]),
        ("James and 4 of his friends volunteered.", [("James", 1)]),
        ("Tom and his friends went out.", []),  # no count to add the one to
    ],
)
def test_one_person_counted_with_others(text, expected):
    args = implicit_operands(text)
    assert [(a.text, F(a.value)) for a in args] == [(t, F(v)) for t, v in expected]
    _check_spans(args, text)
    assert all(is_conversion(a) for a in args)  # a written 1 stays the operand


def test_is_conversion_reads_the_value_too():
    # "Half" is also a capitalised word like a name of the person row (value 1): still a relation
    (half,) = implicit_operands("Half of them left.")
    assert half.value == "2" and not is_conversion(half)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Sarah, Mary, and Tuan split the bill.", [("Sarah, Mary, and Tuan", 3)]),
        ("Julie, Letitia and Anton had dinner.", [("Julie, Letitia and Anton", 3)]),
        ("Dilan, Martha, Phillip, and Veronica went out.", [("Dilan, Martha, Phillip, and Veronica", 4)]),
        ("Jack and Jill went up the hill.", []),  # two names: often one couple, not a count
        ("driving to Los Angeles, Benjamin and James see ads", []),  # the tail of a longer name
        ("Yesterday, David and William played.", []),
        ("Ann, Bill, Cate, and Dale Smith", []),  # a name continues after the list
    ],
)
def test_names_listed_are_their_count(text, expected):
    args = implicit_operands(text)
    assert [(a.text, F(a.value)) for a in args] == [(t, F(v)) for t, v in expected]
    _check_spans(args, text)


def test_an_ordinal_before_grade_or_floor_is_no_fraction():
    # audit 25: "Janet, a third grade teacher" is no 1/3 (nor 3); "a third of the class" is
    assert not [a for a in implicit_operands("Janet, a third grade teacher, ordered three more lunches.")
                if a.text.lower().startswith("third")]
    assert not implicit_operands("There are 64 seventh graders and the third floor is closed.")
    (third,) = implicit_operands("Janet gave a third of the lunches away.")
    assert third.text == "third" and F(third.value) == 3


def test_us_units_imply_their_sizes():
    # GSM8K solutions convert these without writing the size: "one ton is 2000 pounds",
    # "a quart is 32 ounces", "4.5 gallons = 4.5 * 8 pints"
    got = {(a.text, F(a.value)) for a in implicit_operands("1 ton, 1.5 quarts, 2 pints and 4.5 gallons")}
    assert {("ton", 2000), ("quarts", 32), ("pints", 16), ("gallons", 8)} <= got
    assert all(is_conversion(a) for a in implicit_operands("1 ton, 1.5 quarts, 2 pints"))
