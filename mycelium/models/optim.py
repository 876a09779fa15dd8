"""The optimizer set-up both students share (Hydra ``_partial_`` optimizer and scheduler)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def configure_optimizers(name: str, optim: Callable | None, scheduler: Callable | None, params: Iterable) -> Any:
    """``optim(params=...)``, plus ``scheduler(optimizer=...)`` stepped every batch when given."""
    if optim is None:
        raise ValueError(f"{name} was built without optim; pass optim=partial(AdamW, lr=...)")
    optimizer = optim(params=params)
    if scheduler is None:
        return optimizer
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler(optimizer=optimizer), "interval": "step"}}
