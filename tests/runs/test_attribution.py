"""The text-alone wiring student's wrong answers by first difference from the label's DAG, on
hand-built label/prediction pairs, post hoc from files, and inside ``evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mycelium.dag.graph import dag_from_steps, execute_all, format_value
from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord
from mycelium.records.predictions import Prediction
from mycelium.runs.attribution import CATEGORIES, attribute, attribute_dir, dag_difference, format_attribution

TEXT = "Tom has 12 apples. He buys 3 bags of 4 apples and eats half of them. How many apples now?"


def q(token: str) -> Arg:
    """The number (or "half") written at ``token``'s first occurrence in TEXT."""
    start = TEXT.index(token)
    if token == "half":
        return Arg("implicit", "2", token, (start, start + len(token)))
    return Arg("number", token, token, (start, start + len(token)))


def r(step: int) -> Arg:
    return Arg("result", "", step=step)


def dag(*steps: tuple[str, list[Arg]]) -> list[Step]:
    """Steps numbered in order, their values filled by executing them."""
    out = [Step(i, op, args, None) for i, (op, args) in enumerate(steps)]
    values = execute_all(dag_from_steps(out))
    for s, v in zip(out, values):
        s.value = format_value(v)
    for s in out:
        for a in s.args:
            if a.kind == "result":
                a.value = out[a.step].value
    return out


def label(steps: list[Step], validated: bool = True, rid: str = "p") -> LabelRecord:
    return LabelRecord(rid, TEXT, steps[-1].value, steps, steps[-1].value, validated)


def pred(steps: list[Step], gold: LabelRecord, rid: str = "p") -> Prediction:
    answer = steps[-1].value if steps else None
    return Prediction(rid, TEXT, gold.gold_answer, [], [], steps, answer, answer == gold.gold_answer,
                      None if answer else "no_wiring")


GOLD = dag(("MUL", [q("3"), q("4")]), ("ADD", [q("12"), r(0)]))  # 12 + 3 * 4 = 24


@pytest.mark.parametrize(
    ("predicted", "category"),
    [
        (dag(("MUL", [q("4"), q("3")]), ("ADD", [r(0), q("12")])), None),  # the same DAG, reordered: right
        ([], "no_answer"),
        (dag(("ADD", [q("12"), q("3")])), "steps"),  # one step, not two
        (dag(("MUL", [q("3"), q("4")]), ("ADD", [q("12"), r(0)]), ("SUB", [r(1), q("3")])), "steps"),
        (dag(("MUL", [q("3"), q("4")]), ("SUB", [q("12"), r(0)])), "op"),  # same quantities and shape
        (dag(("ADD", [q("3"), q("4")]), ("MUL", [q("12"), r(0)])), "op"),  # ops swapped
        (dag(("MUL", [q("12"), q("3")]), ("ADD", [r(0), q("4")])), "structure"),  # (12*3)+4: other shape
        (dag(("MUL", [q("3"), q("4")]), ("ADD", [q("half"), r(0)])), "operands"),  # "half" read, not 12
        (dag(("MUL", [q("3"), q("3")]), ("ADD", [q("12"), r(0)])), "operands"),  # 3 read twice
        # a step the answer does not reach is not counted: one step against the label's two
        (dag(("MUL", [q("3"), q("4")]), ("DIV", [q("12"), q("3")])), "steps"),
    ],
)
def test_first_difference_from_the_label_dag(predicted: list[Step], category: str | None) -> None:
    gold = label(GOLD)
    assert dag_difference(pred(predicted, gold), gold) == category


def test_sub_and_div_operand_order_is_an_op_error() -> None:
    gold = label(dag(("SUB", [q("12"), q("4")])))
    assert dag_difference(pred(dag(("SUB", [q("4"), q("12")])), gold), gold) == "op"
    gold = label(dag(("DIV", [q("12"), q("4")])))
    assert dag_difference(pred(dag(("DIV", [q("4"), q("12")])), gold), gold) == "op"
    assert dag_difference(pred(dag(("MUL", [q("12"), q("4")])), gold), gold) == "op"


def test_an_nary_label_step_counts_as_its_binary_steps() -> None:
    gold = label(dag(("ADD", [q("12"), q("3"), q("4")])))  # 12 + 3 + 4: two binary steps
    right = pred(dag(("ADD", [q("3"), q("4")]), ("ADD", [q("12"), r(0)])), gold)
    assert right.correct and dag_difference(right, gold) is None
    right.correct = False  # the same computation marked wrong (gold and label disagree): said so
    assert dag_difference(right, gold) == "same_dag"
    assert dag_difference(pred(dag(("ADD", [q("12"), q("3")])), gold), gold) == "steps"
    assert dag_difference(pred(dag(("ADD", [q("3"), q("4")]), ("MUL", [q("12"), r(0)])), gold), gold) == "op"


