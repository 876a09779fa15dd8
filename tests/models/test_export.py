"""Export a student with save_pretrained and reload it: same predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mycelium.models.classifier import ClassifierModule
from mycelium.errors import UserError
from mycelium.models.export import TrainedOn, check_split, export_student, load_exported, trained_on
from mycelium.models.segmenter import SegmenterModule
from mycelium.teacher.loading import build_tiny

TEXTS = ["Natalia sold 48 clips in April. She sold half as many in May.", "Tom has 5 apples. He buys 3 more."]


def tiny(**kw):
    return build_tiny(**kw)


def scramble_head(module: torch.nn.Module, seed: int = 1) -> None:
    """A random head with a spread of outputs, so predictions are not all one class."""
    torch.manual_seed(seed)
    with torch.no_grad():
        module.model.score.weight.normal_(0, 5.0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_segmenter_export_reload_identical(tmp_path: Path, bidirectional: bool) -> None:
    module = SegmenterModule(tiny, bidirectional=bidirectional).eval()
    scramble_head(module)
    export_student(module, tmp_path / "seg")
    reloaded = load_exported(tmp_path / "seg")
    assert isinstance(reloaded, SegmenterModule) and reloaded.bidirectional == bidirectional
    assert reloaded.predict_spans(TEXTS) == module.predict_spans(TEXTS)
    enc = module.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        # (the reload may pick SDPA over eager attention: equal up to float rounding)
        assert torch.allclose(module(**enc), reloaded(**enc), rtol=1e-4, atol=1e-4)


def test_classifier_export_reload_identical(tmp_path: Path) -> None:
    module = ClassifierModule(tiny, labels=["ADD", "DIV", "MUL", "SUB"], markers=["<s>", "</s>"]).eval()
    scramble_head(module)
    export_student(module, tmp_path / "cls")
    assert json.loads((tmp_path / "cls" / "label_map.json").read_text())["labels"] == ["ADD", "DIV", "MUL", "SUB"]
    reloaded = load_exported(tmp_path / "cls")
    assert isinstance(reloaded, ClassifierModule) and reloaded.markers == ("<s>", "</s>")
    items = [(TEXTS[0], (32, 61)), (TEXTS[0], (0, 31)), (TEXTS[1], (18, 33))]
    assert reloaded.predict_ops(items) == module.predict_ops(items)


def test_load_exported_rejects_a_plain_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="label_map.json"):
        load_exported(tmp_path)


def test_an_export_records_its_split_and_check_split_holds_an_evaluation_to_it(tmp_path: Path) -> None:
    module = ClassifierModule(tiny, labels=["ADD", "MUL"]).eval()
    even = TrainedOn("labels/x", {"train": 0.5, "val": 0.25, "test": 0.25}, "s")
    export_student(module, tmp_path / "students" / "classifier", even)
    export_student(SegmenterModule(tiny).eval(), tmp_path / "students" / "segmenter")  # an older export: no record
    assert trained_on(tmp_path / "students" / "classifier") == even
    assert trained_on(tmp_path / "students" / "segmenter") is None
    assert load_exported(tmp_path / "students" / "classifier").labels == ("ADD", "MUL")  # the record is not read as a setting
    assert check_split(tmp_path / "students", {"train": 0.5, "val": 0.25, "test": 0.25}, "s") == [
        str(tmp_path / "students" / "segmenter")]
    with pytest.raises(UserError, match=r"'holdout_splits=\{train:0.5,val:0.25,test:0.25\}' holdout_salt='s'"):
        check_split(tmp_path / "students", {"train": 0.9, "val": 0.05, "test": 0.05}, "s")
    with pytest.raises(UserError, match="salt='s'"):
        check_split(tmp_path / "students", {"train": 0.5, "val": 0.25, "test": 0.25}, "")
    # split_of reads the fractions in order, normalised: the same weights in another order are another split
    with pytest.raises(UserError, match="holdout_splits"):
        check_split(tmp_path / "students", {"val": 0.25, "test": 0.25, "train": 0.5}, "s")
    assert check_split(tmp_path / "students", {"train": 2, "val": 1, "test": 1}, "s", names=["classifier"]) == []
    export_student(module, tmp_path / "fold" / "wiring", TrainedOn("labels/m", {"train": 0.9}, "", test_fold=2))
    with pytest.raises(UserError, match="test_fold=2"):
        check_split(tmp_path / "fold", {"train": 0.9}, "")


def test_trained_on_of_a_datamodule() -> None:
    class Data:
        labels_dir, splits, split_salt = Path("l"), {"train": 1, "test": 0}, ""

    assert TrainedOn.of(Data()) == TrainedOn("l", {"train": 1.0, "test": 0.0}, "", None)
    assert TrainedOn.of(object()) is None
