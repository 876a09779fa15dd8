"""The teacher pass on the tiny model: dataset and generate CoT, bad input, resume, workers."""

import inspect
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from mycelium.data.problems import Problem
from mycelium.teacher import run as run_module
from mycelium.teacher.generate import generate_cots
from mycelium.teacher.prompt import build_prompt
from mycelium.teacher.run import TeacherConfigError, run_teacher
from mycelium.records.traces import TraceStore, load_traces

GROUPS = {"all": "all", "first": [0], "last": [1]}


def gsm8k_problem(i: int, **changes) -> Problem:
    a, b = 40 + i, 2 + i
    fields = dict(
        id=f"gsm8k/train/{i}",
        text=f"Natalia sold clips to {a} of her friends in April, and then she sold {b} more in May. How many in all?",
        solution=f"In May she sold {a}+{b} = <<{a}+{b}={a + b}>>{a + b} clips.\n#### {a + b}",
        answer=str(a + b), dataset="gsm8k", split="train",
    )
    return Problem(**{**fields, **changes})


def problems(n: int) -> list[Problem]:
    return [gsm8k_problem(i) for i in range(n)]


def run(model, tok, root, items, **kwargs):
    kwargs = {"batch_size": 2, "shard_size": 2, "capture": {"layer_groups": GROUPS}, "progress": False, **kwargs}
    return run_teacher(items, model, tok, TraceStore(root, *kwargs.pop("worker", (0, 1))), **kwargs)


