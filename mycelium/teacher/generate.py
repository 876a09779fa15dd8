"""Batched CoT generation by the teacher, and scoring of the answers it states.

Prompts are left-padded into one batch (decoder-only models continue from the last
position), generation stops at EOS or ``max_new_tokens``, and each CoT is decoded from the
tokens before its first EOS.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from mycelium.data.answers import answers_match, extract_answer


def eos_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Every token that ends a turn: the tokenizer's EOS plus the generation config's."""
    ids = {tokenizer.eos_token_id}
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(configured if isinstance(configured, list) else [configured])
    return sorted(i for i in ids if i is not None)


def left_pad(sequences: list[np.ndarray], pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, Tmax) left-padded ids and attention mask from 1-D id arrays."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for b, seq in enumerate(sequences):
        ids[b, width - len(seq) :] = torch.as_tensor(seq, dtype=torch.long)
        mask[b, width - len(seq) :] = 1
    return ids, mask


@torch.no_grad()
def generate_cots(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt_ids: list[np.ndarray],
    *,
    max_new_tokens: int = 512,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
) -> list[str]:
    """Generate one CoT per prompt (token ids, as ``PromptTokens.prompt_ids``) in one batch.

    Greedy unless ``do_sample``; ``temperature``/``top_p`` apply only when sampling. Returns
    the decoded text before the first EOS, special tokens dropped.
    """
    eos = eos_token_ids(model, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    ids, mask = left_pad(prompt_ids, pad)
    device = next(model.parameters()).device
    sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p} if do_sample else {"do_sample": False}
    out = model.generate(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        max_new_tokens=max_new_tokens,
        eos_token_id=eos,
        pad_token_id=pad,
        **sampling,
    )
    new = out[:, ids.shape[1] :].cpu().numpy()
    # Cut each row at its first EOS (rows that finished early are padded after it).
    is_eos = np.isin(new, eos)
    ends = np.where(is_eos.any(1), is_eos.argmax(1), new.shape[1])
    return [tokenizer.decode(row[:end], skip_special_tokens=True) for row, end in zip(new, ends)]


def score(cot: str, gold: str) -> tuple[str | None, bool | None]:
    """``(teacher answer extracted from cot, matches gold)``; correctness is None without a gold."""
    answer = extract_answer(cot)
    if not gold:
        return answer, None
    return answer, answers_match(answer, gold)
