"""IAF mapping (phase 3): CoT step -> the problem-text tokens it attended to.

Input Attention Fraction of problem token j for a step (CoT tokens start..end-1):

    IAF(j, step) = sum_{t in step} attn[t, j] / sum_{t in step} sum_{j'} attn[t, j']

``attn`` is the captured (C, P) mass of each CoT token on each problem token (float16, not
normalised). Attention sinks (whitespace-only and punctuation-only tokens: at 135M the lone space
before a digit run takes ~0.37 of the mass) are dropped BEFORE normalising, so the fraction is
over content tokens. Then a selection rule (top-k, threshold, or cumulative mass) picks the
tokens, and ``token_spans`` turns them into char spans of the problem text for clause expansion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class IAFConfig:
    """Knobs of IAF mapping (``conf/signals`` ``iaf:`` block)."""

    layer_group: str = "last_third"  # which captured layer group's attention to use
    drop_sinks: bool = True  # zero whitespace/punctuation-only problem tokens before normalising
    method: str = "top_k"  # "top_k" | "threshold" | "cumulative"
    top_k: int = 5
    threshold: float = 0.1  # IAF >= threshold (method="threshold")
    mass: float = 0.5  # smallest top set reaching this share of the IAF mass (method="cumulative")


# Symbols that carry meaning in a word problem ("20%", "$5"): never treated as sinks.
KEEP_SYMBOLS = "%$€£"


def sink_mask(problem_text: str, problem_offsets: np.ndarray, keep_symbols: str = KEEP_SYMBOLS) -> np.ndarray:
    """(P,) bool, True for attention-sink tokens: no letter or digit in the token's char span
    (whitespace-only, punctuation-only, empty), unless it holds one of ``keep_symbols``."""
    offsets = np.asarray(problem_offsets, dtype=np.int64).reshape(-1, 2)
    chars = np.array(list(problem_text), dtype="<U1")
    content = np.char.isalnum(chars) | np.isin(chars, list(keep_symbols))
    # prefix sums: content chars inside [start, end) of every token, no loop over tokens
    counts = np.concatenate([[0], np.cumsum(content)])
    start = np.clip(offsets[:, 0], 0, len(chars))
    end = np.clip(offsets[:, 1], 0, len(chars))
    return counts[end] - counts[start] == 0


def iaf_matrix(
    attn: np.ndarray, steps: list[tuple[int, int]], sinks: np.ndarray | None = None
) -> np.ndarray:
    """(S, P) float32 IAF of every step at once (cumulative sums over CoT rows).

    ``sinks`` (P,) bool marks problem tokens to drop before normalising (see ``sink_mask``).
    A step with no mass on the kept tokens gets an all-zero row.
    """
    a = np.asarray(attn, dtype=np.float64)  # float16 cache -> accumulate in float64
    if sinks is not None:
        a = np.where(np.asarray(sinks, dtype=bool)[None, :], 0.0, a)
    cum = np.concatenate([np.zeros((1, a.shape[1])), np.cumsum(a, axis=0)])  # (C+1, P)
    spans = np.asarray(steps, dtype=np.int64).reshape(-1, 2)
    mass = cum[spans[:, 1]] - cum[spans[:, 0]]  # (S, P): sum over each step's CoT rows
    total = mass.sum(1, keepdims=True)
    return np.divide(mass, total, out=np.zeros_like(mass), where=total > 0).astype(np.float32)


def iaf(attn: np.ndarray, step: tuple[int, int], sinks: np.ndarray | None = None) -> np.ndarray:
    """(P,) IAF of one step: its CoT tokens' mass on each problem token / mass on all of them."""
    return iaf_matrix(attn, [step], sinks)[0]


def select(
    iaf_row: np.ndarray,
    *,
    method: str = "top_k",
    top_k: int = 5,
    threshold: float = 0.1,
    mass: float = 0.5,
) -> np.ndarray:
    """Indices (ascending) of the problem tokens a step attended to. Zero-IAF tokens (sinks,
    unattended) are never selected.

    - ``top_k``: the ``top_k`` highest IAF tokens;
    - ``threshold``: tokens with IAF >= ``threshold``;
    - ``cumulative``: the fewest highest tokens whose IAF sums to >= ``mass`` of the row's total.
    """
    row = np.asarray(iaf_row, dtype=np.float64)
    order = np.argsort(-row, kind="stable")  # highest first, ties by position
    order = order[row[order] > 0]
    if method == "top_k":
        chosen = order[:top_k]
    elif method == "threshold":
        chosen = order[row[order] >= threshold]
    elif method == "cumulative":
        cum = np.cumsum(row[order])
        count = int(np.searchsorted(cum, mass * row.sum() - 1e-12)) + 1  # first prefix reaching mass
        chosen = order[:count]
    else:
        raise ValueError(f"method must be 'top_k', 'threshold' or 'cumulative', got {method!r}")
    return np.sort(chosen).astype(np.int64)


def token_spans(indices: np.ndarray, problem_offsets: np.ndarray) -> list[tuple[int, int]]:
    """Char spans ``(start, end)`` of the selected problem tokens; runs of adjacent token
    indices merge into one span."""
    idx = np.unique(np.asarray(indices, dtype=np.int64))
    if len(idx) == 0:
        return []
    offsets = np.asarray(problem_offsets, dtype=np.int64).reshape(-1, 2)
    new_run = np.concatenate([[True], np.diff(idx) > 1])
    first = idx[new_run]
    last = idx[np.concatenate([new_run[1:], [True]])]
    return [(int(s), int(e)) for s, e in zip(offsets[first, 0], offsets[last, 1])]


def map_steps(
    attn: np.ndarray,
    steps: list[tuple[int, int]],
    problem_text: str,
    problem_offsets: np.ndarray,
    config: IAFConfig,
) -> list[list[tuple[int, int]]]:
    """Every step -> char spans of the problem tokens it attended to, with ``config``'s knobs."""
    sinks = sink_mask(problem_text, problem_offsets) if config.drop_sinks else None
    matrix = iaf_matrix(attn, steps, sinks)
    kw = dict(method=config.method, top_k=config.top_k, threshold=config.threshold, mass=config.mass)
    return [token_spans(select(row, **kw), problem_offsets) for row in matrix]
