"""Decoding with the learned wiring: a beam search over (next op, operand pair), each span's op
label chosen among the classifier's top-k when its first op runs; finished wirings pay for
dangling results, failed steps and (optionally) implausible answers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import torch

from mycelium.dag.graph import answer_equals
from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord
from mycelium.solver.learned_wiring.features import (
    Problem, Span, State, _apply, _arity, _op_index, _op_list, candidate_features, candidates, item_features,
)
from mycelium.solver.learned_wiring.model import WiringModel
from mycelium.solver.wiring import gold_spans, wired_answer

DANGLING_PENALTY = 3.0
FAIL_PENALTY = 10.0
MAX_EXTRAS = 4


OpChoices = Sequence[tuple[str | Sequence[str], float]]  # one span's op labels and log-probs, best first


@dataclass
class _Beam:
    """A partial wiring: its score, the problem with the op lists chosen so far (a span not yet
    run holds its first choice), the state, and each span's chosen alternative."""

    score: float
    problem: Problem
    state: State
    picked: tuple[int, ...]


@torch.no_grad()
def _expand(
    model: WiringModel, p: Problem, st: State, width: int, alts: Sequence[Sequence[tuple[list[str], float]]]
) -> list[tuple[float, tuple[int, int], list[Arg], int, Problem]]:
    """The ``width`` best (log-prob, item, args, alternative, problem) next steps from ``st``.

    A span's op list is chosen when its first op runs: each alternative ``a`` of ``alts[j]``
    (its ops, its score bonus) is an item of its own, scored by the item and pair models on the
    problem with span ``j`` holding those ops, plus the bonus. A span's later ops keep its choice."""
    items = st.eligible(p)
    base = torch.log_softmax(model.item(torch.from_numpy(item_features(p, st, items))).squeeze(-1), 0)
    out = []
    for n, item in enumerate(items):
        j, k = item
        for a, (ops, bonus) in enumerate(alts[j]) if k == 0 else [(-1, (p.ops[j], 0.0))]:
            q, li = p, base
            if ops != p.ops[j]:
                q = replace(p, ops=[*p.ops[:j], ops, *p.ops[j + 1:]])
                li = torch.log_softmax(model.item(torch.from_numpy(item_features(q, st, items))).squeeze(-1), 0)
            cands = candidates(q, st, item)
            xc, kinds, values = candidate_features(q, st, item, cands)
            op = q.ops[j][k]
            if len(cands) < 2:  # too few operands: run with what there is (execution says BAD_ARITY)
                out.append((li[n].item() + bonus - FAIL_PENALTY, item, list(cands), a, q))
                continue
            lp, le = model.pair_logits(torch.from_numpy(xc)[None], torch.from_numpy(values)[None],
                                       torch.from_numpy(kinds)[None], torch.tensor([_op_index(op)]),
                                       torch.ones(1, len(cands), dtype=torch.bool))
            lp = torch.log_softmax(lp.flatten(), 0)
            top = torch.topk(lp, min(width, int(torch.isfinite(lp).sum())))
            for score, flat in zip(top.values.tolist(), top.indices.tolist()):
                x, y = divmod(flat, len(cands))
                args = [cands[x], cands[y]] if _arity(op) > 1 else [cands[x]]  # NEG, SQRT: the first operand only
                if op in ("ADD", "MUL"):
                    extra = [i for i in torch.argsort(le[0], descending=True).tolist()
                             if i not in (x, y) and le[0, i] > 0][:MAX_EXTRAS]
                    args += [cands[i] for i in sorted(extra, key=lambda i: (cands[i].kind == "result", i))]
                out.append((li[n].item() + score + bonus, item, args, a, q))
    return sorted(out, key=lambda x: -x[0])[:width]


def implausible(value: Fraction | None) -> bool:
    """Is ``value`` an unlikely answer to a word problem: negative or not a whole number?
    (GSM8K's answers are all non-negative integers, as are most of MAWPS'.) None (a failed
    step) is not judged here: ``FAIL_PENALTY`` covers it."""
    return value is not None and (value < 0 or value.denominator != 1)


