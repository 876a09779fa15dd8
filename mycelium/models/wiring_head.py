"""The deductive wiring head: scores every (item, op, ordered node pair, stop) of one step.

After DeductReasoner (Jie et al. 2022, "Learning to Reason Deductively: Math Word Problem
Solving as Complex Relation Extraction", ACL): quantities are encoder states pooled over their
tokens; a step is a relation between two nodes, scored for every op by an op-specific MLP over
``[h_i, h_j, h_i * h_j]`` whose output is also the new result node's representation; a stop
decision rides on each candidate; a GRU cell ("rationalizer") refreshes every node with the
new result. Our own additions: one node per reading of a quantity ("20%" as 20 and 1/5); a
*stop state* (:class:`StopState`): how many written numbers no step has read and how many
results no later step reads, after each candidate; a wiring never stops with a result unread
(no label DAG does: validation prunes such steps), and, with ``stop_state``, a learned bias
per state tells "everything is used" from "numbers are left"; and the optional conditioning
on *items* (a span's pooled states plus its op distribution, from
the labels' regions or from the segmenter and classifier): a bilinear compatibility between a
candidate's representation and the item, the item's log op probability as a prior, and how
often each item has been used. Without items a learned null item stands in (pure deduction
from the text).

Shapes: ``B`` problems (or beams), ``M`` node slots, ``K`` items, ``O`` ops, ``d`` the head's
width, ``Hin`` the encoder's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

MAX_READINGS = 4  # readings of one quantity ("year": 12, 52, 365)
MAX_USED = 3  # item use counts 0, 1, 2, 3+
MAX_UNUSED = 4  # items still unused after a step: 0..3, 4+
MAX_UNREAD = 3  # written numbers no step has read, after a candidate: 0..2, 3+
MAX_DANGLING = 2  # results no later step reads, after a candidate: 0, 1, 2+


@dataclass
class StopState:
    """What each node slot ``(B, M)`` contributes to the stop decision.

    ``group``: the node's quantity (the first reading's slot; a result's own slot), so the
    readings of one written number count once; ``fresh``: a written number (``kind`` number)
    no step has read in any reading; ``dangling``: a result no later step reads."""

    group: torch.Tensor
    fresh: torch.Tensor
    dangling: torch.Tensor

    @classmethod
    def start(cls, group: torch.Tensor, written: torch.Tensor, slots: int = 0) -> "StopState":
        """The state before the first step, from the quantities' ``group`` ids and ``written``
        mask ``(B, Q)``, with ``slots`` empty result slots after them."""
        B, Q = group.shape
        own = torch.arange(Q, Q + slots, device=group.device).expand(B, slots)
        return cls(torch.cat([group, own], 1), torch.cat([written, written.new_zeros(B, slots)], 1),
                   written.new_zeros(B, Q + slots))

    def rows(self, rows: torch.Tensor) -> "StopState":
        return StopState(self.group[rows], self.fresh[rows], self.dangling[rows])

    def grow(self) -> "StopState":
        """One more (empty) result slot at the end (the beam appends its nodes)."""
        B, M = self.group.shape
        return StopState(torch.cat([self.group, self.group.new_full((B, 1), M)], 1),
                         torch.cat([self.fresh, self.fresh.new_zeros(B, 1)], 1),
                         torch.cat([self.dangling, self.dangling.new_zeros(B, 1)], 1))

    def after(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Written numbers left unread and results left dangling ``(B, M, M)`` after each
        candidate pair ``(i, j)`` (the candidate's own result not counted)."""
        B, M = self.group.shape
        idx = torch.arange(M, device=self.group.device)
        same = self.group[:, :, None] == self.group[:, None, :]
        newly = self.fresh[:, :, None].long() + (self.fresh[:, None, :] & ~same).long()
        unread = (self.fresh & (self.group == idx)).sum(-1)[:, None, None] - newly
        eye = idx[:, None] == idx[None, :]
        dangling = (self.dangling.sum(-1)[:, None, None] - self.dangling[:, :, None].long()
                    - (self.dangling[:, None, :] & ~eye).long())
        return unread, dangling

    def advance(self, i: torch.Tensor, j: torch.Tensor, slot: torch.Tensor, active: torch.Tensor) -> "StopState":
        """The state after the ``active`` rows read nodes ``i``, ``j`` ``(B,)`` into ``slot``."""
        B, M = self.group.shape
        rows = torch.arange(B, device=i.device)
        gi, gj = self.group[rows, i], self.group[rows, j]
        read = (self.group == gi[:, None]) | (self.group == gj[:, None])
        idx = torch.arange(M, device=i.device)[None, :]
        ij = (idx == i[:, None]) | (idx == j[:, None])
        put = idx == slot[:, None]
        a = active[:, None]
        return StopState(self.group, self.fresh & ~(read & a), torch.where(a, (self.dangling & ~ij) | put, self.dangling))


