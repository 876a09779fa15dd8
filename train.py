"""Train a student (phase 6): the segmenter or the op classifier, from the labels artifact.

    python train.py model=segmenter backbone=smollm2_135m backbone.num_layers=4
    python train.py model=classifier logger=wandb
    python train.py -m model=segmenter optim.lr=1e-5,3e-5
    python train.py trainer=ddp trainer.devices=4            # GPUs
"""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from mycelium.errors import find_user_error
from mycelium.train import train

log = logging.getLogger("train")


@hydra.main(config_path="conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    try:
        metrics = train(cfg)
    except Exception as e:
        user_error = find_user_error(e)  # also when Hydra's instantiate wrapped it
        if user_error is None:
            raise
        log.error("%s", user_error)  # a user mistake: one clear line, no traceback
        sys.exit(2)
    # The value a sweeper (hparams_search=...) optimises.
    return metrics.get(cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()
