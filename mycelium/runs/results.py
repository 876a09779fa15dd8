"""A sweep's results as one markdown table: one row per job, from each job's ``chain.json``.

    python -m mycelium.runs.results multirun/ablate_label_source/2026-11-25_22-30-00
    python -m mycelium.runs.results <dir> --metrics labels/validated_rate e2e/gsm8k-test/accuracy

Columns: the overrides that differ between the jobs (the swept knobs), then the metrics. The
default metrics depend on the sweep's ``experiment=`` (``DEFAULT_METRICS``); overrides every
job shares are printed above the table. ``time/total_s`` is the sum of a job's stage times.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mycelium.errors import UserError
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


def load_jobs(sweep_dir: str | Path) -> list[dict]:
    """Every ``chain.json`` under ``sweep_dir``, in job order (Hydra's numbered subdirs).

    Each job is ``{"dir", "overrides", "metrics"}``, with ``time/total_s`` added to its metrics.
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
        jobs.append({"dir": str(path.parent.relative_to(root)), "overrides": list(data.get("overrides", [])),
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


def main(argv: list[str] | None = None) -> int:
    """CLI: print the markdown table of a multirun dir; exit status 2 with one line on a user error."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep_dir", help="a multirun dir (e.g. multirun/ablate_label_source/<time>) or one job's run dir")
    parser.add_argument("--metrics", nargs="+", help="metric keys of chain.json (default: chosen per experiment)")
    args = parser.parse_args(argv)
    try:
        print(table(load_jobs(args.sweep_dir), args.metrics))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
