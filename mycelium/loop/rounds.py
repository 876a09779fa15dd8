"""The self-improvement loop (phase 7): the students label their own training data.

``python train.py chain=full loop=self_improve loop.max_rounds=5`` (``conf/loop/self_improve.yaml``)::

    round 0   the chain on the teacher-labelled seed: the first ``chain.limit`` train problems
    round N   the solver from round N-1's students runs on the pool (the first ``loop.pool``
              train problems) minus the problems that already have a validated label; every
              problem it solves becomes a ``LabelRecord`` (regions = its spans, args from the
              wiring, values from execution), validated by the labels stage's own rule (the
              DAG executes to gold), and joins the training set; optionally the teacher labels
              up to ``loop.teacher_mopup`` of the failures; both students retrain
              (``loop.retrain``: ``scratch``, or ``continue`` from round N-1's exports)
    every     E2E accuracy on val (a fixed slice of train outside the pool, the last
    round     ``loop.val_size`` problems by default) and on ``chain.eval.sets`` (first
              ``chain.eval.limit``); span F1 and classifier accuracy on val against teacher labels

It stops when the E2E gain on val is below ``loop.min_delta``, after ``loop.max_rounds``
rounds, or when a round added nothing and there is no mop-up (the next would repeat it).

Everything lives in ``loop.dir`` (not the job's run dir): per round ``round_NNN/`` holds the
labels added, the merged training set, the student exports and ``round.json``,
written last and atomically, so a round is complete iff its ``round.json`` exists. Re-running
the same command resumes after the last complete round; a complete round is never redone.
``rounds.csv`` and ``self_improve.png`` hold the curves; the job's W&B run gets them with
``round`` as the x-axis.

The known risk is a problem solved by luck (right answer, wrong DAG). Where the teacher also
labelled a pool problem (cached traces), a solved problem's ops and regions are compared with
the teacher's and the disagreements are counted per round (``luck_*``).
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from tqdm.auto import tqdm

from mycelium.data.problems import Problem, load_problems
from mycelium.errors import UserError
from mycelium.labels.assemble import execute_steps as execute_labels  # the labels stage's own execution rule
from mycelium.records.labels import LabelRecord
from mycelium.labels.stage import LABELS_FILE, read_labels, write_records
from mycelium.loggers import student_loggers
from mycelium.models.bio import clean_regions
from mycelium.runs.chain import STUDENTS, eval_sets, evaluate_students, fit_wiring_stage, student_config
from mycelium.records.predictions import Prediction

log = logging.getLogger(__name__)

ROUND_FILE = "round.json"
RETRAIN = ("scratch", "continue")
# What the rounds' metrics depend on: resuming a loop dir with other values would mix two loops.
# (max_rounds, min_delta, retrain and teacher_mopup only steer the rounds still to come.)
IDENTITY_KEYS = ("chain.limit", "chain.students", "chain.solver", "chain.eval", "loop.pool", "loop.val_size",
                 "loop.val_offset", "signals", "labels", "data.name", "teacher.name", "teacher.cot", "seed")


@dataclass
class LoopSettings:
    """``cfg.loop``, checked."""

    name: str
    dir: Path
    max_rounds: int
    pool: int
    min_delta: float = 0.01
    retrain: str = "scratch"
    teacher_mopup: int = 0
    val_size: int = 200
    val_offset: int | None = None
    keep_checkpoints: bool = False

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
        if s.retrain not in RETRAIN:
            raise UserError(f"loop.retrain={s.retrain!r}: choose one of {list(RETRAIN)}")
        if s.max_rounds < 0 or s.teacher_mopup < 0 or s.val_size < 1:
            raise UserError("loop.max_rounds and loop.teacher_mopup must be >= 0, loop.val_size >= 1")
        if seed is None or not 0 < seed < s.pool:
            raise UserError(f"the loop needs a seed smaller than its pool: chain.limit={seed}, loop.pool={s.pool}; "
                            "set chain.limit=N and loop.pool=M with 0 < N < M")
        return s


@dataclass
class RoundRecord:
    """What one round did and measured (``round.json``)."""

    round: int
    train_labels: int  # validated records the students trained on
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


def mopup_candidates(todo: Sequence[Problem], solved: set[str], reference: Mapping[str, LabelRecord],
                     cap: int) -> list[Problem]:
    """The first ``cap`` problems of ``todo`` the students did not solve and the teacher may still
    label: one whose cached teacher label did not validate would fail again, so it does not take
    a place under the cap (the seed's rejects come first in the pool)."""
    failed = [p for p in todo if p.id not in solved and (p.id not in reference or reference[p.id].validated)]
    return failed[:cap]


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
# labels from predictions, validated like the teacher's


def validate(record: LabelRecord) -> LabelRecord:
    """Set ``record.validated``/``reason`` by the labels stage's rule: every operand grounded
    (a number or implicit constant at a span of the text, or an earlier step's result), every
    step with a region, and the DAG (executed by the labels stage's own code) equal to gold."""
    reason = None
    n = len(record.text)
    for step in record.steps:
        for a in step.args:
            ok = (a.step is not None and 0 <= a.step < step.index) if a.kind == "result" else (
                a.span is not None and 0 <= a.span[0] < a.span[1] <= n)
            reason = reason or (None if ok else "ungrounded_operand")
    if not record.steps:
        reason = "no_ops"
    elif any(s.region is None for s in record.steps):
        reason = reason or "no_region"
    answer, correct, failure = execute_labels(record.steps, record.gold_answer) if record.steps else (None, False, None)
    record.answer = answer
    record.validated = (reason or failure or (None if correct else "wrong_answer")) is None
    record.reason = None if record.validated else reason or failure or "wrong_answer"
    return record


def record_from_prediction(pred: Prediction) -> LabelRecord:
    """A validated labels record of a solved problem (regions = the predicted spans, args from
    the wiring, values from execution), or the rejected record (``validated`` False) otherwise."""
    record = LabelRecord(pred.id, pred.text, pred.gold_answer, copy.deepcopy(pred.steps), pred.answer, False)
    return validate(record)


@dataclass
class Agreement:
    """How the added labels compare with the teacher's where both exist."""

    compared: int = 0
    ops_differ: int = 0
    regions_differ: int = 0

    def add(self, mine: LabelRecord, teacher: LabelRecord) -> None:
        ops = lambda r: Counter(s.op for s in r.steps)  # noqa: E731
        regions = lambda r: set(clean_regions([s.region for s in r.steps if s.region])[0])  # noqa: E731
        self.compared += 1
        self.ops_differ += ops(mine) != ops(teacher)
        self.regions_differ += regions(mine) != regions(teacher)


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
        changed = sorted(k for k in IDENTITY_KEYS if json.dumps(theirs.get(k), sort_keys=True, default=str)
                         != json.dumps(mine[k], sort_keys=True, default=str))
        if changed:
            raise UserError(f"{loop_dir} was started with other settings ({', '.join(changed)}); resume with the "
                            f"same ones, or start a new loop with loop.name=<new name>")
        return
    loop_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, json.loads(json.dumps(mine, default=str)))


