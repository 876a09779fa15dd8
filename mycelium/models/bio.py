"""BIO tags <-> character spans, through a tokenizer's ``offset_mapping``.

The segmenter's targets are char spans (regions) in the problem text; the model tags tokens.
Byte-level BPE tokens carry their leading space (" sold" covers ``[s, e)`` with ``text[s] ==
" "``), while a region starts at the letter; so a token is aligned by the part of it that is
not leading whitespace. Metrics are computed at word level (whitespace-split words), so that
span F1 does not depend on the tokenizer.

Tag ids: ``O = 0``, ``B-OP = 1``, ``I-OP = 2``; ``IGNORE = -100`` on special and padding
tokens (the value ``torch.nn.CrossEntropyLoss`` skips).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

LABELS: tuple[str, ...] = ("O", "B-OP", "I-OP")
O, B, I = 0, 1, 2  # noqa: E741 (the BIO letters are the clearest names here)
IGNORE = -100

Span = tuple[int, int]


def _core(text: str, start: int, end: int) -> Span:
    """``[start, end)`` without leading and trailing whitespace (empty when all whitespace)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def regions_to_token_tags(
    text: str,
    offsets: Sequence[Span],
    regions: Sequence[Span],
    special: Sequence[bool] | None = None,
) -> list[int]:
    """Tag ids per token: the first token overlapping a region is ``B``, later ones ``I``.

    ``offsets`` are the tokens' ``(start, end)`` char spans; ``special`` marks tokens to
    ignore (BOS/EOS/padding); tokens with an empty span are ignored too. A token overlaps a
    region when its non-whitespace core does. A whitespace-only token (a newline, a double
    space) is ``I`` when it lies strictly inside a region that has begun, else ``O``. A token
    overlapping two regions belongs to the first.
    """
    tags = [O] * len(offsets)
    spans = sorted((int(s), int(e)) for s, e in regions)
    started = [False] * len(spans)
    for t, (s, e) in enumerate(offsets):
        s, e = int(s), int(e)
        if (special is not None and special[t]) or s >= e:
            tags[t] = IGNORE
            continue
        cs, ce = _core(text, s, e)
        for r, (rs, re_) in enumerate(spans):
            if cs < ce and cs < re_ and rs < ce:  # core overlaps the region
                tags[t] = I if started[r] else B
                started[r] = True
                break
            if cs == ce and started[r] and rs < s and e < re_:  # whitespace inside a region
                tags[t] = I
                break
    return tags


def tag_runs(spans: Sequence[Span], tags: Sequence[int]) -> list[Span]:
    """Char spans of the BIO runs over consecutive ``spans`` (tokens, clause units) tagged
    ``tags``: a ``B`` opens a run (so does an ``I`` with none open: a model's orphan ``I`` is
    read as a beginning rather than dropped), an ``I`` extends it to its own end, and any other
    tag (``O``, ``IGNORE``) closes it."""
    runs: list[Span] = []
    cur: list[int] | None = None  # [start, end] of the open run
    for (s, e), tag in zip(spans, tags):
        if tag == B or (tag == I and cur is None):
            if cur is not None:
                runs.append((cur[0], cur[1]))
            cur = [int(s), int(e)]
        elif tag == I:
            cur[1] = int(e)
        else:
            if cur is not None:
                runs.append((cur[0], cur[1]))
            cur = None
    if cur is not None:
        runs.append((cur[0], cur[1]))
    return runs


def token_tags_to_regions(text: str, offsets: Sequence[Span], tags: Sequence[int]) -> list[Span]:
    """Char spans from token tag ids; the inverse of :func:`regions_to_token_tags`.

    A span starts at a ``B`` (or at an ``I`` that follows ``O``) and extends over the ``I``
    tokens after it (:func:`tag_runs`). Ignored tokens (``-100``) and empty ones are skipped,
    not closing a span. Spans are trimmed of surrounding whitespace.
    """
    kept = [((int(s), int(e)), int(t)) for (s, e), t in zip(offsets, tags) if int(t) != IGNORE and int(s) < int(e)]
    runs = tag_runs([o for o, _ in kept], [t for _, t in kept])
    trimmed = [_core(text, s, e) for s, e in runs]
    return [(s, e) for s, e in trimmed if s < e]


def words(text: str) -> list[Span]:
    """Whitespace-split words as char spans: the units of the word-level metric."""
    return [m.span() for m in re.finditer(r"\S+", text)]


def regions_to_word_tags(text: str, regions: Sequence[Span], end: int | None = None) -> list[str]:
    """seqeval tag strings per word of ``text`` (up to char ``end``) for char ``regions``.

    A word overlapping a region is ``B-OP`` when it is the region's first such word, else
    ``I-OP``; other words are ``O``. ``end`` limits the words to those starting before it, so a
    truncated input is scored only on the text the model saw.
    """
    ws = [w for w in words(text) if end is None or w[0] < end]
    tags = ["O"] * len(ws)
    for rs, re_ in sorted(regions):
        first = True
        for k, (s, e) in enumerate(ws):
            if s < re_ and rs < e and tags[k] == "O":
                tags[k] = "B-OP" if first else "I-OP"
                first = False
    return tags


def clean_regions(regions: Sequence[Span]) -> tuple[list[Span], int]:
    """Distinct regions in order, dropping any that partially overlaps an earlier one.

    Returns ``(regions, conflicts)``; identical regions count once and are not conflicts.
    """
    kept: list[Span] = []
    conflicts = 0
    for s, e in regions:
        span = (int(s), int(e))
        if span in kept or span[0] >= span[1]:
            continue
        if any(span[0] < ke and ks < span[1] for ks, ke in kept):
            conflicts += 1
            continue
        kept.append(span)
    return sorted(kept), conflicts
