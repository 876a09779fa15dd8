"""Problem sets as typed records, from a local directory or the Hugging Face hub.

The local layout is that of ``../shared/data`` (see its SOURCES.md)::

    gsm8k/{train,test}.jsonl          question, answer ("... #### 72")
    math/{train,test}.jsonl           problem, solution (\\boxed{}), level, type, unique_id
    math500/test.jsonl                problem, solution, answer, subject, level, unique_id
    mawps/mawps.jsonl                 iIndex, sQuestion, lEquations, lSolutions
    mawps/svamp_cv_mawps_dev_folds.jsonl   MAWPS 5-fold CV (dataset ``mawps_cv``, local only;
                                      see mycelium.data.mawps_folds)

With no local directory the same sets come from the hub through ``datasets``.

One set ships with the repository and is always read from it, whatever the data dir:
``smoke`` (``tests/data/smoke.jsonl``: 20 one- and two-step problems written for the project,
question, answer and the hand-written expression that gives the answer; split ``test``).
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

from mycelium.errors import UserError
from mycelium.data.answers import extract_boxed, extract_gsm8k_answer, format_number

DATA_DIR_ENV = "MYCELIUM_DATA_DIR"


class DataError(UserError):
    """A problem set cannot be found or read. The message says what to set."""


@dataclass(frozen=True)
class Problem:
    """One math word problem with its gold solution and answer."""

    id: str  # "{dataset}/{split}/{index or unique_id}", stable across runs
    text: str
    solution: str  # gold solution text ("" when the set has none, e.g. MAWPS)
    answer: str  # gold final answer as a string ("72", "\\frac{3}{4}")
    dataset: str
    split: str
    level: str | None = None  # MATH only
    type: str | None = None  # MATH subject only


# dataset -> split -> file under the data dir
LOCAL_FILES: dict[str, dict[str, str]] = {
    "gsm8k": {"train": "gsm8k/train.jsonl", "test": "gsm8k/test.jsonl"},
    "math": {"train": "math/train.jsonl", "test": "math/test.jsonl"},
    "math500": {"test": "math500/test.jsonl", "train": "math500/train_12k_derived.jsonl"},
    "mawps": {"test": "mawps/mawps.jsonl", "train": "mawps/mawps.jsonl"},
    # MAWPS five-fold CV: one file; the split (fold{k} test, train{k}, all) selects its rows
    "mawps_cv": {s: "mawps/svamp_cv_mawps_dev_folds.jsonl"
                 for s in ("all", *(f"{p}{k}" for p in ("fold", "train") for k in range(5)))},
}

# Sets kept in the repository (read from there, never from data.dir or the hub)
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "tests" / "data"
SHIPPED_FILES: dict[str, dict[str, str]] = {"smoke": {"test": "smoke.jsonl"}}
LOCAL_FILES |= SHIPPED_FILES

# dataset -> (hub id, config name)
HUB_IDS: dict[str, tuple[str, str | None]] = {
    "gsm8k": ("openai/gsm8k", "main"),
    "math": ("EleutherAI/hendrycks_math", None),
    "math500": ("HuggingFaceH4/MATH-500", None),
    "mawps": ("MU-NLPC/Calc-mawps", None),
}


def _from_row(dataset: str, split: str, index: int, row: dict) -> Problem:
    if dataset == "mawps_cv":  # rows from mawps_folds.read_rows: numbers filled in, CoT built
        from mycelium.data.mawps_folds import convert_row

        return convert_row(row, split).problem
    if dataset == "gsm8k":
        return Problem(
            id=f"gsm8k/{split}/{index}",
            text=row["question"],
            solution=row["answer"],
            answer=extract_gsm8k_answer(row["answer"]) or "",
            dataset=dataset,
            split=split,
        )
    if dataset == "smoke":  # question, answer, expression (the answer's hand-written arithmetic)
        return Problem(id=f"smoke/{split}/{index}", text=row["question"], solution=row["expression"],
                       answer=row["answer"], dataset=dataset, split=split)
    if dataset in ("math", "math500"):
        answer = row.get("answer") or extract_boxed(row["solution"]) or ""
        uid = row.get("unique_id") or str(index)
        return Problem(
            id=f"{dataset}/{split}/{uid}",
            text=row["problem"],
            solution=row["solution"],
            answer=answer,
            dataset=dataset,
            split=split,
            level=str(row["level"]) if row.get("level") is not None else None,
            type=row.get("type") or row.get("subject"),
        )
    if dataset == "mawps":
        if "sQuestion" in row:  # local MWPToolkit layout
            solutions = row["lSolutions"]
            answer = format_number(solutions[0]) if solutions else ""
            return Problem(
                id=f"mawps/{split}/{row.get('iIndex', index)}",
                text=row["sQuestion"].strip(),
                solution=" ; ".join(row.get("lEquations", [])),
                answer=answer,
                dataset=dataset,
                split=split,
            )
        # hub layout (MU-NLPC/Calc-mawps): question, result, equation
        return Problem(
            id=f"mawps/{split}/{row.get('id', index)}",
            text=row["question"].strip(),
            solution=row.get("equation", ""),
            answer=str(row["result"]),
            dataset=dataset,
            split=split,
        )
    raise DataError(f"unknown dataset {dataset!r}; choose one of {sorted(LOCAL_FILES)}")


def _read_local(path: Path) -> list[dict]:
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]


def _read_hub(dataset: str, split: str) -> list[dict]:
    try:
        import datasets
    except ImportError as e:  # pragma: no cover - datasets is a dependency
        raise DataError("the `datasets` package is needed to load from the hub") from e
    hub_id, config = HUB_IDS[dataset]
    try:
        ds = datasets.load_dataset(hub_id, config, split=split)
    except Exception as e:  # network, auth, missing split: all end the same way for a user
        raise DataError(
            f"could not load {dataset}/{split} from the Hugging Face hub ({hub_id}): "
            f"{type(e).__name__}. Set data.dir=/path/to/data or {DATA_DIR_ENV} to a local copy "
            f"laid out as gsm8k/train.jsonl, math/train.jsonl, ..."
        ) from None
    return list(ds)


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """``data_dir`` if given, else ``$MYCELIUM_DATA_DIR``, else None (meaning: the hub)."""
    chosen = data_dir if data_dir not in (None, "") else os.environ.get(DATA_DIR_ENV) or None
    return Path(chosen).expanduser() if chosen else None


def load_problems(
    dataset: str,
    split: str,
    data_dir: str | os.PathLike | None = None,
    limit: int | None = None,
    offset: int = 0,
    shuffle_seed: int | None = None,
) -> list[Problem]:
    """Load ``dataset``/``split`` as ``Problem`` records, in the file's order.

    ``data_dir`` (or ``$MYCELIUM_DATA_DIR``) points at a local copy; without one the hub is
    used. ``offset``/``limit`` select ``rows[offset:offset+limit]``. ``shuffle_seed`` first
    puts the rows in a fixed random order (MATH's files are sorted by subject, so its first
    500 rows are all algebra); the same seed gives the same order, so resuming still works.
    """
    if dataset not in LOCAL_FILES:
        raise DataError(f"unknown dataset {dataset!r}; choose one of {sorted(LOCAL_FILES)}")
    if split not in LOCAL_FILES[dataset]:
        raise DataError(f"{dataset} has no split {split!r}; choose one of {sorted(LOCAL_FILES[dataset])}")
    root = SHIPPED_DIR if dataset in SHIPPED_FILES else resolve_data_dir(data_dir)
    if root is not None:
        path = root / LOCAL_FILES[dataset][split]
        if not path.is_file():
            raise DataError(
                f"{path} not found. Set data.dir (or {DATA_DIR_ENV}) to a directory laid out as "
                f"gsm8k/train.jsonl, math/train.jsonl, ... (e.g. ../shared/data)"
            )
        if dataset == "mawps_cv":  # one file for every split: the split selects folds
            from mycelium.data.mawps_folds import read_rows, select_split

            rows = select_split(read_rows(path), split)
        else:
            rows = _read_local(path)
    elif dataset not in HUB_IDS:
        raise DataError(f"{dataset} is read from a local copy only: set data.dir (or {DATA_DIR_ENV}) "
                        f"to a directory laid out like ../shared/data")
    else:
        rows = _read_hub(dataset, split)
    order = list(range(len(rows)))
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
    end = None if limit is None else offset + limit
    return [_from_row(dataset, split, i, rows[i]) for i in order[offset:end]]
