"""``experiment=mawps_cv``: MAWPS five-fold cross-validation, one chain per fold.

The experiment composes into a five-job sweep (every fold its own train/test split of one
shared teacher pass), the results script turns a CV sweep into the per-fold / mean report
beside the published rows, and a 2-fold multirun runs end to end on the tiny teacher and
backbone. Fold loading and number substitution are tested in tests/data/test_mawps_folds.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra

from entrypoints import run_entry, write_gsm8k
from mycelium.config import register_resolvers
from mycelium.errors import UserError
from mycelium.runs.attribution import CATEGORIES
from mycelium.runs.results import PUBLISHED, cv_report, fold_of, is_cv, load_jobs, main

FOLDS = range(5)
register_resolvers()  # traces_dir uses ${shuffle_tag:...}


@pytest.fixture
def compose_cv():
    def make(name: str, *overrides: str):
        GlobalHydra.instance().clear()
        with initialize(version_base="1.3", config_path="../../conf"):
            return compose(config_name="train", return_hydra_config=True, overrides=[f"experiment={name}", *overrides])

    yield make
    GlobalHydra.instance().clear()


@pytest.mark.parametrize("fold", FOLDS)
def test_each_fold_composes_into_its_own_split(compose_cv, fold: int) -> None:
    cfg = compose_cv("mawps_cv", f"fold={fold}")
    assert cfg.hydra.sweeper.params == {"fold": "0,1,2,3,4"} and "/multirun/mawps_cv/" in cfg.hydra.sweep.dir
    # one teacher pass over all five folds, shared by every job; labels and students on train<k>
    assert (cfg.data.name, cfg.split, cfg.data.split) == ("mawps_cv", "all", "all")
    assert cfg.traces_dir.endswith("/traces/mawps_cv-all/smollm2_135m-dataset")
    assert cfg.chain.labels_split == f"train{fold}"
    assert list(cfg.chain.eval.sets) == [f"mawps_cv/fold{fold}"] and cfg.chain.eval.labels is True
    assert cfg.chain.eval.limit is None and cfg.chain.solver.implausible_penalty == 0
    assert cfg.chain.optimized_metric == f"e2e/mawps_cv-fold{fold}/accuracy"
    assert cfg.backbone.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    for student in ("segmenter", "classifier"):
        node = cfg.chain.students[student]
        # a val slice of train<k> by problem id; no test slice: fold k is the test
        assert dict(node.datamodule.splits) == {"train": 0.9, "val": 0.1, "test": 0.0} and node.test is False
    # the wiring student from the text alone: no segmenter or classifier to train
    assert list(cfg.chain.stages) == ["teacher", "labels", "wiring", "evaluate"]
    assert cfg.chain.solver.deductive_spans is False


def test_the_segmenter_classifier_chain_is_one_override(compose_cv) -> None:
    cfg = compose_cv("mawps_cv", "chain.stages=[teacher,labels,segmenter,classifier,wiring,evaluate]",
                     "chain.solver.deductive_spans=true")
    assert "segmenter" in cfg.chain.stages and cfg.chain.solver.deductive_spans is True
    assert cfg.chain.students.classifier.trainer.max_epochs == 3


def test_gpu_sizing_composes(compose_cv) -> None:
    cfg = compose_cv("mawps_cv_gpu", "fold=4")
    assert cfg.trainer.accelerator == "gpu" and cfg.backbone.model_id == "sentence-transformers/all-mpnet-base-v2"
    assert cfg.chain.labels_split == "train4" and list(cfg.chain.eval.sets) == ["mawps_cv/fold4", "gsm8k/test"]
    assert cfg.chain.students.segmenter.trainer.max_epochs > 4 and "/multirun/mawps_cv_gpu/" in cfg.hydra.sweep.dir
    assert list(cfg.chain.stages) == ["teacher", "labels", "wiring", "evaluate"]  # mawps_cv's text-alone chain
    assert cfg.chain.students.wiring.trainer.max_epochs == 40


def test_a_bad_fold_fails_in_one_line(tmp_path: Path) -> None:
    data = write_tiny_folds(tmp_path / "data")
    r = run_entry("train.py", "experiment=mawps_cv", "fold=7", "teacher=tiny", "chain.stages=[labels]",
                  f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, data=data)
    assert r.returncode == 2 and "no split 'train7'" in r.stderr + r.stdout and "Traceback" not in r.stderr


def cv_job(directory: Path, fold: int, correct: int, errors: tuple[int, int, int], seconds: float) -> None:
    e = f"e2e/mawps_cv-fold{fold}/"
    metrics = {"labels/validated": 1380 + fold, "labels/problems": 1536, "labels/validated_rate": (1380 + fold) / 1536,
               "segmenter/val/span_f1": 0.5, "classifier/val/acc": 0.75, e + "accuracy": correct / 384,
               e + "problems": 384, e + "correct": correct, e + "labelled": 340,
               **{f"{e}errors_{s}": n for s, n in zip(("segmentation", "op", "wiring"), errors)},
               "time/labels_s": 10.0, "time/evaluate_s": seconds - 10.0}
    directory.mkdir(parents=True)
    (directory / "chain.json").write_text(json.dumps({"overrides": ["experiment=mawps_cv", f"fold={fold}"],
                                                      "metrics": metrics}))


def test_cv_report_per_fold_mean_published_and_pooled_errors(tmp_path: Path) -> None:
    cv_job(tmp_path / "1", 1, 288, (30, 10, 5), 600.0)
    cv_job(tmp_path / "0", 0, 192, (50, 20, 10), 1200.0)
    jobs = load_jobs(tmp_path)
    assert is_cv(jobs) and fold_of(jobs[0]) == (0, "mawps_cv-fold0", "mawps_cv")
    lines = cv_report(jobs).splitlines()
    assert lines[0] == "shared overrides: `experiment=mawps_cv`"
    assert lines[4] == "| 0 | 1380 / 1536 (89.8%) | 0.500 | 0.750 | 384 | 192 | 50.0 | 340 | 20.0 |"
    assert lines[5].startswith("| 1 | 1381 / 1536") and lines[5].endswith("| 288 | 75.0 | 340 | 10.0 |")
    # mean of the folds' accuracies ± their standard deviation, pooled beside it
    assert lines[6] == "| mean of 2 | | | | 768 | 480 | 62.5 ± 17.7 (pooled 62.5) | 680 | 30.0 in all |"
    text = "\n".join(lines)
    for solver, encoder, acc in PUBLISHED["mawps_cv"]:
        assert f"| {solver} ({encoder}), published | {acc:.1f} |" in text
    assert "| Mycelium, this sweep (folds 0, 1) | 62.5 |" in text
    assert lines[-1].endswith("(pooled over 2 folds, 125 wrong of 680 labelled): segmentation 80 (64%), op 30 (24%), "
                              "wiring 15 (12%)")


def text_alone_job(directory: Path, fold: int, correct: int, dag_errors: dict[str, int] | None) -> None:
    """A text-alone fold's chain.json; ``dag_errors`` None: run without test labels."""
    e = f"e2e/mawps_cv-fold{fold}/"
    metrics = {e + "accuracy": correct / 384, e + "problems": 384, e + "correct": correct, e + "text_alone": 1,
               "wiring/val/acc_pure": 0.8, "time/wiring_s": 500.0}
    if dag_errors is not None:
        metrics |= {e + "labelled": 340, **{f"{e}dag_errors_{c}": n for c, n in dag_errors.items()}}
    directory.mkdir(parents=True)
    (directory / "chain.json").write_text(json.dumps({"overrides": ["experiment=mawps_cv", f"fold={fold}"],
                                                      "metrics": metrics}))


