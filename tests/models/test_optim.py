"""fp32 master weights: a bf16-loaded module trains in float32 (the trainer autocasts)."""

from __future__ import annotations

import torch

from mycelium.models.optim import fp32_master_weights


def test_half_parameters_become_float32_in_place() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4)).to(torch.bfloat16)
    before = [id(p) for p in net.parameters()]
    assert fp32_master_weights(net) == 4
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert [id(p) for p in net.parameters()] == before  # an optimizer built earlier still holds them
    assert fp32_master_weights(net) == 0                # float32 already: nothing to do


def test_small_adamw_updates_survive_only_in_float32() -> None:
    """Why: AdamW at lr 2e-5 moves a weight of 0.05 by ~2e-5, under its bf16 spacing (2e-4)."""
    for cast, moves in ((False, False), (True, True)):
        w = torch.nn.Parameter(torch.full((8,), 0.05, dtype=torch.bfloat16))
        module = torch.nn.Module()
        module.w = w
        if cast:
            fp32_master_weights(module)
        opt = torch.optim.AdamW(module.parameters(), lr=2e-5, weight_decay=0.0)
        start = module.w.detach().float().clone()
        module.w.grad = torch.ones_like(module.w)
        opt.step()
        assert bool((module.w.detach().float() != start).all()) is moves


def test_a_student_casts_before_the_strategy_wraps_it() -> None:
    """configure_model (run before DDP wraps the module) is where the students cast."""
    from functools import partial

    from mycelium.models.wiring import WiringModule
    from mycelium.teacher.loading import build_tiny

    m = WiringModule(partial(build_tiny), width=16).to(torch.bfloat16)
    m.configure_model()
    assert {p.dtype for p in m.parameters()} == {torch.float32}
