"""Phases 2-5 for one trace: CoT steps -> ops -> regions -> arguments -> validated DAG.

For every operation the CoT performs (a GSM8K calculator annotation, or arithmetic written in
the CoT text), the assembly

1. finds the CoT step holding it (JSD peaks, or the sentence/newline baseline);
2. highlights problem tokens for it, from the label ``source``: ``iaf`` (the step's
   top-IAF tokens), ``operands`` (problem numbers equal to the op's literal operands), or
   ``both`` (the design's "complementary" view);
3. expands the highlights to one clause region (spaCy), splitting a clause several ops share;
4. grounds each literal operand: a number written inside the op's own region, else the result
   of an earlier op, else an implicit constant of the region ("half", "dozen", "%");
5. builds the DAG and executes it exactly. The problem is *validated* when every operand is
   grounded and the DAG's output equals the gold answer.

Rejection reasons (``LabelRecord.reason``): ``trace_error``, ``no_ops``, ``cot_parse_error``,
``no_region``, ``ungrounded_operand``, ``execution_error``, ``wrong_answer``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from mycelium.dag.graph import ExecutionError, answer_equals, dag_from_steps, execute_all, format_value
from mycelium.errors import UserError
from mycelium.labels.args import extract_numbers, implicit_operands, match_operand
from mycelium.labels.clauses import ClauseConfig, ParsedText, regions_for_ops
from mycelium.labels.cot_ops import Found, Literal, NodeRef, ParseError, find_arithmetic, parse_annotations
from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord
from mycelium.signals.iaf import IAFConfig, iaf_matrix, select, sink_mask, token_spans
from mycelium.signals.jsd import JSDConfig, boundary_scores, jsd_steps, sentence_boundaries, sentence_steps
from mycelium.records.traces import Trace

SOURCES = ("iaf", "operands", "both")
COT_STEPS = ("jsd", "sentence")
GROUNDING = ("region", "problem")
IMPLICIT_WEIGHT = 1.5  # highlight weight of an implicit operand's word vs 1.0 for a number


@dataclass
class LabelSettings:
    """Every knob of the labels stage (``conf/signals`` + ``conf/labels``)."""

    jsd: JSDConfig = field(default_factory=JSDConfig)
    iaf: IAFConfig = field(default_factory=IAFConfig)
    clauses: ClauseConfig = field(default_factory=ClauseConfig)
    source: str = "both"  # where an op's highlights come from: iaf | operands | both
    # where a literal operand may be found: "region" (its op's own region, the strict rule)
    # or "problem" (then also any number or implicit constant written elsewhere in the
    # problem: a quantity the solver must wire in from another clause). Sources are tried in
    # the order region number, earlier result, region implicit, elsewhere, so a "problem"
    # label whose operands all sit in their regions is exactly a "region" label.
    grounding: str = "problem"
    cot_steps: str = "jsd"  # how the CoT is cut into steps: jsd | sentence
    spacy_model: str | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"labels.source must be one of {SOURCES}, got {self.source!r}")
        if self.grounding not in GROUNDING:
            raise ValueError(f"labels.grounding must be one of {GROUNDING}, got {self.grounding!r}")
        if self.cot_steps not in COT_STEPS:
            raise ValueError(f"labels.cot_steps must be one of {COT_STEPS}, got {self.cot_steps!r}")

    @classmethod
    def from_config(cls, signals, labels) -> "LabelSettings":
        """Build from the ``signals`` and ``labels`` config blocks (any mapping)."""
        return cls(
            jsd=JSDConfig(**dict(signals["jsd"])),
            iaf=IAFConfig(**dict(signals["iaf"])),
            clauses=ClauseConfig(**dict(labels["clauses"])),
            source=labels.get("source", "both"),
            cot_steps=labels.get("cot_steps", "jsd"),
            grounding=labels.get("grounding", "problem"),
            spacy_model=labels.get("spacy_model"),
        )


@dataclass
class Diagnostics:
    """Per-problem figures the report aggregates (not part of the labels artifact)."""

    cot_steps: int = 0
    jsd_precision: float | None = None  # JSD boundaries vs the sentence baseline
    jsd_recall: float | None = None
    ops: int = 0
    iaf_operand_hits: int = 0  # ops whose IAF tokens include one of their operand numbers
    iaf_ops: int = 0  # ops with a literal operand written in the problem (the denominator)
    raw_tokens: list[int] = field(default_factory=list)  # problem tokens highlighted per op (raw IAF)
    region_tokens: list[int] = field(default_factory=list)  # problem tokens per clause region
    raw_validated: bool = False  # validated when raw IAF tokens stand in for regions
    pruned: int = 0  # steps dropped because the answer does not depend on them


def _cot_steps(trace: Trace, s: LabelSettings) -> tuple[list[tuple[int, int]], Diagnostics]:
    """CoT token spans of the steps, and how JSD boundaries compare to the sentence baseline."""
    d = Diagnostics()
    if s.cot_steps == "sentence":
        steps = sentence_steps(trace.cot, trace.cot_offsets)
    else:
        if s.jsd.layer_group not in trace.jsd:
            raise UserError(f"signals.jsd.layer_group={s.jsd.layer_group!r} was not captured; "
                            f"the traces have {sorted(trace.jsd)} (teacher.capture.layer_groups)")
        steps = jsd_steps(trace.jsd[s.jsd.layer_group], s.jsd, trace.cot, trace.cot_offsets)
        pred = np.array([a for a, _ in steps[1:]])
        gold = sentence_boundaries(trace.cot, trace.cot_offsets)
        d.jsd_precision, d.jsd_recall = boundary_scores(pred, gold[gold > 0])
    d.cot_steps = len(steps)
    return steps, d


def _found_ops(trace: Trace) -> tuple[list[Found], bool]:
    """The CoT's equations in order, and whether any failed to parse."""
    if trace.annotations:
        parsed = parse_annotations(trace.annotations)
        return [f for f in parsed if isinstance(f, Found)], any(isinstance(f, ParseError) for f in parsed)
    found = [f for f in find_arithmetic(trace.cot) if f.expr.stated is not None and f.expr.nodes]
    return found, False


