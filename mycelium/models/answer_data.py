"""The answer-only baseline's data: (question, final number) pairs of a problem set.

The problems come from a problem set (``load_problems``: all 7,473 GSM8K train problems by
default) or from a labels file (every record, validated or not, unless ``validated_only``),
so the baseline can train on exactly the problems the students saw. Each problem lands in
train / val / test by :func:`mycelium.data.splits.split_of` of its id, as the students' do.
Batches are bucketed by length (sorted within shuffled chunks) to waste less padding on a CPU.
"""

from __future__ import annotations

import random
from functools import partial
from collections import Counter
from collections.abc import Mapping
from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from mycelium.data.problems import load_problems
from mycelium.data.splits import split_of
from mycelium.errors import UserError
from mycelium.labels.stage import read_labels
from mycelium.models.answer_only import PROMPT, AnswerEncoder, answer_target
from mycelium.models.examples import pad_batch

SOURCES = ("problems", "labels")


def bucketed_batches(lengths: list[int], batch_size: int, rng: random.Random | None, chunk: int = 50) -> list[list[int]]:
    """Index batches of similar length: (shuffled, when ``rng``) chunks of ``batch_size * chunk``
    indices, each sorted by length and cut into batches; the batches shuffled again."""
    order = list(range(len(lengths)))
    if rng is not None:
        rng.shuffle(order)
    size = batch_size * chunk
    batches = []
    for i in range(0, len(order), size):
        part = sorted(order[i : i + size], key=lengths.__getitem__)
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


class _Batches:
    """A reusable iterable of index batches; reshuffled on every pass (epoch) when ``shuffle``."""

    def __init__(self, lengths: list[int], batch_size: int, shuffle: bool, seed: int) -> None:
        self.lengths, self.batch_size, self.shuffle, self.epoch, self.seed = lengths, batch_size, shuffle, 0, seed

    def __iter__(self):
        rng = random.Random(self.seed + self.epoch) if self.shuffle else None
        self.epoch += 1
        return iter(bucketed_batches(self.lengths, self.batch_size, rng))

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size) if self.lengths else 0


class AnswerOnlyDataModule(L.LightningDataModule):
    """Question -> answer examples for :class:`mycelium.models.answer_only.AnswerOnlyModule`.

    Args:
        source: ``problems`` (``dataset``/``split`` through ``load_problems``) or ``labels``
            (the records of ``labels_dir``).
        limit: the first N problems of the source (None: all).
        splits: train/val/test fractions of ``split_of`` (by problem id).
        prompt: the template around the question; the model's (``conf/model/answer_only.yaml``
            sets both from one key).
    ``tokenizer`` may be set later (``dm.tokenizer = model.tokenizer``).
    Raises :class:`UserError` (one line) when the source has no problem with a numeric
    answer, or no train or val problem.
    """

    def __init__(
        self,
        source: str = "problems",
        dataset: str = "gsm8k",
        split: str = "train",
        data_dir: str | None = None,
        labels_dir: str | None = None,
        validated_only: bool = False,
        limit: int | None = None,
        tokenizer: Any = None,
        *,
        prompt: str = PROMPT,
        batch_size: int = 16,
        eval_batch_size: int | None = None,
        max_length: int = 320,
        splits: Mapping[str, float] | None = None,
        split_salt: str = "",
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if source not in SOURCES:
            raise UserError(f"datamodule.source={source!r}: choose one of {SOURCES}")
        if source == "labels" and not labels_dir:
            raise UserError("datamodule.source=labels needs labels_dir=<dir holding labels.jsonl>")
        self.source, self.dataset, self.split, self.data_dir = source, dataset, split, data_dir
        self.labels_dir, self.validated_only, self.limit = labels_dir, validated_only, limit
        self.tokenizer, self.prompt = tokenizer, prompt
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.max_length, self.splits, self.split_salt = max_length, dict(splits or {"train": 0.9, "val": 0.05, "test": 0.05}), split_salt
        self.num_workers, self.seed = num_workers, seed
        self._pairs: dict[str, list[tuple[str, str]]] | None = None
        self._stats: dict[str, Any] | None = None
        self._encoded: dict[str, list[dict]] = {}

    @property
    def name(self) -> str:
        return str(self.labels_dir) if self.source == "labels" else f"{self.dataset}/{self.split}"

    def _problems(self) -> list[tuple[str, str, str | None]]:
        """(id, question, gold answer) of the source, in its order."""
        if self.source == "labels":
            records = [r for r in read_labels(self.labels_dir) if r.validated or not self.validated_only]
            rows = [(r.id, r.text, r.gold_answer) for r in records]
            return rows[: self.limit] if self.limit is not None else rows
        problems = load_problems(self.dataset, self.split, self.data_dir, limit=self.limit)
        return [(p.id, p.text, p.answer) for p in problems]

    def scan(self) -> dict[str, Any]:
        """Problems per split and those without a numeric answer (left out, counted)."""
        if self._stats is not None:
            return self._stats
        rows = self._problems()
        pairs: dict[str, list[tuple[str, str]]] = {s: [] for s in self.splits}
        no_answer = 0
        for pid, text, gold in rows:
            target = answer_target(gold)
            if target is None:
                no_answer += 1
                continue
            pairs[split_of(pid, self.splits, self.split_salt)].append((text, target))
        if no_answer == len(rows):
            raise UserError(f"{self.name}: none of its {len(rows)} problems has a numeric gold answer; "
                            "the answer-only baseline needs answers like '72' or '2.5'")
        for split in ("train", "val"):
            if not pairs.get(split):
                raise UserError(f"{self.name}: no {split} problems among {len(rows) - no_answer} with splits={self.splits}; "
                                "use more problems (a larger limit) or change datamodule.splits")
        self._pairs = pairs
        self._stats = {"problems": len(rows), "no_numeric_answer": no_answer,
                       "examples": Counter({s: len(p) for s, p in pairs.items()})}
        return self._stats

    def pairs(self, split: str) -> list[tuple[str, str]]:
        """(question, answer target) of one split."""
        self.scan()
        return list(self._pairs.get(split, []))

    def setup(self, stage: str) -> None:
        self.scan()
        if self.tokenizer is None:
            raise RuntimeError("set datamodule.tokenizer (the backbone's tokenizer) before training")

    def encoded(self, split: str) -> list[dict]:
        """The split's encoded examples (tokenised once, cached)."""
        if split not in self._encoded:
            pairs = self.pairs(split)
            encode = AnswerEncoder(self.tokenizer, self.max_length, self.prompt)
            self._encoded[split] = encode([q for q, _ in pairs], [a for _, a in pairs]) if pairs else []
        return self._encoded[split]

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        examples = self.encoded(split)
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        batches = _Batches([len(ex["input_ids"]) for ex in examples], self.batch_size if split == "train" else self.eval_batch_size,
                           shuffle, self.seed)
        return DataLoader(examples, batch_sampler=batches, collate_fn=partial(pad_batch, pad_id=pad_id), num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
