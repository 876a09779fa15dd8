"""The learned region chooser: clause units, candidates, features, fitting and choosing."""

from __future__ import annotations

import numpy as np
import pytest

from mycelium.dag.steps import Arg, Step
from mycelium.labels.clauses import load_spacy, parse
from mycelium.labels.highlights import question_sentence
from mycelium.labels.region_choice import (FEATURES, RegionChooser, candidates, clause_units, features, fit,
                                           units_of)

TEXT = ("Doug has put out 20 fires for the week and Kai has put out 3 times more than Doug. "
        "Meanwhile, Eli has put out half the number of fires Kai was able to. "
        "How many fires have they put out for the entire week?")


@pytest.fixture(scope="module")
def parsed():
    return parse([TEXT], load_spacy())[0]


def num(word: str, kind: str = "number", value: str | None = None) -> Arg:
    a = TEXT.index(word)
    return Arg(kind, value or word, word, (a, a + len(word)))


def span_of(words: str) -> tuple[int, int]:
    a = TEXT.index(words)
    return a, a + len(words)


STEPS = [Step(0, "MUL", [num("20"), num("3")], "60"),
         Step(1, "DIV", [Arg("result", "60", step=0), num("half", "implicit", "2")], "30"),
         Step(2, "ADD", [num("20"), Arg("result", "60", step=0), Arg("result", "30", step=1)], "110")]


def test_clause_units_are_sorted_disjoint_and_runs_stay_in_one_sentence(parsed) -> None:
    units = clause_units(parsed)
    assert units == sorted(units) and all(a[1] <= b[0] for a, b in zip(units, units[1:]))
    assert TEXT[slice(*units[1])] == "Kai has put out 3 times more than Doug"
    rule = span_of("put out 3 times")  # not a run of units: appended last
    cands = candidates(parsed, units, rule)
    assert cands[:len(units)] == units and cands[-1] == rule
    sents = [set(parsed.sent_spans[:, 0].searchsorted([c[0], c[1] - 1], side="right")) for c in cands[:-1]]
    assert all(len(s) == 1 for s in sents)  # no run crosses a sentence end
    assert span_of("How many fires have they put out for the entire week") in cands
    assert units_of(span_of("Kai has put out 3 times more than Doug"), units) == (1,)


def test_features_read_operands_cues_and_the_question(parsed) -> None:
    units = clause_units(parsed)
    rules = [units[1], units[2], units[1]]
    question = question_sentence(parsed)
    cands = candidates(parsed, units, rules[0])
    x = features(parsed, STEPS, 0, cands, rules, units, 2, question)
    assert x.shape == (len(cands), len(FEATURES)) and x.dtype == np.float32
    f = dict(zip(FEATURES, x[1]))  # "Kai has put out 3 times more than Doug": the rules' pick, one of two operands
    assert f["rule_exact"] == 1 and f["own_operands"] == 0.5 and f["own_cue"] == 1 and f["question"] == 0
    q = cands.index(span_of("How many fires have they put out for the entire week"))
    f = dict(zip(FEATURES, features(parsed, STEPS, 2, cands, rules, units, 2, question)[q]))
    assert f["final_x_question"] == 1 and f["question_cue"] == 1 and f["rule_of_other"] == 0
    assert f["earlier_operands"] == 0 and f["rule_exact"] == 0


def test_chooser_moves_a_final_sum_to_the_question_the_rules_missed_and_margin_keeps_the_rule(parsed) -> None:
    units = clause_units(parsed)
    rules = [units[1], units[2], units[1]]
    w = np.zeros(len(FEATURES), dtype=np.float32)
    w[FEATURES.index("final_x_question_cue")] = 3.0
    w[FEATURES.index("rule_exact")] = 1.0
    ones = np.ones(len(FEATURES), dtype=np.float32)
    chooser = RegionChooser(w, np.zeros_like(ones), ones)
    out = chooser.choose(parsed, STEPS, rules, 2, question_sentence(parsed))
    assert out[:2] == rules[:2]  # not final: the rules' regions win
    assert TEXT[slice(*out[2])].endswith("they put out for the entire week")  # the question's cue clause
    chooser.margin = 5.0
    assert chooser.choose(parsed, STEPS, rules, 2, question_sentence(parsed)) == rules
    assert chooser.choose(parsed, STEPS, [None, None, None], 2, 2) == [None, None, None]


def test_fit_learns_which_feature_marks_the_gold_candidate_and_save_load_round_trips(tmp_path) -> None:
    rng = np.random.default_rng(0)
    xs, gold = [], []
    for _ in range(60):
        x = rng.normal(size=(5, len(FEATURES))).astype(np.float32)
        g = np.zeros(5, dtype=bool)
        g[int(np.argmax(x[:, 3]))] = True  # the gold candidate is the one with the largest feature 3
        xs.append(x)
        gold.append(g)
    model = fit(xs, gold, l2=0.1)
    assert int(np.argmax(np.abs(model.weights))) == 3 and model.weights[3] > 0
    hits = np.mean([np.argmax(model.scores(x)) == np.argmax(g) for x, g in zip(xs, gold)])
    assert hits > 0.9
    model.save(tmp_path / "chooser.json")
    back = RegionChooser.load(tmp_path / "chooser.json")
    assert np.allclose(back.scores(xs[0]), model.scores(xs[0]), atol=1e-5)
    with pytest.raises(ValueError, match="no step has a gold"):
        fit(xs[:2], [np.zeros(5, dtype=bool)] * 2)


def test_load_refuses_weights_fitted_on_other_features(tmp_path) -> None:
    path = tmp_path / "old.json"
    path.write_text('{"features": ["rule_exact"], "weights": [1], "mean": [0], "scale": [1], "margin": 0}')
    with pytest.raises(ValueError, match="fitted on features"):
        RegionChooser.load(path)


def test_chooser_never_moves_a_step_to_a_region_the_checks_call_foreign(parsed) -> None:
    units = clause_units(parsed)
    rules = [units[1], units[2], units[1]]
    w = np.zeros(len(FEATURES), dtype=np.float32)
    w[FEATURES.index("later_operands")] = 5.0  # pulls step 1 towards "half"'s clause, which holds none of its operands
    ones = np.ones(len(FEATURES), dtype=np.float32)
    out = RegionChooser(w, np.zeros_like(ones), ones).choose(parsed, STEPS, rules, 2, question_sentence(parsed))
    assert TEXT[slice(*out[0])] != "Meanwhile, Eli has put out half the number of fires"
    assert "20" in TEXT[slice(*out[0])] or "3 times" in TEXT[slice(*out[0])]
