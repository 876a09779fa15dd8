"""The classifier: the operation of one clause (phase 6, model 2).

Input: the whole problem with the clause marked, ``"... She sold [[half as many]] in May."``
(:func:`mycelium.models.examples.mark_span`), so the model sees the clause in its context.
A decoder-only backbone with a sequence-classification head pools the last non-pad token;
these models pad with EOS, so ``config.pad_token_id`` must be set for that pooling to find it.
Label ids index the sorted op names found in the data (saved with the model).

Metrics: accuracy and macro-F1 (torchmetrics); a confusion matrix at each validation end,
logged as an image when the logger takes images (W&B), else saved as CSV (and PNG when
matplotlib is installed) under ``<run dir>/confusion/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import WandbLogger
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score

from mycelium.models.backbone import load_student_backbone
from mycelium.models.examples import DEFAULT_MARKERS, mark_span
from mycelium.models.optim import FP32MasterWeights, configure_optimizers

Span = tuple[int, int]


def confusion_figure(cm: torch.Tensor, labels: Sequence[str], title: str = "") -> Any:
    """A matplotlib figure of a confusion matrix (rows: true op, columns: predicted op)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on training machines
    import matplotlib.pyplot as plt

    n = len(labels)
    fig, ax = plt.subplots(figsize=(1 + 0.5 * n, 1 + 0.5 * n))
    ax.imshow(cm.numpy(), cmap="Blues")
    ax.set_xticks(range(n), labels, rotation=90)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7)
    fig.tight_layout()
    return fig


class ClassifierModule(FP32MasterWeights, L.LightningModule):
    """Op classifier over ``AutoModelForSequenceClassification``.

    Args:
        backbone: ``backbone(task=..., num_labels=...) -> (model, tokenizer)`` (``conf/backbone``).
        labels: op names; label id ``k`` is ``labels[k]`` (``ClassifierDataModule.labels``).
        optim: ``optim(params) -> Optimizer`` (a partial); None for inference-only use.
        scheduler: ``scheduler(optimizer) -> LRScheduler`` stepped every step, or None.
        markers: the strings put around the clause (must match the DataModule's).
    """

    def __init__(
        self,
        backbone: Callable[..., tuple[Any, Any]],
        labels: Sequence[str],
        optim: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        markers: Sequence[str] = DEFAULT_MARKERS,
    ) -> None:
        super().__init__()
        labels, markers = tuple(labels), tuple(markers)  # plain types in hparams (Hydra passes ListConfig)
        if len(labels) < 2:
            raise ValueError(f"the classifier needs at least 2 op labels, got {labels}")
        # Partials stay out of hparams: checkpoints then load with torch's weights_only=True.
        self.save_hyperparameters(logger=False, ignore=["backbone", "optim", "scheduler"])
        self.optim, self.scheduler = optim, scheduler
        self.labels = labels
        self.markers = tuple(markers)
        self.model, self.tokenizer = load_student_backbone(backbone, "sequence_classification", labels)
        n = len(labels)
        self.acc = nn.ModuleDict({s: MulticlassAccuracy(n, average="micro") for s in ("val", "test")})
        self.f1 = nn.ModuleDict({s: MulticlassF1Score(n, average="macro") for s in ("val", "test")})
        self.confusion = MulticlassConfusionMatrix(n)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Op logits ``(batch, len(labels))``."""
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        logits = self(batch["input_ids"], batch["attention_mask"])
        loss = F.cross_entropy(logits.float(), batch["labels"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["labels"]))
        return loss

    def _eval_step(self, batch: dict[str, Any], stage: str) -> torch.Tensor:
        logits = self(batch["input_ids"], batch["attention_mask"])
        labels = batch["labels"]
        n = len(labels)
        self.log(f"{stage}/loss", F.cross_entropy(logits.float(), labels), sync_dist=True, batch_size=n)
        preds = logits.argmax(-1)
        self.acc[stage].update(preds, labels)
        self.f1[stage].update(preds, labels)
        self.log(f"{stage}/acc", self.acc[stage], batch_size=n)
        self.log(f"{stage}/f1_macro", self.f1[stage], prog_bar=True, batch_size=n)
        return preds

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        preds = self._eval_step(batch, "val")
        self.confusion.update(preds, batch["labels"])

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_validation_epoch_end(self) -> None:
        cm = self.confusion.compute().cpu()  # summed over ranks
        self.confusion.reset()
        if self.trainer.sanity_checking or not self.trainer.is_global_zero:
            return
        title = f"epoch {self.current_epoch}"
        wandb = [lg for lg in self.loggers if isinstance(lg, WandbLogger)]
        if wandb:
            import matplotlib.pyplot as plt

            fig = confusion_figure(cm, self.labels, title)
            for lg in wandb:
                lg.log_image("val/confusion", [fig], step=self.global_step)
            plt.close(fig)
            return
        self.save_confusion(cm, Path(self.trainer.default_root_dir) / "confusion" / f"epoch{self.current_epoch:03d}")

    def save_confusion(self, cm: torch.Tensor, stem: Path) -> None:
        """Write ``<stem>.csv`` (header row of predicted ops, one row per true op) and ``<stem>.png``."""
        stem.parent.mkdir(parents=True, exist_ok=True)
        rows = ["true\\pred," + ",".join(self.labels)]
        rows += [name + "," + ",".join(str(int(v)) for v in cm[i]) for i, name in enumerate(self.labels)]
        stem.with_suffix(".csv").write_text("\n".join(rows) + "\n")
        try:
            import matplotlib.pyplot as plt
        except ImportError:  # the CSV holds the same numbers
            return
        fig = confusion_figure(cm, self.labels, stem.name)
        fig.savefig(stem.with_suffix(".png"), dpi=100)
        plt.close(fig)

    def configure_optimizers(self) -> Any:
        return configure_optimizers("ClassifierModule", self.optim, self.scheduler, self.parameters())

    @torch.no_grad()
    def predict_op_scores(
        self, items: Sequence[tuple[str, Span]], k: int = 3, batch_size: int = 32, max_length: int = 512
    ) -> list[list[tuple[str, float]]]:
        """The ``k`` likeliest op labels of each ``(text, region)`` with their log-probabilities,
        best first. Ties keep label order, so the first label is ``predict_ops``' argmax."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        was_training = self.training
        self.eval()
        out: list[list[tuple[str, float]]] = []
        for i in range(0, len(items), batch_size):
            chunk = [mark_span(text, region, self.markers) for text, region in items[i : i + batch_size]]
            enc = self.tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            logits = self(enc["input_ids"].to(self.device), enc["attention_mask"].to(self.device)).float()
            order = logits.sort(dim=-1, descending=True, stable=True).indices[:, :k]  # stable: argmax's tie rule
            logp = logits.log_softmax(-1).gather(-1, order)
            out += [[(self.labels[c], lp) for c, lp in zip(cs, lps)] for cs, lps in zip(order.tolist(), logp.tolist())]
        self.train(was_training)
        return out

    def predict_ops(
        self, items: Sequence[tuple[str, Span]], batch_size: int = 32, max_length: int = 512
    ) -> list[str]:
        """The op name of each ``(text, region)`` (the argmax of ``predict_op_scores``)."""
        return [top[0][0] for top in self.predict_op_scores(items, 1, batch_size, max_length)]
