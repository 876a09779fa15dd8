"""Lexical highlights: the problem words an op's solution sentence repeats."""

import pytest

from fake_traces import make_trace
from mycelium.labels.assemble import LabelSettings, label_trace
from mycelium.labels.clauses import load_spacy, parse
from mycelium.labels.lexical import lexical_highlights, sentence_at, solution_stems, stem, token_stems


@pytest.fixture(scope="module")
def nlp():
    return load_spacy()


def test_stem_matches_inflections():
    assert stem("shirts") == stem("shirt") == "shirt"
    assert stem("Harvested") == stem("harvest") == "harvest"
    assert stem("berries") == stem("berry")
    assert stem("Mary's") == stem("Mary")


def test_sentence_at_cuts_at_newlines_and_sentence_ends():
    cot = "Mary gives away 26/2 = 13 blue shirts. She keeps 13.\nSo 13+24 = 37."
    assert cot[slice(*sentence_at(cot, cot.index("26/2")))] == "Mary gives away 26/2 = 13 blue shirts."
    assert cot[slice(*sentence_at(cot, cot.index("keeps")))] == "She keeps 13."
    assert cot[slice(*sentence_at(cot, cot.index("13+24")))] == "So 13+24 = 37."


def test_solution_stems_leave_out_stop_words_and_numbers():
    cot = "He can harvest his oranges 12/2 = 6 times a year."
    assert solution_stems(cot, 20) == {stem(w) for w in ("harvest", "oranges", "times", "year")}


def test_highlights_weigh_the_clause_the_solution_restates(nlp):
    text = "Keaton has a farm of oranges. He can harvest his oranges every 2 months. How much can he earn every year?"
    (parsed,) = parse([text], nlp)
    stems = solution_stems("He can harvest his oranges 12/2 = 6 times a year.", 5)
    toks = token_stems(parsed)
    assert toks.ids[list(parsed.words).index("every")] == -1  # a stop word has no stem
    spans, weights = lexical_highlights(parsed, toks, stems, {0, 1, 2}, weight=2.0)
    words = [text[a:b] for a, b in spans]
    assert words == ["oranges", "harvest", "oranges", "year"]
    assert sum(weights) == pytest.approx(2.0)
    # "oranges" is written twice: its share is split; "harvest" is once
    assert weights[words.index("harvest")] == pytest.approx(2 * weights[0])
    # only the sentences asked for
    spans, _ = lexical_highlights(parsed, toks, stems, {1}, weight=2.0)
    assert [text[a:b] for a, b in spans] == ["harvest", "oranges"]
    assert lexical_highlights(parsed, toks, stems, {1}, weight=0.0) == ([], [])
    assert lexical_highlights(parsed, toks, set(), {1}, weight=1.0) == ([], [])


def test_lexical_source_moves_a_region_to_the_restated_clause(nlp):
    # the solution restates "10 years less"; without it the region is the first operand's clause
    text = "James spends 40 years teaching. His partner has been teaching for 10 years less. How long is their combined experience?"
    solution = ("His partner has taught for 40-10 = <<40-10=30>>30 years less.\n"
                "So together they have 40+30 = <<40+30=70>>70 years.\n#### 70")
    trace = make_trace(text=text, solution=solution, gold="70", focus=())
    (parsed,) = parse([text], nlp)
    off, _ = label_trace(trace, parsed, LabelSettings(lexical=0.0))
    on, _ = label_trace(trace, parsed, LabelSettings())  # the default weight
    assert off.validated and on.validated
    region = on.steps[0].region
    assert text[region[0]:region[1]] == "His partner has been teaching for 10 years less"
    assert [s.op for s in on.steps] == [s.op for s in off.steps]  # the DAG is the same
