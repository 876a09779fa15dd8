"""What one labels record teaches each student, and how an example becomes token ids.

The segmenter learns BIO tags over the problem text from the record's distinct step regions
(``segmenter_example``); the classifier learns the op of each region, shown with the region
marked in its context (``classifier_examples``, ``mark_span``). The encoders are plain objects
so they pickle to dataloader workers; ``pad_batch`` pads a bucket into tensors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from mycelium.dag.ops import MULTI_OP_SEP
from mycelium.errors import UserError
from mycelium.models.bio import IGNORE, clean_regions, regions_to_token_tags
from mycelium.models.units import token_units, unit_tags
from mycelium.records.labels import LabelRecord

Span = tuple[int, int]
DEFAULT_MARKERS = ("[[", "]]")
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


def segmenter_examples(record: LabelRecord, targets: str = "regions") -> list[dict]:
    """The record's segmenter example (none when it has no target span)."""
    ex, _ = segmenter_example(record, targets)
    return [ex] if ex["regions"] else []


class SegmenterEncoder:
    """Token ids and BIO tag ids of a segmenter example (a plain object: pickles to workers).

    ``units`` (text -> its clause units, ``mycelium.models.units``): also each token's unit
    (``unit_of``) and each unit's tag (``unit_labels``), for the segmenter over clause units."""

    def __init__(self, tokenizer: Any, max_length: int, units: Mapping[str, list[Span]] | None = None) -> None:
        self.tokenizer, self.max_length, self.units = tokenizer, max_length, units

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
        out = {
            "input_ids": enc["input_ids"],
            "labels": regions_to_token_tags(text, offsets, example["regions"], enc["special_tokens_mask"]),
            "id": example["id"],
            "text": text,
            "offsets": offsets,
            "regions": example["regions"],
        }
        if self.units is not None:
            if text not in self.units:  # the training set streams the labels file each epoch
                raise UserError(f"{example['id']}: a problem the labels held no clause units for at setup: "
                                "the labels file changed during training. Relabel into another "
                                "labels_dir while a run reads this one.")
            units = self.units[text]
            out |= {"units": units, "unit_of": token_units(text, offsets, units, enc["special_tokens_mask"]),
                    "unit_labels": unit_tags(units, example["regions"])}
        return out


class ClassifierEncoder:
    """Token ids of the marked problem and the op id of a classifier example."""

    def __init__(self, tokenizer: Any, max_length: int, markers: Sequence[str], labels: Sequence[str]) -> None:
        self.tokenizer, self.max_length, self.markers = tokenizer, max_length, tuple(markers)
        self.label2id = {name: k for k, name in enumerate(labels)}

    def __call__(self, example: dict) -> dict:
        text = mark_span(example["text"], example["region"], self.markers)
        enc = self.tokenizer(text, truncation=True, max_length=self.max_length)
        return {"input_ids": enc["input_ids"], "labels": self.label2id[example["op"]], "id": example["id"]}
