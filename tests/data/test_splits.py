"""The students' split by problem id, and the held-out problems of a split as a development set."""

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


@pytest.mark.parametrize("keep", [[], ["dev"], ["val", "holdout"]])
def test_held_out_names_the_splits_it_knows(keep: list[str]) -> None:
    with pytest.raises(UserError, match="choose among"):
        held_out([SimpleNamespace(id="a")], keep, FRACTIONS)