def _step_of(char_pos: int, steps_chars: np.ndarray) -> int:
    """Index of the CoT step whose char span holds ``char_pos`` (the last step starting before it)."""
    return int(max(np.searchsorted(steps_chars[:, 0], char_pos, side="right") - 1, 0))


def _inside(spans: list[tuple[int, int]], region: tuple[int, int] | list[tuple[int, int]]) -> np.ndarray:
    regions = [region] if isinstance(region, tuple) else region
    return np.array([any(a >= r0 and b <= r1 for r0, r1 in regions) for a, b in spans], dtype=bool)


def _same_sentence(parsed: ParsedText, spans: list[tuple[int, int]], anchors: list[tuple[int, int]]) -> list[bool]:
    """For each span: does it lie in a sentence that holds one of the anchors?"""
    sent_of = lambda sp: np.searchsorted(parsed.sent_spans[:, 0], sp[0], side="right") - 1  # noqa: E731
    anchor_sents = {int(sent_of(a)) for a in anchors}
    return [int(sent_of(sp)) in anchor_sents for sp in spans]


def _with_fraction_parts(numbers: list[Arg]) -> list[Arg]:
    """Add the numerator and denominator of each written fraction as numbers of their own:
    a CoT that writes "24*1/4" parses as (24*1)/4, and the "1" and the "4" are there in the
    problem's "1/4" (digits only; "3 1/2" keeps its whole part as the fraction's)."""
    parts = []
    for a in numbers:
        m = re.fullmatch(r"(\d+)/(\d+)", a.text)
        if m and a.span:
            s0 = a.span[0]
            parts.append(Arg("number", m.group(1), text=m.group(1), span=(s0, s0 + len(m.group(1)))))
            parts.append(Arg("number", m.group(2), text=m.group(2), span=(s0 + m.start(2), a.span[1])))
    return sorted(numbers + parts, key=lambda a: a.span)


