"""OmegaConf resolvers the configs use. Entry points call ``register_resolvers()`` once."""

from __future__ import annotations

from omegaconf import OmegaConf

# Config prefixes whose overrides change the labels (and so name their directory).
LABEL_KNOBS = ("signals.", "labels.")


def labels_tag(overrides) -> str:
    """A directory name for labels made with non-default knobs.

    ``overrides`` is Hydra's task override list; only ``signals.*``/``labels.*`` overrides
    count, so ``limit=`` or ``logger=`` never fork the labels. No such override: "default".
    """
    knobs = sorted(o for o in (overrides or []) if str(o).lstrip("+~").startswith(LABEL_KNOBS))
    return ",".join(str(o).replace("/", "_") for o in knobs) or "default"


def register_resolvers() -> None:
    """Register ``${labels_tag:...}`` (idempotent)."""
    if not OmegaConf.has_resolver("labels_tag"):
        OmegaConf.register_new_resolver("labels_tag", labels_tag)
