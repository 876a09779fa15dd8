"""The optimizer set-up both students share (Hydra ``_partial_`` optimizer and scheduler)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


def configure_optimizers(name: str, optim: Callable | None, scheduler: Callable | None, params: Iterable) -> Any:
    """``optim(params=...)``, plus ``scheduler(optimizer=...)`` stepped every batch when given."""
    if optim is None:
        raise ValueError(f"{name} was built without optim; pass optim=partial(AdamW, lr=...)")
    optimizer = optim(params=params)
    if scheduler is None:
        return optimizer
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler(optimizer=optimizer), "interval": "step"}}


def fp32_master_weights(module: torch.nn.Module) -> int:
    """Cast ``module``'s bfloat16/float16 parameters to float32 in place (returns how many).

    Backbones load in bfloat16 on a GPU (``dtype: auto``), which suits inference; an optimizer
    stepping bfloat16 weights loses every update under half the weight's spacing (AdamW at lr
    2e-5 moves a weight of 0.05 by about 2e-5, under its bfloat16 spacing of 2e-4), so the
    encoder barely trains. Training keeps float32 master weights and the trainer's precision
    (``bf16-mixed`` in ``conf/trainer/gpu.yaml``) autocasts the matrix products to bfloat16."""
    n = 0
    for p in module.parameters():
        if p.dtype in (torch.bfloat16, torch.float16):
            p.data = p.data.float()
            n += 1
    return n


class FP32MasterWeights:
    """Mixin for the students' LightningModules: ``fp32_master_weights`` in the
    ``configure_model`` hook, which Lightning runs before the strategy wraps the module (DDP
    buckets gradients by dtype, so a later cast would break it)."""

    def configure_model(self) -> None:
        fp32_master_weights(self)  # type: ignore[arg-type]  (mixed into a torch.nn.Module)
