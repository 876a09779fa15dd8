"""The learned DAG builder: features, fitting on hand-made labels, save/load, use by the Solver."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord
from mycelium.solver.learned_wiring.beam import implausible, learned_accuracy, wire_learned, wire_learned_topk
from mycelium.solver.learned_wiring.features import (
    CAND_FEATURES, ITEM_FEATURES, KINDS, Problem, State, _apply, candidate_features, candidates, item_features,
    problem_numbers,
)
from mycelium.solver.learned_wiring.model import is_wiring_dir, load_wiring, save_wiring
from mycelium.solver.learned_wiring.training import fit_wiring, record_decisions
from mycelium.solver.wiring import wired_answer

NATALIA = "Natalia sold 48 clips in April. She sold half as many in May. How many altogether?"


def span(text: str, clause: str) -> tuple[int, int]:
    start = text.index(clause)
    return start, start + len(clause)


def test_problem_numbers_split_written_fractions() -> None:
    text = "She ate 3/5 of the 20 pies."
    assert [(a.value, a.text, a.span) for a in problem_numbers(text)] == [
        ("3/5", "3/5", (8, 11)), ("3", "3", (8, 9)), ("5", "5", (10, 11)), ("20", "20", (19, 21))]


def test_features_on_a_hand_written_problem() -> None:
    spans = [span(NATALIA, "She sold half as many in May"), span(NATALIA, "How many altogether?")]
    p = Problem.build(NATALIA, spans, ["DIV", "ADD"])
    st = State(next_op=[0, 0])
    items = st.eligible(p)
    assert items == [(0, 0), (1, 0)]
    xi = item_features(p, st, items)
    assert xi.shape == (2, ITEM_FEATURES) and xi.dtype == np.float32
    assert xi[0, :5].tolist() == [0, 0, 0, 1, 0] and xi[1, :5].tolist() == [1, 0, 0, 0, 0]  # ADD SUB MUL DIV other
    cands = candidates(p, st, (0, 0))
    assert [(c.kind, c.value, c.text) for c in cands] == [("number", "48", "48"), ("implicit", "2", "half")]
    xc, kinds, values = candidate_features(p, st, (0, 0), cands)
    assert xc.shape == (2, CAND_FEATURES)
    assert [KINDS[k] for k in kinds] == ["number-elsewhere", "implicit"]
    assert values.tolist() == [48.0, 2.0]
    # once DIV has run, its result is a candidate of ADD, one step back, not yet consumed
    st2 = State(next_op=[0, 0])
    _apply(p, st2, (0, 0), cands)
    assert st2.values == [24] and st2.eligible(p) == [(1, 0)]
    c2 = candidates(p, st2, (1, 0))
    assert c2[-1].kind == "result" and c2[-1].step == 0 and c2[-1].value == "24"
    xc2, kinds2, _ = candidate_features(p, st2, (1, 0), c2)
    assert KINDS[kinds2[-1]] == "result" and xc2[-1, 3] == 1.0
    assert xc2[0, 4 + 7 + 5] == 1.0  # 48 is marked used


def record(rid: str, text: str, steps: list[tuple[str, str, list[Arg], str]], gold: str) -> LabelRecord:
    return LabelRecord(rid, text, gold, [Step(i, op, args, v, region=span(text, region))
                                         for i, (op, region, args, v) in enumerate(steps)], gold, True)


def num(text: str, value: str, at: str, occurrence: int = 0) -> Arg:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(at, start + 1)
    return Arg("number", value, at, (start, start + len(at)))


def tiny_records() -> list[LabelRecord]:
    """Natalia-like problems: the question's clause comes first in text but runs last."""
    out = []
    for k, (a, b) in enumerate([(48, 2), (30, 3), (12, 4), (60, 5), (90, 6), (24, 8)]):
        text = f"How many apples did Tom pick in all? Tom picked {a} apples on Monday. On Tuesday he picked {b} times fewer."
        q, tue = "How many apples did Tom pick in all?", f"On Tuesday he picked {b} times fewer"
        out.append(record(f"t{k}", text, [
            ("DIV", tue, [num(text, str(a), str(a)), num(text, str(b), str(b))], str(Fraction(a, b))),
            ("ADD", q, [num(text, str(a), str(a)), Arg("result", str(Fraction(a, b)), step=0)], str(a + Fraction(a, b))),
        ], str(a + Fraction(a, b))))
    return out


def test_record_decisions_replay_the_labels() -> None:
    r = tiny_records()[0]
    ds = record_decisions(r)
    assert len(ds) == 2
    # spans in text order: the question (0), Tuesday (1); the gold first step is Tuesday's DIV
    assert ds[0].xi.shape[0] == 2 and ds[0].item == 1
    assert ds[1].xi.shape[0] == 1 and ds[1].item == 0
    assert ds[0].pair is not None and ds[1].pair is not None


