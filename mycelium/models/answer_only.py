"""The no-CoT answer-only baseline: a causal LM fine-tuned from question to final number.

The honest comparison for "answers without chain-of-thought" (issue 13): the same backbone
family as the students, trained on the same train problems, but asked for the answer directly
(``"Question: ...\\nAnswer:"`` -> ``" 72"`` + EOS), with the loss on the answer tokens only
(the prompt is masked with -100). Published anchor: a plain answer-only fine-tune of GPT-2
small reaches 16.5-19.1% of GSM8K test when trained on ~50x GSM8K train (Deng et al. 2023,
"Implicit Chain of Thought Reasoning via Knowledge Distillation").

Evaluation is greedy decoding of a few tokens; the first number of the output is the answer
(:meth:`AnswerOnlyModule.predict_answers`), compared with the gold by
:func:`mycelium.data.answers.answers_match`. ``val/exact`` is the teacher-forced version of the
same test: every answer token (and the EOS after it) is the argmax, which is what greedy
decoding then writes, so it needs one forward pass and no generation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import lightning as L
import torch

from mycelium.models.examples import IGNORE
from mycelium.models.optim import FP32MasterWeights, configure_optimizers

PROMPT = "Question: {question}\nAnswer:"
# The first number the model writes: sign, "$", thousands commas, decimals or a fraction.
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+|/\d+)?|-?\.\d+")


def answer_target(answer: str | None) -> str | None:
    """The answer text the model learns, or None when ``answer`` is not one number.

    Commas and "$" go ("1,200" -> "1200"), a whole value loses its decimals ("18.0" -> "18");
    other decimals and fractions stay as written ("2.5", "5/2").
    """
    if answer is None:
        return None
    s = answer.replace(",", "").replace("$", "").strip()
    try:
        value = Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None
    return str(value.numerator) if value.denominator == 1 else s


def first_number(text: str) -> str | None:
    """The first number in a generation (commas and "$" removed), None when there is none."""
    m = _NUMBER.search(text)
    return m.group(0).replace(",", "").replace("$", "") if m else None


class AnswerEncoder:
    """``(question, target) -> {input_ids, labels}``: prompt then " target" + EOS, the prompt
    masked. Picklable (no reference to a DataModule). A prompt too long for ``max_length``
    loses its start: the question sits at its end."""

    def __init__(self, tokenizer: Any, max_length: int, prompt: str = PROMPT) -> None:
        self.tokenizer, self.max_length, self.prompt = tokenizer, max_length, prompt

    def __call__(self, questions: Sequence[str], targets: Sequence[str]) -> list[dict[str, list[int]]]:
        tok = self.tokenizer
        prompts = tok([self.prompt.format(question=q) for q in questions])["input_ids"]
        answers = tok([" " + t for t in targets], add_special_tokens=False)["input_ids"]
        out = []
        for p, a in zip(prompts, answers):
            a = a + [tok.eos_token_id]
            p = p[max(0, len(p) + len(a) - self.max_length):]
            out.append({"input_ids": p + a, "labels": [IGNORE] * len(p) + a})
        return out


class AnswerOnlyModule(FP32MasterWeights, L.LightningModule):
    """Question -> answer tokens over ``AutoModelForCausalLM``, loss on the answer only.

    Args:
        backbone: ``backbone(task="causal_lm") -> (model, tokenizer)`` (``conf/backbone``).
        optim: ``optim(params) -> Optimizer`` (a partial); None for inference-only use.
        scheduler: ``scheduler(optimizer) -> LRScheduler`` stepped every step, or None.
        max_new_tokens: tokens greedy decoding writes at most (an answer is a few).
        prompt: the template around the question (``{question}``), saved with the export.
    """

    def __init__(
        self,
        backbone: Callable[..., tuple[Any, Any]],
        optim: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        max_new_tokens: int = 8,
        prompt: str = PROMPT,
    ) -> None:
        super().__init__()
        if "{question}" not in prompt:
            raise ValueError(f"prompt must hold {{question}}, got {prompt!r}")
        self.save_hyperparameters(logger=False, ignore=["backbone", "optim", "scheduler"])
        self.optim, self.scheduler = optim, scheduler
        self.max_new_tokens, self.prompt = max_new_tokens, prompt
        self.model, self.tokenizer = backbone(task="causal_lm")
        self.model.train()  # loaders return eval mode; Lightning keeps the mode it finds at fit start
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.config.pad_token_id = self.tokenizer.pad_token_id

    def encoder(self, max_length: int) -> AnswerEncoder:
        """The encoder of training examples for this model's tokenizer and prompt."""
        return AnswerEncoder(self.tokenizer, max_length, self.prompt)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(batch, seq, vocab)``."""
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    def answer_loss(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean cross-entropy over answer tokens and, per row, whether every answer token is
        the argmax (teacher-forced exact match, float 0/1, shape ``(batch,)``). ``batch``:
        ``input_ids``, ``attention_mask``, ``labels`` (B, T), prompt and padding labelled -100.

        The LM head runs on the answer positions only: over a 49k vocabulary it would
        otherwise cost a fifth of a 135M model's step on prompt tokens that carry no loss.
        """
        hidden = self.model.base_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        target = batch["labels"][:, 1:]
        scored = target != IGNORE  # (B, T-1): position t predicts token t+1
        logits = self.model.get_output_embeddings()(hidden[:, :-1][scored]).float()  # (N, vocab)
        gold = target[scored]
        loss = torch.nn.functional.cross_entropy(logits, gold)
        rows = scored.nonzero()[:, 0]
        wrong = torch.zeros(len(target), device=logits.device).index_add_(0, rows, (logits.argmax(-1) != gold).float())
        return loss, (wrong == 0).float()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss, _ = self.answer_loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["input_ids"]))
        return loss

    def _eval_step(self, batch: dict[str, Any], stage: str) -> None:
        loss, exact = self.answer_loss(batch)
        n = len(batch["input_ids"])
        self.log(f"{stage}/loss", loss, sync_dist=True, batch_size=n)
        self.log(f"{stage}/exact", exact.mean(), prog_bar=True, sync_dist=True, batch_size=n)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def configure_optimizers(self) -> Any:
        return configure_optimizers("AnswerOnlyModule", self.optim, self.scheduler, self.parameters())

    @torch.no_grad()
    def generate(self, questions: Sequence[str], batch_size: int = 32, max_length: int = 512) -> list[str]:
        """The greedy continuation of each question's prompt (at most ``max_new_tokens`` tokens,
        special tokens dropped), batched with left padding."""
        was_training = self.training
        self.eval()
        tok = self.tokenizer
        side, tok.padding_side = tok.padding_side, "left"  # generation continues the last column
        out: list[str] = []
        try:
            for i in range(0, len(questions), batch_size):
                prompts = [self.prompt.format(question=q) for q in questions[i : i + batch_size]]
                enc = tok(prompts, padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(self.device)
                ids = self.model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=False,
                                          pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
                out += tok.batch_decode(ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        finally:
            tok.padding_side = side
            self.train(was_training)
        return out

    def predict_answers(self, questions: Sequence[str], batch_size: int = 32) -> list[str | None]:
        """The answer of each question: the first number of its greedy continuation (None
        when it writes none)."""
        return [first_number(text) for text in self.generate(questions, batch_size)]
