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
import logging
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from mycelium.config import find_labels_dir
from mycelium.data.splits import split_of
from mycelium.errors import UserError
from mycelium.models.bio import LABELS
from mycelium.models.examples import (
    DEFAULT_MARKERS, SEGMENTER_TARGETS, ClassifierEncoder, SegmenterEncoder, classifier_examples, pad_batch,
    segmenter_example, segmenter_examples,
)
from mycelium.records.labels import LabelRecord

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
UNITS = ("tokens", "clauses")  # what the segmenter tags (mycelium.models.units)


class LabelsError(UserError):
    """The labels artifact is missing or holds nothing to train on."""


def labels_file(labels_dir: str | Path) -> Path:
    """``labels.jsonl`` in ``labels_dir`` (or ``labels_dir`` itself when it is that file)."""
    path = find_labels_dir(labels_dir)  # an old-style dir name ("limit=2000") still reads
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


def file_stamp(path: Path) -> tuple[int, int]:
    """(size in bytes, modification time in ns) of ``path``: what tells a rewritten file apart."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns


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
        # the stream re-reads the file every epoch; a relabel in the meantime would change the
        # split and the label set under the running job (``KeyError`` on an unseen op)
        self.stamp = file_stamp(path)

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
        if not self.path.is_file() or file_stamp(self.path) != self.stamp:
            raise LabelsError(f"{self.path} changed while this job read it (relabelled into the same labels_dir?); "
                              "write new labels to another labels_dir, or restart the job on the new labels")
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


class SegmenterDataModule(LabelsDataModule):
    """BIO token tags from each validated record's distinct step regions.

    ``targets="raw_iaf"`` tags the raw IAF-selected tokens instead of the clause regions (the
    ablation of clause expansion, ``experiment=ablate_regions``). ``units="clauses"`` also gives
    each token's clause and each clause's tag (``mycelium.models.units``; the texts are parsed
    once with ``spacy_model`` and the ``clauses`` rules). Raises UserError for an unknown
    ``targets`` or ``units``.
    """

    labels: tuple[str, ...] = LABELS

    def __init__(self, labels_dir: str, tokenizer: Any = None, *, targets: str = "regions", units: str = "tokens",
                 clauses: Mapping[str, Any] | None = None, spacy_model: str | None = None, **kwargs: Any) -> None:
        super().__init__(labels_dir, tokenizer, **kwargs)
        if targets not in SEGMENTER_TARGETS:
            raise UserError(f"datamodule.targets must be one of {SEGMENTER_TARGETS}, got {targets!r}")
        if units not in UNITS:
            raise UserError(f"datamodule.units must be one of {UNITS}, got {units!r}")
        if units == "clauses" and targets == "raw_iaf":
            raise UserError("datamodule.targets=raw_iaf tags raw IAF tokens, which are no runs of clauses: "
                            "use datamodule.units=tokens with it")
        self.targets, self.units = targets, units
        self.clauses, self.spacy_model = dict(clauses or {}), spacy_model
        self._units: dict[str, list] | None = None
        # a partial of a module function, not a bound method: it pickles to dataloader workers
        self.examples = partial(segmenter_examples, targets=targets)

    def _record_stats(self, record: LabelRecord, stats: dict[str, Any]) -> None:
        _, conflicts = segmenter_example(record, self.targets)
        stats["region_conflicts"] = stats.get("region_conflicts", 0) + conflicts

    def clause_units(self) -> dict[str, list]:
        """Each validated text's clause units (``units="clauses"``), parsed once with spaCy and
        the labels' clause rules (``clauses``: conf/labels ``clauses:``)."""
        if self._units is None:
            from mycelium.labels.clauses import ClauseConfig, load_spacy, parse
            from mycelium.models.units import clause_units

            rules = ClauseConfig(**self.clauses)
            mine = asdict(rules) | {"head_deps": list(rules.head_deps)}
            settings = self.path.parent / "settings.json"  # the rules the labels' regions were cut with
            used = json.loads(settings.read_text()).get("clauses") if settings.is_file() else None
            if used is not None and used != mine:
                log.warning("the labels in %s were cut with clause rules %s, the segmenter's units with %s: set "
                            "datamodule.clauses to the labels' rules", self.path.parent, used, mine)
            texts = sorted({r.text for r in iter_records(self.path)})
            parsed = parse(texts, load_spacy(self.spacy_model), rules)
            self._units = {t: clause_units(p) for t, p in zip(texts, parsed)}
        return self._units

    def encoder(self) -> SegmenterEncoder:
        return SegmenterEncoder(self.tokenizer, self.max_length, self.clause_units() if self.units == "clauses" else None)


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
