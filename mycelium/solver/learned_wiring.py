"""A learned DAG builder: which span's op runs next, and which operands feed it.

``wire`` (the heuristics) executes spans in text order and takes operands by a fixed
preference. Measured on validated labels, that rebuilds the gold answer from *gold* spans and
ops for only ~20% of GSM8K problems: the CoT's order is not text order (the question's
clause often states the first op; "She sold half as many" comes after the 48 it halves), and
which number or result feeds an op depends on words, distances and values. This module learns
both from the validated label DAGs, which hold every step's span, op and args.

Decoding is sequential. The state is the steps built so far. At each step:

1. **item**: the next op to run, among the first not-yet-run op of every span (a span's own
   ops keep their listed order, as the classifier's "MUL+ADD" states them). An MLP scores each
   eligible item from its op, position, question-ness, keywords, unused numbers in its span,
   dangling results; softmax over the eligible items.
2. **operands**: every candidate (each number written in the problem, with the parts of a
   written fraction "3/5"; each implicit constant inside the span, "half" = 2; each earlier
   result) gets a feature row (kind, char distance to the span, used/consumed counts, steps
   back, value magnitude and rank, cue words after it, the op). An MLP gives each candidate a
   first-operand and a second-operand score; a pair MLP adds a score for the ordered pair from
   what ``op(a, b)`` would give (positive? integer? a fraction?) and the two kinds. Softmax over
   all ordered pairs. ADD/MUL take further operands whose "extra" sigmoid is above 1/2 (20% of
   GSM8K problems have a 3+ operand step, "12+24+5").
3. beam search over (item, pair) with the summed log-probabilities; a finished wiring loses
   ``DANGLING_PENALTY`` per result nobody consumed but the last (validated DAGs have none) and
   ``FAIL_PENALTY`` per step that fails to execute, and optionally ``implausible_penalty`` when
   its answer is negative or fractional (a prior for word problems: GSM8K's answers are whole).
4. op choice (``wire_learned_topk``): a span may come with several candidate op labels (the
   classifier's top-k with log-probs); its label is chosen when its first op runs, each label an
   item of its own scored by the models with that label's ops plus ``op_weight`` x its log-prob
   relative to the span's best label. ``wire_learned`` is the case of one label per span.

The answer is the last step's value, as for ``wire``. Training is teacher-forced on the labels'
own step order (cross-entropy over items and over pairs, binary for extras).

    python -m mycelium.solver.learned_wiring fit artifacts/labels/gsm8k-train/smollm2_135m-dataset/default --out /tmp/wiring

trains on the students' ``train`` split (``mycelium.data.splits.split_of``), saves the
model (``config.json`` + ``model.safetensors``) and prints heuristics vs learned on the held-out
``test`` (and ``val``) problems. ``Solver`` uses a model saved in ``<students>/wiring/``.

Measured (SmolLM2-dataset labels of GSM8K train, ``default/``: 1,392 validated of 2,000; gold
spans and ops, text order, answer = last step): on the 144 held-out val+test problems learned
0.292 vs heuristic chain 0.146 (chain in the labels' own CoT order: 0.215); 3-fold
cross-validation over all 1,392: learned 0.288, chain 0.143, chain in CoT order 0.203. Fitting
takes ~15 s on 2 CPU cores, decoding ~20 ms a problem (beam 8). E2E on GSM8K test (first 300,
``students/default``): 0.010 with chain, 0.027 with the learned wiring. Later, with the snapped
spans of ``mycelium.solver.spans``: 0.047 with the classifier's argmax ops, 0.060 choosing among
its top-3 (``op_weight`` 0.5), 0.070 adding ``implausible_penalty`` 3 (MAWPS test, first 300:
0.117, 0.127, 0.120: 15% of its answers are fractional or negative, so there the prior is off).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mycelium.dag.graph import ExecutionError, answer_equals, format_value
from mycelium.dag.ops import MULTI_OP_SEP, OPS, apply_op
from mycelium.labels.args import IMPLICIT, extract_numbers, implicit_operands
from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord
from mycelium.data.splits import split_of
from mycelium.solver.wiring import STRATEGIES, gold_spans, read_records, wired_answer

Span = tuple[int, int]
OP_NAMES = ("ADD", "SUB", "MUL", "DIV")  # every other op shares one "other" slot
KINDS = ("number-in-span", "number-elsewhere", "implicit", "result")
KEYWORDS = ("each", "per", "every", "times", "half", "twice", "more", "less", "fewer", "left",
            "remain", "rest", "total", "altogether", "together", "how many", "how much", "?",
            "%", "cost", "spend", "earn", "sell", "buy", "than", "if", "of", "after", "then")
SPLITS = {"train": 0.9, "val": 0.05, "test": 0.05}  # the students' split (LabelsDataModule)
DANGLING_PENALTY = 3.0
FAIL_PENALTY = 10.0
MAX_EXTRAS = 4

_RATE_AFTER = re.compile(r"^\W{0,3}(?:\w+\W+){0,2}?(?:each|per|every|an?)\b", re.IGNORECASE)
_COMPARE_AFTER = re.compile(r"^\W{0,3}(?:\w+\W+){0,3}?(?:more|less|fewer|than|times)\b", re.IGNORECASE)
_FRACTION = re.compile(r"^(\d+)/(\d+)$")


def _op_onehot(op: str) -> list[float]:
    return [float(op == o) for o in OP_NAMES] + [float(op not in OP_NAMES)]


def _op_list(label: str | Sequence[str]) -> list[str]:
    """A span's ops from its label: "MUL+ADD" (``MULTI_OP_SEP``-joined) or a list."""
    return label.split(MULTI_OP_SEP) if isinstance(label, str) else list(label)


