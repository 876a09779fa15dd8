"""Which split a problem is in: a stable hash of its id, shared by the students and the wiring.

The students' DataModules (``mycelium.models.datamodule``) and the learned wiring
(``mycelium.solver.learned_wiring``) cut the labels with the same function, so a problem held
out from one is held out from the other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


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
