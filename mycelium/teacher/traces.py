"""The traces artifact: one record per problem from the teacher pass (phase 1).

Everything after the teacher re-runs from these records, so they hold every signal the
later stages need and nothing that needs the model again.

On disk (``TraceStore``): a directory of shards. Each shard is one safetensors file whose
tensors are the per-problem arrays (key ``"{row}/{field}"`` or ``"{row}/{field}/{group}"``)
and whose header metadata holds the JSON of the scalar fields. Shards are written to a
temporary name and renamed, so a shard either exists whole or not at all; the manifest
(``manifest-{worker}.json``) lists the problem ids each finished shard holds, which is
what resuming reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trace:
    """One problem's teacher pass.

    Char offsets are half-open ``[start, end)`` into ``text`` (problem tokens) or ``cot``
    (CoT tokens). Attention arrays are keyed by layer-group name (``conf/teacher``'s
    ``capture.layer_groups``, e.g. ``"all"``, ``"first_third"``, ``"last_third"``).
    """

    id: str
    text: str  # problem text, exactly as given to the teacher inside the prompt
    cot: str  # CoT text the teacher produced (generate) or was forced through (dataset)
    gold_answer: str
    teacher_answer: str | None  # answer extracted from ``cot``; None when none was found
    correct: bool | None  # teacher_answer == gold_answer (math-verify); None when unknown
    problem_offsets: np.ndarray  # (P, 2) int32: char span in ``text`` of each problem token
    cot_offsets: np.ndarray  # (C, 2) int32: char span in ``cot`` of each CoT token
    # JSD between the attention rows of CoT tokens t-1 and t (rows zero-padded to a common
    # support, renormalised after head reduction); jsd[g][0] == 0. Unsmoothed. (C,) float32.
    jsd: dict[str, np.ndarray] = field(default_factory=dict)
    # Attention mass of each CoT token on each problem token, reduced over heads and over the
    # group's layers (mean). (C, P) float16. Not normalised: IAF normalises.
    attn: dict[str, np.ndarray] = field(default_factory=dict)
    # GSM8K calculator annotations removed from the gold solution: (char pos in ``cot`` where
    # the annotation stood, "48/2=24"). Empty for other sources.
    annotations: list[tuple[int, str]] = field(default_factory=list)
    level: str | None = None  # MATH level, e.g. "Level 3"
    type: str | None = None  # MATH subject, e.g. "Algebra"
    num_tokens: int = 0  # prompt + CoT tokens in the forward pass
    error: str | None = None  # why this problem has no signals (empty text, too long, ...)
