"""The self-improvement loop (``train.py chain=full loop=self_improve``) on the tiny teacher and backbone.

The in-process tests swap the solver's two students for rules (the first sentence is the one
span, every span is an ADD), so which problems get solved is known: the fake GSM8K's ADD
problems are solved, its SUB problems get a wrong answer and must never become labels. The
students themselves still train every round on the tiny backbone.
"""

from __future__ import annotations

import csv
import json
import logging
import struct
from pathlib import Path

import pytest
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

import mycelium.loop.rounds as loop_module
import mycelium.runs.fit_student as fit_student
from entrypoints import run_entry, write_gsm8k
from mycelium.config import register_resolvers
from mycelium.errors import UserError
from mycelium.dag.steps import Arg, Step
from mycelium.data.splits import split_of
from mycelium.records.labels import LabelRecord
from mycelium.loop.rounds import Loop, run_loop
from mycelium.loop.selection import (
    Agreement, agrees_with_solution, merge_labels, record_from_prediction, solution_values, validate,
)
from mycelium.loop.state import LoopSettings, RoundRecord, stop_reason
from mycelium.records.predictions import Prediction
from mycelium.solver.solver import Solver
from mycelium.solver.wiring import wire

register_resolvers()  # conf/train.yaml's ${shuffle_tag:...}
SPLITS = "{train: 0.6, val: 0.2, test: 0.2}"
TINY_LOOP = [
    "chain=full", "loop=self_improve", "teacher=tiny", "backbone=tiny", "trainer.max_epochs=1",
    "~callbacks.rich_progress_bar", "chain.eval.sets=[gsm8k/test]",
    f"chain.students.segmenter.datamodule.splits={SPLITS}",
    f"chain.students.classifier.datamodule.splits={SPLITS}",
    # 24 train problems: seed = the first 10, pool = the first 18, val = the last 6
    "chain.limit=10", "loop.pool=18", "loop.val_size=6",
]


def rounds(e2e_val: list[float], added: int = 5) -> list[RoundRecord]:
    """Round records with these E2E val accuracies, each adding ``added`` labels."""
    return [RoundRecord(round=i, train_labels=10, added=added, mopup=0, attempted=0, rejected=0, span_f1=None,
                        classifier_acc=None, e2e_val=v, e2e_test=0.0, luck_compared=0, luck_ops_differ=0,
                        luck_regions_differ=0, retrained=True, students_dir="", seconds=0.0)
            for i, v in enumerate(e2e_val)]


def test_stop_rule() -> None:
    assert stop_reason([], max_rounds=5, min_delta=0.01) is None  # round 0 always runs
    assert stop_reason(rounds(e2e_val=[0.02]), max_rounds=5, min_delta=0.01) is None  # no gain to judge yet
    assert stop_reason(rounds(e2e_val=[0.02, 0.04]), max_rounds=5, min_delta=0.01) is None  # +2 points
    why = stop_reason(rounds(e2e_val=[0.02, 0.025]), max_rounds=5, min_delta=0.01)  # +0.5 point
    assert why is not None and "min_delta" in why
    assert "min_delta" in stop_reason(rounds(e2e_val=[0.04, 0.02]), max_rounds=5, min_delta=0.01)  # a loss
    assert "max_rounds" in stop_reason(rounds(e2e_val=[0.0, 0.5, 0.9]), max_rounds=2, min_delta=0.01)
    assert "max_rounds" in stop_reason(rounds(e2e_val=[0.0]), max_rounds=0, min_delta=0.01)
    # a round that added nothing: the next would repeat it, unless the teacher mops up
    assert stop_reason(rounds(e2e_val=[0.1, 0.1]), max_rounds=5, min_delta=-1) is None  # min_delta < 0: never
    assert "added no label" in stop_reason(rounds(e2e_val=[0.1, 0.1], added=0), max_rounds=5, min_delta=-1)
    assert stop_reason(rounds(e2e_val=[0.1, 0.1], added=0), max_rounds=5, min_delta=-1, mopup=10) is None


TEXT = "Tom has 3 apples and buys 5 more. How many apples does he have?"


def prediction(op: str, gold: str, span: tuple[int, int] = (0, 33)) -> Prediction:
    """What the solver does for ``TEXT`` with one span and one op (wired and executed for real)."""
    steps = wire(TEXT, [span], [op])
    answer = steps[-1].value
    return Prediction("p", TEXT, gold, [span], [op], steps, answer, answer == gold)


