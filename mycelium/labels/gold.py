"""Labels beside a dataset's gold operands: which CoT literal is which number of the text.

MAWPS equations name the number of the text each operand is (``mycelium.data.mawps_folds``);
``gold_by_step`` lines those gold operands up with the op nodes the labels stage reads from
the same CoT, so a label's grounding can be checked occurrence by occurrence
(``bench/mawps_grounding.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from mycelium.data.mawps_folds import GoldOperand, Span
from mycelium.labels.cot_ops import find_arithmetic
from mycelium.labels.expressions import Literal


def gold_by_step(cot: str, gold: Sequence[GoldOperand]) -> list[list[GoldOperand | None]]:
    """Line ``gold`` (in literal text order) up with the op nodes ``find_arithmetic`` finds
    in ``cot``: per node (evaluation order, all equations flattened, as the labels stage
    numbers its steps), per operand, the gold literal, or None for a reference to an
    earlier node of the same sentence. Raises ``ValueError`` when the CoT's literals do not
    match ``gold`` (a CoT that is not ``prefix_to_cot``'s)."""
    found = [f for f in find_arithmetic(cot) if f.expr.stated is not None and f.expr.nodes]
    literal_index: dict[tuple[int, Span], int] = {}
    for fi, f in enumerate(found):
        for lit in f.expr.literals:
            literal_index[(fi, lit.span)] = len(literal_index)
    if len(literal_index) != len(gold):
        raise ValueError(f"the CoT has {len(literal_index)} literals, the gold {len(gold)}: {cot!r}")
    steps: list[list[GoldOperand | None]] = []
    for fi, f in enumerate(found):
        for n in f.expr.nodes:
            row: list[GoldOperand | None] = []
            for o in n.operands:
                if isinstance(o, Literal):
                    g = gold[literal_index[(fi, o.span)]]
                    if Fraction(g.value) != o.value:
                        raise ValueError(f"CoT literal {o.text!r} is not gold operand {g.text!r}: {cot!r}")
                    row.append(g)
                else:
                    row.append(None)
            steps.append(row)
    return steps


# ----------------------------------------------------------------------------- rows
