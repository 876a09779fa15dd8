"""The traces artifact: one record per problem from the teacher pass (phase 1).

Everything after the teacher re-runs from these records, so they hold every signal the
later stages need and nothing that needs the model again.

On disk (``TraceStore``): a directory of shards. Each shard is one safetensors file whose
tensors are the per-problem arrays (key ``"{row}/{field}"`` or ``"{row}/{field}/{group}"``)
and whose header metadata holds the JSON of the scalar fields. Shards are written to a
temporary name and renamed, so a shard either exists whole or not at all; the manifest
(``manifest-{worker}of{num_workers}.json``, also rewritten atomically) lists the problem
ids each finished shard holds, which is what resuming reads. A shard not in a manifest (a
kill between the two renames) is ignored and overwritten by the next write. Workers of a
multi-process run each own one manifest and their own shard names; readers take the union.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from mycelium.errors import UserError

FORMAT = "mycelium-traces-v1"
# Scalar fields stored as JSON in the shard header; the arrays are stored as tensors.
SCALAR_FIELDS = ("id", "text", "cot", "gold_answer", "teacher_answer", "correct", "annotations", "level", "type", "num_tokens", "error")
ARRAY_DTYPES = {"problem_offsets": np.int32, "cot_offsets": np.int32, "jsd": np.float32, "attn": np.float16}


@dataclass
class Trace:
    """One problem's teacher pass.

    Char offsets are half-open ``[start, end)`` into ``text`` (problem tokens) or ``cot``
    (CoT tokens). Attention arrays are keyed by layer-group name (``conf/teacher``'s
    ``capture.layer_groups``, e.g. ``"all"``, ``"first_third"``, ``"last_third"``).
    """

    id: str
    text: str  # problem text, exactly as given to the teacher inside the prompt
    cot: str  # CoT text the teacher produced (generate) or was forced through (dataset)
    gold_answer: str
    teacher_answer: str | None  # answer extracted from ``cot``; None when none was found
    correct: bool | None  # teacher_answer == gold_answer (math-verify); None when unknown
    problem_offsets: np.ndarray  # (P, 2) int32: char span in ``text`` of each problem token
    cot_offsets: np.ndarray  # (C, 2) int32: char span in ``cot`` of each CoT token
    # JSD between the attention rows of CoT tokens t-1 and t (rows zero-padded to a common
    # support, renormalised after head reduction); jsd[g][0] == 0. Unsmoothed. (C,) float32.
    jsd: dict[str, np.ndarray] = field(default_factory=dict)
    # Attention mass of each CoT token on each problem token, reduced over heads and over the
    # group's layers (mean). (C, P) float16. Not normalised: IAF normalises.
    attn: dict[str, np.ndarray] = field(default_factory=dict)
    # GSM8K calculator annotations removed from the gold solution: (char pos in ``cot`` where
    # the annotation stood, "48/2=24"). Empty for other sources.
    annotations: list[tuple[int, str]] = field(default_factory=list)
    level: str | None = None  # MATH level, e.g. "Level 3"
    type: str | None = None  # MATH subject, e.g. "Algebra"
    num_tokens: int = 0  # prompt + CoT tokens in the forward pass
    error: str | None = None  # why this problem has no signals (empty text, too long, ...)


class TraceStoreError(UserError):
    """The traces directory is unusable (bad manifest, unknown format). The message says why."""


def _atomic_write_bytes(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``: readers see all of it or nothing."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _trace_tensors(row: int, trace: Trace) -> dict[str, np.ndarray]:
    tensors = {
        f"{row}/problem_offsets": np.ascontiguousarray(trace.problem_offsets, dtype=np.int32).reshape(-1, 2),
        f"{row}/cot_offsets": np.ascontiguousarray(trace.cot_offsets, dtype=np.int32).reshape(-1, 2),
    }
    for name in ("jsd", "attn"):
        for group, array in getattr(trace, name).items():
            if "/" in group:
                raise TraceStoreError(f"layer-group name {group!r} contains '/'; rename it in capture.layer_groups")
            tensors[f"{row}/{name}/{group}"] = np.ascontiguousarray(array, dtype=ARRAY_DTYPES[name])
    return tensors


def write_shard(path: Path, traces: list[Trace]) -> None:
    """Write ``traces`` as one safetensors file at ``path``, atomically."""
    tensors: dict[str, np.ndarray] = {}
    for row, trace in enumerate(traces):
        tensors.update(_trace_tensors(row, trace))
    scalars = [{k: getattr(t, k) for k in SCALAR_FIELDS} for t in traces]
    metadata = {"format": FORMAT, "traces": json.dumps(scalars)}
    _atomic_write_bytes(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def read_shard(path: Path) -> list[Trace]:
    """All traces of one shard file, in row order."""
    with safe_open(str(path), framework="np") as f:
        metadata = f.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise TraceStoreError(f"{path} is not a {FORMAT} shard (format={metadata.get('format')!r})")
        scalars = json.loads(metadata["traces"])
        traces = []
        for s in scalars:
            s["annotations"] = [tuple(a) for a in s["annotations"]]
            traces.append(Trace(**s, problem_offsets=np.zeros((0, 2), np.int32), cot_offsets=np.zeros((0, 2), np.int32)))
        for key in f.keys():
            row, name, *group = key.split("/")
            trace = traces[int(row)]
            if group:
                getattr(trace, name)[group[0]] = f.get_tensor(key)
            else:
                setattr(trace, name, f.get_tensor(key))
    return traces


def _read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise TraceStoreError(f"cannot read the trace manifest {path} ({e}); delete it and its shards to redo them") from None
    if manifest.get("format") != FORMAT:
        raise TraceStoreError(f"{path} is not a {FORMAT} manifest")
    return manifest


def _manifests(root: Path) -> list[dict]:
    """All workers' manifests under ``root``, ordered by (num_workers, worker)."""
    manifests = [_read_manifest(p) for p in Path(root).glob("manifest-*.json")]
    return sorted(manifests, key=lambda m: (m["num_workers"], m["worker"]))