def _overlaps(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    return any(s0 < e1 and s1 < e0 for s0, e0 in a for s1, e1 in b)


# Implicit words that name their operation: "half" divides by 2 (or multiplies by 1/2),
# "twice"/"triple" multiply. Other implicit constants (units, "%", "dozen") go with any op.
_OP_WORDS = (
    (re.compile(r"hal(f|ves|ved|ve)", re.I), {("DIV", Fraction(2)), ("MUL", Fraction(1, 2))}),
    (re.compile(r"twice|doubl\w*|tripl\w*|thrice|quadrupl\w*", re.I), {("MUL", None)}),
)


def _fits_op(arg: Arg, op: str) -> bool:
    """Can this implicit operand stand for an operand of ``op``? (Numbers always can.)"""
    if arg.kind != "implicit":
        return True
    for word, allowed in _OP_WORDS:
        if word.fullmatch(arg.text):
            return any(op == o and (v is None or Fraction(arg.value) == v) for o, v in allowed)
    return True


def _ground(
    op: str,
    value: Fraction,
    region: tuple[int, int] | list[tuple[int, int]] | None,
    numbers: list[Arg],
    implicits: list[Arg],
    results: list[Fraction],
    anywhere: bool = False,
) -> Arg | None:
    """Ground one literal operand: a number in the region, an earlier result, an implicit
    constant of the region, and (``anywhere``) a number written elsewhere in the problem."""
    if region is not None:
        local = [a for a, ok in zip(numbers, _inside([a.span for a in numbers], region)) if ok]
        hit = match_operand(value, local)
        if hit is not None and hit.kind == "number":
            return hit
    for i in range(len(results) - 1, -1, -1):  # the most recent earlier result
        if results[i] == value:
            return Arg("result", format_value(value), step=i)
    if region is not None:
        local = [a for a, ok in zip(implicits, _inside([a.span for a in implicits], region)) if ok]
        hit = match_operand(value, local)
        if hit is not None and _fits_op(hit, op):
            return hit
    if anywhere:
        hit = match_operand(value, numbers) or match_operand(value, implicits)
        if hit is not None and _fits_op(hit, op):
            return hit
    return None


class FlatOp(NamedTuple):
    """One op node of the CoT, references to earlier nodes made global."""

    op: str
    operands: list  # Literal, or int: index of an earlier FlatOp
    found: Found  # the equation it belongs to
    value: Fraction  # what the CoT computed for it


def _flatten(found: list[Found]) -> list[FlatOp]:
    """All op nodes of all equations, in order."""
    out: list[FlatOp] = []
    for f in found:
        base = len(out)
        for node in f.expr.nodes:
            operands = [base + o.index if isinstance(o, NodeRef) else o for o in node.operands]
            out.append(FlatOp(node.op, operands, f, node.value))
    return out


def _build_steps(
    nodes: list[FlatOp],
    regions: list,
    numbers: list[Arg],
    implicits: list[Arg],
    anywhere: bool = False,
) -> tuple[list[Step], str | None]:
    """Ground every node's operands against its region; returns the steps and, per step,
    whether one of its operands could not be grounded."""
    steps: list[Step] = []
    results: list[Fraction] = []
    ungrounded: list[bool] = []
    for k, (node, region) in enumerate(zip(nodes, regions)):
        args = []
        ungrounded.append(False)
        for o in node.operands:
            if isinstance(o, int):  # a reference to an earlier node (global index)
                args.append(Arg("result", format_value(results[o]), step=o))
                continue
            arg = _ground(node.op, o.value, region, numbers, implicits, results, anywhere)
            if arg is None:
                ungrounded[-1] = True
                arg = Arg("number", format_value(o.value), text=o.text)  # as written, ungrounded
            args.append(arg)
        steps.append(Step(k, node.op, args, None, expr=node.found.expr.text,
                          region=region if isinstance(region, tuple) else None))
        results.append(node.value)  # lets a later literal be recognised as this result
    return steps, ungrounded


def _prune(steps: list[Step], ungrounded: list[bool], gold: str) -> tuple[list[Step], list[bool]]:
    """Keep what executes to the gold answer: the output is the last step whose value is
    gold (else the last step), and only its ancestors stay (side computations and checks a
    CoT makes after the answer go). Result references are renumbered."""
    try:
        values = execute_all(dag_from_steps(steps))
    except ExecutionError:
        return steps, ungrounded
    out = max((i for i, v in enumerate(values) if answer_equals(v, gold)), default=len(steps) - 1)
    keep, todo = set(), [out]
    while todo:
        i = todo.pop()
        if i not in keep:
            keep.add(i)
            todo += [a.step for a in steps[i].args if a.kind == "result"]
    order = sorted(keep)
    new_index = {old: new for new, old in enumerate(order)}
    kept = []
    for old in order:
        step = steps[old]
        args = [replace(a, step=new_index[a.step]) if a.kind == "result" else a for a in step.args]
        kept.append(replace(step, index=new_index[old], args=args))
    return kept, [ungrounded[i] for i in order]


def execute_steps(steps: list[Step], gold: str) -> tuple[str | None, bool, str | None]:
    """(answer, correct, failure reason) of the DAG built from ``steps``, filling each step's
    value: the validation rule of every label (the self-improvement loop applies it too)."""
    try:
        values = execute_all(dag_from_steps(steps))
    except ExecutionError as e:
        return None, False, f"execution_error:{e.reason.value}"
    for step, v in zip(steps, values):
        step.value = format_value(v)
    answer = values[-1]
    return format_value(answer), answer_equals(answer, gold), None


def label_trace(trace: Trace, parsed: ParsedText | None, s: LabelSettings) -> tuple[LabelRecord, Diagnostics]:
    """Phases 2-5 for one trace. ``parsed`` is the spaCy parse of ``trace.text``."""
    record = LabelRecord(trace.id, trace.text, trace.gold_answer, [], None, False,
                         level=trace.level, type=trace.type)
    if trace.error or parsed is None or len(trace.cot_offsets) == 0:
        record.reason = "trace_error"
        return record, Diagnostics()

    cot_steps, d = _cot_steps(trace, s)
    found, parse_failed = _found_ops(trace)
    if found:
        record.cot_executes = answer_equals(found[-1].expr.value, trace.gold_answer)
    nodes = _flatten(found)  # a bare number ("<<5=5>>") is an equation with no op
    if not nodes:
        record.reason = "no_ops"
        return record, d
    d.ops = len(nodes)

    # IAF highlights per CoT step
    steps_chars = np.array([(trace.cot_offsets[a, 0], trace.cot_offsets[b - 1, 1]) for a, b in cot_steps])
    attn = trace.attn.get(s.iaf.layer_group)
    if attn is None and s.source != "operands":
        raise UserError(f"signals.iaf.layer_group={s.iaf.layer_group!r} was not captured; "
                        f"the traces have {sorted(trace.attn)} (teacher.capture.layer_groups)")
    numbers = _with_fraction_parts(extract_numbers(trace.text))
    implicits = implicit_operands(trace.text)
    op_spans: list[list[tuple[int, int]]] = []
    op_weights: list[list[float]] = []
    op_anchors: list[list[tuple[int, int]]] = []
    raw_spans: list[list[tuple[int, int]]] = []
    used: set[tuple[int, int]] = set()
    if attn is not None:
        sinks = sink_mask(trace.text, trace.problem_offsets) if s.iaf.drop_sinks else None
        matrix = iaf_matrix(attn, cot_steps, sinks)
    for node in nodes:
        literals = [o for o in node.operands if isinstance(o, Literal) and not o.implicit]
        # operand matching: problem numbers (and implicit words) equal to a literal operand;
        # numbers an earlier op already anchored on are used only when nothing fresh matches
        matches = []
        for a in numbers + implicits:
            hit = next((h for lit in literals if (h := match_operand(lit.value, [a])) is not None), None)
            if hit is not None and _fits_op(hit, node.op):
                matches.append(a)
        fresh = [a for a in matches if a.span not in used]
        anchors = [a.span for a in (fresh or matches)]
        # an implicit operand ("half", "twice", "%") is the op's cue word: its clause is where
        # the operation is stated, so it outweighs a number's clause when they differ
        anchor_w = [IMPLICIT_WEIGHT if a.kind == "implicit" else 1.0 for a in (fresh or matches)]
        used.update(a.span for a in fresh if a.kind == "number")
        iaf_spans, iaf_w = [], []
        if attn is not None:
            row = matrix[_step_of(node.found.span[0], steps_chars)]
            idx = select(row, method=s.iaf.method, top_k=s.iaf.top_k, threshold=s.iaf.threshold, mass=s.iaf.mass)
            idx = idx[row[idx] > 0]
            iaf_spans = [(int(trace.problem_offsets[i, 0]), int(trace.problem_offsets[i, 1])) for i in idx]
            iaf_w = [float(row[i]) for i in idx]
            if any(a.kind == "number" for a in matches):
                d.iaf_ops += 1
                d.iaf_operand_hits += int(_overlaps([a.span for a in matches if a.kind == "number"], iaf_spans))
        raw_spans.append(token_spans(idx, trace.problem_offsets) if attn is not None else [])
        spans, weights = [], []
        if s.source == "both" and anchors:
            # IAF adds context to the operands' clauses; scattered hits in other sentences
            # (sinks, the question) would otherwise pull the region away from the operands
            keep = _same_sentence(parsed, iaf_spans, anchors)
            iaf_spans = [sp for sp, k in zip(iaf_spans, keep) if k]
            iaf_w = [w for w, k in zip(iaf_w, keep) if k]
        if s.source in ("iaf", "both"):
            spans += iaf_spans
            weights += iaf_w
        if s.source in ("operands", "both"):
            # an operand number outweighs any single IAF token: it is where the op's data is
            spans += anchors
            weights += anchor_w
        op_spans.append(spans)
        op_weights.append(weights)
        op_anchors.append(anchors)

    regions = regions_for_ops(parsed, op_spans, op_weights, op_anchors, s.clauses)
    d.raw_tokens = [len(sp) for sp in op_spans]
    for r in regions:
        if r is not None:
            d.region_tokens.append(int(((trace.problem_offsets[:, 0] < r[1]) & (trace.problem_offsets[:, 1] > r[0])).sum()))

    steps, ungrounded = _build_steps(nodes, regions, numbers, implicits, s.grounding == "problem")
    for step, raw, node in zip(steps, raw_spans, nodes):
        step.iaf_spans = raw
        a, b = steps_chars[_step_of(node.found.span[0], steps_chars)]
        step.cot_span = (int(a), int(b))  # the CoT step (JSD or sentence) holding the op
    d.pruned = len(steps)
    steps, ungrounded = _prune(steps, ungrounded, trace.gold_answer)
    d.pruned -= len(steps)
    reason = "ungrounded_operand" if any(ungrounded) else None
    record.steps = steps
    answer, correct, exec_failure = execute_steps(steps, trace.gold_answer)
    record.answer = answer
    if any(st.region is None for st in steps):
        reason = reason or "no_region"
    reason = reason or exec_failure or (None if correct else "wrong_answer")
    if parse_failed:
        reason = "cot_parse_error"
    record.validated = reason is None
    record.reason = reason

    # the seed's comparison: raw IAF tokens (not clause-expanded) as the regions, grounded
    # strictly (operands inside the highlighted tokens), whatever ``grounding`` says
    if attn is not None:
        raw_steps, raw_ungrounded = _prune(*_build_steps(nodes, [sp or None for sp in raw_spans], numbers, implicits),
                                           trace.gold_answer)
        raw_answer, raw_correct, raw_exec = execute_steps(raw_steps, trace.gold_answer)
        d.raw_validated = not any(raw_ungrounded) and raw_exec is None and raw_correct and not parse_failed
    return record, d
