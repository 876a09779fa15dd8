"""The explorer's index page: run figures (report.json, or figures from the records) and one
filterable, sortable table of problems (a few lines of inline vanilla JS)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from html import escape

from mycelium.explorer.render import page, yes_no
from mycelium.explorer.svg import bar_chart
from mycelium.records.labels import LabelRecord
from mycelium.records.predictions import Prediction
from mycelium.records.traces import Trace


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
class Row:
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


def index_row(pid: str, href: str, trace: Trace | None, label: LabelRecord | None, pred: Prediction | None) -> Row:
    r = Row(pid, href)
    if trace is not None:
        r.gold, r.teacher_correct = trace.gold_answer, trace.correct
    if label is not None:
        r.validated, r.reason, r.steps = label.validated, label.reason, len(label.steps)
        r.ops, r.answer, r.gold = [s.op for s in label.steps], label.answer, label.gold_answer
    if pred is not None:
        r.pred_answer, r.correct, r.gold = pred.answer, pred.correct, r.gold or pred.gold_answer
    return r


def _figures(report: dict, rows: list[Row]) -> str:
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


def render_index(rows: list[Row], report: dict, sources: dict[str, str]) -> str:
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
            cells.append(f"<td>{yes_no(r.teacher_correct)}</td>")
        if has_preds:
            cells += [
                f"<td>{escape(str(r.pred_answer)) if r.pred_answer is not None else ''}</td>",
                f"<td>{yes_no(r.correct)}</td>",
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
    return page("Mycelium trace explorer", html_body, INDEX_JS)
