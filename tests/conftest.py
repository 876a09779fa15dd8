"""Shared fixtures. Unit tests run tiny in-process models; `-m integration` runs the real ones."""

from __future__ import annotations

import os
from pathlib import Path

# Tests never touch the network: an unreachable hub costs ~50 s of retries per lookup.
# Set before transformers / huggingface_hub are imported (they read these at import time).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_model_and_tokenizer():
    """A fresh tiny random Llama causal LM (2 layers, 4 heads, 2 KV heads) + byte-level BPE tokenizer."""
    from mycelium.teacher.loading import build_tiny

    return build_tiny()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared problem sets: $MYCELIUM_DATA_DIR, else ../shared/data beside the repo."""
    path = Path(os.environ.get("MYCELIUM_DATA_DIR") or ROOT.parent / "shared" / "data")
    if not (path / "gsm8k" / "train.jsonl").is_file():
        pytest.skip(f"no problem sets at {path}: set MYCELIUM_DATA_DIR to a directory laid out like ../shared/data")
    return path


@pytest.fixture(scope="session")
def model_cache_dir() -> Path:
    """Where converted models are cached across test runs ($MYCELIUM_MODEL_CACHE or .cache/models)."""
    return Path(os.environ.get("MYCELIUM_MODEL_CACHE") or ROOT / ".cache" / "models")
