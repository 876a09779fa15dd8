"""Attention capture: the bounded-memory hooks path equals the eager output_attentions reference."""

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from mycelium.signals.jsd import jsd_rows
from mycelium.teacher.capture import (
    CaptureRequest,
    capture,
    jsd_consecutive,
    resolve_layer_groups,
)

NUM_LAYERS = 4


@pytest.fixture(scope="module")
def model() -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=300,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=NUM_LAYERS,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    return LlamaForCausalLM(config).eval()


def _requests() -> list[CaptureRequest]:
    """Three sequences of unequal length -> a right-padded batch."""
    rng = np.random.default_rng(0)
    out = []
    for seq_len, cot_start in [(40, 15), (27, 10), (33, 20)]:
        ids = rng.integers(1, 300, size=seq_len)
        problem = np.arange(3, cot_start - 2)  # problem text sits inside the prompt
        out.append(CaptureRequest(input_ids=ids, problem_positions=problem, cot_start=cot_start))
    return out


GROUPS = {"all": list(range(NUM_LAYERS)), "first": [0, 1], "last": [3], "mixed": [0, 2, 3]}


@pytest.mark.parametrize("head_reduce", ["mean", "max"])
def test_hooks_equal_naive_padded_batch(model, head_reduce):
    reqs = _requests()
    hooks = capture(model, reqs, GROUPS, head_reduce=head_reduce, method="hooks")
    naive = capture(model, reqs, GROUPS, head_reduce=head_reduce, method="naive")
    assert model.config._attn_implementation == "sdpa"  # restored after both paths
    for r, h, n in zip(reqs, hooks, naive):
        num_cot = len(r.input_ids) - r.cot_start
        assert set(h.jsd) == set(h.attn) == set(GROUPS)
        for g in GROUPS:
            assert h.jsd[g].shape == (num_cot,) and h.jsd[g].dtype == np.float32
            assert h.attn[g].shape == (num_cot, len(r.problem_positions)) and h.attn[g].dtype == np.float16
            np.testing.assert_allclose(h.jsd[g], n.jsd[g], atol=1e-5)
            np.testing.assert_allclose(h.attn[g].astype(np.float32), n.attn[g].astype(np.float32), atol=1e-3)
            assert h.jsd[g][0] == 0.0
            assert np.all((h.jsd[g] >= 0) & (h.jsd[g] <= 1))
            assert np.all(h.attn[g] >= 0)


def test_batch_equals_single(model):
    """Padding must not leak: each sequence alone gives what it gets in the padded batch."""
    reqs = _requests()
    batched = capture(model, reqs, {"all": GROUPS["all"]})
    for r, b in zip(reqs, batched):
        (single,) = capture(model, [r], {"all": GROUPS["all"]})
        np.testing.assert_allclose(single.jsd["all"], b.jsd["all"], atol=1e-5)


def test_mean_attention_mass_is_a_fraction(model):
    """With mean over heads and layers, a CoT row's mass on any key subset is in [0, 1]."""
    (sig,) = capture(model, _requests()[:1], {"all": GROUPS["all"]})
    total = sig.attn["all"].astype(np.float32).sum(1)
    assert np.all(total <= 1.0 + 1e-3) and np.all(total > 0)


def test_bf16_model_runs(model):
    bf16 = LlamaForCausalLM(model.config).eval()
    bf16.load_state_dict(model.state_dict())
    bf16 = bf16.to(torch.bfloat16)
    reqs = _requests()[:2]
    h = capture(bf16, reqs, {"all": GROUPS["all"]})
    ref = capture(model, reqs, {"all": GROUPS["all"]})
    for a, b in zip(h, ref):
        assert a.jsd["all"].dtype == np.float32
        np.testing.assert_allclose(a.jsd["all"], b.jsd["all"], atol=0.05)


def test_jsd_consecutive_zero_for_identical_rows_and_matches_numpy():
    rng = np.random.default_rng(1)
    rows = rng.random((6, 10)).astype(np.float32)
    rows[2] = rows[1] * 3.0  # same distribution after renormalising -> JSD 0
    rows[4, :5], rows[4, 5:], rows[5, :5], rows[5, 5:] = 1.0, 0.0, 0.0, 1.0  # disjoint -> JSD 1
    got = jsd_consecutive(torch.from_numpy(rows)).numpy()
    assert got[0] == 0.0
    assert got[2] == pytest.approx(0.0, abs=1e-6)
    assert got[5] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(got[1:], jsd_rows(rows[:-1], rows[1:]), atol=1e-6)


def test_resolve_layer_groups():
    spec = {"all": "all", "a": "first_third", "b": "last_third", "r": "0-9", "l": [29, -1, 5, 5]}
    got = resolve_layer_groups(spec, 30)
    assert got["all"] == list(range(30))
    assert got["a"] == list(range(10)) and got["b"] == list(range(20, 30)) and got["r"] == list(range(10))
    assert got["l"] == [5, 29]
    assert resolve_layer_groups({"x": "last_third"}, 2) == {"x": [1]}
    for bad in [{}, {"x": "bogus"}, {"x": "5-2"}, {"x": "0-30"}, {"x": []}, {"x": [1.5]}, {"x": 3}]:
        with pytest.raises(ValueError):
            resolve_layer_groups(bad, 30)


def test_bad_arguments(model):
    reqs = _requests()
    with pytest.raises(ValueError):
        capture(model, reqs, GROUPS, head_reduce="median")
    with pytest.raises(ValueError):
        capture(model, reqs, GROUPS, method="magic")
    with pytest.raises(ValueError):
        capture(model, [CaptureRequest(np.arange(5), np.arange(2), cot_start=5)], GROUPS)


def test_restores_attention_implementation_and_single_cot_token(model):
    model.set_attn_implementation("eager")
    try:
        req = CaptureRequest(input_ids=np.arange(1, 11), problem_positions=np.array([2, 3]), cot_start=9)
        (sig,) = capture(model, [req], {"all": GROUPS["all"]})
        assert model.config._attn_implementation == "eager"
        assert sig.jsd["all"].tolist() == [0.0] and sig.attn["all"].shape == (1, 2)
    finally:
        model.set_attn_implementation("sdpa")
