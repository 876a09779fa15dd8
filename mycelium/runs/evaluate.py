"""Evaluation of the no-CoT solver, and the teacher with CoT, in one harness.

``evaluate`` runs the solver on problems and reports:

- end-to-end accuracy (exact: ``answer_equals`` on the executed value), overall and broken
  down by the number of gold steps and, for MATH, by level and type. The step count comes
  from the labels when the problem has a validated record, else from GSM8K's calculator
  annotations (``<<48/2=24>>``) in the gold solution, else from the number of predicted
  spans (predicted steps in text-alone mode; ``steps_source`` in each prediction's ``extra``
  says which);
- against validated labels where they exist: span exact match (precision / recall / F1 of
  predicted spans equal to a gold region) and op accuracy (the classifier on the gold
  regions, and on the predicted spans that match one);
- where the wrong answers on labelled problems come from: the first stage that went wrong
  (``segmentation``: the span set differs from the gold regions; ``op``: right spans, an op
  differs; ``wiring``: right spans and ops, wrong DAG), and ``wiring_ceiling``, the accuracy
  of this solver's wiring on the gold regions and ops;
- in text-alone mode (``Solver.text_alone``: the wiring student reads the problem alone, no
  segmenter or classifier) none of the span/op scores or stages applies (they stay None and
  the report says so); each wrong answer is put instead where its DAG first differs from the
  label's (``mycelium.runs.attribution.CATEGORIES``: no_answer, no_label, not_expressible,
  steps, operands, structure, op, same_dag);
- latency p50 / p95 and the count of every no-answer reason.

It writes ``predictions.jsonl`` (one ``Prediction.to_dict()`` a line) and ``report.json``.
``teacher_baseline`` answers the same problems with the teacher generating its CoT.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from mycelium.data.problems import Problem
from mycelium.dag.ops import MULTI_OP_SEP
from mycelium.records.labels import LabelRecord
from mycelium.labels.stage import read_labels
from mycelium.models.bio import clean_regions
from mycelium.records.predictions import Prediction
from mycelium.runs.attribution import attribute, format_attribution
from mycelium.solver.solver import Solver

Span = tuple[int, int]
_ANNOTATION = re.compile(r"<<[^<>]*>>")


@dataclass
class Bucket:
    """Accuracy of one group of problems."""

    n: int = 0
    correct: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


@dataclass
class EvalReport:
    """What ``evaluate`` measured; ``metrics()`` flattens it for loggers and sweeps."""

    n: int = 0
    correct: int = 0
    answered: int = 0
    by_steps: dict[str, Bucket] = field(default_factory=dict)
    by_level: dict[str, Bucket] = field(default_factory=dict)
    by_type: dict[str, Bucket] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    labelled: int = 0  # problems with a validated labels record
    span_precision: float | None = None
    span_recall: float | None = None
    span_f1: float | None = None
    span_problem_exact: float | None = None  # predicted span set == gold region set
    op_accuracy_gold_spans: float | None = None  # classifier on the gold regions
    op_accuracy_matched: float | None = None  # on predicted spans equal to a gold region
    # labelled problems the solver got wrong, by the first stage that went wrong (segmentation:
    # span set != gold regions; op: right spans, an op != gold; wiring: right spans and ops)
    errors_by_stage: dict[str, int] = field(default_factory=dict)
    wiring_ceiling: float | None = None  # gold regions + gold ops through this solver's wiring
    text_alone: bool = False  # the wiring student alone: no span/op scores, no stages (all None)
    # text alone, wrong answers by the first difference of their DAG from the label's
    # (mycelium.runs.attribution.CATEGORIES); empty without labels
    errors_by_dag: dict[str, int] = field(default_factory=dict)
    latency_p50_s: float = 0.0
    latency_p95_s: float = 0.0
    seconds: float = 0.0
    predictions: list[Prediction] = field(default_factory=list, repr=False)  # not in report.json

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    def metrics(self) -> dict[str, float]:
        """Flat ``eval/...`` scalars (None metrics left out)."""
        m: dict[str, float] = {
            "eval/accuracy": self.accuracy,
            "eval/answered_rate": self.answered / self.n if self.n else 0.0,
            "eval/problems": self.n,
            "eval/correct": self.correct,
            "eval/labelled": self.labelled,
            "eval/text_alone": int(self.text_alone),
            "eval/latency_p50_s": self.latency_p50_s,
            "eval/latency_p95_s": self.latency_p95_s,
            "eval/problems_per_s": self.n / self.seconds if self.seconds else 0.0,
        }
        for name in ("span_precision", "span_recall", "span_f1", "span_problem_exact",
                     "op_accuracy_gold_spans", "op_accuracy_matched"):
            if getattr(self, name) is not None:
                m[f"eval/{name}"] = getattr(self, name)
        for group, buckets in (("steps", self.by_steps), ("level", self.by_level), ("type", self.by_type)):
            for key, b in buckets.items():
                m[f"eval/accuracy_{group}={key}"] = b.accuracy
        for reason, count in self.reasons.items():
            m[f"eval/reason={reason}"] = count
        for stage, count in self.errors_by_stage.items():
            m[f"eval/errors_{stage}"] = count
        for category, count in self.errors_by_dag.items():
            m[f"eval/dag_errors_{category}"] = count
        if self.wiring_ceiling is not None:
            m["eval/wiring_ceiling"] = self.wiring_ceiling
        return m

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("predictions")
        d["accuracy"] = self.accuracy
        for group in ("by_steps", "by_level", "by_type"):
            d[group] = {k: {**asdict(b), "accuracy": b.accuracy} for k, b in getattr(self, group).items()}
        return d

    def format(self) -> str:
        lines = [f"accuracy {self.accuracy:.3f} ({self.correct}/{self.n}), answered {self.answered}",
                 f"latency p50 {self.latency_p50_s * 1000:.1f} ms  p95 {self.latency_p95_s * 1000:.1f} ms"]
        lines.append("by gold steps: " + "  ".join(f"{k}: {b.accuracy:.2f} (n={b.n})" for k, b in self.by_steps.items()))
        if self.span_f1 is not None:
            lines.append(f"spans vs labels ({self.labelled} problems): P {self.span_precision:.3f} "
                         f"R {self.span_recall:.3f} F1 {self.span_f1:.3f}; op acc on gold spans "
                         f"{self.op_accuracy_gold_spans:.3f}")
            lines.append("wrong answers on labelled problems, by first failing stage: "
                         + ", ".join(f"{k} {v}" for k, v in self.errors_by_stage.items())
                         + f"; gold spans + gold ops wire to gold {self.wiring_ceiling:.3f}")
        if self.text_alone:
            lines.append("spans, ops, first failing stage: not applicable (the wiring student reads the text alone)")
            lines.append(f"wrong answers by first difference from the label's DAG ({self.labelled} labelled): "
                         + format_attribution(self.errors_by_dag) if self.errors_by_dag else
                         "no test labels: wrong answers not attributed")
        if self.reasons:
            lines.append("no answer: " + ", ".join(f"{k} {v}" for k, v in self.reasons.items()))
        return "\n".join(lines)


def load_labels(labels_dir: str | Path) -> dict[str, LabelRecord]:
    """Validated records of a labels directory (or file), by problem id."""
    return {r.id: r for r in read_labels(labels_dir) if r.validated}


def _gold_regions(record: LabelRecord) -> tuple[list[Span], dict[Span, str]]:
    """The segmenter's targets and the classifier's labels, as the DataModules build them:
    distinct regions (overlaps dropped), each labelled with its first step's op."""
    regions, _ = clean_regions([s.region for s in record.steps if s.region is not None])
    first_op: dict[Span, str] = {}
    for s in record.steps:
        if s.region is not None:
            first_op.setdefault(tuple(s.region), s.op)
    return regions, {r: first_op[r] for r in regions}


