"""Teacher traces (phase 1) and labels (phases 2-5).

    python extract.py stage=teacher data=gsm8k split=train teacher=smollm2_135m limit=200
    python extract.py stage=labels data=gsm8k split=train
    python extract.py -m stage=labels signals.jsd.prominence=0.02,0.05,0.1 signals.iaf.top_k=3,5
"""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig

from mycelium.config import register_resolvers
from mycelium.entry import run_job
from mycelium.errors import UserError
from mycelium.runs.stages import labels_stage, teacher_stage

register_resolvers()

log = logging.getLogger("extract")


def run_stages(cfg: DictConfig, loggers: list) -> dict:
    if cfg.stage not in ("teacher", "labels", "all"):
        raise UserError(f"stage={cfg.stage!r}: choose teacher, labels or all")
    metrics: dict = {}
    if cfg.stage in ("teacher", "all"):
        metrics |= teacher_stage(cfg, limit=cfg.limit, loggers=loggers, shard=cfg.shard, num_shards=cfg.num_shards)
    if cfg.stage in ("labels", "all"):
        metrics |= labels_stage(cfg, labels_dir=cfg.labels_dir, limit=cfg.limit, loggers=loggers)
    return metrics


@hydra.main(config_path="conf", config_name="extract", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    return run_job(cfg, run_stages)


if __name__ == "__main__":
    main()