def test_cv_report_pools_the_wiring_attribution_and_says_where_labels_are_missing(tmp_path: Path) -> None:
    text_alone_job(tmp_path / "0", 0, 284, {"no_label": 20, "steps": 40, "operands": 10, "op": 30})
    text_alone_job(tmp_path / "1", 1, 344, {"no_answer": 2, "steps": 8, "op": 30})
    text_alone_job(tmp_path / "2", 2, 300, None)
    lines = cv_report(load_jobs(tmp_path)).splitlines()
    header = "| fold | wrong | " + " | ".join(CATEGORIES) + " | source |"
    table = lines[lines.index(header):]
    assert table[2] == "| 0 | 100 | 0 | 20 | 0 | 40 | 10 | 0 | 30 | 0 | metrics |"
    assert table[3] == "| 1 | 40 | 2 | 0 | 0 | 8 | 0 | 0 | 30 | 0 | metrics |"
    assert table[4].startswith("| 2 | 84 | – |") and "no test labels (chain.eval.labels=false" in table[4]
    # pooled over the folds that have test labels only: nothing invented for fold 2
    assert table[5] == ("| pooled (folds 0, 1) | 140 | 2 (1%) | 20 (14%) | 0 (0%) | 48 (34%) | 10 (7%) | 0 (0%) | "
                        "60 (43%) | 0 (0%) | |")
    assert not [line for line in lines if "first failing stage" in line]  # the stages do not apply here


