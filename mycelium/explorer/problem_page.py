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
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np

from mycelium.config import find_labels_dir
from mycelium.explorer.svg import bar_chart, dag_svg, jsd_chart, op_color
from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord
from mycelium.records.predictions import Prediction
from mycelium.signals.iaf import IAFConfig, iaf_matrix, select, sink_mask
from mycelium.signals.jsd import JSDConfig, boundary_scores, jsd_peaks, jsd_steps, sentence_boundaries, smooth
from mycelium.records.traces import Trace, iter_traces

NAV_PLACEHOLDER = "<!--mycelium-nav-->"  # filled with prev/next links once every page exists

# ---------------------------------------------------------------------------------------
# Reading the artifacts


def _step_from_dict(d: dict) -> Step:
    args = [
        Arg(
            kind=a["kind"],
            value=str(a["value"]),
            text=a.get("text", ""),
            span=tuple(a["span"]) if a.get("span") is not None else None,
            step=a.get("step"),
        )
        for a in d.get("args", [])
    ]
    return Step(
        index=int(d["index"]),
        op=d["op"],
        args=args,
        value=d.get("value"),
        expr=d.get("expr", ""),
        cot_span=tuple(d["cot_span"]) if d.get("cot_span") is not None else None,
        region=tuple(d["region"]) if d.get("region") is not None else None,
        iaf_spans=[tuple(s) for s in d.get("iaf_spans", [])],
    )


def label_from_dict(d: dict) -> LabelRecord:
    """A ``LabelRecord`` from one line of ``labels.jsonl`` (spans back to tuples)."""
    fields = {k: v for k, v in d.items() if k in LabelRecord.__dataclass_fields__ and k != "steps"}
    return LabelRecord(**fields, steps=[_step_from_dict(s) for s in d.get("steps", [])])


def prediction_from_dict(d: dict) -> Prediction:
    """A ``Prediction`` from one line of ``predictions.jsonl``."""
    fields = {k: v for k, v in d.items() if k in Prediction.__dataclass_fields__ and k not in ("steps", "spans")}
    return Prediction(
        **fields, spans=[tuple(s) for s in d.get("spans", [])], steps=[_step_from_dict(s) for s in d.get("steps", [])]
    )


def _read_jsonl(path: Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def load_labels(labels_dir: str | Path) -> tuple[dict[str, LabelRecord], dict]:
    """(records by id in file order, report.json or {}) from a labels dir (or a .jsonl file)."""
    path = find_labels_dir(labels_dir)  # an old-style dir name ("limit=2000") still reads
    jsonl = path if path.is_file() else path / "labels.jsonl"
    labels = {r.id: r for r in map(label_from_dict, _read_jsonl(jsonl))} if jsonl.exists() else {}
    report_path = jsonl.parent / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return labels, report if isinstance(report, dict) else {}


def load_predictions(path: str | Path) -> dict[str, Prediction]:
    """Predictions by id from ``predictions.jsonl`` (or a dir holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "predictions.jsonl"
    return {p.id: p for p in map(prediction_from_dict, _read_jsonl(path))} if path.exists() else {}


def safe_id(pid: str) -> str:
    """A file-name-safe form of a problem id; ids that had to change get a hash suffix so two
    ids never map to one file."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", pid)[:80]
    if safe != pid:
        safe += "-" + hashlib.sha1(pid.encode()).hexdigest()[:8]
    return safe


# ---------------------------------------------------------------------------------------
# Signals recomputed for display (the same functions the label stage uses)


def _pick_group(groups: dict, wanted: str | None, prefer: tuple[str, ...] = ("all",)) -> str | None:
    """``wanted`` if the trace has it, else the first of ``prefer`` it has, else any."""
    for g in (wanted, *prefer):
        if g is not None and g in groups:
            return g
    return next(iter(groups), None)


def _char_to_token_span(offsets: np.ndarray, span: tuple[int, int]) -> tuple[int, int]:
    """Half-open token span of the tokens whose char span overlaps ``span``."""
    hit = np.flatnonzero((offsets[:, 0] < span[1]) & (offsets[:, 1] > span[0]))
    return (int(hit[0]), int(hit[-1]) + 1) if len(hit) else (0, 0)


# ---------------------------------------------------------------------------------------
# Text rendering