def _keywords(s: str) -> list[float]:
    s = s.lower()
    return [float(k in s if not k.isalpha() else re.search(rf"\b{k}", s) is not None) for k in KEYWORDS]


def _implicit_entry(arg: Arg) -> int:
    """Index of the ``IMPLICIT`` table row an implicit arg came from (its word and value)."""
    for i, entry in enumerate(IMPLICIT):
        if re.fullmatch(entry.words, arg.text, re.IGNORECASE) and Fraction(arg.value) == entry.value:
            return i
    return len(IMPLICIT) - 1


def problem_numbers(text: str) -> list[Arg]:
    """Every number written in ``text``, plus the numerator and denominator of each written
    fraction ("3/5" -> 3/5, 3, 5): labels ground "3/5 of them" as MUL(DIV(x, 5), 3) as often
    as MUL(x, 3/5)."""
    out = []
    for a in extract_numbers(text):
        out.append(a)
        m = _FRACTION.match(a.text.strip())
        if m:
            s = a.span[0] + a.text.index(m.group(0))
            out.append(Arg("number", m.group(1), m.group(1), (s, s + len(m.group(1)))))
            d = s + len(m.group(1)) + 1
            out.append(Arg("number", m.group(2), m.group(2), (d, d + len(m.group(2)))))
    return out


# ---------------------------------------------------------------------------------------------
# the problem and the decoding state


@dataclass
class Problem:
    """A problem's text and its op-bearing spans (text order) with their op lists."""

    text: str
    spans: list[Span]
    ops: list[list[str]]
    numbers: list[Arg] = field(default_factory=list)
    implicits: list[list[Arg]] = field(default_factory=list)  # per span
    sentences: list[Span] = field(default_factory=list)
    question: Span = (0, 0)  # the sentence that asks (holds "?", else the last)

    @classmethod
    def build(cls, text: str, spans: Sequence[Span], ops: Sequence[str | Sequence[str]]) -> "Problem":
        if len(spans) != len(ops):
            raise ValueError(f"{len(spans)} spans but {len(ops)} op lists")
        op_lists = [_op_list(o) for o in ops]
        sents = [m.span() for m in re.finditer(r"[^.?!]+[.?!]*", text)] or [(0, len(text))]
        asks = [s for s in sents if "?" in text[s[0]:s[1]]]
        return cls(
            text, [tuple(s) for s in spans], op_lists, problem_numbers(text),
            [implicit_operands(text[s:e], s) for s, e in spans], sents, asks[-1] if asks else sents[-1],
        )

    def sentence_of(self, pos: int) -> int:
        return next((i for i, (s, e) in enumerate(self.sentences) if s <= pos < e), len(self.sentences) - 1)

    @property
    def n_items(self) -> int:
        return sum(len(o) for o in self.ops)


