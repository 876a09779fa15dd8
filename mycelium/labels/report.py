"""The labels stage's report: yield, rejection reasons, op histogram, region sizes."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mycelium.labels.assemble import Diagnostics
from mycelium.labels.checks import total
from mycelium.records.labels import LabelRecord


def _in_region(record: LabelRecord) -> bool:
    """Every number/implicit operand lies inside its own step's region (the strict rule)."""
    return all(
        a.kind == "result" or (s.region is not None and a.span is not None and s.region[0] <= a.span[0] and a.span[1] <= s.region[1])
        for s in record.steps
        for a in s.args
    )


def _has_overlap(record: LabelRecord) -> bool:
    """Two distinct regions overlap (nested or crossing): BIO tags cannot hold both."""
    regions = sorted({s.region for s in record.steps if s.region})
    return any(b[0] < a[1] for a, b in zip(regions, regions[1:]))


def _mean(xs) -> float:
    return float(np.mean(xs)) if len(xs) else 0.0


@dataclass
class LabelReport:
    """Figures of one labels run. ``metrics()`` flattens them for a logger."""

    problems: int = 0
    validated: int = 0
    validated_in_region: int = 0  # validated with every literal operand inside its own op's region
    cot_executes: int = 0  # the CoT's own ops reach gold (before grounding in the problem)
    raw_iaf_validated: int = 0  # validated with raw IAF tokens standing in for clause regions
    reasons: dict[str, int] = field(default_factory=dict)
    ops: dict[str, int] = field(default_factory=dict)  # over validated problems
    overlapping: int = 0  # validated problems whose distinct regions overlap (BIO keeps one)
    pruned_steps: int = 0  # CoT ops dropped because the gold answer does not depend on them
    regions_per_problem: float = 0.0
    tokens_per_region: float = 0.0  # clause-expanded regions, teacher tokens
    tokens_per_raw: float = 0.0  # highlighted tokens per op before expansion
    cot_steps_per_problem: float = 0.0
    jsd_vs_sentence_precision: float = 0.0  # JSD boundaries against the sentence baseline
    jsd_vs_sentence_recall: float = 0.0
    iaf_operand_hit_rate: float = 0.0  # ops whose IAF tokens include one of their operands
    by_group: dict[str, dict[str, float]] = field(default_factory=dict)  # MATH level/type -> yield
    steps: int = 0  # steps of validated problems
    checks: dict[str, int] = field(default_factory=dict)  # mycelium.labels.checks over validated problems
    relation_moves: dict[str, int] = field(default_factory=dict)  # regions each mycelium.labels.relations rule moved (all problems)
    chooser_moves: int = 0  # regions the learned chooser moved (labels.region_chooser; all problems)
    seconds: float = 0.0

    @classmethod
    def build(cls, records: list[LabelRecord], diags: list[Diagnostics], seconds: float) -> "LabelReport":
        ok = [r for r in records if r.validated]
        regions = [len({s.region for s in r.steps if s.region}) for r in ok]
        jsd_p = [d.jsd_precision for d in diags if d.jsd_precision is not None]
        jsd_r = [d.jsd_recall for d in diags if d.jsd_recall is not None]
        groups: dict[str, list[bool]] = {}
        for r in records:
            for key in (f"level={r.level}" if r.level else None, f"type={r.type}" if r.type else None):
                if key:
                    groups.setdefault(key, []).append(r.validated)
        return cls(
            problems=len(records),
            validated=len(ok),
            validated_in_region=sum(_in_region(r) for r in ok),
            cot_executes=sum(r.cot_executes for r in records),
            raw_iaf_validated=sum(d.raw_validated for d in diags),
            reasons=dict(Counter(r.reason.split(":")[0] for r in records if r.reason).most_common()),
            ops=dict(Counter(s.op for r in ok for s in r.steps).most_common()),
            overlapping=sum(_has_overlap(r) for r in ok),
            pruned_steps=sum(d.pruned for d in diags),
            regions_per_problem=_mean(regions),
            tokens_per_region=_mean([t for d in diags for t in d.region_tokens]),
            tokens_per_raw=_mean([t for d in diags for t in d.raw_tokens]),
            cot_steps_per_problem=_mean([d.cot_steps for d in diags if d.cot_steps]),
            jsd_vs_sentence_precision=_mean(jsd_p),
            jsd_vs_sentence_recall=_mean(jsd_r),
            iaf_operand_hit_rate=sum(d.iaf_operand_hits for d in diags) / max(sum(d.iaf_ops for d in diags), 1),
            by_group={k: {"problems": len(v), "validated_rate": float(np.mean(v))} for k, v in sorted(groups.items())},
            steps=sum(len(r.steps) for r in ok),
            checks=total([d.checks for d in diags]),
            relation_moves=dict(sum((Counter(d.relation_moves) for d in diags), Counter())),
            chooser_moves=sum(d.chooser_moves for d in diags),
            seconds=seconds,
        )

    def rate(self, n: int) -> float:
        return n / self.problems if self.problems else 0.0

    def metrics(self) -> dict[str, float]:
        """Flat scalar metrics (``labels/<name>`` when logged)."""
        m = {
            "problems": self.problems,
            "validated": self.validated,
            "validated_rate": self.rate(self.validated),
            "validated_in_region_rate": self.rate(self.validated_in_region),
            "cot_executes_rate": self.rate(self.cot_executes),
            "raw_iaf_validated_rate": self.rate(self.raw_iaf_validated),
            "pruned_steps": self.pruned_steps,
            "chooser_moves": self.chooser_moves,
            "overlapping_rate": self.overlapping / self.validated if self.validated else 0.0,
            "regions_per_problem": self.regions_per_problem,
            "tokens_per_region": self.tokens_per_region,
            "tokens_per_raw": self.tokens_per_raw,
            "cot_steps_per_problem": self.cot_steps_per_problem,
            "jsd_vs_sentence_precision": self.jsd_vs_sentence_precision,
            "jsd_vs_sentence_recall": self.jsd_vs_sentence_recall,
            "iaf_operand_hit_rate": self.iaf_operand_hit_rate,
            "seconds": self.seconds,
        }
        m |= {f"reason/{k}": self.rate(v) for k, v in self.reasons.items()}
        per = {"final_in_question": max(self.validated, 1)}  # problems; the other checks count steps
        m |= {f"check/{k}": v / per.get(k, max(self.steps, 1)) for k, v in self.checks.items()}
        return m

    def format(self) -> str:
        """A plain-text summary for the console."""
        lines = [
            f"problems {self.problems}  validated {self.validated} ({self.rate(self.validated):.1%};"
            f" all operands in their own region {self.rate(self.validated_in_region):.1%})"
            f"  CoT ops reach gold {self.rate(self.cot_executes):.1%}"
            f"  raw-IAF regions validated {self.rate(self.raw_iaf_validated):.1%}",
            "rejected: " + (", ".join(f"{k} {v}" for k, v in self.reasons.items()) or "none"),
            "ops (validated): " + (", ".join(f"{k} {v}" for k, v in self.ops.items()) or "none")
            + f"; {self.pruned_steps} CoT ops pruned (the answer does not depend on them)",
            f"regions/problem {self.regions_per_problem:.2f} ({self.overlapping} validated problems with"
            f" overlapping regions)  tokens/region {self.tokens_per_region:.1f}"
            f"  (raw highlighted tokens/op {self.tokens_per_raw:.1f})",
            f"CoT steps/problem {self.cot_steps_per_problem:.1f}  JSD vs sentence boundaries"
            f" P {self.jsd_vs_sentence_precision:.2f} R {self.jsd_vs_sentence_recall:.2f}"
            f"  IAF operand hit rate {self.iaf_operand_hit_rate:.2f}",
        ]
        if self.checks:
            lines.append(f"checks over {self.steps} validated steps: " + ", ".join(
                f"{k} {v}" for k, v in self.checks.items() if k != "final_in_question")
                + f"; final step's region in the question: {self.checks.get('final_in_question', 0)} of {self.validated} problems")
        for k, v in self.by_group.items():
            lines.append(f"  {k}: {v['validated_rate']:.1%} of {v['problems']}")
        lines.append(f"{self.seconds:.1f} s")
        return "\n".join(lines)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    def log_tables(self, logger) -> None:
        """Histograms as W&B tables when the logger is W&B; other loggers get the scalars only."""
        experiment = getattr(logger, "experiment", None)
        if experiment is None or not hasattr(experiment, "log") or not hasattr(logger, "log_table"):
            return
        logger.log_table("labels/reasons", columns=["reason", "count"], data=[[k, v] for k, v in self.reasons.items()])
        logger.log_table("labels/ops", columns=["op", "count"], data=[[k, v] for k, v in self.ops.items()])
