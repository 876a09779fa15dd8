"""The solver end to end on tiny exported students: a Prediction for every input, never a raise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mycelium.records.predictions import Prediction
from mycelium.solver.solver import Solver, StudentsNotFound, export_untrained_students
from mycelium.teacher.loading import build_tiny

NATALIA = "Natalia sold 48 clips in April. She sold half as many in May. How many clips altogether?"


@pytest.fixture(scope="module")
def students(tmp_path_factory) -> Path:
    return export_untrained_students(tmp_path_factory.mktemp("students"), build_tiny)


@pytest.fixture(scope="module")
def solver(students: Path) -> Solver:
    return Solver.from_pretrained(students)


def test_solve_returns_a_full_prediction(solver: Solver) -> None:
    p = solver.solve(NATALIA, id="p0", gold_answer="72")
    assert isinstance(p, Prediction) and p.id == "p0" and p.text == NATALIA
    assert p.spans and len(p.ops) == len(p.spans)
    assert all(0 <= s < e <= len(NATALIA) for s, e in p.spans) and p.spans == sorted(p.spans)
    assert set(p.ops) <= {"ADD", "DIV", "MUL", "SUB"}
    assert (p.answer is None) == (p.reason is not None)  # an answer, or a reason why not
    assert p.correct == (p.answer == "72")
    assert p.latency_s > 0
    assert Prediction.from_dict(json.loads(json.dumps(p.to_dict()))) == p


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "empty_text"), ("   \n", "empty_text"), (None, "empty_text"),
     ("What is the colour of the sky?", "no_numbers"), ("7 " * 5000, "too_long")],
)
def test_bad_inputs_get_clear_reasons(solver: Solver, text, reason: str) -> None:
    p = solver.solve(text)
    assert p.answer is None and p.reason == reason and not p.correct and p.spans == []


def test_batch_keeps_order_and_mixes_good_and_bad(solver: Solver) -> None:
    texts = [NATALIA, "", "Tom has 5 apples and buys 3 more. How many?", "x" * 4001]
    preds = solver.solve_batch(texts, batch_size=2, ids=["a", "b", "c", "d"])
    assert [p.id for p in preds] == ["a", "b", "c", "d"]
    assert preds[1].reason == "empty_text" and preds[3].reason == "too_long"
    single = solver.solve(NATALIA)
    assert (preds[0].spans, preds[0].ops, preds[0].answer) == (single.spans, single.ops, single.answer)


def test_solver_never_raises_when_a_student_breaks(students: Path) -> None:
    solver = Solver.from_pretrained(students)

    def boom(*args, **kwargs):
        raise RuntimeError("broken")

    solver.classifier.predict_op_scores = boom
    p = solver.solve(NATALIA)
    assert p.answer is None and p.reason == "internal_error:RuntimeError"


def test_from_pretrained_two_paths_and_missing_dir(students: Path, tmp_path: Path) -> None:
    solver = Solver.from_pretrained(students / "segmenter", students / "classifier", max_chars=10)
    assert solver.solve(NATALIA).reason == "too_long"
    with pytest.raises(StudentsNotFound, match="students="):
        Solver.from_pretrained(tmp_path / "nowhere")


def test_predict_op_scores_top_k_log_probs(solver: Solver) -> None:
    import math

    clf = solver.classifier
    items = [(NATALIA, (0, 31)), (NATALIA, (32, 61)), (NATALIA, (62, len(NATALIA))), ("Tom has 5 apples.", (0, 17))]
    top = clf.predict_op_scores(items, k=3, batch_size=3)
    assert [len(t) for t in top] == [3] * len(items)
    for t in top:
        lps = [lp for _, lp in t]
        assert lps == sorted(lps, reverse=True) and all(lp <= 0 for lp in lps)
        assert len({label for label, _ in t}) == 3 and {label for label, _ in t} <= set(clf.labels)
    assert [t[0][0] for t in top] == clf.predict_ops(items)  # the first label is the argmax
    full = clf.predict_op_scores(items, k=len(clf.labels), batch_size=4)  # every label: probabilities sum to 1
    assert all(abs(math.fsum(math.exp(lp) for _, lp in t) - 1) < 1e-5 for t in full)
    assert [[label for label, _ in t[:3]] for t in full] == [[label for label, _ in t] for t in top]
    with pytest.raises(ValueError, match="k"):
        clf.predict_op_scores(items, k=0)


def test_bad_wiring_knob_fails_at_construction(students: Path) -> None:
    with pytest.raises(ValueError, match="strategy"):
        Solver.from_pretrained(students, wiring="magic")


def test_wiring_student_beside_the_students_is_the_default(students: Path, tmp_path: Path) -> None:
    import shutil
    from functools import partial

    from mycelium.dag.graph import dag_from_steps, execute_all
    from mycelium.models.export import export_student
    from mycelium.models.wiring import WiringModule
    from mycelium.solver.solver import op_distribution

    both = tmp_path / "students"
    shutil.copytree(students, both)
    export_student(WiringModule(partial(build_tiny), width=32).eval(), both / "wiring")
    s = Solver.from_pretrained(both)
    assert s.wiring == "deductive" and s.deductive is not None
    assert Solver.from_pretrained(both, wiring="chain").deductive is None
    p = s.solve(NATALIA, gold_answer="72")
    assert (p.answer is None) == (p.reason is not None)
    if p.answer is not None:  # the decoded DAG is what the solver executed
        assert p.steps and str(execute_all(dag_from_steps(p.steps))[-1]) == p.answer
    assert op_distribution([("MUL+ADD", 0.0)], "MUL") == [0.5, 0.0, 0.5, 0.0]  # OPS order: ADD SUB MUL DIV


@pytest.fixture(scope="module")
def wiring_only(tmp_path_factory) -> Path:
    """A students dir holding the wiring student's export and nothing else."""
    from functools import partial

    import torch

    from mycelium.models.export import export_student
    from mycelium.models.wiring import WiringModule

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("wiring_only")
    export_student(WiringModule(partial(build_tiny), width=32).eval(), out / "wiring")
    return out


