"""The segmenter: a training run through the real config, bidirectional attention, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from mycelium.models.bio import LABELS
from mycelium.models.segmenter import SegmenterModule, make_bidirectional, span_scores
from mycelium.teacher.loading import build_tiny
from mycelium.runs.fit_student import train


def test_fast_dev_run_through_train_config(cfg_factory, tmp_path: Path) -> None:
    cfg = cfg_factory(["datamodule.units=tokens", "+trainer.fast_dev_run=true"])  # BIO per token (clauses: test_units.py)
    metrics = train(cfg)
    assert "train/loss" in metrics and "val/span_f1" in metrics and "test/token_acc" in metrics
    assert 0.0 <= metrics["val/span_f1"] <= 1.0
    export = Path(cfg.paths.output_dir) / "export"
    assert json.loads((export / "label_map.json").read_text())["labels"] == list(LABELS)


def tiny_segmenter(bidirectional: bool, attn: str = "eager") -> SegmenterModule:
    def backbone(**kw):
        return build_tiny(attn_implementation=attn, **kw)

    return SegmenterModule(backbone, bidirectional=bidirectional).eval()


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("padded", [False, True])
def test_bidirectional_lets_later_tokens_change_position_0(attn: str, padded: bool) -> None:
    ids = torch.tensor([[5, 6, 7, 8, 9, 10], [5, 6, 7, 8, 9, 11]])  # differ only at the last token
    mask = torch.ones_like(ids)
    if padded:  # a padded column exercises the padding mask path (SDPA cannot skip the mask)
        ids = torch.cat([ids, torch.full((2, 1), 2)], 1)
        mask = torch.cat([mask, torch.zeros((2, 1), dtype=torch.long)], 1)
    with torch.no_grad():
        causal = tiny_segmenter(False, attn)(ids, mask)
        bidir = tiny_segmenter(True, attn)(ids, mask)
    assert torch.allclose(causal[0, 0], causal[1, 0])  # causal: position 0 sees only itself
    assert not torch.allclose(bidir[0, 0], bidir[1, 0], atol=1e-6)
    # Same weights, and a single token has nothing else to see: identical either way.
    with torch.no_grad():
        one = ids[:1, :1], mask[:1, :1]
        assert torch.allclose(tiny_segmenter(False, attn)(*one), tiny_segmenter(True, attn)(*one), atol=1e-6)


def test_make_bidirectional_on_qwen2() -> None:
    from transformers import Qwen2Config, Qwen2ForTokenClassification

    cfg = Qwen2Config(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=4, num_key_value_heads=2, num_labels=3)
    torch.manual_seed(0)
    model = make_bidirectional(Qwen2ForTokenClassification(cfg).eval())
    ids = torch.tensor([[1, 2, 3, 4], [1, 2, 3, 5]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    assert not torch.allclose(logits[0, 0], logits[1, 0], atol=1e-6)


def test_span_scores_are_strict_iob2() -> None:
    gold = [["B-OP", "I-OP", "O", "B-OP"]]
    assert span_scores(gold, gold)["span_f1"] == 1.0
    # An I-OP without a B-OP is no span in strict mode (lenient seqeval would count it).
    scores = span_scores(gold, [["I-OP", "I-OP", "O", "B-OP"]])
    assert scores["span_precision"] == 1.0 and scores["span_recall"] == 0.5


def test_predict_spans_returns_trimmed_spans_inside_each_text() -> None:
    module = tiny_segmenter(True)
    texts = ["Tom has 5 apples. He buys 3 more.", "Natalia sold 48 clips in April."]
    with torch.no_grad():  # force every token to B-OP, so each word is a span
        module.model.score.bias.copy_(torch.tensor([-100.0, 100.0, -100.0]))
    spans = module.predict_spans(texts, batch_size=2)
    for text, found in zip(texts, spans):
        assert found and all(0 <= s < e <= len(text) and text[s:e] == text[s:e].strip() for s, e in found)
    assert module.training is False


def test_resume_from_checkpoint_continues_training(cfg_factory) -> None:
    first = cfg_factory(["test=false", "export_dir=null", "logger=csv"], run="first")
    train(first)
    assert list(Path(first.paths.output_dir).glob("csv/version_*/metrics.csv"))  # lr_monitor + metrics
    last = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=True)  # hparams hold no partials: loads safely
    assert state["epoch"] == 0 and state["global_step"] == 2

    resumed = cfg_factory(["test=false", "export_dir=null", "trainer.max_epochs=2", f"ckpt_path={last}"], run="resumed")
    metrics = train(resumed)
    state = torch.load(Path(resumed.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["epoch"] == 1 and state["global_step"] == 4  # one more epoch of 2 steps
    assert "val/span_f1" in metrics


def test_same_seed_same_run(cfg_factory) -> None:
    runs = [train(cfg_factory(["test=false", "export_dir=null"], run=f"r{k}")) for k in range(2)]
    assert runs[0]["train/loss"] == runs[1]["train/loss"] and runs[0]["val/loss"] == runs[1]["val/loss"]
