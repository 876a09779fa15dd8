"""Highlights from the text and the regions they make without the teacher's attention."""

from __future__ import annotations

import pytest

from mycelium.dag.steps import Arg, Step
from mycelium.labels.clauses import load_spacy, parse
from mycelium.labels.highlights import CUE_WEIGHT, IMPLICIT_WEIGHT, QUESTION_WEIGHT, text_highlights, text_regions


@pytest.fixture(scope="module")
def nlp():
    return load_spacy()


def num(text: str, word: str, kind: str = "number", value: str | None = None) -> Arg:
    a = text.index(word)
    return Arg(kind, value or word, word, (a, a + len(word)))


def words(text: str, spans) -> list[str]:
    return [text[a:b] for a, b in spans]


def test_highlights_weigh_operands_relation_words_and_the_questions_cue(nlp) -> None:
    text = "Kim had 63 marbles. She gave half of them to her brother. How many marbles does she have left?"
    (parsed,) = parse([text], nlp)
    half = Step(0, "DIV", [num(text, "63"), num(text, "half", "implicit", "2")], "63/2")
    h = text_highlights(parsed, half, [], final=False, question=2)
    assert h.anchors == [a.span for a in half.args] and h.sents == {0, 1}
    assert h.weights[:2] == [1.0, IMPLICIT_WEIGHT]  # "half" states the relation: it outweighs the count
    left = Step(1, "SUB", [num(text, "63"), Arg("result", "63/2", step=0)], "63/2")
    h = text_highlights(parsed, left, [{0, 1}], final=True, question=2)
    assert words(text, h.spans)[-1] == "left" and h.weights[-1] == QUESTION_WEIGHT
    assert text_highlights(parsed, left, [{0, 1}], final=True, question=2, cues=False).spans == [left.args[0].span]
    assert CUE_WEIGHT > 1.0


def test_text_regions_put_a_final_difference_the_question_states_on_the_question(nlp) -> None:
    text = "Kim had 63 marbles. She gave 21 marbles to her brother. How many marbles does she have left?"
    (parsed,) = parse([text], nlp)
    steps = [Step(0, "SUB", [num(text, "63"), num(text, "21")], "42")]
    assert words(text, text_regions(parsed, steps, 0, parsed.config)) == ["How many marbles does she have left"]
    # not the final step, no relation detector: the operand clause holding the op's cue word ("gave")
    assert words(text, text_regions(parsed, steps, None, parsed.config, relations=False)) == [
        "She gave 21 marbles to her brother"]


def test_text_regions_give_each_step_of_a_chain_its_own_clause(nlp) -> None:
    text = "Tom has 3 apples and buys 5 more. Each apple costs 2 dollars. How much do his apples cost?"
    (parsed,) = parse([text], nlp)
    steps = [Step(0, "ADD", [num(text, "3"), num(text, "5")], "8"),
             Step(1, "MUL", [Arg("result", "8", step=0), num(text, "2")], "16")]
    first, second = words(text, text_regions(parsed, steps, 1, parsed.config))
    # the conjunct that states the sum ("more") and holds an operand (relations rule 8, narrow)
    assert first == "buys 5 more"
    assert "2 dollars" in second
