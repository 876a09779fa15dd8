"""``train.py chain=full``: the whole chain in one job, on the tiny teacher and backbone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from entrypoints import run_entry, write_gsm8k
from mycelium.errors import UserError
from mycelium.runs.chain import eval_sets, student_config, summary

SPLITS = "{train: 0.6, val: 0.2, test: 0.2}"
TINY_CHAIN = [
    "chain=full", "teacher=tiny", "backbone=tiny", "trainer.max_epochs=1", "~callbacks.rich_progress_bar",
    "chain.eval.sets=[gsm8k/test]",
    f"chain.students.segmenter.datamodule.splits={SPLITS}",
    f"chain.students.classifier.datamodule.splits={SPLITS}",
    f"chain.students.wiring.datamodule.splits={SPLITS}",
]


@pytest.fixture
def chain_cfg():
    def make(*overrides: str):
        GlobalHydra.instance().clear()
        with initialize(version_base="1.3", config_path="../../conf"):
            return compose(config_name="train", overrides=["chain=full", *overrides])

    yield make
    GlobalHydra.instance().clear()


def test_student_config_replaces_model_keys_and_merges_the_rest(chain_cfg) -> None:
    # keys a student's node does not hold yet are added with Hydra's "+"
    cfg = chain_cfg("+chain.students.classifier.trainer.max_epochs=2", "chain.students.classifier.optim.lr=0.5",
                    "+chain.students.classifier.backbone.num_layers=3")
    c = student_config(cfg, "classifier", labels_dir="L", export_dir="E", output_dir="O")
    assert c.model._target_.endswith("ClassifierModule") and c.datamodule._target_.endswith("ClassifierDataModule")
    # the root's segmenter keys must not leak into the classifier (a merge would keep them)
    assert "bidirectional" not in c.model
    assert c.model.markers == ["[[", "]]"] and c.model.optim.lr == 0.5
    assert c.trainer.max_epochs == 2 and c.backbone.num_layers == 3 and c.trainer.accelerator == "cpu"
    assert (c.labels_dir, c.export_dir, c.datamodule.labels_dir) == ("L", "E", "L")
    assert c.callbacks.model_checkpoint.dirpath == "O/checkpoints"
    assert "chain" not in c and c.optimized_metric == "val/f1_macro"
    s = student_config(cfg, "segmenter", labels_dir="L", export_dir="E", output_dir="O")
    assert s.model.bidirectional is True and s.trainer.max_epochs == cfg.trainer.max_epochs
    OmegaConf.to_container(c, resolve=False)  # the config is whole


def test_eval_sets_parse_and_refuse_bad_entries(chain_cfg) -> None:
    assert eval_sets(chain_cfg()) == [("gsm8k", "test"), ("mawps", "test")]
    with pytest.raises(UserError, match="<dataset>/<split>"):
        eval_sets(chain_cfg("chain.eval.sets=[gsm8k]"))


def test_summary_names_each_eval_set() -> None:
    text = summary({"labels/validated_rate": 0.5, "labels/validated": 5, "labels/problems": 10,
                    "e2e/gsm8k-test/accuracy": 0.25, "e2e/gsm8k-test/problems": 8})
    assert "5/10 validated" in text and "E2E accuracy without CoT on gsm8k-test: 25.0% (2/8)" in text


@pytest.mark.slow
def test_tiny_chain_end_to_end(tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", "train", n=12, mixed=True)
    write_gsm8k(data, "test", n=6, mixed=True)
    r = run_entry("train.py", *TINY_CHAIN, "logger=csv", "chain.stages=[teacher,labels,segmenter,classifier,wiring,wiring_mlp,evaluate]",
                  "chain.wiring_mlp.epochs=5", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, data=data)
    assert r.returncode == 0, r.stderr[-3000:]
    run = tmp_path / "run"
    result = json.loads((run / "chain.json").read_text())
    m = result["metrics"]
    assert "chain=full" in result["overrides"]
    assert m["teacher/problems"] == 12 and m["labels/problems"] == 12
    assert 0 <= m["segmenter/test/span_f1"] <= 1 and 0 <= m["classifier/test/acc"] <= 1
    assert m["e2e/gsm8k-test/problems"] == 6
    assert m["wiring_mlp/train_n"] > 0 and 0 <= m["wiring_mlp/val_learned"] <= 1
    assert 0 <= m["wiring/test/acc_pure"] <= 1  # the wiring student, tested like the other two
    assert (run / "students" / "wiring_mlp" / "model.safetensors").is_file()  # beside the students: `wiring: auto` finds it
    for student in ("segmenter", "classifier", "wiring"):
        assert json.loads((run / "students" / student / "label_map.json").read_text())["student"] == student
        assert (run / student / "checkpoints" / "last.ckpt").is_file()  # each student its own checkpoints
    assert len((run / "eval" / "gsm8k-test" / "predictions.jsonl").read_text().splitlines()) == 6
    assert (run / "labels" / "labels.jsonl").is_file()
    # the students log into the job's CSV logger under their own names
    assert (run / "csv" / "segmenter").is_dir() and (run / "csv" / "classifier").is_dir()
    assert "E2E accuracy without CoT on gsm8k-test" in r.stderr + r.stdout

    # a second run finds every trace cached: the teacher is not loaded again
    r2 = run_entry("train.py", *TINY_CHAIN, "chain.stages=[teacher,labels]", f"hydra.run.dir={tmp_path / 'run2'}",
                   cwd=tmp_path, data=data)
    assert r2.returncode == 0, r2.stderr[-3000:]
    assert "all 12 problems already in" in r2.stderr + r2.stdout
    assert set(json.loads((tmp_path / "run2" / "chain.json").read_text())["metrics"]) >= {"teacher/new", "labels/validated"}


def test_bad_stage_is_one_line(tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", "train")
    r = run_entry("train.py", *TINY_CHAIN, "chain.stages=[teacher,tokenize]", f"hydra.run.dir={tmp_path / 'run'}",
                  cwd=tmp_path, data=data)
    assert r.returncode == 2
    assert "chain.stages: unknown ['tokenize']" in r.stderr + r.stdout and "Traceback" not in r.stderr


def test_one_op_labels_say_what_to_do(tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", "train")  # every problem an ADD
    r = run_entry("train.py", *TINY_CHAIN, "chain.stages=[teacher,labels,classifier]",
                  f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, data=data)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "the classifier needs two or more" in r.stderr + r.stdout and "Traceback" not in r.stderr
