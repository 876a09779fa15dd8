"""TraceStore: round trip, atomic shards, resume after a kill, several workers."""

import json
import os

import numpy as np
import pytest

from mycelium.records import traces as traces_module
from mycelium.records.traces import Trace, TraceStore, TraceStoreError, iter_traces, load_traces, read_shard


def make_trace(i: int, *, error: str | None = None) -> Trace:
    rng = np.random.default_rng(i)
    num_cot, num_problem = 5 + i, 3 + i
    if error:
        empty = np.zeros((0, 2), np.int32)
        return Trace(id=f"p{i}", text=f"problem {i}", cot="", gold_answer=str(i), teacher_answer=None, correct=None,
                     problem_offsets=empty, cot_offsets=empty, error=error)
    return Trace(
        id=f"p{i}", text=f"problem {i} ünï", cot=f"so {i}", gold_answer=str(i), teacher_answer=str(i), correct=True,
        problem_offsets=np.arange(2 * num_problem, dtype=np.int32).reshape(-1, 2),
        cot_offsets=np.arange(2 * num_cot, dtype=np.int32).reshape(-1, 2),
        jsd={g: rng.random(num_cot).astype(np.float32) for g in ("all", "last_third")},
        attn={g: rng.random((num_cot, num_problem)).astype(np.float16) for g in ("all", "last_third")},
        annotations=[(3, "48/2=24"), (9, "48+24=72")], level="Level 2", type="Algebra", num_tokens=40 + i,
    )


def assert_same(a: Trace, b: Trace) -> None:
    for name in ("id", "text", "cot", "gold_answer", "teacher_answer", "correct", "annotations", "level", "type", "num_tokens", "error"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("problem_offsets", "cot_offsets"):
        assert getattr(b, name).dtype == np.int32
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name, dtype in (("jsd", np.float32), ("attn", np.float16)):
        assert set(getattr(a, name)) == set(getattr(b, name))
        for g, array in getattr(a, name).items():
            assert getattr(b, name)[g].dtype == dtype
            np.testing.assert_array_equal(array, getattr(b, name)[g])


def test_round_trip(tmp_path):
    written = [make_trace(0), make_trace(1, error="too_long: 9 tokens > max_length 8"), make_trace(2)]
    store = TraceStore(tmp_path)
    path = store.write_shard(written)
    assert path.name == "shard-0of1-00000.safetensors"
    for a, b in zip(written, read_shard(path)):
        assert_same(a, b)
    assert store.done_ids() == {"p0", "p1", "p2"}
    manifest = json.loads((tmp_path / "manifest-0of1.json").read_text())
    assert manifest["shards"] == {path.name: ["p0", "p1", "p2"]}
    assert [t.id for t in load_traces(tmp_path, ids=["p2", "p0"])] == ["p0", "p2"]


def test_shard_write_is_atomic(tmp_path, monkeypatch):
    store = TraceStore(tmp_path)
    store.write_shard([make_trace(0)])

    def killed(tensors, path, metadata=None):
        with open(path, "wb") as f:
            f.write(b"partial shard")  # a half-written file, then the process dies
        raise KeyboardInterrupt

    monkeypatch.setattr(traces_module, "save_file", killed)
    with pytest.raises(KeyboardInterrupt):
        store.write_shard([make_trace(1)])
    assert sorted(os.listdir(tmp_path)) == ["manifest-0of1.json", "shard-0of1-00000.safetensors"]
    assert TraceStore(tmp_path).done_ids() == {"p0"}
    assert [t.id for t in iter_traces(tmp_path)] == ["p0"]


def test_resume_after_kill_between_shard_and_manifest(tmp_path, monkeypatch):
    """A shard renamed into place but not yet in the manifest is ignored, then overwritten."""
    store = TraceStore(tmp_path)
    store.write_shard([make_trace(0), make_trace(1)])
    real_write = traces_module._atomic_write_bytes

    def kill_on_manifest(path, write):
        if path.name.startswith("manifest"):
            raise KeyboardInterrupt
        real_write(path, write)

    monkeypatch.setattr(traces_module, "_atomic_write_bytes", kill_on_manifest)
    with pytest.raises(KeyboardInterrupt):
        store.write_shard([make_trace(2), make_trace(3)])
    monkeypatch.undo()

    resumed = TraceStore(tmp_path)  # a new process
    done = resumed.done_ids()
    assert done == {"p0", "p1"}
    todo = [make_trace(i) for i in range(5) if f"p{i}" not in done]
    resumed.write_shard(todo[:2])
    resumed.write_shard(todo[2:])
    ids = [t.id for t in iter_traces(tmp_path)]
    assert ids == ["p0", "p1", "p2", "p3", "p4"]  # nothing lost, nothing twice


def test_two_workers(tmp_path):
    w0, w1 = TraceStore(tmp_path, worker=0, num_workers=2), TraceStore(tmp_path, worker=1, num_workers=2)
    w0.write_shard([make_trace(0), make_trace(2)])
    w1.write_shard([make_trace(1)])
    w1.write_shard([make_trace(3)])
    w0.write_shard([make_trace(4)])
    assert w0.done_ids() == w1.done_ids() == {f"p{i}" for i in range(5)}
    assert sorted(p.name for p in tmp_path.glob("manifest-*")) == ["manifest-0of2.json", "manifest-1of2.json"]
    # Worker 0's shards, then worker 1's, each in write order.
    assert [t.id for t in iter_traces(tmp_path)] == ["p0", "p2", "p4", "p1", "p3"]
    # A later single-worker run over the same directory sees them all as done.
    assert TraceStore(tmp_path).done_ids() == {f"p{i}" for i in range(5)}


def test_duplicate_ids_are_read_once(tmp_path):
    TraceStore(tmp_path, 0, 2).write_shard([make_trace(0)])
    TraceStore(tmp_path, 0, 1).write_shard([make_trace(0), make_trace(1)])
    assert [t.id for t in iter_traces(tmp_path)] == ["p0", "p1"]


def test_bad_arguments(tmp_path):
    with pytest.raises(TraceStoreError, match="worker"):
        TraceStore(tmp_path, worker=2, num_workers=2)
    with pytest.raises(TraceStoreError, match="no traces"):
        TraceStore(tmp_path).write_shard([])
    bad = make_trace(0)
    bad.attn = {"a/b": bad.attn["all"]}
    with pytest.raises(TraceStoreError, match="layer-group"):
        TraceStore(tmp_path).write_shard([bad])
    (tmp_path / "manifest-0of1.json").write_text("{truncated")
    with pytest.raises(TraceStoreError, match="manifest"):
        TraceStore(tmp_path)
