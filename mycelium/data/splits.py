"""Which split a problem is in: a stable hash of its id, shared by the students and the wiring.

The students' DataModules (``mycelium.models.datamodule``) and the learned wiring
(``mycelium.solver.learned_wiring``) cut the labels with the same function, so a problem held
out from one is held out from the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from mycelium.errors import UserError

T = TypeVar("T")


def split_of(problem_id: str, fractions: Mapping[str, float], salt: str = "") -> str:
    """The split of a problem: a hash of its id mapped to ``[0, 1)`` and cut by ``fractions``.

    ``fractions`` maps split names (``train``, ``val``, ``test``) to weights, used in that
    order and normalised. Changing ``salt`` draws a different, equally stable split.
    """
    digest = hashlib.blake2b(f"{salt}:{problem_id}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2**64
    total = sum(fractions.values())
    acc = 0.0
    for name, frac in fractions.items():
        acc += frac / total
        if u < acc:
            return name
    return list(fractions)[-1]  # u within float rounding of 1


def normalised_splits(fractions: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """The split as :func:`split_of` draws it: names in order, weights normalised (rounded to
    1e-9), so two configs that write one split differently compare equal."""
    total = sum(float(v) for v in fractions.values()) or 1.0
    return tuple((k, round(float(v) / total, 9)) for k, v in fractions.items())


def held_out(problems: Sequence[T], keep: Sequence[str], fractions: Mapping[str, float], salt: str = "",
             key: Callable[[T], str] = lambda p: p.id, allow_empty: bool = False) -> list[T]:
    """The problems whose :func:`split_of` is one of ``keep``, in their order.

    With the students' ``fractions`` and ``salt``, ``keep=["val", "test"]`` of a train file is
    the problems no student trained on, whether or not they have a label: a development set
    drawn like the test set, for choosing between students without looking at the test set.

    Raises:
        UserError: ``keep`` is empty, a string, or names a split ``fractions`` does not have;
            or no problem is held out (unless ``allow_empty``).
    """
    unknown = [k for k in keep if k not in fractions]
    if not keep or isinstance(keep, str) or unknown:
        raise UserError(f"held-out splits {keep!r}: give a list of names among {list(fractions)}")
    out = [p for p in problems if split_of(key(p), fractions, salt) in keep]
    if not out and not allow_empty:
        raise UserError(f"none of the {len(problems)} problems is in the held-out splits {list(keep)} of {dict(fractions)}")
    return out
