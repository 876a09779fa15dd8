"""The smoke set (tests/data/smoke.jsonl): 20 one- and two-step problems, each answer the exact
value of the hand-written expression stored beside it, loaded offline through load_problems."""

from __future__ import annotations

import ast
import operator
import re
from fractions import Fraction

import pytest

from mycelium.data.problems import load_problems

OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def exact_value(expression: str) -> Fraction:
    """The exact value of ``+ - * /`` arithmetic over decimal literals ("0.50 * 14" -> 7)."""

    def ev(node: ast.AST) -> Fraction:
        if isinstance(node, ast.BinOp) and type(node.op) in OPS:
            return OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return Fraction(ast.get_source_segment(expression, node))  # the literal as written, not a float
        raise ValueError(f"not plain arithmetic: {ast.dump(node)}")

    return ev(ast.parse(expression, mode="eval").body)


@pytest.fixture(scope="module")
def smoke():
    return load_problems("smoke", "test", data_dir="/nonexistent")  # the data dir is never read for it


def test_exact_value_reads_literals_exactly():
    assert exact_value("0.50 * 14") == 7
    assert exact_value("30 - 30 / 2") == 15
    assert exact_value("0.1 + 0.2") == Fraction(3, 10)  # a float sum would not be
    with pytest.raises(ValueError):
        exact_value("2 ** 3")


def test_twenty_distinct_problems_with_ids(smoke):
    assert len(smoke) == 20
    assert len({p.text for p in smoke}) == 20
    assert [p.id for p in smoke] == [f"smoke/test/{i}" for i in range(20)]
    assert all(p.dataset == "smoke" and p.split == "test" for p in smoke)


def test_every_answer_is_its_expressions_exact_value(smoke):
    wrong = [(p.text, p.answer, p.solution) for p in smoke if Fraction(p.answer) != exact_value(p.solution)]
    assert not wrong


def test_every_expression_uses_one_or_two_operations(smoke):
    counts = [len(re.findall(r"(?<=\s)[-+*/](?=\s)", p.solution)) for p in smoke]
    assert all(1 <= c <= 3 for c in counts)  # a percentage is "x * p / 100": two ops for one step
    assert sum(c == 1 for c in counts) >= 8 and sum(c >= 2 for c in counts) >= 6


def test_it_holds_the_issue_problems_and_a_spread_of_wordings(smoke):
    by_text = {p.text: p.answer for p in smoke}
    assert by_text["Sam has twelve apples and eats three. How many are left?"] == "9"
    assert by_text["Each pen costs $0.50. How much do 14 pens cost?"] == "7"
    text = " ".join(by_text).lower()
    for cue in ("each", " per ", "half", "times as many", "left", "in total", "$", "%", "twenty"):
        assert cue in text, cue
    ops = " ".join(p.solution for p in smoke)
    assert all(op in ops for op in (" + ", " - ", " * ", " / "))
