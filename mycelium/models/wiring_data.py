"""The wiring head's examples: a problem's quantity nodes, its gold actions, and batches.

**Quantity nodes** (:func:`problem_quantities`): every number written in the problem
(:func:`mycelium.labels.args.extract_numbers`, word numbers included) and every implicit
constant (:func:`mycelium.labels.args.implicit_operands`, "half" = 2), one node per *reading*:
the primary value and each alternative the same words stand for (:func:`alternatives`: "20%"
is 20 and 1/5, "half" is 2 and 1/2), so the head picks a reading as it picks a node. Then the
optional learned constants (values no word of the text states). Measured on the validated
labels, the written and implicit nodes hold every literal operand (GSM8K train 18,443 of 18,443,
MAWPS 4,116 of 4,116): validation only keeps DAGs grounded in the text, so no constant is needed
on these labels (``constants=[]`` by default).

**Actions** (:func:`record_actions`): the label DAG in the labels' own step order, as binary
steps ``(op, i, j, stop)`` over node indices; node ``Q + t`` is the result of action ``t``
(``Q`` quantity nodes). A step with 3+ operands (ADD/MUL "12+24+5") is *binarised left to
right*: ADD(a, b, c) becomes ADD(a, b) then ADD(that, c); decoding builds the same binary
steps. ``stop`` is 1 on the last action only.

**Items** (the optional conditioning, :func:`record_items`): the distinct step regions in text
order, each with its op distribution (one-hot for a region of one op; shared over the ops of a
region several steps state). Each action's gold item is its step's region.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from mycelium.data.answers import answers_match
from mycelium.data.mawps_folds import fold_of
from mycelium.data.splits import split_of
from mycelium.errors import UserError
from mycelium.labels.args import alternatives, extract_numbers, implicit_operands
from mycelium.records.labels import LabelRecord

Span = tuple[int, int]
OPS = ("ADD", "SUB", "MUL", "DIV")  # the ops the head scores (every op in GSM8K / MAWPS labels)
NARY = ("ADD", "MUL")


class WiringLabelsError(UserError):
    """The labels hold nothing the wiring head can learn from."""


@dataclass(frozen=True)
class Quantity:
    """A quantity node: a value and where the text states it (``span`` None: a learned constant)."""

    value: Fraction
    span: Span | None
    kind: str  # "number" | "implicit" | "constant"
    reading: int = 0  # 0: the primary value; k: the k-th alternative reading
    text: str = ""


def problem_quantities(text: str, constants: Sequence[str] = ()) -> list[Quantity]:
    """The quantity nodes of ``text``: written numbers and implicit constants in text order,
    one node per reading, then one node per learned constant (exact rational strings)."""
    out: list[Quantity] = []
    for a in sorted(extract_numbers(text) + implicit_operands(text), key=lambda a: (a.span, a.kind)):
        readings = [Fraction(a.value)]
        readings += [v for v in alternatives(a) if v not in readings]
        out += [Quantity(v, a.span, a.kind, k, a.text) for k, v in enumerate(readings)]
    return out + [Quantity(Fraction(c), None, "constant", k, c) for k, c in enumerate(constants)]


def node_groups(quantities: Sequence[Quantity]) -> tuple[list[int], list[bool]]:
    """Each node's quantity (the slot of its first reading) and whether it is a written
    number, for the head's stop state (``wiring_head.StopState``)."""
    first: dict[tuple, int] = {}
    group = [first.setdefault((q.span, q.kind), k) if q.span is not None else k for k, q in enumerate(quantities)]
    return group, [q.kind == "number" for q in quantities]


@dataclass
class WiringExample:
    """One problem: its text, nodes, gold actions (empty when unknown) and items."""

    id: str
    text: str
    gold_answer: str
    quantities: list[Quantity]
    actions: list[tuple[int, int, int, int]] = field(default_factory=list)  # (op id, i, j, stop)
    items: list[tuple[Span, list[float]]] = field(default_factory=list)  # (region, op distribution)
    action_items: list[int] = field(default_factory=list)  # gold item of each action