def test_wiring_attribution_post_hoc_from_predictions_and_labels(tmp_path: Path, capsys) -> None:
    """A text-alone sweep run before the attribution existed: its Hydra config says text alone,
    its metrics hold no dag_errors; the results script computes them from the files."""
    from mycelium.dag.steps import Arg, Step
    from mycelium.records.labels import LabelRecord
    from mycelium.records.predictions import Prediction

    text = "Tom has 5 apples and buys 3 more. How many apples?"
    five, three = (Arg("number", n, n, (text.index(n), text.index(n) + 1)) for n in ("5", "3"))
    record = LabelRecord("mawps-cv/fold0/0", text, "8", [Step(0, "ADD", [five, three], "8")], "8", True)
    wrong = Prediction(record.id, text, "8", [], [], [Step(0, "SUB", [five, three], "2")], "2", False)
    job = tmp_path / "sweep" / "0"
    text_alone_job(job, 0, 0, None)
    metrics = json.loads((job / "chain.json").read_text())
    metrics["metrics"] = {k: v for k, v in metrics["metrics"].items() if not k.endswith("text_alone")}
    metrics["metrics"]["e2e/mawps_cv-fold0/problems"] = 1
    (job / "chain.json").write_text(json.dumps(metrics))
    (job / ".hydra").mkdir()
    (job / ".hydra" / "config.yaml").write_text("chain:\n  solver:\n    deductive_spans: false\n")
    set_dir = job / "eval" / "mawps_cv-fold0"
    set_dir.mkdir(parents=True)
    (set_dir / "predictions.jsonl").write_text(json.dumps(wrong.to_dict()) + "\n")
    all_labels = tmp_path / "all" / "labels.jsonl"
    all_labels.parent.mkdir()
    all_labels.write_text(json.dumps(record.to_dict()) + "\n")
    assert main([str(tmp_path / "sweep")]) == 0
    assert "| 0 | 1 | – |" in capsys.readouterr().out  # no test labels beside it: said, not invented
    assert main([str(tmp_path / "sweep"), "--labels", str(all_labels.parent)]) == 0
    assert "| 0 | 1 | 0 | 0 | 0 | 0 | 0 | 0 | 1 | 0 | --labels |" in capsys.readouterr().out
    (set_dir / "labels").mkdir()
    (set_dir / "labels" / "labels.jsonl").write_text(all_labels.read_text())
    assert main([str(tmp_path / "sweep")]) == 0
    assert "| 0 | 1 | 0 | 0 | 0 | 0 | 0 | 0 | 1 | 0 | post hoc |" in capsys.readouterr().out
    assert main([str(tmp_path / "sweep"), "--labels", str(tmp_path / "nowhere")]) == 2
    assert "no such labels dir" in capsys.readouterr().err


def test_an_ablation_sweep_is_not_cv(tmp_path: Path, capsys) -> None:
    d = tmp_path / "0"
    d.mkdir()
    (d / "chain.json").write_text(json.dumps({"overrides": [], "metrics": {"e2e/gsm8k-test/accuracy": 0.1,
                                                                            "e2e/mawps-test/accuracy": 0.2}}))
    jobs = load_jobs(tmp_path)
    assert not is_cv(jobs)
    with pytest.raises(UserError, match="not a cross-validation sweep"):
        cv_report(jobs)
    assert main([str(tmp_path)]) == 0 and "| job |" in capsys.readouterr().out  # the generic table


