"""The op classifier: a training run through the real config, label map, pooling, confusion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mycelium.errors import UserError
from mycelium.models.classifier import ClassifierModule
from mycelium.teacher.loading import build_tiny
from mycelium.runs.fit_student import init_weights, train


def test_fast_dev_run_saves_label_map_and_confusion(cfg_factory) -> None:
    cfg = cfg_factory(["model=classifier", "+trainer.fast_dev_run=true"])
    metrics = train(cfg)
    assert {"train/loss", "val/acc", "val/f1_macro", "test/acc"} <= set(metrics)
    run = Path(cfg.paths.output_dir)
    meta = json.loads((run / "export" / "label_map.json").read_text())
    trained_on = meta.pop("trained_on")  # what evaluate.py holdout= checks its development set against
    assert meta == {"student": "classifier", "labels": ["ADD", "DIV", "DIV+MUL", "MUL"], "markers": ["[[", "]]"]}
    assert trained_on == {"labels_dir": str(cfg.labels_dir), "splits": dict(cfg.datamodule.splits),
                          "split_salt": cfg.datamodule.split_salt, "test_fold": None}
    config = json.loads((run / "export" / "config.json").read_text())
    assert config["id2label"] == {"0": "ADD", "1": "DIV", "2": "DIV+MUL", "3": "MUL"}
    csv = (run / "confusion" / "epoch000.csv").read_text().splitlines()
    assert csv[0] == "true\\pred,ADD,DIV,DIV+MUL,MUL" and len(csv) == 5
    assert sum(int(v) for row in csv[1:] for v in row.split(",")[1:]) > 0
    assert (run / "confusion" / "epoch000.png").is_file()


def test_pad_token_is_set_and_pooling_ignores_padding() -> None:
    module = ClassifierModule(lambda **kw: build_tiny(**kw), labels=["ADD", "SUB", "MUL"]).eval()
    assert module.model.config.pad_token_id == module.tokenizer.pad_token_id == module.tokenizer.eos_token_id
    short, long = "Tom [[5]].", "Natalia sold [[48 clips]] in April and then half as many in May."
    enc = module.tokenizer([short, long], padding=True, return_tensors="pt")
    alone = module.tokenizer([short], return_tensors="pt")
    with torch.no_grad():
        batched = module(enc["input_ids"], enc["attention_mask"])[0]
        single = module(alone["input_ids"], alone["attention_mask"])[0]
    assert enc["input_ids"].shape[1] > alone["input_ids"].shape[1]  # `short` was padded
    assert torch.allclose(batched, single, atol=1e-5)
    assert module.predict_ops([("Tom has 5 apples.", (8, 16))]) [0] in module.labels


def test_a_run_that_ends_before_its_first_validation_validates_keeps_and_exports(cfg_factory) -> None:
    # the usual smoke test, `train.py ... +trainer.max_steps=2`: the epoch never reaches its
    # validation, EarlyStopping must not kill the run, and the end weights are validated,
    # kept as the best checkpoint, tested and exported
    cfg = cfg_factory(["model=classifier", "+trainer.max_steps=1", "trainer.limit_train_batches=2"])
    metrics = train(cfg)
    assert {"val/f1_macro", "test/acc"} <= set(metrics)
    run = Path(cfg.paths.output_dir)
    assert (run / "checkpoints" / "end-of-fit.ckpt").is_file()
    assert (run / "export" / "label_map.json").is_file()


def test_init_from_starts_a_new_run_from_a_checkpoints_weights(cfg_factory, tmp_path: Path) -> None:
    first = cfg_factory(["model=classifier", "+trainer.max_steps=1", "trainer.limit_train_batches=2"], run="first")
    train(first)
    ckpt = Path(first.paths.output_dir) / "checkpoints" / "end-of-fit.ckpt"
    trained = torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]
    module = ClassifierModule(lambda **kw: build_tiny(**kw), labels=["ADD", "DIV", "DIV+MUL", "MUL"])
    assert any(not torch.equal(v, trained[k]) for k, v in module.state_dict().items())
    init_weights(module, ckpt)
    assert all(torch.equal(v, trained[k]) for k, v in module.state_dict().items())
    # a user's mistakes are one line each, not a traceback
    with pytest.raises(UserError, match="no such checkpoint"):
        init_weights(module, tmp_path / "nope.ckpt")
    other = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"head.pair.weight": torch.zeros(2)}}, other)
    with pytest.raises(UserError, match="does not have"):
        init_weights(module, other)
    text = tmp_path / "notes.ckpt"
    text.write_text("not a checkpoint")
    with pytest.raises(UserError, match="not a Lightning checkpoint"):
        init_weights(module, text)
    second = cfg_factory(["model=classifier", "+trainer.max_steps=1", "trainer.limit_train_batches=2",
                          f"init_from={ckpt}"], run="second")
    assert {"val/f1_macro", "test/acc"} <= set(train(second))
    both = cfg_factory(["model=classifier", f"init_from={ckpt}", f"ckpt_path={ckpt}"], run="both")
    with pytest.raises(UserError, match="give one of them"):
        train(both)