def test_text_alone_solver_from_a_wiring_export_alone(wiring_only: Path) -> None:
    from mycelium.dag.graph import dag_from_steps, execute_all, format_value

    s = Solver.from_pretrained(wiring_only, deductive_spans=False)
    assert s.text_alone and s.segmenter is None and s.classifier is None and s.wiring == "deductive"
    texts = [NATALIA, "", "Tom has 5 apples and buys 3 more. How many?"]
    preds = s.solve_batch(texts, ids=["a", "b", "c"], gold_answers=["72", "", "8"])
    assert preds[1].reason == "empty_text"
    for p in (preds[0], preds[2]):
        assert p.spans == [] and p.ops == []  # no segmenter, no classifier: the DAG is all there is
        assert (p.answer is None) == (p.reason is not None) and p.latency_s > 0
        if p.answer is not None:
            assert p.steps and format_value(execute_all(dag_from_steps(p.steps))[-1]) == p.answer


def test_text_alone_penalties_rerank_the_students_finished_dags(wiring_only: Path, monkeypatch) -> None:
    from fractions import Fraction

    from mycelium.models.wiring_beam import Decoded

    text = "Tom has 5 apples and buys 3 more. How many?"  # nodes 0 (5) and 1 (3)
    fraction = Decoded([("DIV", 0, 1, 0)], [Fraction(5, 3)], -0.5)                     # best by score
    echo = Decoded([("SUB", 0, 1, 0), ("ADD", 2, 1, 0)], [Fraction(2), Fraction(5)], -1.0)  # 5 - 3 + 3
    right = Decoded([("ADD", 0, 1, 0)], [Fraction(8)], -2.0)
    searched, priors = [], []

    def finished(examples, *, with_items=False, batch_size=16, margin=0.0, penalties=None, stop_prior=0.0):
        searched.append((margin, penalties[0] if penalties else None))
        priors.append(stop_prior)
        return [[fraction, echo, right]]

    for penalties, answer, cost in (({}, "5/3", None), ({"implausible_penalty": 3.0}, "5", (3.0, 0.0)),
                                    ({"implausible_penalty": 3.0, "echo_penalty": 3.0}, "8", (3.0, 3.0))):
        for search in ("margin", "bound"):
            s = Solver.from_pretrained(wiring_only, deductive_spans=False, search=search, **penalties)
            monkeypatch.setattr(s.deductive, "predict_finished", finished)
            p = s.solve(text, gold_answer="8")
            assert p.answer == answer
            margin, bound = searched[-1]
            if search == "margin":  # the beam searched on within the summed penalties
                assert margin == sum(penalties.values()) and bound is None
            else:  # bounded by the same penalties the re-ranking takes off (none: a plain beam)
                assert margin == 0.0 and ((bound is None) if cost is None else (bound(fraction), bound(echo)) == cost)
    with pytest.raises(ValueError, match="search"):
        Solver.from_pretrained(wiring_only, deductive_spans=False, search="wide")
    assert set(priors) == {0.0}
    for search in ("margin", "bound"):  # the stop prior reaches the student's beam in either search
        s = Solver.from_pretrained(wiring_only, deductive_spans=False, search=search, stop_prior=3.5)
        monkeypatch.setattr(s.deductive, "predict_finished", finished)
        s.solve(text, gold_answer="8")
        assert priors[-1] == 3.5
    assert p.correct and [st.op for st in p.steps] == ["ADD"]
    # vote: two DAGs that answer 8 hold more probability than the likelier 5/3
    also_right = Decoded([("ADD", 1, 0, 0)], [Fraction(8)], -0.6)
    s = Solver.from_pretrained(wiring_only, deductive_spans=False, vote=True)
    monkeypatch.setattr(s.deductive, "predict_finished", lambda *a, **k: [[fraction, echo, also_right, right]])
    assert s.solve(text, gold_answer="8").answer == "8"