def _heat_text(
    text: str, offsets: np.ndarray, weights: np.ndarray, selected: np.ndarray, stored: list[tuple[int, int]]
) -> str:
    """``text`` with each problem token's background opacity = its IAF / the row's max.
    Tokens the current ``IAFConfig`` selects (``selected`` token indices) get a box; tokens in
    ``stored`` char spans (the labeller's recorded IAF selection) are underlined."""
    wmax = float(weights.max()) if len(weights) else 0.0
    chosen = set(int(i) for i in selected)
    out, pos = [], 0
    for t, (s, e) in enumerate(offsets):
        s, e = int(s), int(e)
        if s < pos or e <= s:  # overlapping or empty token spans (byte-level BPE): skip
            continue
        alpha = float(weights[t]) / wmax if wmax > 0 else 0.0
        cls = (["iaf-sel"] if t in chosen else []) + (["iaf-label"] if any(a < e and s < b for a, b in stored) else [])
        out.append(escape(text[pos:s]))
        if alpha >= 0.05 or cls:
            c = f' class="{" ".join(cls)}"' if cls else ""
            out.append(
                f'<span{c} style="background:rgba(255,120,0,{alpha:.2f})" title="token {t}: IAF {float(weights[t]):.3f}">'
                f"{escape(text[s:e])}</span>"
            )
        else:
            out.append(escape(text[s:e]))
        pos = e
    out.append(escape(text[pos:]))
    return "".join(out)


@dataclass
class Mark:
    """A labelled char span for the displaCy-style span view."""

    start: int
    end: int
    label: str
    color: str
    css_class: str = "region"
    attrs: dict = field(default_factory=dict)


def spans_view(text: str, marks: list[Mark]) -> str:
    """displaCy's span visualiser, in CSS: words covered by spans become inline blocks with one
    underline bar per covering span, stacked on tracks so overlapping spans stay readable; each
    span's label sits on its bar at its first word."""
    marks = sorted((m for m in marks if 0 <= m.start < m.end <= len(text)), key=lambda m: (m.start, -m.end))
    track_end: list[int] = []  # greedy interval colouring: end of the last span on each track
    tracks = []
    for m in marks:
        t = next((i for i, end in enumerate(track_end) if end <= m.start), len(track_end))
        if t == len(track_end):
            track_end.append(0)
        track_end[t] = m.end
        tracks.append(t)
    ntracks = max(len(track_end), 1)
    cuts = sorted({0, len(text), *(m.start for m in marks), *(m.end for m in marks)})
    out = [f'<div class="sv" style="--tracks:{ntracks}">']
    for a, b in zip(cuts, cuts[1:]):
        cover = [(m, t) for m, t in zip(marks, tracks) if m.start <= a and b <= m.end]
        if not cover:
            out.append(escape(text[a:b]))
            continue
        # Split at whitespace so the block can wrap; the bars run under the spaces too.
        for piece in re.finditer(r"\S+|\s+", text[a:b]):
            first = a + piece.start() == a
            inner = [f'<span class="sv-text">{escape(piece.group())}</span>']
            for m, t in cover:
                inner.append(f'<span class="sv-bar" style="top:calc(1.45em + {t * 18}px);background:{m.color}"></span>')
                if first and a == m.start:
                    attrs = "".join(f' {k}="{escape(str(v))}"' for k, v in m.attrs.items())
                    inner.append(
                        f'<span class="sv-label {m.css_class}-label"{attrs} style="top:calc(1.45em + {t * 18 + 3}px);'
                        f'background:{m.color}">{escape(m.label)}</span>'
                    )
            starts = [m for m, _ in cover if first and a == m.start]
            cls = " ".join(sorted({m.css_class for m in starts}))
            data = "".join(f' data-op="{escape(m.attrs["data-op"])}"' for m in starts[:1] if "data-op" in m.attrs)
            out.append(f'<span class="sv-tok {cls}"{data}>{"".join(inner)}</span>')
    out.append("</div>")
    return "".join(out)


def _label_marks(steps: list[Step], *, css_class: str = "region", with_args: bool = True) -> list[Mark]:
    marks = []
    for s in steps:
        if s.region is not None:
            marks.append(
                Mark(s.region[0], s.region[1], f"#{s.index} {s.op}", op_color(s.op), css_class, {"data-op": s.op})
            )
        if with_args:
            for a in s.args:
                if a.span is not None and a.kind != "result":
                    marks.append(Mark(a.span[0], a.span[1], f"{a.value}\u2192#{s.index}", "#b0bec5", "arg-span"))
    return marks


def _fmt_arg(a: Arg) -> str:
    if a.kind == "result":
        return f'<span class="arg arg-result">#{a.step}</span>'
    text = f" &ldquo;{escape(a.text)}&rdquo;" if a.text and a.text != a.value else ""
    return f'<span class="arg arg-{escape(a.kind)}" title="{escape(a.kind)}">{escape(a.value)}{text}</span>'


def _steps_table(steps: list[Step], problem: str, cot: str | None) -> str:
    rows = []
    for s in steps:
        region = escape(problem[s.region[0] : s.region[1]]) if s.region and problem else ""
        cot_text = ""
        if s.cot_span and cot:
            a, b = s.cot_span
            cot_text = escape(cot[a:b]) if b > a else f"<i>at char {a}:</i> {escape(cot[max(a - 20, 0) : a + 20])}"
        rows.append(
            f'<tr><td>#{s.index}</td><td><span class="op" style="background:{op_color(s.op)}">{escape(s.op)}</span></td>'
            f"<td>{', '.join(_fmt_arg(a) for a in s.args)}</td><td>{escape(s.value or '—')}</td>"
            f"<td><code>{escape(s.expr)}</code></td><td class='small'>{cot_text}</td><td class='small'>{region}</td></tr>"
        )
    return (
        '<table class="steps"><tr><th>#</th><th>op</th><th>args</th><th>value</th><th>expr</th>'
        "<th>CoT step</th><th>region</th></tr>" + "".join(rows) + "</table>"
    )


# ---------------------------------------------------------------------------------------
# Page sections


def _jsd_section(trace: Trace, label: LabelRecord | None, config: JSDConfig) -> tuple[str, list[tuple[int, int]]]:
    """The JSD charts (one per layer group, the configured one first) and the CoT text shaded
    by the configured group's steps and marked with the labelled ops. Returns (html, token steps of the configured group)."""
    group = _pick_group(trace.jsd, config.layer_group)
    if group is None or len(trace.cot_offsets) == 0:
        return "<p class='missing'>No JSD curve in this trace.</p>", []
    offsets = np.asarray(trace.cot_offsets).reshape(-1, 2)
    tokens = [trace.cot[s:e] for s, e in offsets]
    baseline = sentence_boundaries(trace.cot, offsets)
    parts, main_steps = [], []
    for g in [group] + [k for k in trace.jsd if k != group]:
        raw = np.asarray(trace.jsd[g], dtype=np.float64)[: len(offsets)]  # one value per CoT token
        sm = smooth(raw, config.window, config.polyorder)
        peaks = jsd_peaks(raw, config)
        steps = jsd_steps(raw, config, trace.cot, offsets, peaks=peaks)
        p, r = boundary_scores(np.array([s for s, _ in steps[1:]]), baseline)
        chart = jsd_chart(raw, sm, peaks, steps, baseline=baseline, token_text=tokens, group=g)
        caption = (
            f"<p class='caption'>layer group <b>{escape(g)}</b>: {len(raw)} tokens, {len(peaks)} peaks, "
            f"{len(steps)} steps (1 per {len(raw) / max(len(steps), 1):.1f} tokens); vs sentence/line baseline "
            f"({len(baseline)} boundaries, grey ticks): P {p:.2f} R {r:.2f}</p>"
        )
        if g == group:
            parts.append(caption + chart)
            main_steps = steps
        else:
            parts.append(f"<details><summary>layer group {escape(g)}</summary>{caption}{chart}</details>")
    # CoT text, alternately shaded by step (a step runs to the next step's first char), with a
    # badge where each labelled op sits in the CoT and its cot_span underlined.
    starts = [int(offsets[s, 0]) for s, _ in main_steps] + [len(trace.cot)]
    starts[0] = 0
    ops = [s for s in (label.steps if label else []) if s.cot_span is not None]
    cuts = sorted({*starts, *(min(max(p, 0), len(trace.cot)) for s in ops for p in s.cot_span)})
    cot_html = []
    for a, b in zip(cuts, cuts[1:] + [None]):
        k = int(np.searchsorted(starts, a, side="right")) - 1  # the step this piece belongs to
        for s in ops:
            if s.cot_span[0] == a:
                cot_html.append(
                    f'<span class="cot-op" style="background:{op_color(s.op)}">#{s.index} {escape(s.op)}</span>'
                )
        if b is None:
            break
        sup = f"<sup>{k}</sup>" if a == starts[k] else ""
        under = " cot-labelled" if any(s.cot_span[0] <= a and b <= s.cot_span[1] for s in ops) else ""
        title = f"step {k}: tokens {main_steps[k][0]}-{main_steps[k][1] - 1}"
        cot_html.append(
            f'<span class="cot-step band-{"ab"[k % 2]}{under}" title="{title}">{sup}{escape(trace.cot[a:b])}</span>'
        )
    legend = (
        "<p class='legend'><span class='sw raw'></span>raw JSD <span class='sw smooth'></span>smoothed "
        f"(Savitzky-Golay {config.window}, {config.polyorder}) <span class='sw peak'></span>peaks "
        f"(prominence {config.prominence}, height {config.height}, distance {config.distance}) "
        "<span class='sw band-a'></span><span class='sw band-b'></span>steps</p>"
    )
    return legend + "".join(parts) + f'<div class="cot">{"".join(cot_html)}</div>', main_steps


