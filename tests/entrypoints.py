"""Helpers for the tests that run extract.py / evaluate.py as users do: a subprocess."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_entry(script: str, *overrides: str, cwd: Path, data: Path | None = None) -> subprocess.CompletedProcess:
    """``python <script> <overrides>`` in ``cwd``, offline, W&B offline, data from ``data``."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "WANDB_MODE": "offline", "PROJECT_ROOT": str(cwd),
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    if data is not None:
        env["MYCELIUM_DATA_DIR"] = str(data)
    return subprocess.run([sys.executable, str(ROOT / script), *overrides],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def write_gsm8k(root: Path, split: str, n: int = 7, mixed: bool = False) -> Path:
    """An ``n``-problem GSM8K ``<root>/gsm8k/<split>.jsonl`` (one ADD each; with ``mixed``,
    every other problem is a SUB, so a classifier has two ops to learn); returns ``root``."""
    (root / "gsm8k").mkdir(parents=True, exist_ok=True)
    rows = [
        {"question": f"Tom has {i} apples and buys {i + 2} more. How many apples does he have?",
         "answer": f"He has {i}+{i + 2}=<<{i}+{i + 2}={2 * i + 2}>>{2 * i + 2} apples.\n#### {2 * i + 2}"}
        if not (mixed and i % 2) else
        {"question": f"Tom has {i + 9} pears and eats {i} of them. How many pears are left?",
         "answer": f"He has {i + 9}-{i}=<<{i + 9}-{i}=9>>9 pears left.\n#### 9"}
        for i in range(1, n + 1)
    ]
    (root / "gsm8k" / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root
