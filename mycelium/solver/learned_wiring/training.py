"""Fitting the learned wiring: the labels' own steps replayed as teacher-forced decisions
(cross-entropy over items and over pairs, binary for extra operands), on the students' split."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from mycelium.data.splits import split_of
from mycelium.labels.checks import rational
from mycelium.records.labels import LabelRecord
from mycelium.solver.learned_wiring.features import (
    CAND_FEATURES, ITEM_FEATURES, Problem, State, _apply, _op_index, candidate_features, candidates, item_features,
)
from mycelium.solver.learned_wiring.model import WiringModel
from mycelium.solver.wiring import gold_spans

SPLITS = {"train": 0.9, "val": 0.05, "test": 0.05}  # the students' split (LabelsDataModule)


@dataclass
class Decision:
    """One teacher-forced step: eligible items and the gold one, candidates and the gold args."""

    xi: np.ndarray
    item: int
    xc: np.ndarray
    kinds: np.ndarray
    values: np.ndarray
    op: int
    pair: tuple[int, int] | None  # gold first/second operand (None: an arg is not a candidate)
    extras: list[int]


def numeric(record: LabelRecord) -> bool:
    """Is every operand of ``record`` an earlier result or a rational number ("48", "1/2")?"""
    return all(a.kind == "result" or rational(a.value) is not None for s in record.steps for a in s.args)


def record_decisions(record: LabelRecord) -> list[Decision]:
    """Replay a validated record's steps (its CoT order) over its text-ordered gold spans; none
    for a symbolic (MATH) DAG, whose operands are expressions: this wiring learns arithmetic."""
    if not numeric(record):
        return []
    gold = gold_spans(record, "text")
    if gold is None:
        return []
    p = Problem.build(record.text, *gold)
    st = State(next_op=[0] * len(p.spans))
    position = {s.index: i for i, s in enumerate(record.steps)}
    out = []
    for s in record.steps:
        j = p.spans.index(tuple(s.region))
        item = (j, st.next_op[j])
        items = st.eligible(p)
        cands = candidates(p, st, item)
        xc, kinds, values = candidate_features(p, st, item, cands)
        idx = []
        for a in s.args:
            if a.kind == "result":
                want = position.get(a.step)
                hit = [i for i, c in enumerate(cands) if c.kind == "result" and c.step == want]
            else:
                hit = [i for i, c in enumerate(cands) if c.kind == a.kind and c.span == a.span]
            idx.append(hit[0] if hit else None)
        pair = (idx[0], idx[1]) if len(idx) >= 2 and None not in idx[:2] and idx[0] != idx[1] else None
        out.append(Decision(item_features(p, st, items), items.index(item), xc, kinds, values, _op_index(s.op),
                            pair, [i for i in idx[2:] if i is not None]))
        _apply(p, st, item, [cands[i] if i is not None else a for i, a in zip(idx, s.args)])
    return out


def _pad(decisions: Sequence[Decision]) -> dict[str, torch.Tensor]:
    D = len(decisions)
    I = max(d.xi.shape[0] for d in decisions)
    C = max(d.xc.shape[0] for d in decisions)
    xi = np.zeros((D, I, ITEM_FEATURES), np.float32)
    mi = np.zeros((D, I), bool)
    xc = np.zeros((D, C, CAND_FEATURES), np.float32)
    mc = np.zeros((D, C), bool)
    kinds = np.zeros((D, C), np.int64)
    values = np.zeros((D, C), np.float64)
    extra = np.zeros((D, C), np.float32)
    for n, d in enumerate(decisions):
        i, c = d.xi.shape[0], d.xc.shape[0]
        xi[n, :i], mi[n, :i] = d.xi, True
        xc[n, :c], mc[n, :c], kinds[n, :c], values[n, :c] = d.xc, True, d.kinds, d.values
        extra[n, d.extras] = 1.0
    pair = np.array([d.pair if d.pair else (-1, -1) for d in decisions])
    return dict(
        xi=torch.from_numpy(xi), mi=torch.from_numpy(mi), item=torch.tensor([d.item for d in decisions]),
        xc=torch.from_numpy(xc), mc=torch.from_numpy(mc), kinds=torch.from_numpy(kinds),
        values=torch.from_numpy(values), op=torch.tensor([d.op for d in decisions]),
        pair=torch.from_numpy(pair), extra=torch.from_numpy(extra),
    )


def _loss(model: WiringModel, b: dict[str, torch.Tensor]) -> torch.Tensor:
    li = model.item(b["xi"]).squeeze(-1).masked_fill(~b["mi"], float("-inf"))
    loss = F.cross_entropy(li, b["item"])
    has = b["pair"][:, 0] >= 0
    if has.any():
        lp, le = model.pair_logits(b["xc"][has], b["values"][has], b["kinds"][has], b["op"][has], b["mc"][has])
        C = lp.shape[1]
        target = b["pair"][has, 0] * C + b["pair"][has, 1]
        loss = loss + F.cross_entropy(lp.flatten(1), target)
        # extras: ADD/MUL only, every candidate but the chosen pair
        nary = (b["op"][has] == 0) | (b["op"][has] == 2)
        m = b["mc"][has].clone()
        m.scatter_(1, b["pair"][has], False)
        m &= nary[:, None]
        if m.any():
            loss = loss + F.binary_cross_entropy_with_logits(le[m], b["extra"][has][m])
    return loss


def fit_wiring(
    records: Iterable[LabelRecord],
    *,
    hidden: int = 64,
    dropout: float = 0.1,
    epochs: int = 60,
    batch_size: int = 256,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    log_every: int = 0,
) -> WiringModel:
    """Train a ``WiringModel`` on the validated ``records`` (teacher-forced on their step order)."""
    torch.manual_seed(seed)
    decisions = [d for r in records if r.validated for d in record_decisions(r)]
    if not decisions:
        raise ValueError("no validated record with single-region steps to learn from")
    model = WiringModel(hidden, dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    gen = torch.Generator().manual_seed(seed)
    # batches padded once (decisions sorted by size so padding stays small), shuffled per epoch
    order = sorted(range(len(decisions)), key=lambda i: decisions[i].xc.shape[0])
    batches = [_pad([decisions[i] for i in order[s:s + batch_size]]) for s in range(0, len(order), batch_size)]
    model.train()
    for epoch in range(epochs):
        total = 0.0
        for bi in torch.randperm(len(batches), generator=gen).tolist():
            loss = _loss(model, batches[bi])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        sched.step()
        if log_every and (epoch + 1) % log_every == 0:
            print(f"epoch {epoch + 1}: loss {total / len(batches):.3f}", flush=True)
    return model.eval()


def split_records(records: Iterable[LabelRecord], split: str, fractions: Mapping[str, float] = SPLITS,
                  salt: str = "") -> list[LabelRecord]:
    """The validated records of one of the students' splits (``fractions``, hashed by id)."""
    return [r for r in records if r.validated and split_of(r.id, fractions, salt) == split]