def write_curves(history: Sequence[RoundRecord], loop_dir: Path, png: Path | None = None) -> tuple[Path, Path]:
    """``rounds.csv`` and ``self_improve.png`` (the W&B curves, for offline readers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ["round", "train_labels", "added", "mopup", "attempted", "rejected", "span_f1", "classifier_acc",
               "e2e_val", "e2e_test", "segmenter_test_span_f1", "classifier_test_acc", "luck_compared",
               "luck_ops_differ", "luck_regions_differ", "luck_rate", "seconds"]
    csv_path = loop_dir / "rounds.csv"
    with csv_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in history:
            w.writerow([getattr(r, c) if getattr(r, c) is not None else "" for c in columns])
    rounds = [r.round for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, label in (("e2e_val", "E2E val"), ("e2e_test", "E2E test"), ("span_f1", "span F1 (val)"),
                        ("classifier_acc", "classifier acc (val)")):
        ys = [getattr(r, name) for r in history]
        if any(y is not None for y in ys):
            ax1.plot(rounds, [float("nan") if y is None else y for y in ys], marker="o", label=label)
    ax1.set(xlabel="round", ylabel="score", title="students per round")
    ax1.legend(fontsize=8)
    ax2.bar(rounds, [r.train_labels - r.added - r.mopup for r in history], label="labels before the round")
    ax2.bar(rounds, [r.added for r in history], bottom=[r.train_labels - r.added - r.mopup for r in history],
            label="added by the students")
    ax2.bar(rounds, [r.mopup for r in history], bottom=[r.train_labels - r.mopup for r in history],
            label="teacher mop-up")
    ax2.set(xlabel="round", ylabel="validated labels", title="training set")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.set_xticks(rounds)
    fig.tight_layout()
    png_path = png or loop_dir / "self_improve.png"
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return csv_path, png_path


def format_table(history: Sequence[RoundRecord]) -> str:
    """A markdown table of the rounds."""
    fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    lines = ["| round | train labels | added | mop-up | span F1 (val) | classifier acc (val) | E2E val | E2E test "
             "| segmenter test span F1 | classifier test acc | luck: ops / regions differ of compared | wall s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in history:
        lines.append(f"| {r.round} | {r.train_labels} | {r.added} | {r.mopup} | {fmt(r.span_f1)} | "
                     f"{fmt(r.classifier_acc)} | {r.e2e_val:.3f} | {r.e2e_test:.3f} | "
                     f"{fmt(r.segmenter_test_span_f1)} | {fmt(r.classifier_test_acc)} | "
                     f"{r.luck_ops_differ} / {r.luck_regions_differ} of {r.luck_compared} | {r.seconds:.0f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the loop


def load_previous(path: str, *, task: str, num_labels: int, **ignored) -> tuple:
    """A backbone partial for ``loop.retrain=continue``: a previous round's export. A head whose
    label count changed (a new op in the data) starts fresh; the rest of the model carries over."""
    from transformers import AutoTokenizer

    from mycelium.models.export import AUTO

    model = AUTO[task].from_pretrained(path, num_labels=num_labels, ignore_mismatched_sizes=True)
    return model, AutoTokenizer.from_pretrained(path)


class Loop:
    """One loop directory and the config it runs; ``run()`` does the remaining rounds."""

    def __init__(self, cfg: DictConfig, loggers: list) -> None:
        self.cfg, self.loggers = cfg, loggers
        self.s = LoopSettings.from_config(cfg)
        self.dir = self.s.dir
        train = load_problems(cfg.data.name, cfg.split, cfg.data.dir, shuffle_seed=cfg.data.shuffle_seed)
        offset = len(train) - self.s.val_size if self.s.val_offset is None else self.s.val_offset
        if self.s.pool > offset or offset + self.s.val_size > len(train):
            raise UserError(f"val (train problems {offset}..{offset + self.s.val_size}) must lie after the pool "
                            f"(the first {self.s.pool}) within the {len(train)} train problems: "
                            "lower loop.pool or loop.val_size, or set loop.val_offset")
        self.pool, self.val = train[: self.s.pool], train[offset : offset + self.s.val_size]
        self._reference: dict[str, LabelRecord] | None = None
        self._defined = False  # W&B metric definitions made

    def round_dir(self, n: int) -> Path:
        return self.dir / f"round_{n:03d}"

    # -- teacher labels: the seed, the guard's reference, val's span targets, the mop-up

    def reference(self) -> dict[str, LabelRecord]:
        """Teacher labels of the pool from the cached traces (labelled once, never re-traced): the
        guard's reference, and the cheap source of the mop-up."""
        from mycelium.runs.stages import labels_stage

        if self._reference is None:
            ref = self.dir / "reference"
            if not (ref / LABELS_FILE).is_file() and Path(self.cfg.traces_dir).is_dir():
                labels_stage(self.cfg, labels_dir=ref, limit=self.s.pool)
            pool = {p.id for p in self.pool}
            self._reference = {r.id: r for r in read_records(ref / LABELS_FILE, validated_only=False) if r.id in pool}
        return self._reference

    def teacher_labels(self, problems: Sequence[Problem]) -> dict[str, LabelRecord]:
        """Validated teacher labels of ``problems``: the cached ones, and the rest traced into the
        loop's own store (``<loop dir>/traces``, resumable) and labelled there."""
        from mycelium.labels.stage import LabelSettings, run_labels

        found = dict(self.reference())
        todo = [p for p in problems if p.id not in found]
        if todo:
            own, labels = self.dir / "traces", self.dir / "teacher_labels"
            found |= {r.id: r for r in read_records(labels / LABELS_FILE, validated_only=False)}
            if any(p.id not in found for p in todo):
                self._trace([p for p in todo if p.id not in found], own)
                run_labels(own, labels, LabelSettings.from_config(self.cfg.signals, self.cfg.labels), progress=False)
                found |= {r.id: r for r in read_records(labels / LABELS_FILE, validated_only=False)}
        return {p.id: found[p.id] for p in problems if p.id in found and found[p.id].validated}

    def _trace(self, problems: Sequence[Problem], store_dir: Path) -> None:
        """Teacher traces of ``problems`` (the teacher stage's settings) into ``store_dir``."""
        from mycelium.runs.stages import trace_problems
        from mycelium.records.traces import TraceStore

        trace_problems(self.cfg, list(problems), TraceStore(store_dir))

    # -- one round

    def train_students(self, n: int, labels_dir: Path, previous: Path | None) -> dict[str, float]:
        """Both students on ``labels_dir``, exported to ``round_NNN/students`` (and the learned
        wiring when ``chain.stages`` holds ``wiring``)."""
        from mycelium.runs.fit_student import train

        rd, metrics = self.round_dir(n), {}
        for student in STUDENTS:
            scfg = student_config(self.cfg, student, labels_dir=str(labels_dir),
                                  export_dir=str(rd / "students" / student), output_dir=str(rd / student))
            if previous is not None:  # loop.retrain=continue
                with open_dict(scfg):
                    scfg.model.backbone = {"_target_": f"{__name__}.load_previous", "_partial_": True,
                                           "path": str(previous / student)}
            result = train(scfg, loggers=student_loggers(self.loggers, f"r{n}-{student}"))
            metrics |= {f"{student}/{k}": v for k, v in result.items()}
            if not self.s.keep_checkpoints:
                shutil.rmtree(rd / student / "checkpoints", ignore_errors=True)
        if "wiring" in self.cfg.chain.stages:  # the learned DAG builder, beside the students (as the chain does)
            metrics |= fit_wiring_stage(self.cfg, labels_dir, rd / "students" / "wiring")
        return metrics

    def evaluate(self, n: int, students: Path) -> dict[str, float]:
        """E2E on val (with span F1 and classifier accuracy against teacher labels) and on
        ``chain.eval.sets``."""
        from mycelium.runs.evaluate import evaluate

        solver = instantiate(self.cfg.chain.solver, path=str(students))
        report = evaluate(self.val, solver, labels=self.teacher_labels(self.val),
                          out_dir=self.round_dir(n) / "eval" / "val", batch_size=self.cfg.chain.eval.batch_size)
        log.info("round %d, solver on %d val problems\n%s", n, len(self.val), report.format())
        metrics = {k.replace("eval/", "val/", 1): v for k, v in report.metrics().items()}
        return metrics | evaluate_students(self.cfg, students, self.round_dir(n) / "eval")

    def solve(self, n: int, problems: Sequence[Problem], students: Path) -> list[Prediction]:
        """The previous round's solver on ``problems``; predictions go to ``round_NNN/solve``."""
        solver = instantiate(self.cfg.chain.solver, path=str(students))
        bs = self.cfg.chain.eval.batch_size
        preds: list[Prediction] = []
        for i in tqdm(range(0, len(problems), bs), desc=f"round {n}: solving the pool", unit="batch"):
            chunk = problems[i : i + bs]
            preds += solver.solve_batch([p.text for p in chunk], bs, ids=[p.id for p in chunk],
                                        gold_answers=[p.answer for p in chunk])
        write_rows(self.round_dir(n) / "solve" / "predictions.jsonl", [p.to_dict() for p in preds])
        return preds

    def seed_round(self) -> RoundRecord:
        """Round 0: the chain's teacher and labels stages on the seed, then students and eval."""
        from mycelium.runs.stages import labels_stage, teacher_stage

        start, rd, limit = time.perf_counter(), self.round_dir(0), self.cfg.chain.limit
        metrics = teacher_stage(self.cfg, limit=limit) | labels_stage(self.cfg, labels_dir=rd / "labels", limit=limit)
        train_labels = len(read_records(rd / "labels" / LABELS_FILE))
        return self._finish(0, rd / "labels", train_labels, metrics, start)

    def improve_round(self, n: int, prev: RoundRecord) -> RoundRecord:
        """Round N >= 1: solve the uncovered pool, add what validates, mop up, retrain, eval."""
        start, rd = time.perf_counter(), self.round_dir(n)
        known = read_records(self.round_dir(n - 1) / "labels" / LABELS_FILE)
        covered = {r.id for r in known}
        todo = [p for p in self.pool if p.id not in covered]
        preds = self.solve(n, todo, Path(prev.students_dir))
        teacher = {i: r for i, r in self.reference().items() if r.validated}
        added, rejected, agree = [], 0, Agreement()
        for pred in preds:
            if not pred.correct:
                continue
            record = record_from_prediction(pred)
            if not record.validated:
                rejected += 1
                continue
            added.append(record)
            if record.id in teacher:
                agree.add(record, teacher[record.id])
        solved = {r.id for r in added}
        failed = mopup_candidates(todo, solved, self.reference(), self.s.teacher_mopup)
        mopup = list(self.teacher_labels(failed).values()) if failed else []
        write_records(rd / "added.jsonl", added)
        write_records(rd / "mopup.jsonl", mopup)
        labels_dir = rd / "labels"
        write_records(labels_dir / LABELS_FILE, [*known, *added, *mopup])
        log.info("round %d: %d of %d pool problems solved and validated (%d rejected), %d by teacher mop-up; "
                 "vs teacher labels: ops differ %d/%d, regions differ %d/%d", n, len(added), len(todo), rejected,
                 len(mopup), agree.ops_differ, agree.compared, agree.regions_differ, agree.compared)
        info = {"attempted": len(todo), "rejected": rejected, "luck_compared": agree.compared,
                "luck_ops_differ": agree.ops_differ, "luck_regions_differ": agree.regions_differ}
        if not added and not mopup:  # nothing new: the students would not change
            log.info("round %d: no new labels; the students stay round %d's", n, prev.round)
            return RoundRecord(**{**asdict(prev), **info, "round": n, "added": 0, "mopup": 0, "retrained": False,
                                  "seconds": round(time.perf_counter() - start, 1)})
        previous = Path(prev.students_dir) if self.s.retrain == "continue" else None
        return self._finish(n, labels_dir, len(known) + len(added) + len(mopup), {}, start, previous=previous,
                            added=len(added), mopup=len(mopup), **info)

    def _finish(self, n: int, labels_dir: Path, train_labels: int, metrics: dict, start: float, *,
                previous: Path | None = None, **counts: int) -> RoundRecord:
        """Train, evaluate and build the round's record (``counts``: RoundRecord's count fields)."""
        rd = self.round_dir(n)
        metrics = metrics | self.train_students(n, labels_dir, previous) | self.evaluate(n, rd / "students")
        first = "-".join(eval_sets(self.cfg)[0])
        zero = dict.fromkeys(("added", "mopup", "attempted", "rejected", "luck_compared", "luck_ops_differ",
                              "luck_regions_differ"), 0)
        return RoundRecord(
            round=n, train_labels=train_labels, **(zero | counts),
            span_f1=metrics.get("val/span_f1"), classifier_acc=metrics.get("val/op_accuracy_gold_spans"),
            e2e_val=metrics["val/accuracy"], e2e_test=metrics[f"e2e/{first}/accuracy"], retrained=True,
            students_dir=str(rd / "students"), seconds=round(time.perf_counter() - start, 1),
            metrics={k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))},
        )

    # -- the rounds

    def log_round(self, record: RoundRecord) -> None:
        from lightning.pytorch.loggers import WandbLogger

        for lg in self.loggers:
            if isinstance(lg, WandbLogger) and not self._defined:  # `round` is the curves' x-axis
                lg.experiment.define_metric("round")
                for key in [*record.scalars(), "loop/luck_rate", "loop/span_f1", "loop/classifier_acc",
                            "loop/segmenter_test_span_f1", "loop/classifier_test_acc"]:
                    lg.experiment.define_metric(key, step_metric="round")
            lg.log_metrics({"round": record.round, **record.scalars()})
        self._defined = True

    def run(self) -> list[RoundRecord]:
        check_identity(self.cfg, self.dir)
        history = load_history(self.dir)
        if history:
            log.info("loop %s: rounds 0..%d already complete in %s; resuming", self.s.name, history[-1].round, self.dir)
        for record in history:  # the job's run shows every round, also those of an earlier job
            self.log_round(record)
        while (reason := stop_reason(history, max_rounds=self.s.max_rounds, min_delta=self.s.min_delta,
                                     mopup=self.s.teacher_mopup)) is None:
            n = len(history)
            rd = self.round_dir(n)
            if rd.exists():  # a round killed before its round.json: redo it whole
                log.info("round %d was not complete: redoing it", n)
                shutil.rmtree(rd)
            rd.mkdir(parents=True)
            record = self.seed_round() if n == 0 else self.improve_round(n, history[-1])
            write_json(rd / ROUND_FILE, asdict(record))  # last: the round is complete
            history.append(record)
            self.log_round(record)
            write_curves(history, self.dir)
            log.info("round %d done in %.0f s: E2E val %.3f, test %.3f, %d train labels (+%d)", n, record.seconds,
                     record.e2e_val, record.e2e_test, record.train_labels, record.added + record.mopup)
        if history:
            write_curves(history, self.dir)
        log.info("loop %s stops: %s\n%s\ncurves: %s", self.s.name, reason, format_table(history),
                 self.dir / "self_improve.png")
        return history


def run_loop(cfg: DictConfig, loggers: list) -> dict[str, float]:
    """``train.py chain=full loop=...``: run the loop; returns the last round's curves."""
    history = Loop(cfg, loggers).run()
    return history[-1].scalars() if history else {}
