"""Phases 2-5 for one trace: CoT steps -> ops -> arguments -> regions -> validated DAG.

For every operation the CoT performs (a GSM8K calculator annotation, arithmetic the solution
writes without one when a later annotation uses its value or it gives the answer, or
arithmetic found in free CoT text), the assembly

1. finds the CoT step holding it (JSD peaks, or the sentence/newline baseline);
2. grounds each literal operand (``mycelium.labels.grounding``): a written number, a word
   that implies a constant ("half", "dozen", "%") or an earlier step's result, chosen by
   position and meaning, not value alone; a tie between different occurrences or steps is
   rejected (``ambiguous_grounding``);
3. rewrites the steps to one encoding of percentages and fractions
   (``mycelium.labels.canonical``: "30%" is one operand 3/10 however the CoT wrote it);
4. highlights problem tokens for each step, from the label ``source``: ``iaf`` (the step's
   top-IAF tokens), ``operands`` (its grounded operands), ``cues`` (its relation words,
   ``mycelium.labels.cues``, in its operands' sentences; for the last step the question when
   it states the relation), ``both`` (iaf + operands), ``all`` (iaf + operands + cues) or
   ``text`` (operands + cues: ``all`` without the attention, ``mycelium.labels.highlights``);
   with ``lexical`` > 0, also the problem words the op's solution sentence repeats
   (``mycelium.labels.lexical``), in its operands' and inputs' sentences;
5. expands the highlights to one clause region (spaCy), splitting a clause several ops share;
   then (``labels.relations``, with source ``cues``/``all``/``text``) moves a region to the clause
   that states its op's relation where the highlights missed it (``mycelium.labels.relations``);
6. builds the DAG and executes it exactly. The problem is *validated* when every operand is
   grounded, the DAG's output equals the gold answer, and no automatic check in
   ``reject_checks`` (``mycelium.labels.checks``) flags it.

Rejection reasons (``LabelRecord.reason``): ``trace_error``, ``no_ops``, ``cot_parse_error``,
``no_region``, ``ungrounded_operand``, ``ambiguous_grounding``, ``execution_error``,
``wrong_answer``, ``check_<name>`` (e.g. ``check_value_coincidence``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from mycelium.dag.graph import ExecutionError, answer_equals, dag_from_steps, execute_all
from mycelium.dag.steps import Step
from mycelium.dag.symbolic import from_sympy
from mycelium.errors import UserError
from mycelium.labels.args import extract_numbers, implicit_operands
from mycelium.labels.canonical import canonical_steps
from mycelium.labels.checks import CHECKS, check_record
from mycelium.labels.clauses import ClauseConfig, ParsedText
from mycelium.labels.grounding import Grounder
from mycelium.labels.highlights import highlight_regions, inside, question_sentence, sentences_of, text_highlights
from mycelium.labels.lexical import lexical_highlights, solution_stems, token_stems
from mycelium.labels.region_choice import final_index, load_chooser
from mycelium.labels.relations import moved_counts
from mycelium.labels.cot_ops import Found
from mycelium.labels.math_steps import MathStep, math_steps, problem_steps
from mycelium.labels.steps import cot_operations, flatten, ground_steps, with_fraction_parts
from mycelium.labels.validate import execute_steps, output_index, prune
from mycelium.records.labels import LabelRecord
from mycelium.records.traces import Trace
from mycelium.signals.iaf import IAFConfig, iaf_matrix, select, sink_mask, token_spans
from mycelium.signals.jsd import JSDConfig, boundary_scores, jsd_steps, sentence_boundaries, sentence_steps

SOURCES = ("iaf", "operands", "both", "cues", "all", "text")
COT_STEPS = ("jsd", "sentence")
GROUNDING = ("region", "problem")
MATH_STEPS = ("symbolic", "arithmetic")


@dataclass
class LabelSettings:
    """Every knob of the labels stage (``conf/signals`` + ``conf/labels``)."""

    jsd: JSDConfig = field(default_factory=JSDConfig)
    iaf: IAFConfig = field(default_factory=IAFConfig)
    clauses: ClauseConfig = field(default_factory=ClauseConfig)
    source: str = "all"  # where an op's highlights come from: iaf | operands | cues | both | all | text
    # where a literal operand may be found: "region" (its op's own region, the strict rule)
    # or "problem" (then also any number or implicit constant written elsewhere in the
    # problem: a quantity the solver must wire in from another clause). Sources are tried in
    # the order region number, earlier result, region implicit, elsewhere, so a "problem"
    # label whose operands all sit in their regions is exactly a "region" label.
    grounding: str = "problem"
    cot_steps: str = "jsd"  # how the CoT is cut into steps: jsd | sentence
    spacy_model: str | None = None
    # how a MATH solution (a trace with a subject) is read: "symbolic" (mycelium.labels.math_steps:
    # its LaTeX statements as a symbolic DAG) or "arithmetic" (the numeric CoT ops, as GSM8K's)
    math_steps: str = "symbolic"
    # math_steps=symbolic: 1 and 2 (and exponents 2, 3) a formula brings may be operands the
    # problem does not write (Arg kind "constant"); false: every literal must be written
    math_constants: bool = True
    # math_steps=symbolic: a literal neither written nor computed before may come from arithmetic a
    # CoT sentence states in words, when exactly one op of two numbers there makes it
    math_prose: bool = True
    # math_steps=symbolic: when the CoT's steps do not reach gold grounded, label the problem's own
    # math instead (mycelium.labels.math_steps.problem_steps: its expressions, its equations solved)
    math_problem_steps: bool = True
    # math_steps=symbolic: accept a number only the CoT writes as an operand (kind "cot"). Breaks
    # the grounding rule: an upper bound on the yield grounding costs, not labels to train on
    math_cot_numbers: bool = False
    # automatic checks (mycelium.labels.checks) that reject a problem which executes to gold
    reject_checks: tuple[str, ...] = ("value_coincidence", "fragment_region", "shared_region", "fraction_part",
                                      "foreign_region", "repeated_occurrence", "self_product", "computed_literal",
                                      "result_elsewhere", "solves_equation", "relation_reused",
                                      "intermediate_answer", "twin_unread")
    # the relation detector (mycelium.labels.relations) moves a region to the clause that states
    # the op's relation; off, regions are the highlight mass alone (the ablation)
    relations: bool = True
    unshare_regions: bool = False  # its rule 7: move a step out of a shared region (yield, at a risk)
    # weight of the lexical highlights (mycelium.labels.lexical: the problem words the op's solution
    # sentence repeats) in the op's and its inputs' sentences; 0 turns them off
    lexical: float = 6.0
    # a learned re-ranking of each step's region among the problem's clauses
    # (mycelium.labels.region_choice; fitted by bench/region_gold.py): its weights file, or None
    region_chooser: str | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"labels.source must be one of {SOURCES}, got {self.source!r}")
        if self.grounding not in GROUNDING:
            raise ValueError(f"labels.grounding must be one of {GROUNDING}, got {self.grounding!r}")
        self.reject_checks = tuple(self.reject_checks)
        unknown = set(self.reject_checks) - set(CHECKS) | ({"final_in_question"} & set(self.reject_checks))
        if unknown:
            raise ValueError(f"labels.reject_checks: unknown {sorted(unknown)}; choose from {CHECKS[:-1]}")
        if self.math_steps not in MATH_STEPS:
            raise ValueError(f"labels.math_steps must be one of {MATH_STEPS}, got {self.math_steps!r}")
        if self.cot_steps not in COT_STEPS:
            raise ValueError(f"labels.cot_steps must be one of {COT_STEPS}, got {self.cot_steps!r}")

    @classmethod
    def from_config(cls, signals, labels) -> "LabelSettings":
        """Build from the ``signals`` and ``labels`` config blocks (any mapping)."""
        return cls(
            jsd=JSDConfig(**dict(signals["jsd"])),
            iaf=IAFConfig(**dict(signals["iaf"])),
            clauses=ClauseConfig(**dict(labels["clauses"])),
            source=labels.get("source", "all"),
            cot_steps=labels.get("cot_steps", "jsd"),
            grounding=labels.get("grounding", "problem"),
            spacy_model=labels.get("spacy_model"),
            reject_checks=tuple(labels.get("reject_checks", LabelSettings.reject_checks)),
            relations=labels.get("relations", True),
            unshare_regions=labels.get("unshare_regions", False),
            lexical=float(labels.get("lexical", 6.0)),
            region_chooser=labels.get("region_chooser"),
            math_steps=labels.get("math_steps", "symbolic"),
            math_constants=labels.get("math_constants", True),
            math_prose=labels.get("math_prose", True),
            math_problem_steps=labels.get("math_problem_steps", True),
            math_cot_numbers=labels.get("math_cot_numbers", False),
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
    checks: dict[str, int] = field(default_factory=dict)  # mycelium.labels.checks, validated only
    relation_moves: dict[str, int] = field(default_factory=dict)
    chooser_moves: int = 0  # regions the learned chooser (labels.region_chooser) moved  # regions each relation rule moved


class _MathOp(NamedTuple):
    """A MATH step as the region phase reads a CoT op: its name and where the CoT states it."""

    op: str
    found: Found


def _reaches_gold(found: list[MathStep], gold: str) -> bool:
    """Does a step give ``gold`` with every step it depends on grounded?"""
    steps = [m.step for m in found]
    try:
        values = execute_all(dag_from_steps(steps, symbolic=True))
    except ExecutionError:
        return False
    hits = [i for i, v in enumerate(values) if answer_equals(v, gold)]
    if not hits:
        return False
    _, kept = prune(steps, hits[-1])
    return not any(found[i].ungrounded for i in kept)


def _intermediate_answer(steps: list[Step], values: list, answer: int | None) -> int:
    """1 when a step after the ``answer`` step reads its result and computes a value no step up to
    the answer computed: the "answer" is an intermediate value of the solution that only equals
    gold. A check that gives back a known result ("72 - 48 = 24" after 48 / 2 = 24 and 48 + 24 =
    72) is no such step. ``values``: every step's value (``execute_all``)."""
    if answer is None:
        return 0
    known = values[:answer + 1]
    return int(any(v not in known and any(a.kind == "result" and a.step == answer for a in st.args)
                   for st, v in zip(steps[answer + 1:], values[answer + 1:])))