@dataclass
class State:
    """The steps wired so far and what they used."""

    steps: list[Step] = field(default_factory=list)
    values: list[Fraction | None] = field(default_factory=list)
    items: list[tuple[int, int]] = field(default_factory=list)  # (span index, op index) per step
    used: Counter = field(default_factory=Counter)  # literal span -> times used
    consumed: Counter = field(default_factory=Counter)  # step index -> times consumed
    next_op: list[int] = field(default_factory=list)  # per span: index of its next op

    def copy(self) -> "State":
        return State(list(self.steps), list(self.values), list(self.items), Counter(self.used),
                     Counter(self.consumed), list(self.next_op))

    def eligible(self, p: Problem) -> list[tuple[int, int]]:
        return [(j, k) for j, k in enumerate(self.next_op) if k < len(p.ops[j])]


def _fvalue(v: Fraction | None) -> float:
    return float("nan") if v is None else float(v)


def candidates(p: Problem, st: State, item: tuple[int, int]) -> list[Arg]:
    """Operand candidates of ``item``: problem numbers, the span's implicits, earlier results."""
    results = [Arg("result", "" if v is None else format_value(v), step=i) for i, v in enumerate(st.values)]
    return p.numbers + p.implicits[item[0]] + results


ITEM_FEATURES = 5 + 2 + 1 + 2 + 4 + 4 + 4 + 4 + 2 + 4 + 1 + len(KEYWORDS)


def item_features(p: Problem, st: State, items: Sequence[tuple[int, int]]) -> np.ndarray:
    """One row per eligible item (span index, op index): what makes it the next op to run."""
    L = max(len(p.text), 1)
    t, n = len(st.steps), p.n_items
    last_j = st.items[-1][0] if st.items else -1
    dangling = sum(1 for i in range(t) if st.consumed[i] == 0)
    unused_total = sum(1 for a in p.numbers if st.used[a.span] == 0) / max(len(p.numbers), 1)
    rows = []
    for rank, (j, k) in enumerate(items):
        s, e = p.spans[j]
        seg = p.text[s:e]
        unused = sum(1 for a in p.numbers if s <= a.span[0] and a.span[1] <= e and st.used[a.span] == 0)
        in_q = float(s < p.question[1] and p.question[0] < e)
        rows.append(
            _op_onehot(p.ops[j][k])
            + [float(k == 0), (len(p.ops[j]) - k - 1) / 3]
            + [float(bool(p.implicits[j]))]
            + [s / L, e / L]
            + [float(j == 0), float(j == len(p.spans) - 1), in_q, float("?" in seg)]
            + [float(rank == 0), float(rank == len(items) - 1), rank / max(len(items), 1), float(len(items) == 1)]
            + [float(unused == 0), float(unused == 1), float(unused >= 2), unused_total]
            + [float(dangling == c) for c in (0, 1, 2)] + [float(dangling >= 3)]
            + [t / max(n, 1), float(t == n - 1)]
            + [float(j == last_j), float(j == last_j + 1), float(j < last_j), float(last_j < 0)]
            + [float(p.sentence_of(s) == p.sentence_of(p.spans[last_j][0])) if last_j >= 0 else 0.0]
            + _keywords(seg)
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(items), ITEM_FEATURES)


CAND_FEATURES = 4 + 7 + 5 + 2 + 13 + len(IMPLICIT) + 6 + 5 + len(KEYWORDS)


