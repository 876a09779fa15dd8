"""What every Hydra entry point does around its work (extract.py, train.py, evaluate.py)."""

from __future__ import annotations

import logging
import sys
from typing import Callable

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from mycelium.errors import find_user_error
from mycelium.loggers import finish_loggers

log = logging.getLogger("mycelium")


def run_job(
    cfg: DictConfig, body: Callable[[DictConfig, list], dict], *, make_loggers: bool = True, metric: str | None = None
) -> float | None:
    """Run ``body(cfg, loggers)`` and return ``metrics[metric or cfg.optimized_metric]`` for a sweeper.

    With ``make_loggers`` the ``logger`` group is instantiated, given the resolved config, and
    closed at the end (a fresh W&B run per multirun job). A ``UserError`` (also one wrapped by
    Hydra's ``instantiate``) ends the job with one line and exit status 2, not a traceback.
    """
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c] if make_loggers else []
    for lg in loggers:
        lg.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    metrics: dict = {}
    try:
        metrics = body(cfg, loggers)
    except Exception as e:
        user_error = find_user_error(e)
        if user_error is None:
            raise
        log.error("%s", user_error)
        sys.exit(2)
    finally:
        finish_loggers(loggers)
    return metrics.get(metric or cfg.get("optimized_metric"))
