"""The students' split by problem id, and the held-out problems of a split as a development set."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from mycelium.data.splits import held_out, split_of
from mycelium.errors import UserError

FRACTIONS = {"train": 0.9, "val": 0.05, "test": 0.05}


def test_held_out_keeps_exactly_the_problems_the_students_did_not_train_on() -> None:
    problems = [SimpleNamespace(id=f"gsm8k/train/{i}") for i in range(2000)]
    dev = held_out(problems, ["val", "test"], FRACTIONS)
    assert dev == [p for p in problems if split_of(p.id, FRACTIONS) != "train"]  # same order, nothing else
    assert 140 < len(dev) < 260  # about a tenth
    val, test = held_out(problems, ["val"], FRACTIONS), held_out(problems, ["test"], FRACTIONS)
    assert val and test and sorted(val + test, key=problems.index) == dev
    assert {p.id for p in held_out(problems, ["val"], FRACTIONS, salt="other")} != {p.id for p in held_out(problems, ["val"], FRACTIONS)}


@pytest.mark.parametrize("keep", [[], ["dev"], ["val", "holdout"], "val"])
def test_held_out_names_the_splits_it_knows(keep: list[str]) -> None:
    with pytest.raises(UserError, match="give a list of names among"):
        held_out([SimpleNamespace(id="a")], keep, FRACTIONS)


def test_an_empty_held_out_set_is_an_error_not_a_score_of_zero() -> None:
    problems = [SimpleNamespace(id=f"p{i}") for i in range(3)]
    with pytest.raises(UserError, match="none of the 3 problems"):
        held_out(problems, ["val"], {"train": 1.0, "val": 0.0})
    assert held_out(problems, ["val"], {"train": 1.0, "val": 0.0}, allow_empty=True) == []


def test_evaluate_holds_out_what_the_students_split_holds_out() -> None:
    # evaluate.py's default holdout_splits must be the students' datamodule.splits
    from omegaconf import OmegaConf

    conf = Path(__file__).parents[2] / "conf"
    evaluate = OmegaConf.load(conf / "evaluate.yaml")
    for model in ("wiring", "classifier", "segmenter"):
        student = OmegaConf.load(conf / "model" / f"{model}.yaml")
        assert dict(evaluate.holdout_splits) == dict(student.datamodule.splits), model
        assert evaluate.holdout_salt == student.datamodule.get("split_salt", ""), model