def candidate_features(p: Problem, st: State, item: tuple[int, int], cands: Sequence[Arg]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature rows, kind indices (``KINDS``) and float values of ``cands`` as operands of ``item``."""
    L = max(len(p.text), 1)
    j, k = item
    s, e = p.spans[j]
    op = p.ops[j][k]
    span_nums = [a for a in p.numbers if s <= a.span[0] and a.span[1] <= e]
    span_sent = p.sentence_of(s)
    values = np.array([_fvalue(Fraction(a.value) if a.kind != "result" else st.values[a.step]) for a in cands])
    finite = np.where(np.isfinite(values), values, -np.inf)
    rank = (-finite).argsort(kind="stable").argsort() / max(len(cands), 1)  # 0 = largest
    context = _op_onehot(op) + _keywords(p.text[s:e])
    rows, kinds = [], []
    t = len(st.steps)
    for a, v, r in zip(cands, values, rank):
        if a.kind == "result":
            kind = 3
            back = t - a.step
            res = [1 / back, float(back == 1), float(st.consumed[a.step] > 0), float(st.consumed[a.step] > 1),
                   float(st.items[a.step][0] == j), float(st.values[a.step] is None),
                   float(st.items[a.step][0] < j)]
            res_op = _op_onehot(st.steps[a.step].op)
            lit, num, imp = [0.0, 0.0], [0.0] * 13, [0.0] * len(IMPLICIT)
        else:
            inside = s <= a.span[0] and a.span[1] <= e
            kind = 2 if a.kind == "implicit" else (0 if inside else 1)
            res, res_op = [0.0] * 7, [0.0] * 5
            lit = [float(st.used[a.span] > 0), float(st.used[a.span] > 1)]
            imp = [0.0] * len(IMPLICIT)
            num = [0.0] * 13
            if a.kind == "implicit":
                imp[_implicit_entry(a)] = 1.0
            else:
                dist = 0 if inside else (s - a.span[1] if a.span[1] <= s else a.span[0] - e)
                idx = span_nums.index(a) if a in span_nums else -1
                after = p.text[a.span[1]:a.span[1] + 30]
                num = [(a.span[0] - s) / L, dist / L, float(a.span[1] <= s), float(a.span[0] >= e),
                       float(p.question[0] <= a.span[0] < p.question[1]), float(p.sentence_of(a.span[0]) == span_sent),
                       (idx + 1) / max(len(span_nums), 1), float(idx == 0), float(idx >= 0 and idx == len(span_nums) - 1),
                       float("%" in a.text or "percent" in after[:9].lower()), float("$" in a.text),
                       float(bool(_RATE_AFTER.match(after))), float(bool(_COMPARE_AFTER.match(after)))]
        fin = math.isfinite(v)
        val = [math.log10(abs(v) + 1) / 4 if fin else 0.0, float(fin and v == int(v)), float(fin and 0 < v < 1),
               float(fin and v == 1), float(r), float(r == 0)]
        onehot = [float(kind == i) for i in range(4)]
        rows.append(onehot + res + res_op + lit + num + imp + val + context)
        kinds.append(kind)
    return (np.asarray(rows, dtype=np.float32).reshape(len(cands), CAND_FEATURES),
            np.asarray(kinds, dtype=np.int64), values)


PAIR_FEATURES = 9 + 4 + 4 + 5


def pair_features(values: torch.Tensor, kinds: torch.Tensor, op: torch.Tensor) -> torch.Tensor:
    """[B, C, C, PAIR_FEATURES]: what ``op(a, b)`` gives for every ordered candidate pair (a, b):
    positive, zero, integer, a fraction, magnitude, a > b, a == b, and the two kinds and the op.
    ``values`` [B, C] float64 (nan for a failed result), ``kinds`` [B, C], ``op`` [B] in 0..4."""
    a, b = values[:, :, None], values[:, None, :]
    o = op[:, None, None]
    r = torch.where(o == 0, a + b, torch.where(o == 1, a - b, torch.where(o == 2, a * b, a / b)))
    r = torch.where(o == 4, torch.zeros_like(r), r)
    ok = torch.isfinite(r)
    r0 = torch.where(ok, r, torch.zeros_like(r))
    feats = [
        (r0 > 0), (r0.abs() < 1e-9) & ok, ((r0 - r0.round()).abs() < 1e-6) & ok, (r0 > 0) & (r0 < 1), ~ok,
        (torch.log10(r0.abs() + 1) / 4).clamp(max=3), (a > b).expand_as(r), (a == b).expand_as(r),
        (torch.log10((a.abs() + 1) / (b.abs() + 1)).nan_to_num(0.0) / 3).clamp(-2, 2).expand_as(r),
    ]
    C = values.shape[1]
    fa = F.one_hot(kinds, 4)[:, :, None, :].expand(-1, C, C, 4)
    fb = F.one_hot(kinds, 4)[:, None, :, :].expand(-1, C, C, 4)
    fo = F.one_hot(op, 5)[:, None, None, :].expand(-1, C, C, 5)
    return torch.cat([torch.stack([f.to(torch.float32) for f in feats], -1), fa.float(), fb.float(), fo.float()], -1)


def _arity(op: str) -> int:
    """The most operands ``op`` takes (2 for n-ary and unknown ops: extras come separately)."""
    spec = OPS.get(op)
    return 2 if spec is None or spec.max_arity is None else spec.max_arity


def _op_index(op: str) -> int:
    return OP_NAMES.index(op) if op in OP_NAMES else 4


# ---------------------------------------------------------------------------------------------
# the model


def _mlp(n_in: int, hidden: int, n_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Dropout(dropout), nn.Linear(hidden, n_out))


class WiringModel(nn.Module):
    """Three small MLPs: item (which op next), candidate (first/second/extra operand), pair."""

    def __init__(self, hidden: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden = hidden
        self.item = _mlp(ITEM_FEATURES, hidden, 1, dropout)
        self.cand = _mlp(CAND_FEATURES, hidden, 3, dropout)
        self.pair = _mlp(PAIR_FEATURES, hidden // 2, 1, dropout)

    def pair_logits(self, xc: torch.Tensor, values: torch.Tensor, kinds: torch.Tensor, op: torch.Tensor,
                    mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ordered-pair logits [B, C, C] (invalid pairs -inf) and extra-operand logits [B, C]."""
        u = self.cand(xc)  # [B, C, 3]
        logits = u[:, :, 0, None] + u[:, None, :, 1] + self.pair(pair_features(values, kinds, op)).squeeze(-1)
        C = xc.shape[1]
        valid = mask[:, :, None] & mask[:, None, :] & ~torch.eye(C, dtype=torch.bool, device=xc.device)
        return logits.masked_fill(~valid, float("-inf")), u[:, :, 2]


# ---------------------------------------------------------------------------------------------
# training data: the labels' own steps replayed as decisions


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


def _apply(p: Problem, st: State, item: tuple[int, int], args: list[Arg]) -> None:
    """Run ``item`` with ``args`` and record it in ``st`` (the one place a step is made)."""
    j, k = item
    op = p.ops[j][k]
    for a in args:
        if a.kind == "result":
            st.consumed[a.step] += 1
        else:
            st.used[a.span] += 1
    operands = [st.values[a.step] if a.kind == "result" else Fraction(a.value) for a in args]
    value = None
    if all(v is not None for v in operands):
        try:
            value = apply_op(op, operands)
        except ExecutionError:
            value = None
    index = len(st.steps)
    st.steps.append(Step(index, op, [Arg(a.kind, a.value, a.text, a.span, a.step) for a in args],
                         None if value is None else format_value(value), region=p.spans[j]))
    st.values.append(value)
    st.items.append(item)
    st.next_op[j] += 1


def record_decisions(record: LabelRecord) -> list[Decision]:
    """Replay a validated record's steps (its CoT order) over its text-ordered gold spans."""
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


# ---------------------------------------------------------------------------------------------
# decoding


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


# ---------------------------------------------------------------------------------------------
# save / load


def save_wiring(model: WiringModel, out_dir: str | Path) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``out_dir``."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = {"hidden": model.hidden, "item_features": ITEM_FEATURES, "cand_features": CAND_FEATURES,
              "pair_features": PAIR_FEATURES, "keywords": list(KEYWORDS)}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors"))
    return out


