"""Train a student (phase 6): the segmenter or the op classifier, from the labels artifact.

    python train.py model=segmenter backbone=smollm2_135m backbone.num_layers=4
    python train.py model=classifier logger=wandb
    python train.py -m model=segmenter optim.lr=1e-5,3e-5
    python train.py trainer=ddp trainer.devices=4            # GPUs
    python train.py chain=full             # traces -> labels -> both students -> E2E, one job
    python train.py -m experiment=ablate_label_source       # an ablation: one chain per job
    python train.py chain=full loop=self_improve loop.max_rounds=5   # self-improvement rounds

Without ``chain=`` it trains the one student ``model=`` names from ``labels_dir``.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from mycelium.config import register_resolvers
from mycelium.entry import run_job
from mycelium.runs.fit_student import train

register_resolvers()


@hydra.main(config_path="conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    if cfg.get("loop"):
        from mycelium.loop.rounds import run_loop

        # one W&B run per job, with every round's metrics against `round`; needs chain= (one line if not)
        return run_job(cfg, run_loop, metric="loop/e2e_val")
    if cfg.get("chain"):
        from mycelium.runs.chain import run_chain

        # one W&B run per job: the chain's, which both students log into under their prefix
        return run_job(cfg, run_chain, metric=cfg.chain.optimized_metric)
    # train() builds its own loggers: Lightning's Trainer owns them
    return run_job(cfg, lambda cfg, _: train(cfg), make_loggers=False)


if __name__ == "__main__":
    main()
