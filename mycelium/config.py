"""OmegaConf resolvers the configs use. Entry points call ``register_resolvers()`` once."""

from __future__ import annotations

from omegaconf import OmegaConf

# Overrides that change the labels (and so name their directory): the knobs, and `limit`
# (labels of the first N problems must not overwrite those of the whole set).
LABEL_KNOBS = ("signals.", "labels.", "limit=")


def labels_tag(overrides) -> str:
    """A directory name for labels made with non-default knobs.

    ``overrides`` is Hydra's task override list; only ``signals.*``/``labels.*`` and
    ``limit=`` count, so ``logger=`` or ``stage=`` never fork the labels. None: "default".
    """
    knobs = sorted(o for o in (overrides or []) if str(o).lstrip("+~").startswith(LABEL_KNOBS))
    return ",".join(str(o).replace("/", "_") for o in knobs) or "default"


def shuffle_tag(seed) -> str:
    """"" for the file's own order, "-shuffle<seed>" for a shuffled one (names the traces)."""
    return "" if seed is None else f"-shuffle{seed}"


def register_resolvers() -> None:
    """Register ``${labels_tag:...}`` and ``${shuffle_tag:...}`` (idempotent)."""
    for name, fn in (("labels_tag", labels_tag), ("shuffle_tag", shuffle_tag)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
