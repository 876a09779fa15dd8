"""Re-ranking the wiring student's finished DAGs by what a word problem's answer looks like.

The beam scores a DAG by the student's log-probabilities alone. Three priors about what a word
problem's answer and equation look like correct the commonest failures of a student that reads
the text alone (each dataset sets its own, ``conf/data/<set>.yaml`` ``priors``):

- ``implausible``: GSM8K's answers are all whole and non-negative (most of MAWPS' too);
- ``echo``: the answer equals a number the DAG reads from the problem (an undone step, "12 - 3
  then + 3", or an extra step past the answer). A question rarely asks for a number it gives:
  7.3% of GSM8K test's gold answers equal a number written in the problem, while 100 of the
  1,319 answers of the session-6 CPU student echo one it reads, 4 of them right
  (``bench/answer_priors.py``, docs/RESULTS.md).

- ``reuse``: the DAG reads one written quantity twice ("15 x 4, then x 4"). A prior for
  problems like MAWPS', whose equations use each number once (off by default: 43% of GSM8K's
  validated labels read some number twice, an "each" rate used by two steps).

Each prior costs its penalty in log-probability (``penalty``); the best adjusted score wins, or with
``vote`` the answer whose DAGs hold the most probability together (their adjusted scores
summed in probability; its best DAG is returned): several orders of one computation, "(a + b)
x c" and "a x c + b x c", then count for their answer, as in marginalising over derivations
(self-consistency, Wang et al. 2023, over the beam rather than over samples). For the
re-ranking to see the alternatives, the beam searches on while a live hypothesis scores above
the best penalised finished DAG (``WiringModule.predict_finished(penalties=...)``), or within a
fixed ``margin`` of the best finished one.
"""

from __future__ import annotations

from collections.abc import Sequence

from scipy.special import logsumexp

from mycelium.models.wiring_beam import Decoded
from mycelium.models.wiring_data import Quantity
from mycelium.solver.learned_wiring.beam import implausible


def echoes(decoded: Decoded, quantities: Sequence[Quantity]) -> bool:
    """Does ``decoded``'s answer equal the value of a written quantity one of its steps reads?
    (Nodes ``< len(quantities)`` are the problem's quantities; later nodes are results.)"""
    q = len(quantities)
    read = {quantities[n].value for _, i, j, _ in decoded.steps for n in (i, j)
            if n < q and quantities[n].span is not None}  # a learned constant is not the problem's
    return decoded.answer is not None and decoded.answer in read


def reuses(decoded: Decoded, quantities: Sequence[Quantity]) -> bool:
    """Does ``decoded`` read one written quantity twice (two steps, or both operands of one)?
    Readings of one occurrence (``Quantity.reading``) count as the same quantity."""
    q = len(quantities)
    seen: set = set()
    for _, i, j, _ in decoded.steps:
        for n in (i, j):
            if n < q and quantities[n].span is not None:  # a learned constant may serve twice
                if quantities[n].span in seen:
                    return True
                seen.add(quantities[n].span)
    return False


def penalty(decoded: Decoded, quantities: Sequence[Quantity], *, implausible_penalty: float = 0.0,
            echo_penalty: float = 0.0, reuse_penalty: float = 0.0) -> float:
    """What the priors take off ``decoded``'s score (>= 0 for penalties >= 0)."""
    return (implausible_penalty * implausible(decoded.answer) + echo_penalty * echoes(decoded, quantities)
            + reuse_penalty * reuses(decoded, quantities))


def rerank(finished: Sequence[Decoded], quantities: Sequence[Quantity], *, implausible_penalty: float = 0.0,
           echo_penalty: float = 0.0, reuse_penalty: float = 0.0, vote: bool = False) -> Decoded | None:
    """The finished DAG with the best score after the penalties, or (``vote``) the best DAG
    of the answer with the most probability (None when there is none). Raises ValueError for
    a negative penalty."""
    if min(implausible_penalty, echo_penalty, reuse_penalty) < 0:
        raise ValueError(f"penalties must be >= 0, got implausible {implausible_penalty}, echo {echo_penalty}, "
                         f"reuse {reuse_penalty}")

    def adjusted(f: Decoded) -> float:
        return f.score - penalty(f, quantities, implausible_penalty=implausible_penalty, echo_penalty=echo_penalty,
                                 reuse_penalty=reuse_penalty)

    if not vote:
        return max(finished, key=adjusted, default=None)
    groups: dict = {}  # answer -> its (adjusted score, DAG), best first
    for a, f in sorted(((adjusted(f), f) for f in finished), key=lambda t: t[0], reverse=True):
        groups.setdefault(f.answer, []).append((a, f))
    # the answer whose DAGs hold the most probability (log of the sum); ties to the best DAG
    top = max(groups.values(), key=lambda g: (logsumexp([a for a, _ in g]), g[0][0]), default=None)
    return None if top is None else top[0][1]