def test_a_symbolic_record_is_no_decision_and_a_huge_value_is_no_crash() -> None:
    text = "Let $f(x) = x + 3$. What is $f(a)$ if $a = 2^{2000}$?"
    expr = Arg("expr", "(x-a+3)", "x + 3", span(text, "x + 3"))
    symbolic = LabelRecord("math/train/1", text, "5", [Step(0, "SUBS", [expr, Arg("number", "2", "2", span(text, "2"))], "5",
                                                             region=span(text, "Let $f(x) = x + 3$"))], "5", True)
    assert record_decisions(symbolic) == []  # the MLP wiring learns arithmetic on numbers only
    huge = Fraction(2) ** 2000
    from mycelium.solver.learned_wiring.features import _fvalue
    assert np.isnan(_fvalue(huge)) and _fvalue(Fraction(1, 2)) == 0.5


@pytest.fixture(scope="module")
def fitted():
    torch.set_num_threads(1)
    records = tiny_records()
    return records, fit_wiring(records, epochs=150, batch_size=4, hidden=32, dropout=0.0, lr=5e-3)


def test_fit_then_decode_reproduces_the_wiring(fitted) -> None:
    records, model = fitted
    for r in records:
        spans = sorted({s.region for s in r.steps})
        ops = [[s.op for s in r.steps if s.region == sp] for sp in spans]
        steps = wire_learned(r.text, spans, ops, model)
        assert [s.op for s in steps] == ["DIV", "ADD"]  # the question's op runs last
        assert [(a.kind, a.value) for a in steps[0].args] == [(a.kind, a.value) for a in r.steps[0].args]
        assert {(a.kind, a.value) for a in steps[1].args} == {(a.kind, a.value) for a in r.steps[1].args}
        assert wired_answer(steps) == Fraction(r.gold_answer)
    assert learned_accuracy(records, model) == (1.0, len(records))


def test_save_load_round_trip_decodes_identically(fitted, tmp_path: Path) -> None:
    records, model = fitted
    out = save_wiring(model, tmp_path / "wiring")
    assert is_wiring_dir(out) and not is_wiring_dir(tmp_path)
    loaded = load_wiring(out)
    for r in records:
        spans = sorted({s.region for s in r.steps})
        ops = [[s.op for s in r.steps if s.region == sp] for sp in spans]
        a, b = wire_learned(r.text, spans, ops, model), wire_learned(r.text, spans, ops, loaded)
        assert [(s.op, [(x.kind, x.value, x.span, x.step) for x in s.args], s.value) for s in a] == \
               [(s.op, [(x.kind, x.value, x.span, x.step) for x in s.args], s.value) for s in b]


def test_decode_edge_cases(fitted) -> None:
    _, model = fitted
    assert wire_learned(NATALIA, [], [], model) == []
    with pytest.raises(ValueError, match="spans"):
        wire_learned(NATALIA, [(0, 5)], [], model)
    # a joined multi-op label runs each op; an unknown op still gets wired (execution says no)
    text = "James writes a 3-page letter to 2 different friends twice a week."
    steps = wire_learned(text, [(0, len(text) - 1)], ["MUL+MUL"], model)
    assert [s.op for s in steps] == ["MUL", "MUL"]
    assert wire_learned("Tom has 5 and 6.", [(0, 15)], ["FOO"], model)[0].value is None
    (root,) = wire_learned("Tom has 16 and 7.", [(0, 16)], ["SQRT"], model)  # unary: one operand
    assert len(root.args) == 1 and root.value in ("4", None)


def steps_key(steps) -> list:
    return [(s.op, s.value, s.region, [(a.kind, a.value, a.span, a.step) for a in s.args]) for s in steps]


def test_one_choice_per_span_is_the_fixed_op_decoding(fitted) -> None:
    records, model = fitted
    for r in records:
        spans = sorted({s.region for s in r.steps})[::-1]  # any order: labels come back in it
        ops = [[s.op for s in r.steps if s.region == sp] for sp in spans]
        fixed = wire_learned(r.text, spans, ops, model)
        steps, labels = wire_learned_topk(r.text, spans, [[(o, -0.3)] for o in ops], model)
        assert steps_key(steps) == steps_key(fixed) and labels == ops
        # alternatives the classifier finds hopeless change nothing
        hopeless = [[(o, 0.0), ("SUB", -50.0), ("MUL+ADD", -60.0)] for o in ops]
        steps, labels = wire_learned_topk(r.text, spans, hopeless, model)
        assert steps_key(steps) == steps_key(fixed) and labels == ops


