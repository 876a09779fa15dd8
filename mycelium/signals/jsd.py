"""JSD step boundaries (phase 2): cached per-token JSD curve -> CoT steps.

The teacher pass stores, per layer group, an unsmoothed curve ``jsd[t]`` = JS divergence between
the attention rows of CoT tokens t-1 and t (``jsd[0] = 0``). A peak at t means token t attends
very differently from token t-1, so t starts a new step. Here, pure numpy/scipy:

    smooth (Savitzky-Golay) -> find_peaks -> (optional) snap to word starts -> steps

plus the baseline every report compares against: steps that start at line and sentence starts
(``sentence_boundaries``), and ``boundary_scores`` to compare the two on the same traces.

Boundaries are CoT token indices in (0, C) where a new step starts; index 0 is never a boundary
(the first step always starts there). Steps are half-open token spans ``(start, end)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks, savgol_filter
from scipy.special import xlogy


@dataclass
class JSDConfig:
    """Knobs of JSD segmentation (``conf/signals`` ``jsd:`` block)."""

    layer_group: str = "all"  # which captured layer group's curve to segment
    window: int = 5  # Savitzky-Golay window (odd); < 3 disables smoothing
    polyorder: int = 2
    prominence: float | None = 0.05  # find_peaks prominence on the smoothed curve
    distance: int | None = None  # minimum tokens between two boundaries
    height: float | str | None = None  # absolute height, or a percentile of the curve: "p90"
    snap_to_words: bool = True  # move boundaries that fall inside a word to its start


def jsd_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence, base 2 (in [0, 1]), between rows of ``p`` and ``q`` (..., T).

    Rows are renormalised to sum 1 (they need not be: max head reduction, layer means). If the
    last dimensions differ, the shorter rows are zero-padded to a common support (a causal row
    t-1 has one key fewer than row t).
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    width = max(p.shape[-1], q.shape[-1])
    p = np.pad(p, [(0, 0)] * (p.ndim - 1) + [(0, width - p.shape[-1])])
    q = np.pad(q, [(0, 0)] * (q.ndim - 1) + [(0, width - q.shape[-1])])
    p = p / np.maximum(p.sum(-1, keepdims=True), 1e-300)
    q = q / np.maximum(q.sum(-1, keepdims=True), 1e-300)
    m = 0.5 * (p + q)
    kl_pm = (xlogy(p, p) - xlogy(p, m)).sum(-1)
    kl_qm = (xlogy(q, q) - xlogy(q, m)).sum(-1)
    return np.clip(0.5 * (kl_pm + kl_qm) / np.log(2.0), 0.0, 1.0)


def smooth(curve: np.ndarray, window: int = 5, polyorder: int = 2) -> np.ndarray:
    """Savitzky-Golay smoothing. Curves shorter than ``window`` use the largest odd window that
    fits (still > polyorder); curves too short for any such window come back unsmoothed."""
    curve = np.asarray(curve, dtype=np.float64)
    window = min(window, len(curve))
    window -= 1 - window % 2  # make it odd
    if window <= polyorder or window < 3:
        return curve.copy()
    return savgol_filter(curve, window, polyorder)


def _height(curve: np.ndarray, height: float | str | None) -> float | None:
    """``"p90"`` -> the 90th percentile of ``curve``; numbers and None pass through."""
    if height is None or isinstance(height, (int, float)):
        return height
    m = re.fullmatch(r"p(\d+(?:\.\d+)?)", str(height).strip())
    if not m or float(m.group(1)) > 100:
        raise ValueError(f"height must be a number, None, or a percentile string like 'p90'; got {height!r}")
    return float(np.percentile(curve, float(m.group(1))))


def find_boundaries(
    curve: np.ndarray,
    *,
    prominence: float | None = 0.05,
    distance: int | None = None,
    height: float | str | None = None,
    window: int = 5,
    polyorder: int = 2,
) -> np.ndarray:
    """CoT token indices where new steps start: peaks of the smoothed JSD curve (int64, sorted)."""
    # JSD is >= 0, but Savitzky-Golay rings: an isolated spike gets negative side lobes, and those
    # dips become the bases that give small noise bumps between two spikes a false prominence.
    smoothed = np.maximum(smooth(curve, window, polyorder), 0.0)
    if len(smoothed) < 3:
        return np.zeros(0, dtype=np.int64)
    peaks, _ = find_peaks(smoothed, prominence=prominence, distance=distance, height=_height(smoothed, height))
    return peaks.astype(np.int64)


def steps_from_boundaries(boundaries: np.ndarray, num_tokens: int) -> list[tuple[int, int]]:
    """Half-open token spans covering [0, num_tokens): a step starts at 0 and at each boundary."""
    if num_tokens <= 0:
        return []
    b = np.unique(np.asarray(boundaries, dtype=np.int64))
    b = b[(b > 0) & (b < num_tokens)]
    starts = np.concatenate([[0], b])
    ends = np.concatenate([b, [num_tokens]])
    return [(int(s), int(e)) for s, e in zip(starts, ends)]


def continues_word(cot: str, cot_offsets: np.ndarray) -> np.ndarray:
    """(C,) bool: True where CoT token t continues a word: its first char and the char before it
    are both word characters ("cl|ips", "4|8"). Whitespace, newline and punctuation tokens, and
    tokens that begin a word, are False: a boundary there already sits between words."""
    offsets = np.asarray(cot_offsets, dtype=np.int64).reshape(-1, 2)
    chars = np.array(list(cot), dtype="<U1")
    word = np.concatenate([np.char.isalnum(chars) | (chars == "_"), [False]])  # [-1] -> False: guards start-1
    start = np.clip(offsets[:, 0], 0, len(chars))
    return word[start] & word[start - 1] & (start > 0)


def snap_to_words(
    boundaries: np.ndarray, cot: str, cot_offsets: np.ndarray, max_shift: int | None = None
) -> np.ndarray:
    """Move each boundary that falls inside a word to the nearest token that does not continue a
    word (ties go left, to the word's first token). Boundaries between words stay. ``max_shift``
    caps the move in tokens (beyond it: unchanged). Returns sorted unique boundaries > 0."""
    b = np.asarray(boundaries, dtype=np.int64)
    starts = np.flatnonzero(~continues_word(cot, cot_offsets))
    if len(b) == 0 or len(starts) == 0:
        return b.copy()
    i = np.searchsorted(starts, b)  # starts[i-1] < b <= starts[i]
    right = starts[np.minimum(i, len(starts) - 1)]
    left = starts[np.maximum(i - 1, 0)]
    left = np.where(i > 0, left, right)  # no word start on a side: use the other one
    right = np.where(i < len(starts), right, left)
    nearest = np.where(b - left <= right - b, left, right)
    nearest = np.where(right == b, b, nearest)  # already between words
    if max_shift is not None:
        nearest = np.where(np.abs(nearest - b) <= max_shift, nearest, b)
    snapped = np.unique(nearest)
    return snapped[snapped > 0]


def sentence_boundaries(cot: str, cot_offsets: np.ndarray) -> np.ndarray:
    """Baseline boundaries: the CoT tokens holding the first non-space char of each line and of
    each sentence (after ``.``, ``!`` or ``?`` followed by whitespace, so "3.5" does not split)."""
    offsets = np.asarray(cot_offsets, dtype=np.int64).reshape(-1, 2)
    chars = np.fromiter((m.start(1) for m in re.finditer(r"(?:\n|[.!?]\s)\s*(\S)", cot)), dtype=np.int64)
    if len(chars) == 0 or len(offsets) == 0:
        return np.zeros(0, dtype=np.int64)
    tokens = np.searchsorted(offsets[:, 1], chars, side="right")  # first token ending after the char
    tokens = np.unique(tokens[tokens < len(offsets)])
    return tokens[tokens > 0]


def sentence_steps(cot: str, cot_offsets: np.ndarray) -> list[tuple[int, int]]:
    """Baseline steps: token spans that start at line starts and sentence starts."""
    return steps_from_boundaries(sentence_boundaries(cot, cot_offsets), len(cot_offsets))


def boundary_scores(pred: np.ndarray, gold: np.ndarray, tolerance: int = 1) -> tuple[float, float]:
    """(precision, recall) of predicted boundaries against gold ones, a hit being within
    ``tolerance`` tokens. Empty ``pred`` gives precision 0; empty ``gold`` gives recall 0."""
    pred, gold = np.asarray(pred, dtype=np.int64), np.asarray(gold, dtype=np.int64)
    if len(pred) == 0 or len(gold) == 0:
        return 0.0, 0.0
    close = np.abs(pred[:, None] - gold[None, :]) <= tolerance  # (len(pred), len(gold))
    return float(close.any(1).mean()), float(close.any(0).mean())


def jsd_peaks(curve: np.ndarray, config: JSDConfig) -> np.ndarray:
    """Peaks of one cached curve with the knobs of ``config`` (before snapping to words)."""
    return find_boundaries(
        curve,
        prominence=config.prominence,
        distance=config.distance,
        height=config.height,
        window=config.window,
        polyorder=config.polyorder,
    )


def jsd_steps(
    curve: np.ndarray,
    config: JSDConfig,
    cot: str | None = None,
    cot_offsets: np.ndarray | None = None,
    peaks: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """One cached curve -> steps with the knobs of ``config`` (snapping needs ``cot`` + offsets).
    Pass ``peaks`` from ``jsd_peaks`` when the caller has them already."""
    b = jsd_peaks(curve, config) if peaks is None else peaks
    if config.snap_to_words and cot is not None and cot_offsets is not None:
        b = snap_to_words(b, cot, cot_offsets)
    return steps_from_boundaries(b, len(curve))
