"""The labels stage over a real TraceStore: artifact files, report, errors."""

import json
import os
import sys
import time
from dataclasses import asdict, replace

import pytest

from fake_traces import make_trace
from mycelium.errors import UserError
from mycelium.labels.assemble import LabelSettings
from mycelium.labels.clauses import load_spacy, parse
from mycelium.labels import stage
from mycelium.labels.stage import label_all, read_labels, run_labels
from mycelium.records.traces import TraceStore


@pytest.fixture
def traces_dir(tmp_path):
    root = tmp_path / "traces"
    store = TraceStore(root)
    good = make_trace()
    wrong = replace(make_trace(gold="71"), id="t/1")
    broken = replace(make_trace(), id="t/2", error="empty_problem")
    store.write_shard([good, wrong])
    store.write_shard([broken])
    return root


def test_stage_writes_labels_report_and_settings(traces_dir, tmp_path):
    out = tmp_path / "labels"
    report = run_labels(traces_dir, out, LabelSettings(), progress=False)
    assert (report.problems, report.validated) == (3, 1)
    assert report.reasons == {"wrong_answer": 1, "trace_error": 1}
    assert report.ops == {"DIV": 1, "ADD": 1}
    records = read_labels(out)
    assert [r.id for r in records] == ["t/0", "t/1", "t/2"]
    assert records[0].validated and records[0].steps[0].region is not None
    saved = json.loads((out / "report.json").read_text())
    assert saved["validated"] == 1
    assert json.loads((out / "settings.json").read_text())["grounding"] == "problem"
    m = report.metrics()
    assert m["validated_rate"] == pytest.approx(1 / 3) and m["reason/wrong_answer"] == pytest.approx(1 / 3)
    assert "validated 1 (33.3%" in report.format()


def test_limit_and_relabel_are_deterministic(traces_dir, tmp_path):
    a = run_labels(traces_dir, tmp_path / "a", LabelSettings(), limit=2, progress=False)
    b = run_labels(traces_dir, tmp_path / "b", LabelSettings(), limit=2, progress=False)
    assert a.problems == 2
    assert (tmp_path / "a" / "labels.jsonl").read_text() == (tmp_path / "b" / "labels.jsonl").read_text()


def test_labelling_processes_give_the_same_records_in_order():
    # two processes, one trace per task: the pool's records come back in trace order, equal to one process's
    traces = [replace(make_trace(gold=g), id=f"t/{i}") for i, g in enumerate(["72", "71", "72", "70", "72"])]
    parsed = parse([t.text for t in traces], load_spacy())
    one = [(r.to_dict(), asdict(d)) for r, d in label_all(traces, parsed, LabelSettings(), workers=1)]
    two = [(r.to_dict(), asdict(d)) for r, d in label_all(traces, parsed, LabelSettings(), workers=2, chunk=1)]
    assert two == one and [r["id"] for r, _ in two] == ["t/0", "t/1", "t/2", "t/3", "t/4"]
    assert [r["validated"] for r, _ in two] == [True, False, True, False, True]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="labelling processes fork (Linux)")
def test_labelling_processes_run_elsewhere_and_keep_order_when_early_tasks_finish_last(monkeypatch):
    traces = [replace(make_trace(), id=f"t/{i}") for i in range(4)]

    def slow_first(trace, parsed, settings):  # earlier traces take longer: finishing order is reversed
        time.sleep(0.1 * (3 - int(trace.id[2:])))
        return trace.id, os.getpid()

    monkeypatch.setattr(stage, "label_trace", slow_first)  # the forked processes inherit it
    done = list(label_all(traces, [None] * 4, LabelSettings(), workers=2, chunk=1))
    assert [i for i, _ in done] == ["t/0", "t/1", "t/2", "t/3"]
    assert {pid for _, pid in done} - {os.getpid()}  # labelled in other processes


@pytest.mark.parametrize("workers", [0, -1, 2.5, "auto", True])
def test_bad_workers_is_a_user_error(traces_dir, tmp_path, workers):
    with pytest.raises(UserError, match="labels.workers="):
        run_labels(traces_dir, tmp_path / "a", LabelSettings(), progress=False, workers=workers)


def test_ids_keep_only_those_problems_traces(traces_dir, tmp_path):
    # a traces dir may hold more problems than one split (MAWPS's folds share one pass)
    report = run_labels(traces_dir, tmp_path / "a", LabelSettings(), ids=["t/1", "t/2", "elsewhere/9"], progress=False)
    assert report.problems == 2 and [r.id for r in read_labels(tmp_path / "a")] == ["t/1", "t/2"]
    assert run_labels(traces_dir, tmp_path / "b", LabelSettings(), ids=["t/2", "t/0"], limit=1, progress=False).problems == 1
    assert [r.id for r in read_labels(tmp_path / "b")] == ["t/0"]  # limit counts in trace order
    with pytest.raises(UserError, match="none of the 1 problems"):
        run_labels(traces_dir, tmp_path / "c", LabelSettings(), ids=["elsewhere/9"], progress=False)


def test_missing_traces_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="stage=teacher"):
        run_labels(tmp_path / "nowhere", tmp_path / "out", LabelSettings(), progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no traces"):
        run_labels(tmp_path / "empty", tmp_path / "out", LabelSettings(), progress=False)


def test_missing_labels_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="stage=labels"):
        read_labels(tmp_path)