def test_text_alone_ignores_segmenter_and_classifier_beside_it(students: Path, wiring_only: Path, tmp_path: Path) -> None:
    import shutil

    both = tmp_path / "students"
    shutil.copytree(students, both)
    shutil.copytree(wiring_only / "wiring", both / "wiring")
    alone = Solver.from_pretrained(wiring_only, deductive_spans=False)
    beside = Solver.from_pretrained(both, deductive_spans=False)
    assert beside.segmenter is None and beside.text_alone  # not loaded: never read
    a, b = alone.solve(NATALIA), beside.solve(NATALIA)
    assert (a.answer, a.reason, a.steps) == (b.answer, b.reason, b.steps)
    assert not Solver.from_pretrained(both).text_alone  # deductive_spans=true: the spans mode, all three loaded


def test_a_wiring_export_alone_needs_text_alone(wiring_only: Path, tmp_path: Path) -> None:
    for bad in (lambda: Solver.from_pretrained(wiring_only),  # spans mode: reads the segmenter
                lambda: Solver.from_pretrained(wiring_only, wiring="chain", deductive_spans=False),
                lambda: Solver.from_pretrained(tmp_path / "empty", deductive_spans=False)):  # nothing there
        with pytest.raises(StudentsNotFound, match="deductive_spans=false") as e:
            bad()
        assert "\n" not in str(e.value)
    with pytest.raises(StudentsNotFound, match="reads the segmenter and classifier"):
        Solver(None, None, wiring="chain")


def test_a_clause_units_segmenter_is_filtered_not_snapped() -> None:
    from mycelium.models.classifier import ClassifierModule
    from mycelium.models.segmenter import SegmenterModule
    from mycelium.teacher.loading import build_tiny

    classifier = ClassifierModule(build_tiny, labels=["ADD", "MUL"])
    clauses = Solver(SegmenterModule(build_tiny, units="clauses"), classifier, wiring="chain")
    tokens = Solver(SegmenterModule(build_tiny), classifier, wiring="chain")
    # its spans are runs of whole clauses already: snapping would cut a run down to one clause
    assert clauses.snapper.filter and not clauses.snapper.snap
    assert tokens.snapper.filter and tokens.snapper.snap


