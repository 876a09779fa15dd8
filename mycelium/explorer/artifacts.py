"""Reading the explorer's artifacts: labels.jsonl (+ report.json) and predictions.jsonl.

Lenient on purpose, unlike ``LabelRecord.from_dict``/``Prediction.from_dict``: keys the
records do not know are ignored, missing ``steps``/``args``/``iaf_spans``/``spans`` read as
empty, and argument values are read as strings, so a page renders from an artifact written
by an older or newer schema.
"""

from __future__ import annotations

import json
from pathlib import Path

from mycelium.config import find_labels_dir
from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord
from mycelium.records.predictions import Prediction


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