def load_wiring(path: str | Path) -> WiringModel:
    """A ``WiringModel`` saved by ``save_wiring``. Refuses one built with other features."""
    from safetensors.torch import load_file

    path = Path(path)
    config = json.loads((path / "config.json").read_text())
    want = {"item_features": ITEM_FEATURES, "cand_features": CAND_FEATURES, "pair_features": PAIR_FEATURES,
            "keywords": list(KEYWORDS)}
    if any(config.get(k) != v for k, v in want.items()):
        raise ValueError(f"{path} holds a wiring model built with other features; refit it")
    model = WiringModel(config["hidden"])
    model.load_state_dict(load_file(str(path / "model.safetensors")))
    return model.eval()


def is_wiring_dir(path: str | Path) -> bool:
    """Does ``path`` hold a saved wiring model?"""
    return (Path(path) / "config.json").is_file() and (Path(path) / "model.safetensors").is_file()


# ---------------------------------------------------------------------------------------------
# measuring


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


def split_records(records: Iterable[LabelRecord], split: str, fractions: Mapping[str, float] = SPLITS,
                  salt: str = "") -> list[LabelRecord]:
    """The validated records of one of the students' splits (``fractions``, hashed by id)."""
    return [r for r in records if r.validated and split_of(r.id, fractions, salt) == split]


