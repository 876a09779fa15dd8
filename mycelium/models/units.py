"""Clause units: the segmenter tagging whole spaCy clauses instead of tokens.

The labels' regions are built from clauses (``mycelium.labels.regions``): of the regions of the
students' 235 held-out test problems of GSM8K train, 82% are exactly one of these units and
93% are a run of them (``bench/baselines.py``; docs/RESULTS.md, session 10). A
token-level BIO tagger must find those boundaries token by token; with ``units="clauses"``
the segmenter instead scores each clause (the mean of its tokens' ``O``/``B``/``I`` logits)
and a span is a run of clauses: ``B`` opens one, ``I`` extends it over the next clause,
``O`` closes it. The boundaries come from the parse; what is learned is which clauses are
regions and which run together. Regions that are not runs of clauses are out of its reach.

Shapes: a text's units are sorted, disjoint char spans ``(start, end)``; ``unit_of`` maps each
token to its unit (``-1``: special, padding, or between clauses, e.g. punctuation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mycelium.labels.clauses import ParsedText
from mycelium.models.bio import B, I, O, clean_regions, tag_runs

Span = tuple[int, int]


def clause_units(parsed: ParsedText) -> list[Span]:
    """The distinct clause spans of a parsed text, sorted; a span overlapping an earlier one
    is dropped (``clean_regions``), so units never overlap. A clause nested inside its parent's
    span ("who has 5 apples" in "Tom, who has 5 apples, buys 3 more") is dropped with it: its
    tokens pool into the parent, and a region on it alone is out of reach."""
    return clean_regions(sorted({(int(s), int(e)) for s, e in parsed.clause_spans.tolist()}))[0]


def token_units(text: str, offsets: Sequence[Span], units: Sequence[Span],
                special: Sequence[bool] | None = None) -> list[int]:
    """The unit index of each token (``-1`` when none): a token belongs to the unit its
    non-whitespace core starts in. ``special`` marks tokens to leave out (BOS/EOS/padding)."""
    n = len(offsets)
    if not units or n == 0:
        return [-1] * n
    solid = np.flatnonzero(~np.char.isspace(np.array(list(text), dtype=str))) if text else np.array([], dtype=np.int64)
    if solid.size == 0:  # nothing but whitespace: no token has a core
        return [-1] * n
    offs = np.asarray(offsets, dtype=np.int64).reshape(n, 2)
    k = np.searchsorted(solid, offs[:, 0])  # each token's first non-whitespace char (at or after its start)
    core = np.where(k < len(solid), solid[np.minimum(k, len(solid) - 1)], np.iinfo(np.int64).max)
    ok = core < offs[:, 1]
    if special is not None:
        ok &= ~np.asarray(special, dtype=bool)
    starts = np.array([s for s, _ in units])
    ends = np.array([e for _, e in units])
    u = np.searchsorted(starts, core, side="right") - 1
    ok &= (u >= 0) & (core < ends[np.clip(u, 0, len(units) - 1)])
    return np.where(ok, u, -1).tolist()


def unit_tags(units: Sequence[Span], regions: Sequence[Span]) -> list[int]:
    """Tag id of each unit for char ``regions``: the first unit overlapping a region is ``B``,
    later ones ``I``, others ``O`` (a unit overlapping two regions belongs to the first)."""
    tags = [O] * len(units)
    for rs, re_ in sorted(regions):
        first = True
        for k, (s, e) in enumerate(units):
            if s < re_ and rs < e and tags[k] == O:
                tags[k] = B if first else I
                first = False
    return tags


def unit_tags_to_regions(units: Sequence[Span], tags: Sequence[int]) -> list[Span]:
    """Char spans from unit tags; the inverse of :func:`unit_tags` on runs of units
    (``bio.tag_runs``): an ``I`` after ``O`` opens a span (a model's orphan ``I``), and
    ``IGNORE`` (a unit no token reached, e.g. past the truncation) closes one."""
    return tag_runs(units, tags)


def pool_units(logits: torch.Tensor, unit_of: torch.Tensor, n_units: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of each unit's token logits.

    ``logits`` ``(batch, tokens, C)``; ``unit_of`` ``(batch, tokens)`` long (``-1``: no unit);
    ``n_units`` the unit count of each example. Returns ``(pooled, seen)``: ``pooled``
    ``(sum(n_units), C)`` in example order, ``seen`` ``(sum(n_units),)`` bool, False for a
    unit none of whose tokens is in the input (its row is zero)."""
    logits = logits.float()  # sums in fp32 under bf16 mixed precision
    n = torch.as_tensor(list(n_units), device=logits.device)
    offset = torch.cumsum(n, 0) - n
    mask = unit_of >= 0
    ids = (unit_of + offset[:, None])[mask]
    total = int(n.sum())
    pooled = torch.zeros(total, logits.shape[-1], dtype=logits.dtype, device=logits.device).index_add_(0, ids, logits[mask])
    count = torch.zeros(total, dtype=logits.dtype, device=logits.device).index_add_(
        0, ids, torch.ones_like(ids, dtype=logits.dtype))
    return pooled / count.clamp(min=1)[:, None], count > 0


def pad_unit_of(rows: Sequence[Sequence[int]], width: int) -> torch.Tensor:
    """``(batch, width)`` long tensor of per-token unit ids, right-padded with ``-1``."""
    out = torch.full((len(rows), width), -1, dtype=torch.long)
    for k, row in enumerate(rows):
        out[k, : len(row)] = torch.tensor(list(row), dtype=torch.long)
    return out

