"""The labels stage: cached traces -> labels.jsonl + report.json, no teacher needed."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from tqdm.auto import tqdm

from mycelium.config import find_labels_dir
from mycelium.errors import UserError
from mycelium.labels.assemble import Diagnostics, LabelSettings, label_trace
from mycelium.labels.clauses import ParsedText, load_spacy, parse
from mycelium.labels.report import LabelReport
from mycelium.records.labels import LabelRecord
from mycelium.records.traces import Trace, load_traces

LABELS_FILE = "labels.jsonl"
log = logging.getLogger(__name__)


def run_labels(
    traces_dir: str | os.PathLike,
    labels_dir: str | os.PathLike,
    settings: LabelSettings,
    limit: int | None = None,
    progress: bool = True,
    ids: Collection[str] | None = None,
    workers: int | None = 1,
) -> LabelReport:
    """Label every cached trace (first ``limit``), write ``labels.jsonl``, ``report.json`` and
    ``settings.json`` into ``labels_dir`` atomically, and return the report.

    ``ids``: label only the traces of these problems (a traces dir may hold more problems
    than one split: MAWPS's five folds share the traces of all 1,920); ``limit`` then counts
    among them. Raises ``UserError`` when no trace is among ``ids``. ``workers``: processes
    that label (``None``: one per CPU core this process may use); the records are the same,
    in the same order, for any number. Raises ``UserError`` when it is below 1.
    """
    check_workers(workers)
    traces_dir, labels_dir = Path(traces_dir), Path(labels_dir)
    if not traces_dir.is_dir():
        raise UserError(f"no traces at {traces_dir}: run `python extract.py stage=teacher ...` first "
                        "(same data/split/teacher)")
    start = time.perf_counter()
    traces = load_traces(traces_dir, ids=ids)
    if ids is not None and not traces:
        raise UserError(f"none of the {len(set(ids))} problems asked for has a trace in {traces_dir}: "
                        "run the teacher stage on their split first")
    if limit is not None:
        traces = traces[:limit]
    if not traces:
        raise UserError(f"{traces_dir} holds no traces: run `python extract.py stage=teacher ...` first")
    nlp = load_spacy(settings.spacy_model)
    ok = [t for t in traces if not t.error]
    # the spaCy parse of the problem texts is cached beside the traces: a sweep over label
    # knobs parses once
    texts = [t.text for t in ok]
    math = [t.type is not None for t in ok]  # MATH problems: a formula is one token of the parse
    parsed = dict(zip((t.id for t in ok), parse(texts, nlp, settings.clauses, cache=traces_dir / ".parse-cache",
                                                math=math)))
    records: list[LabelRecord] = []
    diags = []
    done = label_all(traces, [parsed.get(t.id) for t in traces], settings, workers)
    for record, diag in tqdm(done, total=len(traces), desc="labels", unit="problem", disable=not progress):
        records.append(record)
        diags.append(diag)
    report = LabelReport.build(records, diags, time.perf_counter() - start)

    write_records(labels_dir / LABELS_FILE, records)
    report.save(labels_dir / "report.json")
    (labels_dir / "settings.json").write_text(json.dumps(asdict(settings) | {"traces_dir": str(traces_dir)}, indent=2, default=str))
    return report


def cpu_count() -> int:
    """CPU cores this process may run on: its affinity (a cpuset's or ``taskset``'s limit, not the
    host's), not a cgroup CPU quota (``docker --cpus``: set ``labels.workers`` there)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_workers(workers: object) -> None:
    """Raises ``UserError`` unless ``workers`` is None or a whole number >= 1."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UserError(f"labels.workers={workers!r}: give a number of processes (1 or more), "
                        "or null for one per CPU core")


# what each labelling process reads, set before the pool forks so it is inherited, not pickled
_JOBS: tuple[list[Trace], list[ParsedText | None], LabelSettings] | None = None


def _quiet_worker() -> None:
    """A labelling process leaves Ctrl-C to its parent, which stops the pool: one message, not one
    traceback per process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _label_chunk(part: slice) -> list[tuple[LabelRecord, Diagnostics]]:
    """``label_trace`` of the traces ``part`` of ``_JOBS`` (in a forked labelling process)."""
    assert _JOBS is not None, "set _JOBS before the pool forks"
    traces, parsed, settings = _JOBS
    return [label_trace(t, p, settings) for t, p in zip(traces[part], parsed[part])]


def label_all(traces: list[Trace], parsed: list[ParsedText | None], settings: LabelSettings,
              workers: int | None = 1, chunk: int = 32) -> Iterator[tuple[LabelRecord, Diagnostics]]:
    """``label_trace`` of each trace with its parse, yielded in order, in ``workers`` processes
    (``None``: one per core), ``chunk`` traces per task. Labelling is pure Python, so processes,
    not threads: the pool forks and inherits the traces instead of pickling them, so it runs on
    Linux only (elsewhere one process labels all, with a warning). Raises ``UserError`` for a bad
    ``workers``, ``ValueError`` for ``chunk`` < 1, what ``label_trace`` raises in a process, and
    ``BrokenProcessPool`` when a process dies (killed for memory), instead of waiting forever."""
    global _JOBS
    check_workers(workers)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    workers = min(workers or cpu_count(), -(-len(traces) // chunk))
    if workers > 1 and not sys.platform.startswith("linux"):
        log.warning("labels.workers=%d: labelling in one process (worker processes need Linux's fork)", workers)
        workers = 1
    if workers == 1:
        yield from (label_trace(t, p, settings) for t, p in zip(traces, parsed))
        return
    _JOBS = (traces, parsed, settings)
    try:
        fork = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=fork, initializer=_quiet_worker) as pool:
            for done in pool.map(_label_chunk, [slice(i, i + chunk) for i in range(0, len(traces), chunk)]):
                yield from done
    finally:
        _JOBS = None


def write_records(path: str | os.PathLike, records: Iterable[LabelRecord]) -> Path:
    """Records as JSON lines at ``path``, written atomically (a killed job leaves no half file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r.to_dict()) + "\n")
    os.replace(tmp, path)
    return path


def read_labels(labels: str | os.PathLike) -> list[LabelRecord]:
    """Read a labels dir's ``labels.jsonl`` (or a labels file itself) back into records; a dir
    named the old way (``limit=2000``) is found under its new name too (``find_labels_dir``)."""
    path = find_labels_dir(labels)
    path = path / LABELS_FILE if path.is_dir() or not path.suffix else path
    if not path.is_file():
        raise UserError(f"no labels at {path}: run `python extract.py stage=labels ...` first")
    with path.open(encoding="utf-8") as f:
        return [LabelRecord.from_dict(json.loads(line)) for line in f if line.strip()]