def _node_of(arg: Any, quantities: Sequence[Quantity]) -> int | None:
    value = Fraction(arg.value)
    for k, q in enumerate(quantities):
        if q.value == value and q.kind == arg.kind and (arg.span is None or q.span == tuple(arg.span)):
            return k
    return None


def record_actions(record: LabelRecord, quantities: Sequence[Quantity]) -> list[tuple[int, int, int, int]] | None:
    """The record's DAG as binary actions ``(op id, i, j, stop)`` (module docstring), or None
    when a step has an op outside ``OPS``, fewer than 2 operands, or an operand no node holds."""
    q = len(quantities)
    node_of_step: dict[int, int] = {}
    actions: list[tuple[int, int, int, int]] = []
    for s in record.steps:
        if s.op not in OPS or len(s.args) < 2 or (len(s.args) > 2 and s.op not in NARY):
            return None
        idx = [node_of_step.get(a.step) if a.kind == "result" else _node_of(a, quantities) for a in s.args]
        if None in idx:
            return None
        cur = idx[0]
        for other in idx[1:]:  # left to right: ADD(a, b, c) = ADD(ADD(a, b), c)
            actions.append((OPS.index(s.op), cur, other, 0))
            cur = q + len(actions) - 1
        node_of_step[s.index] = cur
    if not actions:
        return None
    actions[-1] = (*actions[-1][:3], 1)
    return actions


def record_items(record: LabelRecord) -> tuple[list[tuple[Span, list[float]]], list[int]] | None:
    """The distinct step regions in text order with their op distributions, and the gold item
    of every (binarised) action; None when a step has no region."""
    if any(s.region is None for s in record.steps):
        return None
    regions = sorted({tuple(s.region) for s in record.steps})
    counts = {r: np.zeros(len(OPS)) for r in regions}
    for s in record.steps:
        if s.op in OPS:
            counts[tuple(s.region)][OPS.index(s.op)] += 1
    items = [(r, (c / max(c.sum(), 1)).tolist()) for r, c in counts.items()]
    per_action = [regions.index(tuple(s.region)) for s in record.steps for _ in range(max(1, len(s.args) - 1))]
    return items, per_action


TrainOn = Literal["validated", "executes"]
NOT_LEARNED = ("ungrounded_operand", "cot_parse_error", "check_value_coincidence")  # rejections ``executes`` skips


def executes_to_gold(record: LabelRecord) -> bool:
    """True when the record's DAG is grounded and executes to its gold answer, whether or not
    it validated: what ``train_on="executes"`` trains on. Rejections for the regions
    (``no_region``, the region checks) or for a tie between equal values
    (``ambiguous_grounding``: either occurrence gives the same answer) keep a DAG worth
    learning; ``ungrounded_operand``, ``check_value_coincidence`` (an unwritten x1 let a
    same-valued operand stand in, so the DAG reaches gold by coincidence) and a wrong answer
    do not."""
    if record.validated:
        return True
    if not record.steps or record.answer is None or record.reason in NOT_LEARNED:
        return False
    return answers_match(record.answer, record.gold_answer)


def make_example(record: LabelRecord, constants: Sequence[str] = (), train_on: TrainOn = "validated") -> WiringExample:
    """A record as a ``WiringExample``: no actions when it is not validated (with
    ``train_on="executes"``: when its DAG does not execute to gold, ``executes_to_gold``) or
    not expressible; no items (it trains from the text alone) when a step has no region."""
    quantities = problem_quantities(record.text, constants)
    ex = WiringExample(record.id, record.text, record.gold_answer, quantities)
    learn = record.validated if train_on == "validated" else executes_to_gold(record)
    actions = record_actions(record, quantities) if learn else None
    if actions:
        ex.actions = actions
        if items := record_items(record):
            ex.items, ex.action_items = items
    return ex


def _pool_weights(offsets: np.ndarray, spans: Sequence[Span | None], length: int) -> np.ndarray:
    """``(len(spans), length)`` mean-pooling weights over the tokens each char span overlaps
    (a row of zeros for None or a span past the truncation)."""
    w = np.zeros((len(spans), length), np.float32)
    if not spans:
        return w
    ts, te = offsets[:, 0], offsets[:, 1]
    real = te > ts  # special tokens have empty offsets
    for k, sp in enumerate(spans):
        if sp is None:
            continue
        hit = real & (ts < sp[1]) & (te > sp[0])
        if hit.any():
            w[k, : len(hit)] = hit / hit.sum()
    return w


