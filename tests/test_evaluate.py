"""evaluate.py as users run it: a subprocess with Hydra overrides, on tiny exported students."""

import json
from pathlib import Path

import pytest

from entrypoints import run_entry, write_gsm8k
from mycelium.records.predictions import Prediction


def run_evaluate(*overrides: str, cwd: Path, data: Path):
    return run_entry("evaluate.py", *overrides, cwd=cwd, data=data)


@pytest.fixture
def gsm8k_dir(tmp_path: Path) -> Path:
    return write_gsm8k(tmp_path / "data", "test")


@pytest.fixture(scope="module")
def students(tmp_path_factory) -> Path:
    from mycelium.solver.solver import export_untrained_students
    from mycelium.teacher.loading import build_tiny

    return export_untrained_students(tmp_path_factory.mktemp("students"), build_tiny)


def test_writes_report_and_predictions(tmp_path: Path, gsm8k_dir: Path, students: Path) -> None:
    r = run_evaluate(f"students={students}", "limit=5", "logger=csv", f"hydra.run.dir={tmp_path / 'run'}",
                     cwd=tmp_path, data=gsm8k_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path / "run"
    preds = [Prediction.from_dict(json.loads(line)) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert [p.id for p in preds] == [f"gsm8k/test/{i}" for i in range(5)]
    assert all(p.extra["gold_steps"] == 1 and p.extra["steps_source"] == "annotations" for p in preds)
    report = json.loads((run / "report.json").read_text())
    assert report["n"] == 5 and report["by_steps"]["1"]["n"] == 5
    assert report["correct"] == sum(p.correct for p in preds)
    assert sum(report["reasons"].values()) == sum(p.answer is None for p in preds)
    assert list((run / "csv").glob("version_*/metrics.csv"))


def test_holdout_evaluates_only_the_problems_the_students_held_out(tmp_path: Path, students: Path) -> None:
    from mycelium.data.splits import split_of

    data = write_gsm8k(tmp_path / "data", "train", n=40)
    r = run_evaluate(f"students={students}", "split=train", "holdout=[val,test]", "holdout_splits={train: 0.5, val: 0.25, test: 0.25}",
                     f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, data=data)
    assert r.returncode == 0, r.stderr[-3000:]
    ids = [json.loads(line)["id"] for line in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    fr = {"train": 0.5, "val": 0.25, "test": 0.25}
    assert ids == [f"gsm8k/train/{i}" for i in range(40) if split_of(f"gsm8k/train/{i}", fr) != "train"] and ids
    salted = run_evaluate(f"students={students}", "split=train", "holdout=[val,test]", "holdout_salt=other",
                          "holdout_splits={train: 0.5, val: 0.25, test: 0.25}", f"hydra.run.dir={tmp_path / 'salted'}",
                          cwd=tmp_path, data=data)
    assert salted.returncode == 0, salted.stderr[-3000:]
    other = [json.loads(line)["id"] for line in (tmp_path / "salted" / "predictions.jsonl").read_text().splitlines()]
    assert other == [f"gsm8k/train/{i}" for i in range(40) if split_of(f"gsm8k/train/{i}", fr, "other") != "train"] != ids
    for wrong, says in (("holdout=[dev]", "give a list of names among"), ("holdout=true", "give split names")):
        bad = run_evaluate(f"students={students}", "split=train", wrong, cwd=tmp_path, data=data)
        out = bad.stdout + bad.stderr
        assert bad.returncode == 2 and says in out and "Traceback" not in out, out[-2000:]


def test_holdout_refuses_students_split_another_way(tmp_path: Path, students: Path) -> None:
    import shutil

    from mycelium.models.export import LABEL_MAP

    data = write_gsm8k(tmp_path / "data", "train", n=40)
    mine = shutil.copytree(students, tmp_path / "students")
    meta = json.loads((mine / "classifier" / LABEL_MAP).read_text())
    meta["trained_on"] = {"labels_dir": "l", "splits": {"train": 0.5, "val": 0.25, "test": 0.25}, "split_salt": ""}
    (mine / "classifier" / LABEL_MAP).write_text(json.dumps(meta))
    bad = run_evaluate(f"students={mine}", "split=train", "holdout=[val,test]", cwd=tmp_path, data=data)
    out = bad.stdout + bad.stderr
    assert bad.returncode == 2 and "'holdout_splits={train:0.5,val:0.25,test:0.25}'" in out and "Traceback" not in out, out[-2000:]
    ok = run_evaluate(f"students={mine}", "split=train", "holdout=[val,test]", "holdout_splits={train: 0.5, val: 0.25, test: 0.25}",
                      f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, data=data)
    assert ok.returncode == 0, ok.stderr[-3000:]


def test_missing_students_is_one_clear_line(tmp_path: Path, gsm8k_dir: Path) -> None:
    r = run_evaluate(f"students={tmp_path / 'nowhere'}", "limit=5", cwd=tmp_path, data=gsm8k_dir)
    assert r.returncode == 2
    out = r.stdout + r.stderr
    assert "students=" in out and "Traceback" not in out


# ---------------------------------------------------------------------------------------------
# the library harness in-process, with stand-in students whose outputs are known


class StubSegmenter:
    """Returns fixed spans per text (duck-types SegmenterModule.predict_spans)."""

    def __init__(self, spans: dict):
        self.spans = spans

    def eval(self):
        return self

    def predict_spans(self, texts, batch_size=16):
        return [self.spans.get(t, []) for t in texts]


class StubClassifier:
    def __init__(self, ops: dict):
        self.ops = ops

    def eval(self):
        return self

    def predict_ops(self, items, batch_size=32):
        return [self.ops.get(region, "ADD") for _, region in items]

    def predict_op_scores(self, items, k=3, batch_size=32):
        return [[(op, 0.0)] for op in self.predict_ops(items, batch_size)]


def test_evaluate_scores_spans_ops_and_steps_against_labels(tmp_path: Path) -> None:
    from mycelium.data.problems import Problem
    from mycelium.dag.steps import Arg, Step
    from mycelium.records.labels import LabelRecord
    from mycelium.runs.evaluate import evaluate
    from mycelium.solver.solver import Solver

    text = "Natalia sold 48 clips in April. She sold half as many in May. How many altogether?"
    r1 = (text.index("She"), text.index(" in May") + 7)
    r2 = (text.index("How"), len(text) - 1)
    steps = [Step(0, "DIV", [Arg("number", "48"), Arg("implicit", "2")], "24", region=r1),
             Step(1, "ADD", [Arg("number", "48"), Arg("result", "24", step=0)], "72", region=r2)]
    labels = {"p0": LabelRecord("p0", text, "72", steps, "72", True)}
    other = "Tom has 5 apples. How many apples?"
    problems = [Problem("p0", text, "", "72", "gsm8k", "test"), Problem("p1", other, "", "5", "gsm8k", "test"),
                Problem("p2", "", "", "1", "gsm8k", "test")]
    solver = Solver(StubSegmenter({text: [r1, r2], other: [(0, 16)]}), StubClassifier({r1: "DIV", r2: "ADD"}),
                    span_filter=False, snap_spans=False)  # the stub's spans as they are (the question has no number)
    report = evaluate(problems, solver, labels=labels, out_dir=tmp_path)
    assert report.n == 3 and report.correct == 1 and report.accuracy == pytest.approx(1 / 3)
    assert report.labelled == 1 and report.span_f1 == 1.0 and report.span_problem_exact == 1.0
    assert report.op_accuracy_gold_spans == 1.0 and report.op_accuracy_matched == 1.0
    assert report.by_steps["2"].correct == 1  # from the labels
    assert report.reasons == {"missing_operands": 1, "empty_text": 1}
    assert report.metrics()["eval/accuracy"] == pytest.approx(1 / 3)
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["span_f1"] == 1.0 and "predictions" not in written
    lines = (tmp_path / "predictions.jsonl").read_text().splitlines()
    assert [json.loads(x)["answer"] for x in lines] == ["72", None, None]


def test_wrong_answers_are_attributed_to_their_first_failing_stage(tmp_path: Path) -> None:
    from mycelium.data.problems import Problem
    from mycelium.dag.steps import Arg, Step
    from mycelium.records.labels import LabelRecord
    from mycelium.runs.evaluate import evaluate
    from mycelium.solver.solver import Solver

    def natalia(n: int) -> tuple[str, tuple, tuple, LabelRecord]:
        text = f"Natalia sold {n} clips in April. She sold half as many in May. How many altogether?"
        r1, r2 = (text.index("She"), text.index(" in May") + 7), (text.index("How"), len(text) - 1)
        steps = [Step(0, "DIV", [Arg("number", str(n)), Arg("implicit", "2")], str(n // 2), region=r1),
                 Step(1, "ADD", [Arg("number", str(n)), Arg("result", str(n // 2), step=0)], str(n + n // 2), region=r2)]
        return text, r1, r2, LabelRecord(f"p{n}", text, str(n + n // 2), steps, str(n + n // 2), True)

    (t_ok, a1, a2, rec_ok), (t_seg, b1, _, rec_seg), (t_op, c1, c2, rec_op) = natalia(48), natalia(6), natalia(120)
    # p48 right; p6 finds one span only (segmentation); p120 finds both spans but calls the DIV a MUL (op).
    # (different digit counts: the stub classifier keys ops by char span)
    solver = Solver(StubSegmenter({t_ok: [a1, a2], t_seg: [b1], t_op: [c1, c2]}),
                    StubClassifier({a1: "DIV", a2: "ADD", b1: "DIV", c1: "MUL", c2: "ADD"}), span_filter=False, snap_spans=False)
    problems = [Problem(r.id, r.text, "", r.gold_answer, "gsm8k", "test") for r in (rec_ok, rec_seg, rec_op)]
    report = evaluate(problems, solver, labels={r.id: r for r in (rec_ok, rec_seg, rec_op)})
    assert report.correct == 1
    assert report.errors_by_stage == {"segmentation": 1, "op": 1, "wiring": 0}
    assert report.wiring_ceiling == 1.0  # every gold structure wires to its gold answer
    assert report.metrics()["eval/errors_op"] == 1 and "first failing stage" in report.format()


def test_teacher_baseline_on_a_tiny_teacher(tmp_path: Path) -> None:
    from mycelium.data.problems import Problem
    from mycelium.runs.evaluate import teacher_baseline
    from mycelium.teacher.loading import build_tiny

    model, tokenizer = build_tiny()
    problems = [Problem(f"p{i}", f"Tom has {i} apples. How many?", "", str(i), "gsm8k", "test") for i in range(3)]
    base = teacher_baseline(problems, model, tokenizer, batch_size=2, max_new_tokens=4, out_dir=tmp_path)
    assert base.n == 3 and len(base.rows) == 3 and [r.id for r in base.rows] == ["p0", "p1", "p2"]
    assert all(r.latency_s > 0 for r in base.rows) and base.metrics()["baseline/problems_per_s"] > 0
    assert len((tmp_path / "baseline.jsonl").read_text().splitlines()) == 3


def test_holdout_checks_the_ensembles_students_too(tmp_path: Path, students: Path) -> None:
    import shutil
    from functools import partial

    from mycelium.models.export import LABEL_MAP, export_student
    from mycelium.models.wiring import WiringModule
    from mycelium.teacher.loading import build_tiny

    data = write_gsm8k(tmp_path / "data", "train", n=40)
    main, other = tmp_path / "main", tmp_path / "other"
    for d in (main, other):
        export_student(WiringModule(partial(build_tiny), width=32).eval(), d / "wiring")
    meta = json.loads((other / "wiring" / LABEL_MAP).read_text())
    meta["trained_on"] = {"labels_dir": "l", "splits": {"train": 0.5, "val": 0.25, "test": 0.25}, "split_salt": ""}
    (other / "wiring" / LABEL_MAP).write_text(json.dumps(meta))
    # the member, given as its export dir, was split another way: its training problems would be in the dev set
    bad = run_evaluate(f"students={main}", "split=train", "holdout=[val,test]", "limit=2",
                       f"solver.ensemble=[{other / 'wiring'}]", cwd=tmp_path, data=data)
    out = bad.stdout + bad.stderr
    assert bad.returncode == 2 and "holdout_splits=" in out and "Traceback" not in out, out[-2000:]
    shutil.rmtree(other)
    shutil.copytree(main, other)
    ok = run_evaluate(f"students={main}", "split=train", "holdout=[val,test]", "limit=2", f"solver.ensemble=[{other}]",
                      f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, data=data)
    assert ok.returncode == 0, ok.stderr[-3000:]
