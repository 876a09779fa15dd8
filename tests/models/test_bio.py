"""BIO tags <-> char spans through byte-level BPE offsets (leading spaces, specials, edges)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium.models.bio import (
    IGNORE,
    B,
    I,
    O,
    clean_regions,
    regions_to_token_tags,
    regions_to_word_tags,
    token_tags_to_regions,
)
from mycelium.teacher.loading import build_tiny_tokenizer

TEXT = "Natalia sold 48 clips in April. She sold half as many in May. How many clips did she sell?"


@pytest.fixture(scope="module")
def tok():
    return build_tiny_tokenizer()


def encode(tok, text: str, **kw):
    enc = tok(text, return_offsets_mapping=True, return_special_tokens_mask=True, **kw)
    return [tuple(o) for o in enc["offset_mapping"]], enc["special_tokens_mask"]


def span(text: str, clause: str) -> tuple[int, int]:
    s = text.index(clause)
    return s, s + len(clause)


def roundtrip(tok, text: str, regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    offsets, special = encode(tok, text)
    return token_tags_to_regions(text, offsets, regions_to_token_tags(text, offsets, regions, special))


def test_leading_space_token_starts_the_span(tok) -> None:
    region = span(TEXT, "sold 48 clips")
    offsets, special = encode(tok, TEXT)
    tags = regions_to_token_tags(TEXT, offsets, [region], special)
    tagged = [(TEXT[s:e], t) for (s, e), t in zip(offsets, tags) if t != O]
    assert tagged[0][0].startswith(" ") and tagged[0][1] == B  # " sold" carries its space
    assert all(t == I for _, t in tagged[1:])
    assert "".join(w for w, _ in tagged).strip() == "sold 48 clips"
    # The token before (" Natalia"/"Natalia") is outside: the space belongs to " sold".
    assert tags[0] == O


@pytest.mark.parametrize(
    "clauses",
    [
        ["Natalia sold 48 clips in April."],  # at the text start
        ["How many clips did she sell?"],  # at the text end
        ["Natalia sold 48 clips in April.", "She sold half as many in May.", "How many clips did she sell?"],
        ["48 clips", "half as many"],  # mid-sentence, several
    ],
)
def test_roundtrip_regions(tok, clauses: list[str]) -> None:
    regions = [span(TEXT, c) for c in clauses]
    assert roundtrip(tok, TEXT, regions) == sorted(regions)


def test_special_and_empty_tokens_are_ignored() -> None:
    text = "Tom has 5 apples."
    offsets = [(0, 0), (0, 3), (3, 7), (7, 9), (9, 17), (17, 17)]  # BOS, words, EOS
    special = [1, 0, 0, 0, 0, 0]
    tags = regions_to_token_tags(text, offsets, [(4, 17)], special)
    assert tags == [IGNORE, O, B, I, I, IGNORE]
    assert token_tags_to_regions(text, offsets, tags) == [(4, 17)]


def test_whitespace_token_inside_a_region_continues_it(tok) -> None:
    text = "A box holds 12 eggs\n\nin each row. Sam has 4 boxes."
    region = span(text, "A box holds 12 eggs\n\nin each row.")
    assert roundtrip(tok, text, [region]) == [region]


def test_orphan_inside_tag_opens_a_span() -> None:
    text = "aa bb cc"
    offsets = [(0, 2), (2, 5), (5, 8)]
    assert token_tags_to_regions(text, offsets, [O, I, I]) == [(3, 8)]
    assert token_tags_to_regions(text, offsets, [B, B, O]) == [(0, 2), (3, 5)]
    assert token_tags_to_regions(text, offsets, [IGNORE, B, I]) == [(3, 8)]


def test_word_tags() -> None:
    text = "Tom has 5 apples. He buys 3 more."
    assert regions_to_word_tags(text, [span(text, "He buys 3 more.")]) == ["O"] * 4 + ["B-OP", "I-OP", "I-OP", "I-OP"]
    # Only words starting before `end` (a truncated input) are scored.
    assert regions_to_word_tags(text, [(0, 3)], end=8) == ["B-OP", "O"]


def test_clean_regions_merges_duplicates_and_counts_conflicts() -> None:
    regions, conflicts = clean_regions([(10, 20), (0, 5), (10, 20), (15, 25), (30, 30)])
    assert regions == [(0, 5), (10, 20)] and conflicts == 1


WORDS = st.lists(st.sampled_from(["Tom", "has", "48", "apples", "half", "as", "many,", "sold", "$12.", "?"]), min_size=2, max_size=14)


@settings(max_examples=40, deadline=None)
@given(words=WORDS, cuts=st.lists(st.integers(0, 14), max_size=6))
def test_roundtrip_random_word_aligned_regions(tok, words: list[str], cuts: list[int]) -> None:
    text = " ".join(words)
    starts = [sum(len(w) + 1 for w in words[:k]) for k in range(len(words))]
    bounds = sorted({c % len(words) for c in cuts})
    # Regions: consecutive word ranges between cut points, every other one kept.
    regions = []
    for a, b in zip(bounds, bounds[1:] + [len(words)]):
        if (a + b) % 2 == 0 and b > a:
            regions.append((starts[a], starts[b - 1] + len(words[b - 1])))
    assert roundtrip(tok, text, regions) == regions


def test_lone_space_token_before_digits() -> None:
    # SmolLM2 writes " 48" as " " + "4" + "8": the space token is inside a region that has
    # begun (I) but outside one that starts at the digit (O, and the digit is B).
    text = "She sold 48 clips"
    offsets = [(0, 3), (3, 8), (8, 9), (9, 10), (10, 11), (11, 17)]
    assert regions_to_token_tags(text, offsets, [(0, 17)]) == [B, I, I, I, I, I]
    assert regions_to_token_tags(text, offsets, [(9, 17)]) == [O, O, O, B, I, I]
    assert token_tags_to_regions(text, offsets, [O, O, O, B, I, I]) == [(9, 17)]
