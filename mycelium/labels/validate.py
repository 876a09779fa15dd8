"""Execution validation (phase 5): keep what executes to gold, and the rule that says so.

``output_index`` names the answer node (the last step whose value is gold); ``prune`` keeps
it and its ancestors;
``execute_steps`` executes a step list exactly and compares it with the gold answer: the
validation rule of every label (the self-improvement loop applies it to solved problems too).
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from mycelium.dag.graph import ExecutionError, answer_equals, dag_from_steps, execute_all, format_value
from mycelium.dag.steps import Step


def output_index(values: list[Fraction], gold: str) -> int:
    """The answer node: the last step whose value is gold (else the last step)."""
    return max((i for i, v in enumerate(values) if answer_equals(v, gold)), default=len(values) - 1)


def prune(steps: list[Step], out: int | None) -> tuple[list[Step], list[int]]:
    """Keep the answer step ``out`` (``output_index``) and its ancestors: side computations
    and checks a CoT makes after the answer go. Result references are renumbered. ``out``
    None (the DAG does not execute) keeps every step. Returns the kept steps and their
    indices before pruning."""
    if out is None:
        return steps, list(range(len(steps)))
    keep, todo = set(), [out]
    while todo:
        i = todo.pop()
        if i not in keep:
            keep.add(i)
            todo += [a.step for a in steps[i].args if a.kind == "result"]
    order = sorted(keep)
    new_index = {old: new for new, old in enumerate(order)}
    kept = []
    for old in order:
        step = steps[old]
        args = [replace(a, step=new_index[a.step]) if a.kind == "result" else a for a in step.args]
        kept.append(replace(step, index=new_index[old], args=args))
    return kept, order


def execute_steps(steps: list[Step], gold: str, symbolic: bool = False) -> tuple[str | None, bool, str | None]:
    """(answer, correct, failure reason) of the DAG built from ``steps``, filling each step's
    value: the validation rule of every label (the self-improvement loop applies it too).
    ``symbolic``: a MATH DAG (``mycelium.dag.graph.DAG.symbolic``)."""
    try:
        values = execute_all(dag_from_steps(steps, symbolic=symbolic))
    except ExecutionError as e:
        return None, False, f"execution_error:{e.reason.value}"
    for step, v in zip(steps, values):
        step.value = format_value(v)
    answer = values[-1]
    return format_value(answer), answer_equals(answer, gold), None
