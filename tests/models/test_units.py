"""Clause units: tokens to clauses, tags both ways, pooling, and the segmenter over clauses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mycelium.labels.clauses import ClauseConfig, load_spacy, parse
from mycelium.models.bio import IGNORE, B, I, O
from mycelium.models.export import load_exported
from mycelium.models.units import clause_units, pad_unit_of, pool_units, token_units, unit_tags, unit_tags_to_regions
from mycelium.runs.fit_student import train

TEXT = "Tom has 5 apples. He buys 3 more, and Mary eats 2. How many are left?"


def test_clause_units_are_sorted_disjoint_clauses_of_the_parse() -> None:
    parsed = parse([TEXT], load_spacy(), ClauseConfig())[0]
    units = clause_units(parsed)
    assert units == sorted(units) and all(e1 <= s2 for (_, e1), (s2, _) in zip(units, units[1:]))
    assert (0, len("Tom has 5 apples.")) in units or (0, len("Tom has 5 apples")) in units
    assert any(TEXT[s:e].startswith("How many") for s, e in units)


def test_token_units_by_where_a_token_core_starts() -> None:
    units = [(0, 5), (6, 12)]  # "ab cd" | "ef, gh"
    text = "ab cd ef, gh"
    offsets = [(0, 0), (0, 2), (2, 5), (5, 8), (8, 9), (9, 12), (12, 12)]
    special = [True, False, False, False, False, False, True]
    assert token_units(text, offsets, units, special) == [-1, 0, 0, 1, 1, 1, -1]
    assert token_units(text, offsets, [], special) == [-1] * 7
    assert token_units("ab. cd", [(0, 2), (2, 3), (3, 6)], [(0, 2), (4, 6)]) == [0, -1, 1]  # "." between units
    assert token_units("   ", [(0, 3)], [(0, 1)]) == [-1] and token_units("", [], [(0, 1)]) == []


def test_unit_tags_of_partial_and_shared_overlaps() -> None:
    units = [(0, 5), (6, 10), (11, 20)]
    assert unit_tags(units, [(3, 8)]) == [B, I, O]           # a region cutting through two units takes both
    assert unit_tags(units, [(0, 8), (7, 20)]) == [B, I, B]  # a unit overlapping two regions goes to the first
    assert unit_tags(units, []) == [O, O, O]


def test_unit_tags_round_trip_runs_of_units() -> None:
    units = [(0, 5), (6, 10), (11, 20), (21, 30)]
    regions = [(6, 20), (21, 30)]
    tags = unit_tags(units, regions)
    assert tags == [O, B, I, B]
    assert unit_tags_to_regions(units, tags) == regions
    assert unit_tags_to_regions(units, [I, O, I, I]) == [(0, 5), (11, 30)]  # orphan I opens a span
    assert unit_tags_to_regions(units, [B, IGNORE, I, O]) == [(0, 5), (11, 20)]  # a unit past the input closes


def test_pool_units_means_token_logits_per_unit_and_flags_unseen_units() -> None:
    logits = torch.arange(2 * 4 * 3, dtype=torch.float).view(2, 4, 3)
    unit_of = pad_unit_of([[0, 0, 1, -1], [-1, 0]], 4)
    assert unit_of.tolist() == [[0, 0, 1, -1], [-1, 0, -1, -1]]
    pooled, seen = pool_units(logits, unit_of, [2, 2])
    assert torch.equal(pooled[0], logits[0, :2].mean(0)) and torch.equal(pooled[1], logits[0, 2])
    assert torch.equal(pooled[2], logits[1, 1]) and seen.tolist() == [True, True, True, False]
    assert torch.equal(pooled[3], torch.zeros(3))


def test_a_segmenter_over_clause_units_trains_exports_and_predicts_runs_of_clauses(cfg_factory) -> None:
    cfg = cfg_factory(["datamodule.units=clauses", "+trainer.fast_dev_run=true"])
    metrics = train(cfg)
    assert {"train/loss", "val/span_f1", "test/span_f1"} <= set(metrics) and "test/token_acc" not in metrics
    export = Path(cfg.paths.output_dir) / "export"
    meta = json.loads((export / "label_map.json").read_text())
    assert meta["units"] == "clauses" and meta["clauses"]["head_deps"][0] == "ROOT"
    seg = load_exported(export, device="cpu")
    assert seg.units == "clauses"
    texts = [TEXT, "Natalia sold 48 clips in April. She sold half as many in May."]
    units = [clause_units(p) for p in parse(texts, load_spacy(), ClauseConfig())]

    def always(tag: int):  # a head that says `tag` for every token
        return lambda input_ids, attention_mask: torch.nn.functional.one_hot(
            torch.full_like(input_ids, tag), 3).float() * 5

    seg.forward = always(B)  # every clause begins a span: the spans are the clauses
    assert seg.predict_spans(texts) == units
    seg.forward = always(I)  # one run: the first clause's start to the last clause's end
    assert seg.predict_spans(texts) == [[(us[0][0], us[-1][1])] for us in units]
    seg.forward = always(O)
    assert seg.predict_spans(texts) == [[], []]


def test_unknown_units_are_refused(labels_dir: Path) -> None:
    from mycelium.errors import UserError
    from mycelium.models.datamodule import SegmenterDataModule
    from mycelium.models.segmenter import SegmenterModule
    from mycelium.teacher.loading import build_tiny

    with pytest.raises(UserError, match="datamodule.units"):
        SegmenterDataModule(str(labels_dir), units="words")
    with pytest.raises(UserError, match="units=tokens"):
        SegmenterDataModule(str(labels_dir), units="clauses", targets="raw_iaf")
    with pytest.raises(ValueError, match="units"):
        SegmenterModule(build_tiny, units="words")


def test_a_problem_added_to_the_labels_after_setup_is_a_clear_error():
    # the train split streams labels.jsonl every epoch; clause units are built at setup, so a
    # relabelling of the same directory mid-run must say so, not raise a KeyError
    from mycelium.errors import UserError
    from mycelium.models.examples import SegmenterEncoder

    class Tok:
        def __call__(self, text, **kw):
            return {"input_ids": [1, 2], "offset_mapping": [(0, 3), (4, 7)], "special_tokens_mask": [0, 0]}

    encode = SegmenterEncoder(Tok(), 16, units={"Sam has 3.": [(0, 10)]})
    assert encode({"id": "a", "text": "Sam has 3.", "regions": [(0, 10)]})["units"] == [(0, 10)]
    with pytest.raises(UserError, match="labels file changed during training"):
        encode({"id": "b", "text": "Ann has 4.", "regions": [(0, 10)]})
