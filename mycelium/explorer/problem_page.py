"""One problem's page: the JSD curve and steps over the CoT, the IAF heat and clause regions
over the problem text, the DAG, and the solver's prediction next to the labels.

Signals are recomputed from the trace's cached curves with the given ``JSDConfig`` and
``IAFConfig`` (the same functions the label stage uses); nothing here loads a model. Any
artifact may be missing: the page renders what exists.
"""

from __future__ import annotations

from html import escape

import numpy as np

from mycelium.explorer.render import Mark, heat_text, label_marks, page, spans_view, steps_table, yes_no
from mycelium.explorer.svg import dag_svg, jsd_chart, op_color
from mycelium.records.labels import LabelRecord
from mycelium.records.predictions import Prediction
from mycelium.records.traces import Trace
from mycelium.signals.iaf import IAFConfig, iaf_matrix, select, sink_mask
from mycelium.signals.jsd import JSDConfig, boundary_scores, jsd_peaks, jsd_steps, sentence_boundaries, smooth

NAV_PLACEHOLDER = "<!--mycelium-nav-->"  # filled with prev/next links once every page exists

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
            f"{heat_text(trace.text, poff, m[k], select(m[k], **kw), stored[k])}</div></div>"
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


def _prediction_section(pred: Prediction, label: LabelRecord | None) -> str:
    text = pred.text or (label.text if label else "")
    marks = [
        Mark(s, e, f"{op}", op_color(op), "pred-region", {"data-op": op}) for (s, e), op in zip(pred.spans, pred.ops)
    ]
    summary = (
        f"<p>predicted answer <b>{escape(str(pred.answer))}</b> (gold {escape(pred.gold_answer)}) {yes_no(pred.correct)}"
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
        + ("<h3>labelled regions</h3>" + spans_view(text, label_marks(label.steps, with_args=False)) if label else "")
        + "<h3>predicted DAG</h3>"
        + dag_svg(pred.steps, css_class="pred-dag")
        + (steps_table(pred.steps, text, None) if pred.steps else "")
    )


# ---------------------------------------------------------------------------------------
# The page


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
            ("teacher answer", f"{escape(str(trace.teacher_answer))} {yes_no(trace.correct)}"),
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
                f"{status}; DAG answer {escape(str(label.answer))}; CoT ops execute to gold {yes_no(label.cot_executes)}",
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
            + spans_view(text, label_marks(label.steps))
            + steps_table(label.steps, text, trace.cot if trace else None)
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
    return page(pid, "".join(body))
