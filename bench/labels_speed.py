"""Relabelling speed: phases 2-5 over cached traces (no teacher), by part.

    python bench/labels_speed.py --traces artifacts/traces/gsm8k-train/smollm2_135m-dataset --limit 1000

Goal: 1,000 problems in <= 10 s on the 2-core CPU machine (issue "Labels a careful reader
agrees with"; issue 3 asked <= 30 s). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import time

from omegaconf import OmegaConf

from mycelium.labels.assemble import LabelSettings
from mycelium.labels.clauses import load_spacy, parse
from mycelium.labels.stage import label_all
from mycelium.records.traces import load_traces


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traces", default="artifacts/traces/gsm8k-train/smollm2_135m-dataset")
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--parse-cache", default=None, help="spaCy doc cache dir, as the labels stage uses "
                    "(<traces>/.parse-cache): a second run reads the parses instead of parsing")
    ap.add_argument("--workers", type=int, default=None, help="labelling processes (the stage's labels.workers); "
                    "default: one per CPU core")
    args = ap.parse_args()

    settings = LabelSettings.from_config(OmegaConf.load("conf/signals/default.yaml"), OmegaConf.load("conf/labels/default.yaml"))
    times: dict[str, float] = {}
    t = time.perf_counter()
    traces = load_traces(args.traces)[: args.limit]
    if not traces:
        raise SystemExit(f"no traces in {args.traces}: pass --traces <dir> (from `python extract.py stage=teacher ...`)")
    times["read traces"] = time.perf_counter() - t
    t = time.perf_counter()
    nlp = load_spacy(settings.spacy_model)
    times["load spaCy"] = time.perf_counter() - t
    t = time.perf_counter()
    parsed = parse([tr.text for tr in traces], nlp, settings.clauses, cache=args.parse_cache)
    times["parse (spaCy + clauses)"] = time.perf_counter() - t
    t = time.perf_counter()
    validated = sum(record.validated for record, _ in label_all(traces, parsed, settings, args.workers))
    times[f"assemble (JSD, IAF, regions, args, DAG; {args.workers or 'all'} workers)"] = time.perf_counter() - t
    total = sum(times.values())

    print(f"{len(traces)} traces, {validated} validated\n")
    print("| part | seconds | share |\n|---|---:|---:|")
    for name, s in times.items():
        print(f"| {name} | {s:.2f} | {s / total:.0%} |")
    print(f"| **total** | **{total:.2f}** | goal <= 10 s per 1,000 ({total / len(traces) * 1000:.1f} s per 1,000) |")


if __name__ == "__main__":
    main()
