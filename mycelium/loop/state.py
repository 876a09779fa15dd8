"""A loop directory's state: its settings, one record per complete round, when to stop.

``loop.json`` holds the settings a loop dir was started with (resuming with others is refused);
``round_NNN/round.json``, written last and atomically, marks a complete round.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from mycelium.errors import UserError
from mycelium.labels.stage import read_labels
from mycelium.loop.selection import ADMIT, REGIONS
from mycelium.records.labels import LabelRecord

ROUND_FILE = "round.json"
RETRAIN = ("scratch", "continue")
# What the rounds' metrics depend on: resuming a loop dir with other values would mix two loops.
# (max_rounds, min_delta, retrain and teacher_mopup only steer the rounds still to come.)
# A key an older loop.json does not record is not compared (loops started before it existed resume).
IDENTITY_KEYS = ("chain.limit", "chain.stages", "chain.students", "chain.solver", "chain.eval", "loop.pool",
                 "loop.val_size", "loop.val_offset", "loop.holdout", "loop.seed_students", "loop.admit", "loop.regions", "signals",
                 "labels", "data.name", "teacher.name", "teacher.cot", "seed")


@dataclass
class LoopSettings:
    """``cfg.loop``, checked."""

    name: str
    dir: Path
    max_rounds: int
    pool: int | None
    min_delta: float = 0.01
    retrain: str = "scratch"
    teacher_mopup: int = 0
    val_size: int = 200
    val_offset: int | None = None
    keep_checkpoints: bool = False
    admit: str = "answer"
    regions: str = "text"  # how a DAG solved from the text alone gets regions (selection.REGIONS)
    holdout: list[str] | None = None  # val: these splits of the students' split (the rest is the pool)
    seed_students: str | None = None  # round 0 evaluates these exports instead of training its own

    @classmethod
    def from_config(cls, cfg: DictConfig) -> "LoopSettings":
        if not cfg.get("chain"):
            raise UserError("loop= runs the chain each round: add chain=full (or use experiment=self_improve)")
        names = {f.name for f in fields(cls)}
        unknown = set(cfg.loop) - names
        if unknown:
            raise UserError(f"unknown loop keys {sorted(unknown)}; allowed: {sorted(names)}")
        s = cls(**OmegaConf.to_container(cfg.loop, resolve=True))
        s.dir = Path(s.dir)
        seed = cfg.chain.limit
        if s.admit not in ADMIT:
            raise UserError(f"loop.admit={s.admit!r}: choose answer (executes to gold and passes the checks) "
                            "or solution (also computes only values the gold solution computes)")
        if s.regions not in REGIONS:
            raise UserError(f"loop.regions={s.regions!r}: choose text (the labels' region rules less the "
                            "attention) or operands (its operands' clauses)")
        if s.retrain not in RETRAIN:
            raise UserError(f"loop.retrain={s.retrain!r}: choose one of {list(RETRAIN)}")
        if s.max_rounds < 0 or s.teacher_mopup < 0 or s.val_size < 1:
            raise UserError("loop.max_rounds and loop.teacher_mopup must be >= 0, loop.val_size >= 1")
        if s.seed_students is not None and s.holdout is None:
            # val would be the last train problems, most of which the given students trained on
            raise UserError("loop.seed_students needs loop.holdout=[val,test]: val must be problems those "
                            "students held out")
        if s.holdout is not None:
            if isinstance(s.holdout, str) or not s.holdout or "train" in s.holdout:
                raise UserError(f"loop.holdout={s.holdout!r}: give the held-out split names, e.g. loop.holdout=[val,test]")
            # val is drawn by the split, so the seed and the pool may be every train problem (null)
            if (seed is not None and seed < 1) or (s.pool is not None and s.pool < 1) or (
                    seed is not None and s.pool is not None and seed > s.pool):
                raise UserError(f"chain.limit={seed}, loop.pool={s.pool}: with loop.holdout each is a count of the "
                                "first train problems or null (all), and the seed no larger than the pool")
        elif seed is None or s.pool is None or not 0 < seed < s.pool:
            raise UserError(f"the loop needs a seed smaller than its pool: chain.limit={seed}, loop.pool={s.pool}; "
                            "set chain.limit=N and loop.pool=M with 0 < N < M (or loop.holdout=[val,test])")
        return s


@dataclass
class RoundRecord:
    """What one round did and measured (``round.json``)."""

    round: int
    train_labels: int  # validated records in the round's labels (with loop.holdout, also the held-out
                       # splits' own, which no student trains on: the datamodules cut them out)
    added: int  # problems the students solved that joined the training set this round
    mopup: int  # problems the teacher labelled this round (failures, up to loop.teacher_mopup)
    attempted: int  # pool problems without a validated label that the solver tried
    rejected: int  # solved (answer == gold) but failing validation: never added
    span_f1: float | None  # the solver's spans vs teacher regions on val
    classifier_acc: float | None  # the classifier on the teacher's val regions
    e2e_val: float
    e2e_test: float  # the first chain.eval.sets entry
    luck_compared: int  # added problems that also have a validated teacher label
    luck_ops_differ: int  # ... whose ops (as a multiset) differ from the teacher's
    luck_regions_differ: int  # ... whose regions differ from the teacher's
    retrained: bool
    students_dir: str
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)  # every other scalar, flat

    @property
    def segmenter_test_span_f1(self) -> float | None:
        """The segmenter's own test split (seqeval word-level span F1; drifts as labels are added)."""
        return self.metrics.get("segmenter/test/span_f1")

    @property
    def classifier_test_acc(self) -> float | None:
        return self.metrics.get("classifier/test/acc")

    @property
    def luck_rate(self) -> float | None:
        return self.luck_ops_differ / self.luck_compared if self.luck_compared else None

    def scalars(self) -> dict[str, float]:
        """The per-round curves, as logged (``loop/<name>``); None values left out."""
        names = ("train_labels", "added", "mopup", "attempted", "rejected", "span_f1", "classifier_acc", "e2e_val",
                 "e2e_test", "luck_compared", "luck_ops_differ", "luck_regions_differ", "seconds")
        names += ("segmenter_test_span_f1", "classifier_test_acc", "luck_rate")
        return {f"loop/{k}": float(getattr(self, k)) for k in names if getattr(self, k) is not None}


