"""The no-CoT answer-only baseline on the tiny backbone: masking, loss, greedy answers, export."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import torch

from mycelium.errors import UserError
from mycelium.models.answer_data import AnswerOnlyDataModule, bucketed_batches
from mycelium.models.answer_only import AnswerEncoder, AnswerOnlyModule, answer_target, first_number
from mycelium.models.examples import pad_batch
from mycelium.models.export import export_student, load_exported
from mycelium.teacher.loading import build_tiny

QUESTIONS = ["Tom has 5 apples. He buys 3 more. How many now?", "A box holds 12 eggs. How many eggs in 2 boxes?"]
ANSWERS = ["8", "24"]


def module(**kw) -> AnswerOnlyModule:
    return AnswerOnlyModule(build_tiny, optim=functools.partial(torch.optim.AdamW, lr=1e-2), **kw)


def batch_of(m: AnswerOnlyModule, questions=QUESTIONS, answers=ANSWERS) -> dict:
    return pad_batch(m.encoder(64)(questions, answers), m.tokenizer.pad_token_id)


def fit(m: AnswerOnlyModule, steps: int = 30) -> None:
    """Overfit the two problems (the tiny model has them exact after ~16 steps at this lr)."""
    opt, batch = m.configure_optimizers(), batch_of(m)
    m.train()
    for _ in range(steps):
        loss, _ = m.answer_loss(batch)
        loss.backward()
        opt.step()
        opt.zero_grad()


def test_answer_target_and_first_number():
    assert [answer_target(a) for a in ("1,200", "18.0", "2.5", "5/2", "$7", "-3")] == ["1200", "18", "2.5", "5/2", "7", "-3"]
    assert answer_target("") is None and answer_target("x + 1") is None and answer_target(None) is None
    assert first_number(" $1,200 dollars and 3") == "1200"
    assert first_number(" 2.5\n7") == "2.5" and first_number(" none") is None


def test_only_the_answer_tokens_and_eos_are_labelled():
    tok = build_tiny()[1]
    enc = AnswerEncoder(tok, max_length=64)([QUESTIONS[0]], ["8"])[0]
    prompt = tok(["Question: " + QUESTIONS[0] + "\nAnswer:"])["input_ids"][0]
    answer = tok([" 8"], add_special_tokens=False)["input_ids"][0] + [tok.eos_token_id]
    assert enc["input_ids"] == prompt + answer
    assert enc["labels"] == [-100] * len(prompt) + answer


def test_a_long_prompt_loses_its_start_not_the_answer():
    tok = build_tiny()[1]
    enc = AnswerEncoder(tok, max_length=16)(["word " * 40 + "How many?"], ["123"])[0]
    assert len(enc["input_ids"]) == 16
    answer = tok([" 123"], add_special_tokens=False)["input_ids"][0] + [tok.eos_token_id]
    assert enc["labels"][-len(answer):] == answer and enc["input_ids"][-len(answer):] == answer


def test_loss_is_the_lm_loss_over_answer_tokens_only():
    m = module().eval()
    batch = batch_of(m)
    loss, exact = m.answer_loss(batch)
    with torch.no_grad():
        reference = m.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    assert torch.allclose(loss, reference, atol=1e-5)
    # the prompt carries no loss: changing its tokens' labels to anything masked leaves it unchanged,
    # while labelling one prompt token changes it
    leaky = dict(batch, labels=batch["labels"].clone())
    leaky["labels"][0, 3] = batch["input_ids"][0, 3]
    assert not torch.allclose(m.answer_loss(leaky)[0], loss)
    assert exact.shape == (2,)


def test_exact_match_is_every_answer_token_argmax_and_training_learns_it():
    m = module()
    assert m.answer_loss(batch_of(m))[1].tolist() == [0.0, 0.0]  # random weights
    fit(m)
    m.eval()
    assert m.answer_loss(batch_of(m))[1].tolist() == [1.0, 1.0]
    assert m.predict_answers(QUESTIONS) == ANSWERS  # greedy decoding writes what teacher forcing scored
    assert m.answer_loss(batch_of(m, answers=["9", "24"]))[1].tolist() == [0.0, 1.0]


def test_export_then_reload_gives_identical_generations(tmp_path: Path):
    m = module(max_new_tokens=5)
    fit(m)
    m.eval()
    export_student(m, tmp_path / "ao")
    meta = json.loads((tmp_path / "ao" / "label_map.json").read_text())
    assert meta == {"student": "answer_only", "prompt": m.prompt, "max_new_tokens": 5}
    reloaded = load_exported(tmp_path / "ao", device="cpu")
    assert isinstance(reloaded, AnswerOnlyModule)
    questions = QUESTIONS + ["Sam has twelve apples and eats three. How many are left?"]
    generated = m.generate(questions)
    assert generated[:2] == [" 8", " 24"] and reloaded.generate(questions) == generated  # the third: unseen
    assert reloaded.predict_answers(questions) == m.predict_answers(questions)


def write_labels(directory: Path, answers: list[str], labels_writer, record_factory) -> Path:
    records = [record_factory(i) for i in range(len(answers))]
    for r, a in zip(records, answers):
        r.gold_answer = a
    return labels_writer(directory, records)


def test_a_set_with_no_numeric_answer_is_one_line_error(tmp_path: Path, labels_writer, record_factory):
    path = write_labels(tmp_path / "labels", ["", "n/a", "x + 1"], labels_writer, record_factory)
    dm = AnswerOnlyDataModule(source="labels", labels_dir=str(path))
    with pytest.raises(UserError, match="none of its 3 problems has a numeric gold answer") as e:
        dm.scan()
    assert "\n" not in str(e.value)


def test_datamodule_splits_by_id_and_skips_answerless(tmp_path: Path, labels_writer, record_factory):
    path = write_labels(tmp_path / "labels", [str(i) for i in range(39)] + [""], labels_writer, record_factory)
    dm = AnswerOnlyDataModule(source="labels", labels_dir=str(path), splits={"train": 0.6, "val": 0.2, "test": 0.2}, batch_size=4)
    stats = dm.scan()
    assert stats["problems"] == 40 and stats["no_numeric_answer"] == 1 and sum(stats["examples"].values()) == 39
    dm.tokenizer = build_tiny()[1]
    batches = list(dm.train_dataloader())
    assert sum(len(b["input_ids"]) for b in batches) == stats["examples"]["train"]
    assert all((b["labels"] != -100).sum(1).min() >= 2 for b in batches)  # every row has its answer + EOS


def test_bucketed_batches_cover_every_index_once():
    import random

    lengths = [5, 1, 9, 3, 7, 2, 8]
    batches = bucketed_batches(lengths, 2, random.Random(0), chunk=2)
    assert sorted(i for b in batches for i in b) == list(range(7))
    assert all(len(b) <= 2 for b in batches)


def test_train_py_config_fits_and_exports(cfg_factory):
    from mycelium.runs.fit_student import train

    cfg = cfg_factory(["model=answer_only", "datamodule.source=labels"])
    metrics = train(cfg)
    assert "val/exact" in metrics and "test/exact" in metrics
    reloaded = load_exported(cfg.export_dir, device="cpu")
    assert isinstance(reloaded, AnswerOnlyModule) and len(reloaded.predict_answers(QUESTIONS)) == 2
