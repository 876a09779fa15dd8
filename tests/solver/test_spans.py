"""Segmenter fragments -> clause-shaped operation spans (filter, then snap to clauses)."""

from __future__ import annotations

from mycelium.solver.spans import SpanSnapper, holds_operand

TEXT = "Natalia sold 48 clips in April. She sold half as many clips in May. How many clips did she sell?"


def at(piece: str) -> tuple[int, int]:
    start = TEXT.index(piece)
    return start, start + len(piece)


def test_holds_operand() -> None:
    assert holds_operand(TEXT, at("48 clips"))
    assert holds_operand(TEXT, at("half as many"))  # an implicit constant
    assert not holds_operand(TEXT, at("How many clips did she sell"))  # a question holds no operand
    assert not holds_operand(TEXT, at("sold"))
    assert not holds_operand(TEXT, at("in May"))  # ("April" implies its 30 days; "May" is left out: "may")


def test_filter_only_drops_fragments_without_an_operation() -> None:
    snapper = SpanSnapper(snap=False)
    assert snapper([TEXT], [[at("sold"), at("48 clips"), at("in May")]]) == [[at("48 clips")]]


def test_fragments_snap_to_their_clause_and_merge() -> None:
    snapper = SpanSnapper()
    out = snapper([TEXT], [[at("48"), at("clips in April"), at("half as"), at("She sold"), at("How many")]])[0]
    # "clips in April" and "She sold" hold no operand and are dropped; "48" and "half as" snap to
    # their clauses ("She sold" would have given the same one); "How many" is dropped.
    assert out == [at("Natalia sold 48 clips in April"), at("She sold half as many clips in May")]
    assert SpanSnapper(filter=False)([TEXT], [[at("clips in April"), at("48 clips")]]) == [[at("Natalia sold 48 clips in April")]]
    assert snapper([TEXT, "No numbers here."], [[], [(0, 2)]]) == [[], []]


def test_no_post_processing_keeps_the_segmenter_spans() -> None:
    # the solver builds no snapper then; the class itself with both off returns the spans sorted
    snapper = SpanSnapper(filter=False, snap=False)
    assert snapper([TEXT], [[at("in May"), at("sold")]]) == [[at("sold"), at("in May")]]