def test_without_a_usable_label() -> None:
    gold = label(GOLD)
    wrong = pred(dag(("ADD", [q("12"), q("3")])), gold)
    assert dag_difference(wrong, None) == "no_label"
    assert dag_difference(wrong, label(GOLD, validated=False)) == "no_label"
    # an operand no quantity node holds (7 is written nowhere): the student cannot build it
    ungrounded = label([Step(0, "ADD", [q("12"), Arg("number", "7", "7", (8, 10))], "19")])
    assert dag_difference(wrong, ungrounded) == "not_expressible"
    assert dag_difference(pred([], gold), None) == "no_answer"  # no answer comes first


def test_attribute_partitions_the_wrong_answers_and_reads_files(tmp_path: Path) -> None:
    gold = label(GOLD, rid="a")
    preds = [pred(dag(("MUL", [q("3"), q("4")]), ("ADD", [q("12"), r(0)])), gold, "a"),  # right
             pred(dag(("ADD", [q("12"), q("3")])), gold, "a"), pred([], gold, "b"), pred(dag(("ADD", [q("12"), q("3")])), gold, "c")]
    labels = {"a": gold, "b": label(GOLD, rid="b")}
    counts = attribute(preds, labels)
    assert list(counts) == list(CATEGORIES) and sum(counts.values()) == 3
    assert (counts["steps"], counts["no_answer"], counts["no_label"]) == (1, 1, 1)
    assert format_attribution(counts).startswith("no_answer 1 (33%), no_label 1 (33%), not_expressible 0 (0%)")

    run = tmp_path / "eval" / "mawps_cv-fold0"
    (run / "labels").mkdir(parents=True)
    (run / "predictions.jsonl").write_text("".join(json.dumps(p.to_dict()) + "\n" for p in preds))
    # the unvalidated record of "c" is read and left out, as evaluate's labels are
    unvalidated = label(GOLD, validated=False, rid="c")
    rows = [gold, labels["b"], unvalidated]
    (run / "labels" / "labels.jsonl").write_text("".join(json.dumps(x.to_dict()) + "\n" for x in rows))
    assert attribute_dir(run) == counts
    assert attribute_dir(tmp_path / "nowhere") is None
    (run / "labels" / "labels.jsonl").rename(tmp_path / "all.jsonl")
    (run / "labels").rmdir()
    assert attribute_dir(run) is None  # no test labels: nothing invented
    assert attribute_dir(run, tmp_path / "all.jsonl") == counts  # a labels file of all problems


def test_evaluate_in_text_alone_mode_attributes_dags_not_stages(tmp_path: Path) -> None:
    from functools import partial

    import torch

    from mycelium.data.problems import Problem
    from mycelium.models.wiring import WiringModule
    from mycelium.runs.evaluate import evaluate
    from mycelium.solver.solver import Solver
    from mycelium.teacher.loading import build_tiny

    torch.manual_seed(0)
    solver = Solver(None, None, deductive=WiringModule(partial(build_tiny), width=32), deductive_spans=False)
    problems = [Problem(f"p{i}", TEXT, "", "24", "toy", "test") for i in range(3)]
    labels = {"p0": label(GOLD, rid="p0"), "p1": label(GOLD, rid="p1")}
    report = evaluate(problems, solver, labels=labels, out_dir=tmp_path, progress=False)
    assert report.text_alone and report.labelled == 2
    # the segmenter and classifier are not there: no span/op score, no stage, no ceiling
    assert report.span_f1 is None and report.op_accuracy_gold_spans is None and report.wiring_ceiling is None
    assert report.errors_by_stage == {} and sum(report.errors_by_dag.values()) == report.n - report.correct
    unlabelled_wrong = report.predictions[2]
    assert report.errors_by_dag["no_label"] == (unlabelled_wrong.answer is not None and not unlabelled_wrong.correct)
    m = report.metrics()
    assert m["eval/text_alone"] == 1 and "eval/span_f1" not in m and "eval/errors_wiring" not in m
    assert sum(m[f"eval/dag_errors_{c}"] for c in CATEGORIES) == report.n - report.correct
    assert "not applicable" in report.format() and "first difference from the label's DAG" in report.format()
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["text_alone"] is True and saved["errors_by_dag"] == report.errors_by_dag
    unlabelled = evaluate(problems, solver, out_dir=None, progress=False)
    assert unlabelled.errors_by_dag == {} and "no test labels" in unlabelled.format()
    assert all(p.extra["steps_source"] == "predicted_steps" for p in unlabelled.predictions)