class TraceStore:
    """A resumable, sharded directory of traces written by worker ``worker`` of ``num_workers``."""

    def __init__(self, root: str | os.PathLike, worker: int = 0, num_workers: int = 1) -> None:
        if not 0 <= worker < num_workers:
            raise TraceStoreError(f"worker={worker} must be in 0..{num_workers - 1} (num_workers={num_workers}); set shard/num_shards")
        self.root = Path(root)
        self.worker = worker
        self.num_workers = num_workers
        self.manifest_path = self.root / f"manifest-{worker}of{num_workers}.json"
        self.root.mkdir(parents=True, exist_ok=True)
        if self.manifest_path.exists():
            self.shards: dict[str, list[str]] = _read_manifest(self.manifest_path)["shards"]
        else:
            self.shards = {}

    def done_ids(self) -> set[str]:
        """Ids of every problem in a finished shard of any worker (what a resumed run skips)."""
        return {pid for m in _manifests(self.root) for ids in m["shards"].values() for pid in ids}

    def write_shard(self, traces: list[Trace]) -> Path:
        """Write ``traces`` as this worker's next shard, then record it in the manifest."""
        if not traces:
            raise TraceStoreError("write_shard got no traces")
        name = f"shard-{self.worker}of{self.num_workers}-{len(self.shards):05d}.safetensors"
        path = self.root / name
        write_shard(path, traces)
        shards = {**self.shards, name: [t.id for t in traces]}
        manifest = {"format": FORMAT, "worker": self.worker, "num_workers": self.num_workers, "shards": shards}
        _atomic_write_bytes(self.manifest_path, lambda tmp: tmp.write_text(json.dumps(manifest, indent=1)))
        self.shards = shards  # only after the manifest is on disk
        return path


def iter_traces(root: str | os.PathLike, ids: Iterable[str] | None = None) -> Iterator[Trace]:
    """Every trace under ``root`` (all workers, shards in manifest order), each id once.

    With ``ids``, only those traces, reading only the shards that hold them.
    """
    wanted = set(ids) if ids is not None else None
    seen: set[str] = set()
    for manifest in _manifests(Path(root)):
        for name, shard_ids in manifest["shards"].items():
            if wanted is not None and wanted.isdisjoint(shard_ids):
                continue
            for trace in read_shard(Path(root) / name):
                if trace.id in seen or (wanted is not None and trace.id not in wanted):
                    continue
                seen.add(trace.id)
                yield trace


def load_traces(root: str | os.PathLike, ids: Iterable[str] | None = None) -> list[Trace]:
    """``list(iter_traces(root, ids))``."""
    return list(iter_traces(root, ids))
