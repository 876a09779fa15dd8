"""The explorer pages in a real headless browser (Debian's chromium): the figures are in the
rendered DOM, the index filter applies its query string on load, and a screenshot renders.

Chromium is installed with apt when missing and we are root; otherwise these tests skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from explorer_artifacts import Artifacts, write_artifacts

from mycelium.explorer import build_site, safe_id
from mycelium.explorer.browser import dump_dom, find_chromium, screenshot

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def chromium() -> str:
    """A chromium binary; installs Debian's package when missing and running as root."""
    if find_chromium() is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip("chromium is not installed and we cannot apt-get it (not root or not Debian)")
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                pytest.skip(f"{' '.join(cmd)} failed: {done.stderr[-300:]}")
    path = find_chromium()
    if path is None:
        pytest.skip("chromium still missing after apt-get install")
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("explorer")
    a: Artifacts = write_artifacts(root)
    build_site(root / "site", traces_dir=a.traces, labels_dir=a.labels, predictions_path=a.predictions)
    return root / "site"


class Elements(HTMLParser):
    """Every element of a DOM as (tag, attrs), plus the text inside each element with an id."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.text_of: dict[str, str] = {}
        self._open_ids: list[str | None] = []
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        self._open_ids.append(a.get("id"))

    def handle_endtag(self, tag: str) -> None:
        if self._open_ids:
            self._open_ids.pop()

    def handle_data(self, data: str) -> None:
        for i in self._open_ids:
            if i:
                self.text_of[i] = self.text_of.get(i, "") + data

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[dict]:
        return [
            a
            for t, a in self.elements
            if (tag is None or t == tag)
            and (cls is None or cls in (a.get("class") or "").split())
            and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


def test_problem_page_renders_figures(chromium: str, site: Path) -> None:
    dom = Elements(dump_dom(site / "problems" / "gsm8k-train-0.html"))
    # 1. JSD: raw and smoothed curves with real path data, peaks and step bands.
    raw = dom.find("path", "jsd-raw", id="jsd-raw-all")
    assert raw and raw[0]["d"].startswith("M") and raw[0]["d"].count("L") >= 30
    assert dom.find("path", "jsd-smooth", id="jsd-smooth-all")
    assert dom.find("circle", "jsd-peak") and len(dom.find("rect", "jsd-step")) >= 2
    assert len(dom.find("span", "cot-step")) >= 2
    # 2. Regions as displaCy-like spans carrying the op, with their labels; IAF heat rows.
    # (in section 2, and again beside the prediction in section 4)
    assert [a["data-op"] for a in dom.find("span", "region")] == ["DIV", "ADD"] * 2
    assert len(dom.find("span", "region-label")) == 4
    assert dom.find("span", "arg-span") and dom.find("span", "iaf-sel")
    # 3. The DAG: two step nodes, the output marked, leaves and edges.
    nodes = [a["id"] for a in dom.find("g", "dag-node")]
    assert nodes == ["dag-node-0", "dag-node-1", "pred-dag-node-0", "pred-dag-node-1"]  # labels' DAG, predicted DAG
    assert dom.find("g", "dag-output", id="dag-node-1")
    assert len(dom.find("g", "dag-leaf")) == 6 and len(dom.find("line", "dag-edge")) == 8
    # 4. The prediction next to the labels.
    assert [a["data-op"] for a in dom.find("span", "pred-region")] == ["DIV", "ADD"]
    assert dom.find("a", id="next")[0]["href"] == "gsm8k-train-1.html"


def test_escaped_page_renders(chromium: str, site: Path) -> None:
    dom = dump_dom(site / "problems" / f"{safe_id('odd <id>&2')}.html")
    assert "&lt;b&gt;3&lt;/b&gt;" in dom and "<b>3</b>" not in dom  # shown as text, not markup


@pytest.mark.parametrize(
    "query, visible, shown",
    [
        ("", ["gsm8k-train-0", "gsm8k-train-1", "odd <id>&2"], "3 of 3"),
        ("status=rejected", ["gsm8k-train-1"], "1 of 3"),
        ("status=validated", ["gsm8k-train-0"], "1 of 3"),
        ("status=reason:ungrounded_operand", ["gsm8k-train-1"], "1 of 3"),
        ("pred=correct", ["gsm8k-train-0", "odd <id>&2"], "2 of 3"),
        ("pred=wrong&status=validated", [], "0 of 3"),
        ("q=odd", ["odd <id>&2"], "1 of 3"),
    ],
)
def test_index_filter_applies_query(chromium: str, site: Path, query: str, visible: list[str], shown: str) -> None:
    dom = Elements(dump_dom(site / "index.html", query))
    rows = [a for t, a in dom.elements if t == "tr" and "data-validated" in a]
    assert len(rows) == 3
    # The link text of each row is its id; hidden rows carry the hidden attribute.
    links = [a["href"] for a in dom.find("a") if a.get("href", "").startswith("problems/")]
    shown_ids = [pid for pid, row in zip(["gsm8k-train-0", "gsm8k-train-1", "odd <id>&2"], rows) if "hidden" not in row]
    assert len(links) == 3 and shown_ids == visible
    assert dom.text_of["shown"] == shown


def test_screenshot(chromium: str, site: Path, tmp_path: Path) -> None:
    png = screenshot(site / "problems" / "gsm8k-train-0.html", tmp_path / "page.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a blank page is ~5 KB
