"""The explorer site: files, content and escaping from the real artifact writers; any artifact
may be missing. The browser-rendered checks live in test_browser.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from explorer_artifacts import PROBLEMS, Artifacts, make_labels

from mycelium.explorer import build_site, problem_pages, safe_id
from mycelium.explorer.__main__ import main
from mycelium.explorer.artifacts import label_from_dict, load_labels
from mycelium.explorer.render import Mark, spans_view
from mycelium.explorer.svg import dag_svg
from mycelium.explorer.wandb import log_problem_pages
from mycelium.dag.steps import Arg, Step
from mycelium.signals.iaf import IAFConfig
from mycelium.signals.jsd import JSDConfig
from mycelium.records.traces import Trace, TraceStore

IDS = [p[0] for p in PROBLEMS]


def _page(site: Path, pid: str) -> str:
    return (site / "problems" / f"{safe_id(pid)}.html").read_text()


def test_full_site(artifacts: Artifacts, tmp_path: Path) -> None:
    site = tmp_path / "site"
    index = build_site(
        site, traces_dir=artifacts.traces, labels_dir=artifacts.labels, predictions_path=artifacts.predictions
    )
    assert index == site / "index.html"
    assert [p.name for p in problem_pages(site)] == sorted(f"{safe_id(i)}.html" for i in IDS)
    html = index.read_text()
    assert html.count("<tr data-validated") == 3
    assert 'data-validated="1"' in html and 'data-reason="ungrounded_operand"' in html and 'data-correct="0"' in html
    assert 'option value="reason:ungrounded_operand"' in html
    assert "yield" in html and 'class="bar-chart"' in html  # report.json figures
    assert "http://" not in html and "https://" not in html  # nothing fetched

    p0 = _page(site, "gsm8k-train-0")
    assert 'id="jsd-raw-all"' in p0 and 'id="jsd-smooth-all"' in p0 and 'class="jsd-peak"' in p0
    assert "layer group last_third" in p0  # the other group, folded
    assert 'class="sv-tok region" data-op="DIV"' in p0 and "#1 ADD</span>" in p0
    assert 'id="dag-node-0"' in p0 and 'id="dag-node-1"' in p0 and "dag-output" in p0
    assert "2/2 predicted spans equal a label region" in p0
    assert 'class="iaf-sel"' in p0  # the labeller's IAF token is boxed
    assert 'id="next"' in p0 and 'id="prev"' not in p0  # prev/next links filled in

    p1 = _page(site, "gsm8k-train-1")
    assert "rejected: ungrounded_operand" in p1 and 'id="pred-dag-node-0"' in p1
    assert 'id="prev"' in p1 and 'id="next"' in p1

    p2 = _page(site, "odd <id>&2")  # no labels: trace + prediction
    assert "No labels for this problem" in p2
    assert "&lt;b&gt;3&lt;/b&gt;" in p2 and "<b>3</b>" not in p2
    assert "odd &lt;id&gt;&amp;2" in p2 and "odd &lt;id&gt;&amp;2" in html


@pytest.mark.parametrize("which", ["traces", "labels", "predictions"])
def test_one_artifact_only(artifacts: Artifacts, tmp_path: Path, which: str) -> None:
    kwargs = {
        "traces": {"traces_dir": artifacts.traces},
        "labels": {"labels_dir": artifacts.labels},
        "predictions": {"predictions_path": artifacts.predictions},
    }[which]
    index = build_site(tmp_path / "site", **kwargs)
    n = {"traces": 3, "labels": 2, "predictions": 3}[which]
    assert len(problem_pages(tmp_path / "site")) == n
    assert index.read_text().count("<tr data-validated") == n
    p0 = _page(tmp_path / "site", "gsm8k-train-0")
    assert ('id="jsd-raw' in p0) == (which == "traces")
    assert ('id="dag-node-0"' in p0) == (which == "labels")
    assert ('id="pred-dag-node-0"' in p0) == (which == "predictions")
    assert ("No trace for this problem" in p0) == (which != "traces")


def test_missing_paths_and_limit(artifacts: Artifacts, tmp_path: Path) -> None:
    index = build_site(tmp_path / "a", traces_dir=tmp_path / "nope", labels_dir=tmp_path / "nope2")
    assert "Problems (0)" in index.read_text()
    build_site(tmp_path / "b", traces_dir=artifacts.traces, labels_dir=artifacts.labels, limit=1)
    assert [p.name for p in problem_pages(tmp_path / "b")] == ["gsm8k-train-0.html"]
    build_site(tmp_path / "c", traces_dir=artifacts.traces, limit=2)
    assert len(problem_pages(tmp_path / "c")) == 2


def test_jsd_config_changes_the_steps(artifacts: Artifacts, tmp_path: Path) -> None:
    build_site(tmp_path / "hi", traces_dir=artifacts.traces, jsd_config=JSDConfig(prominence=10.0))
    assert "0 peaks, 1 steps" in _page(tmp_path / "hi", "gsm8k-train-0")
    build_site(tmp_path / "lo", traces_dir=artifacts.traces, jsd_config=JSDConfig(prominence=0.05))
    assert "0 peaks" not in _page(tmp_path / "lo", "gsm8k-train-0")


def test_degenerate_traces(tmp_path: Path) -> None:
    """A trace with an error and no signals, and one with a 2-token CoT, still render."""
    empty = np.zeros((0, 2), np.int32)
    failed = Trace("bad", "Some text?", "", "3", None, None, empty, empty, error="too_long")
    tiny = Trace(
        "tiny",
        "1+2?",
        "3.",
        "3",
        "3",
        True,
        np.array([[0, 1], [1, 2], [2, 3], [3, 4]], np.int32),
        np.array([[0, 1], [1, 2]], np.int32),
        jsd={"all": np.array([0.0, 0.4], np.float32)},
        attn={"all": np.ones((2, 4), np.float16)},
    )
    TraceStore(tmp_path / "traces").write_shard([failed, tiny])
    build_site(tmp_path / "site", traces_dir=tmp_path / "traces")
    assert "The trace has no CoT: too_long." in _page(tmp_path / "site", "bad")
    assert "0 peaks, 1 steps" in _page(tmp_path / "site", "tiny")


def test_cli(artifacts: Artifacts, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = [
        "--traces",
        str(artifacts.traces),
        "--labels",
        str(artifacts.labels),
        "--predictions",
        str(artifacts.predictions),
        "--out",
        str(tmp_path / "site"),
        "--limit",
        "2",
        "--jsd-height",
        "p90",
        "--jsd-prominence",
        "none",
    ]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "site" / "index.html")
    assert len(problem_pages(tmp_path / "site")) == 2
    assert "height=p90" in (tmp_path / "site" / "index.html").read_text()


def test_labels_round_trip(artifacts: Artifacts) -> None:
    labels, report = load_labels(artifacts.labels)
    assert list(labels) == ["gsm8k-train-0", "gsm8k-train-1"] and report["yield"] == 0.5
    original = make_labels()[0]
    assert labels["gsm8k-train-0"] == original
    assert label_from_dict(json.loads(json.dumps(original.to_dict()))).steps[0].region == original.steps[0].region


def test_figures_computed_without_report(artifacts: Artifacts, tmp_path: Path) -> None:
    (artifacts.labels / "report.json").unlink()
    html = build_site(
        tmp_path / "site", labels_dir=artifacts.labels, predictions_path=artifacts.predictions
    ).read_text()
    assert "rejection reasons" in html and "ops (validated)" in html and "accuracy" in html


def test_iaf_config_changes_the_selection(artifacts: Artifacts, tmp_path: Path) -> None:
    def boxes(config: IAFConfig) -> int:
        build_site(
            tmp_path / config.method, traces_dir=artifacts.traces, labels_dir=artifacts.labels, iaf_config=config
        )
        return _page(tmp_path / config.method, "gsm8k-train-0").count('class="iaf-sel')

    one = boxes(IAFConfig(method="top_k", top_k=1))
    assert one == 2 + 6  # one token per label step and per JSD step
    assert boxes(IAFConfig(method="threshold", threshold=0.0)) > one


def test_spans_view_stacks_overlaps_and_escapes() -> None:
    html = spans_view("a <b> c d", [Mark(0, 5, "ADD", "#0f0", attrs={"data-op": "ADD"}), Mark(2, 9, "MUL", "#00f")])
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "top:calc(1.45em + 18px)" in html  # the overlapping span went to track 1
    assert html.count("sv-label") == 2


def test_dag_draws_leaves_edges_and_bad_refs() -> None:
    steps = [
        Step(0, "MUL", [Arg("number", "3", "3"), Arg("implicit", "12", "dozen")], "36"),
        Step(1, "SUB", [Arg("result", "36", step=0), Arg("result", "1", step=5)], None),
    ]
    svg = dag_svg(steps)
    assert svg.count('class="dag-node') == 2 and svg.count("dag-edge") == 4
    assert "dag-leaf-implicit" in svg and "dag-bad" in svg and "= ?" in svg


class _FakeRun:
    def __init__(self) -> None:
        self.logged: dict = {}

    def log(self, data: dict) -> None:
        self.logged.update(data)


class _FakeLogger:
    def __init__(self) -> None:
        self.experiment = _FakeRun()


def test_wandb_logs_a_sample(artifacts: Artifacts, tmp_path: Path) -> None:
    wandb = pytest.importorskip("wandb")
    build_site(tmp_path / "site", traces_dir=artifacts.traces)
    logger = _FakeLogger()
    assert log_problem_pages(logger, problem_pages(tmp_path / "site"), n=2) == 2
    assert len(logger.experiment.logged) == 2
    assert all(k.startswith("explorer/") and isinstance(v, wandb.Html) for k, v in logger.experiment.logged.items())
    run = _FakeRun()
    assert log_problem_pages(run, problem_pages(tmp_path / "site")) == 3
