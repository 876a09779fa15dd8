"""The deductive wiring head: scores every (item, op, ordered node pair, stop) of one step.

After DeductReasoner (Jie et al. 2022, "Learning to Reason Deductively: Math Word Problem
Solving as Complex Relation Extraction", ACL): quantities are encoder states pooled over their
tokens; a step is a relation between two nodes, scored for every op by an op-specific MLP over
``[h_i, h_j, h_i * h_j]`` whose output is also the new result node's representation; a stop
decision rides on each candidate; a GRU cell ("rationalizer") refreshes every node with the
new result. Our own additions: one node per reading of a quantity ("20%" as 20 and 1/5), and
the optional conditioning on *items* (a span's pooled states plus its op distribution, from
the labels' regions or from the segmenter and classifier): a bilinear compatibility between a
candidate's representation and the item, the item's log op probability as a prior, and how
often each item has been used. Without items a learned null item stands in (pure deduction
from the text).

Shapes: ``B`` problems (or beams), ``M`` node slots, ``K`` items, ``O`` ops, ``d`` the head's
width, ``Hin`` the encoder's.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MAX_READINGS = 4  # readings of one quantity ("year": 12, 52, 365)
MAX_USED = 3  # item use counts 0, 1, 2, 3+
MAX_UNUSED = 4  # items still unused after a step: 0..3, 4+


class WiringHead(nn.Module):
    """Step scorer over quantity/result nodes (module docstring).

    Args:
        encoder_width: the encoder's hidden size ``Hin``.
        width: ``d``, the node and candidate width.
        n_ops: ``O`` (``mycelium.models.wiring_data.OPS``).
        n_constants: learned constant nodes (values no word of the text states).
        dropout: on candidate representations.
        rationalizer: refresh every node with each new result (a GRU cell).
    """

    def __init__(self, encoder_width: int, width: int = 256, n_ops: int = 4, n_constants: int = 0,
                 dropout: float = 0.1, rationalizer: bool = True) -> None:
        super().__init__()
        d, self.n_ops, self.width = width, n_ops, width
        self.proj = nn.Sequential(nn.Linear(encoder_width, d), nn.LayerNorm(d))
        self.kind = nn.Embedding(3, d)  # number, implicit, constant
        self.reading = nn.Embedding(MAX_READINGS, d)
        self.constant = nn.Embedding(max(1, n_constants), d)
        self.pair = nn.Linear(3 * d, n_ops * d)
        self.pair_norm = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)
        self.pair_score = nn.Linear(d, 1)
        self.stop = nn.Linear(d, 2)
        self.item = nn.Sequential(nn.Linear(encoder_width + n_ops, d), nn.ReLU(), nn.Linear(d, d))
        self.null_item = nn.Parameter(torch.zeros(d))
        self.used = nn.Embedding(MAX_USED + 1, d)
        self.unused_stop = nn.Embedding(MAX_UNUSED + 1, 2)
        self.gru = nn.GRUCell(d, d) if rationalizer else None

    def nodes(self, states: torch.Tensor, weights: torch.Tensor, kind: torch.Tensor, reading: torch.Tensor) -> torch.Tensor:
        """Quantity nodes ``(B, Q, d)`` from encoder states ``(B, L, Hin)``, pooling weights
        ``(B, Q, L)``, kinds and readings ``(B, Q)`` (a constant's reading is its index)."""
        pooled = self.proj(torch.bmm(weights, states))
        const = kind == 2
        text = pooled + self.reading(reading.clamp(max=MAX_READINGS - 1))
        const_rep = self.constant(reading.clamp(max=self.constant.num_embeddings - 1))
        return torch.where(const[..., None], const_rep, text) + self.kind(kind)

    def items(self, states: torch.Tensor, weights: torch.Tensor, ops: torch.Tensor, mask: torch.Tensor,
              use: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Items ``(B, K, d)``, their op log-priors ``(B, K, O)`` and mask ``(B, K)``, from
        region pooling weights ``(B, K, L)`` and op distributions ``(B, K, O)``; rows with
        ``use`` False (``(B,)``) get the one null item (no prior)."""
        pooled = torch.bmm(weights, states)
        g = self.item(torch.cat([pooled, ops], -1))
        use = use & mask.any(-1)
        first = torch.zeros_like(mask)
        first[:, 0] = True
        mask = torch.where(use[:, None], mask, first)
        g = torch.where(use[:, None, None], g, self.null_item.expand_as(g))
        prior = torch.where(use[:, None, None], ops.clamp(min=1e-9).log(), torch.zeros_like(ops))
        return g, prior, mask

    def step(self, h: torch.Tensor, node_mask: torch.Tensor, g: torch.Tensor, prior: torch.Tensor,
             item_mask: torch.Tensor, used: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(B, K, O, M, M, 2)`` of (item, op, first node, second node, stop) (-inf
        where masked) and the candidates' representations ``(B, O, M, M, d)``.

        ``h`` ``(B, M, d)`` nodes, ``node_mask`` ``(B, M)``, ``used`` ``(B, K)`` item use counts."""
        B, M, d = h.shape
        hi, hj = h[:, :, None, :].expand(B, M, M, d), h[:, None, :, :].expand(B, M, M, d)
        r = self.pair(torch.cat([hi, hj, hi * hj], -1)).view(B, M, M, self.n_ops, d)
        r = self.drop(self.pair_norm(torch.relu(r))).permute(0, 3, 1, 2, 4)  # (B, O, M, M, d)
        base = self.pair_score(r).squeeze(-1)  # (B, O, M, M)
        u = g + self.used(used.clamp(max=MAX_USED))
        compat = torch.einsum("bomnd,bkd->bkomn", r, u) / math.sqrt(d)
        unused = (used == 0) & item_mask
        after = (unused.sum(-1, keepdim=True) - unused.long()).clamp(0, MAX_UNUSED)  # (B, K)
        logits = (base[:, None, ..., None] + compat[..., None] + prior[:, :, :, None, None, None]
                  + self.stop(r)[:, None] + self.unused_stop(after)[:, :, None, None, None, :])
        ok = item_mask[:, :, None, None, None, None] & node_mask[:, None, None, :, None, None] \
            & node_mask[:, None, None, None, :, None]
        return logits.masked_fill(~ok, float("-inf")), r

    def advance(self, h: torch.Tensor, node_mask: torch.Tensor, r_new: torch.Tensor, slot: torch.Tensor,
                active: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Put the new result ``r_new`` ``(B, d)`` into node ``slot`` ``(B,)`` of the ``active``
        rows, after refreshing their nodes with it (the rationalizer). Out of place (autograd)."""
        B, M, d = h.shape
        if self.gru is not None:
            upd = self.gru(r_new[:, None, :].expand(B, M, d).reshape(-1, d), h.reshape(-1, d)).view(B, M, d)
            h = torch.where((node_mask & active[:, None])[..., None], upd, h)
        put = (torch.arange(M, device=h.device)[None, :] == slot[:, None]) & active[:, None]
        return torch.where(put[..., None], r_new[:, None, :], h), node_mask | put
