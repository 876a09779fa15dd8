"""How a loop round's solved problems fare under each region rule (``loop.regions``).

    python bench/loop_regions.py outputs/loops/self_improve_gsm8k/round_001/solve/predictions.jsonl \\
        --out /tmp/regions      # writes <out>/<rule>/labels.jsonl: the admitted records, for an audit

A DAG the wiring student solved from the text alone has no regions: the loop gives them
either by the labels stage's own rules less the teacher's attention (``text``: operands, cue
words, the relation detector; ``mycelium.labels.highlights.text_regions``) or by its
operands' clauses (``operands``, the rule before session 11). Each solved prediction is
re-admitted under both, as the loop admits it (the labels' ``reject_checks`` plus
``equals_result``, ``loop.admit=solution``), with the default labels settings. Prints a
markdown table: admitted, rejections by reason, and how many admitted problems' regions
differ between the rules.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

from hydra import compose, initialize_config_dir

from mycelium.config import register_resolvers
from mycelium.data.problems import load_problems
from mycelium.labels.assemble import LabelSettings
from mycelium.labels.clauses import load_spacy, parse
from mycelium.labels.stage import write_records
from mycelium.loop.selection import REGIONS, record_from_prediction
from mycelium.records.predictions import Prediction

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("predictions", help="a loop round's solve/predictions.jsonl (GSM8K train problems)")
    ap.add_argument("--out", default=None, help="write each rule's admitted records to <out>/<rule>/labels.jsonl")
    ap.add_argument("--data-dir", default=os.environ.get("MYCELIUM_DATA_DIR") or "../shared/data")
    args = ap.parse_args()
    register_resolvers()
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        cfg = compose(config_name="train")
    settings = LabelSettings.from_config(cfg.signals, cfg.labels)
    preds = [Prediction.from_dict(json.loads(line)) for line in Path(args.predictions).read_text().splitlines()]
    solved = [p for p in preds if p.correct]
    solutions = {p.id: p.solution for p in load_problems("gsm8k", "train", data_dir=args.data_dir)}
    if any(p.id not in solutions for p in solved):
        raise SystemExit("the predictions are not of GSM8K train problems")
    parsed = parse([p.text for p in solved], load_spacy(settings.spacy_model), settings.clauses)
    checks = (*settings.reject_checks, "equals_result")
    records = {rule: [record_from_prediction(p, x, checks, solutions[p.id], regions=rule, relations=settings.relations,
                                             unshare=settings.unshare_regions) for p, x in zip(solved, parsed)]
               for rule in REGIONS}
    print(f"{len(solved)} of {len(preds)} predictions solved\n")
    reasons = sorted({r.reason for rs in records.values() for r in rs if not r.validated})
    print("| loop.regions | admitted | " + " | ".join(f"rejected: {x}" for x in reasons) + " |")
    print("|---|---:|" + "---:|" * len(reasons))
    for rule, rs in records.items():
        counts = Counter(r.reason for r in rs if not r.validated)
        print(f"| {rule} | {sum(r.validated for r in rs)} | " + " | ".join(str(counts[x]) for x in reasons) + " |")
    both = [(a, b) for a, b in zip(records["text"], records["operands"]) if a.validated and b.validated]
    differ = sum([s.region for s in a.steps] != [s.region for s in b.steps] for a, b in both)
    print(f"\nadmitted by both: {len(both)}; their regions differ in {differ}")
    if args.out:
        for rule, rs in records.items():
            write_records(Path(args.out) / rule / "labels.jsonl", [r for r in rs if r.validated])
            print(f"wrote {Path(args.out) / rule / 'labels.jsonl'}")


if __name__ == "__main__":
    main()
