"""The pipeline's stages as config-driven functions, shared by the entry points.

``extract.py`` runs ``teacher_stage`` and ``labels_stage``; ``train.py chain=full`` and the
self-improvement loop run them too before training the students. Each takes the composed
config (the ``data``, ``teacher``, ``signals``, ``labels`` groups and ``traces_dir``) and
returns flat metrics for loggers and sweepers.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path

from typing import TYPE_CHECKING

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

if TYPE_CHECKING:
    from mycelium.data.problems import Problem
    from mycelium.teacher.run import TeacherSummary
    from mycelium.records.traces import TraceStore

log = logging.getLogger(__name__)


def trace_problems(cfg: DictConfig, problems: list[Problem], store: TraceStore) -> TeacherSummary | None:
    """Teacher traces of ``problems`` into the ``TraceStore`` ``store`` with ``cfg.teacher``'s
    settings; None, without loading the teacher, when every problem is already traced."""
    from mycelium.teacher.run import run_teacher

    mine = [p for i, p in enumerate(problems) if i % store.num_workers == store.worker]
    if {p.id for p in mine} <= store.done_ids():
        return None
    model, tokenizer = instantiate(cfg.teacher.model)
    return run_teacher(
        problems,
        model,
        tokenizer,
        store,
        cot=cfg.teacher.cot,
        batch_size=cfg.teacher.batch_size,
        shard_size=cfg.teacher.shard_size,
        max_length=cfg.teacher.max_length,
        system_prompt=cfg.teacher.system_prompt,
        generation=OmegaConf.to_container(cfg.teacher.generation),
        capture=OmegaConf.to_container(cfg.teacher.capture),
    )


def teacher_stage(cfg: DictConfig, *, limit: int | None, loggers: list = (), shard: int = 0, num_shards: int = 1) -> dict:
    """Teacher traces of the first ``limit`` problems of ``cfg.data``/``cfg.split`` into
    ``cfg.traces_dir``. Resumes: problems already traced are skipped, and the teacher is not
    even loaded when every problem is done (a cached teacher pass costs nothing)."""
    from mycelium.data.problems import load_problems
    from mycelium.records.traces import TraceStore

    problems = load_problems(cfg.data.name, cfg.split, cfg.data.dir, limit=limit, shuffle_seed=cfg.data.shuffle_seed)
    summary = trace_problems(cfg, problems, TraceStore(cfg.traces_dir, worker=shard, num_workers=num_shards))
    if summary is None:
        n = len(range(shard, len(problems), num_shards))
        log.info("teacher traces: all %d problems already in %s", n, cfg.traces_dir)
        return {"teacher/problems": n, "teacher/new": 0}
    log.info("teacher traces in %s\n%s", cfg.traces_dir, summary.format())
    metrics = {f"teacher/{k}": v for k, v in summary.metrics().items()}
    for lg in loggers:
        lg.log_metrics(metrics)
    return metrics


def labels_stage(cfg: DictConfig, *, labels_dir: str | Path, limit: int | None, loggers: list = (),
                 ids: Collection[str] | None = None) -> dict:
    """Labels (phases 2-5) of the first ``limit`` cached traces into ``labels_dir``; with
    ``ids``, of those problems' traces only."""
    from mycelium.labels.stage import LabelSettings, run_labels

    settings = LabelSettings.from_config(cfg.signals, cfg.labels)
    report = run_labels(cfg.traces_dir, labels_dir, settings, limit=limit, ids=ids,
                        workers=cfg.labels.get("workers", 1))
    log.info("labels in %s\n%s", labels_dir, report.format())
    metrics = {f"labels/{k}": v for k, v in report.metrics().items()}
    for lg in loggers:
        lg.log_metrics(metrics)
        report.log_tables(lg)
    return metrics