class WiringCollator:
    """Examples -> a padded batch: token ids, pooling weights of nodes and items, gold actions."""

    def __init__(self, tokenizer: Any, max_length: int = 256) -> None:
        self.tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, examples: Sequence[WiringExample]) -> dict[str, Any]:
        tok = self.tokenizer
        enc = tok([e.text for e in examples], padding=True, truncation=True, max_length=self.max_length,
                  return_offsets_mapping=True, return_tensors="np")
        B, L = enc["input_ids"].shape
        Q = max(1, max(len(e.quantities) for e in examples))
        K = max(1, max(len(e.items) for e in examples))
        T = max(1, max(len(e.actions) for e in examples))
        qw, iw = np.zeros((B, Q, L), np.float32), np.zeros((B, K, L), np.float32)
        qkind, qread = np.zeros((B, Q), np.int64), np.zeros((B, Q), np.int64)
        qgroup, qwritten = np.tile(np.arange(Q), (B, 1)), np.zeros((B, Q), bool)
        qmask, imask = np.zeros((B, Q), bool), np.zeros((B, K), bool)
        iops = np.zeros((B, K, len(OPS)), np.float32)
        actions, aitem = np.full((B, T, 4), -1, np.int64), np.full((B, T), -1, np.int64)
        kinds = {"number": 0, "implicit": 1, "constant": 2}
        for b, e in enumerate(examples):
            n = len(e.quantities)
            qw[b, :n] = _pool_weights(enc["offset_mapping"][b], [q.span for q in e.quantities], L)
            qkind[b, :n] = [kinds[q.kind] for q in e.quantities]
            qread[b, :n] = [q.reading for q in e.quantities]
            qgroup[b, :n], qwritten[b, :n] = node_groups(e.quantities)
            qmask[b, :n] = True
            if e.items:
                k = len(e.items)
                iw[b, :k] = _pool_weights(enc["offset_mapping"][b], [r for r, _ in e.items], L)
                iops[b, :k] = [d for _, d in e.items]
                imask[b, :k] = True
            if e.actions:  # result nodes sit after the padded Q quantity slots
                a = np.array(e.actions)
                a[:, 1:3] = np.where(a[:, 1:3] >= n, a[:, 1:3] - n + Q, a[:, 1:3])
                actions[b, : len(e.actions)] = a
                if e.action_items:  # none when the record has no regions (trains from the text alone)
                    aitem[b, : len(e.actions)] = e.action_items
        t = torch.from_numpy
        return {
            "input_ids": t(enc["input_ids"]), "attention_mask": t(enc["attention_mask"]),
            "q_weights": t(qw), "q_kind": t(qkind), "q_reading": t(qread), "q_mask": t(qmask),
            "q_group": t(qgroup), "q_written": t(qwritten),
            "item_weights": t(iw), "item_ops": t(iops), "item_mask": t(imask),
            "actions": t(actions), "action_items": t(aitem), "examples": list(examples),
        }