def main(argv: Sequence[str] | None = None) -> None:
    """``fit <labels> --out <dir>``: train on the train split, save, print heuristics vs learned."""
    from mycelium.solver.wiring import wiring_accuracy

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    fit = sub.add_parser("fit", help="train on the train split, save, compare on val/test")
    fit.add_argument("labels", help="a labels.jsonl or a directory holding one")
    fit.add_argument("--out", required=True, help="directory to save the model in (e.g. <students>/wiring)")
    fit.add_argument("--epochs", type=int, default=60)
    fit.add_argument("--hidden", type=int, default=64)
    fit.add_argument("--beam", type=int, default=8)
    fit.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    records = read_records(args.labels)
    parts = {s: split_records(records, s) for s in SPLITS}
    model = fit_wiring(parts["train"], hidden=args.hidden, epochs=args.epochs, seed=args.seed, log_every=10)
    save_wiring(model, args.out)
    print(f"\n{args.labels}: {sum(r.validated for r in records)} validated of {len(records)}; "
          f"trained on {len(parts['train'])} (train split), model saved in {args.out}\n")
    print("| wiring (gold spans + ops, text order) | val | test | val+test |")
    print("|---|---|---|---|")
    held = parts["val"] + parts["test"]
    n = {k: len(v) for k, v in (("val", parts["val"]), ("test", parts["test"]), ("held", held))}
    for strategy in STRATEGIES:
        accs = [wiring_accuracy(x, strategy) for x in (parts["val"], parts["test"], held)]
        print(f"| heuristic {strategy} (larger-first, problem numbers) | " + " | ".join(f"{a:.3f}" for a in accs) + " |")
    accs = [wiring_accuracy(x, "chain", step_order="gold") for x in (parts["val"], parts["test"], held)]
    print("| heuristic chain in the labels' CoT order (a reference: needs gold order) | "
          + " | ".join(f"{a:.3f}" for a in accs) + " |")
    accs = [learned_accuracy(x, model, beam=args.beam)[0] for x in (parts["val"], parts["test"], held)]
    print(f"| learned (beam {args.beam}) | " + " | ".join(f"{a:.3f}" for a in accs) + " |")
    print(f"| n | {n['val']} | {n['test']} | {n['held']} |")


if __name__ == "__main__":
    main()