def _states_gold(value, gold: str) -> bool:
    try:
        return answer_equals(from_sympy(value), gold)
    except ExecutionError:
        return False


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


def _step_of(char_pos: int, steps_chars: np.ndarray) -> int:
    """Index of the CoT step whose char span holds ``char_pos`` (the last step starting before it)."""
    return int(max(np.searchsorted(steps_chars[:, 0], char_pos, side="right") - 1, 0))


def _overlaps(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    return any(s0 < e1 and s1 < e0 for s0, e0 in a for s1, e1 in b)


def label_trace(trace: Trace, parsed: ParsedText | None, s: LabelSettings) -> tuple[LabelRecord, Diagnostics]:
    """Phases 2-5 for one trace. ``parsed`` is the spaCy parse of ``trace.text``."""
    record = LabelRecord(trace.id, trace.text, trace.gold_answer, [], None, False,
                         level=trace.level, type=trace.type)
    if trace.error or parsed is None or len(trace.cot_offsets) == 0:
        record.reason = "trace_error"
        return record, Diagnostics()

    cot_steps, d = _cot_steps(trace, s)
    symbolic = trace.type is not None and not trace.annotations and s.math_steps == "symbolic"
    if symbolic:  # MATH: the solution's LaTeX statements as a symbolic DAG
        found_math, stated = math_steps(trace.text, trace.cot, s.math_constants, s.math_prose, s.math_cot_numbers)
        if s.math_problem_steps and not _reaches_gold(found_math, trace.gold_answer):
            from_problem = problem_steps(trace.text, trace.cot, trace.gold_answer, s.math_constants)
            # only what the problem asks done to its own math: solve its equation, substitute its
            # values ("If $x = 2$, what is $x^2$?"); a piece of it that happens to equal the
            # answer ("$2 + 3$" of "how many sums are prime?" = 5) is a coincidence
            if _reaches_gold(from_problem, trace.gold_answer) and from_problem[-1].step.op in ("SOLVE", "SUBS"):
                found_math = from_problem
        record.cot_executes = any(_states_gold(v, trace.gold_answer) for v in stated[-3:])
        parse_failed = False
        steps = [m.step for m in found_math]
        nodes = [_MathOp(m.step.op, Found((m.pos, m.pos), None)) for m in found_math]
        ungrounded = [m.ungrounded for m in found_math]
        ambiguous = [False] * len(steps)
        counted_other = [0] * len(steps)
        if not nodes:
            record.reason = "no_ops"
            return record, d
        d.ops = len(nodes)
    else:
        found, parse_failed, recovered = cot_operations(trace)
        if found:
            record.cot_executes = answer_equals(found[-1].expr.value, trace.gold_answer)
        nodes = flatten(found, recovered)  # a bare number ("<<5=5>>") is an equation with no op
        if not nodes:
            record.reason = "no_ops"
            return record, d
        d.ops = len(nodes)

        # phase 5a: ground every literal operand (position and meaning, not value alone)
        numbers = with_fraction_parts(extract_numbers(trace.text))
        grounder = Grounder(trace.text, numbers, implicit_operands(trace.text))
        steps, ambiguous, counted_other = ground_steps(nodes, grounder, trace.cot)
        # one encoding of percentages and written fractions; flags follow the absorbed steps
        steps, origins = canonical_steps(steps, trace.text, grounder.fraction)
        # an operand left as written (no span) is what "ungrounded" means; a fold may have replaced it
        ungrounded = [any(a.kind != "result" and a.span is None for a in st.args) for st in steps]
        ambiguous = [any(ambiguous[o] for o in org) for org in origins]
        counted_other = [sum(counted_other[o] for o in org) for org in origins]
        nodes = [nodes[org[0]] for org in origins]  # the CoT op each step came from
    try:
        values = execute_all(dag_from_steps(steps, symbolic=symbolic))
        answer_step = output_index(values, trace.gold_answer)
    except ExecutionError:
        values, answer_step = [], None  # rejected below; every step is kept and the last is the "answer"
    out = len(steps) - 1 if answer_step is None else answer_step
    intermediate = _intermediate_answer(steps, values, answer_step)

    # phases 3-4: highlights per op (IAF of its CoT step, its grounded operands, its cue
    # words), expanded to one clause region each
    steps_chars = np.array([(trace.cot_offsets[a, 0], trace.cot_offsets[b - 1, 1]) for a, b in cot_steps])
    attn = trace.attn.get(s.iaf.layer_group)
    if attn is None and s.source in ("iaf", "both", "all"):
        raise UserError(f"signals.iaf.layer_group={s.iaf.layer_group!r} was not captured; "
                        f"the traces have {sorted(trace.attn)} (teacher.capture.layer_groups)")
    if attn is not None:
        sinks = sink_mask(trace.text, trace.problem_offsets) if s.iaf.drop_sinks else None
        matrix = iaf_matrix(attn, cot_steps, sinks)
    question = question_sentence(parsed)
    stems_of_tokens = token_stems(parsed) if s.lexical > 0 else None
    op_spans: list[list[tuple[int, int]]] = []
    op_weights: list[list[float]] = []
    op_anchors: list[list[tuple[int, int]]] = []
    raw_spans: list[list[tuple[int, int]]] = []
    step_sents: list[set[int]] = []
    for k, (node, step) in enumerate(zip(nodes, steps)):
        h = text_highlights(parsed, step, step_sents, final=k == out, question=question, op=node.op,
                            operands=s.source in ("operands", "both", "all", "text"),
                            cues=s.source in ("cues", "all", "text"))
        step_sents.append(h.sents)
        iaf_spans, iaf_w, idx = [], [], np.zeros(0, dtype=int)
        if attn is not None:
            row = matrix[_step_of(node.found.span[0], steps_chars)]
            idx = select(row, method=s.iaf.method, top_k=s.iaf.top_k, threshold=s.iaf.threshold, mass=s.iaf.mass)
            idx = idx[row[idx] > 0]
            iaf_spans = [(int(trace.problem_offsets[i, 0]), int(trace.problem_offsets[i, 1])) for i in idx]
            iaf_w = [float(row[i]) for i in idx]
            numeric = [a.span for a in step.args if a.span is not None and a.kind == "number"]
            if numeric:
                d.iaf_ops += 1
                d.iaf_operand_hits += int(_overlaps(numeric, iaf_spans))
        raw_spans.append(token_spans(idx, trace.problem_offsets) if attn is not None else [])
        spans, weights = [], []
        if s.source in ("both", "all") and h.sents:
            # IAF adds context to the operands' sentences; scattered hits elsewhere (sinks,
            # the question) would otherwise pull the region away from the operands
            keep = [bool(sentences_of(parsed, [sp]) <= h.sents) for sp in iaf_spans]
            iaf_spans = [sp for sp, ok in zip(iaf_spans, keep) if ok]
            iaf_w = [w for w, ok in zip(iaf_w, keep) if ok]
        if s.source in ("iaf", "both", "all"):
            spans += iaf_spans
            weights += iaf_w
        # the words the op's solution sentence repeats move its region; they make none for an op
        # nothing else highlights (it stays no_region, as without them)
        if s.lexical > 0 and (spans or h.spans):
            inputs = [step_sents[a.step] for a in step.args if a.kind == "result" and a.step is not None and a.step < k]
            sents = h.sents.union(*inputs) | ({question} if k == out and question is not None else set())
            lex_spans, lex_w = lexical_highlights(parsed, stems_of_tokens, solution_stems(trace.cot, node.found.span[0]),
                                                  sents, s.lexical)
            spans += lex_spans
            weights += lex_w
        op_spans.append(spans + h.spans)  # then the operands and cue words (mycelium.labels.highlights)
        op_weights.append(weights + h.weights)
        op_anchors.append(h.anchors)

    relations = s.relations and s.source in ("cues", "all", "text")  # the clause stating each op's relation (a cue source)
    regions, moves = highlight_regions(parsed, steps, op_spans, op_weights, op_anchors, out, question, s.clauses,
                                       relations=relations, unshare=s.unshare_regions)
    if relations:
        d.relation_moves = moved_counts(moves)
    d.raw_tokens = [len(sp) for sp in op_spans]
    for r in regions:
        if r is not None:
            d.region_tokens.append(int(((trace.problem_offsets[:, 0] < r[1]) & (trace.problem_offsets[:, 1] > r[0])).sum()))
    for step, region, raw, node in zip(steps, regions, raw_spans, nodes):
        step.region = region
        step.iaf_spans = raw
        a, b = steps_chars[_step_of(node.found.span[0], steps_chars)]
        step.cot_span = (int(a), int(b))  # the CoT step (JSD or sentence) holding the op
    if s.grounding == "region":  # the strict rule: literal operands inside their own region
        for k, step in enumerate(steps):
            if any(a.span and not inside([a.span], step.region or (0, 0))[0] for a in step.args):
                ungrounded[k] = True

    d.pruned = len(steps)
    steps, kept = prune(steps, answer_step)
    d.pruned -= len(steps)
    record.steps = steps
    answer, correct, exec_failure = execute_steps(steps, trace.gold_answer, symbolic=symbolic)
    record.answer = answer
    if s.region_chooser and all(st.region is not None for st in steps):
        chosen = load_chooser(s.region_chooser).choose(parsed, steps, [st.region for st in steps],
                                                       final_index(steps, answer), question)
        d.chooser_moves = sum(st.region != r for st, r in zip(steps, chosen))
        for st, r in zip(steps, chosen):
            st.region = r
    reason = None
    if any(ungrounded[i] for i in kept):
        reason = "ungrounded_operand"
    elif any(ambiguous[i] for i in kept):
        reason = "ambiguous_grounding"
    elif any(st.region is None for st in steps):
        reason = "no_region"
    reason = reason or exec_failure or (None if correct else "wrong_answer")
    if parse_failed:
        reason = "cot_parse_error"
    if reason is None:
        d.checks = check_record(record, parsed, trace.cot)
        d.checks["unit_mismatch"] = sum(counted_other[i] for i in kept)  # needs the CoT's mentions: counted in grounding
        d.checks["intermediate_answer"] = intermediate  # needs the steps before pruning
        failed = [c for c in s.reject_checks if d.checks.get(c)]
        if failed:  # executes to gold, but in a shape the audit found behind wrong labels
            reason = f"check_{failed[0]}"
            d.checks = {}
    record.validated = reason is None
    record.reason = reason

    # the seed's comparison: raw IAF tokens (not clause-expanded) as the regions, grounded
    # strictly (every literal operand inside its op's highlighted tokens)
    if attn is not None and reason is None:
        raw = [raw_spans[i] for i in kept]
        d.raw_validated = all(
            sp and all(a.span is None or inside([a.span], sp)[0] for a in st.args) for st, sp in zip(steps, raw))
    return record, d
