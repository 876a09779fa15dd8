"""The no-CoT solver on a problem set, optionally beside the teacher with CoT.

    python evaluate.py data=gsm8k split=test students=artifacts/students/gsm8k limit=100
    python evaluate.py ... baseline=true labels_dir=<labels dir> logger=wandb report=html

Writes predictions.jsonl and report.json (and baseline.jsonl / baseline.json) in the run dir.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig

from mycelium.config import register_resolvers
from mycelium.entry import run_job
from mycelium.errors import UserError

register_resolvers()

log = logging.getLogger("evaluate")

TABLE_COLUMNS = ["id", "text", "gold", "answer", "correct", "reason", "spans", "ops", "gold_steps", "latency_ms"]


def log_predictions_table(loggers: list, predictions: list) -> None:
    """One row per problem, for loggers that take tables (W&B)."""
    rows = [[p.id, p.text, p.gold_answer, p.answer, p.correct, p.reason, len(p.spans), " ".join(p.ops),
             p.extra.get("gold_steps"), round(p.latency_s * 1000, 2)] for p in predictions]
    for lg in loggers:
        if hasattr(lg, "log_table"):
            lg.log_table("eval/predictions", columns=TABLE_COLUMNS, data=rows)


def run(cfg: DictConfig, loggers: list) -> dict:
    from mycelium.config import find_labels_dir
    from mycelium.data.problems import load_problems
    from mycelium.data.splits import held_out
    from mycelium.models.export import check_split
    from mycelium.solver.solver import wiring_exports
    from mycelium.runs.evaluate import evaluate, load_labels, teacher_baseline

    out_dir = Path(cfg.paths.output_dir)
    if cfg.report not in (None, "html"):
        raise UserError(f"report={cfg.report!r}: choose html or null")
    labels_dir = find_labels_dir(cfg.labels_dir) if cfg.labels_dir else None  # old "limit=300" names too
    if labels_dir and not labels_dir.exists():
        raise UserError(f"labels_dir={cfg.labels_dir} does not exist; point it at a dir holding labels.jsonl or drop it")
    if cfg.holdout is None:
        problems = load_problems(cfg.data.name, cfg.split, cfg.data.dir, limit=cfg.limit)
    else:
        keep = [cfg.holdout] if isinstance(cfg.holdout, str) else cfg.holdout
        if not isinstance(keep, (list, ListConfig)) or not isinstance(cfg.holdout_splits, DictConfig):
            raise UserError(f"holdout={cfg.holdout} holdout_splits={cfg.holdout_splits}: give split names, e.g. "
                            "holdout=[val,test], and holdout_splits as the students' datamodule.splits")
        if cfg.data.name == "mawps_cv":  # its students split by fold first (data=mawps_cv split=fold<k>)
            raise UserError("holdout= does not apply to data=mawps_cv: evaluate a fold's students on split=fold<k>")
        keep, fractions = list(keep), dict(cfg.holdout_splits)
        held_out([], keep, fractions, allow_empty=True)  # bad names fail before loading
        students = Path(cfg.solver.get("path") or cfg.students)
        text_alone = not cfg.solver.get("deductive_spans", True) and (students / "wiring").is_dir()
        loaded = ["wiring"] if text_alone else None  # the text-alone solver loads the wiring student only
        # every student the solver loads, the ensemble's too (an export dir or a students dir holding wiring/)
        dirs = [(students, loaded)] + [(d.parent, [d.name]) for d in wiring_exports(cfg.solver.get("ensemble"))]
        unchecked = [sub for d, names in dirs if d.is_dir()
                     for sub in check_split(d, fractions, cfg.holdout_salt, names)]
        for sub in unchecked:
            log.warning("%s records no training split (exported before exports did): holdout= trusts "
                        "holdout_splits=%s holdout_salt=%r to be the split it was trained with", sub, fractions,
                        cfg.holdout_salt)
        problems = held_out(load_problems(cfg.data.name, cfg.split, cfg.data.dir), keep, fractions,
                            cfg.holdout_salt)[: cfg.limit]
    solver = instantiate(cfg.solver)
    labels = load_labels(labels_dir) if labels_dir else None
    report = evaluate(problems, solver, labels=labels, out_dir=out_dir, batch_size=cfg.batch_size)
    log.info("solver on %d %s-%s problems (predictions in %s)\n%s", len(problems), cfg.data.name, cfg.split, out_dir, report.format())
    metrics = report.metrics()
    log_predictions_table(loggers, report.predictions)

    if cfg.baseline:
        model, tokenizer = instantiate(cfg.teacher.model)
        base = teacher_baseline(problems, model, tokenizer, batch_size=cfg.baseline_batch_size,
                                max_new_tokens=cfg.baseline_max_new_tokens, system_prompt=cfg.teacher.system_prompt,
                                out_dir=out_dir)
        metrics |= base.metrics()
        speedup = metrics["eval/problems_per_s"] / metrics["baseline/problems_per_s"] if metrics["baseline/problems_per_s"] else 0.0
        metrics["eval/speedup_vs_teacher"] = speedup
        log.info("teacher %s with CoT: accuracy %.3f (%d/%d), p50 %.2f s; solver %.1fx faster",
                 cfg.teacher.name, base.accuracy, base.correct, base.n, base.latency_p50_s, speedup)

    if cfg.report == "html":
        from mycelium.explorer.site import build_site

        index = build_site(out_dir / "explorer", traces_dir=cfg.traces_dir, labels_dir=labels_dir,
                           predictions_path=out_dir / "predictions.jsonl")
        log.info("explorer: %s", index)
    for lg in loggers:
        lg.log_metrics(metrics)
    return metrics


@hydra.main(config_path="conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    return run_job(cfg, run)


if __name__ == "__main__":
    main()
