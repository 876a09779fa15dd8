"""Explorer test artifacts: three small problems, written with the real writers, for the explorer tests.

- ``gsm8k-train-0``: trace + validated labels + a correct prediction.
- ``gsm8k-train-1``: trace + labels rejected as ``ungrounded_operand`` + a wrong prediction.
- ``odd <id>&2``: trace + prediction, no labels; its text holds HTML to check escaping.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord
from mycelium.records.predictions import Prediction
from mycelium.records.traces import Trace, TraceStore

TOKEN = re.compile(r" ?[A-Za-z]+| ?\d| ?[^\sA-Za-z\d]|\s+")  # BPE-like: a space joins the next token

PROBLEMS = [
    (
        "gsm8k-train-0",
        "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
        "How many clips did Natalia sell altogether in April and May?",
        "Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.\n#### 72",
        "72",
    ),
    (
        "gsm8k-train-1",
        "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?",
        "Weng earns 12/60 = $0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = $10.\n#### 10",
        "10",
    ),
    ("odd <id>&2", "Tom has <b>3</b> apples & 4 pears. How many fruits?", "Tom has 3+4 = 7 fruits.\n#### 7", "7"),
]


def offsets(text: str) -> np.ndarray:
    return np.array([m.span() for m in TOKEN.finditer(text)], dtype=np.int32).reshape(-1, 2)


def make_trace(pid: str, text: str, cot: str, gold: str, seed: int) -> Trace:
    """A trace whose JSD curve peaks after newlines and '=' and whose attention favours the
    problem tokens that repeat in the CoT token (a stand-in for real IAF)."""
    rng = np.random.default_rng(seed)
    poff, coff = offsets(text), offsets(cot)
    ptok = [text[s:e].strip() for s, e in poff]
    ctok = [cot[s:e] for s, e in coff]
    jsd = 0.05 + 0.03 * rng.random(len(coff))
    for t, tok in enumerate(ctok):
        if t and ("\n" in ctok[t - 1] or tok.strip() == "="):
            jsd[t] += 0.5
    jsd[0] = 0.0
    attn = rng.random((len(coff), len(poff))) * 0.01
    for t, tok in enumerate(ctok):
        for p, q in enumerate(ptok):
            if q and q == tok.strip():
                attn[t, p] += 0.5
    return Trace(
        id=pid,
        text=text,
        cot=cot,
        gold_answer=gold,
        teacher_answer=gold,
        correct=True,
        problem_offsets=poff,
        cot_offsets=coff,
        jsd={"all": jsd.astype(np.float32), "last_third": (jsd[::-1] * 0.5).astype(np.float32)},
        attn={"all": attn.astype(np.float16), "last_third": attn.astype(np.float16)},
        num_tokens=len(poff) + len(coff) + 20,
    )


def _span(haystack: str, needle: str, start: int = 0) -> tuple[int, int]:
    i = haystack.index(needle, start)
    return (i, i + len(needle))


def make_labels() -> list[LabelRecord]:
    (_, t0, c0, _), (_, t1, c1, _), _ = PROBLEMS
    half = _span(t0, "half")
    s0 = [
        Step(
            0,
            "DIV",
            [Arg("number", "48", "48", _span(t0, "48")), Arg("implicit", "2", "half", half)],
            "24",
            "48/2=24",
            _span(c0, "Natalia sold 48/2 = 24 clips in May."),
            _span(t0, "she sold half as many clips in May"),
            [half],
        ),
        Step(
            1,
            "ADD",
            [Arg("number", "48", "48", _span(t0, "48")), Arg("result", "24", step=0)],
            "72",
            "48+24=72",
            _span(c0, "Natalia sold 48+24 = 72 clips altogether"),
            _span(t0, "How many clips did Natalia sell altogether"),
            [_span(t0, "altogether")],
        ),
    ]
    s1 = [
        Step(
            0,
            "DIV",
            [Arg("number", "12", "12", _span(t1, "12")), Arg("implicit", "60", "hour", _span(t1, "hour"))],
            "1/5",
            "12/60=0.2",
            _span(c1, "Weng earns 12/60 = $0.2 per minute."),
            _span(t1, "Weng earns $12 an hour"),
        ),
        Step(
            1,
            "MUL",
            [Arg("result", "1/5", step=0), Arg("number", "50", "50", _span(t1, "50"))],
            "10",
            "0.2*50=10",
            _span(c1, "she earned 0.2 x 50 = $10."),
            _span(t1, "she just did 50 minutes of babysitting"),
        ),
    ]
    return [
        LabelRecord("gsm8k-train-0", t0, "72", s0, "72", True, None, True),
        LabelRecord("gsm8k-train-1", t1, "10", s1, "10", False, "ungrounded_operand", True),
    ]


def make_predictions(labels: list[LabelRecord]) -> list[Prediction]:
    l0, l1 = labels
    t2 = PROBLEMS[2][1]
    return [
        Prediction(
            l0.id, l0.text, "72", [s.region for s in l0.steps], ["DIV", "ADD"], l0.steps, "72", True, latency_s=0.012
        ),
        Prediction(
            l1.id,
            l1.text,
            "10",
            [l1.steps[1].region],
            ["ADD"],
            [Step(0, "ADD", [Arg("number", "12", "12"), Arg("number", "50", "50")], "62")],
            "62",
            False,
            latency_s=0.02,
        ),
        Prediction(
            PROBLEMS[2][0],
            t2,
            "7",
            [_span(t2, "Tom has <b>3</b> apples & 4 pears")],
            ["ADD"],
            [Step(0, "ADD", [Arg("number", "3", "3"), Arg("number", "4", "4")], "7")],
            "7",
            True,
        ),
    ]


@dataclass
class Artifacts:
    traces: Path
    labels: Path
    predictions: Path


def write_artifacts(root: Path) -> Artifacts:
    """Write traces (two shards), labels.jsonl + report.json and predictions.jsonl under ``root``."""
    traces = [make_trace(pid, text, cot, gold, seed) for seed, (pid, text, cot, gold) in enumerate(PROBLEMS)]
    store = TraceStore(root / "traces")
    store.write_shard(traces[:2])
    store.write_shard(traces[2:])
    labels = make_labels()
    (root / "labels").mkdir()
    (root / "labels" / "labels.jsonl").write_text("".join(json.dumps(r.to_dict()) + "\n" for r in labels))
    report = {
        "problems": 2,
        "yield": 0.5,
        "rejection_reasons": {"ungrounded_operand": 1},
        "op_histogram": {"DIV": 1, "ADD": 1},
        "config": {"source": "both"},
    }
    (root / "labels" / "report.json").write_text(json.dumps(report))
    preds = root / "predictions.jsonl"
    preds.write_text("".join(json.dumps(p.to_dict()) + "\n" for p in make_predictions(labels)))
    return Artifacts(root / "traces", root / "labels", preds)