def test_solved_prediction_becomes_a_label_that_revalidates() -> None:
    record = record_from_prediction(prediction("ADD", "8"))
    assert record.validated and record.reason is None and record.answer == "8"
    assert record.steps[0].region == (0, 33) and [a.value for a in record.steps[0].args] == ["3", "5"]
    assert all(a.kind == "number" and TEXT[a.span[0]:a.span[1]] == a.value for a in record.steps[0].args)
    again = LabelRecord.from_dict(json.loads(json.dumps(record.to_dict())))  # as written to and read from disk
    again.validated = False
    assert validate(again).validated


def test_wrong_or_ungrounded_labels_are_rejected() -> None:
    wrong = record_from_prediction(prediction("SUB", "8"))  # executes to 2: never a label
    assert not wrong.validated and wrong.reason == "wrong_answer"
    no_region = record_from_prediction(prediction("ADD", "8"))
    no_region.steps[0].region = None
    assert not validate(no_region).validated and no_region.reason == "no_region"
    ungrounded = LabelRecord("p", TEXT, "8", [Step(0, "ADD", [Arg("number", "3"), Arg("number", "5")], None,
                                                   region=(0, 33))], None, False)
    assert validate(ungrounded).reason == "ungrounded_operand"  # right answer, operands from nowhere
    forward = LabelRecord("p", TEXT, "8", [Step(0, "ADD", [Arg("result", "8", step=0), Arg("number", "3", span=(8, 9))],
                                                None, region=(0, 33))], None, False)
    assert not validate(forward).validated
    assert validate(LabelRecord("p", TEXT, "8", [], None, False)).reason == "no_ops"


def test_a_solved_dag_must_compute_what_the_gold_solution_computes() -> None:
    # loop.admit=solution: "20 + (20 - 8)" is the solution; "8 x 8 / 2" lands on 32 too
    text = "Ann has 20 pens. Bob has 8 fewer pens than Ann. How many pens do they have?"
    solution = "Bob has 20 - 8 = <<20-8=12>>12 pens.\nTogether they have 20 + 12 = <<20+12=32>>32 pens.\n#### 32"
    assert solution_values(solution) == {12, 32}
    assert solution_values("9 - 5 = 4. 4 * 4 = 16. The answer is 16.") == {4, 16}  # MAWPS-style, no annotations
    span = lambda w, start=0: (text.index(w, start), text.index(w, start) + len(w))  # noqa: E731
    twenty, eight = Arg("number", "20", "20", span("20")), Arg("number", "8", "8", span("8"))
    right = [Step(0, "SUB", [twenty, eight], None), Step(1, "ADD", [twenty, Arg("result", "12", step=0)], None)]
    luck = [Step(0, "MUL", [eight, eight], None), Step(1, "DIV", [Arg("result", "64", step=0), Arg("number", "2", "2")], None)]
    pred = lambda steps: Prediction("p", text, "32", [], [], steps, "32", True)  # noqa: E731
    for steps in (right, luck):
        for s in steps:
            s.region = span("Bob has 8 fewer pens than Ann.")
    luck[1].args[1] = Arg("number", "2", "2", (0, 1))  # grounded somewhere: only the values are judged here
    assert record_from_prediction(pred(right), solution=solution).validated
    lucky = record_from_prediction(pred(luck), solution=solution)
    assert not lucky.validated and lucky.reason == "disagrees_with_solution"
    assert record_from_prediction(pred(luck)).validated  # loop.admit=answer: execution alone passes it
    assert not agrees_with_solution(lucky, "")  # no solution, nothing to agree with


