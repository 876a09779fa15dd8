"""Reading a Lightning checkpoint's weights, with one-line errors for a user's wrong file."""

from __future__ import annotations

from pathlib import Path

import torch

from mycelium.errors import UserError


def load_checkpoint(path: Path) -> dict:
    """The checkpoint at ``path`` (a dict holding ``state_dict``), loaded on the CPU.

    Raises:
        UserError: no such file, or a file that is not a Lightning checkpoint (a text or
            safetensors file, a truncated pickle, a pickle without ``state_dict``).
    """
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # any unreadable file is the user's, not a bug: one line each
        raise UserError(f"{path}: not a Lightning checkpoint ({type(e).__name__})") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise UserError(f"{path}: not a Lightning checkpoint (no state_dict)")
    return ckpt
