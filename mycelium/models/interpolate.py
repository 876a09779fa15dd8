"""Weight-space interpolation of two checkpoints of one student (WiSE-FT).

Wortsman et al. 2022, "Robust fine-tuning of zero-shot models" (CVPR): the weights
``(1 - alpha) * theta_0 + alpha * theta_1`` of a model ``theta_0`` and its fine-tuned
``theta_1`` keep most of the fine-tuning's gain on its own distribution and recover what it lost
on a shifted one. Here ``theta_1`` is a wiring student annealed on GSM8K, ``theta_0`` the run
it started from, and the shifted distribution MAWPS (one- and two-step problems the GSM8K
student is not trained on).

    python -m mycelium.models.interpolate <theta_0.ckpt> <theta_1.ckpt> --alpha 0.5 --out soup.ckpt
    python train.py model=wiring model.stop_state=true init_from=soup.ckpt trainer.max_epochs=0 \
        export_dir=<dir>      # validates, tests and exports the interpolated weights

A tensor only ``theta_1`` holds (a part added by the fine-tuning run, e.g. the wiring head's
``stop_state``) is taken from ``theta_1``: the interpolation is over what both share.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from mycelium.errors import UserError
from mycelium.models.checkpoint import load_checkpoint


def interpolate(theta_0: dict[str, torch.Tensor], theta_1: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """``(1 - alpha) * theta_0 + alpha * theta_1`` for every floating-point tensor both hold;
    ``theta_1``'s value for the rest (integer buffers, tensors only it holds).

    Raises:
        UserError: ``alpha`` outside [0, 1], a tensor ``theta_0`` holds and ``theta_1`` lacks
            (not two checkpoints of one model), or shapes that differ.
    """
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"alpha must be in [0, 1], got {alpha}")
    if extra := sorted(set(theta_0) - set(theta_1)):
        raise UserError(f"the first checkpoint holds {extra[0]!r}, which the second lacks: not one model's checkpoints")
    out = {}
    for k, b in theta_1.items():
        a = theta_0.get(k)
        if a is not None and a.shape != b.shape:
            raise UserError(f"{k}: shapes {tuple(a.shape)} and {tuple(b.shape)} differ")
        out[k] = torch.lerp(a.float(), b.float(), alpha).to(b.dtype) if a is not None and b.is_floating_point() else b
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI (module docstring); exit status 2 with one line on a user error."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("theta_0", type=Path, help="the starting checkpoint (Lightning .ckpt)")
    ap.add_argument("theta_1", type=Path, help="the fine-tuned checkpoint (Lightning .ckpt)")
    ap.add_argument("--alpha", type=float, default=0.5, help="weight of theta_1 (WiSE-FT's default 0.5)")
    ap.add_argument("--out", type=Path, required=True, help="where to write the interpolated checkpoint")
    args = ap.parse_args(argv)
    try:
        first, second = load_checkpoint(args.theta_0), load_checkpoint(args.theta_1)
        weights = interpolate(first["state_dict"], second["state_dict"], args.alpha)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # the weights and hyperparameters only: a new run (init_from), not a resumable state
    torch.save({"state_dict": weights, "hyper_parameters": second.get("hyper_parameters", {}),
                "interpolated": {"theta_0": str(args.theta_0), "theta_1": str(args.theta_1), "alpha": args.alpha}},
               args.out)
    print(f"wrote {args.out}: (1 - {args.alpha}) x {args.theta_0} + {args.alpha} x {args.theta_1}, {len(weights)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
