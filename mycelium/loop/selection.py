"""What a round adds: the problems the students solved, turned into labels and validated by the
labels stage's own rule; how they compare with the teacher's; which failures the teacher mops up."""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fractions import Fraction

from mycelium.data.answers import clean_gsm8k_solution
from mycelium.data.problems import Problem
from mycelium.labels.checks import check_record, rational
from mycelium.labels.cot_ops import Found, find_arithmetic, parse_annotations
from mycelium.labels.clauses import ParsedText
from mycelium.labels.highlights import question_sentence, text_regions
from mycelium.labels.region_choice import load_chooser
from mycelium.labels.regions import expand_one
from mycelium.labels.validate import execute_steps as execute_labels  # the labels stage's own execution rule
from mycelium.models.bio import clean_regions
from mycelium.records.labels import LabelRecord
from mycelium.records.predictions import Prediction


def validate(record: LabelRecord, parsed: ParsedText | None = None, reject_checks: Sequence[str] = ()) -> LabelRecord:
    """Set ``record.validated``/``reason`` by the labels stage's rule: every operand grounded
    (a number or implicit constant at a span of the text, or an earlier step's result), every
    step with a region, the DAG (executed by the labels stage's own code) equal to gold, and,
    given the spaCy ``parsed`` text, no automatic check of ``reject_checks``
    (``mycelium.labels.checks``, the labels stage's ``LabelSettings.reject_checks``) flagging
    it: a right answer reached by a coincidence of values is not a label (``check_<name>``)."""
    reason = None
    n = len(record.text)
    for step in record.steps:
        for a in step.args:
            ok = (a.step is not None and 0 <= a.step < step.index) if a.kind == "result" else (
                a.span is not None and 0 <= a.span[0] < a.span[1] <= n)
            reason = reason or (None if ok else "ungrounded_operand")
    if not record.steps:
        reason = "no_ops"
    elif any(s.region is None for s in record.steps):
        reason = reason or "no_region"
    answer, correct, failure = execute_labels(record.steps, record.gold_answer) if record.steps else (None, False, None)
    record.answer = answer
    reason = reason or failure or (None if correct else "wrong_answer")
    if reason is None and parsed is not None and reject_checks:
        counts = check_record(record, parsed)
        reason = next((f"check_{c}" for c in reject_checks if counts.get(c)), None)
    record.validated, record.reason = reason is None, reason
    return record


ADMIT = ("answer", "solution")  # loop.admit: what a solved problem must also agree with to join
REGIONS = ("text", "operands")  # loop.regions: how a DAG solved from the text alone gets its regions


def solution_values(solution: str) -> set[Fraction]:
    """Every value the gold ``solution`` computes: each op node of its GSM8K calculator
    annotations ("<<48/2=24>>") and of the arithmetic its text writes ("9 - 5 = 4."). Empty
    for a problem without a written solution."""
    cot, annotations = clean_gsm8k_solution(solution)
    found = [f for f in parse_annotations(annotations) if isinstance(f, Found)] + find_arithmetic(cot)
    return {node.value for f in found for node in f.expr.nodes}


def agrees_with_solution(record: LabelRecord, solution: str) -> bool:
    """Does every step of the executed ``record`` compute a value the gold solution computes
    (``solution_values``)? A DAG that reaches gold by a coincidence of values computes
    something the solution does not ("8 x 8 / 2" for "20 + (20 - 8)"); the price is a right
    DAG in another order ("(a + b) x c" for "a x c + b x c"). False without a solution, or
    for a step whose value is not a number (a symbolic MATH value)."""
    values = solution_values(solution)
    return bool(values) and all(rational(s.value) in values for s in record.steps)


