"""The audit benches: the blind side-by-side of operand changes, two reviewers' agreement, and audit verdicts carried to newer labels."""

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


def test_audit_rescore_keeps_verdicts_of_unchanged_steps_and_takes_moved_regions_from_a_packet(tmp_path):
    import json

    from mycelium.labels.audit import write_packet

    rs = _bench("audit_rescore")
    audited = _record((39, 44), (25, 51))  # "He read for 2 hours in all" for 2 x 60
    audit = tmp_path / "audit-1"
    audit.mkdir()
    write_packet([audited], audit / "packet-1.md", "t")
    (audit / "report-1.md").write_text("| # | step | op and args | ARG | REGION | note | SHARED |\n|---|---|---|---|---|---|---|\n"
                                       "| 1 | 1 | MUL | ok | **weak** | x | - |\n")

    def labels(record):
        path = tmp_path / "labels.jsonl"
        path.write_text(json.dumps(record.to_dict()) + "\n")
        return {r.id: r for r in rs.read_labels(path)}

    verdicts, left = rs.rescore(audit, labels(audited), {})
    assert verdicts == {("packet-1.md", 1, 1): ("ok", "weak")} and not left
    moved = _record((39, 44), (52, 78))  # the question now
    verdicts, left = rs.rescore(audit, labels(moved), {})
    assert not verdicts and left == {"a step not judged": 1}
    judged = {("p/1", 1, f'"{TEXT[52:78]}"'): "ok"}
    verdicts, left = rs.rescore(audit, labels(moved), judged)
    assert verdicts == {("packet-1.md", 1, 1): ("ok", "ok")}
    other = _record((16, 23), (25, 51))  # the 60 from "minutes": an argument changed
    verdicts, left = rs.rescore(audit, labels(other), judged)
    assert not verdicts and left == {"steps changed": 1}
    dropped = _record((39, 44), (25, 51))
    dropped.validated = False
    assert rs.rescore(audit, labels(dropped), {})[1] == {"no longer validated": 1}


def test_audit_rescore_reads_a_regions_ab_packet_by_region_text(tmp_path):
    rs, ab = _bench("audit_rescore"), _bench("regions_ab")
    before, after = _record((39, 44), (25, 51)), _record((39, 44), (52, 78))
    text, ((pid, step, letter),) = ab.packet([(before, after)], seed=5)
    (tmp_path / "packet.md").write_text(text)
    x, y = ("ok", "weak") if letter == "X" else ("weak", "ok")  # the moved region is judged ok
    (tmp_path / "verdicts.md").write_text(f"| problem | step | X | Y | note |\n|---|---|---|---|---|\n| 1 | 1 | {x} | {y} | n |\n")
    got = rs.ab_verdicts(tmp_path)
    assert got == {(pid, step, ab.quote(after, after.steps[0].region)): "ok",
                   (pid, step, ab.quote(before, before.steps[0].region)): "weak"}


def test_regions_ab_tally_without_the_packets_key_is_a_clear_error(tmp_path, monkeypatch):
    from mycelium.labels.stage import write_records
    ab = _bench("regions_ab")
    before, after = tmp_path / "before", tmp_path / "after"
    write_records(before / "labels.jsonl", [_record((16, 23), (0, 23))])
    write_records(after / "labels.jsonl", [_record((16, 23), (25, 51))])
    (tmp_path / "verdicts.md").write_text("| 1 | 1 | ok | weak | n |\n")
    monkeypatch.setattr(sys, "argv", ["regions_ab.py", str(before), str(after), "--seed", "1",
                                      "--out", str(tmp_path / "elsewhere.md"), "--tally", str(tmp_path / "verdicts.md")])
    with pytest.raises(SystemExit, match="no key here"):
        ab.main()


def test_regions_ab_leaves_out_excluded_problems_and_makes_its_folder(tmp_path, monkeypatch, capsys):
    from dataclasses import replace

    from mycelium.labels.stage import write_records
    ab = _bench("regions_ab")
    before, after = tmp_path / "before", tmp_path / "after"
    write_records(before / "labels.jsonl", [replace(_record((16, 23), (0, 23)), id=f"g/t/{i}") for i in range(3)])
    write_records(after / "labels.jsonl", [replace(_record((16, 23), (25, 51)), id=f"g/t/{i}") for i in range(3)])
    (tmp_path / "fit.md").write_text("## 1. `g/t/0`\n## 2. `g/t/2`\n")
    out = tmp_path / "new" / "packet.md"
    monkeypatch.setattr(sys, "argv", ["regions_ab.py", str(before), str(after), "--seed", "1", "--n", "3",
                                      "--out", str(out), "--exclude", str(tmp_path / "fit.md")])
    ab.main()
    assert "1 problems have a moved region" in capsys.readouterr().out
    assert "`g/t/1`" in out.read_text() and "`g/t/0`" not in out.read_text()


