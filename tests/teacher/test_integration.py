"""The real offline teacher (SmolLM2-135M-Instruct from its GGUF) on 3 GSM8K problems.

Runs the config users run (conf/teacher/smollm2_135m.yaml). The first run converts the GGUF
into the model cache (~30 s); later runs load the cached copy (~0.3 s).
"""

import time
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from mycelium.data.problems import load_problems
from mycelium.teacher.prompt import build_prompt
from mycelium.teacher.run import run_teacher
from mycelium.records.traces import TraceStore, load_traces

CONF = Path(__file__).resolve().parents[2] / "conf"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def teacher_cfg(model_cache_dir):
    teacher = OmegaConf.load(CONF / "teacher" / "smollm2_135m.yaml")
    return OmegaConf.merge({"paths": {"model_cache_dir": str(model_cache_dir)}}, {"teacher": teacher}).teacher


@pytest.fixture(scope="module")
def smollm2(teacher_cfg):
    t0 = time.perf_counter()
    model, tok = instantiate(teacher_cfg.model)
    print(f"\nSmolLM2 load (convert once, then cached): {time.perf_counter() - t0:.2f} s")
    return model, tok


def test_smollm2_teacher_on_three_gsm8k_problems(tmp_path, data_dir, teacher_cfg, smollm2):
    model, tok = smollm2
    assert type(model).__name__ == "LlamaForCausalLM" and model.config.num_hidden_layers == 30
    problems = load_problems("gsm8k", "train", data_dir, limit=3)
    kwargs = OmegaConf.to_container(teacher_cfg, resolve=True)
    kwargs = {k: v for k, v in kwargs.items() if k not in ("name", "model")}
    summary = run_teacher(problems, model, tok, TraceStore(tmp_path), progress=False, **kwargs)
    print(summary.format(), f"\n{summary.wall_s / 3:.2f} s/problem")
    assert summary.processed == 3 and summary.errors == {} and summary.solve_rate == 1.0

    traces = load_traces(tmp_path)
    assert [t.id for t in traces] == [p.id for p in problems]
    for t, p in zip(traces, problems):
        tokens = build_prompt(tok, p.text, t.cot, kwargs["system_prompt"])
        num_cot, num_problem = len(t.cot_offsets), len(t.problem_offsets)
        assert num_cot == len(tokens.input_ids) - tokens.cot_start > 10 and num_problem > 10
        # The real tokenizer's problem tokens reconstruct the problem text.
        assert p.text in tok.decode(tokens.input_ids[tokens.problem_positions])
        assert t.problem_offsets.min() == 0 and t.problem_offsets.max() == len(p.text)
        covered = np.zeros(len(p.text), bool)
        for start, end in t.problem_offsets:
            covered[start:end] = True
        assert covered.all()  # every problem char maps to a token (no trimmed offsets)
        assert set(t.jsd) == set(t.attn) == {"all", "first_third", "last_third"}
        for g in t.jsd:
            assert t.jsd[g].shape == (num_cot,) and t.jsd[g].dtype == np.float32
            assert np.isfinite(t.jsd[g]).all() and t.jsd[g][0] == 0 and 0 <= t.jsd[g].min() and t.jsd[g].max() <= 1
            assert t.jsd[g][1:].max() > 0  # the curve moves
            assert t.attn[g].shape == (num_cot, num_problem) and t.attn[g].dtype == np.float16
            mass = t.attn[g].astype(np.float32)
            assert np.isfinite(mass).all() and mass.min() >= 0 and mass.sum(1).max() <= 1.01


def test_minilm_backbone_loads_offline_as_every_student_task(tmp_path):
    """The CPU default backbone, from its wheel: classification heads and the bare encoder."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    conf = Path(__file__).resolve().parents[2] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base=None):
        cfg = compose("train.yaml", overrides=["model=classifier", "backbone=minilm_l6", f"paths.model_cache_dir={tmp_path}"])
    load = instantiate(cfg.backbone)
    model, tokenizer = load(task="token_classification", num_labels=3)
    enc = tokenizer(["Each pen costs $0.50."], return_tensors="pt", return_offsets_mapping=True)
    offsets = enc.pop("offset_mapping")
    assert model(**enc).logits.shape == (1, enc["input_ids"].shape[1], 3)
    assert offsets[0, 1].tolist() == [0, 4]  # "each": offsets map tokens back to characters
    encoder, _ = load(task="encoder")
    assert encoder(**enc).last_hidden_state.shape[-1] == 384