def test_pool_text_alone_votes_over_the_dags_of_both_views(students: Path, wiring_only: Path, tmp_path: Path,
                                                           monkeypatch) -> None:
    import shutil
    from fractions import Fraction

    from mycelium.models.wiring_beam import Decoded

    both = tmp_path / "students"
    shutil.copytree(students, both)
    shutil.copytree(wiring_only / "wiring", both / "wiring")
    s = Solver.from_pretrained(both, deductive_spans=True, pool_text_alone=True)
    assert s.deductive.condition  # the spans view reads its items
    five = Decoded([("ADD", 0, 0, 0)], [Fraction(10)], -0.5)  # the spans' best DAG
    views = []

    def finished(examples, *, with_items=False, **kw):  # each view's own DAGs: 8 wins only when pooled
        views.append(with_items)
        if with_items:
            return [[five, Decoded([("ADD", 0, 1, 0)], [Fraction(8)], -1.2)]]
        return [[Decoded([("ADD", 1, 0, 0)], [Fraction(8)], -1.1)]]

    monkeypatch.setattr(s.deductive, "predict_finished", finished)
    monkeypatch.setattr(s.segmenter, "predict_spans", lambda texts, batch_size=16: [[(0, 32)] for _ in texts])
    p = s.solve("Tom has 5 apples and buys 3 more. How many?", gold_answer="8")
    assert views == [True, False] and p.answer == "8"
    s.pool_text_alone = False  # the spans' view alone: its best DAG wins
    assert s.solve("Tom has 5 apples and buys 3 more. How many?", gold_answer="8").answer == "10"
    from mycelium.errors import UserError

    with pytest.raises(UserError, match="pool_text_alone"):  # a config mistake: one line, no traceback
        Solver.from_pretrained(wiring_only, deductive_spans=False, pool_text_alone=True)
    s.deductive.condition = False  # a student that never read items: both views would be the text alone
    with pytest.raises(UserError, match="condition=true"):
        Solver(s.segmenter, s.classifier, deductive=s.deductive, pool_text_alone=True)


def test_ensemble_votes_over_every_students_dags(wiring_only: Path, tmp_path: Path, monkeypatch) -> None:
    from fractions import Fraction

    from mycelium.errors import UserError
    from mycelium.models.wiring_beam import Decoded

    # a second student, given as its export dir (the first as a students dir)
    s = Solver.from_pretrained(wiring_only, deductive_spans=False, ensemble=[wiring_only / "wiring"])
    assert len(s.ensemble) == 1 and s.ensemble[0] is not s.deductive
    text = "Tom has 5 apples and buys 3 more. How many?"  # nodes 0 (5) and 1 (3)
    views = []
    monkeypatch.setattr(s.deductive, "predict_finished", lambda ex, **kw: views.append(kw["with_items"]) or [[
        Decoded([("SUB", 0, 1, 0)], [Fraction(2)], -0.6), Decoded([("ADD", 0, 1, 0)], [Fraction(8)], -1.0)]])
    monkeypatch.setattr(s.ensemble[0], "predict_finished", lambda ex, **kw: views.append(kw["with_items"]) or [[
        Decoded([("ADD", 1, 0, 0)], [Fraction(8)], -0.7)]])
    assert s.solve(text, gold_answer="8").answer == "8"  # 8 holds the most probability over both students
    assert views == [False, False]  # each student searched once, from the text alone
    s.ensemble = []
    assert s.solve(text, gold_answer="8").answer == "2"  # the first student alone: its best answer
    with pytest.raises(UserError, match="no wiring student export"):  # a wrong path: one line
        Solver.from_pretrained(wiring_only, deductive_spans=False, ensemble=[tmp_path])
    alone = Solver.from_pretrained(wiring_only, deductive_spans=False, ensemble=str(wiring_only))  # one path, no list
    assert len(alone.ensemble) == 1
    with pytest.raises(UserError, match="wiring student too"):  # members beside the heuristic wiring
        Solver(None, None, wiring="chain", deductive_spans=False, ensemble=[s.deductive])
    other = Solver.from_pretrained(wiring_only, deductive_spans=False)
    other.deductive.constants = ["7"]
    with pytest.raises(UserError, match="same implicit constants"):
        Solver(None, None, deductive=s.deductive, deductive_spans=False, ensemble=[other.deductive])
