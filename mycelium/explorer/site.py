"""The trace explorer: a static HTML site over the traces, labels and predictions artifacts.

    build_site(out_dir, traces_dir=..., labels_dir=..., predictions_path=...)

writes ``index.html`` (one filterable table of problems plus the run figures) and
``problems/<safe id>.html`` (one small self-contained page per problem: the JSD curve and
steps over the CoT, the IAF heat and clause regions over the problem text, the DAG, and the
solver's prediction next to the labels). Signals are recomputed from the cached curves with
the given ``JSDConfig``, so a researcher can rebuild the site for new thresholds in seconds;
nothing here loads a model. Any artifact may be missing: each page renders what exists.

Everything is inline (CSS, a few lines of vanilla JS on the index, SVG figures), so pages
open from ``file://`` with no network and can be logged to W&B as HTML.
"""

from __future__ import annotations

import hashlib
import re
from html import escape
from pathlib import Path

from mycelium.explorer.artifacts import load_labels, load_predictions
from mycelium.explorer.index_page import Row, index_row, render_index
from mycelium.explorer.problem_page import NAV_PLACEHOLDER, render_problem
from mycelium.records.traces import Trace, iter_traces
from mycelium.signals.iaf import IAFConfig
from mycelium.signals.jsd import JSDConfig


def safe_id(pid: str) -> str:
    """A file-name-safe form of a problem id; ids that had to change get a hash suffix so two
    ids never map to one file."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", pid)[:80]
    if safe != pid:
        safe += "-" + hashlib.sha1(pid.encode()).hexdigest()[:8]
    return safe


def build_site(
    out_dir: str | Path,
    *,
    traces_dir: str | Path | None = None,
    labels_dir: str | Path | None = None,
    predictions_path: str | Path | None = None,
    jsd_config: JSDConfig | None = None,
    iaf_config: IAFConfig | None = None,
    limit: int | None = None,
) -> Path:
    """Write the explorer site into ``out_dir`` and return the path of its ``index.html``.

    Problems are the union of the ids in the given artifacts (labels' order first, then
    predictions', then traces'); ``limit`` keeps the first ``limit`` of them. Traces are
    streamed shard by shard, so memory stays at one shard whatever the run size.
    ``jsd_config`` and ``iaf_config`` set the knobs the pages recompute steps and IAF
    selections with (defaults: the dataclasses' defaults).
    """
    out = Path(out_dir)
    (out / "problems").mkdir(parents=True, exist_ok=True)
    jsd_config = jsd_config or JSDConfig()
    labels, report = load_labels(labels_dir) if labels_dir else ({}, {})
    preds = load_predictions(predictions_path) if predictions_path else {}
    known = list(dict.fromkeys([*labels, *preds]))
    if limit is not None:
        known = known[:limit]
    order = {pid: i for i, pid in enumerate(known)}
    rows: dict[str, Row] = {}

    def write(pid: str, trace: Trace | None) -> None:
        href = f"problems/{safe_id(pid)}.html"
        html_text = render_problem(pid, trace, labels.get(pid), preds.get(pid), jsd_config, iaf_config)
        (out / href).write_text(html_text, encoding="utf-8")
        rows[pid] = index_row(pid, href, trace, labels.get(pid), preds.get(pid))

    if traces_dir is not None and Path(traces_dir).exists():
        # With a limit already filled by labelled ids, read only the shards that hold them.
        ids = known if limit is not None and len(known) >= limit else None
        for trace in iter_traces(traces_dir, ids):
            if trace.id not in order:
                if limit is not None and len(order) >= limit:
                    continue
                order[trace.id] = len(order)
            write(trace.id, trace)
    for pid in known:
        if pid not in rows:
            write(pid, None)
    ordered = sorted(rows.values(), key=lambda r: order[r.pid])
    # Prev/next links need the final order, so they are filled in after every page exists.
    for i, r in enumerate(ordered):
        links = []
        if i > 0:
            links.append(
                f'<a href="{escape(Path(ordered[i - 1].href).name)}" id="prev">&larr; {escape(ordered[i - 1].pid)}</a>'
            )
        if i + 1 < len(ordered):
            links.append(
                f'<a href="{escape(Path(ordered[i + 1].href).name)}" id="next">{escape(ordered[i + 1].pid)} &rarr;</a>'
            )
        page = out / r.href
        page.write_text(page.read_text(encoding="utf-8").replace(NAV_PLACEHOLDER, "".join(links), 1), encoding="utf-8")
    sources = {
        name: str(path)
        for name, path in (("traces", traces_dir), ("labels", labels_dir), ("predictions", predictions_path))
        if path is not None
    }
    sources["JSD"] = ", ".join(f"{k}={v}" for k, v in vars(jsd_config).items())
    sources["IAF"] = ", ".join(f"{k}={v}" for k, v in vars(iaf_config or IAFConfig()).items())
    index = out / "index.html"
    index.write_text(render_index(ordered, report, sources), encoding="utf-8")
    return index


def problem_pages(out_dir: str | Path) -> list[Path]:
    """The problem pages of a built site, sorted by file name."""
    return sorted((Path(out_dir) / "problems").glob("*.html"))
