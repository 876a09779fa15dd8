"""WiSE-FT weight interpolation between two checkpoints of one student."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mycelium.errors import UserError
from mycelium.models.interpolate import interpolate, main


def test_interpolates_shared_floats_and_keeps_what_only_the_fine_tuned_holds() -> None:
    a = {"w": torch.tensor([0.0, 2.0]), "steps": torch.tensor(3)}
    b = {"w": torch.tensor([4.0, 6.0]), "steps": torch.tensor(7), "new": torch.tensor([1.5])}
    out = interpolate(a, b, 0.25)
    assert torch.equal(out["w"], torch.tensor([1.0, 3.0]))
    assert out["steps"] == 7 and torch.equal(out["new"], b["new"])  # integer buffers, new tensors: theta_1's
    assert torch.equal(interpolate(a, b, 0.0)["w"], a["w"]) and torch.equal(interpolate(a, b, 1.0)["w"], b["w"])
    with pytest.raises(UserError, match="alpha"):
        interpolate(a, b, 1.5)
    with pytest.raises(UserError, match="lacks"):
        interpolate(b, a, 0.5)
    with pytest.raises(UserError, match="shapes"):
        interpolate({"w": torch.zeros(3)}, {"w": torch.zeros(2)}, 0.5)


def test_cli_writes_a_checkpoint_init_from_reads_and_fails_in_one_line(tmp_path: Path, capsys) -> None:
    a, b, out = tmp_path / "a.ckpt", tmp_path / "b.ckpt", tmp_path / "soup.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, a)
    torch.save({"state_dict": {"w": torch.ones(2)}, "hyper_parameters": {"width": 8}}, b)
    assert main([str(a), str(b), "--alpha", "0.5", "--out", str(out)]) == 0
    soup = torch.load(out, weights_only=False)
    assert torch.equal(soup["state_dict"]["w"], torch.full((2,), 0.5)) and soup["hyper_parameters"] == {"width": 8}
    (tmp_path / "notes.ckpt").write_text("not a checkpoint")
    assert main([str(tmp_path / "notes.ckpt"), str(b), "--out", str(out)]) == 2
    assert main([str(tmp_path / "missing.ckpt"), str(b), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'notes.ckpt'}: not a Lightning checkpoint (UnpicklingError)",
                   f"error: {tmp_path / 'missing.ckpt'}: no such checkpoint file"]