def stop_reason(history: Sequence[RoundRecord], *, max_rounds: int, min_delta: float, mopup: int = 0) -> str | None:
    """Why the loop stops after ``history`` (None: run the next round).

    After round ``max_rounds``; after round N >= 1 when its E2E accuracy on val gained less
    than ``min_delta`` over round N-1's (0.01 = one point); or when round N >= 1 added no label
    and there is no teacher mop-up (``mopup`` = 0): the same students would solve the same
    problems again, so no later round could differ.
    """
    if not history:
        return None
    last = history[-1]
    if last.round >= max_rounds:
        return f"max_rounds={max_rounds} reached"
    if last.round >= 1:
        gain = last.e2e_val - history[-2].e2e_val
        if gain < min_delta:
            return f"E2E gain on val {gain:+.4f} < loop.min_delta={min_delta} (round {last.round})"
        if last.added + last.mopup == 0 and mopup == 0:
            return f"round {last.round} added no label and loop.teacher_mopup=0: later rounds would repeat it"
    return None


# ---------------------------------------------------------------------------------------------
# files


def read_records(path: Path, validated_only: bool = True) -> list[LabelRecord]:
    """The records of a ``labels.jsonl``; [] when a round has not written it yet."""
    if not path.is_file():
        return []
    return [r for r in read_labels(path.parent) if r.validated or not validated_only]


def write_rows(path: Path, rows: Iterable[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=float) + "\n")
    os.replace(tmp, path)


def load_history(loop_dir: Path) -> list[RoundRecord]:
    """The complete rounds 0, 1, ... (stops at the first round without ``round.json``)."""
    history = []
    while (path := loop_dir / f"round_{len(history):03d}" / ROUND_FILE).is_file():
        history.append(RoundRecord(**json.loads(path.read_text())))
    return history


def check_identity(cfg: DictConfig, loop_dir: Path) -> None:
    """``loop.json``: the settings a loop dir was started with; resuming with others is refused."""
    select = lambda key: OmegaConf.to_container(OmegaConf.select(cfg, key), resolve=True) if isinstance(  # noqa: E731
        OmegaConf.select(cfg, key), DictConfig) else OmegaConf.select(cfg, key)
    mine = {key: select(key) for key in IDENTITY_KEYS}
    path = loop_dir / "loop.json"
    if path.is_file():
        theirs = json.loads(path.read_text())
        changed = sorted(k for k in IDENTITY_KEYS if k in theirs and json.dumps(theirs[k], sort_keys=True, default=str)
                         != json.dumps(mine[k], sort_keys=True, default=str))
        if changed:
            raise UserError(f"{loop_dir} was started with other settings ({', '.join(changed)}); resume with the "
                            f"same ones, or start a new loop with loop.name=<new name>")
        return
    loop_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, json.loads(json.dumps(mine, default=str)))