def test_the_prior_picks_the_alternative_with_a_whole_answer(fitted) -> None:
    """The classifier's argmax (DIV) is wrong: 30 / 4 makes 37.5 apples; the prior prefers MUL."""
    _, model = fitted
    text = "How many apples did Tom pick in all? Tom picked 30 apples on Monday. On Tuesday he picked 4 times as many."
    q, tue = span(text, "How many apples did Tom pick in all?"), span(text, "On Tuesday he picked 4 times as many")
    choices = [[("DIV", -0.5), ("MUL", -1.0)], [("ADD", 0.0)]]
    steps, labels = wire_learned_topk(text, [tue, q], choices, model)
    assert labels == ["DIV", "ADD"] and wired_answer(steps) == Fraction(75, 2)  # no prior: the argmax
    steps, labels = wire_learned_topk(text, [tue, q], choices, model, implausible_penalty=3.0)
    assert labels == ["MUL", "ADD"] and [s.op for s in steps] == ["MUL", "ADD"] and wired_answer(steps) == 150
    assert implausible(Fraction(-3)) and implausible(Fraction(1, 2)) and not implausible(Fraction(0))
    assert not implausible(None)


def test_the_wiring_picks_an_alternative_over_a_wrong_argmax(fitted) -> None:
    _, model = fitted
    text = "How many apples did Tom pick in all? Tom picked 48 apples on Monday. On Tuesday he picked 2 times fewer."
    q, tue = span(text, "How many apples did Tom pick in all?"), span(text, "On Tuesday he picked 2 times fewer")
    # an argmax that does not execute loses FAIL_PENALTY: the next label runs
    steps, labels = wire_learned_topk(text, [q, tue], [[("FOO", -0.1), ("ADD", -2.0)], [("DIV", 0.0)]], model)
    assert labels == ["ADD", "DIV"] and wired_answer(steps) == 72
    # the wiring model, trained on DIV for "times fewer", outweighs the classifier at op_weight 0 only
    choices = [[("ADD", 0.0)], [("MUL", -0.2), ("DIV", -2.0)]]
    assert wire_learned_topk(text, [q, tue], choices, model)[1] == ["ADD", "MUL"]
    steps, labels = wire_learned_topk(text, [q, tue], choices, model, op_weight=0.0)
    assert labels == ["ADD", "DIV"] and wired_answer(steps) == 72
    with pytest.raises(ValueError, match="op choice"):
        wire_learned_topk(text, [q], [[]], model)
    with pytest.raises(ValueError, match=">= 0"):
        wire_learned_topk(text, [q], [[("ADD", 0.0)]], model, op_weight=-1.0)


def test_solver_uses_the_wiring_model_in_the_students_dir(fitted, tmp_path: Path) -> None:
    from mycelium.solver.solver import Solver, StudentsNotFound, export_untrained_students
    from mycelium.solver.wiring import wire
    from mycelium.teacher.loading import build_tiny

    _, model = fitted
    students = export_untrained_students(tmp_path / "students", build_tiny)
    assert Solver.from_pretrained(students).wiring == "chain"  # no model there: the heuristics
    with pytest.raises(StudentsNotFound, match="wiring"):
        Solver.from_pretrained(students, wiring="learned")
    save_wiring(model, students / "wiring_mlp")
    solver = Solver.from_pretrained(students)
    assert solver.wiring == "learned" and solver.wiring_model is not None
    texts = [NATALIA, "How many apples did Tom pick in all? Tom picked 36 apples on Monday. On Tuesday he picked 4 times fewer."]
    for p in solver.solve_batch(texts):
        assert p.spans and p.steps
        want = wire_learned(p.text, p.spans, p.ops, model)
        assert [(s.op, s.value, [(a.kind, a.span, a.step) for a in s.args]) for s in p.steps] == \
               [(s.op, s.value, [(a.kind, a.span, a.step) for a in s.args]) for s in want]
    heuristic = Solver.from_pretrained(students, wiring="chain")
    assert heuristic.wiring_model is None
    p = heuristic.solve(texts[1])
    assert [s.value for s in p.steps] == [s.value for s in wire(p.text, p.spans, p.ops)]
    # top-k ops: the learned wiring picks each span's op among the classifier's 3 likeliest
    topk = Solver.from_pretrained(students, op_top_k=3, op_weight=0.0, implausible_penalty=3.0)
    top_chain = Solver.from_pretrained(students, wiring="chain", op_top_k=3)
    for p, q in zip(topk.solve_batch(texts), top_chain.solve_batch(texts)):
        scores = topk.classifier.predict_op_scores([(p.text, sp) for sp in p.spans], 3)
        assert all(op in [label for label, _ in s] for op, s in zip(p.ops, scores))
        assert sorted(p.ops) == sorted(s.op for s in p.steps)  # single-op labels: one step each
        want, labels = wire_learned_topk(p.text, p.spans, scores, model, op_weight=0.0, implausible_penalty=3.0)
        assert labels == p.ops and steps_key(want) == steps_key(p.steps)
        assert q.ops == [s[0][0] for s in scores]  # the heuristics keep the argmax
    with pytest.raises(ValueError, match="op_top_k"):
        Solver.from_pretrained(students, op_top_k=0)
    # an explicit model directory works without the students' copy
    other = Solver.from_pretrained(students / "segmenter", students / "classifier", wiring_model=students / "wiring_mlp")
    assert other.wiring == "learned"
