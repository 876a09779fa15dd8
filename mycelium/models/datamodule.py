"""DataModules that stream the students' examples from the labels artifact (``labels.jsonl``).

Only ``validated`` records are used. Each problem lands in one split, decided by a hash of its
id (so the split is stable across runs, machines and re-generated label files, and no problem
is in two splits). The stream is sharded over DDP ranks and dataloader workers by example
index, and batched inside the dataset: examples are bucketed by token length within a buffer
of ``batch_size * bucket_batches`` examples and padded per batch.

DDP needs every rank to run the same number of steps, so a split's examples are cut to a
multiple of the world size (at most ``world_size - 1`` examples dropped) and shared round
robin; workers within a rank share the same way, so every rank yields the same batch count.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from mycelium.dag.ops import MULTI_OP_SEP
from mycelium.data.splits import split_of
from mycelium.errors import UserError
from mycelium.records.labels import LabelRecord
from mycelium.models.bio import IGNORE, LABELS, clean_regions, regions_to_token_tags

Span = tuple[int, int]
SPLITS = ("train", "val", "test")
DEFAULT_MARKERS = ("[[", "]]")


class LabelsError(UserError):
    """The labels artifact is missing or holds nothing to train on."""


def labels_file(labels_dir: str | Path) -> Path:
    """``labels.jsonl`` in ``labels_dir`` (or ``labels_dir`` itself when it is that file)."""
    path = Path(labels_dir)
    path = path if path.suffix == ".jsonl" else path / "labels.jsonl"
    if not path.is_file():
        raise LabelsError(
            f"no labels file at {path}; run `python extract.py stage=labels ...` first "
            "(or set labels_dir=<dir holding labels.jsonl>)"
        )
    return path


def iter_records(path: Path, *, validated_only: bool = True) -> Iterator[LabelRecord]:
    """Stream records from a labels file, in file order."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            if validated_only and not d.get("validated"):
                continue
            yield LabelRecord.from_dict(d)


SEGMENTER_TARGETS = ("regions", "raw_iaf")


def segmenter_example(record: LabelRecord, targets: str = "regions") -> tuple[dict, int]:
    """``({id, text, regions}, conflicts)``: the record's distinct target spans.

    ``targets="regions"``: each step's clause-expanded region; ``"raw_iaf"``: each step's raw
    IAF-selected problem tokens (``iaf_spans``, adjacent tokens merged), the unexpanded labels
    the design compares regions against. Identical spans give one; a span partially
    overlapping an earlier one is dropped and counted in ``conflicts``.
    """
    if targets == "regions":
        spans = [s.region for s in record.steps if s.region is not None]
    elif targets == "raw_iaf":
        spans = [span for s in record.steps for span in s.iaf_spans]
    else:
        raise ValueError(f"segmenter targets must be one of {SEGMENTER_TARGETS}, got {targets!r}")
    regions, conflicts = clean_regions(spans)
    return {"id": record.id, "text": record.text, "regions": regions}, conflicts


def classifier_examples(record: LabelRecord, multi_op: str = "join") -> tuple[list[dict], int]:
    """``([{id, text, region, op}], shared)``: one example per distinct region.

    A region several steps share (a clause that states two operations, e.g. "3 pages to 2
    friends twice a week" = MUL, MUL) is labelled, with ``multi_op="join"``, with its ops
    joined in step order ("MUL+MUL"), so the label says everything the clause does and the
    solver can run each op (``mycelium.solver.wiring`` splits it); with ``"first"``, with
    the first step's op only. ``shared`` counts the steps that share a region with an earlier one.
    """
    if multi_op not in ("join", "first"):
        raise ValueError(f"multi_op must be 'join' or 'first', got {multi_op!r}")
    seen: dict[Span, list[str]] = {}
    shared = 0
    for s in record.steps:
        if s.region is None:
            continue
        shared += s.region in seen
        seen.setdefault(s.region, []).append(s.op)
    examples = [
        {"id": record.id, "text": record.text, "region": r, "op": MULTI_OP_SEP.join(ops) if multi_op == "join" else ops[0]}
        for r, ops in seen.items()
    ]
    return examples, shared