def test_a_solved_dag_the_labels_checks_flag_is_not_a_label() -> None:
    from mycelium.labels.assemble import LabelSettings
    from mycelium.labels.clauses import load_spacy, parse

    text = "Tom has 3 apples and buys 5 more. Ann has 8 apples. How many apples do they have together?"
    span = lambda w, start=0: (text.index(w, start), text.index(w, start) + len(w))  # noqa: E731
    # its second step reads Ann's written 8 where the value of step 0 is also 8: the
    # equals_result shape, which a loop asking for that check refuses
    steps = [Step(0, "ADD", [Arg("number", "3", "3", span("3")), Arg("number", "5", "5", span("5"))], None,
                  region=span("Tom has 3 apples and buys 5 more.")),
             Step(1, "ADD", [Arg("number", "8", "8", span("8")), Arg("result", "8", step=0)], None,
                  region=span("Ann has 8 apples."))]
    (parsed,) = parse([text], load_spacy())
    checks = LabelSettings().reject_checks + ("equals_result",)
    assert validate(LabelRecord("p", text, "16", steps, None, False)).validated  # execution alone passes it
    assert validate(LabelRecord("p", text, "16", steps, None, False), parsed, LabelSettings().reject_checks).validated
    flagged = validate(LabelRecord("p", text, "16", steps, None, False), parsed, checks)
    assert not flagged.validated and flagged.reason == "check_equals_result"
    assert validate(LabelRecord("p", text, "16", steps, None, False), parsed, ()).validated  # no checks asked


def test_a_dag_from_the_text_alone_gets_regions_from_its_operands() -> None:
    from mycelium.labels.assemble import LabelSettings
    from mycelium.labels.clauses import load_spacy, parse

    text = "Tom has 3 apples and buys 5 more. Each apple costs 2 dollars. How much do his apples cost?"
    span = lambda w: (text.index(w), text.index(w) + len(w))  # noqa: E731
    steps = [Step(0, "ADD", [Arg("number", "3", "3", span("3")), Arg("number", "5", "5", span("5"))], "8"),
             Step(1, "MUL", [Arg("result", "8", step=0), Arg("number", "2", "2", span("2"))], "16")]
    pred = Prediction(id="p", text=text, gold_answer="16", spans=[], ops=[], steps=steps, answer="16", correct=True)
    assert record_from_prediction(pred).reason == "no_region"  # no parse: nothing to place the steps with
    (parsed,) = parse([text], load_spacy())
    record = record_from_prediction(pred, parsed, LabelSettings().reject_checks)
    assert record.validated, record.reason
    first, second = (text[s.region[0]:s.region[1]] for s in record.steps)
    assert first == "buys 5 more"  # the conjunct stating the sum ("more"; relations rule 8)
    assert "2 dollars" in second
    # a last step that reads only results takes the question's sentence
    both = [Step(0, "MUL", [Arg("number", "3", "3", span("3")), Arg("number", "2", "2", span("2"))], "6"),
            Step(1, "MUL", [Arg("number", "5", "5", span("5")), Arg("number", "2", "2", span("2"))], "10"),
            Step(2, "ADD", [Arg("result", "6", step=0), Arg("result", "10", step=1)], "16")]
    pred = Prediction(id="q", text=text, gold_answer="16", spans=[], ops=[], steps=both, answer="16", correct=True)
    record = record_from_prediction(pred, parsed, ())
    assert record.validated, record.reason
    assert text[record.steps[2].region[0]:record.steps[2].region[1]].startswith("How much")


def test_a_text_alone_dag_gets_the_labels_region_rules_or_its_operands_clauses() -> None:
    from mycelium.labels.clauses import load_spacy, parse

    text = "Kim had 63 marbles. She gave 21 marbles to her brother. How many marbles does she have left?"
    span = lambda w: (text.index(w), text.index(w) + len(w))  # noqa: E731
    steps = [Step(0, "SUB", [Arg("number", "63", "63", span("63")), Arg("number", "21", "21", span("21"))], "42")]
    pred = Prediction(id="p", text=text, gold_answer="42", spans=[], ops=[], steps=steps, answer="42", correct=True)
    (parsed,) = parse([text], load_spacy())
    region = lambda r: text[r.steps[0].region[0]:r.steps[0].region[1]]  # noqa: E731
    # the question states the difference ("left"): the labels' rules put the final step there
    assert region(record_from_prediction(pred, parsed)) == "How many marbles does she have left"
    assert "63" in region(record_from_prediction(pred, parsed, regions="operands"))
    with pytest.raises(ValueError, match="regions"):
        record_from_prediction(pred, parsed, regions="iaf")