def wire_learned_topk(
    text: str,
    spans: Sequence[Span],
    choices: Sequence[OpChoices],
    model: WiringModel,
    *,
    beam: int = 8,
    op_weight: float = 1.0,
    implausible_penalty: float = 0.0,
) -> tuple[list[Step], list[str | Sequence[str]]]:
    """Steps for ``spans`` wired by ``model``, each span's op label chosen among its ``choices``.

    ``choices[i]``: span ``i``'s candidate op labels (an op name, several joined by
    ``MULTI_OP_SEP``, or a list) with their log-probabilities, best first (the classifier's
    top-k, ``ClassifierModule.predict_op_scores``). The beam search picks a span's label when
    its first op runs; the label adds ``op_weight * (log p(label) - log p(best label))`` to the
    score (0 for the best, so the unchosen spans are scored as if they took it: beams of
    different lengths compare fairly). Finished wirings also lose ``implausible_penalty`` when
    their answer (the last step's value) is negative or fractional (``implausible``), beside the
    dangling and failure penalties. One choice per span is ``wire_learned``.

    Returns the steps (execution order; the last is the answer) and each span's chosen label
    (in the order of ``spans``).
    """
    if len(spans) != len(choices):
        raise ValueError(f"{len(spans)} spans but {len(choices)} op lists")
    if any(not c for c in choices):
        raise ValueError("every span needs at least one op choice")
    if op_weight < 0 or implausible_penalty < 0:
        raise ValueError(f"op_weight and implausible_penalty must be >= 0, got {op_weight}, {implausible_penalty}")
    if not spans:
        return [], []
    order = sorted(range(len(spans)), key=lambda i: tuple(spans[i]))
    p = Problem.build(text, [tuple(spans[i]) for i in order], [choices[i][0][0] for i in order])
    alts = [[(_op_list(label), op_weight * (lp - choices[i][0][1])) for label, lp in choices[i]] for i in order]

    def final(b: _Beam) -> float:
        st = b.state
        dangling = sum(1 for i in range(len(st.steps) - 1) if st.consumed[i] == 0)
        failed = sum(v is None for v in st.values)
        odd = bool(st.values) and implausible(st.values[-1])
        return b.score - DANGLING_PENALTY * dangling - FAIL_PENALTY * failed - implausible_penalty * odd

    beams = [_Beam(0.0, p, State(next_op=[0] * len(p.spans)), (0,) * len(p.spans))]
    done: list[_Beam] = []
    while beams:
        grown = [(b.score + lp, b, item, args, a, q)
                 for b in beams for lp, item, args, a, q in _expand(model, b.problem, b.state, beam, alts)]
        grown.sort(key=lambda x: -x[0])
        beams = []
        for score, b, item, args, a, q in grown[:beam]:
            st = b.state.copy()
            _apply(q, st, item, args)
            picked = b.picked if a < 0 else (*b.picked[:item[0]], a, *b.picked[item[0] + 1:])
            (beams if st.eligible(q) else done).append(_Beam(score, q, st, picked))
        if done:  # scores only fall: a beam already below the best finished wiring cannot win
            best = max(final(b) for b in done)
            beams = [b for b in beams if b.score > best]
    if not done:
        return [], [choices[i][0][0] for i in range(len(spans))]
    win = max(done, key=final)
    labels: list[str | Sequence[str]] = [""] * len(spans)
    for jj, i in enumerate(order):
        labels[i] = choices[i][win.picked[jj]][0]
    return win.state.steps, labels


def wire_learned(
    text: str,
    spans: Sequence[Span],
    ops: Sequence[str | Sequence[str]],
    model: WiringModel,
    *,
    beam: int = 8,
    implausible_penalty: float = 0.0,
) -> list[Step]:
    """Steps for ``spans`` (any order; they are sorted) with their ``ops``, wired by ``model``.

    Same input and output as ``mycelium.solver.wiring.wire``: ``ops[i]`` is an op name, several
    joined by ``MULTI_OP_SEP`` or a list; each ``Step`` has its region, its args (kinds, spans,
    steps) and exact value (None when it fails). The steps come in execution order, which the
    model picks; the last one is the answer. (``wire_learned_topk`` with one choice per span.)
    """
    if len(spans) != len(ops):
        raise ValueError(f"{len(spans)} spans but {len(ops)} op lists")
    return wire_learned_topk(text, spans, [[(o, 0.0)] for o in ops], model, beam=beam,
                             implausible_penalty=implausible_penalty)[0]


def learned_accuracy(records: Iterable[LabelRecord], model: WiringModel, *, beam: int = 8) -> tuple[float, int]:
    """(accuracy, n) of ``model`` rebuilding the gold answer from validated records' gold spans and
    ops (text order); records whose steps lack a single region count as misses."""
    hits = total = 0
    for r in records:
        if not r.validated:
            continue
        total += 1
        gold = gold_spans(r, "text")
        if gold is None:
            continue
        value = wired_answer(wire_learned(r.text, *gold, model, beam=beam))
        hits += int(value is not None and answer_equals(value, r.gold_answer))
    return (hits / total if total else 0.0), total
