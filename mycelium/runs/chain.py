"""The whole chain in one job: teacher traces -> labels -> both students -> end-to-end accuracy.

``python train.py chain=full`` runs it (``conf/chain/full.yaml``); every ``experiment=`` config
and each round of the self-improvement loop is this chain with other knobs. Stages:

``teacher``     traces of the first ``chain.limit`` train problems (resumes; a cached teacher
                pass is not even loaded), into the shared ``traces_dir``
``labels``      labels from those traces with ``signals.*``/``labels.*``, into the job's own
                ``chain.labels_dir`` (seconds, so no job ever reads another's labels); with
                ``chain.labels_split``, only the traces of that split's problems (the
                students' training set when the traces cover more: MAWPS's folds)
``segmenter``   ``mycelium.runs.fit_student.train`` on ``chain.students.segmenter`` (a ``conf/model`` config)
``classifier``  the same for ``chain.students.classifier``
``wiring``      the same for ``chain.students.wiring``: the wiring student (an encoder and a
                deductive head, ``mycelium.models.wiring``), exported to ``<students>/wiring``;
                the solver's ``wiring: auto`` uses it when present
``wiring_mlp``  the MLP wiring baseline (``mycelium.solver.learned_wiring``) fitted on the
                labels' train split in seconds, saved to ``<students>/wiring_mlp`` (used by
                the solver when the wiring student is absent)
``evaluate``    the solver from the exports on every ``chain.eval.sets`` entry; with
                ``chain.eval.labels``, each set's problems are labelled from their traces
                too, for span/op scores and the first failing stage of each wrong answer
                (with ``chain.solver.deductive_spans=false`` the wiring student reads the
                text alone: only ``<students>/wiring`` is loaded, and each wrong answer is
                put where its DAG first differs from the label's, mycelium.runs.attribution)

A job writes ``chain.json`` (its overrides and every metric) into its run dir;
``python -m mycelium.runs.results <multirun dir>`` turns a sweep's into one table.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from mycelium.errors import UserError
from mycelium.loggers import student_loggers
from mycelium.runs.stages import labels_stage, teacher_stage

log = logging.getLogger(__name__)

STAGES = ("teacher", "labels", "segmenter", "classifier", "wiring", "wiring_mlp", "evaluate")
STUDENTS = ("segmenter", "classifier", "wiring")
# What a conf/model config sets at the top level; a student's own value replaces the root's
# (a merge would give the classifier the segmenter's leftover keys).
STUDENT_KEYS = ("student", "optimized_metric", "optim", "scheduler", "model", "datamodule")
RESULTS_FILE = "chain.json"


def student_config(cfg: DictConfig, student: str, *, labels_dir: str, export_dir: str, output_dir: str) -> DictConfig:
    """The config ``mycelium.runs.fit_student.train`` takes for one student of the chain.

    The root config minus ``chain``/``loop``, with ``chain.students.<student>`` on top: its
    ``conf/model`` keys replace the root's, anything else (``trainer``, ``backbone``,
    ``callbacks``) merges, so ``chain.students.segmenter.trainer.max_epochs=3`` works.
    Checkpoints and logs go to ``output_dir``; the best model is exported to ``export_dir``.
    """
    node = cfg.chain.students.get(student)
    if node is None:
        raise UserError(f"chain.students.{student} is missing: chain=full defines all three students")
    base = OmegaConf.masked_copy(cfg, [k for k in cfg if k not in ("chain", "loop")])
    with open_dict(base):
        for key, value in node.items():
            if key in STUDENT_KEYS:
                base[key] = value
            else:
                base.merge_with({key: value})
        base.labels_dir = labels_dir
        base.export_dir = export_dir
        base.paths.output_dir = output_dir
    return base


def eval_sets(cfg: DictConfig) -> list[tuple[str, str]]:
    """``chain.eval.sets`` entries ("gsm8k/test") as (dataset, split) pairs."""
    out = []
    for entry in cfg.chain.eval.sets:
        name, _, split = str(entry).partition("/")
        if not name or not split:
            raise UserError(f"chain.eval.sets entry {entry!r}: write <dataset>/<split>, e.g. gsm8k/test")
        out.append((name, split))
    return out


def fit_wiring_stage(cfg: DictConfig, labels_dir: str | Path, out_dir: str | Path, loggers: list = ()) -> dict:
    """Fit the learned wiring on the labels' train split (the students' split), save it in
    ``out_dir``, and score it against the chain heuristic on the val split (gold spans and ops)."""
    from mycelium.labels.stage import read_labels
    from mycelium.solver.learned_wiring.beam import learned_accuracy
    from mycelium.solver.learned_wiring.model import save_wiring
    from mycelium.solver.learned_wiring.training import fit_wiring, split_records
    from mycelium.solver.wiring import wiring_accuracy

    dm = cfg.chain.students.segmenter.datamodule  # both students split the same way by default
    splits, salt = dict(dm.splits), dm.split_salt
    records = read_labels(labels_dir)
    parts = {name: split_records(records, name, splits, salt) for name in splits}
    if not parts.get("train"):
        raise UserError(f"no validated labels in the train split of {labels_dir}: nothing to fit the wiring on")
    w = cfg.chain.wiring_mlp
    model = fit_wiring(parts["train"], hidden=w.hidden, epochs=w.epochs, seed=cfg.seed)
    save_wiring(model, out_dir)
    val = parts.get("val", [])
    learned, n = learned_accuracy(val, model, beam=cfg.chain.solver.beam)
    metrics = {"wiring_mlp/val_learned": learned, "wiring_mlp/val_chain": wiring_accuracy(val, "chain"),
               "wiring_mlp/val_n": n, "wiring_mlp/train_n": len(parts["train"])}
    log.info("learned wiring in %s: gold spans+ops -> gold answer on val %.3f (chain heuristic %.3f, n=%d)",
             out_dir, learned, metrics["wiring_mlp/val_chain"], n)
    for lg in loggers:
        lg.log_metrics(metrics)
    return metrics


def split_ids(cfg: DictConfig, split: str) -> list[str]:
    """Problem ids of ``split`` of ``cfg.data`` (what ``chain.labels_split`` keeps)."""
    from mycelium.data.problems import load_problems

    return [p.id for p in load_problems(cfg.data.name, split, cfg.data.dir)]


def eval_labels(cfg: DictConfig, problems: list, out_dir: Path) -> tuple[dict | None, dict]:
    """Labels of the eval ``problems`` from ``cfg.traces_dir`` (the chain's signal/label
    settings) in ``out_dir``: ``(validated records by id, the labels' metrics)``. They score
    spans, ops and the first failing stage (text alone: the DAG's first difference); the
    solver never sees them. A set none of whose
    problems is traced there (GSM8K test beside MAWPS folds) is logged and gets ``(None, {})``."""
    from mycelium.records.traces import TraceStore
    from mycelium.runs.evaluate import load_labels

    ids = [p.id for p in problems]
    if Path(cfg.traces_dir).is_dir() and TraceStore(cfg.traces_dir).done_ids().isdisjoint(ids):
        log.warning("chain.eval.labels: none of the %d eval problems is traced in %s: no span/op scores or "
                    "error attribution for them", len(ids), cfg.traces_dir)
        return None, {}
    metrics = labels_stage(cfg, labels_dir=out_dir, limit=None, ids=ids)
    return load_labels(out_dir), metrics


def evaluate_students(cfg: DictConfig, students_dir: str | Path, out_dir: str | Path, loggers: list = ()) -> dict:
    """E2E accuracy (and latency) of the solver in ``students_dir`` on every eval set; with
    ``chain.eval.labels``, also span/op scores and error attribution against their labels."""
    from mycelium.data.problems import load_problems
    from mycelium.runs.evaluate import evaluate

    solver = instantiate(cfg.chain.solver, path=str(students_dir))
    metrics: dict = {}
    for name, split in eval_sets(cfg):
        problems = load_problems(name, split, cfg.data.dir, limit=cfg.chain.eval.limit)
        set_dir = Path(out_dir) / f"{name}-{split}"
        labels = None
        if cfg.chain.eval.get("labels"):
            labels, label_metrics = eval_labels(cfg, problems, set_dir / "labels")
            metrics |= {k.replace("labels/", f"e2e/{name}-{split}/labels/", 1): v for k, v in label_metrics.items()}
        report = evaluate(problems, solver, labels=labels, out_dir=set_dir, batch_size=cfg.chain.eval.batch_size)
        log.info("solver on %d %s-%s problems\n%s", len(problems), name, split, report.format())
        metrics |= {k.replace("eval/", f"e2e/{name}-{split}/", 1): v for k, v in report.metrics().items()}
    for lg in loggers:
        lg.log_metrics(metrics)
    return metrics


def run_chain(cfg: DictConfig, loggers: list) -> dict:
    """Run ``cfg.chain.stages`` in order; returns every stage's metrics (flat, prefixed)."""
    from mycelium.runs.fit_student import train

    chain = cfg.chain
    unknown = [s for s in chain.stages if s not in STAGES]
    if unknown:
        raise UserError(f"chain.stages: unknown {unknown}; choose from {list(STAGES)}")
    out_dir = Path(cfg.paths.output_dir)
    labels_dir, students_dir = str(chain.labels_dir), Path(chain.students_dir)
    metrics: dict = {}
    seconds: dict = {}
    for stage in chain.stages:
        start = time.perf_counter()
        if stage == "teacher":
            metrics |= teacher_stage(cfg, limit=chain.limit, loggers=loggers)
        elif stage == "labels":
            ids = split_ids(cfg, chain.labels_split) if chain.get("labels_split") else None
            metrics |= labels_stage(cfg, labels_dir=labels_dir, limit=chain.limit, loggers=loggers, ids=ids)
        elif stage in STUDENTS:
            student_cfg = student_config(cfg, stage, labels_dir=labels_dir, export_dir=str(students_dir / stage),
                                         output_dir=str(out_dir / stage))
            result = train(student_cfg, loggers=student_loggers(loggers, stage))
            metrics |= {f"{stage}/{k}": v for k, v in result.items()}
        elif stage == "wiring_mlp":
            metrics |= fit_wiring_stage(cfg, labels_dir, students_dir / "wiring_mlp", loggers)
        elif stage == "evaluate":
            metrics |= evaluate_students(cfg, students_dir, out_dir / "eval", loggers)
        seconds[f"time/{stage}_s"] = round(time.perf_counter() - start, 1)
    metrics |= seconds
    for lg in loggers:
        lg.log_metrics(seconds)
    path = write_results(out_dir, cfg, metrics)
    log.info("%s\nall metrics: %s", summary(metrics), path)
    return metrics


def summary(metrics: dict) -> str:
    """The chain's headline: yield, the students' test scores, E2E accuracy per eval set."""
    lines = []
    if "labels/validated_rate" in metrics:
        lines.append(f"labels: {metrics['labels/validated']}/{metrics['labels/problems']} validated")
    if "segmenter/test/span_f1" in metrics:
        lines.append(f"segmenter: test span F1 {metrics['segmenter/test/span_f1']:.3f}")
    if "classifier/test/acc" in metrics:
        lines.append(f"classifier: test accuracy {metrics['classifier/test/acc']:.3f}")
    for key, value in metrics.items():
        if key.startswith("e2e/") and key.endswith("/accuracy"):
            name = key.split("/")[1]
            n = metrics.get(f"e2e/{name}/problems", 0)
            lines.append(f"E2E accuracy without CoT on {name}: {value:.1%} ({round(value * n)}/{n})")
    return "\n".join(lines)


def write_results(out_dir: Path, cfg: DictConfig, metrics: dict) -> Path:
    """``chain.json``: the job's command-line overrides and its metrics (the results table's row)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        overrides = list(HydraConfig.get().overrides.task)
    except ValueError:  # not under Hydra
        overrides = []
    path = out_dir / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"overrides": overrides, "metrics": metrics}, indent=2, default=float) + "\n")
    return path
