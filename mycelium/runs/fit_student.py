"""Train one student from a composed config (the body of ``train.py``).

The shape of lightning-hydra-template's ``src/train.py``: seed, instantiate the datamodule,
model, callbacks, loggers and trainer from config, fit, test the best checkpoint, export it
for the solver, and return the metrics (a sweeper optimises ``cfg.optimized_metric``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback, LearningRateMonitor
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf

from mycelium.config import register_resolvers
from mycelium.errors import UserError
from mycelium.loggers import finish_loggers
from mycelium.models.checkpoint import load_checkpoint
from mycelium.models.export import LABEL_MAP, TrainedOn, export_student, load_exported
from mycelium.models.optim import fp32_master_weights

log = logging.getLogger(__name__)

# conf/train.yaml uses ${shuffle_tag:...}: compose-API users (tests, notebooks) need it too
register_resolvers()


def instantiate_group(cfg: DictConfig | None) -> list[Any]:
    """One object per entry of a config group holding several (``callbacks``, ``logger``)."""
    if not cfg:
        return []
    return [instantiate(c) for c in cfg.values() if c is not None and "_target_" in c]


def train(cfg: DictConfig, loggers: list[Logger] | None = None) -> dict[str, float]:
    """Fit, test and export the student ``cfg`` describes; returns the trainer's final metrics.

    ``loggers``: log into these (the chain's, prefixed per student) instead of the ``logger``
    group's; their owner logs the config and closes them.
    """
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)

    log.info("datamodule <%s>", cfg.datamodule._target_)
    datamodule = instantiate(cfg.datamodule)
    stats = datamodule.scan()  # fails early, with what to run, when there are no labels
    log.info("labels: %s", {k: dict(v) if isinstance(v, dict) else v for k, v in stats.items()})
    # The classifier's head size comes from the data (the answer-only LM has no label set);
    # the tokenizer comes with the backbone.
    labels = getattr(datamodule, "labels", None)
    if labels is not None and len(labels) < 2:  # a user's data problem, not a bug: say what to do
        raise UserError(f"the labels in {cfg.labels_dir} name one class only {tuple(labels)}; "
                        "the classifier needs two or more: label more problems (a larger limit)")
    model = instantiate(cfg.model, **({"labels": labels} if labels is not None else {}))
    if cfg.get("init_from"):
        if cfg.get("ckpt_path"):  # a resume would overwrite the weights init_from loads
            raise UserError("init_from= starts a new run and ckpt_path= resumes one: give one of them")
        init_weights(model, Path(cfg.init_from))
    datamodule.tokenizer = model.tokenizer

    callbacks: list[Callback] = instantiate_group(cfg.get("callbacks"))
    own_loggers = loggers is None
    loggers = instantiate_group(cfg.get("logger")) if own_loggers else list(loggers)
    if not loggers:  # LearningRateMonitor refuses to run without a logger
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)

    try:
        for lg in loggers:
            if own_loggers:
                lg.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
            lg.log_hyperparams({f"labels/{k}": v for k, v in stats.items() if isinstance(v, int)})
        trainer.fit(model=model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        monitor = cfg.get("optimized_metric")
        if monitor and monitor not in trainer.callback_metrics:
            # the run ended before its first validation (a short max_steps): validate the
            # final weights and keep them as the best checkpoint, so test and export have one
            log.info("no validation ran during fit: validating the final weights")
            trainer.validate(model=model, datamodule=datamodule)
            if trainer.checkpoint_callback and trainer.checkpoint_callback.dirpath:
                best = str(Path(trainer.checkpoint_callback.dirpath) / "end-of-fit.ckpt")
                trainer.save_checkpoint(best)
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        if cfg.get("test"):
            # ckpt_path=best loads the best weights into `model`, so the export below is the best.
            trainer.test(model=model, datamodule=datamodule, ckpt_path=best or None)
            metrics |= {k: float(v) for k, v in trainer.callback_metrics.items()}
        elif best:
            model.load_state_dict(load_checkpoint(Path(best))["state_dict"])
        if cfg.get("export_dir") and trainer.is_global_zero:
            out = export_student(model, Path(cfg.export_dir), TrainedOn.of(datamodule))
            log.info("exported %s (best checkpoint: %s)", out, best or "none; last weights")
    finally:
        if own_loggers:
            finish_loggers(loggers)
    return metrics


def init_weights(model: L.LightningModule, ckpt_path: Path) -> None:
    """Start ``model`` from the weights of the Lightning checkpoint ``ckpt_path``, or of a student
    export (a directory ``train.py`` exported, with ``label_map.json``): a new run (fresh
    optimizer, schedule and epoch count), unlike ``ckpt_path=``, which resumes one.
    nanoGPT's ``init_from``; the way to anneal or fine-tune a trained student on new labels.

    Raises:
        UserError: the file is missing, is not a Lightning checkpoint or an export, or holds
            another architecture's weights (a different model, backbone or head width).
    """
    if ckpt_path.is_dir():
        state = export_state(ckpt_path)
    else:
        try:
            state = load_checkpoint(ckpt_path)["state_dict"]
        except UserError as e:
            raise UserError(f"init_from={e}") from None
    if extra := sorted(set(state) - set(model.state_dict())):
        raise UserError(f"init_from={ckpt_path}: weights this model does not have, e.g. {extra[0]!r} "
                        "(another model or backbone?)")
    if not state:
        raise UserError(f"init_from={ckpt_path}: the checkpoint holds no weights")
    # a GPU backbone loads in bfloat16; cast to the float32 master weights first, so the
    # checkpoint's float32 weights are not rounded on the way in (configure_model then has none left)
    fp32_master_weights(model)
    try:
        # a new part of the model (e.g. the wiring head's stop_state) keeps its initialisation,
        # as from_pretrained does with newly added heads
        missing = model.load_state_dict(state, strict=False).missing_keys
    except RuntimeError as e:
        first = str(e).splitlines()[1:2] or [str(e)]
        raise UserError(f"init_from={ckpt_path}: its weights do not fit this model and backbone ({first[0].strip()})") from None
    if missing:
        log.warning("init_from: %d tensors not in the checkpoint keep their initialisation: %s",
                    len(missing), ", ".join(missing[:5]))
    log.info("initialised the weights from %s (a new run: fresh optimizer and schedule)", ckpt_path)


def export_state(path: Path) -> dict:
    """The weights of the student exported at ``path``, keyed as its LightningModule's
    ``state_dict`` (what a Lightning checkpoint holds), on the CPU.

    Raises:
        UserError: ``path`` is a directory but not a student export.
    """
    if not (path / LABEL_MAP).is_file():
        raise UserError(f"init_from={path}: a directory, but not a student export (no {LABEL_MAP}); "
                        "give an export dir or a Lightning .ckpt file")
    try:
        return dict(load_exported(path, device="cpu").state_dict())
    except (OSError, ValueError, KeyError) as e:  # an export cut short: missing weights or settings
        raise UserError(f"init_from={path}: the export does not load ({type(e).__name__}: {str(e).splitlines()[0]})") from None
