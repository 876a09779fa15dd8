"""The wiring student: a bidirectional encoder plus the deductive head (``wiring_head``).

Reads the problem in context and builds its DAG step by step (DeductReasoner, Jie et al.
2022): ``python train.py model=wiring backbone=minilm_l6``. Trained teacher-forced on the
validated label DAGs in the labels' step order (``wiring_data.record_actions``; 3+ operand
ADD/MUL binarised left to right): cross-entropy over every candidate (item, op, i, j, stop) of
each step. Decoded by beam search with exact execution (``wiring_beam``).

``condition=True`` trains with the labels' regions and ops as items (``wiring_head``) for a
``1 - condition_dropout`` share of the problems and the null item for the rest, so one model
decodes both from the text alone and from given spans and op distributions.

Metrics (validation and test): ``acc_pure``, the share of problems whose decoded DAG from the
text alone executes to the gold answer; ``acc_gold_spans``, the same given the labels' regions
and ops as items (with ``condition``); on test also ``acc_pure_all`` over every test problem
(``test_unvalidated``: problems whose labels did not validate count too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from mycelium.dag.graph import answer_equals
from mycelium.models.optim import FP32MasterWeights, configure_optimizers
from mycelium.models.wiring_beam import Decoded, beam_search
from mycelium.models.wiring_data import OPS, WiringCollator, WiringExample
from mycelium.models.wiring_head import StopState, WiringHead


class WiringModule(FP32MasterWeights, L.LightningModule):
    """Encoder + ``WiringHead``.

    Args:
        backbone: ``backbone(task="encoder") -> (model, tokenizer)`` (``conf/backbone``).
        labels: the op names (``wiring_data.OPS``; given by the DataModule like the classifier's).
        optim / scheduler: partials (``conf/model/wiring.yaml``); ``head_lr`` is the head's rate.
        width, dropout, rationalizer, stop_state: ``WiringHead``'s.
        condition: train with items too (see the module docstring); ``condition_dropout``.
        constants: learned constant nodes (exact rational strings).
        beam, max_steps: decoding.
    """

    def __init__(
        self, backbone: Callable[..., tuple[Any, Any]], labels: Sequence[str] = OPS,
        optim: Callable[..., torch.optim.Optimizer] | None = None, scheduler: Callable[..., Any] | None = None, *,
        head_lr: float = 1e-3, width: int = 256, dropout: float = 0.1, rationalizer: bool = True,
        condition: bool = True, condition_dropout: float = 0.3, constants: Sequence[str] = (),
        beam: int = 5, max_steps: int = 10, max_length: int = 256, stop_state: bool = False,
    ) -> None:
        super().__init__()
        if tuple(labels) != OPS:
            raise ValueError(f"the wiring head scores the ops {OPS}, got labels {tuple(labels)}")
        constants = [str(c) for c in constants]  # plain types in hparams (Hydra passes ListConfig)
        self.save_hyperparameters(logger=False, ignore=["backbone", "optim", "scheduler", "labels"])
        self.optim, self.scheduler, self.head_lr = optim, scheduler, head_lr
        self.labels, self.constants = OPS, [str(c) for c in constants]
        self.condition, self.condition_dropout = condition, condition_dropout
        self.beam, self.max_steps, self.max_length = beam, max_steps, max_length
        self.encoder, self.tokenizer = backbone(task="encoder")
        self.encoder.train()
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "right"
        self.head = WiringHead(self.encoder.config.hidden_size, width, len(OPS), len(self.constants), dropout, rationalizer,
                               stop_state)
        self._tick: float | None = None

    def head_config(self) -> dict[str, Any]:
        """What rebuilds the head around an exported encoder (``export.load_exported``)."""
        hp = self.hparams
        return {k: hp[k] for k in ("width", "rationalizer", "condition", "condition_dropout", "beam", "max_steps",
                                   "max_length", "stop_state")} | {"constants": self.constants}

    def encode(self, batch: dict[str, Any], use_items: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Quantity nodes ``(B, Q, d)`` and items ``(B, K, d)``, priors, item mask."""
        states = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        h0 = self.head.nodes(states, batch["q_weights"], batch["q_kind"], batch["q_reading"])
        g, prior, kmask = self.head.items(states, batch["item_weights"], batch["item_ops"], batch["item_mask"], use_items)
        return h0, g, prior, kmask

    def loss(self, batch: dict[str, Any], use_items: torch.Tensor) -> torch.Tensor:
        """Teacher-forced cross-entropy, summed over steps, averaged over problems."""
        h0, g, prior, kmask = self.encode(batch, use_items)
        acts, aitem = batch["actions"], batch["action_items"]
        B, Q, d = h0.shape
        T = acts.shape[1]
        M, O = Q + T, len(OPS)
        h = torch.cat([h0, h0.new_zeros(B, T, d)], 1)
        node_mask = torch.cat([batch["q_mask"], batch["q_mask"].new_zeros(B, T)], 1)
        used = torch.zeros(B, g.shape[1], dtype=torch.long, device=h.device)
        state = StopState.start(batch["q_group"], batch["q_written"], T)
        rows = torch.arange(B, device=h.device)
        total = h.new_zeros(())
        for t in range(T):
            op, i, j, stop = acts[:, t].unbind(-1)
            active = op >= 0
            if not active.any():
                break
            logits, r = self.head.step(h, node_mask, g, prior, kmask, used, state)
            k = torch.where(use_items & (aitem[:, t] >= 0), aitem[:, t], 0).clamp(min=0)
            op_, i_, j_, s_ = op.clamp(min=0), i.clamp(min=0), j.clamp(min=0), stop.clamp(min=0)
            target = (((k * O + op_) * M + i_) * M + j_) * 2 + s_
            total = total + F.cross_entropy(logits.flatten(1)[active], target[active], reduction="sum")
            slot = torch.full_like(op, Q + t)
            h, node_mask = self.head.advance(h, node_mask, r[rows, op_, i_, j_], slot, active)
            state = state.advance(i_, j_, slot, active)
            used = used + F.one_hot(k, g.shape[1]) * active[:, None]
        return total / B

    def _use_items(self, batch: dict[str, Any], training: bool) -> torch.Tensor:
        has = batch["item_mask"].any(-1)
        if not self.condition:
            return torch.zeros_like(has)
        if training:
            return has & (torch.rand(has.shape, device=has.device) >= self.condition_dropout)
        return has

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.loss(batch, self._use_items(batch, True))
        n = len(batch["examples"])
        self.log("train/loss", loss, prog_bar=True, batch_size=n)
        now = time.perf_counter()
        if self._tick is not None:  # tokens of the previous batch over the time since it began
            self.log("train/tokens_per_s", self._tokens / (now - self._tick), prog_bar=True, batch_size=n)
        self._tick, self._tokens = now, int(batch["attention_mask"].sum())
        return loss

    def _eval(self, batch: dict[str, Any], stage: str) -> None:
        n = len(batch["examples"])
        has_actions = batch["actions"][:, 0, 0] >= 0
        if has_actions.any():
            self.log(f"{stage}/loss", self.loss(batch, self._use_items(batch, False)), batch_size=int(has_actions.sum()))
        pure = [self.correct(d, e) for d, e in zip(self.decode_batch(batch, False), batch["examples"])]
        ok = has_actions.tolist()
        if any(ok):
            self.log(f"{stage}/acc_pure", sum(p for p, o in zip(pure, ok) if o) / sum(ok), batch_size=sum(ok))
        if stage == "test":
            self.log("test/acc_pure_all", sum(pure) / n, batch_size=n)
        if self.condition and any(ok):
            gold = [self.correct(d, e) for d, e, o in zip(self.decode_batch(batch, True), batch["examples"], ok) if o]
            self.log(f"{stage}/acc_gold_spans", sum(gold) / len(gold), batch_size=len(gold))

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval(batch, "test")

    @staticmethod
    def correct(decoded: Decoded | None, example: WiringExample) -> bool:
        return decoded is not None and bool(example.gold_answer) and answer_equals(decoded.answer, example.gold_answer)

    def decode_batch(self, batch: dict[str, Any], with_items: bool) -> list[Decoded | None]:
        """Beam-decode every problem of a collated batch, from the text alone or with its items."""
        return [f[0] if f else None for f in self.search_batch(batch, with_items)]

    @torch.no_grad()
    def search_batch(self, batch: dict[str, Any], with_items: bool, margin: float = 0.0,
                     penalties: Sequence[Callable[[Decoded], float] | None] | None = None,
                     stop_prior: float = 0.0) -> list[list[Decoded]]:
        """Every finished wiring of each problem of a collated batch, best first
        (``wiring_beam.beam_search``; ``margin`` widens the search for a re-ranking caller, and
        ``penalties``, one per problem, bound it by that re-ranking; ``stop_prior``: nats on
        stopping with nothing left to read, ``WiringHead.step``). Raises ValueError for a
        negative ``margin``."""
        was = self.training
        self.eval()
        use = self._use_items(batch, False) if with_items else torch.zeros_like(batch["item_mask"][:, 0])
        h0, g, prior, kmask = self.encode(batch, use)
        out = []
        for b, ex in enumerate(batch["examples"]):
            q = len(ex.quantities)
            out.append(beam_search(self.head, h0[b, :q], g[b], prior[b], kmask[b], [x.value for x in ex.quantities],
                                   beam=self.beam, max_steps=self.max_steps, margin=margin,
                                   penalty=penalties[b] if penalties is not None else None,
                                   group=batch["q_group"][b, :q], written=batch["q_written"][b, :q],
                                   stop_prior=stop_prior))
        self.train(was)
        return out

    def predict(self, examples: Sequence[WiringExample], *, with_items: bool = False, batch_size: int = 16) -> list[Decoded | None]:
        """Decode ``examples`` (``wiring_data.make_example`` / ``solver_example``)."""
        return [f[0] if f else None for f in self.predict_finished(examples, with_items=with_items, batch_size=batch_size)]

    def predict_finished(self, examples: Sequence[WiringExample], *, with_items: bool = False, batch_size: int = 16,
                         margin: float = 0.0,
                         penalties: Sequence[Callable[[Decoded], float] | None] | None = None,
                         stop_prior: float = 0.0) -> list[list[Decoded]]:
        """Every finished wiring of each of ``examples``, best first (see ``search_batch``;
        ``penalties`` aligned with ``examples``). Raises ValueError for a negative ``margin``
        or ``penalties`` of another length."""
        if penalties is not None and len(penalties) != len(examples):
            raise ValueError(f"{len(penalties)} penalties for {len(examples)} examples")
        collate = WiringCollator(self.tokenizer, self.max_length)
        out: list[list[Decoded]] = []
        for s in range(0, len(examples), batch_size):
            batch = collate(examples[s : s + batch_size])
            batch = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            out += self.search_batch(batch, with_items, margin,
                                     penalties[s : s + batch_size] if penalties is not None else None, stop_prior)
        return out

    def transfer_batch_to_device(self, batch: dict[str, Any], device: torch.device, dataloader_idx: int) -> dict[str, Any]:
        """Tensors to ``device``; the examples (frozen dataclasses inside) stay as they are."""
        return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def configure_optimizers(self) -> Any:
        groups = [{"params": list(self.encoder.parameters())}, {"params": list(self.head.parameters()), "lr": self.head_lr}]
        return configure_optimizers("WiringModule", self.optim, self.scheduler, groups)


def answer_of(decoded: Decoded | None) -> Fraction | None:
    """The decoded answer (the last step's value), or None."""
    return decoded.answer if decoded is not None else None
