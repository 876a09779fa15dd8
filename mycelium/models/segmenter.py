"""The segmenter: BIO token classification over problem text (phase 6, model 1).

A backbone (an encoder, or a decoder-only SmolLM2/Qwen2) with a token-classification head tags
each token ``O``/``B-OP``/``I-OP``; spans are read back through the tokenizer's char offsets
(:mod:`mycelium.models.bio`). ``bidirectional=True`` drops a decoder's causal mask, so a token's
tag can depend on the words after it (a clause's start is often decided by what follows).
``units="clauses"`` tags whole spaCy clauses instead, each by the mean of its tokens' logits,
and reads spans as runs of clauses (:mod:`mycelium.models.units`).

Metrics: strict IOB2 span F1 (seqeval, at word level, against the record's own regions) and,
tagging tokens, token accuracy (torchmetrics, over non-special tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2
from torch import nn
from torchmetrics.classification import MulticlassAccuracy

from mycelium.models.backbone import load_student_backbone
from mycelium.models.bio import IGNORE, LABELS, regions_to_word_tags, token_tags_to_regions
from mycelium.models.optim import FP32MasterWeights, configure_optimizers
from mycelium.models.units import clause_units, pad_unit_of, pool_units, token_units, unit_tags_to_regions

Span = tuple[int, int]


def make_bidirectional(model: nn.Module) -> nn.Module:
    """Drop the causal mask of a transformers 5.x decoder-only model (Llama, Qwen2, ...), in place.

    ``config.is_causal = False`` makes ``create_causal_mask`` build a bidirectional (padding
    only) mask; the attention modules' own ``is_causal`` flag must go too, because SDPA falls
    back to ``is_causal=True`` when the mask is skipped (no padding in the batch).
    """
    model.config.is_causal = False
    for module in model.modules():
        if hasattr(module, "is_causal"):
            module.is_causal = False
    return model


def gather_lists(items: list, world_size: int) -> list:
    """Concatenate a Python list across DDP ranks (identity on one process)."""
    if world_size == 1 or not torch.distributed.is_initialized():
        return items
    parts: list[list | None] = [None] * world_size
    torch.distributed.all_gather_object(parts, items)
    return [x for part in parts for x in part]


def span_scores(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    """Strict IOB2 span precision, recall and F1 (seqeval) over word tag sequences."""
    kw = {"mode": "strict", "scheme": IOB2, "zero_division": 0}
    return {
        "span_f1": float(f1_score(gold, pred, **kw)),
        "span_precision": float(precision_score(gold, pred, **kw)),
        "span_recall": float(recall_score(gold, pred, **kw)),
    }


class SegmenterModule(FP32MasterWeights, L.LightningModule):
    """BIO segmenter over ``AutoModelForTokenClassification``.

    Args:
        backbone: ``backbone(task=..., num_labels=...) -> (model, tokenizer)``, e.g. a partial of
            ``mycelium.teacher.loading.load_model`` (``conf/backbone``).
        optim: ``optim(params) -> Optimizer`` (a partial); None for inference-only use.
        scheduler: ``scheduler(optimizer) -> LRScheduler`` stepped every step, or None.
        bidirectional: drop the causal mask (see :func:`make_bidirectional`).
        labels: the tag names; must be ``("O", "B-OP", "I-OP")``. Accepted so that every
            student takes its DataModule's ``labels``.
        units: ``"tokens"`` (BIO per token) or ``"clauses"`` (BIO per clause; batches then carry
            ``unit_of``/``unit_labels``/``units``, and ``predict_spans`` parses with spaCy).
        clauses: the labels' clause rules (``ClauseConfig`` keys) for ``units="clauses"``.
        spacy_model: the spaCy pipeline for ``units="clauses"`` (None: the labels' default).
    """

    def __init__(
        self,
        backbone: Callable[..., tuple[Any, Any]],
        optim: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        bidirectional: bool = False,
        labels: Sequence[str] = LABELS,
        units: str = "tokens",
        clauses: Mapping[str, Any] | None = None,
        spacy_model: str | None = None,
    ) -> None:
        super().__init__()
        labels = tuple(labels)  # plain types in hparams (Hydra passes ListConfig)
        if labels != LABELS:
            raise ValueError(f"segmenter labels must be {LABELS}, got {labels}")
        if units not in ("tokens", "clauses"):
            raise ValueError(f"segmenter units must be 'tokens' or 'clauses', got {units!r}")
        clauses = {k: list(v) if isinstance(v, Sequence) and not isinstance(v, str) else v
                   for k, v in dict(clauses or {}).items()}  # plain types in hparams and the export
        self._rules = None  # units="clauses": the ClauseConfig the units are cut with
        if units == "clauses":
            from mycelium.labels.clauses import ClauseConfig

            try:
                self._rules = ClauseConfig(**clauses)
            except TypeError as e:  # an export or config naming a clause rule this version lacks
                raise ValueError(f"segmenter clauses {clauses}: {e}") from None
        self.units, self.clauses, self.spacy_model = units, clauses, spacy_model
        self._nlp = None  # spaCy (units="clauses"): load_parser(), or the first predict_spans
        # Partials stay out of hparams: checkpoints then load with torch's weights_only=True.
        self.save_hyperparameters(logger=False, ignore=["backbone", "optim", "scheduler"])
        self.optim, self.scheduler = optim, scheduler
        self.labels = LABELS
        self.bidirectional = bidirectional
        self.model, self.tokenizer = load_student_backbone(backbone, "token_classification", LABELS)
        if bidirectional:
            make_bidirectional(self.model)
        self.token_acc = nn.ModuleDict(
            {s: MulticlassAccuracy(len(LABELS), average="micro", ignore_index=IGNORE) for s in ("val", "test")}
        )
        self._gold: list[list[str]] = []
        self._pred: list[list[str]] = []

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Tag logits ``(batch, tokens, 3)``."""
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.flatten(0, 1).float(), labels.flatten(), ignore_index=IGNORE)

    def _unit_logits(self, logits: torch.Tensor, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Clause-mode ``(pooled (units, 3), seen (units,))`` of a batch (``pool_units``)."""
        unit_of = pad_unit_of(batch["unit_of"], logits.shape[1]).to(logits.device)
        return pool_units(logits, unit_of, [len(u) for u in batch["units"]])

    def _unit_loss(self, pooled: torch.Tensor, seen: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        target = torch.tensor([t for tags in batch["unit_labels"] for t in tags], dtype=torch.long, device=pooled.device)
        if not bool(seen.any()):  # no clause in the input (all truncated away): nothing to learn, no NaN
            return pooled.sum() * 0.0
        return F.cross_entropy(pooled[seen].float(), target[seen])

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        logits = self(batch["input_ids"], batch["attention_mask"])
        if self.units == "clauses":
            loss = self._unit_loss(*self._unit_logits(logits, batch), batch)
        else:
            loss = self._loss(logits, batch["labels"])
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["input_ids"]))
        return loss

    def _eval_step(self, batch: dict[str, Any], stage: str) -> None:
        logits = self(batch["input_ids"], batch["attention_mask"])
        labels = batch["labels"]
        predicted = None
        if self.units == "clauses":
            pooled, in_input = self._unit_logits(logits, batch)
            loss = self._unit_loss(pooled, in_input, batch)
            predicted = self._decode_units(pooled, in_input, batch["units"])
        else:
            loss = self._loss(logits, labels)
        self.log(f"{stage}/loss", loss, sync_dist=True, batch_size=len(labels))
        preds = logits.argmax(-1)
        if self.units == "tokens":  # in clause mode the tokens' own argmax decides nothing
            self.token_acc[stage].update(preds, labels)
            self.log(f"{stage}/token_acc", self.token_acc[stage], batch_size=len(labels))
        for k, (text, offsets, regions) in enumerate(zip(batch["text"], batch["offsets"], batch["regions"])):
            # Score only the text the model saw (inputs may be truncated at max_length).
            seen = [o for o, lab in zip(offsets, labels[k].tolist()) if lab != IGNORE]
            end = max((e for _, e in seen), default=0)
            if predicted is None:
                tags = [t if lab != IGNORE else IGNORE for t, lab in zip(preds[k, : len(offsets)].tolist(), labels[k].tolist())]
                spans = token_tags_to_regions(text, offsets, tags)
            else:
                spans = predicted[k]
            self._pred.append(regions_to_word_tags(text, spans, end))
            self._gold.append(regions_to_word_tags(text, regions, end))

    @staticmethod
    def _decode_units(pooled: torch.Tensor, in_input: torch.Tensor, units: Sequence[Sequence[Span]]) -> list[list[Span]]:
        """Each example's spans from its pooled unit logits (a unit outside the input is IGNORE)."""
        tags = pooled.argmax(-1).masked_fill(~in_input, IGNORE).tolist()
        out, start = [], 0
        for us in units:
            out.append(unit_tags_to_regions(us, tags[start : start + len(us)]))
            start += len(us)
        return out

    def _eval_epoch_end(self, stage: str) -> None:
        gold = gather_lists(self._gold, self.trainer.world_size)
        pred = gather_lists(self._pred, self.trainer.world_size)
        self._gold, self._pred = [], []
        if gold:
            for name, value in span_scores(gold, pred).items():
                # Every rank holds the same (gathered) value; sync_dist averages equal numbers.
                self.log(f"{stage}/{name}", value, prog_bar=name == "span_f1", sync_dist=True)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end("val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end("test")

    def configure_optimizers(self) -> Any:
        return configure_optimizers("SegmenterModule", self.optim, self.scheduler, self.parameters())

    @torch.no_grad()
    def predict_spans(self, texts: Sequence[str], batch_size: int = 16, max_length: int = 512) -> list[list[Span]]:
        """Operation-bearing clause spans (char ``(start, end)``) for each text."""
        was_training = self.training
        self.eval()
        out: list[list[Span]] = []
        for i in range(0, len(texts), batch_size):
            chunk = list(texts[i : i + batch_size])
            enc = self.tokenizer(
                chunk,
                padding=True,
                truncation=True,
                max_length=max_length,
                return_offsets_mapping=True,
                return_special_tokens_mask=True,
                return_tensors="pt",
            )
            logits = self(enc["input_ids"].to(self.device), enc["attention_mask"].to(self.device))
            if self.units == "clauses":
                units = self._clause_units(chunk)
                special = (enc["special_tokens_mask"] == 1) | (enc["attention_mask"] == 0)
                unit_of = [token_units(t, enc["offset_mapping"][k].tolist(), us, special[k].tolist())
                           for k, (t, us) in enumerate(zip(chunk, units))]
                pooled, in_input = pool_units(logits, pad_unit_of(unit_of, logits.shape[1]).to(logits.device),
                                              [len(us) for us in units])
                out += self._decode_units(pooled, in_input, units)
                continue
            preds = logits.argmax(-1).cpu()
            for k, text in enumerate(chunk):
                ignore = (enc["special_tokens_mask"][k] == 1) | (enc["attention_mask"][k] == 0)
                tags = preds[k].masked_fill(ignore, IGNORE).tolist()
                out.append(token_tags_to_regions(text, enc["offset_mapping"][k].tolist(), tags))
        self.train(was_training)
        return out

    def load_parser(self) -> None:
        """Load the spaCy pipeline clause units are cut with (raises what ``load_spacy`` raises
        when it is not installed)."""
        from mycelium.labels.clauses import load_spacy

        if self._nlp is None:
            self._nlp = load_spacy(self.spacy_model)

    def _clause_units(self, texts: Sequence[str]) -> list[list[Span]]:
        from mycelium.labels.clauses import parse

        self.load_parser()
        return [clause_units(p) for p in parse(list(texts), self._nlp, self._rules)]