def write_tiny_folds(root: Path, per_fold: int = 4) -> Path:
    """A MAWPS folds file laid out like ../shared/data: ``per_fold`` rows in each of the five
    folds, ADDs and SUBs alternating (so the classifier has two ops)."""
    rows = []
    for fold in FOLDS:
        for i in range(per_fold):
            a, b = 3 + i + 5 * fold, 2 + i
            if i % 2:
                rows.append({"Question": "Tom has number0 pears and eats number1 of them . How many pears are left ?",
                             "Numbers": f"{a}.0 {b}.0", "Equation": "- number0 number1", "Answer": f"{a - b}.0",
                             "fold": fold})
            else:
                rows.append({"Question": "Tom has number0 apples and buys number1 more . How many apples does he have ?",
                             "Numbers": f"{a}.0 {b}.0", "Equation": "+ number0 number1", "Answer": f"{a + b}.0",
                             "fold": fold})
    (root / "mawps").mkdir(parents=True, exist_ok=True)
    (root / "mawps" / "svamp_cv_mawps_dev_folds.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


@pytest.mark.slow
def test_tiny_two_fold_multirun_end_to_end(tmp_path: Path, capsys) -> None:
    """``python train.py -m experiment=mawps_cv fold=0,1`` on the tiny teacher and backbone, then
    the results script over its sweep dir."""
    data = write_gsm8k(write_tiny_folds(tmp_path / "data"), "test", n=3)
    sweep = tmp_path / "multirun"
    splits = "{train: 0.6, val: 0.4}"  # 16 train problems a fold: a 10% val slice could be empty
    r = run_entry("train.py", "-m", "experiment=mawps_cv", "fold=0,1", "teacher=tiny", "backbone=tiny",
                  "trainer.max_epochs=1",
                  "chain.eval.sets=[mawps_cv/fold${fold},gsm8k/test]",  # the transfer beside the fold
                  f"chain.students.wiring.datamodule.splits={splits}",
                  f"hydra.sweep.dir={sweep}", "logger=csv", cwd=tmp_path, data=data)
    assert r.returncode == 0, r.stderr[-3000:]
    jobs = load_jobs(sweep)
    assert [fold_of(j)[0] for j in jobs] == [0, 1]
    traces = tmp_path / "artifacts" / "traces" / "mawps_cv-all" / "tiny-dataset"
    assert traces.is_dir()  # one teacher pass for both folds: the first traced all 20 problems
    assert jobs[0]["metrics"]["teacher/problems"] == 20 and jobs[1]["metrics"]["teacher/new"] == 0
    for fold, job in zip((0, 1), jobs):
        m, run = job["metrics"], sweep / job["dir"]
        # the students' labels hold train<k> only: never a problem of the test fold
        ids = [json.loads(line)["id"] for line in (run / "labels" / "labels.jsonl").read_text().splitlines()]
        assert len(ids) == 16 == m["labels/problems"] and not [i for i in ids if i.startswith(f"mawps-cv/fold{fold}/")]
        e = f"e2e/mawps_cv-fold{fold}/"
        assert m[e + "problems"] == 4 and 0 <= m[e + "accuracy"] <= 1
        # the test fold labelled from its traces: every wrong answer by its DAG's first difference
        assert m[e + "labels/problems"] == 4 and m[e + "labelled"] == m[e + "labels/validated"]
        assert m[e + "text_alone"] == 1 and f"{e}span_f1" not in m and f"{e}errors_wiring" not in m
        assert sum(m[f"{e}dag_errors_{c}"] for c in CATEGORIES) == 4 - m[e + "correct"]
        assert (run / "eval" / f"mawps_cv-fold{fold}" / "labels" / "report.json").is_file()
        # the wiring student trained on train<k> and is the only export: no segmenter, no classifier
        assert json.loads((run / "students" / "wiring" / "label_map.json").read_text())["student"] == "wiring"
        assert sorted(p.name for p in (run / "students").iterdir()) == ["wiring"]
        assert not [k for k in m if k.startswith(("segmenter/", "classifier/"))]
        # GSM8K test has no traces here: answered and scored, not labelled (a warning says so)
        assert m["e2e/gsm8k-test/problems"] == 3 and "e2e/gsm8k-test/labelled" in m
        assert m["e2e/gsm8k-test/labelled"] == 0 and "e2e/gsm8k-test/dag_errors_op" not in m
    assert main([str(sweep)]) == 0
    out = capsys.readouterr().out
    assert "| Mycelium, this sweep (folds 0, 1) |" in out and "| mean of 2 |" in out
    assert "gsm8k-test accuracy % |" in out.splitlines()[2]
    assert "| pooled (folds 0, 1) |" in out and "| metrics |" in out
