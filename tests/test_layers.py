"""The package layers: no module imports from a layer above its own.

Read from the source with ``ast`` (every ``import``/``from ... import`` of a ``mycelium`` module,
also those inside functions and ``TYPE_CHECKING`` blocks), so a lazy import cannot hide an
upward dependency. Layers, lowest first (a module may import its own layer and those below):

    0  base      mycelium/errors.py, config.py, loggers.py: imported by anything
    1  dag, signals   the op set and DAG of steps; JSD/IAF on arrays
    2  data      problem sets, gold answers, splits
    3  records   the artifacts several stages read: traces, labels, predictions
    4  teacher   model loading, CoT, attention capture
    5  labels    clauses, CoT ops, arguments, label assembly
    6  models    the students (LightningModules, DataModules)
    7  solver    inference: spans, wiring, Solver
    8  loop, runs, explorer   what composes stages: the self-improvement loop, the chain,
                 evaluation, results tables, the trace explorer
    9  entry     mycelium/entry.py and the Hydra entry points (extract.py, train.py, evaluate.py)
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS: dict[str, int] = {
    "errors": 0, "config": 0, "loggers": 0,
    "dag": 1, "signals": 1,
    "data": 2,
    "records": 3,
    "teacher": 4,
    "labels": 5,
    "models": 6,
    "solver": 7,
    "loop": 8, "runs": 8, "explorer": 8,
    "entry": 9,
}
ENTRY_POINTS = ("extract.py", "train.py", "evaluate.py")


def layer_of_module(name: str) -> int:
    """The layer of ``mycelium.<part>...`` (``mycelium`` itself, the package root, is base)."""
    parts = name.removesuffix(".__init__").split(".")
    if len(parts) == 1:
        return 0
    assert parts[1] in LAYERS, f"mycelium.{parts[1]} has no layer: add it to LAYERS (and to README's layout)"
    return LAYERS[parts[1]]


def imported_modules(source: str, package: str = "") -> list[tuple[int, str]]:
    """(line, module) of every ``mycelium`` import in ``source``, a module of ``package``
    (relative imports resolved against it)."""
    tree = ast.parse(source)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "mycelium"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from . import x / from ..a import b
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] == "mycelium":
                out.append((node.lineno, module))
    return out


def sources() -> list[tuple[Path, int]]:
    """Every library module and entry point, with its layer."""
    files = [(p, layer_of_module(".".join(p.relative_to(ROOT).with_suffix("").parts)))
             for p in sorted((ROOT / "mycelium").rglob("*.py"))]
    return files + [(ROOT / name, LAYERS["entry"]) for name in ENTRY_POINTS]


def test_every_package_has_a_layer() -> None:
    for path in (ROOT / "mycelium").iterdir():
        if path.name.startswith(("_", ".")) or path.name == "__pycache__":
            continue
        assert path.stem in LAYERS, f"{path.relative_to(ROOT)} has no layer: add it to LAYERS"


def test_no_import_goes_up_a_layer() -> None:
    upward = []
    for path, layer in sources():
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
        for line, module in imported_modules(path.read_text(encoding="utf-8"), package):
            target = layer_of_module(module)
            if target > layer:
                upward.append(f"{path.relative_to(ROOT)}:{line} (layer {layer}) imports {module} (layer {target})")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_the_reader_sees_lazy_and_relative_imports() -> None:
    """Function-local, ``TYPE_CHECKING`` and relative imports count like top-level ones."""
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mycelium.loop.rounds import Loop\n"
              "def f():\n    import mycelium.solver.solver\n    from ..runs import chain\n    from .bio import IGNORE\n")
    got = sorted(m for _, m in imported_modules(source, "mycelium.models"))
    assert got == ["mycelium.loop.rounds", "mycelium.models.bio", "mycelium.runs", "mycelium.solver.solver"]
    assert [layer_of_module(m) for m in got] == [8, 6, 8, 7]
