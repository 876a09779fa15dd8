"""Fixtures for the students: hand-made label records and the real train config, shrunk.

As in lightning-hydra-template's tests/conftest.py, ``cfg_train`` composes ``conf/train.yaml``
with ``hydra.compose`` and only shrinks it (tiny backbone, a few batches, CPU), so the config
users run is the config the tests run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord

NAMES = ["Natalia", "Tom", "Weng", "Betty", "Julie", "James", "Mark", "Albert"]
# Small splits so that a 40-record file has val and test examples.
TEST_SPLITS = "{train: 0.6, val: 0.2, test: 0.2}"


def _region(text: str, clause: str) -> tuple[int, int]:
    start = text.index(clause)
    return start, start + len(clause)


def make_record(i: int, validated: bool = True) -> LabelRecord:
    """One of four problem shapes, with numbers and names varied by ``i``."""
    name, n = NAMES[i % len(NAMES)], 10 + 2 * i
    kind = i % 4
    if kind == 0:
        c1, c2 = f"{name} sold {n} clips in April.", "She sold half as many in May."
        text = f"{c1} {c2} How many clips did she sell altogether?"
        steps = [
            Step(0, "DIV", [Arg("number", str(n), str(n)), Arg("implicit", "2", "half")], str(n // 2), region=_region(text, c2)),
            Step(1, "ADD", [Arg("number", str(n)), Arg("result", str(n // 2), step=0)], str(n + n // 2),
                 region=_region(text, "How many clips did she sell altogether?")),
        ]
    elif kind == 1:
        c1 = f"He buys {n} more apples."
        text = f"{name} has 5 apples. {c1} How many apples does he have?"
        steps = [Step(0, "ADD", [Arg("number", "5"), Arg("number", str(n))], str(5 + n), region=_region(text, c1))]
    elif kind == 2:
        c1 = f"{name} has {n} boxes."
        text = f"A box holds 12 eggs.\n{c1} How many eggs are there?"
        steps = [Step(0, "MUL", [Arg("number", "12"), Arg("number", str(n))], str(12 * n), region=_region(text, c1))]
    else:
        c1 = f"{name} worked {n} minutes."
        text = f"{name} earns $12 an hour. {c1} How much did {name} earn?"
        r = _region(text, c1)
        steps = [  # two steps share one region: the classifier labels it with the first op (DIV)
            Step(0, "DIV", [Arg("number", str(n)), Arg("implicit", "60")], f"{n}/60", region=r),
            Step(1, "MUL", [Arg("number", "12"), Arg("result", f"{n}/60", step=0)], f"{12 * n}/60", region=r),
        ]
    return LabelRecord(id=f"gsm8k-train-{i:04d}", text=text, gold_answer=steps[-1].value, steps=steps,
                       answer=steps[-1].value, validated=validated, reason=None if validated else "wrong_answer")


def write_labels(directory: Path, records: list[LabelRecord]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "labels.jsonl"
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in records))
    return directory


@pytest.fixture
def records() -> list[LabelRecord]:
    """40 records, every 5th one not validated."""
    return [make_record(i, validated=i % 5 != 4) for i in range(40)]


@pytest.fixture
def labels_dir(tmp_path: Path, records: list[LabelRecord]) -> Path:
    return write_labels(tmp_path / "labels", records)


def compose_train(overrides: list[str], output_dir: Path) -> DictConfig:
    """``conf/train.yaml`` with ``overrides``, run dir ``output_dir``, and Hydra's runtime set."""
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../../conf"):
        cfg = compose(config_name="train", return_hydra_config=True, overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
    HydraConfig().set_config(cfg)
    return cfg


@pytest.fixture
def train_overrides(labels_dir: Path) -> list[str]:
    """The shrinking overrides: tiny backbone, CPU, 2 batches an epoch, small splits."""
    return [
        "backbone=tiny",
        "trainer=cpu",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=2",
        "+trainer.limit_test_batches=2",
        "+trainer.enable_model_summary=false",
        "~callbacks.rich_progress_bar",
        f"labels_dir={labels_dir}",
        f"datamodule.splits={TEST_SPLITS}",
        "datamodule.batch_size=4",
        "datamodule.eval_batch_size=4",
        "datamodule.max_length=64",
        "optim.lr=1e-3",
        "export_dir=${paths.output_dir}/export",  # the run dir, not the shared artifacts
    ]


@pytest.fixture
def cfg_factory(train_overrides: list[str], tmp_path: Path):
    """``make(extra_overrides, run_name) -> cfg``; clears Hydra's global state afterwards."""

    def make(extra: list[str] = (), run: str = "run") -> DictConfig:
        return compose_train([*train_overrides, *extra], tmp_path / run)

    yield make
    GlobalHydra.instance().clear()


@pytest.fixture
def record_factory():
    """``make_record`` for tests that build their own files (test modules can't import conftest)."""
    return make_record


@pytest.fixture
def labels_writer():
    """``write_labels(directory, records) -> directory``."""
    return write_labels
