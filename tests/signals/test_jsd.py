"""JSD step boundaries on hand-made attention rows and CoT text with known steps."""

import dataclasses

import numpy as np
import pytest
import yaml
from scipy.signal import savgol_filter
from pathlib import Path

from mycelium.signals.jsd import (
    JSDConfig,
    boundary_scores,
    find_boundaries,
    jsd_rows,
    jsd_steps,
    sentence_boundaries,
    sentence_steps,
    smooth,
    snap_to_words,
    steps_from_boundaries,
)


def _offsets(tokens: list[str]) -> tuple[str, np.ndarray]:
    """Join tokens into text; their (start, end) char offsets."""
    ends = np.cumsum([len(t) for t in tokens])
    return "".join(tokens), np.stack([ends - [len(t) for t in tokens], ends], 1)


def _block_rows(switches: list[int], num_tokens: int, width: int = 60, seed: int = 0) -> np.ndarray:
    """Attention rows that attend to one block of keys, then jump to another block at each switch."""
    rng = np.random.default_rng(seed)
    rows = np.full((num_tokens, width), 1e-3)
    block = np.searchsorted(switches, np.arange(num_tokens), side="right")  # step id of each token
    cols = (block[:, None] * 10 + np.arange(10)[None, :]) % width
    np.put_along_axis(rows, cols, 1.0 + 0.1 * rng.random((num_tokens, 10)), axis=1)
    return rows / rows.sum(1, keepdims=True)


def test_jsd_rows_properties():
    p = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    assert jsd_rows(p, p) == pytest.approx([0.0, 0.0], abs=1e-12)
    assert jsd_rows([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    # unnormalised rows (max head reduction) and a shorter causal row padded with zeros
    assert jsd_rows([2.0, 2.0], [1.0, 1.0, 0.0]) == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(0)
    a, b = rng.random((50, 8)), rng.random((50, 8))
    d = jsd_rows(a, b)
    assert np.all((d >= 0) & (d <= 1))
    np.testing.assert_allclose(d, jsd_rows(b, a))


def test_boundary_at_block_switch():
    rows = _block_rows([10, 25], 40)
    curve = np.concatenate([[0.0], jsd_rows(rows[:-1], rows[1:])])
    got = find_boundaries(curve, prominence=0.05)
    np.testing.assert_array_equal(got, [10, 25])
    assert steps_from_boundaries(got, 40) == [(0, 10), (10, 25), (25, 40)]


def test_height_percentile_and_distance():
    curve = np.zeros(50)
    curve[[10, 12, 30]] = [0.5, 0.3, 0.9]
    kw = dict(prominence=None, window=1)
    np.testing.assert_array_equal(find_boundaries(curve, **kw), [10, 12, 30])
    np.testing.assert_array_equal(find_boundaries(curve, height=0.4, **kw), [10, 30])
    np.testing.assert_array_equal(find_boundaries(curve, height="p97", **kw), [10, 30])
    np.testing.assert_array_equal(find_boundaries(curve, distance=5, **kw), [10, 30])
    with pytest.raises(ValueError):
        find_boundaries(curve, height="top10")


def test_smooth():
    rng = np.random.default_rng(0)
    noisy = np.sin(np.linspace(0, 3, 40)) + 0.1 * rng.standard_normal(40)
    s = smooth(noisy)
    assert s.shape == noisy.shape
    assert np.abs(np.diff(s, 2)).mean() < np.abs(np.diff(noisy, 2)).mean()  # less jagged
    short = np.array([0.0, 1.0, 0.0, 1.0])  # shorter than the window: the window shrinks to 3
    np.testing.assert_allclose(smooth(short, window=5, polyorder=1), savgol_filter(short, 3, 1))
    np.testing.assert_array_equal(smooth(np.array([1.0, 5.0]), window=5), [1.0, 5.0])
    assert find_boundaries(np.array([0.0, 1.0])).size == 0


def test_sentence_baseline():
    tokens = ["She", " had", " 3", ".", "5", " apples", ".", " Then", " she", " ate", " 1", ".", "\n", "So", " 2", ".5", "?", " Yes"]
    cot, offsets = _offsets(tokens)
    # "Then" (7), "So" (13), "Yes" (17) start sentences/lines; "3.5" and "2.5" do not split
    np.testing.assert_array_equal(sentence_boundaries(cot, offsets), [7, 13, 17])
    assert sentence_steps(cot, offsets) == [(0, 7), (7, 13), (13, 17), (17, 18)]


def test_snap_to_words():
    tokens = ["Nat", "alia", " sold", " cl", "ips", " in", " May", "."]
    cot, offsets = _offsets(tokens)
    # 1 is inside "Natalia" -> 0 -> dropped (the first step starts there anyway); 4 inside "clips"
    # ties left to 3; 6 and 7 already start words
    np.testing.assert_array_equal(snap_to_words(np.array([1, 4, 6, 7]), cot, offsets), [3, 6, 7])
    np.testing.assert_array_equal(snap_to_words(np.array([4]), cot, offsets, max_shift=0), [4])
    # boundaries between words stay put: on a newline, a number's first digit, a word's first token
    tokens = ["It", " is", " 4", "8", ".", "\n", "Then", " 2", "4"]
    cot, offsets = _offsets(tokens)
    np.testing.assert_array_equal(snap_to_words(np.array([2, 5, 6, 8]), cot, offsets), [2, 5, 6, 7])


def test_boundary_scores():
    assert boundary_scores([10, 20, 40], [11, 30, 40], tolerance=1) == pytest.approx((2 / 3, 2 / 3))
    assert boundary_scores([10], [12], tolerance=1) == (0.0, 0.0)
    assert boundary_scores([10], [12], tolerance=2) == (1.0, 1.0)
    assert boundary_scores([], [3]) == (0.0, 0.0)


def test_jsd_steps_and_config_file_agree():
    cfg_path = Path(__file__).parents[2] / "conf" / "signals" / "default.yaml"
    block = yaml.safe_load(cfg_path.read_text())["jsd"]
    config = JSDConfig(**block)
    assert set(block) == {f.name for f in dataclasses.fields(JSDConfig)}
    rows = _block_rows([10, 25], 40)
    curve = np.concatenate([[0.0], jsd_rows(rows[:-1], rows[1:])])
    assert jsd_steps(curve, config) == [(0, 10), (10, 25), (25, 40)]