def test_region_gold_writes_units_without_regions_and_scores_the_rules_against_the_marks(tmp_path, capsys):
    from mycelium.labels.stage import write_records

    gold = _bench("region_gold")
    text = "Kim had 63 marbles. She gave half of them to her brother. How many marbles does she have left?"
    half = (text.index("half"), text.index("half") + 4)
    steps = [Step(0, "DIV", [Arg("number", "63", "63", (8, 10)), Arg("implicit", "2", "half", half)], "63/2",
                  expr="63/2", region=(20, 56)),
             Step(1, "SUB", [Arg("number", "63", "63", (8, 10)), Arg("result", "63/2", step=0)], "63/2",
                  expr="63-63/2", region=(0, 18))]
    records = [LabelRecord(f"gsm8k/train/{i}", text, "63/2", steps, "63/2", True) for i in range(4)]
    write_records(tmp_path / "labels.jsonl", records)
    gold.main(["packet", "--labels", str(tmp_path / "labels.jsonl"), "--n", "4", "--seed", "1", "--parts", "2",
               "--out", str(tmp_path / "g")])
    packet = (tmp_path / "g" / "packet-1.md").read_text()
    assert '- c2: "She gave half of them to her brother"' in packet and "region" not in packet.split("Clause units")[1]
    ids = [line.split("`")[1] for line in packet.splitlines() if line.startswith("## ")]
    # the reader: step 1 on c2 (the rules agree), step 2 on the question c3 (the rules put it on c1)
    (tmp_path / "g" / "marks-1.md").write_text("| problem | step | best | also ok | note |\n|---|---|---|---|---|\n"
                                                "| 1 | 1 | c2 | - | |\n| 1 | 2 | c3 | c2-c3 | |\n"
                                                "| 2 | 1 | c2 | - | |\n| 2 | 2 | c3 | c1 | |\n")
    marks = gold.read_marks(tmp_path / "g")
    assert marks[(ids[0], 1)] == ((2,), [(1, 2)]) and len(marks) == 4
    rows = gold.step_data(records, marks)
    assert [gold.pick_rules(r) for r in rows] == [(1,), (0,), (1,), (0,)]
    assert [gold.pick_rules(r) in r["ok"] for r in rows] == [True, False, True, True]


def test_op_readers_draws_the_classifiers_test_split_and_scores_readers_beside_baselines(tmp_path, capsys):
    from mycelium.data.splits import split_of
    from mycelium.labels.stage import write_records

    readers = _bench("op_readers")
    text = "Kim had 63 marbles. She gave half of them to her brother. How many marbles does she have left?"
    half = (text.index("half"), text.index("half") + 4)
    steps = [Step(0, "DIV", [Arg("number", "63", "63", (8, 10)), Arg("implicit", "2", "half", half)], "63/2",
                  region=(20, 56)),
             Step(1, "SUB", [Arg("number", "63", "63", (8, 10)), Arg("result", "63/2", step=0)], "63/2",
                  region=(58, 93))]
    records = [LabelRecord(f"gsm8k/train/{i}", text, "63/2", steps, "63/2", True) for i in range(200)]
    write_records(tmp_path / "labels.jsonl", records)
    test_ids = {r.id for r in records if split_of(r.id, readers.SPLITS) == "test"}
    readers.main(["packet", "--labels", str(tmp_path / "labels.jsonl"), "--n", "4", "--seed", "1", "--parts", "1",
                  "--out", str(tmp_path / "p")])
    packet = (tmp_path / "p" / "packet-1.md").read_text()
    shown = [line.split("`")[1] for line in packet.splitlines() if line.startswith("## ")]
    assert len(shown) == 4 and set(shown) <= test_ids and "[[" in packet
    assert "DIV" not in packet.split("| example | op |")[1]  # the ops are not shown
    marked = [line for line in packet.splitlines() if line.startswith("> ")]
    # the reader names every region right but the first
    ops = ["SUB" if "[[How many" in m else "DIV" for m in marked]
    ops[0] = "ADD"
    (tmp_path / "p" / "answers-1.md").write_text("".join(f"| {i + 1} | {op} |\n" for i, op in enumerate(ops)))
    readers.main(["score", "--labels", str(tmp_path / "labels.jsonl"), str(tmp_path / "p")])
    out = capsys.readouterr().out
    assert "| careful readers (the whole problem, region marked) | 0.750 |" in out
    assert "| TF-IDF + logistic regression on the region text | 1.000 |" in out
