"""Inline SVG figures for the trace explorer: the JSD line chart, bar charts and the DAG.

Each function returns one ``<svg>`` element as a string, sized in user units with a
``viewBox`` so it scales with the page. No JS, no fonts, no network: the page stays a
single self-contained file. All text from data goes through ``html.escape``.
"""

from __future__ import annotations

from html import escape

import numpy as np

from mycelium.dag.steps import Step

# One colour per op so a region, its DAG node and the op histogram bar read alike.
OP_COLORS = {
    "ADD": "#4caf50",
    "SUB": "#e57373",
    "MUL": "#42a5f5",
    "DIV": "#ab47bc",
    "POW": "#ffa726",
    "SQRT": "#8d6e63",
    "ROOT": "#8d6e63",
    "MOD": "#26a69a",
    "NEG": "#78909c",
}
_FALLBACK = ["#ffca28", "#5c6bc0", "#ec407a", "#9ccc65", "#29b6f6", "#ff7043"]


def op_color(op: str) -> str:
    """A stable colour for an op name (unknown ops hash into a fallback palette)."""
    if op in OP_COLORS:
        return OP_COLORS[op]
    return _FALLBACK[sum(map(ord, op)) % len(_FALLBACK)]


def _path(xs: np.ndarray, ys: np.ndarray) -> str:
    """An SVG path ``d`` through the points, coordinates rounded to 0.1 (keeps pages small)."""
    pts = [f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys)]
    return "M" + " L".join(pts) if pts else ""


def jsd_chart(
    raw: np.ndarray,
    smoothed: np.ndarray,
    peaks: np.ndarray,
    steps: list[tuple[int, int]],
    *,
    baseline: np.ndarray | None = None,
    token_text: list[str] | None = None,
    group: str = "all",
    width: int = 1100,
    height: int = 220,
) -> str:
    """Line chart of one JSD curve over CoT token index.

    raw, smoothed: (C,) curves; peaks: token indices of detected peaks (drawn on the smoothed
    curve); steps: half-open token spans (alternately shaded bands); baseline: sentence/line
    boundary tokens (grey ticks under the axis) so the JSD steps can be judged against them.
    """
    C = len(raw)
    left, right, top, bottom = 44, 10, 14, 34
    pw, ph = width - left - right, height - top - bottom
    ymax = float(max(np.max(raw) if C else 0.0, np.max(smoothed) if C else 0.0, 1e-6)) * 1.05

    def x(t: np.ndarray | float) -> np.ndarray | float:
        return left + pw * (np.asarray(t, dtype=np.float64) / max(C - 1, 1))

    def y(v: np.ndarray | float) -> np.ndarray | float:
        return top + ph * (1.0 - np.clip(np.asarray(v, dtype=np.float64), 0.0, None) / ymax)

    gid = "".join(c if c.isalnum() or c in "-_" else "_" for c in group)
    out = [
        f'<svg class="jsd-chart" data-group="{escape(group)}" viewBox="0 0 {width} {height}" width="100%" role="img">'
    ]
    out.append(
        f"<title>JSD curve, layer group {escape(group)}: {C} CoT tokens, {len(peaks)} peaks, {len(steps)} steps</title>"
    )
    # Step bands first so the curves draw over them. Half a token either side of a band's
    # edge tokens, so adjacent bands meet.
    dx = pw / max(C - 1, 1)
    for k, (s, e) in enumerate(steps):
        x0, x1 = max(left, x(s) - dx / 2), min(left + pw, x(e - 1) + dx / 2)
        out.append(
            f'<rect class="jsd-step band-{"ab"[k % 2]}" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 0.5):.1f}" height="{ph}">'
            f"<title>step {k}: tokens {s}-{e - 1}</title></rect>"
        )
    # Axes and ticks.
    out.append(f'<line class="axis" x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}"/>')
    out.append(f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}"/>')
    for frac in (0.0, 0.5, 1.0):
        v = ymax / 1.05 * frac
        out.append(f'<text class="tick" x="{left - 4}" y="{y(v) + 3:.1f}" text-anchor="end">{v:.2f}</text>')
    tick_every = max(1, int(np.ceil(C / 20 / 10.0)) * 10) if C > 20 else 5
    for t in range(0, C, tick_every):
        out.append(f'<text class="tick" x="{x(t):.1f}" y="{top + ph + 12}" text-anchor="middle">{t}</text>')
    out.append(f'<text class="tick" x="{left + pw}" y="{height - 2}" text-anchor="end">CoT token</text>')
    if baseline is not None:
        for t in baseline:
            out.append(
                f'<line class="baseline-tick" x1="{x(t):.1f}" y1="{top + ph + 15}" x2="{x(t):.1f}" y2="{top + ph + 22}"/>'
            )
    if C:
        t = np.arange(C)
        out.append(f'<path id="jsd-raw-{gid}" class="jsd-raw" d="{_path(x(t), y(raw))}"/>')
        out.append(f'<path id="jsd-smooth-{gid}" class="jsd-smooth" d="{_path(x(t), y(smoothed))}"/>')
    for p in peaks:
        p = int(p)
        tok = repr(token_text[p]) if token_text is not None and p < len(token_text) else ""
        out.append(
            f'<circle class="jsd-peak" cx="{x(p):.1f}" cy="{y(smoothed[p]):.1f}" r="3.5">'
            f"<title>peak at token {p} {escape(tok)}: smoothed {smoothed[p]:.3f}, raw {raw[p]:.3f}</title></circle>"
        )
    out.append("</svg>")
    return "".join(out)


