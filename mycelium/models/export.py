"""Export a trained student for the solver, and load it back.

An export directory holds the backbone with its head (``save_pretrained``: config.json with
``id2label``, model.safetensors), the tokenizer, and ``label_map.json``::

    {"student": "segmenter" | "classifier" | "wiring", "labels": [...], "bidirectional": bool,
     "units": "clauses", "clauses": {...}, "spacy_model": ...,   # a segmenter over clause units only
     "markers": ["[[", "]]"], "trained_on": {"labels_dir": ..., "splits": {...}, "split_salt": "", "test_fold": null}}

``trained_on`` (``TrainedOn``, written by ``train.py``) says which problems the student learned
from, so that ``evaluate.py holdout=`` can check that its development set is the one the
student held out; exports written before it was recorded have none.

The no-CoT answer-only baseline (a causal LM, no head) exports the same way, with
``{"student": "answer_only", "prompt": "...", "max_new_tokens": 8}``.

``load_exported`` rebuilds the LightningModule around it, so the solver calls the same
``predict_spans`` / ``predict_ops`` that training evaluated.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

from mycelium.data.splits import normalised_splits
from mycelium.errors import UserError
from mycelium.models.answer_only import AnswerOnlyModule
from mycelium.models.classifier import ClassifierModule
from mycelium.models.segmenter import SegmenterModule
from mycelium.models.wiring import WiringModule

LABEL_MAP = "label_map.json"
AUTO = {"token_classification": AutoModelForTokenClassification, "sequence_classification": AutoModelForSequenceClassification,
        "encoder": AutoModel, "causal_lm": AutoModelForCausalLM}
HEAD_FILE = "wiring_head.safetensors"  # the wiring student's head, beside its encoder
Student = SegmenterModule | ClassifierModule | WiringModule | AnswerOnlyModule


@dataclass(frozen=True)
class TrainedOn:
    """The data a student learned from: its labels and how their problems were split
    (``mycelium.data.splits.split_of`` fractions and salt; ``test_fold``: MAWPS five-fold, where
    the fold decides the split instead)."""

    labels_dir: str
    splits: dict[str, float] = field(default_factory=dict)
    split_salt: str = ""
    test_fold: int | None = None

    @classmethod
    def of(cls, datamodule: Any) -> "TrainedOn | None":
        """What ``datamodule`` (any of the students' datamodules) splits; None when it has no split."""
        if not hasattr(datamodule, "splits"):
            return None
        return cls(str(getattr(datamodule, "labels_dir", "")), {k: float(v) for k, v in datamodule.splits.items()},
                   datamodule.split_salt, getattr(datamodule, "test_fold", None))


def trained_on(path: str | Path) -> TrainedOn | None:
    """The ``TrainedOn`` recorded in the export at ``path`` (None when it records none).
    Raises FileNotFoundError when ``path`` is not an export."""
    meta_file = Path(path) / LABEL_MAP
    if not meta_file.is_file():
        raise FileNotFoundError(f"{path} is not a student export (no {LABEL_MAP})")
    data = json.loads(meta_file.read_text()).get("trained_on")
    return TrainedOn(**data) if data else None


def export_student(module: Student, out_dir: str | Path, data: TrainedOn | None = None) -> Path:
    """Write ``module``'s model, tokenizer and label map to ``out_dir``; returns ``out_dir``.
    The wiring student writes its encoder (``save_pretrained``), its head's weights
    (``wiring_head.safetensors``) and the head's settings in ``label_map.json``; ``data``, what
    it trained on, goes there too (``trained_on``)."""
    out = Path(out_dir)
    recorded = {"trained_on": asdict(data)} if data is not None else {}
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(module, WiringModule):
        module.encoder.save_pretrained(out)
        module.tokenizer.save_pretrained(out)
        save_file({k: v.detach().contiguous().cpu() for k, v in module.head.state_dict().items()}, str(out / HEAD_FILE))
        meta = {"student": "wiring", "labels": list(module.labels), "head": module.head_config()} | recorded
        (out / LABEL_MAP).write_text(json.dumps(meta, indent=2) + "\n")
        return out
    module.model.save_pretrained(out)
    module.tokenizer.save_pretrained(out)
    if isinstance(module, SegmenterModule):
        meta: dict[str, Any] = {"student": "segmenter", "labels": list(module.labels), "bidirectional": module.bidirectional}
        if module.units != "tokens":  # the clause rules and parser its spans depend on
            meta |= {"units": module.units, "clauses": module.clauses, "spacy_model": module.spacy_model}
    elif isinstance(module, AnswerOnlyModule):
        meta = {"student": "answer_only", "prompt": module.prompt, "max_new_tokens": module.max_new_tokens}
    else:
        meta = {"student": "classifier", "labels": list(module.labels), "markers": list(module.markers)}
    meta |= recorded
    (out / LABEL_MAP).write_text(json.dumps(meta, indent=2) + "\n")
    return out


def _from_dir(path: Path, *, task: str, num_labels: int | None = None, **ignored: Any) -> tuple[Any, Any]:
    """A backbone partial that reloads an export (the modules call ``backbone(task=, num_labels=)``)."""
    model = AUTO[task].from_pretrained(path)
    if task not in ("encoder", "causal_lm") and num_labels is not None and model.config.num_labels != num_labels:
        raise ValueError(f"{path}: head has {model.config.num_labels} labels, label_map.json {num_labels}")
    return model, AutoTokenizer.from_pretrained(path)


def load_exported(path: str | Path, device: str = "auto") -> Student:
    """The student exported at ``path``, in eval mode on ``device`` ("auto": CUDA when
    available), ready for prediction."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    path = Path(path)
    meta_file = path / LABEL_MAP
    if not meta_file.is_file():
        raise FileNotFoundError(f"{path} is not a student export (no {LABEL_MAP})")
    meta = json.loads(meta_file.read_text())
    backbone = functools.partial(_from_dir, path)
    if meta["student"] == "segmenter":
        module: Student = SegmenterModule(
            backbone, bidirectional=meta.get("bidirectional", False), labels=meta["labels"],
            units=meta.get("units", "tokens"), clauses=meta.get("clauses"), spacy_model=meta.get("spacy_model"),
        )
        if module.units == "clauses":  # its parser: a missing spaCy model fails here, not on every batch
            module.load_parser()
    elif meta["student"] == "wiring":
        module = WiringModule(backbone, labels=meta["labels"], **meta["head"])
        module.head.load_state_dict(load_file(str(path / HEAD_FILE)))
    elif meta["student"] == "answer_only":
        module = AnswerOnlyModule(backbone, max_new_tokens=meta["max_new_tokens"], prompt=meta["prompt"])
    elif meta["student"] == "classifier":
        module = ClassifierModule(backbone, labels=meta["labels"], markers=meta.get("markers", ["[[", "]]"]))
    else:
        raise ValueError(f"{meta_file}: unknown student {meta['student']!r}")
    return module.to(device).eval()


def check_split(students: str | Path, fractions: dict[str, float], salt: str = "",
                names: list[str] | None = None) -> list[str]:
    """Check that every export under ``students`` (its student subdirectories) that records what
    it trained on was split with ``fractions`` and ``salt``: ``evaluate.py holdout=`` draws its
    development set by that split, so another one would put training problems in it.

    The split is compared as ``split_of`` draws it: split names in order, weights normalised.
    ``names``: only these student subdirectories (the ones the solver loads); None: all.
    Returns the exports that record no split (written before exports recorded it), which the
    caller can only warn about. Raises UserError naming the split to pass when one differs or
    was split by fold (MAWPS five-fold)."""
    unchecked = []
    subs = sorted(p for p in Path(students).iterdir() if (p / LABEL_MAP).is_file() and (names is None or p.name in names))
    for sub in subs:
        data = trained_on(sub)
        if data is None:
            unchecked.append(str(sub))
        elif data.test_fold is not None:
            raise UserError(f"{sub} was trained with datamodule.test_fold={data.test_fold}: its held-out problems "
                            "are a fold, not a hash split; evaluate it on data=mawps_cv split=fold<k>")
        elif normalised_splits(data.splits) != normalised_splits(fractions) or data.split_salt != salt:
            splits = ",".join(f"{k}:{v:g}" for k, v in data.splits.items())
            raise UserError(f"{sub} was split with splits={data.splits} salt={data.split_salt!r}, not "
                            f"holdout_splits={dict(fractions)} holdout_salt={salt!r}: pass "
                            f"'holdout_splits={{{splits}}}' holdout_salt='{data.split_salt}'")
    return unchecked