def _iaf_section(trace: Trace, label: LabelRecord | None, jsd_steps_: list[tuple[int, int]], config: IAFConfig) -> str:
    """One row of problem text per step, each problem token shaded by the step's IAF."""
    group = _pick_group(trace.attn, config.layer_group, prefer=("last_third", "all"))
    if group is None or len(trace.problem_offsets) == 0:
        return "<p class='missing'>No attention in this trace.</p>"
    attn = np.asarray(trace.attn[group])
    poff = np.asarray(trace.problem_offsets).reshape(-1, 2)
    coff = np.asarray(trace.cot_offsets).reshape(-1, 2)
    sinks = sink_mask(trace.text, poff) if config.drop_sinks else None
    kw = dict(method=config.method, top_k=config.top_k, threshold=config.threshold, mass=config.mass)

    def rows(token_steps: list[tuple[int, int]], names: list[str], stored: list[list[tuple[int, int]]]) -> str:
        m = iaf_matrix(attn, token_steps, sinks)
        return "".join(
            f'<div class="iaf-row"><div class="iaf-name">{name}</div><div class="iaf-text">'
            f"{_heat_text(trace.text, poff, m[k], select(m[k], **kw), stored[k])}</div></div>"
            for k, name in enumerate(names)
        )

    how = {
        "top_k": f"top {config.top_k}",
        "threshold": f"IAF &ge; {config.threshold}",
        "cumulative": f"{config.mass} of the mass",
    }
    out = [
        f"<p class='caption'>attention layer group <b>{escape(group)}</b>; "
        f"{'whitespace/punctuation sinks dropped; ' if config.drop_sinks else ''}"
        "opacity = IAF relative to the step's top token; "
        f"<span class='iaf-sel'>boxed</span> = selected now ({how.get(config.method, escape(config.method))}); "
        "<span class='iaf-label'>underlined</span> = the labeller's stored IAF tokens</p>"
    ]
    if label is not None and any(s.cot_span for s in label.steps):
        steps = [s for s in label.steps if s.cot_span]
        token_steps, names = [], []
        for s in steps:
            span = _char_to_token_span(coff, s.cot_span)
            note = ""
            if span[1] <= span[0] and jsd_steps_:  # an empty cot_span marks a position: use its JSD step
                jsd_starts = [int(coff[a, 0]) for a, _ in jsd_steps_]
                k = max(0, int(np.searchsorted(jsd_starts, s.cot_span[0], side="right")) - 1)
                span, note = jsd_steps_[k], f" <i>(empty cot_span at char {s.cot_span[0]}: JSD step {k})</i>"
            token_steps.append(span)
            text_of = trace.cot[int(coff[span[0], 0]) : int(coff[span[1] - 1, 1])] if span[1] > span[0] else ""
            names.append(
                f'<span class="op" style="background:{op_color(s.op)}">#{s.index} {escape(s.op)}</span> '
                f"<code>{escape(text_of[:60])}</code>{note}"
            )
        out.append("<h3>label steps</h3>" + rows(token_steps, names, [s.iaf_spans for s in steps]))
    if jsd_steps_:
        names = [
            f"JSD step {k} <code>{escape(trace.cot[int(coff[s, 0]) : int(coff[e - 1, 1])][:60])}</code>"
            for k, (s, e) in enumerate(jsd_steps_)
        ]
        body = rows(jsd_steps_, names, [[] for _ in jsd_steps_])
        if label is not None:
            out.append(f"<details><summary>JSD steps ({len(jsd_steps_)})</summary>{body}</details>")
        else:
            out.append(f"<h3>JSD steps</h3>{body}")
    return "".join(out)


def _yes_no(v: bool | None) -> str:
    return "<span class='ok'>✓</span>" if v else ("<span class='bad'>✗</span>" if v is not None else "—")


