"""Beam search over the wiring head's steps, with exact execution (``mycelium.dag`` ops).

A hypothesis is the binary steps taken so far and their exact ``Fraction`` values. Each round
scores every (item, op, i, j, stop) extension of every live hypothesis at once (the beams are
one batch: at a given depth they all hold the same number of nodes), adds the step's log-
probability to the hypothesis' score, and keeps the best ``beam`` continuing extensions whose
step executes (DIV by zero, overflow: dropped). Extensions that stop are finished answers. The
search ends when no live hypothesis can beat the best finished one (scores only fall; with a
``margin``, come within it) or after ``max_steps``. The answer is the last step's value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import torch

from mycelium.dag.graph import format_value
from mycelium.dag.ops import ExecutionError, apply_op
from mycelium.dag.steps import Arg, Step
from mycelium.models.wiring_data import OPS, Quantity
from mycelium.models.wiring_head import StopState, WiringHead


@dataclass
class Decoded:
    """A decoded wiring: binary steps ``(op, i, j, item)`` over node indices (node ``Q + t`` is
    step ``t``'s result), their values, and the summed log-probability."""

    steps: list[tuple[str, int, int, int]]
    values: list[Fraction]
    score: float

    @property
    def answer(self) -> Fraction | None:
        return self.values[-1] if self.values else None


@torch.no_grad()
def beam_search(head: WiringHead, h0: torch.Tensor, g: torch.Tensor, prior: torch.Tensor, item_mask: torch.Tensor,
                values: list[Fraction], *, beam: int = 5, max_steps: int = 10, margin: float = 0.0,
                penalty: Callable[[Decoded], float] | None = None, group: torch.Tensor | None = None,
                written: torch.Tensor | None = None, stop_prior: float = 0.0) -> list[Decoded]:
    """Every finished wiring of one problem, best score first (empty when nothing executes).

    ``h0`` ``(Q, d)`` quantity nodes with exact ``values``; ``g`` ``(K, d)``, ``prior``
    ``(K, O)``, ``item_mask`` ``(K,)`` the problem's items (``WiringHead.items``); the first
    entry is the beam's answer. ``margin`` >= 0 keeps searching while a live hypothesis is
    within ``margin`` of the best finished score, so a caller that re-ranks the finished
    wirings (e.g. a penalty for an implausible answer) sees the ones that re-ranking can lift.
    ``penalty`` (>= 0 for any finished wiring) is that re-ranking itself: the search then goes on
    only while a live hypothesis scores above the best *penalised* finished score, the bound
    past which no continuation can win (its score only falls), instead of a fixed margin.
    ``group`` and ``written`` ``(Q,)`` (``wiring_data.node_groups``, collated as ``q_group`` and
    ``q_written``) give the head its stop state; without them every quantity counts as its own
    group and none as written. ``stop_prior`` shifts the stop logit where nothing is left to read
    (``WiringHead.step``).
    Raises ValueError for a negative ``margin``."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    Q = h0.shape[0]
    if Q == 0:
        return []
    h = h0[None]
    used = torch.zeros(1, g.shape[0], dtype=torch.long, device=h0.device)
    dev = h0.device
    group = group.to(dev) if group is not None else torch.arange(Q, device=dev)
    written = written.to(dev) if written is not None else torch.zeros(Q, dtype=torch.bool, device=dev)
    state = StopState.start(group[None], written[None])
    live: list[Decoded] = [Decoded([], [], 0.0)]
    finished: list[Decoded] = []
    K, O = g.shape[0], len(OPS)
    for _ in range(max_steps):
        n, M = len(live), h.shape[1]
        logits, r = head.step(h, torch.ones(n, M, dtype=torch.bool, device=h.device), g.expand(n, -1, -1),
                              prior.expand(n, -1, -1), item_mask.expand(n, -1), used, state,
                              stop_prior=stop_prior)
        logp = logits.flatten(1).log_softmax(-1) + torch.tensor([b.score for b in live], device=h.device)[:, None]
        flat = logp.flatten()
        top = flat.topk(min(flat.numel(), 8 * beam))
        keep: list[tuple[int, Decoded, int, int, int, int]] = []
        for score, idx in zip(top.values.tolist(), top.indices.tolist()):
            if score == float("-inf") or len(keep) >= beam:
                break
            b, rest = divmod(idx, K * O * M * M * 2)
            k, rest = divmod(rest, O * M * M * 2)
            o, rest = divmod(rest, M * M * 2)
            i, rest = divmod(rest, M * 2)
            j, stop = divmod(rest, 2)
            hyp = live[b]
            vals = values + hyp.values
            try:
                v = apply_op(OPS[o], [vals[i], vals[j]])
            except ExecutionError:
                continue
            new = Decoded(hyp.steps + [(OPS[o], i, j, k)], hyp.values + [v], score)
            if stop:
                finished.append(new)
            else:
                keep.append((b, new, k, o, i, j))
        best_done = max((f.score - (penalty(f) if penalty is not None else 0.0) for f in finished),
                        default=float("-inf"))
        keep = [x for x in keep if x[1].score > best_done - margin]
        if not keep:
            break
        rows = torch.tensor([x[0] for x in keep], device=h.device)
        r_new = torch.stack([r[b, o, i, j] for b, _, _, o, i, j in keep])
        h = h[rows]
        if head.gru is not None:
            m = h.shape[1]
            h = head.gru(r_new[:, None, :].expand(-1, m, -1).reshape(-1, h.shape[-1]),
                         h.reshape(-1, h.shape[-1])).view(len(keep), m, -1)
        h = torch.cat([h, r_new[:, None, :]], 1)
        first, second = (torch.tensor([x[c] for x in keep], device=dev) for c in (4, 5))
        state = state.rows(rows).grow().advance(first, second, torch.full_like(first, M), torch.ones_like(first, dtype=torch.bool))
        used = used[rows].clone()
        used[torch.arange(len(keep)), torch.tensor([x[2] for x in keep])] += 1
        live = [x[1] for x in keep]
    return sorted(finished, key=lambda f: -f.score)


def decoded_steps(decoded: Decoded, quantities: Sequence[Quantity]) -> list[Step]:
    """The decoded wiring as label ``Step``s (what ``dag_from_steps`` executes and the solver
    reports): quantity nodes become number/implicit/constant-valued args, result nodes refs."""
    q = len(quantities)
    steps = []
    for t, ((op, i, j, _), value) in enumerate(zip(decoded.steps, decoded.values)):
        args = []
        for n in (i, j):
            if n < q:
                x = quantities[n]
                kind = "implicit" if x.kind == "constant" else x.kind
                args.append(Arg(kind, format_value(x.value), x.text, x.span))
            else:
                args.append(Arg("result", format_value(decoded.values[n - q]), step=n - q))
        steps.append(Step(t, op, args, format_value(value)))
    return steps
