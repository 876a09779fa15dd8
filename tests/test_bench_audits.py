"""The audit benches: the blind side-by-side of operand changes and two reviewers' agreement."""

import importlib.util
import sys
from pathlib import Path

import pytest

from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord

ROOT = Path(__file__).resolve().parents[1]


def _bench(name: str):
    if str(ROOT / "bench") not in sys.path:  # as when run as a script: a bench imports its siblings
        sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


TEXT = "Leo read for 25 minutes. He read for 2 hours in all. How many minutes is that?"


def _record(span: tuple[int, int], region: tuple[int, int]) -> LabelRecord:
    step = Step(0, "MUL", [Arg("number", "2", "2", (37, 38)), Arg("implicit", "60", TEXT[span[0]:span[1]], span)],
                "120", expr="2*60=120", region=region)
    return LabelRecord("p/1", TEXT, "120", [step], "120", True)


def test_steps_ab_shows_changed_steps_blind_and_tallies_the_key():
    ab = _bench("steps_ab")
    before, after = _record((16, 23), (0, 23)), _record((39, 44), (25, 51))
    assert ab.changed_steps(before, after) == [0]
    assert ab.changed_steps(before, before) == []
    text, key = ab.packet([(before, after)], seed=3)
    assert "version X" in text and "version Y" in text and "region (same" not in text
    (pid, step, letter), = key
    # the reviewer says the "hours" version is right: whichever letter it got, "after" wins
    verdicts = "| 1 | 1 | ok | ok | wrong | weak | note |" if letter == "X" else "| 1 | 1 | wrong | weak | ok | ok | n |"
    counts = ab.tally(verdicts, [pid], {(pid, step): letter})
    assert counts["after"]["arg ok"] == 1 and counts["before"]["arg wrong"] == 1
    assert counts["pair"]["after better"] == 1
    with pytest.raises(SystemExit):  # a row for a step the packet did not change
        ab.tally("| 1 | 2 | ok | ok | ok | ok |", [pid], {(pid, step): letter})


def test_audit_agreement_reads_both_reviews_and_counts_problems(tmp_path):
    ag = _bench("audit_agreement")
    first = tmp_path / "a.md"
    first.write_text("| # | step | op | ARG | REGION | note | SHARED |\n|---|---|---|---|---|---|---|\n"
                     "| 1 | 1 | MUL | ok | ok | | - |\n| 1 | 2 | ADD | wrong | weak | x | - |\n"
                     "| 2 | 1 | SUB | ok | ok | | - |\n")
    rows = ag.read_review(first)
    assert rows == {(1, 1): ("ok", "ok"), (1, 2): ("wrong", "weak"), (2, 1): ("ok", "ok")}
    f = ag.figures({(0, *k): v for k, v in rows.items()})
    assert f["arg wrong"] == pytest.approx(1 / 3) and f["problems fully right"] == 0.5
    empty = tmp_path / "b.md"
    empty.write_text("no table here\n")
    with pytest.raises(SystemExit, match="no per-step rows"):
        ag.read_review(empty)