def _prediction_section(pred: Prediction, label: LabelRecord | None) -> str:
    text = pred.text or (label.text if label else "")
    marks = [
        Mark(s, e, f"{op}", op_color(op), "pred-region", {"data-op": op}) for (s, e), op in zip(pred.spans, pred.ops)
    ]
    summary = (
        f"<p>predicted answer <b>{escape(str(pred.answer))}</b> (gold {escape(pred.gold_answer)}) {_yes_no(pred.correct)}"
        f"{' — ' + escape(pred.reason) if pred.reason else ''}; {len(pred.spans)} spans; latency {pred.latency_s * 1000:.0f} ms</p>"
    )
    if label is not None:
        regions = {tuple(s.region): s.op for s in label.steps if s.region}
        exact = [tuple(sp) in regions for sp in pred.spans]
        ops_ok = sum(regions.get(tuple(sp)) == op for sp, op in zip(pred.spans, pred.ops))
        summary += (
            f"<p>vs labels: {sum(exact)}/{len(pred.spans)} predicted spans equal a label region "
            f"({len(regions)} regions); {ops_ok} of those with the same op</p>"
        )
    return (
        summary
        + "<h3>predicted spans</h3>"
        + spans_view(text, marks)
        + ("<h3>labelled regions</h3>" + spans_view(text, _label_marks(label.steps, with_args=False)) if label else "")
        + "<h3>predicted DAG</h3>"
        + dag_svg(pred.steps, css_class="pred-dag")
        + (_steps_table(pred.steps, text, None) if pred.steps else "")
    )