class WiringDataModule(L.LightningDataModule):
    """Wiring examples from ``labels.jsonl``: validated problems train; the split is the students'
    (``split_of`` with ``splits``/``split_salt``), or with ``test_fold=k`` (MAWPS five-fold) fold
    ``k``'s problems are the test set and ``val`` a ``val_fraction`` slice of the other four
    folds, by a hash of the id. ``test_unvalidated`` also tests (from the text alone) problems
    whose labels did not validate: the five-fold protocol scores every problem of a fold.
    ``train_on="executes"`` also trains on problems whose DAG executes to gold but did not
    validate for its regions or a tie of equal values (``executes_to_gold``): the text-alone
    wiring reads no region. Raises :class:`WiringLabelsError` for any other ``train_on``."""

    labels: tuple[str, ...] = OPS

    def __init__(
        self, labels_dir: str, tokenizer: Any = None, *, batch_size: int = 8, eval_batch_size: int | None = None,
        max_length: int = 256, splits: dict[str, float] | None = None, split_salt: str = "",
        test_fold: int | None = None, val_fraction: float = 0.05, test_unvalidated: bool = False,
        train_on: TrainOn = "validated", constants: Sequence[str] = (), limit: int | None = None, num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.labels_dir, self.tokenizer = labels_dir, tokenizer
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.max_length, self.splits, self.split_salt = max_length, dict(splits or {"train": 0.9, "val": 0.05, "test": 0.05}), split_salt
        self.test_fold, self.val_fraction, self.test_unvalidated = test_fold, val_fraction, test_unvalidated
        if train_on not in ("validated", "executes"):
            raise WiringLabelsError(f"datamodule.train_on={train_on!r}: use 'validated' or 'executes'")
        self.train_on: TrainOn = train_on
        self.constants, self.limit, self.num_workers = [str(c) for c in constants], limit, num_workers
        self.parts: dict[str, list[WiringExample]] | None = None

    def split(self, problem_id: str) -> str:
        if self.test_fold is None:
            return split_of(problem_id, self.splits, self.split_salt)
        if fold_of(problem_id) == self.test_fold:
            return "test"
        return split_of(problem_id, {"val": self.val_fraction, "train": 1 - self.val_fraction}, self.split_salt)

    def scan(self) -> dict[str, Any]:
        """Read and split the labels once; raises :class:`WiringLabelsError` when no validated
        problem (or no train/val problem) has a DAG the head can learn."""
        if self.parts is not None:
            return self.stats
        from mycelium.models.datamodule import labels_file

        path = labels_file(self.labels_dir)
        parts: dict[str, list[WiringExample]] = {"train": [], "val": [], "test": []}
        records = validated = skipped = extra = 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                records += 1
                if self.limit is not None and records > self.limit:
                    break
                rec = LabelRecord.from_dict(json.loads(line))
                validated += rec.validated
                split = self.split(rec.id)
                # val and test always score validated problems only (or, with test_unvalidated,
                # every test problem from the text alone): train_on widens the training set only
                ex = make_example(rec, self.constants, self.train_on if split == "train" else "validated")
                skipped += rec.validated and not ex.actions
                extra += not rec.validated and bool(ex.actions)
                if ex.actions or (split == "test" and self.test_unvalidated):
                    parts[split].append(ex)
        if validated == 0:
            raise WiringLabelsError(f"{path} has {records} records and none validated: nothing to train the wiring on; "
                                    "run `python extract.py stage=labels ...` first")
        for s in ("train", "val"):
            if not parts[s]:
                raise WiringLabelsError(f"{path}: no {s} problem among {validated} validated; label more problems or "
                                        "change datamodule.splits / test_fold")
        self.parts = parts
        self.stats = {"records": records, "validated": validated, "not_expressible": skipped, "unvalidated_trained": extra,
                      "problems": {k: len(v) for k, v in parts.items()}}
        return self.stats

    def setup(self, stage: str) -> None:
        self.scan()
        if self.tokenizer is None:
            raise RuntimeError("set datamodule.tokenizer (the backbone's tokenizer) before training")

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        data = self.scan() and self.parts[split]
        if split == "train":  # similar lengths per batch, batches shuffled
            data = sorted(data, key=lambda e: len(e.text))
            batches = [data[i : i + self.batch_size] for i in range(0, len(data), self.batch_size)]
            return DataLoader(_Shuffled(batches), batch_size=None, collate_fn=WiringCollator(self.tokenizer, self.max_length),
                              num_workers=self.num_workers)
        return DataLoader(data, batch_size=self.eval_batch_size, shuffle=False, num_workers=self.num_workers,
                          collate_fn=WiringCollator(self.tokenizer, self.max_length))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False)


class _Shuffled(torch.utils.data.Dataset):
    """Length-bucketed batches in a fresh random order each epoch (torch's RNG: seeded runs repeat)."""

    def __init__(self, batches: list[list[WiringExample]]) -> None:
        self.batches, self.order = batches, list(range(len(batches)))

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, k: int) -> list[WiringExample]:
        if k == 0:
            self.order = torch.randperm(len(self.batches)).tolist()
        return self.batches[self.order[k]]