def mark_span(text: str, region: Span, markers: Sequence[str] = DEFAULT_MARKERS) -> str:
    """The classifier's input: ``text`` with ``markers[0]``/``markers[1]`` around ``region``.

    The markers are plain strings the tokenizer splits like any text (no new vocabulary),
    e.g. ``"She sold [[half as many]] in May."``.
    """
    s, e = region
    return f"{text[:s]}{markers[0]}{text[s:e]}{markers[1]}{text[e:]}"


def pad_batch(examples: Sequence[dict], pad_id: int) -> dict[str, Any]:
    """Right-pad ``input_ids`` (with ``pad_id``) and token ``labels`` (with -100) to the batch max.

    Tensor fields: ``input_ids``, ``attention_mask``, ``labels`` (token lists are padded; ints
    become a 1-D tensor). Every other field is kept as a list, one entry per example.
    """
    width = max(len(ex["input_ids"]) for ex in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for k, ex in enumerate(examples):
        n = len(ex["input_ids"])
        ids[k, :n] = torch.tensor(ex["input_ids"])
        mask[k, :n] = 1
    batch: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
    if isinstance(examples[0]["labels"], list):
        labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
        for k, ex in enumerate(examples):
            labels[k, : len(ex["labels"])] = torch.tensor(ex["labels"])
    else:
        labels = torch.tensor([ex["labels"] for ex in examples], dtype=torch.long)
    batch["labels"] = labels
    for key in examples[0]:
        if key not in batch:
            batch[key] = [ex[key] for ex in examples]
    return batch


def _dist_rank_world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class LabelStream(IterableDataset):
    """Batches of one split, streamed from a labels file, sharded over ranks and workers.

    ``examples`` turns a record into raw examples, ``encode`` turns one into a dict with
    ``input_ids`` and ``labels`` (plus any metadata kept as lists in the batch). ``total`` is
    the split's example count (from :meth:`LabelsDataModule.scan`); with more than one rank the
    stream keeps its first ``total - total % world_size`` examples. Each iteration (epoch)
    draws a fresh shuffle seed from torch's RNG (or the worker's seed), so shuffling differs
    per epoch and is reproducible under ``seed_everything(..., workers=True)``.
    """

    def __init__(
        self,
        path: Path,
        split: str,
        fractions: Mapping[str, float],
        examples: Callable[[LabelRecord], list[dict]],
        encode: Callable[[dict], dict],
        *,
        batch_size: int,
        pad_id: int,
        total: int | None = None,
        bucket_batches: int = 50,
        shuffle: bool = False,
        salt: str = "",
        num_workers: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__()
        self.path, self.split, self.fractions, self.salt = path, split, dict(fractions), salt
        self.examples, self.encode = examples, encode
        self.batch_size, self.pad_id, self.total = batch_size, pad_id, total
        self.bucket_batches, self.shuffle, self.num_workers = bucket_batches, shuffle, num_workers
        self.rank, self.world_size = rank, world_size

    def _rank_world(self) -> tuple[int, int]:
        if self.rank is not None and self.world_size is not None:
            return self.rank, self.world_size
        return _dist_rank_world()

    def _usable(self, world: int) -> int | None:
        if self.total is None or world == 1:
            return None
        return self.total - self.total % world

    def shard_examples(self) -> Iterator[dict]:
        """This rank's and worker's raw examples, in file order (no encoding, no batching)."""
        rank, world = self._rank_world()
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        usable = self._usable(world)
        j = 0  # index of the example within the split
        for record in iter_records(self.path):
            if split_of(record.id, self.fractions, self.salt) != self.split:
                continue
            for ex in self.examples(record):
                if usable is not None and j >= usable:
                    return
                if j % world == rank and (j // world) % workers == worker:
                    yield ex
                j += 1

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        seed = info.seed if info is not None else int(torch.randint(2**31, ()).item())
        rng = random.Random(seed)
        size = self.batch_size * self.bucket_batches  # a multiple of batch_size: see __len__
        buffer: list[dict] = []
        for ex in self.shard_examples():
            buffer.append(self.encode(ex))
            if len(buffer) == size:
                yield from self._flush(buffer, rng)
                buffer = []
        if buffer:
            yield from self._flush(buffer, rng)

    def _flush(self, buffer: list[dict], rng: random.Random) -> Iterator[dict[str, Any]]:
        if self.shuffle:
            rng.shuffle(buffer)  # random order among equal lengths
        buffer.sort(key=lambda ex: len(ex["input_ids"]))  # similar lengths share a batch
        batches = [buffer[i : i + self.batch_size] for i in range(0, len(buffer), self.batch_size)]
        if self.shuffle:
            rng.shuffle(batches)
        for b in batches:
            yield pad_batch(b, self.pad_id)

    def __len__(self) -> int:
        """Batches this rank yields in one pass (needs ``total``): sum over workers of ceil(n_w / B)."""
        if self.total is None:
            raise TypeError("LabelStream has no length without total")
        _, world = self._rank_world()
        n_rank = (self._usable(world) or self.total) // world
        workers = max(1, self.num_workers)
        per_worker = [n_rank // workers + (1 if w < n_rank % workers else 0) for w in range(workers)]
        return sum(math.ceil(n / self.batch_size) for n in per_worker)


class LabelsDataModule(L.LightningDataModule):
    """Common streaming, splitting and batching; subclasses say what an example is.

    ``tokenizer`` may be given later (``dm.tokenizer = model.tokenizer``): the student's
    tokenizer comes with its backbone, while the classifier's head size comes from the data.
    """

    def __init__(
        self,
        labels_dir: str,
        tokenizer: Any = None,
        *,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        max_length: int = 256,
        splits: Mapping[str, float] | None = None,
        split_salt: str = "",
        bucket_batches: int = 50,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.labels_dir = labels_dir
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.max_length = max_length
        self.splits = dict(splits or {"train": 0.9, "val": 0.05, "test": 0.05})
        self.split_salt = split_salt
        self.bucket_batches = bucket_batches
        self.num_workers = num_workers
        self._stats: dict[str, Any] | None = None

    # What an example is, given by subclasses as picklable callables (no reference back to the
    # DataModule, whose trainer must not travel to dataloader workers):
    # ``examples(record) -> list[dict]`` (a staticmethod) and ``encoder() -> (example -> dict)``.
    examples: Callable[[LabelRecord], list[dict]]

    def encoder(self) -> Callable[[dict], dict]:
        """Token ids and labels of one raw example."""
        raise NotImplementedError

    def _record_stats(self, record: LabelRecord, stats: dict[str, Any]) -> None:
        """Subclass hook: add per-record counts to ``stats`` during :meth:`scan`."""

    @property
    def path(self) -> Path:
        return labels_file(self.labels_dir)

    def scan(self) -> dict[str, Any]:
        """One pass over the labels file: examples per split, records, conflicts, op counts.

        Raises :class:`LabelsError` when there is no file, no validated record, or no
        training or validation example.
        """
        if self._stats is not None:
            return self._stats
        path = self.path
        stats: dict[str, Any] = {"records": 0, "validated": 0, "examples": Counter(), "problems": Counter()}
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    stats["records"] += 1
        for record in iter_records(path):
            stats["validated"] += 1
            split = split_of(record.id, self.splits, self.split_salt)
            stats["problems"][split] += 1
            stats["examples"][split] += len(self.examples(record))
            self._record_stats(record, stats)
        if stats["validated"] == 0:
            raise LabelsError(
                f"{path} has {stats['records']} records and none validated: nothing to train on; "
                "run `python extract.py stage=labels ...` first (or check why labels are rejected)"
            )
        for split in ("train", "val"):
            if stats["examples"][split] == 0:
                raise LabelsError(
                    f"{path}: no {split} examples among {stats['validated']} validated records "
                    f"with splits={self.splits}; label more problems or change datamodule.splits"
                )
        self._stats = stats
        return stats

    def setup(self, stage: str) -> None:
        """Check the labels file and count examples (cached; cheap on later calls)."""
        self.scan()
        if self.tokenizer is None:
            raise RuntimeError("set datamodule.tokenizer (the backbone's tokenizer) before training")

    @property
    def pad_id(self) -> int:
        tok = self.tokenizer
        return tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def stream(self, split: str, *, shuffle: bool) -> LabelStream:
        """The batched stream of one split."""
        stats = self.scan()
        return LabelStream(
            self.path,
            split,
            self.splits,
            self.examples,
            self.encoder(),
            batch_size=self.batch_size if split == "train" else self.eval_batch_size,
            pad_id=self.pad_id,
            total=stats["examples"][split],
            bucket_batches=self.bucket_batches,
            shuffle=shuffle,
            salt=self.split_salt,
            num_workers=self.num_workers,
        )

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        # batch_size=None: the stream yields ready batches (bucketed and padded).
        return DataLoader(self.stream(split, shuffle=shuffle), batch_size=None, num_workers=self.num_workers)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


def segmenter_examples(record: LabelRecord, targets: str = "regions") -> list[dict]:
    """The record's segmenter example (none when it has no target span)."""
    ex, _ = segmenter_example(record, targets)
    return [ex] if ex["regions"] else []


class SegmenterEncoder:
    """Token ids and BIO tag ids of a segmenter example (a plain object: pickles to workers)."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        self.tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, example: dict) -> dict:
        text = example["text"]
        enc = self.tokenizer(
            text,
            truncation=True,
            max_length=self.max_length,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
        )
        offsets = [tuple(o) for o in enc["offset_mapping"]]
        return {
            "input_ids": enc["input_ids"],
            "labels": regions_to_token_tags(text, offsets, example["regions"], enc["special_tokens_mask"]),
            "id": example["id"],
            "text": text,
            "offsets": offsets,
            "regions": example["regions"],
        }


class ClassifierEncoder:
    """Token ids of the marked problem and the op id of a classifier example."""

    def __init__(self, tokenizer: Any, max_length: int, markers: Sequence[str], labels: Sequence[str]) -> None:
        self.tokenizer, self.max_length, self.markers = tokenizer, max_length, tuple(markers)
        self.label2id = {name: k for k, name in enumerate(labels)}

    def __call__(self, example: dict) -> dict:
        text = mark_span(example["text"], example["region"], self.markers)
        enc = self.tokenizer(text, truncation=True, max_length=self.max_length)
        return {"input_ids": enc["input_ids"], "labels": self.label2id[example["op"]], "id": example["id"]}


class SegmenterDataModule(LabelsDataModule):
    """BIO token tags from each validated record's distinct step regions.

    ``targets="raw_iaf"`` tags the raw IAF-selected tokens instead of the clause regions (the
    ablation of clause expansion, ``experiment=ablate_regions``).
    """

    labels: tuple[str, ...] = LABELS

    def __init__(self, labels_dir: str, tokenizer: Any = None, *, targets: str = "regions", **kwargs: Any) -> None:
        super().__init__(labels_dir, tokenizer, **kwargs)
        if targets not in SEGMENTER_TARGETS:
            raise UserError(f"datamodule.targets must be one of {SEGMENTER_TARGETS}, got {targets!r}")
        self.targets = targets
        # a partial of a module function, not a bound method: it pickles to dataloader workers
        self.examples = partial(segmenter_examples, targets=targets)

    def _record_stats(self, record: LabelRecord, stats: dict[str, Any]) -> None:
        _, conflicts = segmenter_example(record, self.targets)
        stats["region_conflicts"] = stats.get("region_conflicts", 0) + conflicts

    def encoder(self) -> SegmenterEncoder:
        return SegmenterEncoder(self.tokenizer, self.max_length)


class ClassifierDataModule(LabelsDataModule):
    """(problem with the region marked, op id) pairs; the label map is every op in the data, sorted."""

    def __init__(
        self, labels_dir: str, tokenizer: Any = None, *, markers: Sequence[str] = DEFAULT_MARKERS,
        multi_op: str = "join", **kwargs: Any,
    ) -> None:
        super().__init__(labels_dir, tokenizer, **kwargs)
        self.markers = tuple(markers)
        self.multi_op = multi_op  # a shared region's label: "join" ("MUL+ADD") or "first" ("MUL")

    def examples(self, record: LabelRecord) -> list[dict]:
        return classifier_examples(record, self.multi_op)[0]

    def _record_stats(self, record: LabelRecord, stats: dict[str, Any]) -> None:
        examples, shared = classifier_examples(record, self.multi_op)
        stats["shared_region_steps"] = stats.get("shared_region_steps", 0) + shared
        stats.setdefault("ops", Counter()).update(ex["op"] for ex in examples)

    @property
    def labels(self) -> tuple[str, ...]:
        """Op names, sorted: label id ``k`` is ``labels[k]``."""
        return tuple(sorted(self.scan()["ops"]))

    def encoder(self) -> ClassifierEncoder:
        return ClassifierEncoder(self.tokenizer, self.max_length, self.markers, self.labels)