def test_agreement_counts_ops_and_regions_that_differ() -> None:
    mine = record_from_prediction(prediction("ADD", "8"))
    teacher = record_from_prediction(prediction("ADD", "8"))
    agree = Agreement()
    agree.add(mine, teacher)
    assert (agree.compared, agree.ops_differ, agree.regions_differ) == (1, 0, 0)
    lucky = record_from_prediction(prediction("ADD", "8", span=(0, 20)))  # same ops, another region
    other = LabelRecord("p", TEXT, "8", [Step(0, "MUL", lucky.steps[0].args, "8", region=(0, 33))], "8", True)
    agree.add(lucky, teacher)
    agree.add(other, teacher)
    assert (agree.compared, agree.ops_differ, agree.regions_differ) == (3, 1, 1)


# ---------------------------------------------------------------------------------------------
# the loop in process, with rule-based students


class FirstSentence:
    """A segmenter: the first sentence of each text is its one span."""

    def eval(self):
        return self

    def predict_spans(self, texts, batch_size=16):
        return [[(0, t.index(".") + 1)] for t in texts]


class AlwaysAdd:
    """A classifier: every span is an ADD."""

    def eval(self):
        return self

    def predict_ops(self, items, batch_size=16):
        return ["ADD"] * len(items)

    def predict_op_scores(self, items, k=3, batch_size=16):
        return [[("ADD", 0.0)] for _ in items]


@pytest.fixture
def loop_env(tmp_path: Path, monkeypatch):
    """``make(*overrides) -> cfg`` for a loop in ``tmp_path`` (fake GSM8K: 24 train, 6 test)."""
    data = write_gsm8k(tmp_path / "data", "train", n=24, mixed=True)
    write_gsm8k(data, "test", n=6, mixed=True)
    monkeypatch.setenv("MYCELIUM_DATA_DIR", str(data))
    monkeypatch.setenv("PROJECT_ROOT", str(tmp_path))
    rules = classmethod(lambda cls, path, device="auto", **kw: cls(FirstSentence(), AlwaysAdd(), **kw))
    monkeypatch.setattr(Solver, "from_pretrained", rules)

    def make(*overrides: str):
        GlobalHydra.instance().clear()
        with initialize(version_base="1.3", config_path="../../conf"):
            cfg = compose(config_name="train", return_hydra_config=True, overrides=[*TINY_LOOP, *overrides])
        with open_dict(cfg):
            cfg.paths.output_dir = cfg.hydra.runtime.output_dir = str(tmp_path / "run")
            cfg.hydra.job.num = 0
        HydraConfig().set_config(cfg)
        return cfg

    yield make
    GlobalHydra.instance().clear()


def read_round(loop_dir: Path, n: int) -> dict:
    return json.loads((loop_dir / f"round_{n:03d}" / "round.json").read_text())


