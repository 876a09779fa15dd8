"""The learned wiring's inputs: a problem's spans and ops, the decoding state, and the feature
rows the models score (which op runs next, which operands feed it, what a pair would give).

``_apply`` is the one place a step is made: training replays the labels through it and the
beam search (``beam.py``) extends its states with it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch
from torch.nn import functional as F

from mycelium.dag.graph import ExecutionError, format_value
from mycelium.dag.ops import MULTI_OP_SEP, OPS, apply_op
from mycelium.dag.steps import Arg, Step
from mycelium.labels.args import IMPLICIT, extract_numbers, implicit_operands

Span = tuple[int, int]
OP_NAMES = ("ADD", "SUB", "MUL", "DIV")  # every other op shares one "other" slot
KINDS = ("number-in-span", "number-elsewhere", "implicit", "result")
KEYWORDS = ("each", "per", "every", "times", "half", "twice", "more", "less", "fewer", "left",
            "remain", "rest", "total", "altogether", "together", "how many", "how much", "?",
            "%", "cost", "spend", "earn", "sell", "buy", "than", "if", "of", "after", "then")

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
    """``v`` as a float; nan for none, and for a value beyond a float's range (a MATH power)."""
    if v is None:
        return float("nan")
    try:
        return float(v)
    except OverflowError:
        return float("nan")


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
