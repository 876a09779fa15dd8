"""A sweep's results as one markdown table: one row per job, from each job's ``chain.json``.

    python -m mycelium.runs.results multirun/ablate_label_source/2026-11-25_22-30-00
    python -m mycelium.runs.results <dir> --metrics labels/validated_rate e2e/gsm8k-test/accuracy

Columns: the overrides that differ between the jobs (the swept knobs), then the metrics. The
default metrics depend on the sweep's ``experiment=`` (``DEFAULT_METRICS``); overrides every
job shares are printed above the table. ``time/total_s`` is the sum of a job's stage times.

A cross-validation sweep (every job evaluated on one ``...fold<k>`` set, e.g.
``experiment=mawps_cv``) gets its own report instead (``cv_report``): per-fold and mean
accuracy beside the published rows, wall time per fold, label yield per fold, and the wrong
answers on labelled test problems pooled over the folds: by first failing stage
(segmentation / op / wiring) for the segmenter-classifier solvers, and, for a solver that is
the wiring student reading the text alone (``solver.deductive_spans=false``), by the first
difference of its DAG from the label's (``mycelium.runs.attribution``), per fold and pooled.
That attribution is read from the job's metrics, or computed post hoc from the job's
``eval/<set>/predictions.jsonl`` and ``eval/<set>/labels`` (a sweep run before it existed);
``--labels <dir>`` attributes against another labels dir (one covering every fold's
problems) where a job has no test labels (``chain.eval.labels=false``):

    python -m mycelium.runs.results multirun/mawps_cv/<time> \
        --labels artifacts/labels/mawps_cv-all/smollm2_135m-dataset/default
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

from mycelium.errors import UserError
from mycelium.runs.attribution import CATEGORIES, attribute_dir
from mycelium.runs.chain import RESULTS_FILE

LABELS = ["labels/validated_rate", "labels/validated_in_region_rate"]
STUDENTS = ["segmenter/test/span_f1", "classifier/test/acc"]
E2E = ["e2e/gsm8k-test/accuracy", "e2e/mawps-test/accuracy"]
TOTAL_TIME = "time/total_s"
# What each ablation asks (conf/experiment/ablate_*.yaml); other sweeps get GENERIC_METRICS.
DEFAULT_METRICS: dict[str, list[str]] = {
    "ablate_label_source": [*LABELS, *STUDENTS, *E2E, TOTAL_TIME],
    "ablate_cot_steps": [*LABELS, "labels/cot_steps_per_problem", *STUDENTS, *E2E, TOTAL_TIME],
    "ablate_regions": ["labels/validated_rate", "segmenter/test/span_f1", "segmenter/test/span_precision",
                       "segmenter/test/span_recall", "segmenter/test/token_acc", TOTAL_TIME],
    "ablate_segmenter_attention": ["segmenter/test/span_f1", "segmenter/test/span_precision",
                                   "segmenter/test/span_recall", "classifier/test/acc", *E2E, TOTAL_TIME],
    "ablate_iaf_layers": ["labels/validated_rate", "labels/validated_in_region_rate",
                          "labels/iaf_operand_hit_rate", "labels/raw_iaf_validated_rate", TOTAL_TIME],
}
GENERIC_METRICS = [*LABELS, *STUDENTS, *E2E, TOTAL_TIME]


# Published five-fold accuracies (%) of encoder solvers <= 125M parameters: (solver, encoder,
# accuracy). The papers' numbers (ARCHITECTURE.md "Published anchors"), not re-measured here.
PUBLISHED: dict[str, list[tuple[str, str, float]]] = {
    "mawps_cv": [
        ("GTS", "RoBERTa-base", 88.5),
        ("Graph2Tree", "RoBERTa-base", 88.7),
        ("DeductReasoner (Jie et al. 2022)", "RoBERTa-base", 92.0),
        ("MsAT-DeductReasoner (Wang & Lu 2023)", "RoBERTa-base", 94.3),
    ],
}
_FOLD_SET = re.compile(r"^e2e/(?P<set>(?P<data>.+)-fold(?P<fold>\d+))/accuracy$")
STAGES = ("segmentation", "op", "wiring")


def load_jobs(sweep_dir: str | Path) -> list[dict]:
    """Every ``chain.json`` under ``sweep_dir``, in job order (Hydra's numbered subdirs).

    Each job is ``{"dir", "path", "overrides", "metrics"}`` (``dir`` relative to ``sweep_dir``,
    ``path`` the run dir itself), with ``time/total_s`` added to its metrics.
    Raises ``UserError`` when the directory is missing or holds no ``chain.json``.
    """
    root = Path(sweep_dir)
    if not root.is_dir():
        raise UserError(f"{root} is not a directory: pass a multirun dir such as multirun/ablate_label_source/<time>")
    paths = sorted(root.rglob(RESULTS_FILE), key=lambda p: _job_key(p.parent.relative_to(root)))
    if not paths:
        raise UserError(f"no {RESULTS_FILE} under {root}: its jobs have not finished (or it is not a "
                        "`python train.py -m experiment=... ` / `chain=full` sweep dir)")
    jobs = []
    for path in paths:
        data = json.loads(path.read_text())
        metrics = dict(data.get("metrics", {}))
        times = [v for k, v in metrics.items() if k.startswith("time/") and k.endswith("_s")]
        metrics.setdefault(TOTAL_TIME, round(sum(times), 1))
        jobs.append({"dir": str(path.parent.relative_to(root)), "path": str(path.parent), "overrides": list(data.get("overrides", [])),
                     "metrics": metrics})
    return jobs


def _job_key(rel: Path) -> tuple:
    # "10" after "9": numeric parts compare as numbers
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in rel.parts)


def split_overrides(jobs: list[dict]) -> tuple[list[str], dict[str, str]]:
    """``(swept keys, shared overrides)``: keys whose value differs between jobs (or that some
    jobs lack), in first-seen order, and the ``key=value`` every job has."""
    values = [dict(_key_value(o) for o in job["overrides"]) for job in jobs]
    keys = list(dict.fromkeys(k for v in values for k in v))
    swept = [k for k in keys if len({v.get(k) for v in values}) > 1]
    shared = {k: values[0][k] for k in keys if k not in swept}
    return swept, shared


def _key_value(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key, value


def experiment_of(jobs: list[dict]) -> str | None:
    """The ``experiment=`` the sweep ran (None when the jobs name none, or several)."""
    names = {dict(_key_value(o) for o in job["overrides"]).get("experiment") for job in jobs}
    return names.pop() if len(names) == 1 else None


def format_value(value, metric: str = "") -> str:
    """A table cell: integers as they are, seconds (``time/...``) and large numbers to 1
    decimal, rates to 3, a missing metric as –."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 100 or metric.startswith("time/") else f"{value:.3f}"
    return str(value)


def table(jobs: list[dict], metrics: list[str] | None = None) -> str:
    """The markdown table of ``jobs``: the shared overrides, then rows of swept values and metrics."""
    if metrics is None:
        metrics = DEFAULT_METRICS.get(experiment_of(jobs) or "", GENERIC_METRICS)
    swept, shared = split_overrides(jobs)
    columns = ["job", *swept, *metrics]
    lines = []
    if shared:
        lines += ["shared overrides: " + " ".join(f"`{k}={v}`" for k, v in shared.items()), ""]
    lines += ["| " + " | ".join(columns) + " |", "|" + "|".join(["---"] * (1 + len(swept)) + ["---:"] * len(metrics)) + "|"]
    for job in jobs:
        values = dict(_key_value(o) for o in job["overrides"])
        cells = [job["dir"], *(values.get(k, "–") for k in swept), *(format_value(job["metrics"].get(m), m) for m in metrics)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fold_of(job: dict) -> tuple[int, str, str] | None:
    """``(fold, eval set, dataset)`` of a cross-validation job, from its one ``e2e/<data>-fold<k>``
    accuracy ("e2e/mawps_cv-fold3/accuracy" -> (3, "mawps_cv-fold3", "mawps_cv")); None otherwise."""
    hits = [m for key in job["metrics"] if (m := _FOLD_SET.match(key))]
    if len(hits) != 1:
        return None
    m = hits[0]
    return int(m["fold"]), m["set"], m["data"]


def is_cv(jobs: list[dict]) -> bool:
    """True when every job was evaluated on exactly one fold of the same dataset."""
    folds = [fold_of(job) for job in jobs]
    return bool(jobs) and all(folds) and len({f[2] for f in folds}) == 1


def _mean(xs: list) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.mean(xs) if xs else None


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def text_alone(job: dict, eval_set: str) -> bool:
    """Whether the job's solver was the wiring student reading the text alone: its
    ``e2e/<set>/text_alone`` metric, else (a job run before that metric) its Hydra config's
    ``chain.solver.deductive_spans`` is false and the chain trained or had a wiring student."""
    flag = job["metrics"].get(f"e2e/{eval_set}/text_alone")
    if flag is not None:
        return bool(flag)
    config = Path(job.get("path", "")) / ".hydra" / "config.yaml"
    if not job.get("path") or not config.is_file():
        return False
    from omegaconf import OmegaConf

    chain = OmegaConf.load(config).get("chain", {})
    return chain.get("solver", {}).get("deductive_spans") is False and any(
        k.startswith("wiring/") for k in job["metrics"])


def dag_errors(job: dict, eval_set: str, labels_dir: str | Path | None = None) -> tuple[dict[str, int] | None, str]:
    """A text-alone job's wrong answers on ``eval_set`` by ``mycelium.runs.attribution``
    category, and where they come from: ``"metrics"`` (its chain.json), ``"post hoc"`` (its
    predictions against its test labels), ``"--labels"`` (against ``labels_dir``, when it has
    no test labels), or ``(None, why not)``."""
    e = f"e2e/{eval_set}/dag_errors_"
    if any(k.startswith(e) for k in job["metrics"]):
        return {c: int(job["metrics"].get(e + c, 0)) for c in CATEGORIES}, "metrics"
    set_dir = Path(job.get("path", "")) / "eval" / eval_set
    if (set_dir / "predictions.jsonl").is_file():
        counts = attribute_dir(set_dir)
        if counts is not None:
            return counts, "post hoc"
        if labels_dir is not None:
            return attribute_dir(set_dir, labels_dir), "--labels"
    if not job["metrics"].get(f"e2e/{eval_set}/labelled"):
        return None, "no test labels (chain.eval.labels=false; --labels <dir> attributes post hoc)"
    return None, f"no {set_dir.relative_to(set_dir.parents[2])}/predictions.jsonl to attribute post hoc"


def cv_report(jobs: list[dict], labels_dir: str | Path | None = None) -> str:
    """The markdown report of a cross-validation sweep (see the module docstring).

    Per fold: train labels validated / traced (the students' data), the students' val scores,
    test problems, correct, accuracy, test problems with validated labels, wall time (the sum
    of the job's stage times). Then the mean over folds (and the pooled accuracy), the
    published rows beside it, and the wrong answers on labelled test problems by first failing
    stage, summed over folds, for the jobs whose solver reads the segmenter and classifier;
    for the text-alone jobs (``text_alone``), their wrong answers by first difference from the
    label's DAG (``dag_errors``; ``labels_dir`` for jobs without test labels), per fold and
    pooled. Raises ``UserError`` when ``jobs`` is not a CV sweep.
    """
    if not is_cv(jobs):
        raise UserError("not a cross-validation sweep: each job needs one e2e/<data>-fold<k>/accuracy metric")
    ordered = sorted(jobs, key=lambda j: fold_of(j)[0])
    rows = [(fold_of(j), j["metrics"]) for j in ordered]
    data = rows[0][0][2]
    # other eval sets beside the fold (transfer: MAWPS-trained students on GSM8K test)
    others = list(dict.fromkeys(k.split("/")[1] for _, m in rows for k in m
                                if k.startswith("e2e/") and k.endswith("/accuracy") and not _FOLD_SET.match(k)))
    _, shared = split_overrides(jobs)
    lines = []
    if shared:
        lines += ["shared overrides: " + " ".join(f"`{k}={v}`" for k, v in shared.items()), ""]
    lines += ["| fold | train labels (validated / traced) | segmenter val span F1 | classifier val acc | "
              "test problems | correct | accuracy % | test labelled | wall time (min) |"
              + "".join(f" {o} accuracy % |" for o in others),
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(others)]
    accs, n_all, correct_all = [], 0, 0
    errors = dict.fromkeys(STAGES, 0)
    labelled = stage_labelled = wrong_labelled = 0  # test labelled: all jobs; with stages
    dag_rows = []
    for job, ((fold, name, _), m) in zip(ordered, rows):
        e = f"e2e/{name}/"
        n, acc = int(m.get(e + "problems", 0)), m[e + "accuracy"]
        correct = int(m.get(e + "correct", round(acc * n)))
        accs.append(acc)
        n_all, correct_all = n_all + n, correct_all + correct
        train = (f"{m['labels/validated']} / {m['labels/problems']} ({_pct(m.get('labels/validated_rate'))}%)"
                 if "labels/validated" in m else "–")
        lab = m.get(e + "labelled")
        if lab is not None:
            labelled += int(lab)
        if text_alone(job, name):  # the stages do not apply: the DAG's first difference does
            dag_rows.append((fold, n - correct, *dag_errors(job, name, labels_dir)))
        elif lab is not None:
            stage_labelled += int(lab)
            wrong = [int(m.get(f"{e}errors_{s}", 0)) for s in STAGES]
            wrong_labelled += sum(wrong)
            for stage, count in zip(STAGES, wrong):
                errors[stage] += count
        lines.append(f"| {fold} | {train} | {format_value(m.get('segmenter/val/span_f1'))} | "
                     f"{format_value(m.get('classifier/val/acc'))} | {n} | {correct} | {_pct(acc)} | "
                     f"{'–' if lab is None else int(lab)} | {m.get(TOTAL_TIME, 0) / 60:.1f} |"
                     + "".join(f" {_pct(m.get(f'e2e/{o}/accuracy'))} |" for o in others))
    sd = f" ± {100 * statistics.stdev(accs):.1f}" if len(accs) > 1 else ""
    minutes = sum(m.get(TOTAL_TIME, 0) for _, m in rows) / 60
    lines.append(f"| mean of {len(rows)} | | | | {n_all} | {correct_all} | {_pct(statistics.mean(accs))}{sd} "
                 f"(pooled {_pct(correct_all / n_all if n_all else None)}) | {labelled} | {minutes:.1f} in all |"
                 + "".join(f" {_pct(_mean([m.get(f'e2e/{o}/accuracy') for _, m in rows]))} |" for o in others))
    lines += ["", f"| solver (encoder) | {data} five-fold accuracy % |", "|---|---:|"]
    for solver, encoder, acc in PUBLISHED.get(data, []):
        lines.append(f"| {solver} ({encoder}), published | {acc:.1f} |")
    folds = ", ".join(str(f[0]) for f, _ in rows)
    lines.append(f"| Mycelium, this sweep (folds {folds}) | {_pct(statistics.mean(accs))} |")
    if dag_rows:
        lines += ["", "wrong answers of the wiring student from the text alone, by first difference of its DAG "
                      "from the test label's (mycelium/runs/attribution.py):", "",
                  "| fold | wrong | " + " | ".join(CATEGORIES) + " | source |",
                  "|---|---:|" + "---:|" * len(CATEGORIES) + "---|"]
        pooled, pooled_folds = dict.fromkeys(CATEGORIES, 0), []
        for fold, wrong, counts, source in dag_rows:
            if counts is None:
                lines.append(f"| {fold} | {wrong} |" + " – |" * len(CATEGORIES) + f" {source} |")
                continue
            pooled_folds.append((fold, wrong))
            for c in CATEGORIES:
                pooled[c] += counts[c]
            lines.append(f"| {fold} | {wrong} | " + " | ".join(str(counts[c]) for c in CATEGORIES) + f" | {source} |")
        if pooled_folds:
            total = sum(w for _, w in pooled_folds)
            lines.append(f"| pooled (folds {', '.join(str(f) for f, _ in pooled_folds)}) | {total} | "
                         + " | ".join(f"{pooled[c]} ({pooled[c] / total:.0%})" if total else "0" for c in CATEGORIES)
                         + " | |")
        else:
            lines.append("| pooled | | " + " | ".join("–" for _ in CATEGORIES) + " | no fold has test labels |")
    if stage_labelled:
        parts = ", ".join(f"{s} {c} ({c / wrong_labelled:.0%})" if wrong_labelled else f"{s} {c}"
                          for s, c in errors.items())
        lines += ["", f"wrong answers on labelled test problems, by first failing stage (pooled over "
                      f"{len(rows) - len(dag_rows)} folds, {wrong_labelled} wrong of {stage_labelled} labelled): {parts}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI: print the markdown table of a multirun dir; exit status 2 with one line on a user error."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep_dir", help="a multirun dir (e.g. multirun/ablate_label_source/<time>) or one job's run dir")
    parser.add_argument("--metrics", nargs="+", help="metric keys of chain.json (default: chosen per experiment)")
    parser.add_argument("--labels", help="CV sweeps: a labels dir covering the test folds' problems, to attribute "
                                         "the wrong answers of jobs run without test labels (chain.eval.labels=false)")
    args = parser.parse_args(argv)
    try:
        if args.labels is not None and not Path(args.labels).exists():
            raise UserError(f"--labels {args.labels}: no such labels dir")
        jobs = load_jobs(args.sweep_dir)
        print(cv_report(jobs, args.labels) if is_cv(jobs) and not args.metrics else table(jobs, args.metrics))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
