"""Relation cue lexicon (mycelium.labels.cues)."""

from mycelium.labels.cues import CUES, QUESTION_CUES, cue_spans

TEXT = "Tom has 5 apples. Ann has three times as many. She gives half away. How many are left in total?"


def words(spans):
    return [TEXT[a:b] for a, b in spans]


def test_cues_find_the_relation_words_of_each_op():
    assert "times" in words(cue_spans(TEXT, "MUL"))
    assert "half" in words(cue_spans(TEXT, "DIV"))
    assert {"left", "away"} <= set(words(cue_spans(TEXT, "SUB")))
    assert "total" in words(cue_spans(TEXT, "ADD"))


def test_question_cues_and_whole_words():
    assert words(cue_spans(TEXT, "SUB", question=True)) == ["left"]
    assert cue_spans("The leftover cake", "SUB") == []  # "left" only as a word
    assert cue_spans(TEXT, "POW") == []


def test_every_op_has_cues_and_patterns_compile():
    assert set(CUES) == {"ADD", "SUB", "MUL", "DIV"} and set(QUESTION_CUES) == set(CUES)
    for op in CUES:
        cue_spans(TEXT, op)
        cue_spans(TEXT, op, question=True)


def test_verbs_of_rising_and_falling_cue_a_sum_and_a_difference():
    text = "The stock price rises 30% and the tree grew 2 feet. Then 5 students drop out and the price fell $3."
    found = lambda op: [text[a:b] for a, b in cue_spans(text, op)]  # noqa: E731
    assert {"rises", "grew"} <= set(found("ADD"))
    assert {"drop", "fell"} <= set(found("SUB"))
    assert "rises" not in found("SUB") and "fell" not in found("ADD")


def test_verbs_of_taking_away_cue_a_difference_but_not_selling_or_using():
    text = ("Forty people did not show up. Jeff donated 30% of them, removed 5 and threw away 2 broken ones. "
            "He sold 3 and used 4 of the 300 donations.")
    found = [text[a:b] for a, b in cue_spans(text, "SUB")]
    assert {"did not show", "donated", "removed", "threw", "broken"} <= set(found)
    withdrew = "She withdrew $60 to buy a new pair of shoes."
    assert [withdrew[a:b] for a, b in cue_spans(withdrew, "SUB")] == ["withdrew"]
    # "sold" and "used" state a product or a rate as often as a difference (blind packet, session 15)
    assert not {"sold", "used", "donations"} & set(found)


def test_question_cues_of_a_sum_and_of_a_difference_with_a_unit_between():
    text = "How many dollars more did Akeno spend? How many buildings collapsed including those from the first?"
    assert [text[a:b] for a, b in cue_spans(text, "SUB", question=True)] == ["How many dollars more"]
    assert [text[a:b] for a, b in cue_spans(text, "ADD", question=True)] == ["including"]
