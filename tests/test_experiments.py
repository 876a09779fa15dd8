"""The ablations (``conf/experiment/ablate_*.yaml``): each composes into the sweep it names,
a 2-job multirun runs end to end on the tiny teacher and backbone, and
``python -m mycelium.runs.results`` turns the sweep into a table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from entrypoints import run_entry, write_gsm8k
from mycelium.errors import UserError
from mycelium.runs.results import format_value, load_jobs, main, split_overrides, table

CPU_STAGES = ["teacher", "labels", "segmenter", "classifier", "wiring_mlp", "evaluate"]  # ablate_cpu: no wiring student
# experiment -> (its swept knobs and their values, the chain stages it runs)
ABLATIONS = {
    "ablate_label_source": ({"labels.source": "iaf,operands,both,cues,all"}, CPU_STAGES),
    "ablate_cot_steps": ({"labels.cot_steps": "jsd,sentence"}, CPU_STAGES),
    "ablate_regions": ({"chain.students.segmenter.datamodule.targets": "regions,raw_iaf"},
                       ["teacher", "labels", "segmenter"]),
    "ablate_segmenter_attention": ({"chain.students.segmenter.model.bidirectional": "true,false"}, CPU_STAGES),
    "ablate_iaf_layers": ({"signals.iaf.layer_group": "all,first_third,last_third",
                           "signals.iaf.drop_sinks": "true,false"}, ["teacher", "labels"]),
}
SPLITS = "{train: 0.6, val: 0.2, test: 0.2}"


@pytest.fixture
def compose_experiment():
    def make(name: str | None, *overrides: str):
        GlobalHydra.instance().clear()
        with initialize(version_base="1.3", config_path="../conf"):
            return compose(config_name="train", return_hydra_config=True,
                           overrides=[*([f"experiment={name}"] if name else []), *overrides])

    yield make
    GlobalHydra.instance().clear()


@pytest.mark.parametrize("name", sorted(ABLATIONS))
def test_ablation_composes_into_its_sweep(compose_experiment, name: str) -> None:
    params, stages = ABLATIONS[name]
    cfg = compose_experiment(name)
    assert dict(cfg.hydra.sweeper.params) == params
    assert f"/multirun/{name}/" in cfg.hydra.sweep.dir
    full_chain = list(compose_experiment(None, "chain=full").chain.stages)
    assert list(cfg.chain.stages) == (stages or full_chain) and full_chain[-1] == "evaluate"
    # the shared CPU sizing (conf/experiment/ablate_cpu.yaml)
    assert cfg.chain.limit == 1000 and cfg.chain.eval.limit == 150
    assert list(cfg.chain.eval.sets) == ["gsm8k/test", "mawps/test"]
    seg, cls = cfg.chain.students.segmenter, cfg.chain.students.classifier
    assert seg.backbone.num_layers == 4 and cls.backbone.num_layers == 2
    assert seg.trainer.max_epochs == 1 and cls.trainer.max_epochs == 1
    assert seg.model._target_.endswith("SegmenterModule") and cls.model._target_.endswith("ClassifierModule")
    # every swept key exists in the composed config, so the sweep overrides it (no "+" needed)
    for key in params:
        node, _, leaf = key.rpartition(".")
        assert leaf in OmegaConf.select(cfg, node), key


def test_swept_values_reach_the_students(compose_experiment) -> None:
    cfg = compose_experiment("ablate_regions", "chain.students.segmenter.datamodule.targets=raw_iaf")
    assert cfg.chain.students.segmenter.datamodule.targets == "raw_iaf"
    assert cfg.chain.students.segmenter.datamodule.units == "tokens"  # raw IAF tokens are no runs of clauses
    cfg = compose_experiment("ablate_segmenter_attention", "chain.students.segmenter.model.bidirectional=false")
    assert cfg.chain.students.segmenter.model.bidirectional is False


def write_job(directory: Path, overrides: list[str], metrics: dict) -> None:
    directory.mkdir(parents=True)
    (directory / "chain.json").write_text(json.dumps({"overrides": overrides, "metrics": metrics}))


def test_results_table_columns_and_rows(tmp_path: Path) -> None:
    for num, source in enumerate(["iaf", "operands", "both"]):
        write_job(tmp_path / str(num if num < 2 else 10),
                  ["experiment=ablate_label_source", f"labels.source={source}", "chain.limit=50"],
                  {"labels/validated_rate": 0.5 + num / 10, "labels/validated": 5 + num, "time/labels_s": 1.5,
                   "time/segmenter_s": 200.0})
    jobs = load_jobs(tmp_path)
    assert [j["dir"] for j in jobs] == ["0", "1", "10"]  # numeric job order
    assert split_overrides(jobs) == (["labels.source"], {"experiment": "ablate_label_source", "chain.limit": "50"})
    text = table(jobs, ["labels/validated_rate", "labels/validated", "time/total_s", "e2e/x/accuracy"])
    lines = text.splitlines()
    assert lines[0] == "shared overrides: `experiment=ablate_label_source` `chain.limit=50`"
    assert lines[2] == "| job | labels.source | labels/validated_rate | labels/validated | time/total_s | e2e/x/accuracy |"
    assert lines[4] == "| 0 | iaf | 0.500 | 5 | 201.5 | – |"
    assert len(lines) == 7
    # default columns come from the experiment's name
    assert "segmenter/test/span_f1" in table(jobs).splitlines()[2]


def test_results_refuses_a_dir_without_chain_json(tmp_path: Path, capsys) -> None:
    with pytest.raises(UserError, match="no chain.json under"):
        load_jobs(tmp_path)
    assert main([str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_format_value() -> None:
    assert [format_value(v) for v in (None, 7, 0.25, 312.44)] == ["–", "7", "0.250", "312.4"]
    assert format_value(9.25, "time/total_s") == "9.2"


@pytest.mark.slow
def test_tiny_ablation_multirun_end_to_end(tmp_path: Path, capsys) -> None:
    """``python train.py -m experiment=ablate_segmenter_attention`` (2 jobs) on the tiny models,
    then the results script over its sweep dir: a 2-row table."""
    data = write_gsm8k(tmp_path / "data", "train", n=12, mixed=True)
    write_gsm8k(data, "test", n=6, mixed=True)
    sweep = tmp_path / "multirun"
    r = run_entry("train.py", "-m", "experiment=ablate_segmenter_attention", "teacher=tiny", "backbone=tiny",
                  "chain.eval.sets=[gsm8k/test]", f"chain.students.segmenter.datamodule.splits={SPLITS}",
                  f"chain.students.classifier.datamodule.splits={SPLITS}", f"hydra.sweep.dir={sweep}",
                  "logger=wandb", cwd=tmp_path, data=data)
    assert r.returncode == 0, r.stderr[-3000:]
    # one W&B run per job (offline here), in the sweep's group, both students logging into it
    runs = sorted(sweep.rglob("offline-run-*"))
    assert len(runs) == 2
    for run in runs:
        data_file = next(run.glob("*.wandb")).read_bytes()
        assert f"train-{sweep.name}".encode() in data_file
        assert b"segmenter-val/span_f1" in data_file and b"classifier-val/acc" in data_file
    jobs = load_jobs(sweep)
    assert [j["dir"] for j in jobs] == ["0", "1"]
    assert split_overrides(jobs)[0] == ["chain.students.segmenter.model.bidirectional"]
    for job in jobs:
        m = job["metrics"]
        assert m["labels/problems"] == 12 and m["e2e/gsm8k-test/problems"] == 6
        assert 0 <= m["segmenter/test/span_f1"] <= 1
    # each job labelled and trained in its own dir
    assert all((sweep / j["dir"] / "labels" / "labels.jsonl").is_file() for j in jobs)

    assert main([str(sweep)]) == 0  # python -m mycelium.runs.results <sweep dir>
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert len(rows) == 3  # header + 2 jobs
    assert "chain.students.segmenter.model.bidirectional" in rows[0] and "e2e/gsm8k-test/accuracy" in rows[0]
    # Hydra's sweeper writes the swept booleans as True/False
    assert rows[1].lower().startswith("| 0 | true |") and rows[2].lower().startswith("| 1 | false |")
