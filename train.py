"""Train a student (phase 6): the segmenter or the op classifier, from the labels artifact.

    python train.py model=segmenter backbone=smollm2_135m backbone.num_layers=4
    python train.py model=classifier logger=wandb
    python train.py -m model=segmenter optim.lr=1e-5,3e-5
    python train.py trainer=ddp trainer.devices=4            # GPUs
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from mycelium.entry import run_job
from mycelium.train import train


@hydra.main(config_path="conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    # train() builds its own loggers: Lightning's Trainer owns them
    return run_job(cfg, lambda cfg, _: train(cfg), make_loggers=False)


if __name__ == "__main__":
    main()