def record_from_prediction(pred: Prediction, parsed: ParsedText | None = None,
                           reject_checks: Sequence[str] = (), solution: str | None = None, *,
                           regions: str = "text", relations: bool = True, unshare: bool = False,
                           chooser: str | None = None) -> LabelRecord:
    """A validated labels record of a solved problem (regions = the predicted spans, args from
    the wiring, values from execution), or the rejected record (``validated`` False) otherwise;
    ``parsed``/``reject_checks`` as in :func:`validate`. A DAG from the text alone has no spans:
    given ``parsed``, each step's region is then found by the labels' own rules less the
    teacher's attention (``regions="text"``, :func:`text_regions`, with ``relations``/``unshare``
    as ``labels.relations``/``labels.unshare_regions``, then the learned ``chooser``'s weights file
    as ``labels.region_chooser``), or from its operands' clauses alone
    (``regions="operands"``, :func:`operand_regions`, the rule before session 11).
    Given the gold ``solution``, a validated record must also agree with it
    (:func:`agrees_with_solution`; reason ``disagrees_with_solution``)."""
    record = LabelRecord(pred.id, pred.text, pred.gold_answer, copy.deepcopy(pred.steps), pred.answer, False)
    if parsed is not None and record.steps and all(s.region is None for s in record.steps):
        if regions not in REGIONS:
            raise ValueError(f"regions={regions!r}: one of {REGIONS}")
        operand_regions(record, parsed)  # also the fallback of a step the text rules find no clause for
        if regions == "text":
            found = text_regions(parsed, record.steps, len(record.steps) - 1, parsed.config,
                                 relations=relations, unshare=unshare)
            for step, region in zip(record.steps, found):
                step.region = region or step.region
            if chooser and all(st.region is not None for st in record.steps):
                chosen = load_chooser(chooser).choose(parsed, record.steps, [st.region for st in record.steps],
                                                      len(record.steps) - 1, question_sentence(parsed))
                for step, region in zip(record.steps, chosen):
                    step.region = region
    record = validate(record, parsed, reject_checks)
    if record.validated and solution is not None and not agrees_with_solution(record, solution):
        record.validated, record.reason = False, "disagrees_with_solution"
    return record


def operand_regions(record: LabelRecord, parsed: ParsedText) -> None:
    """Give each step of ``record`` the clause region of its written operands, as the labels
    stage's ``labels.source=operands`` does (``labels.regions.expand_one``, the hull of their
    clauses when they share a sentence); a step that reads
    only earlier results takes the last sentence (the question) when it is the last step,
    else the region of its latest input step. The automatic checks then judge these regions as any label's."""
    cover = dataclasses.replace(parsed.config, select="cover")  # operands in one sentence: the hull of their clauses
    question = tuple(int(x) for x in parsed.sent_spans[-1]) if len(parsed.sent_spans) else None  # the last sentence
    for step in record.steps:
        written = [a.span for a in step.args if a.kind != "result" and a.span is not None]
        if written:
            step.region = expand_one(parsed, [tuple(sp) for sp in written], config=cover)
        elif step.index == len(record.steps) - 1:
            step.region = question
        else:
            inputs = sorted(a.step for a in step.args if a.kind == "result" and a.step is not None)
            step.region = next((record.steps[k].region for k in reversed(inputs) if record.steps[k].region), question)


@dataclass
class Agreement:
    """How the added labels compare with the teacher's where both exist."""

    compared: int = 0
    ops_differ: int = 0
    regions_differ: int = 0

    def add(self, mine: LabelRecord, teacher: LabelRecord) -> None:
        ops = lambda r: Counter(s.op for s in r.steps)  # noqa: E731
        regions = lambda r: set(clean_regions([s.region for s in r.steps if s.region])[0])  # noqa: E731
        self.compared += 1
        self.ops_differ += ops(mine) != ops(teacher)
        self.regions_differ += regions(mine) != regions(teacher)


def merge_labels(previous: Sequence[LabelRecord], new: Sequence[LabelRecord]) -> list[LabelRecord]:
    """A round's training set: the previous round's records, then the ``new`` labels (solved
    problems and mop-up). A previous record of a problem that got a new label is replaced; the
    others stay, validated or not (the wiring student's ``train_on=executes`` reads the
    unvalidated ones that reach gold)."""
    new_ids = {r.id for r in new}
    return [*(r for r in previous if r.id not in new_ids), *new]


def mopup_candidates(todo: Sequence[Problem], solved: set[str], reference: Mapping[str, LabelRecord],
                     cap: int) -> list[Problem]:
    """The first ``cap`` problems of ``todo`` the students did not solve and the teacher may still
    label: one whose cached teacher label did not validate would fail again, so it does not take
    a place under the cap (the seed's rejects come first in the pool)."""
    failed = [p for p in todo if p.id not in solved and (p.id not in reference or reference[p.id].validated)]
    return failed[:cap]