def bar_chart(counts: dict[str, float], *, title: str = "", color_ops: bool = False, width: int = 460) -> str:
    """Horizontal bars, largest first. ``color_ops`` colours bars by op name."""
    items = sorted(counts.items(), key=lambda kv: (-float(kv[1]), kv[0]))
    bar_h, gap, label_w, value_w = 16, 4, 170, 60
    height = max(1, len(items)) * (bar_h + gap) + 6
    vmax = max((float(v) for _, v in items), default=1.0) or 1.0
    out = [
        f'<svg class="bar-chart" viewBox="0 0 {width} {height}" width="{width}" role="img"><title>{escape(title)}</title>'
    ]
    for i, (name, v) in enumerate(items):
        yy = 3 + i * (bar_h + gap)
        w = (width - label_w - value_w) * float(v) / vmax
        fill = op_color(str(name)) if color_ops else "#7e9cc7"
        shown = f"{v:g}" if isinstance(v, (int, float)) else escape(str(v))
        out.append(
            f'<text class="bar-label" x="{label_w - 6}" y="{yy + bar_h - 4}" text-anchor="end">{escape(str(name)[:28])}</text>'
            f'<rect class="bar" x="{label_w}" y="{yy}" width="{max(w, 1):.1f}" height="{bar_h}" fill="{fill}"/>'
            f'<text class="bar-value" x="{label_w + w + 4:.1f}" y="{yy + bar_h - 4}">{shown}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def dag_svg(steps: list[Step], *, css_class: str = "dag") -> str:
    """The DAG of ``steps`` laid out left to right.

    Nodes are steps (op, ``#index``, value); edges run from each ``result`` arg's step to
    its consumer; literal args (number / implicit) are leaves drawn just left of their
    consumer. The last step is the output and gets a thicker border. A result arg naming a
    missing or later step is drawn as a red leaf, so broken wiring is visible.
    """
    if not steps:
        return f'<svg class="{css_class}" viewBox="0 0 200 30" width="200"><text x="4" y="18">(no steps)</text></svg>'
    # Column of a step: one past its deepest input; its literal args (leaves) sit in the
    # column just left of it. A result arg is wired only to a step executed before it.
    col: dict[int, int] = {}
    wired: dict[tuple[int, int], int] = {}  # (step index, arg position) -> source step index
    leaves = []  # (consumer index, arg position, arg)
    for s in steps:
        srcs, has_leaf = [], False
        for j, a in enumerate(s.args):
            if a.kind == "result" and a.step in col:
                wired[(s.index, j)] = a.step
                srcs.append(col[a.step])
            else:
                leaves.append((s.index, j, a))
                has_leaf = True
        col[s.index] = max(srcs + ([0] if has_leaf else []), default=-1) + 1
    ncols = max(col.values()) + 1
    rows: list[list[tuple[str, object]]] = [[] for _ in range(ncols)]
    for consumer, j, a in leaves:
        rows[col[consumer] - 1].append(("leaf", (consumer, j, a)))
    for s in steps:
        rows[col[s.index]].append(("step", s))
    col_w, row_h, node_w, node_h, leaf_w, leaf_h, pad = 170, 54, 120, 40, 104, 30, 12
    height = max(len(r) for r in rows) * row_h + 2 * pad
    width = ncols * col_w + pad
    pos: dict[tuple, tuple[float, float]] = {}  # key -> centre
    body: list[str] = []
    for c, r in enumerate(rows):
        offset = (height - len(r) * row_h) / 2  # centre each column vertically
        for i, (kind, item) in enumerate(r):
            cx, cy = pad + c * col_w + node_w / 2, offset + i * row_h + row_h / 2
            if kind == "step":
                s = item
                pos[("step", s.index)] = (cx, cy)
                out_cls = " dag-output" if s is steps[-1] else ""
                value = "?" if s.value is None else s.value
                body.append(
                    f'<g class="dag-node{out_cls}" id="{css_class}-node-{s.index}" data-op="{escape(s.op)}">'
                    f"<title>#{s.index} {escape(s.op)} = {escape(value)}{(' from ' + escape(s.expr)) if s.expr else ''}</title>"
                    f'<rect x="{cx - node_w / 2:.1f}" y="{cy - node_h / 2:.1f}" width="{node_w}" height="{node_h}" rx="7" '
                    f'fill="{op_color(s.op)}"/>'
                    f'<text x="{cx:.1f}" y="{cy - 4:.1f}" text-anchor="middle" class="dag-op">#{s.index} {escape(s.op)}</text>'
                    f'<text x="{cx:.1f}" y="{cy + 12:.1f}" text-anchor="middle" class="dag-value">= {escape(value[:16])}</text></g>'
                )
            else:
                consumer, j, a = item
                pos[("leaf", consumer, j)] = (cx + (node_w - leaf_w) / 2, cy)
                bad = a.kind == "result"
                label = f"#{a.step}?" if bad else a.value
                sub = "bad ref" if bad else (a.text if a.text and a.text != a.value else a.kind)
                body.append(
                    f'<g class="dag-leaf dag-leaf-{escape(a.kind)}{" dag-bad" if bad else ""}">'
                    f"<title>{escape(a.kind)} {escape(a.value)} {escape(repr(a.text))}</title>"
                    f'<rect x="{cx + (node_w - leaf_w) / 2 - leaf_w / 2:.1f}" y="{cy - leaf_h / 2:.1f}" width="{leaf_w}" height="{leaf_h}" rx="14"/>'
                    f'<text x="{cx + (node_w - leaf_w) / 2:.1f}" y="{cy - 1:.1f}" text-anchor="middle" class="dag-value">{escape(label[:14])}</text>'
                    f'<text x="{cx + (node_w - leaf_w) / 2:.1f}" y="{cy + 10:.1f}" text-anchor="middle" class="dag-sub">{escape(sub[:18])}</text></g>'
                )
    edges: list[str] = []
    for s in steps:
        tx, ty = pos[("step", s.index)]
        for j, a in enumerate(s.args):
            if (s.index, j) in wired:
                sx, sy = pos[("step", wired[(s.index, j)])]
                x0 = sx + node_w / 2
            else:
                sx, sy = pos[("leaf", s.index, j)]
                x0 = sx + leaf_w / 2
            edges.append(
                f'<line class="dag-edge" x1="{x0:.1f}" y1="{sy:.1f}" x2="{tx - node_w / 2 - 2:.1f}" y2="{ty:.1f}" '
                f'marker-end="url(#{css_class}-arrow)"/>'
            )
    return (
        f'<svg class="{css_class}" viewBox="0 0 {width} {height:.0f}" width="{width}" role="img">'
        f'<defs><marker id="{css_class}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>' + "".join(edges) + "".join(body) + "</svg>"
    )
