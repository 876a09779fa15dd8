"""Re-ranking the wiring student's finished DAGs: implausible and echoed answers."""

from __future__ import annotations

from fractions import Fraction

import pytest

from mycelium.models.wiring_beam import Decoded
from mycelium.models.wiring_data import Quantity
from mycelium.solver.rerank import echoes, reuses, rerank

# "Sam has 12 apples and eats 3. How many are left?": nodes 0 (12) and 1 (3), results from 2
Q = [Quantity(Fraction(12), (8, 10), "number", text="12"), Quantity(Fraction(3), (27, 28), "number", text="3")]
RIGHT = Decoded([("SUB", 0, 1, 0)], [Fraction(9)], -1.5)
UNDONE = Decoded([("SUB", 0, 1, 0), ("ADD", 2, 1, 0)], [Fraction(9), Fraction(12)], -1.0)  # 12 - 3 + 3
HALF = Decoded([("DIV", 1, 0, 0)], [Fraction(1, 4)], -0.5)


def test_echoes_is_an_answer_equal_to_a_quantity_the_dag_reads() -> None:
    assert echoes(UNDONE, Q) and not echoes(RIGHT, Q) and not echoes(HALF, Q)
    # an answer equal to a quantity the DAG does not read is no echo: 3 x 4 = 12 never reads the 12
    four = Q + [Quantity(Fraction(4), (30, 31), "number", text="4")]
    assert not echoes(Decoded([("MUL", 1, 2, 0)], [Fraction(12)], 0.0), four)
    # nor is a learned constant (no span) the problem's: 2 x 1 = 2 with 1 a constant
    const = [Quantity(Fraction(2), (0, 1), "number"), Quantity(Fraction(1), None, "constant")]
    assert echoes(Decoded([("MUL", 0, 1, 0)], [Fraction(2)], 0.0), const)  # it reads the written 2
    assert not echoes(Decoded([("DIV", 0, 0, 0), ("MUL", 2, 1, 0)], [Fraction(1), Fraction(1)], 0.0), const)


def test_penalties_reorder_the_finished_dags() -> None:
    finished = [HALF, UNDONE, RIGHT]  # best first by the student's score
    assert rerank(finished, Q) is HALF
    assert rerank(finished, Q, implausible_penalty=3.0) is UNDONE       # 1/4 is fractional
    assert rerank(finished, Q, implausible_penalty=3.0, echo_penalty=3.0) is RIGHT
    assert rerank(finished, Q, implausible_penalty=0.2, echo_penalty=0.2) is HALF  # penalties under the gap
    assert rerank([], Q, echo_penalty=3.0) is None


def test_reuses_is_one_written_quantity_read_twice() -> None:
    again = Decoded([("MUL", 0, 1, 0), ("MUL", 2, 1, 0)], [Fraction(36), Fraction(108)], -1.0)  # 12 x 3, then x 3
    square = Decoded([("MUL", 1, 1, 0)], [Fraction(9)], -1.0)                                      # 3 x 3
    assert reuses(again, Q) and reuses(square, Q) and not reuses(RIGHT, Q) and reuses(UNDONE, Q)
    # two readings of one occurrence ("1/2" read as 1/2 and as 0.5) are one quantity
    both = [Quantity(Fraction(1, 2), (0, 3), "number"), Quantity(Fraction(1, 2), (0, 3), "number", reading=1)]
    assert reuses(Decoded([("ADD", 0, 1, 0)], [Fraction(1)], 0.0), both)
    assert rerank([again, RIGHT], Q) is again and rerank([again, RIGHT], Q, reuse_penalty=3.0) is RIGHT
    # a learned constant (no span) may serve twice: 2 x 1, then x 1 reads the written 2 once
    const = [Quantity(Fraction(2), (0, 1), "number"), Quantity(Fraction(1), None, "constant")]
    assert not reuses(Decoded([("MUL", 0, 1, 0), ("MUL", 2, 1, 0)], [Fraction(2), Fraction(2)], 0.0), const)


def test_negative_penalty_is_refused() -> None:
    with pytest.raises(ValueError, match="penalties"):
        rerank([RIGHT], Q, echo_penalty=-1.0)


def test_vote_takes_the_answer_its_dags_agree_on() -> None:
    # two orders of one computation answer 9; one likelier DAG answers 12
    other_order = Decoded([("SUB", 0, 1, 0), ("MUL", 2, 2, 0), ("DIV", 3, 2, 0)],
                          [Fraction(9), Fraction(81), Fraction(9)], -1.6)
    finished = [UNDONE, RIGHT, other_order]
    assert rerank(finished, Q) is UNDONE
    assert rerank(finished, Q, vote=True) is RIGHT  # e^-1.5 + e^-1.6 > e^-1.0; its best DAG is returned
    assert rerank([UNDONE, RIGHT], Q, vote=True) is UNDONE  # one DAG each: the best single DAG
    assert rerank(finished, Q, echo_penalty=3.0, vote=True) is RIGHT and rerank([], Q, vote=True) is None


def test_vote_sums_probabilities_without_underflow() -> None:
    # scores far below exp's range: the two DAGs of 9 still outweigh the one of 12
    low = [Decoded(d.steps, d.values, d.score - 2000.0) for d in (UNDONE, RIGHT)]
    also = Decoded([("SUB", 0, 1, 0), ("MUL", 2, 2, 0), ("DIV", 3, 2, 0)], [Fraction(9), Fraction(81), Fraction(9)], -2001.6)
    assert rerank([*low, also], Q, vote=True).values == RIGHT.values
