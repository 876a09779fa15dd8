"""Teacher traces (phase 1) and labels (phases 2-5).

    python extract.py stage=teacher data=gsm8k split=train teacher=smollm2_135m limit=200
    python extract.py stage=labels data=gsm8k split=train
    python extract.py -m stage=labels signals.jsd.prominence=0.02,0.05,0.1 signals.iaf.top_k=3,5
"""

from __future__ import annotations

import logging

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from mycelium.config import register_resolvers
from mycelium.entry import run_job
from mycelium.errors import UserError

register_resolvers()

log = logging.getLogger("extract")


def run_teacher_stage(cfg: DictConfig, loggers: list) -> dict:
    from mycelium.data.problems import load_problems
    from mycelium.teacher.run import run_teacher
    from mycelium.teacher.traces import TraceStore

    problems = load_problems(cfg.data.name, cfg.split, cfg.data.dir, limit=cfg.limit, shuffle_seed=cfg.data.shuffle_seed)
    model, tokenizer = instantiate(cfg.teacher.model)
    store = TraceStore(cfg.traces_dir, worker=cfg.shard, num_workers=cfg.num_shards)
    summary = run_teacher(
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
    log.info("teacher traces in %s\n%s", cfg.traces_dir, summary.format())
    metrics = {f"teacher/{k}": v for k, v in summary.metrics().items()}
    for lg in loggers:
        lg.log_metrics(metrics)
    return metrics


def run_labels_stage(cfg: DictConfig, loggers: list) -> dict:
    from mycelium.labels.stage import LabelSettings, run_labels

    settings = LabelSettings.from_config(cfg.signals, cfg.labels)
    report = run_labels(cfg.traces_dir, cfg.labels_dir, settings, limit=cfg.limit)
    log.info("labels in %s\n%s", cfg.labels_dir, report.format())
    metrics = {f"labels/{k}": v for k, v in report.metrics().items()}
    for lg in loggers:
        lg.log_metrics(metrics)
        report.log_tables(lg)
    return metrics


def run_stages(cfg: DictConfig, loggers: list) -> dict:
    if cfg.stage not in ("teacher", "labels", "all"):
        raise UserError(f"stage={cfg.stage!r}: choose teacher, labels or all")
    metrics: dict = {}
    if cfg.stage in ("teacher", "all"):
        metrics |= run_teacher_stage(cfg, loggers)
    if cfg.stage in ("labels", "all"):
        metrics |= run_labels_stage(cfg, loggers)
    return metrics


@hydra.main(config_path="conf", config_name="extract", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    return run_job(cfg, run_stages)


if __name__ == "__main__":
    main()