def test_loop_adds_only_what_validates_resumes_and_stops(loop_env, tmp_path: Path, monkeypatch, caplog) -> None:
    from mycelium.runs.stages import teacher_stage

    cfg = loop_env("loop.retrain=continue")
    teacher_stage(cfg, limit=18)  # the teacher also traced the pool: the guard compares with its labels
    continued, inits = [], []
    real_load_previous, real_init = loop_module.load_previous, fit_student.init_weights
    spy = lambda path, **kw: continued.append(path) or real_load_previous(path, **kw)  # noqa: E731
    monkeypatch.setattr(loop_module, "load_previous", spy)
    monkeypatch.setattr(fit_student, "init_weights", lambda model, path: inits.append(str(path)) or real_init(model, path))
    loop_dir = tmp_path / "outputs" / "loops" / "self_improve"

    # rounds 0 and 1
    metrics = run_loop(loop_env("loop.retrain=continue", "loop.max_rounds=1", "loop.min_delta=-1"), [])
    r0, r1 = read_round(loop_dir, 0), read_round(loop_dir, 1)
    assert r0["train_labels"] == 10 and r0["added"] == 0
    added = [LabelRecord.from_dict(json.loads(line))
             for line in (loop_dir / "round_001" / "added.jsonl").read_text().splitlines()]
    preds = [Prediction.from_dict(json.loads(line)) for line in
             (loop_dir / "round_001" / "solve" / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == r1["attempted"] == 8  # pool problems 10..17, none labelled yet
    solved = {p.id for p in preds if p.correct}
    assert solved and len(solved) < len(preds)  # the SUB problems get a wrong answer
    assert {r.id for r in added} == solved and r1["added"] == len(solved) and r1["rejected"] == 0
    for r in added:  # an added label passes the teacher labels' validation again, from disk
        assert r.validated and " buys " in r.text and float(r.answer) == float(r.gold_answer)
        r.validated = False
        assert validate(r).validated
    merged = [LabelRecord.from_dict(json.loads(line))
              for line in (loop_dir / "round_001" / "labels" / "labels.jsonl").read_text().splitlines()]
    assert sum(r.validated for r in merged) == r1["train_labels"] == 10 + len(solved)
    assert len({r.id for r in merged}) == len(merged)  # one record a problem
    assert r1["luck_compared"] == len(solved) and r1["luck_ops_differ"] == 0  # the teacher says ADD too
    assert r1["retrained"]  # from round 0's exports:
    assert continued == [str(loop_dir / "round_000" / "students" / s) for s in ("segmenter", "classifier")]
    assert inits == [str(loop_dir / "round_000" / "students" / "wiring")]  # the wiring whole, head included
    assert metrics["loop/e2e_val"] == r1["e2e_val"] == 0.5  # val: the last 6 problems, half of them ADD
    assert (loop_dir / "round_001" / "students" / "classifier" / "label_map.json").is_file()
    assert not (loop_dir / "round_001" / "segmenter" / "checkpoints").exists()  # exports kept, checkpoints not
    with open(loop_dir / "rounds.csv") as f:
        assert [row["round"] for row in csv.DictReader(f)] == ["0", "1"]
    assert (loop_dir / "self_improve.png").stat().st_size > 1000

    # resume with one more round: rounds 0 and 1 are not redone; round 2 only tries the SUB problems
    done = {n: (loop_dir / f"round_{n:03d}" / "round.json").stat().st_mtime_ns for n in (0, 1)}
    run_loop(loop_env("loop.retrain=continue", "loop.max_rounds=2", "loop.min_delta=-1"), [])
    assert {n: (loop_dir / f"round_{n:03d}" / "round.json").stat().st_mtime_ns for n in (0, 1)} == done
    r2 = read_round(loop_dir, 2)
    assert r2["attempted"] == 8 - len(solved) and r2["added"] == 0 and not r2["retrained"]
    assert len(continued) == 2 and len(inits) == 1  # nothing new: no training

    # round 2 added nothing and there is no teacher mop-up: a round 3 would repeat it, so none runs
    run_loop(loop_env("loop.retrain=continue", "loop.max_rounds=5", "loop.min_delta=-1"), [])
    assert not (loop_dir / "round_003").exists()

    # a round killed before its round.json is redone whole; with mop-up the teacher labels failures
    (loop_dir / "round_003").mkdir()
    (loop_dir / "round_003" / "half-written").write_text("")
    run_loop(loop_env("loop.retrain=continue", "loop.max_rounds=3", "loop.min_delta=-1", "loop.teacher_mopup=2"), [])
    assert not (loop_dir / "round_003" / "half-written").exists()
    r3 = read_round(loop_dir, 3)
    mopup = [LabelRecord.from_dict(json.loads(line))
             for line in (loop_dir / "round_003" / "mopup.jsonl").read_text().splitlines()]
    assert r3["added"] == 0 and r3["mopup"] == len(mopup) == 2 and r3["retrained"] and len(continued) == 4
    assert all(r.validated and " eats " in r.text for r in mopup)  # teacher labels of the SUB problems
    assert r3["train_labels"] == r1["train_labels"] + 2

    # the stop rule: round 3 gained nothing over round 2, so the default 1-point min_delta ends the loop
    with caplog.at_level(logging.INFO, logger="mycelium.loop.rounds"):
        run_loop(loop_env("loop.retrain=continue", "loop.max_rounds=10"), [])
    assert not (loop_dir / "round_004").exists()
    assert "E2E gain on val +0.0000 < loop.min_delta=0.01 (round 3)" in caplog.text

    # resuming with settings that change what a round means is refused
    with pytest.raises(UserError, match="chain.limit"):
        run_loop(loop_env("loop.retrain=continue", "chain.limit=12"), [])


def test_holdout_loop_starts_from_given_students_and_validates_on_the_held_out_split(loop_env, tmp_path: Path) -> None:
    # experiment=self_improve_gsm8k's shape: the pool is every train problem, val is the
    # students' held-out split, round 0 is students trained before
    same_split = [f"chain.students.wiring.datamodule.splits={SPLITS}"]
    run_loop(loop_env(*same_split, "loop.max_rounds=0", "loop.name=first"), [])
    seed = tmp_path / "outputs" / "loops" / "first" / "round_000" / "students"
    holdout = [*same_split, "loop.holdout=[val,test]", "loop.pool=null", f"loop.seed_students={seed}",
               "loop.name=held", "loop.retrain=continue", "loop.max_rounds=1", "loop.min_delta=-1"]
    loop = Loop(loop_env(*holdout), [])
    fractions = {"train": 0.6, "val": 0.2, "test": 0.2}
    assert loop.val and {split_of(p.id, fractions) for p in loop.val} <= {"val", "test"}
    assert len(loop.pool) + len(loop.val) == 24 and all(split_of(p.id, fractions) == "train" for p in loop.pool)
    run_loop(loop_env(*holdout), [])
    loop_dir = tmp_path / "outputs" / "loops" / "held"
    r0, r1 = read_round(loop_dir, 0), read_round(loop_dir, 1)
    assert not r0["retrained"] and r1["retrained"] and r1["added"] > 0  # round 0 evaluates the given students
    for student in ("segmenter", "classifier", "wiring", "wiring_mlp"):
        for f in (seed / student).iterdir():
            assert (loop_dir / "round_000" / "students" / student / f.name).read_bytes() == f.read_bytes()
    done = (loop_dir / "round_000" / "round.json").stat().st_mtime_ns
    run_loop(loop_env(*holdout[:-2], "loop.max_rounds=1", "loop.min_delta=-1"), [])  # resumes: nothing redone
    assert (loop_dir / "round_000" / "round.json").stat().st_mtime_ns == done and not (loop_dir / "round_002").exists()
    val_preds = (loop_dir / "round_000" / "eval" / "val" / "predictions.jsonl").read_text().splitlines()
    assert {json.loads(line)["id"] for line in val_preds} == {p.id for p in loop.val}
    tried = (loop_dir / "round_001" / "solve" / "predictions.jsonl").read_text().splitlines()
    assert {json.loads(line)["id"] for line in tried} <= {p.id for p in loop.pool}  # never a val problem

    # students split another way would put val problems in their training set: refused
    other = [*holdout, "loop.name=salted", *(f"chain.students.{s}.datamodule.split_salt=x"
                                           for s in ("segmenter", "classifier", "wiring"))]
    with pytest.raises(UserError, match="was split with"):
        run_loop(loop_env(*other), [])
    assert not (tmp_path / "outputs" / "loops" / "salted" / "round_000").exists()  # refused before any labelling
    with pytest.raises(UserError, match="no export"):
        run_loop(loop_env(*holdout[:-5], f"loop.seed_students={tmp_path}", "loop.name=none"), [])
    with pytest.raises(UserError, match="split 2 ways"):
        Loop(loop_env("loop.holdout=[val,test]", "chain.limit=null", "loop.pool=null"), [])
    with pytest.raises(UserError, match="needs loop.holdout"):  # val would be problems the students trained on
        Loop(loop_env(*same_split, f"loop.seed_students={seed}"), [])
    with pytest.raises(UserError, match="held-out split names"):
        Loop(loop_env(*same_split, "loop.holdout=[train]", "loop.pool=null"), [])


def test_merged_labels_keep_unvalidated_records_unless_a_new_label_replaces_them() -> None:
    def record(i: int, validated: bool) -> LabelRecord:
        return LabelRecord(id=f"p{i}", text=f"text {i}", gold_answer="1", steps=[], answer=None, validated=validated)

    previous = [record(0, True), record(1, False), record(2, False)]
    new = [record(2, True), record(3, True)]  # p2 solved by the student, p3 by the teacher's mop-up
    merged = merge_labels(previous, new)
    assert [(r.id, r.validated) for r in merged] == [("p0", True), ("p1", False), ("p2", True), ("p3", True)]


def test_the_gsm8k_loop_experiment_composes_into_a_holdout_loop_from_the_default_students() -> None:
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../../conf"):
        cfg = compose(config_name="train", overrides=["experiment=self_improve_gsm8k"])
    s = LoopSettings.from_config(cfg)
    assert s.holdout == ["val", "test"] and s.pool is None and s.retrain == "continue" and s.admit == "solution"
    assert s.seed_students.endswith("students/default") and cfg.chain.limit is None
    assert list(cfg.chain.stages) == ["teacher", "labels", "wiring", "evaluate"]
    assert dict(cfg.chain.students.wiring.datamodule.splits) == {"train": 0.9, "val": 0.05, "test": 0.05}
    GlobalHydra.instance().clear()


def test_bad_loop_settings_say_what_to_set(loop_env) -> None:
    with pytest.raises(UserError, match="0 < N < M"):
        Loop(loop_env("loop.pool=10"), [])
    with pytest.raises(UserError, match="loop.retrain"):
        Loop(loop_env("loop.retrain=warm"), [])
    with pytest.raises(UserError, match="loop.admit"):
        Loop(loop_env("loop.admit=teacher"), [])
    with pytest.raises(UserError, match="loop.regions"):
        Loop(loop_env("loop.regions=iaf"), [])
    with pytest.raises(UserError, match="val"):
        Loop(loop_env("loop.pool=20"), [])  # the last 6 problems are val: the pool may not reach them


# ---------------------------------------------------------------------------------------------
# the command line, with the real (tiny) students


@pytest.mark.slow
def test_two_rounds_from_the_command_line(tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", "train", n=24, mixed=True)
    write_gsm8k(data, "test", n=6, mixed=True)
    r = run_entry("train.py", *TINY_LOOP, "loop.max_rounds=1", "loop.min_delta=-1", "logger=wandb",
                  f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, data=data)
    assert r.returncode == 0, r.stderr[-3000:]
    loop_dir = tmp_path / "outputs" / "loops" / "self_improve"
    assert [read_round(loop_dir, n)["round"] for n in (0, 1)] == [0, 1]
    assert (loop_dir / "rounds.csv").is_file() and (loop_dir / "self_improve.png").is_file()
    assert "loop self_improve stops: max_rounds=1 reached" in r.stderr + r.stdout
    # the job's one W&B run (offline) holds every round's curves against `round`
    (run_file,) = (tmp_path / "run" / "wandb").glob("offline-run-*/run-*.wandb")
    records = list(wandb_records(run_file))
    steps = {r.metric.name: r.metric.step_metric for r in records if r.WhichOneof("record_type") == "metric"}
    assert steps["loop/e2e_val"] == steps["loop/span_f1"] == steps["loop/train_labels"] == "round"
    rows = [{i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item} for r in records
            if r.WhichOneof("record_type") == "history"]
    expected = [(n, read_round(loop_dir, n)["train_labels"]) for n in (0, 1)]
    assert [(row["round"], row["loop/train_labels"]) for row in rows if "loop/e2e_val" in row] == expected


def wandb_records(path: Path):
    """The protobuf records of an offline W&B run file (a LevelDB-style log: 32 KiB blocks of
    chunks, each with a 7-byte header: crc32, length, type; a 7-byte W&B header first)."""
    from wandb.proto import wandb_internal_pb2

    data, pos, buf = path.read_bytes(), 7, b""
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:  # block trailer
            pos += 32768 - pos % 32768
            continue
        _, n, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if n == kind == 0:
            break
        buf, pos = buf + data[pos + 7 : pos + 7 + n], pos + 7 + n
        if kind in (1, 4):  # a full record, or the last chunk of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(buf)
            yield record
            buf = b""


def test_loop_without_chain_is_one_line(tmp_path: Path) -> None:
    r = run_entry("train.py", "loop=self_improve", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert r.returncode == 2
    assert "add chain=full" in r.stderr + r.stdout and "Traceback" not in r.stderr


def test_mopup_skips_failures_the_teacher_already_failed() -> None:
    from mycelium.data.problems import Problem
    from mycelium.loop.selection import mopup_candidates

    todo = [Problem(f"p{i}", "", "", "1", "gsm8k", "train") for i in range(6)]
    ref = {"p0": LabelRecord("p0", "", "1", [], None, False), "p2": LabelRecord("p2", "", "1", [], "1", True)}
    # p0's cached teacher label did not validate: asking again is wasted; p1 was solved by the students
    assert [p.id for p in mopup_candidates(todo, {"p1"}, ref, cap=3)] == ["p2", "p3", "p4"]
    assert mopup_candidates(todo, set(), ref, cap=0) == []