# ---------------------------------------------------------------------------------------
# Pages

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1180px;padding:12px 18px;color:#222}
h1{font-size:20px;margin:6px 0}h2{font-size:16px;border-bottom:1px solid #ddd;margin:22px 0 8px;padding-bottom:3px}
h3{font-size:13px;margin:10px 0 4px;color:#555}code{font-size:12px}.small{font-size:12px}
.caption,.legend{color:#555;font-size:12px;margin:4px 0}.missing{color:#999;font-style:italic}
.ok{color:#1b8a3a;font-weight:bold}.bad{color:#c62828;font-weight:bold}
.nav{float:right;font-size:13px}.nav a{margin-left:10px}
.meta td{padding:1px 10px 1px 0}
.jsd-chart .axis{stroke:#888}.jsd-chart .tick{font-size:10px;fill:#666}
.jsd-raw{fill:none;stroke:#9e9e9e;stroke-width:1}.jsd-smooth{fill:none;stroke:#1565c0;stroke-width:1.8}
.jsd-peak{fill:#d32f2f}.baseline-tick{stroke:#777;stroke-width:1.5}
.band-a{fill:#fff3cd;background:#fff3cd}.band-b{fill:#dbeafe;background:#dbeafe}
.sw{display:inline-block;width:14px;height:10px;margin:0 3px 0 10px;vertical-align:middle}
.sw.raw{background:#9e9e9e;height:2px}.sw.smooth{background:#1565c0;height:3px}.sw.peak{background:#d32f2f;border-radius:50%;width:8px;height:8px}
.cot{white-space:pre-wrap;font:13px/1.6 ui-monospace,Menlo,Consolas,monospace;border:1px solid #eee;padding:8px;margin-top:6px}
.cot sup{color:#888;font-size:9px;margin-right:1px}.cot-labelled{text-decoration:underline 2px #555}
.cot-op{color:#fff;font:bold 9px system-ui,sans-serif;padding:0 3px;border-radius:3px;margin:0 2px;vertical-align:super}
.iaf-row{display:flex;border-bottom:1px solid #f0f0f0;padding:3px 0}.iaf-name{flex:0 0 260px;font-size:12px;padding-right:8px;overflow:hidden}
.iaf-text{flex:1;white-space:pre-wrap;font-size:13px}.iaf-sel{outline:1.5px solid #6d4c41;border-radius:2px}.iaf-label{border-bottom:2px solid #1565c0}
.sv{line-height:2;white-space:pre-wrap;font-size:14px;padding:4px 0 8px}
.sv-tok{display:inline-block;position:relative;height:calc(1.45em + var(--tracks) * 18px + 4px);vertical-align:top}
.sv-text{white-space:pre}
.sv-bar{position:absolute;left:0;right:0;height:3px}
.sv-label{position:absolute;left:0;z-index:2;font-size:10px;font-weight:bold;line-height:1;padding:1px 4px;border-radius:3px;color:#fff;white-space:nowrap}
.op{display:inline-block;color:#fff;font-weight:bold;font-size:11px;padding:0 5px;border-radius:3px}
.arg{display:inline-block;background:#eceff1;border-radius:3px;padding:0 4px;margin:1px}.arg-implicit{background:#fff8e1}.arg-result{background:#e3f2fd}
table.steps,table.problems{border-collapse:collapse;width:100%}
.steps td,.steps th,.problems td,.problems th{border-bottom:1px solid #eee;padding:3px 6px;text-align:left;vertical-align:top}
.problems th{cursor:pointer;background:#fafafa;position:sticky;top:0}
.dag,.pred-dag{max-width:100%;height:auto}.dag-edge{stroke:#555;stroke-width:1.3}
.dag-op{font-size:12px;font-weight:bold;fill:#fff}.dag-value{font-size:11px;fill:#fff}
.dag-output rect{stroke:#222;stroke-width:3}
.dag-leaf rect{fill:#eceff1;stroke:#90a4ae}.dag-leaf .dag-value{fill:#222}.dag-sub{font-size:9px;fill:#666}
.dag-leaf-implicit rect{fill:#fff8e1;stroke:#ffb300;stroke-dasharray:3 2}.dag-bad rect{fill:#ffebee;stroke:#c62828}
.cols{display:flex;gap:24px;flex-wrap:wrap}.bar-chart text{font-size:11px}
.filters{margin:8px 0}.filters select,.filters input{margin-right:12px}
"""


def _page(title: str, body: str, script: str = "") -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}{f'<script>{script}</script>' if script else ''}</body></html>"
    )


def render_problem(
    pid: str,
    trace: Trace | None,
    label: LabelRecord | None,
    pred: Prediction | None,
    jsd_config: JSDConfig,
    iaf_config: IAFConfig | None = None,
) -> str:
    """The HTML of one problem's page from whichever artifacts exist for it."""
    text = trace.text if trace else (label.text if label else (pred.text if pred else ""))
    gold = trace.gold_answer if trace else (label.gold_answer if label else (pred.gold_answer if pred else ""))
    meta = [("gold answer", escape(str(gold)))]
    if trace is not None:
        meta += [
            ("teacher answer", f"{escape(str(trace.teacher_answer))} {_yes_no(trace.correct)}"),
            (
                "tokens",
                f"{len(trace.problem_offsets)} problem, {len(trace.cot_offsets)} CoT ({trace.num_tokens} in the pass)",
            ),
        ]
        if trace.error:
            meta.append(("trace error", f"<span class='bad'>{escape(trace.error)}</span>"))
    if label is not None:
        status = (
            "<span class='ok'>validated</span>"
            if label.validated
            else f"<span class='bad'>rejected: {escape(str(label.reason))}</span>"
        )
        meta += [
            (
                "labels",
                f"{status}; DAG answer {escape(str(label.answer))}; CoT ops execute to gold {_yes_no(label.cot_executes)}",
            )
        ]
    for k in ("level", "type"):
        v = getattr(trace or label, k, None) if (trace or label) else None
        if v:
            meta.append((k, escape(str(v))))
    body = [
        f'<div class="nav"><a href="../index.html">index</a>{NAV_PLACEHOLDER}</div><h1>{escape(pid)}</h1>',
        "<table class='meta'>" + "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in meta) + "</table>",
    ]
    jsd_steps_: list[tuple[int, int]] = []
    body.append("<h2>1. CoT and JSD step boundaries</h2>")
    if trace is not None and trace.cot:
        section, jsd_steps_ = _jsd_section(trace, label, jsd_config)
        body.append(section)
    elif trace is not None:
        body.append(f"<p class='missing'>The trace has no CoT{': ' + escape(trace.error) if trace.error else ''}.</p>")
    else:
        body.append("<p class='missing'>No trace for this problem.</p>")
    body.append("<h2>2. Problem text: IAF per step, regions and arguments</h2>")
    if label is not None and label.steps:
        body.append(
            "<h3>regions (clause-expanded) and arguments</h3>"
            + spans_view(text, _label_marks(label.steps))
            + _steps_table(label.steps, text, trace.cot if trace else None)
        )
    elif label is not None:
        body.append("<p class='missing'>The labels have no steps.</p><p>" + escape(text) + "</p>")
    else:
        body.append("<p class='missing'>No labels for this problem.</p><p>" + escape(text) + "</p>")
    if trace is not None and trace.attn:
        body.append("<h3>IAF heat</h3>" + _iaf_section(trace, label, jsd_steps_, iaf_config or IAFConfig()))
    body.append("<h2>3. DAG</h2>")
    if label is not None:
        verdict = (
            "<span class='ok'>validated</span>"
            if label.validated
            else f"<span class='bad'>rejected: {escape(str(label.reason))}</span>"
        )
        body.append(
            f"<p>DAG answer <b>{escape(str(label.answer))}</b>, gold <b>{escape(str(gold))}</b>: {verdict}</p>"
            + dag_svg(label.steps)
        )
    else:
        body.append("<p class='missing'>No labels, so no DAG.</p>")
    if pred is not None:
        body.append("<h2>4. Prediction (no CoT)</h2>" + _prediction_section(pred, label))
    return _page(pid, "".join(body))


INDEX_JS = """
const rows=[...document.querySelectorAll('#problems tbody tr')];
const status=document.getElementById('status'),pred=document.getElementById('pred'),q=document.getElementById('q');
// Exposed so a test (or a console) can call it; the query string (?status=rejected&pred=wrong&q=...) sets it on load.
function applyFilter(){
  let n=0;const s=status.value,p=pred.value,t=q.value.toLowerCase();
  for(const r of rows){
    const d=r.dataset;
    const ok=(s==='all'||(s==='validated'&&d.validated==='1')||(s==='rejected'&&d.validated==='0')||(s==='reason:'+d.reason))
      &&(p==='all'||(p==='correct'&&d.correct==='1')||(p==='wrong'&&d.correct==='0')||(p==='none'&&d.correct===''))
      &&(!t||r.textContent.toLowerCase().includes(t));
    r.hidden=!ok;if(ok)n++;
  }
  document.getElementById('shown').textContent=n+' of '+rows.length;
}
const params=new URLSearchParams(location.search);
for(const [el,key] of [[status,'status'],[pred,'pred'],[q,'q']]){
  if(params.has(key))el.value=params.get(key);
  el.addEventListener('input',applyFilter);
}
document.querySelectorAll('#problems th').forEach((th,i)=>th.addEventListener('click',()=>{
  const dir=th.dataset.dir==='1'?-1:1;th.dataset.dir=dir===1?'1':'-1';
  const key=r=>r.children[i].dataset.sort??r.children[i].textContent;
  const num=rows.every(r=>key(r)===''||!isNaN(parseFloat(key(r))));
  rows.sort((a,b)=>dir*(num?(parseFloat(key(a))||0)-(parseFloat(key(b))||0):key(a).localeCompare(key(b))));
  const tb=document.querySelector('#problems tbody');rows.forEach(r=>tb.appendChild(r));
}));
applyFilter();
"""


@dataclass
class _Row:
    """One problem's line in the index."""

    pid: str
    href: str
    validated: bool | None = None
    reason: str | None = None
    steps: int | None = None
    ops: list[str] = field(default_factory=list)
    answer: str | None = None
    gold: str = ""
    teacher_correct: bool | None = None
    pred_answer: str | None = None
    correct: bool | None = None


def _row(pid: str, href: str, trace: Trace | None, label: LabelRecord | None, pred: Prediction | None) -> _Row:
    r = _Row(pid, href)
    if trace is not None:
        r.gold, r.teacher_correct = trace.gold_answer, trace.correct
    if label is not None:
        r.validated, r.reason, r.steps = label.validated, label.reason, len(label.steps)
        r.ops, r.answer, r.gold = [s.op for s in label.steps], label.answer, label.gold_answer
    if pred is not None:
        r.pred_answer, r.correct, r.gold = pred.answer, pred.correct, r.gold or pred.gold_answer
    return r


def _figures(report: dict, rows: list[_Row]) -> str:
    """Run figures: report.json as written by the label stage (numbers in a table, dicts of
    numbers as bar charts, anything else as JSON); without one, figures from the records."""
    if not report:
        labelled = [r for r in rows if r.validated is not None]
        report = {}
        if labelled:
            report["problems labelled"] = len(labelled)
            report["yield"] = round(sum(bool(r.validated) for r in labelled) / len(labelled), 4)
            report["rejection reasons"] = dict(Counter(str(r.reason) for r in labelled if not r.validated))
            report["ops (validated)"] = dict(Counter(op for r in labelled if r.validated for op in r.ops))
        predicted = [r for r in rows if r.correct is not None]
        if predicted:
            report["predictions"] = len(predicted)
            report["accuracy"] = round(sum(bool(r.correct) for r in predicted) / len(predicted), 4)
    scalars = {k: v for k, v in report.items() if isinstance(v, (int, float, str, bool)) or v is None}
    charts, other = [], {}
    for k, v in report.items():
        if k in scalars:
            continue
        if (
            isinstance(v, dict)
            and v
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v.values())
        ):
            charts.append(f"<div><h3>{escape(k)}</h3>{bar_chart(v, title=k, color_ops='op' in k.lower())}</div>")
        else:
            other[k] = v
    out = ["<table class='meta'>"]
    for k, v in scalars.items():
        shown = f"{v:.4g}" if isinstance(v, float) else escape(str(v))
        out.append(f"<tr><td>{escape(k)}</td><td><b>{shown}</b></td></tr>")
    out.append("</table>")
    out.append(f"<div class='cols'>{''.join(charts)}</div>")
    if other:
        out.append(
            f"<details><summary>more</summary><pre>{escape(json.dumps(other, indent=1, default=str))}</pre></details>"
        )
    return "".join(out)


def render_index(rows: list[_Row], report: dict, sources: dict[str, str]) -> str:
    """The index page: run figures, then one filterable, sortable table of problems."""
    has_labels = any(r.validated is not None for r in rows)
    has_preds = any(r.correct is not None for r in rows)
    has_teacher = any(r.teacher_correct is not None for r in rows)
    reasons = sorted({str(r.reason) for r in rows if r.validated is False})
    head = ["id"] + (["labels", "#steps", "ops", "answer"] if has_labels else []) + ["gold"]
    head += ["teacher"] if has_teacher else []
    head += ["predicted", "correct"] if has_preds else []
    body = []
    for r in rows:
        cells = [f'<td><a href="{escape(r.href)}">{escape(r.pid)}</a></td>']
        if has_labels:
            status = (
                "—"
                if r.validated is None
                else (
                    "<span class='ok'>validated</span>"
                    if r.validated
                    else f"<span class='bad'>{escape(str(r.reason))}</span>"
                )
            )
            cells += [
                f"<td>{status}</td>",
                f"<td>{'' if r.steps is None else r.steps}</td>",
                f"<td class='small'>{escape(' '.join(r.ops))}</td>",
                f"<td>{escape(str(r.answer)) if r.answer is not None else ''}</td>",
            ]
        cells.append(f"<td>{escape(str(r.gold))}</td>")
        if has_teacher:
            cells.append(f"<td>{_yes_no(r.teacher_correct)}</td>")
        if has_preds:
            cells += [
                f"<td>{escape(str(r.pred_answer)) if r.pred_answer is not None else ''}</td>",
                f"<td>{_yes_no(r.correct)}</td>",
            ]
        data = (
            f' data-validated="{"" if r.validated is None else int(r.validated)}" data-reason="{escape(str(r.reason or ""))}"'
            f' data-correct="{"" if r.correct is None else int(r.correct)}"'
        )
        body.append(f"<tr{data}>{''.join(cells)}</tr>")
    status_opts = ["all", "validated", "rejected"] + [f"reason:{x}" for x in reasons]
    filters = (
        '<div class="filters">labels <select id="status">'
        + "".join(f'<option value="{escape(o)}">{escape(o)}</option>' for o in status_opts)
        + f'</select> <span{"" if has_preds else " hidden"}>prediction <select id="pred">'
        + "".join(f'<option value="{o}">{o}</option>' for o in ("all", "correct", "wrong", "none"))
        + '</select></span> search <input id="q" type="search" placeholder="id, op, answer"> showing <b id="shown"></b></div>'
    )
    src = "".join(f"<tr><td>{escape(k)}</td><td><code>{escape(v)}</code></td></tr>" for k, v in sources.items())
    html_body = (
        f"<h1>Mycelium trace explorer</h1><table class='meta'>{src}</table>"
        f"<h2>Run figures</h2>{_figures(report, rows)}"
        f"<h2>Problems ({len(rows)})</h2>{filters}"
        f"<table class='problems' id='problems'><thead><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    return _page("Mycelium trace explorer", html_body, INDEX_JS)


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
    rows: dict[str, _Row] = {}

    def write(pid: str, trace: Trace | None) -> None:
        href = f"problems/{safe_id(pid)}.html"
        html_text = render_problem(pid, trace, labels.get(pid), preds.get(pid), jsd_config, iaf_config)
        (out / href).write_text(html_text, encoding="utf-8")
        rows[pid] = _row(pid, href, trace, labels.get(pid), preds.get(pid))

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
