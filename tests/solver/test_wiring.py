"""The DAG builder on hand-written spans and ops, and its accuracy measure on labels."""

from __future__ import annotations

from fractions import Fraction

import pytest

from mycelium.dag.graph import ExecutionError, Reason, dag_from_steps, execute_all
from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord
from mycelium.solver.wiring import STRATEGIES, gold_spans, missing_operands, wire, wired_answer, wiring_accuracy


def span(text: str, clause: str) -> tuple[int, int]:
    start = text.index(clause)
    return start, start + len(clause)


NATALIA = "Natalia sold 48 clips in April. She sold half as many in May. How many altogether?"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_natalia_wires_to_72(strategy: str) -> None:
    spans = [span(NATALIA, "She sold half as many in May"), span(NATALIA, "How many altogether")]
    steps = wire(NATALIA, spans, ["DIV", "ADD"], strategy=strategy)
    assert [s.op for s in steps] == ["DIV", "ADD"]
    div, add = steps
    # 48 is written outside the DIV's span: it comes in as a problem number; "half" is the divisor
    assert [(a.kind, a.value, a.text) for a in div.args] == [("number", "48", "48"), ("implicit", "2", "half")]
    assert div.value == "24" and div.region == spans[0]
    assert {(a.kind, a.value) for a in add.args} == {("result", "24"), ("number", "48")}
    assert wired_answer(steps) == 72


def test_span_numbers_only_without_problem_numbers() -> None:
    spans = [span(NATALIA, "She sold half as many in May")]
    steps = wire(NATALIA, spans, ["DIV"], problem_numbers=False)
    assert missing_operands(steps) == [0]  # only "half" is in the span
    with pytest.raises(ExecutionError) as e:
        execute_all(dag_from_steps(steps))
    assert e.value.reason == Reason.BAD_ARITY


@pytest.mark.parametrize(("order", "value"), [("larger-first", 15), ("result-first", 15), ("as-found", -15)])
def test_sub_operand_order(order: str, value: int) -> None:
    text = "Tom had 20 apples. He gave away 5 of them."
    steps = wire(text, [span(text, "He gave away 5 of them")], ["SUB"], order=order)
    assert wired_answer(steps) == value


def test_implicit_constant_is_the_divisor_whatever_the_order() -> None:
    text = "Weng earns $12 an hour. She worked 50 minutes."
    spans = [span(text, "Weng earns $12 an hour"), span(text, "She worked 50 minutes")]
    for order in ("larger-first", "result-first", "as-found"):
        steps = wire(text, spans, ["DIV", "MUL"], order=order)
        assert steps[0].value == "1/5" and wired_answer(steps) == 10


def test_multi_op_span_shares_its_operands() -> None:
    text = "James writes a 3-page letter to 2 different friends twice a week."
    steps = wire(text, [(0, len(text) - 1)], [["MUL", "MUL"]])
    assert [s.value for s in steps] == ["6", "12"]
    assert steps[1].args[0].kind == "result" and steps[1].args[0].step == 0
    assert steps[1].args[1].text == "twice"


def test_strategies_differ_on_a_dangling_result() -> None:
    text = "Tom buys 3 boxes of 10 pens. Amy buys 2 boxes of 5 pens. Then they buy 7 more pens."
    spans = [span(text, "Tom buys 3 boxes of 10 pens"), span(text, "Amy buys 2 boxes of 5 pens"),
             span(text, "Then they buy 7 more pens")]
    ops = ["MUL", "MUL", "ADD"]
    assert wired_answer(wire(text, spans, ops, strategy="chain")) == 17  # its own 7 + the previous result
    # unused-first takes the dangling 30 into Amy's MUL (30 * 2), then 60 + 7
    assert wired_answer(wire(text, spans, ops, strategy="unused-first")) == 67
    assert wired_answer(wire(text, spans, ops, strategy="local-first")) == 17


def test_no_spans_and_bad_knobs() -> None:
    assert wire(NATALIA, [], []) == []
    with pytest.raises(ValueError, match="strategy"):
        wire(NATALIA, [(0, 5)], ["ADD"], strategy="magic")
    with pytest.raises(ValueError, match="spans"):
        wire(NATALIA, [(0, 5)], [])


def test_unknown_op_fails_at_execution_not_wiring() -> None:
    steps = wire("Tom has 5 and 6.", [(0, 15)], ["FOO"])
    with pytest.raises(ExecutionError) as e:
        execute_all(dag_from_steps(steps))
    assert e.value.reason == Reason.UNKNOWN_OP


def natalia_record(gold: str = "72", validated: bool = True) -> LabelRecord:
    r1, r2 = span(NATALIA, "She sold half as many in May"), span(NATALIA, "How many altogether")
    steps = [
        Step(0, "DIV", [Arg("number", "48", "48"), Arg("implicit", "2", "half")], "24", region=r1),
        Step(1, "ADD", [Arg("number", "48", "48"), Arg("result", "24", step=0)], "72", region=r2),
    ]
    return LabelRecord("p", NATALIA, gold, steps, "72", validated)


def test_wiring_accuracy_counts_validated_records_only() -> None:
    records = [natalia_record(), natalia_record(gold="73"), natalia_record(gold="1", validated=False)]
    for strategy in STRATEGIES:
        assert wiring_accuracy(records, strategy) == pytest.approx(0.5)
    assert wiring_accuracy([]) == 0.0


def test_gold_spans_groups_shared_regions_in_text_order() -> None:
    r = natalia_record()
    r.steps[0].region, r.steps[1].region = r.steps[1].region, r.steps[0].region  # question first in CoT
    spans, ops = gold_spans(r)
    assert spans == sorted(spans) and ops == [["ADD"], ["DIV"]]
    assert gold_spans(r, "gold")[1] == [["DIV"], ["ADD"]]
    r.steps[0].region = None
    assert gold_spans(r) is None
    assert Fraction(r.steps[0].value) == 24


def test_a_joined_multi_op_label_runs_each_op() -> None:
    text = "James writes a 3-page letter to 2 different friends twice a week."
    steps = wire(text, [(0, len(text) - 1)], ["MUL+MUL"])
    assert [s.op for s in steps] == ["MUL", "MUL"]
    assert steps[1].args[0].kind == "result" or steps[1].args[1].kind == "result"
    assert steps[-1].value == "12"
