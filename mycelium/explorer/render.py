"""HTML building blocks of the explorer's pages: IAF heat over text, the displaCy-style span
view, the steps table, and the page shell (inline CSS, no network)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

import numpy as np

from mycelium.dag.steps import Arg, Step
from mycelium.explorer.svg import op_color


def heat_text(
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


def label_marks(steps: list[Step], *, css_class: str = "region", with_args: bool = True) -> list[Mark]:
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


def steps_table(steps: list[Step], problem: str, cot: str | None) -> str:
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


def yes_no(v: bool | None) -> str:
    return "<span class='ok'>✓</span>" if v else ("<span class='bad'>✗</span>" if v is not None else "—")


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


def page(title: str, body: str, script: str = "") -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{CSS}</style></head><body>{body}{f'<script>{script}</script>' if script else ''}</body></html>"
    )
