"""The labels artifact: what phases 2-5 conclude about one problem.

Written as JSON lines (one ``LabelRecord`` per line) by ``mycelium.labels.stage``; read by
the students' DataModules, the solver's evaluation and the trace explorer.
Numbers are exact rationals written as strings (``"24"``, ``"7/2"``) so nothing is lost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from mycelium.dag.steps import Arg, Step


@dataclass
class LabelRecord:
    """A problem's labels. ``validated`` is the only gate the students train on."""

    id: str
    text: str
    gold_answer: str
    steps: list[Step]
    answer: str | None  # value of the DAG's output node
    validated: bool  # the DAG built only from grounded labels executes to gold
    reason: str | None = None  # rejection reason code when not validated
    cot_executes: bool = False  # the CoT's own ops (ungrounded) execute to gold
    level: str | None = None
    type: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LabelRecord":
        """Inverse of ``to_dict`` (JSON turns tuples into lists; they come back as tuples)."""
        d = dict(d)
        steps = [
            Step(
                **{k: v for k, v in s.items() if k not in ("args", "cot_span", "region", "iaf_spans")},
                args=[Arg(**{**a, "span": _span(a.get("span"))}) for a in s["args"]],
                cot_span=_span(s.get("cot_span")),
                region=_span(s.get("region")),
                iaf_spans=[_span(x) for x in s.get("iaf_spans", [])],
            )
            for s in d.pop("steps")
        ]
        return cls(steps=steps, **d)


def _span(x) -> tuple[int, int] | None:
    return (int(x[0]), int(x[1])) if x is not None else None