def test_dataset_mode(tmp_path, tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    summary = run(model, tok, tmp_path, problems(3))
    assert (summary.problems, summary.processed, summary.skipped_done, summary.errors) == (3, 3, 0, {})
    assert summary.solve_rate == 1.0 and summary.peak_rss_mb > 0 and summary.problems_per_s > 0
    traces = load_traces(tmp_path)
    assert [t.id for t in traces] == ["gsm8k/train/0", "gsm8k/train/1", "gsm8k/train/2"]
    for i, (t, p) in enumerate(zip(traces, problems(3))):
        # The forced CoT is the cleaned solution; the annotation is kept with its position.
        a, b = 40 + i, 2 + i
        assert t.cot == f"In May she sold {a}+{b} = {a + b} clips.\nThe answer is {a + b}."
        ((pos, expr),) = t.annotations
        assert expr == f"{a}+{b}={a + b}" and t.cot[pos:].startswith(p.answer)
        assert (t.teacher_answer, t.correct, t.error) == (p.answer, True, None)
        tokens = build_prompt(tok, p.text, t.cot)
        num_cot, num_problem = len(t.cot_offsets), len(t.problem_offsets)
        assert t.num_tokens == len(tokens.input_ids) and num_cot == len(tokens.input_ids) - tokens.cot_start
        np.testing.assert_array_equal(t.problem_offsets, tokens.problem_offsets)
        assert set(t.jsd) == set(t.attn) == set(GROUPS)
        for g in GROUPS:
            assert t.jsd[g].shape == (num_cot,) and np.isfinite(t.jsd[g]).all() and t.jsd[g][0] == 0
            assert t.attn[g].shape == (num_cot, num_problem) and t.attn[g].dtype == np.float16
            assert np.all(t.attn[g] >= 0) and np.all(t.attn[g].astype(np.float32).sum(1) <= 1.01)
    assert summary.tokens == sum(t.num_tokens for t in traces)


def test_generate_mode(tmp_path, tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    items = problems(3)
    summary = run(model, tok, tmp_path, items, cot="generate", batch_size=3, generation={"max_new_tokens": 6})
    assert summary.processed == 3 and summary.scored == 3 and summary.errors == {}
    traces = load_traces(tmp_path)
    for t, p in zip(traces, items):
        # Greedy and batched (left-padded) gives what the prompt alone gives.
        (alone,) = generate_cots(model, tok, [build_prompt(tok, p.text).prompt_ids], max_new_tokens=6)
        assert t.cot == alone and t.annotations == []
        assert t.attn["all"].shape == (len(t.cot_offsets), len(t.problem_offsets)) and len(t.cot_offsets) > 0
        assert t.correct is False  # a random model does not answer


def test_bad_inputs_recorded_once(tmp_path, tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    items = [
        gsm8k_problem(0, text="   "),
        gsm8k_problem(1, answer=""),
        gsm8k_problem(2, solution=""),
        gsm8k_problem(3, text="Natalia sold 48 clips. " * 25),
        gsm8k_problem(4),
    ]
    summary = run(model, tok, tmp_path, items, max_length=120)
    assert summary.errors == {"empty_problem": 1, "no_gold_answer": 1, "no_gold_solution": 1, "too_long": 1}
    traces = {t.id: t for t in load_traces(tmp_path)}
    assert len(traces) == 5
    too_long = traces["gsm8k/train/3"]
    assert too_long.error.startswith("too_long: ") and too_long.error.endswith("> max_length 120")
    assert too_long.cot_offsets.shape == (0, 2) and too_long.attn == {} and too_long.cot  # CoT text kept
    assert traces["gsm8k/train/4"].error is None
    again = run(model, tok, tmp_path, items, max_length=120)  # errors are not retried
    assert (again.processed, again.skipped_done) == (0, 5)


def test_resume_adds_exactly_the_new_problems(tmp_path, tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    first = run(model, tok, tmp_path, problems(3))
    second = run(model, tok, tmp_path, problems(6))
    assert (first.processed, second.processed, second.skipped_done) == (3, 3, 3)
    assert [t.id for t in load_traces(tmp_path)] == [f"gsm8k/train/{i}" for i in range(6)]


def test_resume_after_kill(tmp_path, tiny_model_and_tokenizer, monkeypatch):
    model, tok = tiny_model_and_tokenizer
    real_write = TraceStore.write_shard
    calls = []

    def killed_on_second_shard(self, traces):
        calls.append(len(traces))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_write(self, traces)

    monkeypatch.setattr(TraceStore, "write_shard", killed_on_second_shard)
    with pytest.raises(KeyboardInterrupt):
        run(model, tok, tmp_path, problems(5))
    monkeypatch.undo()
    assert [t.id for t in load_traces(tmp_path)] == ["gsm8k/train/0", "gsm8k/train/1"]
    resumed = run(model, tok, tmp_path, problems(5))
    assert (resumed.processed, resumed.skipped_done) == (3, 2)
    assert [t.id for t in load_traces(tmp_path)] == [f"gsm8k/train/{i}" for i in range(5)]


def test_two_workers_split_the_problems(tmp_path, tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    s0 = run(model, tok, tmp_path, problems(5), worker=(0, 2))
    s1 = run(model, tok, tmp_path, problems(5), worker=(1, 2))
    assert (s0.processed, s1.processed) == (3, 2)
    assert sorted(t.id for t in load_traces(tmp_path)) == [f"gsm8k/train/{i}" for i in range(5)]


def test_capture_failure_is_recorded_per_problem(tmp_path, tiny_model_and_tokenizer, monkeypatch):
    model, tok = tiny_model_and_tokenizer
    real_capture = run_module.capture_signals

    def fails_on_long(model, requests, *args, **kwargs):
        if any(len(r.input_ids) > 60 for r in requests):
            raise RuntimeError("out of memory")
        return real_capture(model, requests, *args, **kwargs)

    monkeypatch.setattr(run_module, "capture_signals", fails_on_long)
    items = [gsm8k_problem(0), gsm8k_problem(1, text="Natalia " * 10)]
    summary = run(model, tok, tmp_path, items)
    assert summary.errors == {"capture_failed": 1}
    traces = {t.id: t for t in load_traces(tmp_path)}
    assert traces["gsm8k/train/0"].error == "capture_failed: RuntimeError: out of memory"
    assert traces["gsm8k/train/1"].error is None and traces["gsm8k/train/1"].attn


def test_bad_settings_are_clear_errors(tmp_path, tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    with pytest.raises(TeacherConfigError, match="teacher.cot"):
        run(model, tok, tmp_path, problems(1), cot="forced")
    with pytest.raises(TeacherConfigError, match="temprature"):
        run(model, tok, tmp_path, problems(1), generation={"temprature": 0.5})
    with pytest.raises(TeacherConfigError, match="layer_groups"):
        run(model, tok, tmp_path, problems(1), capture={"layer_groups": {"deep": [7]}})
    with pytest.raises(TeacherConfigError, match="head_reduce"):
        run(model, tok, tmp_path, problems(1), capture={"head_reduce": "median"})


CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.mark.parametrize("name", ["tiny", "smollm2_135m", "qwen25_math_7b"])
def test_teacher_configs_match_run_teacher(name):
    """Every teacher yaml key but name/model is a run_teacher keyword (extract.py passes them through)."""
    cfg = OmegaConf.load(CONF / "teacher" / f"{name}.yaml")
    assert cfg.name == name and cfg.model._target_.startswith("mycelium.teacher.loading.")
    keywords = set(inspect.signature(run_teacher).parameters) - {"problems", "model", "tokenizer", "store", "progress"}
    assert set(cfg) - {"name", "model"} == keywords
    assert set(cfg.generation) == run_module.GENERATION_KEYS and set(cfg.capture) == run_module.CAPTURE_KEYS


def test_tiny_teacher_config_runs(tmp_path):
    cfg = OmegaConf.load(CONF / "teacher" / "tiny.yaml")
    model, tok = instantiate(cfg.model)
    kwargs = {k: v for k, v in cfg.items() if k not in ("name", "model")}  # DictConfig values, as extract.py may pass
    summary = run_teacher(problems(3), model, tok, TraceStore(tmp_path), progress=False, **kwargs)
    assert summary.processed == 3 and summary.errors == {}
    assert set(load_traces(tmp_path)[0].attn) == {"all", "first_third", "last_third"}
