"""Loading a student's backbone the same way for both students."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def load_student_backbone(backbone: Callable[..., tuple[Any, Any]], task: str, labels: Sequence[str]) -> tuple[Any, Any]:
    """``backbone(task=, num_labels=)`` with the label maps set, in train mode, padding on the
    right with EOS when the tokenizer has no pad token (and the model told which id that is:
    sequence classification pools the last token that is not ``pad_token_id``)."""
    model, tokenizer = backbone(task=task, num_labels=len(labels))
    model.train()  # loaders return eval mode; Lightning keeps the mode it finds at fit start
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {name: k for k, name in enumerate(labels)}
    if tokenizer.pad_token_id is None:  # these models pad with EOS
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"  # positions as in training batches (pad_batch)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer
