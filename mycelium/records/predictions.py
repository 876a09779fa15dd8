"""The predictions artifact: what the no-CoT solver did on one problem.

Written as JSON lines (one ``Prediction`` per line) by ``evaluate.py``; read by reports and
the trace explorer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from mycelium.dag.steps import Step
from mycelium.records.labels import LabelRecord


@dataclass
class Prediction:
    """The solver's answer for one problem, with everything needed to explain it."""

    id: str
    text: str
    gold_answer: str
    spans: list[tuple[int, int]]  # segmenter's char spans in ``text``
    ops: list[str]  # classifier's op per span
    steps: list[Step]  # the DAG the solver built and executed (args wired, values filled)
    answer: str | None  # None when there is no answer; ``reason`` says why
    correct: bool
    reason: str | None = None  # "no_spans", "no_numbers", "execution_error:DIV_BY_ZERO", ...
    latency_s: float = 0.0
    extra: dict = field(default_factory=dict)  # e.g. level/type for MATH

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Prediction":
        """Inverse of ``to_dict`` (spans and step spans come back as tuples)."""
        d = dict(d)
        # steps share LabelRecord's Step schema: reuse its decoding
        steps = LabelRecord.from_dict({"id": "", "text": "", "gold_answer": "", "steps": d.pop("steps", []),
                                       "answer": None, "validated": False}).steps
        spans = [(int(a), int(b)) for a, b in d.pop("spans", [])]
        return cls(spans=spans, steps=steps, **d)
