"""Phase 4's highlights from the text itself, and the regions they make without attention.

Each op of a label is highlighted in the problem by its grounded operands (``operands``) and by
the relation cue words of its op (``cues``, ``mycelium.labels.cues``) in its operands'
sentences; the labels stage adds the teacher's IAF tokens to these (``labels.source``,
``mycelium.labels.assemble``). :func:`text_regions` runs the rest of the region pipeline on
them (clause expansion, ``whole_statement``, the relation detector), so a DAG that has no
teacher trace (one a student solved, ``mycelium.loop``) gets its regions by the labels' own
rules, less the attention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mycelium.dag.steps import Step
from mycelium.labels.args import writes_fraction
from mycelium.labels.checks import is_question
from mycelium.labels.clauses import ClauseConfig, ParsedText, tokens_of
from mycelium.labels.cues import cue_spans
from mycelium.labels.regions import regions_for_ops
from mycelium.labels.relation_clauses import is_relation_operand
from mycelium.labels.relations import Move, relation_regions

Span = tuple[int, int]
IMPLICIT_WEIGHT = 1.5  # highlight weight of an implicit operand's word vs 1.0 for a number
CUE_WEIGHT = 1.5  # a relation cue word of the op in its operands' sentences
SOURCE_CUE_WEIGHT = 0.3  # ... in the sentences where its input results were made
QUESTION_WEIGHT = 4.0  # a question that states the final op's relation ("how many more")


def inside(spans: list[Span], region: Span | list[Span]) -> np.ndarray:
    """Bool per span of ``spans``: does it lie within ``region`` (or one of several)?"""
    regions = [region] if isinstance(region, tuple) else region
    return np.array([any(a >= r0 and b <= r1 for r0, r1 in regions) for a, b in spans], dtype=bool)


def sentences_of(parsed: ParsedText, spans: list[Span]) -> set[int]:
    """Indices of the sentences (``parsed.sent_spans``) where ``spans`` start."""
    return {int(np.searchsorted(parsed.sent_spans[:, 0], sp[0], side="right") - 1) for sp in spans}


def in_sentences(parsed: ParsedText, spans: list[Span], sents: set[int]) -> list[Span]:
    return [sp for sp in spans if sentences_of(parsed, [sp]) <= sents]


def question_sentence(parsed: ParsedText) -> int | None:
    """Index of the last sentence that ends with "?" (the question), if any."""
    for i in range(len(parsed.sent_spans) - 1, -1, -1):
        a, b = parsed.sent_spans[i]
        if is_question(parsed.text, (int(a), int(b))):
            return i
    return None


@dataclass
class Highlights:
    """One op's highlights from the text: ``spans`` (char spans) with their ``weights``; its
    grounded operands' spans (``anchors``); the sentences it is stated in (``sents``: its
    operands', or for an op on results only, its inputs')."""

    spans: list[Span]
    weights: list[float]
    anchors: list[Span]
    sents: set[int]


def text_highlights(parsed: ParsedText, step: Step, step_sents: list[set[int]], *, final: bool,
                    question: int | None, op: str | None = None, operands: bool = True,
                    cues: bool = True) -> Highlights:
    """The highlights of ``step`` from the text: its operands (``operands``) and the cue words of
    ``op`` (default: the step's; the labels stage passes the CoT op the step came from) in its
    sentences (``cues``), weaker where its inputs were made, and for the ``final`` step the
    question (sentence index ``question``) when it states the relation.
    ``step_sents``: ``Highlights.sents`` of the earlier steps."""
    grounded = [a for a in step.args if a.span is not None]
    anchors = [a.span for a in grounded]
    # a relation operand ("half", "3/4", "25%") is where the op is stated: it outweighs a
    # plain quantity ("200 apples") when their clauses differ
    anchor_w = [IMPLICIT_WEIGHT if a.kind == "implicit" or writes_fraction(a.text) else 1.0 for a in grounded]
    results = [a.step for a in step.args if a.kind == "result" and a.step is not None and a.step < len(step_sents)]
    # an op on earlier results only is stated where its inputs were
    sents = sentences_of(parsed, anchors) if anchors else set().union(*[step_sents[k] for k in results])
    # a relation is often stated where an input was made ("She paid 20% for the tax": the
    # deduction), so cues are sought there too
    cue_sents = sents.union(*[step_sents[k] for k in results])
    spans: list[Span] = []
    weights: list[float] = []
    if operands:  # an operand outweighs any single IAF token: it is where the op's data is
        spans += anchors
        weights += anchor_w
    if cues:
        op = op or step.op
        found = cue_spans(parsed.text, op)
        own = in_sentences(parsed, found, sents) if sents else []
        near = [sp for sp in (in_sentences(parsed, found, cue_sents) if cue_sents else []) if sp not in own]
        spans += own + near
        weights += [CUE_WEIGHT] * len(own) + [SOURCE_CUE_WEIGHT] * len(near)
        if final and question is not None:  # a question that states the final relation
            q = in_sentences(parsed, cue_spans(parsed.text, op, question=True), {question})
            spans += q
            weights += [QUESTION_WEIGHT] * len(q)
    return Highlights(spans, weights, anchors, sents)


def whole_statement(parsed: ParsedText, region: Span | None, step: Step, max_tokens: int) -> Span | None:
    """A sum, difference, product or quotient whose written operands all sit in one sentence is
    stated by the clauses that hold them together ("5 cans of soda plus 64 ounces of water"):
    widen a region that holds only some of them to the hull of their clauses."""
    spans = [a.span for a in step.args if a.kind == "number" and a.span is not None]
    if region is None or step.op not in ("ADD", "SUB", "MUL", "DIV") or len(spans) < 2:
        return region
    if all(region[0] <= a and b <= region[1] for a, b in spans) or len(sentences_of(parsed, [region] + spans)) != 1:
        return region
    toks = np.concatenate([tokens_of(parsed, sp) for sp in spans + [region]])
    if len(toks) == 0:
        return region
    start = int(parsed.clause_spans[toks, 0].min())
    end = int(parsed.clause_spans[toks, 1].max())
    hull = tokens_of(parsed, (start, end))
    if len(hull) > max_tokens:
        return region
    # a region that states the op (its relation operand or cue word) keeps it when the hull would
    # take in clauses holding none of its operands ("walk the dog which takes 5 minutes more than
    # making homework" within a list of chores)
    hull = hull[parsed.is_content[hull]]
    extra = set(parsed.clause[hull].tolist()) - set(parsed.clause[toks].tolist())
    states = any(is_relation_operand(a) and inside([a.span], region)[0] for a in step.args) or bool(
        inside(cue_spans(parsed.text, step.op), region).any())
    if extra and states:
        return region
    return start, end


def highlight_regions(parsed: ParsedText, steps: list[Step], spans: list[list[Span]], weights: list[list[float]],
                      anchors: list[list[Span]], final: int | None, question: int | None, clauses: ClauseConfig, *,
                      relations: bool = True, unshare: bool = False) -> tuple[list[Span | None], list[Move]]:
    """Phase 5: each step's highlights (``spans`` with ``weights``; its operands' ``anchors``)
    expanded to one clause region (``regions_for_ops``), widened to the whole statement of a
    sum or product (:func:`whole_statement`), then moved by the relation detector
    (``relations``; ``unshare``: its rule 7). Returns the regions (None where no clause was
    found) and the detector's moves."""
    regions = regions_for_ops(parsed, spans, weights, anchors, clauses)
    regions = [whole_statement(parsed, r, st, clauses.max_region_tokens) for r, st in zip(regions, steps)]
    if not relations:
        return regions, []
    return relation_regions(parsed, steps, regions, final, question, unshare)


def text_regions(parsed: ParsedText, steps: list[Step], final: int | None, clauses: ClauseConfig, *,
                 relations: bool = True, unshare: bool = False) -> list[Span | None]:
    """One clause region per step of ``steps`` (operand spans into ``parsed.text``) from the
    text alone: the labels stage's region rules (``labels.source=all`` less the IAF tokens,
    then ``relations`` and ``unshare``, as ``labels.relations`` / ``labels.unshare_regions``).
    ``final``: the index of the step that gives the answer. None where no clause was found."""
    question = question_sentence(parsed)
    found: list[Highlights] = []
    for k, step in enumerate(steps):
        found.append(text_highlights(parsed, step, [h.sents for h in found], final=k == final, question=question))
    return highlight_regions(parsed, steps, [h.spans for h in found], [h.weights for h in found],
                             [h.anchors for h in found], final, question, clauses, relations=relations,
                             unshare=unshare)[0]
