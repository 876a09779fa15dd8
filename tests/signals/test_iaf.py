"""IAF mapping on hand-made attention matrices."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

from mycelium.signals.iaf import IAFConfig, iaf, iaf_matrix, map_steps, select, sink_mask, token_spans

# problem tokens:   0      1       2      3   4    5     6        7     8
TOKENS = ["Natalia", " sold", " clips", " ", "4", "8", ".", " Half", "?"]


def _problem() -> tuple[str, np.ndarray]:
    ends = np.cumsum([len(t) for t in TOKENS])
    return "".join(TOKENS), np.stack([ends - [len(t) for t in TOKENS], ends], 1)


def test_iaf_matrix_matches_loop_definition():
    rng = np.random.default_rng(0)
    attn = rng.random((12, 9)).astype(np.float16)
    steps = [(0, 4), (4, 5), (5, 12)]
    got = iaf_matrix(attn, steps)
    for row, (s, e) in zip(got, steps):
        mass = attn[s:e].astype(np.float64).sum(0)
        np.testing.assert_allclose(row, mass / mass.sum(), rtol=1e-5)
    np.testing.assert_allclose(got.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(iaf(attn, (4, 5)), got[1])


def test_sink_mask_and_removal():
    text, offsets = _problem()
    sinks = sink_mask(text, offsets)
    np.testing.assert_array_equal(sinks, [False, False, False, True, False, False, True, False, True])
    assert not sink_mask("20%", np.array([[0, 2], [2, 3]])).any()  # '%' carries meaning
    # the step puts most raw mass on the lone space (a sink) and the period
    attn = np.zeros((3, 9), dtype=np.float16)
    attn[:, 3], attn[:, 6], attn[:, 1], attn[:, 4] = 0.5, 0.2, 0.2, 0.1
    raw = iaf(attn, (0, 3))
    assert select(raw, top_k=1)[0] == 3
    clean = iaf(attn, (0, 3), sinks)
    assert clean[3] == clean[6] == 0.0
    np.testing.assert_allclose(clean[[1, 4]], [2 / 3, 1 / 3], rtol=1e-3)
    np.testing.assert_array_equal(select(clean, top_k=1), [1])


def test_select_methods():
    row = np.array([0.05, 0.4, 0.0, 0.25, 0.2, 0.1])
    np.testing.assert_array_equal(select(row, method="top_k", top_k=2), [1, 3])
    np.testing.assert_array_equal(select(row, method="top_k", top_k=10), [0, 1, 3, 4, 5])  # never zeros
    np.testing.assert_array_equal(select(row, method="threshold", threshold=0.2), [1, 3, 4])
    np.testing.assert_array_equal(select(row, method="cumulative", mass=0.5), [1, 3])  # .4 < .5 <= .65
    np.testing.assert_array_equal(select(row, method="cumulative", mass=0.4), [1])
    assert select(np.zeros(4), method="cumulative").size == 0
    with pytest.raises(ValueError):
        select(row, method="best")


def test_token_spans_merge_adjacent():
    text, offsets = _problem()
    spans = token_spans(np.array([5, 0, 4, 1, 7]), offsets)
    assert [text[s:e] for s, e in spans] == ["Natalia sold", "48", " Half"]
    assert token_spans(np.array([], dtype=int), offsets) == []


def test_map_steps_with_config_file():
    cfg_path = Path(__file__).parents[2] / "conf" / "signals" / "default.yaml"
    block = yaml.safe_load(cfg_path.read_text())["iaf"]
    assert set(block) == {f.name for f in dataclasses.fields(IAFConfig)}
    config = dataclasses.replace(IAFConfig(**block), top_k=2)
    text, offsets = _problem()
    attn = np.zeros((4, 9), dtype=np.float16)
    attn[:2, [0, 1]] = 0.3  # step 1 reads "Natalia sold"
    attn[2:, [4, 5]] = 0.3  # step 2 reads "48"
    attn[:, 3] = 0.9  # a sink that must not win
    got = map_steps(attn, [(0, 2), (2, 4)], text, offsets, config)
    assert [[text[s:e] for s, e in spans] for spans in got] == [["Natalia sold"], ["48"]]
