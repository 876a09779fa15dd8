"""The self-improvement loop (phase 7): the students label their own training data.

``python train.py chain=full loop=self_improve loop.max_rounds=5`` (``conf/loop/self_improve.yaml``)::

    round 0   the chain on the teacher-labelled seed: the first ``chain.limit`` train problems
    round N   the solver from round N-1's students runs on the pool (the first ``loop.pool``
              train problems) minus the problems that already have a validated label; every
              problem it solves becomes a ``LabelRecord`` (regions = its spans, args from the
              wiring, values from execution), validated by the labels stage's own rule (the
              DAG executes to gold and no check of ``labels.reject_checks`` flags it: a right
              answer by a coincidence of values is not a label; with ``loop.admit=solution`` every
              step must also compute a value the gold solution computes), and joins the training set; optionally the teacher labels
              up to ``loop.teacher_mopup`` of the failures; both students retrain
              (``loop.retrain``: ``scratch``, or ``continue`` from round N-1's exports)
    every     E2E accuracy on val (a fixed slice of train outside the pool, the last
    round     ``loop.val_size`` problems by default) and on ``chain.eval.sets`` (first
              ``chain.eval.limit``); span F1 and classifier accuracy on val against teacher labels

With ``loop.holdout=[val,test]`` val is instead the problems of those splits of the students'
own split (``split_of``, as ``evaluate.py holdout=`` draws its development set), and the pool
is every other problem of the first ``loop.pool`` (null: all); with ``loop.seed_students`` round
0 evaluates students trained before (copied into the loop dir) instead of training its own.
Together they run the loop on the full train set from the default students
(``experiment=self_improve_gsm8k``).

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

import logging
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict
from tqdm.auto import tqdm

from mycelium.data.problems import Problem, load_problems
from mycelium.data.splits import held_out, normalised_splits
from mycelium.errors import UserError
from mycelium.labels.assemble import LabelSettings
from mycelium.labels.clauses import ParsedText, load_spacy, parse
from mycelium.labels.stage import LABELS_FILE, write_records
from mycelium.loggers import student_loggers
from mycelium.loop.curves import format_table, write_curves
from mycelium.loop.selection import Agreement, merge_labels, mopup_candidates, record_from_prediction
from mycelium.loop.state import (
    ROUND_FILE, LoopSettings, RoundRecord, check_identity, load_history, read_records, stop_reason, write_json, write_rows,
)
from mycelium.records.labels import LabelRecord
from mycelium.records.predictions import Prediction
from mycelium.runs.chain import STUDENTS, eval_sets, evaluate_students, fit_wiring_stage, student_config

log = logging.getLogger(__name__)


def load_previous(path: str, *, task: str, num_labels: int | None = None, **ignored) -> tuple:
    """A backbone partial for ``loop.retrain=continue`` of the segmenter and the classifier: a
    previous round's export. A head whose label count changed (a new op in the data) starts fresh;
    the rest of the model carries over. (The wiring student continues whole, via ``init_from``.)"""
    from transformers import AutoTokenizer

    from mycelium.models.export import AUTO

    kwargs = {} if task == "encoder" else {"num_labels": num_labels, "ignore_mismatched_sizes": True}
    model = AUTO[task].from_pretrained(path, **kwargs)
    return model, AutoTokenizer.from_pretrained(path)


class Loop:
    """One loop directory and the config it runs; ``run()`` does the remaining rounds."""

    def __init__(self, cfg: DictConfig, loggers: list) -> None:
        self.cfg, self.loggers = cfg, loggers
        self.s = LoopSettings.from_config(cfg)
        self.dir = self.s.dir
        train = load_problems(cfg.data.name, cfg.split, cfg.data.dir, shuffle_seed=cfg.data.shuffle_seed)
        if self.s.holdout is not None:
            fractions, salt = self.split()
            held = {p.id for p in held_out(train, list(self.s.holdout), fractions, salt)}
            self.pool = [p for p in train[: self.s.pool] if p.id not in held]
            self.val = [p for p in train if p.id in held]
            if self.s.seed_students is not None:  # before round 0's minutes of labelling
                self.check_seed_students()
        else:
            offset = len(train) - self.s.val_size if self.s.val_offset is None else self.s.val_offset
            if self.s.pool > offset or offset + self.s.val_size > len(train):
                raise UserError(f"val (train problems {offset}..{offset + self.s.val_size}) must lie after the pool "
                                f"(the first {self.s.pool}) within the {len(train)} train problems: "
                                "lower loop.pool or loop.val_size, or set loop.val_offset (or loop.holdout=[val,test])")
            self.pool, self.val = train[: self.s.pool], train[offset : offset + self.s.val_size]
        if self.s.admit == "solution" and not any(p.solution for p in self.pool):
            raise UserError(f"loop.admit=solution compares solved DAGs with the gold solutions, and "
                            f"{cfg.data.name} {cfg.split} has none: use loop.admit=answer")
        self._reference: dict[str, LabelRecord] | None = None
        self._defined = False  # W&B metric definitions made

    def round_dir(self, n: int) -> Path:
        return self.dir / f"round_{n:03d}"

    def trained(self) -> list[str]:
        """The students ``chain.stages`` trains (segmenter, classifier, wiring), in that order."""
        return [s for s in STUDENTS if s in self.cfg.chain.stages]

    def split(self) -> tuple[dict[str, float], str]:
        """The students' split (``datamodule.splits``, ``split_salt``), which ``loop.holdout`` draws val
        from (the MLP wiring, ``wiring_mlp``, fits on the segmenter's split).

        Raises:
            UserError: no student is trained, a student has no hash split (none, or MAWPS's
                ``test_fold``), or two are split differently.
        """
        students = [*self.trained(), *(["segmenter"] if "wiring_mlp" in self.cfg.chain.stages else [])]
        cuts = set()
        for student in dict.fromkeys(students):
            dm = self.cfg.chain.students[student].datamodule
            if not dm.get("splits") or dm.get("test_fold") is not None:
                raise UserError(f"loop.holdout draws val from the students' hash split, and chain.students.{student} "
                                "has none (datamodule.splits unset, or datamodule.test_fold set)")
            cuts.add((normalised_splits(dm.splits), dm.get("split_salt", "")))
        if len(cuts) != 1:
            raise UserError(f"loop.holdout draws val from the students' split, and chain.stages trains "
                            f"{students or 'no student'} split {len(cuts)} ways: give them one "
                            "datamodule.splits and split_salt")
        ((fractions, salt),) = cuts
        return dict(fractions), salt

    # -- teacher labels: the seed, the guard's reference, val's span targets, the mop-up

    def reference(self) -> dict[str, LabelRecord]:
        """Teacher labels of the pool from the cached traces (labelled once, never re-traced): the
        guard's reference, and the cheap source of the mop-up."""
        from mycelium.runs.stages import labels_stage

        if self._reference is None:
            ref = self.dir / "reference"
            if not (ref / LABELS_FILE).is_file() and Path(self.cfg.traces_dir).is_dir():
                # with loop.holdout val lies anywhere in train, not after the pool: label them all
                labels_stage(self.cfg, labels_dir=ref, limit=None if self.s.holdout is not None else self.s.pool)
            ids = {p.id for p in self.pool} | ({p.id for p in self.val} if self.s.holdout is not None else set())
            self._reference = {r.id: r for r in read_records(ref / LABELS_FILE, validated_only=False) if r.id in ids}
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
                # one process (run_labels' default): a round's few new problems, in a process that trains
                run_labels(own, labels, LabelSettings.from_config(self.cfg.signals, self.cfg.labels), progress=False)
                found |= {r.id: r for r in read_records(labels / LABELS_FILE, validated_only=False)}
        return {p.id: found[p.id] for p in problems if p.id in found and found[p.id].validated}

    def check_parses(self, preds: Sequence[Prediction]) -> tuple[LabelSettings, dict[str, ParsedText]]:
        """The labels settings and the spaCy parse of each solved problem: the labels' automatic
        checks (``labels.reject_checks``) then judge a solved DAG as they judge a teacher's."""
        settings = LabelSettings.from_config(self.cfg.signals, self.cfg.labels)
        if not preds or not settings.reject_checks:
            return settings, {}
        texts = [p.text for p in preds]
        parsed = parse(texts, load_spacy(settings.spacy_model), settings.clauses)
        return settings, {p.id: x for p, x in zip(preds, parsed)}

    def _trace(self, problems: Sequence[Problem], store_dir: Path) -> None:
        """Teacher traces of ``problems`` (the teacher stage's settings) into ``store_dir``."""
        from mycelium.runs.stages import trace_problems
        from mycelium.records.traces import TraceStore

        trace_problems(self.cfg, list(problems), TraceStore(store_dir))

    # -- one round

    def train_students(self, n: int, labels_dir: Path, previous: Path | None) -> dict[str, float]:
        """The students ``chain.stages`` names (segmenter, classifier, wiring) on ``labels_dir``,
        exported to ``round_NNN/students`` (and the MLP wiring when it names ``wiring_mlp``)."""
        from mycelium.runs.fit_student import train

        rd, metrics = self.round_dir(n), {}
        for student in self.trained():
            scfg = student_config(self.cfg, student, labels_dir=str(labels_dir),
                                  export_dir=str(rd / "students" / student), output_dir=str(rd / student))
            if previous is not None:  # loop.retrain=continue
                with open_dict(scfg):
                    if student == "wiring":  # all of it: encoder and deductive head (its op set is fixed)
                        scfg.init_from = str(previous / student)
                    else:  # the backbone; a head whose label set grew starts fresh
                        scfg.model.backbone = {"_target_": f"{__name__}.load_previous", "_partial_": True,
                                               "path": str(previous / student)}
            result = train(scfg, loggers=student_loggers(self.loggers, f"r{n}-{student}"))
            metrics |= {f"{student}/{k}": v for k, v in result.items()}
            if not self.s.keep_checkpoints:
                shutil.rmtree(rd / student / "checkpoints", ignore_errors=True)
        if "wiring_mlp" in self.cfg.chain.stages:  # the MLP DAG builder, beside the students (as the chain does)
            metrics |= fit_wiring_stage(self.cfg, labels_dir, rd / "students" / "wiring_mlp")
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
        if self.s.seed_students is not None:  # round 0's students: copies of the given ones
            for student in self.seed_exports():
                shutil.copytree(Path(self.s.seed_students) / student, rd / "students" / student)
        return self._finish(0, rd / "labels", train_labels, metrics, start, train=self.s.seed_students is None)

    def seed_exports(self) -> list[str]:
        """The exports round 0 takes from ``loop.seed_students``: the students ``chain.stages``
        trains, and the MLP wiring when it names ``wiring_mlp``."""
        return [*self.trained(), *(["wiring_mlp"] if "wiring_mlp" in self.cfg.chain.stages else [])]

    def check_seed_students(self) -> None:
        """``loop.seed_students`` holds every export round 0 needs, split as the loop's students are.

        Raises:
            UserError: an export is missing, or a student was split otherwise than the loop's
                students (its held-out problems would not be the loop's val).
        """
        from mycelium.models.export import check_split

        src = Path(self.s.seed_students)
        missing = [s for s in self.seed_exports() if not (src / s).is_dir() or not any((src / s).iterdir())]
        if missing:
            raise UserError(f"loop.seed_students={src} has no export of {missing} (chain.stages uses them): "
                            "point it at a students dir holding <student>/ exports")
        fractions, salt = self.split()
        try:
            unchecked = check_split(src, fractions, salt, self.trained())
        except UserError as e:
            raise UserError(f"loop.seed_students: {str(e).split(': pass')[0]}; give the loop's students that split "
                            "(chain.students.<student>.datamodule.splits and split_salt) or other seed students") from None
        for sub in unchecked:
            log.warning("%s records no training split (exported before exports did): the loop trusts that it "
                        "was split as chain.students is (%s, salt %r)", sub, fractions, salt)

    def improve_round(self, n: int, prev: RoundRecord) -> RoundRecord:
        """Round N >= 1: solve the uncovered pool, add what validates, mop up, retrain, eval."""
        start, rd = time.perf_counter(), self.round_dir(n)
        previous_labels = read_records(self.round_dir(n - 1) / "labels" / LABELS_FILE, validated_only=False)
        known = [r for r in previous_labels if r.validated]
        covered = {r.id for r in known}
        todo = [p for p in self.pool if p.id not in covered]
        preds = self.solve(n, todo, Path(prev.students_dir))
        teacher = {i: r for i, r in self.reference().items() if r.validated}
        added, rejected, agree = [], Counter(), Agreement()
        solved_preds = [p for p in preds if p.correct]
        settings, parsed = self.check_parses(solved_preds)
        solutions = {p.id: p.solution for p in todo} if self.s.admit == "solution" else {}
        # a student's DAG is not grounded by the labels' rules (no orphan adoption): a written
        # number equal to an earlier result is refused too (checks.equals_result)
        checks = (*settings.reject_checks, "equals_result") if settings.reject_checks else ()
        for pred in solved_preds:
            record = record_from_prediction(pred, parsed.get(pred.id), checks, solutions.get(pred.id), regions=self.s.regions,
                                            relations=settings.relations, unshare=settings.unshare_regions,
                                            chooser=settings.region_chooser)
            if not record.validated:
                rejected[record.reason] += 1
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
        write_records(labels_dir / LABELS_FILE, merge_labels(previous_labels, [*added, *mopup]))
        log.info("round %d: %d of %d pool problems solved and validated (%d rejected: %s), %d by teacher mop-up; "
                 "vs teacher labels: ops differ %d/%d, regions differ %d/%d", n, len(added), len(todo),
                 rejected.total(), dict(rejected) or "none", len(mopup), agree.ops_differ, agree.compared,
                 agree.regions_differ, agree.compared)
        info = {"attempted": len(todo), "rejected": rejected.total(), "luck_compared": agree.compared,
                "luck_ops_differ": agree.ops_differ, "luck_regions_differ": agree.regions_differ}
        if not added and not mopup:  # nothing new: the students would not change
            log.info("round %d: no new labels; the students stay round %d's", n, prev.round)
            return RoundRecord(**{**asdict(prev), **info, "round": n, "added": 0, "mopup": 0, "retrained": False,
                                  "seconds": round(time.perf_counter() - start, 1)})
        previous = Path(prev.students_dir) if self.s.retrain == "continue" else None
        return self._finish(n, labels_dir, len(known) + len(added) + len(mopup), {}, start, previous=previous,
                            added=len(added), mopup=len(mopup), **info)

    def _finish(self, n: int, labels_dir: Path, train_labels: int, metrics: dict, start: float, *,
                previous: Path | None = None, train: bool = True, **counts: int) -> RoundRecord:
        """Train (unless ``train`` is false: round 0 from ``loop.seed_students``), evaluate and build
        the round's record (``counts``: RoundRecord's count fields)."""
        rd = self.round_dir(n)
        if train:
            metrics = metrics | self.train_students(n, labels_dir, previous)
        metrics = metrics | self.evaluate(n, rd / "students")
        first = "-".join(eval_sets(self.cfg)[0])
        zero = dict.fromkeys(("added", "mopup", "attempted", "rejected", "luck_compared", "luck_ops_differ",
                              "luck_regions_differ"), 0)
        return RoundRecord(
            round=n, train_labels=train_labels, **(zero | counts),
            span_f1=metrics.get("val/span_f1"), classifier_acc=metrics.get("val/op_accuracy_gold_spans"),
            e2e_val=metrics["val/accuracy"], e2e_test=metrics[f"e2e/{first}/accuracy"], retrained=train,
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
