"""Log a sample of explorer pages to W&B, so a run's dashboard shows what its labels look like."""

from __future__ import annotations

import random
from pathlib import Path


def log_problem_pages(logger_or_run, pages: list[Path], n: int = 20, seed: int = 0, key: str = "explorer") -> int:
    """Log ``n`` pages (a seeded sample, in file order) as ``wandb.Html`` under ``<key>/<page stem>``.

    ``logger_or_run`` is a Lightning ``WandbLogger`` (its ``.experiment`` is the run) or a
    ``wandb`` run. Pages are self-contained (inline CSS/SVG), so they render as logged; the
    links between pages do not survive, which is why each is logged whole. Returns the
    number of pages logged.
    """
    import wandb  # only when logging: the explorer itself needs no W&B

    run = getattr(logger_or_run, "experiment", logger_or_run)
    pages = sorted(Path(p) for p in pages)
    if len(pages) > n:
        pages = sorted(random.Random(seed).sample(pages, n))
    run.log({f"{key}/{p.stem}": wandb.Html(p.read_text(encoding="utf-8"), inject=False) for p in pages})
    return len(pages)
