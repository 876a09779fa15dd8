"""Experiment loggers shared by the entry points (Lightning loggers, usable without a Trainer)."""

from __future__ import annotations

import os
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger


def wandb_logged_in() -> bool:
    """True when W&B has credentials here: ``WANDB_API_KEY`` or a netrc entry for api.wandb.ai."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def sweep_group() -> str | None:
    """In a Hydra multirun, a group name shared by all jobs of the sweep; else None."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
    except (ImportError, ValueError):  # not running under Hydra
        return None
    if hc.mode != RunMode.MULTIRUN:
        return None
    return f"{hc.job.name}-{Path(hc.sweep.dir).name}"


def job_name() -> str | None:
    """``<job>-<num>`` inside a Hydra multirun, so each job's run is named apart."""
    try:
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
    except (ImportError, ValueError):
        return None
    return f"{hc.job.name}-{hc.job.num}" if hc.job.get("num") is not None else None


def make_wandb_logger(
    project: str = "mycelium",
    save_dir: str = ".",
    group: str | None = None,
    name: str | None = None,
    offline: bool | None = None,
    tags: list[str] | None = None,
    job_type: str | None = None,
    log_model: bool = False,
) -> WandbLogger:
    """A W&B logger: offline unless logged in (or ``offline`` says otherwise), grouped by sweep.

    Every call starts a fresh W&B run (``reinit``), so each Hydra multirun job logs apart;
    call ``finish_loggers`` at the end of the job.
    """
    if offline is None:
        offline = os.environ.get("WANDB_MODE") == "offline" or not wandb_logged_in()
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    return WandbLogger(
        project=project,
        save_dir=save_dir,
        group=group or sweep_group(),
        name=name or job_name(),
        offline=offline,
        tags=tags,
        job_type=job_type,
        log_model=log_model,
        reinit="finish_previous",
    )


def make_csv_logger(save_dir: str = ".", name: str = "csv") -> CSVLogger:
    """A CSV logger writing ``<save_dir>/<name>/version_N/metrics.csv``."""
    return CSVLogger(save_dir=save_dir, name=name)


def student_loggers(loggers: list[Logger], prefix: str) -> list[Logger]:
    """Views of a job's loggers that log under ``prefix`` ("segmenter-train/loss" for W&B), so the
    chain's two students train into the job's one W&B run (and its CSV dir) side by side."""
    views: list[Logger] = []
    for lg in loggers:
        if isinstance(lg, WandbLogger):
            views.append(WandbLogger(experiment=lg.experiment, prefix=prefix))
        elif isinstance(lg, CSVLogger):
            views.append(CSVLogger(save_dir=lg.root_dir, name=prefix))
        else:
            views.append(lg)
    return views


def finish_loggers(loggers: list[Logger]) -> None:
    """Flush every logger and close the W&B run, so the next multirun job starts its own."""
    for lg in loggers:
        lg.finalize("success")
        if isinstance(lg, WandbLogger):
            import wandb

            wandb.finish()
