"""OmegaConf resolvers the configs use, and the labels directory names they make.

Entry points call ``register_resolvers()`` once.

Labels directory names (``labels_tag``) are what a Hydra override accepts unquoted, so
``labels_dir=artifacts/labels/.../limit-2000`` can be passed back as it is: each override
``key=value`` becomes ``key-value``, several are joined by ``__`` in sorted order, and any
character outside ``[A-Za-z0-9_.+-]`` becomes ``_`` (Hydra's grammar stops at ``=``, splits on
``,`` and treats ``~ : [ ] { } ( )`` and quotes specially). Directories written before this
naming (``limit=2000``, ``labels.source=iaf,signals.iaf.top_k=3``) still read:
``find_labels_dir`` falls back to the old name when the new one does not exist.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from omegaconf import OmegaConf

log = logging.getLogger(__name__)

# Overrides that change the labels (and so name their directory): the knobs, and `limit`
# (labels of the first N problems must not overwrite those of the whole set).
LABEL_KNOBS = ("signals.", "labels.", "limit=")
NOT_KNOBS = ("labels.workers=",)  # how the labels are computed, not what they are
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")  # what a Hydra override value may not hold unquoted
# Where one override starts in an old-style name ("labels.source=iaf,signals.iaf.top_k=3").
_OLD_SPLIT = re.compile(r",(?=[+~]?(?:signals\.|labels\.|limit=))")


def _tag(override: str) -> str:
    key, eq, value = str(override).partition("=")
    return _UNSAFE.sub("_", key) + ("-" + _UNSAFE.sub("_", value) if eq else "")


def labels_tag(overrides) -> str:
    """A directory name for labels made with non-default knobs.

    ``overrides`` is Hydra's task override list; only ``signals.*``/``labels.*`` and
    ``limit=`` count, so ``logger=`` or ``stage=`` never fork the labels, nor ``labels.workers``
    (the same labels in any number of processes). None: "default".
    ``["limit=2000", "signals.iaf.top_k=3"]`` -> ``"limit-2000__signals.iaf.top_k-3"``.
    """
    pairs = [(str(o), str(o).lstrip("+~")) for o in overrides or []]
    knobs = sorted(o for o, bare in pairs if bare.startswith(LABEL_KNOBS) and not bare.startswith(NOT_KNOBS))
    return "__".join(_tag(o) for o in knobs) or "default"


def legacy_labels_tag(old_name: str) -> str:
    """The ``labels_tag`` name of a directory named the old way (``key=value,...``)."""
    return "__".join(_tag(o) for o in _OLD_SPLIT.split(old_name))


def find_labels_dir(path: str | Path) -> Path:
    """``path`` (a labels dir, or a ``labels.jsonl`` in one) if it exists; otherwise the same
    path under the old-style directory name it replaces (``limit=2000`` for ``limit-2000``)
    when that one exists; otherwise ``path`` unchanged, for the caller to report missing."""
    path = Path(path)
    if path.exists():
        return path
    is_file = path.suffix == ".jsonl"
    wanted = path.parent if is_file else path
    if wanted.parent.is_dir():
        for old in sorted(wanted.parent.iterdir()):
            if "=" in old.name and old.is_dir() and legacy_labels_tag(old.name) == wanted.name:
                log.info("labels dir %s does not exist; reading %s (its old-style name)", wanted, old)
                return old / path.name if is_file else old
    return path


def shuffle_tag(seed) -> str:
    """"" for the file's own order, "-shuffle<seed>" for a shuffled one (names the traces)."""
    return "" if seed is None else f"-shuffle{seed}"


def register_resolvers() -> None:
    """Register ``${labels_tag:...}`` and ``${shuffle_tag:...}`` (idempotent)."""
    for name, fn in (("labels_tag", labels_tag), ("shuffle_tag", shuffle_tag)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
