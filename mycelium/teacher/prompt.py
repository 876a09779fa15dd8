"""The teacher's prompt: chat template around the problem text, then the CoT tokens.

Later stages map attention back to problem *characters*, so the token range of the problem
text inside the templated prompt must be exact. The template is rendered once with a
sentinel in place of the problem text to find where the text goes; the prompt is then
``prefix + text + suffix`` and the problem tokens are those whose char span overlaps
``[len(prefix), len(prefix) + len(text))``.

The CoT is tokenized on its own (offsets relative to the CoT string) and appended, so the
CoT tokens and their offsets are the same whether the CoT came from the dataset or from
generation (generated text is decoded, then tokenized again here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedTokenizerBase

from mycelium.errors import UserError

# Unlikely to occur in a template; has no characters a template would escape or strip.
_SENTINEL = "MYCELIUMPROBLEMTEXTSENTINEL"


class PromptError(UserError):
    """The prompt cannot be built (e.g. the chat template rewrites the problem text)."""


@dataclass
class PromptTokens:
    """Token ids of prompt + CoT and where the problem text and the CoT sit in them."""

    prompt: str  # the rendered prompt string (without the CoT)
    input_ids: np.ndarray  # (T,) int64: prompt tokens then CoT tokens
    problem_positions: np.ndarray  # (P,) int64: positions in input_ids of the problem-text tokens
    problem_offsets: np.ndarray  # (P, 2) int32: char span of each problem token in the problem text
    cot_start: int  # position of the first CoT token (== number of prompt tokens)
    cot_offsets: np.ndarray  # (C, 2) int32: char span of each CoT token in the CoT text

    @property
    def prompt_ids(self) -> np.ndarray:
        """(cot_start,) the prompt tokens alone (what generation starts from)."""
        return self.input_ids[: self.cot_start]


def render_prompt(tokenizer: PreTrainedTokenizerBase, text: str, system_prompt: str | None = None) -> tuple[str, int]:
    """Render the prompt for ``text``; return ``(prompt, char start of text in prompt)``.

    Uses the tokenizer's chat template (system message = ``system_prompt`` when given, user
    message = ``text``, generation prompt appended). Without a chat template:
    ``"{system_prompt}\\n\\nQuestion: {text}\\nAnswer:\\n"``.
    """

    def render(content: str) -> str:
        if getattr(tokenizer, "chat_template", None):
            messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
            messages.append({"role": "user", "content": content})
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        head = f"{system_prompt}\n\n" if system_prompt else ""
        return f"{head}Question: {content}\nAnswer:\n"

    template = render(_SENTINEL)
    if template.count(_SENTINEL) != 1:
        raise PromptError(f"the chat template renders the user message {template.count(_SENTINEL)} times; expected once")
    start = template.index(_SENTINEL)
    prompt = template[:start] + text + template[start + len(_SENTINEL) :]
    if render(text) != prompt:  # the template transforms content (e.g. strips it): offsets would lie
        raise PromptError("the chat template changes the problem text (e.g. trims it); cannot locate its tokens exactly")
    return prompt, start


def tokenize_with_offsets(tokenizer: PreTrainedTokenizerBase, text: str, add_special_tokens: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(ids (N,) int64, offsets (N, 2) int32)`` of ``text``; needs a fast tokenizer."""
    if not getattr(tokenizer, "is_fast", False):
        raise PromptError(f"{type(tokenizer).__name__} is not a fast tokenizer; char offsets need a *TokenizerFast")
    enc = tokenizer(text, add_special_tokens=add_special_tokens, return_offsets_mapping=True)
    ids = np.asarray(enc["input_ids"], dtype=np.int64)
    offsets = np.asarray(enc["offset_mapping"], dtype=np.int32).reshape(-1, 2)
    return ids, offsets


def build_prompt(tokenizer: PreTrainedTokenizerBase, text: str, cot: str = "", system_prompt: str | None = None) -> PromptTokens:
    """Tokenize the templated prompt for ``text`` followed by ``cot``; locate the problem tokens.

    Problem tokens are the prompt tokens whose char span overlaps the problem text; their
    offsets are clipped to it and made relative to ``text``. A token that straddles the
    boundary (e.g. ``"\\n\\n"`` when the text starts with a newline) counts as a problem token.
    """
    prompt, text_start = render_prompt(tokenizer, text, system_prompt)
    text_end = text_start + len(text)
    # The chat template writes its special tokens as text; a plain prompt gets the tokenizer's BOS.
    has_template = bool(getattr(tokenizer, "chat_template", None))
    prompt_ids, prompt_offsets = tokenize_with_offsets(tokenizer, prompt, add_special_tokens=not has_template)
    starts, ends = prompt_offsets[:, 0], prompt_offsets[:, 1]
    in_problem = (starts < text_end) & (ends > text_start)  # zero-width special tokens never match
    problem_positions = np.flatnonzero(in_problem).astype(np.int64)
    problem_offsets = np.clip(prompt_offsets[in_problem], text_start, text_end) - text_start
    cot_ids, cot_offsets = tokenize_with_offsets(tokenizer, cot) if cot else (np.zeros(0, np.int64), np.zeros((0, 2), np.int32))
    return PromptTokens(
        prompt=prompt,
        input_ids=np.concatenate([prompt_ids, cot_ids]),
        problem_positions=problem_positions,
        problem_offsets=problem_offsets.astype(np.int32),
        cot_start=len(prompt_ids),
        cot_offsets=cot_offsets,
    )