class WiringHead(nn.Module):
    """Step scorer over quantity/result nodes (module docstring).

    Args:
        encoder_width: the encoder's hidden size ``Hin``.
        width: ``d``, the node and candidate width.
        n_ops: ``O`` (``mycelium.models.wiring_data.OPS``).
        n_constants: learned constant nodes (values no word of the text states).
        dropout: on candidate representations.
        rationalizer: refresh every node with each new result (a GRU cell).
        stop_state: learn a stop bias per :class:`StopState` count (unread numbers, dangling
            results); without it the state only forbids stopping with a result unread.
    """

    def __init__(self, encoder_width: int, width: int = 256, n_ops: int = 4, n_constants: int = 0,
                 dropout: float = 0.1, rationalizer: bool = True, stop_state: bool = False) -> None:
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
        self.state_stop = nn.Embedding((MAX_UNREAD + 1) * (MAX_DANGLING + 1), 2) if stop_state else None
        if self.state_stop is not None:  # zero: a head trained without it starts where it was
            nn.init.zeros_(self.state_stop.weight)

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
             item_mask: torch.Tensor, used: torch.Tensor, state: StopState | None = None,
             stop_prior: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(B, K, O, M, M, 2)`` of (item, op, first node, second node, stop) (-inf
        where masked) and the candidates' representations ``(B, O, M, M, d)``.

        ``h`` ``(B, M, d)`` nodes, ``node_mask`` ``(B, M)``, ``used`` ``(B, K)`` item use counts,
        ``state`` the stop state of the nodes (None: no stop-state terms or mask).
        ``stop_prior`` (finite nats, inference only) shifts the stop-vs-go-on log-odds of every
        candidate after which no written number is left unread and no result dangling, keeping
        the candidate's total probability: the stop rate in that state moved from the training
        set's to another dataset's (a prior correction for label shift, Saerens et al. 2002;
        ``bench/stop_state.py`` measures it)."""
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
        if state is not None:
            unread, dangling = state.after()
            if self.state_stop is not None:
                code = unread.clamp(0, MAX_UNREAD) * (MAX_DANGLING + 1) + dangling.clamp(0, MAX_DANGLING)
                logits = logits + self.state_stop(code)[:, None, None]
            if stop_prior:
                # shift the stop odds of each done pair by stop_prior while keeping the pair's
                # own mass (go on + stop), so which step to take is left as the student scored it
                done = ((unread == 0) & (dangling == 0))[:, None, None]  # (B, 1, 1, M, M)
                go, st = logits[..., 0], logits[..., 1]
                shift = torch.logaddexp(go, st + stop_prior) - torch.logaddexp(go, st)
                logits = torch.stack([torch.where(done, go - shift, go), torch.where(done, st + stop_prior - shift, st)], -1)
            # stopping would leave a computed result unread: never a label DAG
            never = torch.stack([torch.zeros_like(dangling, dtype=torch.bool), dangling > 0], -1)
            ok = ok & ~never[:, None, None]
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
