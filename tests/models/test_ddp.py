"""DDP on CPU through the real entry point: two processes, a few steps, one export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_train_py_ddp_two_cpu_processes(train_overrides: list[str], tmp_path: Path) -> None:
    run = tmp_path / "ddp"
    overrides = [o for o in train_overrides if not o.startswith("trainer=")]
    cmd = [
        sys.executable, "train.py", *overrides,
        "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.precision=32-true",
        f"hydra.run.dir={run}",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Initializing distributed: GLOBAL_RANK: 1" in proc.stderr + proc.stdout
    assert json.loads((run / "export" / "label_map.json").read_text())["student"] == "segmenter"
    assert (run / "checkpoints" / "last.ckpt").is_file()
