"""Attention capture (phase 1): one forward pass -> per-token JSD curve and CoT->problem mass.

For each sequence (prompt + CoT, teacher-forced) we run ONE forward pass over a right-padded
batch (``attention_mask`` marks the padding). For every layer group:

1. each layer's attention probabilities are reduced over heads (``mean`` or ``max``) as soon
   as the layer produces them, for the CoT query rows only;
2. the reduced rows are averaged over the group's layers (an accumulator of shape (C, T) per
   group and sequence, never one per layer);
3. from those (C, T) rows:
   - ``attn[g]`` (C, P) float16 = the mass each CoT token puts on each problem token
     (``problem_positions``). Not normalised: IAF normalises later.
   - ``jsd[g]`` (C,) float32: ``jsd[g][t]`` = Jensen-Shannon divergence, base 2 (so in [0, 1]),
     between the rows of CoT tokens t-1 and t over the full prefix. The rows are zero-padded to a
     common support (row t-1 has one key fewer: causal) and renormalised to sum 1, which matters
     after ``max`` head reduction and for a layer mean of such rows. ``jsd[g][0] = 0`` by
     definition (no previous CoT row; we do not compare against the last prompt token).
     Computed in float32 whatever the model's dtype.

Methods:

- ``hooks`` (default): registers a custom attention function with transformers'
  ``AttentionInterface``. It computes the layer's output with SDPA (the normal fast path) and,
  separately, softmax(Q_cot K^T * scale) in float32 for the CoT query rows only, in chunks of
  rows (keys past a chunk's last position are skipped: causal), with the layer's causal + padding
  mask and GQA handled by grouping query heads per KV head. Each chunk is head-reduced at once and
  added into the group accumulators, so peak memory never holds all layers' (or even one layer's
  full H x T x T) attention. A layer in several groups is computed once. The model's attention
  implementation is restored afterwards. With right padding, a real token's row never sees a
  pad key, so padded sequences give exactly what they give alone.
- ``naive``: eager attention with ``output_attentions=True``: all layers' full (H, T, T)
  attention are materialised, then reduced. The reference path the hooks path is tested against.

Both run the model's base (``model.base_model``): the LM head is skipped, capture needs no logits.
Run under ``model.eval()``; the capture itself is wrapped in ``torch.no_grad``. Works on CPU or
CUDA, fp32 or bf16.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

CAPTURE_ATTN_NAME = "mycelium_capture"
# Bytes of float32 scores one chunk of CoT rows may hold (B x H x rows x T). Keeps the capture's
# transient memory bounded (never T x T per layer). Small chunks stay in CPU cache and let the
# causal cut skip more keys (measured: 2 MiB ~1.5x faster than 16 MiB on CPU); a GPU wants
# fewer, larger launches.
CHUNK_BYTES = 2 * 2**20
CHUNK_BYTES_CUDA = 256 * 2**20


@dataclass
class CaptureRequest:
    """One sequence to capture: prompt + CoT token ids and where the problem and CoT are."""

    input_ids: np.ndarray  # (T,) prompt + CoT token ids
    problem_positions: np.ndarray  # (P,) token positions of the problem-text tokens
    cot_start: int  # position of the first CoT token; CoT runs to the end of input_ids


@dataclass
class CapturedSignals:
    """Signals of one sequence, keyed by layer-group name."""

    jsd: dict[str, np.ndarray]  # group -> (C,) float32, C = T - cot_start
    attn: dict[str, np.ndarray]  # group -> (C, P) float16


def resolve_layer_groups(spec: dict[str, str | list[int]], num_layers: int) -> dict[str, list[int]]:
    """Turn a layer-group spec into sorted, unique layer indices.

    Values: ``"all"``, ``"first_third"``, ``"middle_third"``, ``"last_third"``, an inclusive
    range ``"0-9"``, or an explicit list of ints (negative counts from the end, as in Python).
    Raises ValueError on an empty spec, an unknown name, or a layer out of range.
    """
    if not spec:
        raise ValueError("layer group spec is empty: give at least one group, e.g. {'all': 'all'}")
    third = max(1, round(num_layers / 3))
    named = {
        "all": range(num_layers),
        "first_third": range(0, third),
        "middle_third": range(third, num_layers - third) if num_layers > 2 * third else range(third, third + 1),
        "last_third": range(num_layers - third, num_layers),
    }
    groups: dict[str, list[int]] = {}
    for name, value in spec.items():
        if isinstance(value, str):
            text = value.strip()
            if text in named:
                layers = list(named[text])
            elif m := re.fullmatch(r"(-?\d+)\s*-\s*(-?\d+)", text):
                lo, hi = int(m.group(1)), int(m.group(2))
                if lo > hi:
                    raise ValueError(f"layer group {name!r}: range {text!r} has start > end")
                layers = list(range(lo, hi + 1))
            else:
                raise ValueError(
                    f"layer group {name!r}: unknown value {value!r}; use one of {sorted(named)}, "
                    "a range like '0-9', or a list of layer indices"
                )
        elif isinstance(value, (list, tuple)) or (hasattr(value, "__iter__") and not isinstance(value, dict)):
            layers = list(value)
            if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in layers):
                raise ValueError(f"layer group {name!r}: list must hold ints, got {value!r}")
            layers = [int(i) + num_layers if i < 0 else int(i) for i in layers]
        else:
            raise ValueError(f"layer group {name!r}: expected a string or a list of ints, got {value!r}")
        if not layers:
            raise ValueError(f"layer group {name!r} is empty")
        bad = [i for i in layers if not 0 <= i < num_layers]
        if bad:
            raise ValueError(f"layer group {name!r}: layers {bad} out of range for a {num_layers}-layer model")
        groups[name] = sorted(set(layers))
    return groups


def jsd_consecutive(rows: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """JSD (base 2) between consecutive rows of ``rows`` (C, T); out[0] = 0. Float32, in [0, 1].

    Rows are renormalised to sum 1 first (zeros beyond a row's causal support are its padding).
    Same maths as ``mycelium.signals.jsd.jsd_rows``, in torch so it runs where the rows are.
    """
    rows = rows.float()
    rows = rows / rows.sum(-1, keepdim=True).clamp_min(1e-30)
    out = torch.zeros(rows.shape[0], dtype=torch.float32, device=rows.device)
    for start in range(1, rows.shape[0], chunk):  # chunks of rows bound the temporaries
        p, q = rows[start - 1 : start - 1 + chunk], rows[start : start + chunk]
        p = p[: q.shape[0]]
        m = 0.5 * (p + q)
        kl_pm = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum(-1)
        kl_qm = (torch.xlogy(q, q) - torch.xlogy(q, m)).sum(-1)
        out[start : start + q.shape[0]] = (0.5 * (kl_pm + kl_qm) / np.log(2.0)).clamp(0.0, 1.0)
    return out


def _reduce_heads(probs: torch.Tensor, head_reduce: str) -> torch.Tensor:
    """(..., H, rows, T) -> (..., rows, T) by mean or max over heads."""
    return probs.mean(-3) if head_reduce == "mean" else probs.amax(-3)


class _Accumulator:
    """Per-group running mean over layers of head-reduced CoT attention rows: (B, Cmax, T)."""

    def __init__(self, row_pos: torch.Tensor, seq_len: int, layer_groups: dict[str, list[int]], head_reduce: str):
        self.row_pos = row_pos  # (B, Cmax) long: query position of each CoT row (padded rows repeat the last)
        self.head_reduce = head_reduce
        batch, cmax = row_pos.shape
        self.acc = {g: torch.zeros(batch, cmax, seq_len, dtype=torch.float32, device=row_pos.device) for g in layer_groups}
        # layer -> [(group, weight)]: a layer shared by several groups is computed once
        self.targets: dict[int, list[tuple[str, float]]] = {}
        for g, layers in layer_groups.items():
            for i in layers:
                self.targets.setdefault(i, []).append((g, 1.0 / len(layers)))

    def add_layer(
        self, layer_idx: int, query: torch.Tensor, key: torch.Tensor, mask: torch.Tensor | None, scaling: float
    ) -> None:
        """Add this layer's head-reduced CoT rows into its groups. query (B,H,T,d), key (B,Hkv,S,d)."""
        targets = self.targets.get(layer_idx)
        if not targets:
            return
        batch, heads, _, dim = query.shape
        kv_heads, kv_len = key.shape[1], key.shape[2]
        rep = heads // kv_heads
        keys_t = key.float().transpose(-1, -2)  # (B, Hkv, d, S)
        cmax = self.row_pos.shape[1]
        budget = CHUNK_BYTES_CUDA if query.is_cuda else CHUNK_BYTES
        chunk = max(1, budget // (4 * batch * heads * kv_len))
        key_pos = torch.arange(kv_len, device=query.device)
        for start in range(0, cmax, chunk):
            pos = self.row_pos[:, start : start + chunk]  # (B, c)
            c = pos.shape[1]
            # causal: no row of this chunk sees keys past its last position, so skip those columns
            kv_end = min(kv_len, int(pos.max()) + 1)
            q = query.gather(2, pos[:, None, :, None].expand(batch, heads, c, dim)).float()
            # GQA: query head h uses KV head h // rep (transformers' repeat_kv order), so group the
            # rep query heads of each KV head into the row axis instead of repeating the keys.
            q = q.view(batch, kv_heads, rep * c, dim)
            scores = (q @ keys_t[..., :kv_end]).view(batch, heads, c, kv_end).mul_(scaling)
            if mask is None:  # no padding: SDPA ran with is_causal, we apply the causal mask ourselves
                allowed = key_pos[None, None, :kv_end] <= pos[:, :, None]  # (B, c, S')
            else:
                rows = mask[:, 0, :, :kv_end].expand(batch, -1, -1).gather(1, pos[:, :, None].expand(batch, c, kv_end))
                allowed = rows if rows.dtype == torch.bool else None
                if allowed is None:  # additive float mask
                    scores.add_(rows[:, None].float())
            if allowed is not None:
                scores.masked_fill_(~allowed[:, None], float("-inf"))
            reduced = _reduce_heads(torch.softmax(scores, dim=-1), self.head_reduce)  # (B, c, S')
            for g, weight in targets:
                self.acc[g][:, start : start + c, :kv_end].add_(reduced, alpha=weight)


@contextmanager
def _attn_implementation(model, name: str) -> Iterator[None]:
    """Switch the model's attention implementation for the duration of the block, then restore it."""
    original = model.config._attn_implementation
    model.set_attn_implementation(name)
    try:
        yield
    finally:
        model.set_attn_implementation(original)


def _batch(requests: list[CaptureRequest], pad_token_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (B, Tmax) input ids and attention mask."""
    lengths = [len(r.input_ids) for r in requests]
    ids = torch.full((len(requests), max(lengths)), pad_token_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for b, r in enumerate(requests):
        ids[b, : lengths[b]] = torch.as_tensor(np.asarray(r.input_ids), dtype=torch.long)
        mask[b, : lengths[b]] = 1
    return ids.to(device), mask.to(device)


def _row_positions(requests: list[CaptureRequest], device: torch.device) -> torch.Tensor:
    """(B, Cmax) query positions of each sequence's CoT rows; short sequences repeat their last row."""
    counts = [len(r.input_ids) - r.cot_start for r in requests]
    cmax = max(counts)
    pos = torch.zeros(len(requests), cmax, dtype=torch.long)
    for b, r in enumerate(requests):
        row = torch.arange(r.cot_start, len(r.input_ids))
        pos[b, : counts[b]] = row
        pos[b, counts[b] :] = row[-1]
    return pos.to(device)


def _signals(acc: dict[str, torch.Tensor], requests: list[CaptureRequest]) -> list[CapturedSignals]:
    """Slice each sequence's (C, T) rows out of the batch accumulators and derive JSD + problem mass."""
    out = []
    for b, r in enumerate(requests):
        num_cot, seq_len = len(r.input_ids) - r.cot_start, len(r.input_ids)
        problem = torch.as_tensor(np.asarray(r.problem_positions), dtype=torch.long)
        jsd, attn = {}, {}
        for g, rows in acc.items():
            rows_b = rows[b, :num_cot, :seq_len]
            jsd[g] = jsd_consecutive(rows_b).cpu().numpy().astype(np.float32)
            attn[g] = rows_b[:, problem.to(rows_b.device)].to(torch.float16).cpu().numpy()
        out.append(CapturedSignals(jsd=jsd, attn=attn))
    return out


def _validate(requests: list[CaptureRequest], head_reduce: str, method: str) -> None:
    if head_reduce not in ("mean", "max"):
        raise ValueError(f"head_reduce must be 'mean' or 'max', got {head_reduce!r}")
    if method not in ("hooks", "naive"):
        raise ValueError(f"method must be 'hooks' or 'naive', got {method!r}")
    if not requests:
        raise ValueError("no requests to capture")
    for r in requests:
        seq_len = len(r.input_ids)
        if not 0 < r.cot_start < seq_len:
            raise ValueError(f"cot_start={r.cot_start} must lie inside (0, {seq_len}): need a prompt and >= 1 CoT token")
        pp = np.asarray(r.problem_positions)
        if pp.size and (pp.min() < 0 or pp.max() >= r.cot_start):
            raise ValueError("problem_positions must lie in the prompt, before cot_start")


def capture(
    model,
    requests: list[CaptureRequest],
    layer_groups: dict[str, list[int]],
    head_reduce: str = "mean",
    method: str = "hooks",
    pad_token_id: int = 0,
) -> list[CapturedSignals]:
    """One forward pass over the batch; JSD curves and CoT->problem attention per layer group.

    ``layer_groups`` holds resolved layer indices (see ``resolve_layer_groups``). ``method`` is
    ``"hooks"`` (bounded memory, the default) or ``"naive"`` (eager ``output_attentions``
    reference). See the module docstring for the exact semantics.
    """
    _validate(requests, head_reduce, method)
    device = next(model.parameters()).device
    ids, mask = _batch(requests, pad_token_id, device)
    row_pos = _row_positions(requests, device)
    base = model.base_model  # skip the LM head: capture needs no logits

    with torch.no_grad():
        if method == "hooks":
            state = _Accumulator(row_pos, ids.shape[1], layer_groups, head_reduce)

            def attention(module, query, key, value, attention_mask, scaling=None, **kwargs):
                out, _ = sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, **kwargs)
                scale = scaling if scaling is not None else query.shape[-1] ** -0.5
                state.add_layer(module.layer_idx, query, key, attention_mask, scale)
                return out, None

            # Registered per call so the closure sees this call's accumulator; the mask function
            # is SDPA's (boolean, or None when there is no padding and is_causal suffices).
            AttentionInterface.register(CAPTURE_ATTN_NAME, attention)
            AttentionMaskInterface.register(CAPTURE_ATTN_NAME, sdpa_mask)
            try:
                with _attn_implementation(model, CAPTURE_ATTN_NAME):
                    base(input_ids=ids, attention_mask=mask, use_cache=False)
            finally:
                AttentionInterface.register(CAPTURE_ATTN_NAME, sdpa_attention_forward)  # drop the closure
            return _signals(state.acc, requests)

        with _attn_implementation(model, "eager"):
            attentions = base(input_ids=ids, attention_mask=mask, use_cache=False, output_attentions=True).attentions
        gather = row_pos[:, :, None].expand(-1, -1, ids.shape[1])
        acc = {}
        for g, layers in layer_groups.items():
            rows = torch.stack([_reduce_heads(attentions[i].float(), head_reduce) for i in layers]).mean(0)
            acc[g] = rows.gather(1, gather)  # (B, Cmax, T) CoT rows
        return _signals(acc, requests)
