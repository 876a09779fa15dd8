"""Streaming DataModules: hash splits, rank/worker sharding, bucketing, clear errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from mycelium.data.splits import split_of
from mycelium.errors import UserError
from mycelium.models.datamodule import (
    ClassifierDataModule,
    LabelsError,
    SegmenterDataModule,
)
from mycelium.models.examples import classifier_examples
from mycelium.records.labels import LabelRecord
from mycelium.teacher.loading import build_tiny_tokenizer

SPLITS = {"train": 0.6, "val": 0.2, "test": 0.2}


@pytest.fixture(scope="module")
def tok():
    return build_tiny_tokenizer()


def seg_dm(labels_dir: Path, tok, **kw) -> SegmenterDataModule:
    return SegmenterDataModule(str(labels_dir), tok, splits=SPLITS, batch_size=3, max_length=64, **kw)


def ids_of(batches) -> list[str]:
    return [i for b in batches for i in b["id"]]


def test_split_is_deterministic_and_follows_fractions() -> None:
    ids = [f"p{i}" for i in range(4000)]
    fr = {"train": 0.9, "val": 0.05, "test": 0.05}
    first = [split_of(i, fr) for i in ids]
    assert first == [split_of(i, fr) for i in ids]
    counts = Counter(first)
    assert 0.87 < counts["train"] / 4000 < 0.93 and counts["val"] > 120 and counts["test"] > 120
    assert [split_of(i, fr, salt="other") for i in ids] != first


def test_record_from_dict_inverts_to_dict(record_factory) -> None:
    rec = record_factory(3)
    assert LabelRecord.from_dict(json.loads(json.dumps(rec.to_dict()))) == rec


def test_splits_are_disjoint_and_cover_validated_records(labels_dir: Path, records, tok) -> None:
    dm = seg_dm(labels_dir, tok)
    dm.setup("fit")
    seen = {s: ids_of(dm.stream(s, shuffle=False)) for s in ("train", "val", "test")}
    assert all(seen.values())
    for a, b in [("train", "val"), ("train", "test"), ("val", "test")]:
        assert not set(seen[a]) & set(seen[b])
    assert sorted(sum(seen.values(), [])) == sorted(r.id for r in records if r.validated)
    assert dm.scan()["validated"] == 32 and dm.scan()["records"] == 40


@pytest.mark.parametrize("num_workers", [0, 2])
def test_workers_see_each_example_once(labels_dir: Path, tok, num_workers: int) -> None:
    dm = seg_dm(labels_dir, tok, num_workers=num_workers)
    dm.setup("fit")
    loader = dm.train_dataloader()
    batches = list(loader)
    got = ids_of(batches)
    assert len(got) == len(set(got)) == dm.scan()["examples"]["train"]
    assert len(batches) == len(loader)  # __len__ matches what the workers yield


def test_ranks_share_evenly_with_equal_batch_counts(labels_dir: Path, tok) -> None:
    dm = seg_dm(labels_dir, tok)
    total = dm.scan()["examples"]["train"]
    per_rank, lengths = [], []
    for rank in range(3):
        stream = dm.stream("train", shuffle=True)
        stream.rank, stream.world_size = rank, 3
        batches = list(stream)
        per_rank.append(ids_of(batches))
        lengths.append((len(batches), len(stream)))
    flat = sum(per_rank, [])
    assert len(flat) == len(set(flat)) == total - total % 3  # the tail is dropped so ranks match
    assert len({n for n, _ in lengths}) == 1 and all(n == m for n, m in lengths)


def test_batches_are_length_bucketed_and_padded_per_batch(tmp_path: Path, tok, record_factory, labels_writer) -> None:
    records = [record_factory(i) for i in range(60)]
    dm = SegmenterDataModule(str(labels_writer(tmp_path, records)), tok, splits={"train": 0.8, "val": 0.2},
                             batch_size=4, max_length=64, bucket_batches=100)
    stream = dm.stream("train", shuffle=True)
    widths = []
    for b in stream:
        lengths = b["attention_mask"].sum(1)
        assert b["input_ids"].shape[1] == int(lengths.max())  # padded to this batch's longest
        assert (b["labels"][b["attention_mask"] == 0] == -100).all()
        widths.append(int(lengths.max() - lengths.min()))
    # Sorted within one buffer: the spread inside a batch is small next to the data's spread.
    assert max(widths) < 8


def test_shuffle_changes_between_epochs_but_not_the_content(labels_dir: Path, tok) -> None:
    dm = seg_dm(labels_dir, tok)
    stream = dm.stream("train", shuffle=True)
    a, b = ids_of(stream), ids_of(stream)
    assert sorted(a) == sorted(b) and a != b


def test_a_labels_file_rewritten_under_a_running_job_raises(tmp_path: Path, tok, records, labels_writer) -> None:
    # a relabel into the same labels_dir mid-run would change the split and the label set
    d = labels_writer(tmp_path, records)
    stream = seg_dm(d, tok).stream("train", shuffle=False)
    first = ids_of(stream)
    assert first and ids_of(stream) == first  # epochs re-read an unchanged file
    labels_writer(tmp_path, records[: len(records) // 2])
    with pytest.raises(LabelsError, match="changed while this job read it"):
        ids_of(stream)


def test_missing_labels_file_raises(tmp_path: Path, tok) -> None:
    with pytest.raises(LabelsError, match="extract.py stage=labels"):
        seg_dm(tmp_path / "nowhere", tok).setup("fit")


def test_no_validated_records_raises(tmp_path: Path, tok, record_factory, labels_writer) -> None:
    d = labels_writer(tmp_path, [record_factory(i, validated=False) for i in range(5)])
    with pytest.raises(LabelsError, match="none validated"):
        seg_dm(d, tok).setup("fit")
    (d / "labels.jsonl").write_text("")
    with pytest.raises(LabelsError, match="none validated"):
        seg_dm(d, tok).setup("fit")


def test_classifier_examples_join_the_ops_of_a_shared_region(record_factory) -> None:
    rec = record_factory(3)  # two steps on one region: DIV then MUL
    examples, shared = classifier_examples(rec)
    assert [e["op"] for e in examples] == ["DIV+MUL"] and shared == 1


def test_classifier_datamodule_label_map_and_marked_inputs(labels_dir: Path, tok) -> None:
    dm = ClassifierDataModule(str(labels_dir), tok, splits=SPLITS, batch_size=4)
    assert dm.labels == ("ADD", "DIV", "DIV+MUL", "MUL")  # a shared region keeps both ops
    assert dm.scan()["shared_region_steps"] == sum(1 for i in range(40) if i % 4 == 3 and i % 5 != 4)
    batch = next(iter(dm.stream("train", shuffle=False)))
    assert batch["labels"].dtype.is_floating_point is False and batch["labels"].ndim == 1
    text = tok.decode(batch["input_ids"][0][batch["attention_mask"][0] == 1])
    assert "[[" in text and "]]" in text


def test_classifier_examples_can_keep_only_the_first_op(record_factory) -> None:
    examples, shared = classifier_examples(record_factory(3), multi_op="first")
    assert [e["op"] for e in examples] == ["DIV"] and shared == 1
    with pytest.raises(ValueError, match="multi_op"):
        classifier_examples(record_factory(3), multi_op="all")


def test_segmenter_targets_raw_iaf_tags_the_raw_iaf_tokens(tmp_path: Path, tok, record_factory, labels_writer) -> None:
    records = [record_factory(i) for i in range(40)]
    for rec in records:
        # two raw IAF tokens per step (the name and the last word), one shared by both steps
        name = rec.text.split()[0]
        last = rec.text.rindex(" ") + 1
        for step in rec.steps:
            step.iaf_spans = [(0, len(name)), (last, len(rec.text))]
    d = labels_writer(tmp_path, records)
    regions = seg_dm(d, tok)
    raw = seg_dm(d, tok, targets="raw_iaf")
    raw_batches = list(raw.stream("train", shuffle=False))
    by_id = {r.id: r for r in records}
    for b in raw_batches:
        for i, spans in zip(b["id"], b["regions"]):
            text = by_id[i].text
            assert spans == [(0, len(text.split()[0])), (text.rindex(" ") + 1, len(text))]  # shared spans once
    # the same problems and splits, other targets
    assert ids_of(raw_batches) == ids_of(regions.stream("train", shuffle=False))
    assert {sp for b in regions.stream("train", shuffle=False) for r in b["regions"] for sp in r}.isdisjoint(
        {sp for b in raw_batches for r in b["regions"] for sp in r})
    with pytest.raises(UserError, match="targets"):
        seg_dm(d, tok, targets="tokens")
