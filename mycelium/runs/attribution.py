"""Where the text-alone wiring student's wrong answers come from: its DAG against the label's.

In text-alone mode (``solver.deductive_spans=false``) the wiring student reads the problem and
builds the whole DAG; no segmenter or classifier is involved, so evaluate.py's first failing
*stage* (segmentation / op / wiring) does not apply. Instead each wrong answer is put in the
first of these categories that holds, coarse to fine (``CATEGORIES``):

===================  ==========================================================================
category             the wrong answer...
===================  ==========================================================================
no_answer            has no answer (``Prediction.reason``: no_wiring, execution_error:..., ...)
no_label             is on a problem without a validated test label (not traced, or its label
                     did not validate): no gold DAG to compare with
not_expressible      is on a problem whose label DAG the wiring student cannot build: an operand
                     no quantity node holds, an op outside its four, a step of one operand
                     (``mycelium.models.wiring_data.record_actions`` finds no actions)
steps                has another number of binary steps than the label (an n-ary ADD/MUL of k
                     operands counts k - 1, as the student's training targets binarise it)
operands             has as many steps but reads other quantities: the multisets of leaf
                     quantities (a written number or implicit constant at its text span, with
                     its value: "20%" read as 20 or as 1/5 differ) are not equal
structure            reads the same quantities in as many steps, combined in another order
                     (``(a+b)*c`` against ``a+(b*c)``): its binary steps, ops erased and
                     operands unordered, are no binarisation of the label's DAG (ADD/MUL
                     chains flattened, so ``a+b+c`` is ``(a+b)+c``, ``a+(b+c)``, ``(a+c)+b``)
op                   combines the label's quantities in the label's order, but some step's
                     op differs, or the operand order of a SUB/DIV
same_dag             has the label's DAG (ADD/MUL flattened and sorted) yet is scored wrong:
                     the solver's answer check and the label's validation disagree (e.g. a
                     gold answer written as a rounded decimal, labels made by newer rules)
===================  ==========================================================================

Only the DAG that produces the answer counts (the steps the last step reaches). The categories
partition the wrong answers: they sum to the wrong answers of the set.

    counts = attribute(predictions, labels)          # {category: wrong answers}
    counts = attribute_dir("<run>/eval/mawps_cv-fold0")   # post hoc: predictions.jsonl + labels/
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path

from mycelium.dag.steps import Arg, Step
from mycelium.labels.stage import read_labels
from mycelium.models.wiring_data import problem_quantities, record_actions
from mycelium.records.labels import LabelRecord
from mycelium.records.predictions import Prediction

CATEGORIES = ("no_answer", "no_label", "not_expressible", "steps", "operands", "structure", "op", "same_dag")
COMMUTATIVE = ("ADD", "MUL")
PREDICTIONS_FILE = "predictions.jsonl"
LABELS_SUBDIR = "labels"  # where chain.eval.labels writes a set's test labels

Leaf = tuple[str, tuple[int, int] | None, Fraction | str]
Tree = Leaf | tuple  # ("op", OP, (children...)) for an operation


def _leaf(arg: Arg) -> Leaf:
    try:
        value: Fraction | str = Fraction(arg.value)
    except (ValueError, ZeroDivisionError, TypeError):
        value = str(arg.value)
    return ("q", tuple(arg.span) if arg.span is not None else None, value)


def _tree(steps: Sequence[Step]) -> tuple[Tree, int, list[Leaf]]:
    """The last step's expression tree (n-ary steps binarised left to right), its number of
    binary steps (a result read twice counted once) and its leaves. Raises ``ValueError`` on a
    reference to a step that is not earlier in the list."""
    by_index = {s.index: k for k, s in enumerate(steps)}
    reached: set[int] = set()
    leaves: list[Leaf] = []

    def build(k: int) -> Tree:
        reached.add(k)
        subtrees = []
        for a in steps[k].args:
            if a.kind == "result":
                j = by_index.get(a.step)
                if j is None or j >= k:  # only earlier steps: no cycles
                    raise ValueError(f"step {steps[k].index} refers to step {a.step}")
                subtrees.append(build(j))
            else:
                leaf = _leaf(a)
                leaves.append(leaf)
                subtrees.append(leaf)
        tree = subtrees[0] if subtrees else ("op", steps[k].op, ())
        for other in subtrees[1:]:  # ADD(a, b, c) = ADD(ADD(a, b), c), as the student decodes
            tree = ("op", steps[k].op, (tree, other))
        return tree

    tree = build(len(steps) - 1)
    n_binary = sum(max(1, len(steps[k].args) - 1) for k in reached)
    return tree, n_binary, leaves


def _canonical(tree: Tree) -> Tree:
    """ADD/MUL chains flattened and their operands sorted: equal for equal computations up to
    commutativity and associativity."""
    if tree[0] != "op":
        return tree
    op, children = tree[1], [_canonical(c) for c in tree[2]]
    if op in COMMUTATIVE:
        flat = []
        for c in children:
            flat += list(c[2]) if c[0] == "op" and c[1] == op else [c]
        return ("op", op, tuple(sorted(flat, key=repr)))
    return ("op", op, tuple(children))


def _same_shape(got: Tree, gold: Tree) -> bool:
    """Whether the binary tree ``got`` is some binarisation of the canonical tree ``gold`` with
    ops erased and operands unordered: the same quantities combined in the same order."""
    if gold[0] != "op":
        return got == gold
    if got[0] != "op" or len(got[2]) != 2:
        return False
    children, (left, right) = gold[2], got[2]
    k = len(children)
    for mask in range(1, 2 ** k - 1):  # each split of the gold operands into two groups
        parts = [[c for i, c in enumerate(children) if (mask >> i & 1) == side] for side in (1, 0)]
        a, b = (part[0] if len(part) == 1 else ("op", gold[1], tuple(part)) for part in parts)
        if _same_shape(left, a) and _same_shape(right, b):
            return True
    return False


def dag_difference(pred: Prediction, record: LabelRecord | None) -> str | None:
    """The first category of ``CATEGORIES`` (module docstring) that holds for ``pred`` against
    ``record`` (the problem's label, None when it has none); None when ``pred`` is correct."""
    if pred.correct:
        return None
    if pred.answer is None or not pred.steps:
        return "no_answer"
    if record is None or not record.validated or not record.steps:
        return "no_label"
    if record_actions(record, problem_quantities(record.text)) is None:
        return "not_expressible"
    try:
        got, got_n, got_leaves = _tree(pred.steps)
        gold, gold_n, gold_leaves = _tree(record.steps)
    except ValueError:  # a malformed DAG cannot be compared step by step: its structure is wrong
        return "structure"
    if _canonical(got) == _canonical(gold):
        return "same_dag"
    if got_n != gold_n:
        return "steps"
    if Counter(got_leaves) != Counter(gold_leaves):
        return "operands"
    if not _same_shape(got, _canonical(gold)):
        return "structure"
    return "op"


def attribute(predictions: Iterable[Prediction], labels: Mapping[str, LabelRecord]) -> dict[str, int]:
    """Wrong answers of ``predictions`` by ``dag_difference`` against ``labels`` (by problem
    id): every category of ``CATEGORIES``, in that order, zeros included."""
    counts = Counter(c for p in predictions if (c := dag_difference(p, labels.get(p.id))) is not None)
    return {c: counts[c] for c in CATEGORIES}


def read_predictions(path: str | Path) -> list[Prediction]:
    """``predictions.jsonl`` (a file, or the eval set's dir holding it) as ``Prediction``s."""
    path = Path(path)
    path = path / PREDICTIONS_FILE if path.is_dir() else path
    with open(path, encoding="utf-8") as f:
        return [Prediction.from_dict(json.loads(line)) for line in f if line.strip()]


def attribute_dir(set_dir: str | Path, labels_dir: str | Path | None = None) -> dict[str, int] | None:
    """``attribute`` post hoc on an eval set's dir (``<run>/eval/<set>``: ``predictions.jsonl``),
    against the validated labels of ``labels_dir`` (default ``<set_dir>/labels``, which
    ``chain.eval.labels=true`` writes); None when there are no such labels or predictions."""
    set_dir = Path(set_dir)
    labels_path = Path(labels_dir) if labels_dir is not None else set_dir / LABELS_SUBDIR
    if not (set_dir / PREDICTIONS_FILE).is_file() or not labels_path.exists():
        return None
    labels = {r.id: r for r in read_labels(labels_path) if r.validated}
    return attribute(read_predictions(set_dir), labels)


def format_attribution(counts: Mapping[str, int]) -> str:
    """"no_answer 0, no_label 12 (12%), ...": each category's count and share of the wrong answers."""
    total = sum(counts.values())
    return ", ".join(f"{c} {n} ({n / total:.0%})" if total else f"{c} {n}" for c, n in counts.items())