def _gold_ops_joined(record: LabelRecord, regions: Sequence[Span]) -> list[str]:
    """Each region's ops in step order, joined as the classifier's ``multi_op=join`` labels are."""
    ops: dict[Span, list[str]] = {}
    for s in record.steps:
        if s.region is not None:
            ops.setdefault(tuple(s.region), []).append(s.op)
    return [MULTI_OP_SEP.join(ops[r]) for r in regions]


def _first_failing_stage(pred: Prediction, regions: Sequence[Span], gold_ops: Sequence[str]) -> str:
    """Where a wrong answer went wrong first: segmentation, op, or wiring (right spans and ops)."""
    if sorted(pred.spans) != sorted(regions):
        return "segmentation"
    by_span = dict(zip(pred.spans, pred.ops))
    for region, gold in zip(regions, gold_ops):
        predicted = by_span[region]
        if predicted != gold and predicted != gold.split(MULTI_OP_SEP)[0]:  # a "first"-op classifier
            return "op"
    return "wiring"


def _steps_bucket(n: int) -> str:
    return str(n) if n < 6 else "6+"


def _percentile(xs: Sequence[float], q: float) -> float:
    return float(np.percentile(xs, q)) if len(xs) else 0.0


def evaluate(
    problems: Sequence[Problem],
    solver: Solver,
    *,
    labels: Mapping[str, LabelRecord] | None = None,
    out_dir: str | Path | None = None,
    batch_size: int = 16,
    progress: bool = True,
) -> EvalReport:
    """Solve ``problems`` and score them (see the module docstring). With ``out_dir``,
    writes ``predictions.jsonl`` and ``report.json`` there."""
    labels = labels or {}
    start = time.perf_counter()
    preds: list[Prediction] = []
    for i in tqdm(range(0, len(problems), batch_size), desc="solving", unit="batch", disable=not progress):
        chunk = problems[i : i + batch_size]
        preds += solver.solve_batch([p.text for p in chunk], batch_size, ids=[p.id for p in chunk],
                                    gold_answers=[p.answer for p in chunk])
    report = EvalReport(n=len(problems), seconds=time.perf_counter() - start, text_alone=solver.text_alone)

    tp = n_pred = n_gold = exact = matched = matched_ok = ceiling = 0
    stage_errors: Counter = Counter()
    gold_items: list[tuple[str, Span]] = []
    gold_ops: list[str] = []
    reasons: Counter = Counter()
    for problem, pred in zip(problems, preds):
        record = labels.get(problem.id)
        if record is not None:
            n_steps, source = len(record.steps), "labels"
        elif (k := len(_ANNOTATION.findall(problem.solution))) > 0:
            n_steps, source = k, "annotations"
        elif report.text_alone:
            n_steps, source = len(pred.steps), "predicted_steps"
        else:
            n_steps, source = len(pred.spans), "predicted_spans"
        pred.extra.update({"gold_steps": n_steps, "steps_source": source})
        if problem.level is not None:
            pred.extra.update({"level": problem.level, "type": problem.type})
        report.correct += pred.correct
        report.answered += pred.answer is not None
        if pred.reason:
            reasons[pred.reason.split(":")[0] if pred.reason.startswith("internal_error") else pred.reason] += 1
        groups = [(report.by_steps, _steps_bucket(n_steps))]
        if problem.level is not None:
            groups.append((report.by_level, str(problem.level)))
        if problem.type is not None:
            groups.append((report.by_type, str(problem.type)))
        for buckets, key in groups:
            b = buckets.setdefault(key, Bucket())
            b.n += 1
            b.correct += pred.correct
        if record is not None:
            report.labelled += 1
        if record is not None and not report.text_alone:
            regions, ops = _gold_regions(record)
            hits = set(pred.spans) & set(regions)
            tp += len(hits)
            n_pred += len(pred.spans)
            n_gold += len(regions)
            exact += set(pred.spans) == set(regions)
            for span, op in zip(pred.spans, pred.ops):
                if span in ops:
                    matched += 1
                    matched_ok += op == ops[span]
            gold_items += [(problem.text, r) for r in regions]
            gold_ops += [ops[r] for r in regions]
            joined = _gold_ops_joined(record, regions)
            if not pred.correct:
                stage_errors[_first_failing_stage(pred, regions, joined)] += 1
            if regions:
                ceiling += solver.answer_with(problem.text, regions, joined, gold_answer=problem.answer).correct
    report.by_steps = dict(sorted(report.by_steps.items()))
    report.reasons = dict(reasons.most_common())
    latencies = [p.latency_s for p in preds if p.latency_s > 0]
    report.latency_p50_s, report.latency_p95_s = _percentile(latencies, 50), _percentile(latencies, 95)
    if labels and report.text_alone:
        report.errors_by_dag = attribute(preds, labels)
    if report.labelled and not report.text_alone:
        report.span_precision = tp / n_pred if n_pred else 0.0
        report.span_recall = tp / n_gold if n_gold else 0.0
        pr = report.span_precision + report.span_recall
        report.span_f1 = 2 * report.span_precision * report.span_recall / pr if pr else 0.0
        report.span_problem_exact = exact / report.labelled
        report.errors_by_stage = {k: stage_errors[k] for k in ("segmentation", "op", "wiring")}
        report.wiring_ceiling = ceiling / report.labelled
        report.op_accuracy_matched = matched_ok / matched if matched else None
        if gold_items:
            predicted = solver.classifier.predict_ops(gold_items, batch_size=batch_size)
            report.op_accuracy_gold_spans = sum(a == b for a, b in zip(predicted, gold_ops)) / len(gold_ops)

    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "predictions.jsonl", "w", encoding="utf-8") as f:
            for p in preds:
                f.write(json.dumps(p.to_dict()) + "\n")
        (out / "report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    report.predictions = preds
    return report


# ---------------------------------------------------------------------------------------------
# the teacher with CoT, same problems, same harness


@dataclass
class BaselineRow:
    id: str
    answer: str | None
    gold_answer: str
    correct: bool
    latency_s: float
    cot: str


@dataclass
class BaselineReport:
    """The teacher answering with CoT (generate mode)."""

    n: int = 0
    correct: int = 0
    latency_p50_s: float = 0.0
    latency_p95_s: float = 0.0
    seconds: float = 0.0
    rows: list[BaselineRow] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    def metrics(self) -> dict[str, float]:
        return {
            "baseline/accuracy": self.accuracy,
            "baseline/latency_p50_s": self.latency_p50_s,
            "baseline/latency_p95_s": self.latency_p95_s,
            "baseline/problems_per_s": self.n / self.seconds if self.seconds else 0.0,
        }

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("rows")
        return {**d, "accuracy": self.accuracy}


def teacher_baseline(
    problems: Sequence[Problem],
    model,
    tokenizer,
    *,
    batch_size: int = 8,
    max_new_tokens: int = 512,
    system_prompt: str | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> BaselineReport:
    """The teacher writes a CoT for each problem (greedy, batched); its stated answer is
    scored against gold. A problem's latency is its batch's time divided by the batch size.
    With ``out_dir``, writes ``baseline.jsonl`` (one row a problem) and ``baseline.json``."""
    from mycelium.teacher.generate import generate_cots, score
    from mycelium.teacher.prompt import build_prompt

    report = BaselineReport(n=len(problems))
    start = time.perf_counter()
    for i in tqdm(range(0, len(problems), batch_size), desc="teacher with CoT", unit="batch", disable=not progress):
        chunk = problems[i : i + batch_size]
        t0 = time.perf_counter()
        prompts = [build_prompt(tokenizer, p.text, system_prompt=system_prompt).prompt_ids for p in chunk]
        cots = generate_cots(model, tokenizer, prompts, max_new_tokens=max_new_tokens)
        share = (time.perf_counter() - t0) / len(chunk)
        for p, cot in zip(chunk, cots):
            answer, ok = score(cot, p.answer)
            report.rows.append(BaselineRow(p.id, answer, p.answer, bool(ok), share, cot))
            report.correct += bool(ok)
    report.seconds = time.perf_counter() - start
    lat = [r.latency_s for r in report.rows]
    report.latency_p50_s, report.latency_p95_s = _percentile(lat, 50), _percentile(lat, 95)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "baseline.jsonl", "w", encoding="utf-8") as f:
            for r in report.rows:
                f.write(json.dumps(asdict(r)) + "\n")
        (out / "baseline.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return report
