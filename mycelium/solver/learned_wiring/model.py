"""The learned wiring's model: three small MLPs (item, candidate, pair), and its files
(``config.json`` + ``model.safetensors``, refused when built with other features)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from mycelium.solver.learned_wiring.features import CAND_FEATURES, ITEM_FEATURES, KEYWORDS, PAIR_FEATURES, pair_features

def _mlp(n_in: int, hidden: int, n_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Dropout(dropout), nn.Linear(hidden, n_out))


class WiringModel(nn.Module):
    """Three small MLPs: item (which op next), candidate (first/second/extra operand), pair."""

    def __init__(self, hidden: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        self.hidden = hidden
        self.item = _mlp(ITEM_FEATURES, hidden, 1, dropout)
        self.cand = _mlp(CAND_FEATURES, hidden, 3, dropout)
        self.pair = _mlp(PAIR_FEATURES, hidden // 2, 1, dropout)

    def pair_logits(self, xc: torch.Tensor, values: torch.Tensor, kinds: torch.Tensor, op: torch.Tensor,
                    mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ordered-pair logits [B, C, C] (invalid pairs -inf) and extra-operand logits [B, C]."""
        u = self.cand(xc)  # [B, C, 3]
        logits = u[:, :, 0, None] + u[:, None, :, 1] + self.pair(pair_features(values, kinds, op)).squeeze(-1)
        C = xc.shape[1]
        valid = mask[:, :, None] & mask[:, None, :] & ~torch.eye(C, dtype=torch.bool, device=xc.device)
        return logits.masked_fill(~valid, float("-inf")), u[:, :, 2]


# ---------------------------------------------------------------------------------------------
# save / load


def save_wiring(model: WiringModel, out_dir: str | Path) -> Path:
    """Write ``config.json`` and ``model.safetensors`` into ``out_dir``."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = {"hidden": model.hidden, "item_features": ITEM_FEATURES, "cand_features": CAND_FEATURES,
              "pair_features": PAIR_FEATURES, "keywords": list(KEYWORDS)}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors"))
    return out


def load_wiring(path: str | Path) -> WiringModel:
    """A ``WiringModel`` saved by ``save_wiring``. Refuses one built with other features."""
    from safetensors.torch import load_file

    path = Path(path)
    config = json.loads((path / "config.json").read_text())
    want = {"item_features": ITEM_FEATURES, "cand_features": CAND_FEATURES, "pair_features": PAIR_FEATURES,
            "keywords": list(KEYWORDS)}
    if any(config.get(k) != v for k, v in want.items()):
        raise ValueError(f"{path} holds a wiring model built with other features; refit it")
    model = WiringModel(config["hidden"])
    model.load_state_dict(load_file(str(path / "model.safetensors")))
    return model.eval()


def is_wiring_dir(path: str | Path) -> bool:
    """Does ``path`` hold a saved wiring model?"""
    return (Path(path) / "config.json").is_file() and (Path(path) / "model.safetensors").is_file()
