"""MAWPS five-fold cross-validation (the SVAMP paper's ``cv_mawps``) as ``Problem`` records.

The file ``mawps/svamp_cv_mawps_dev_folds.jsonl`` is the union of the five dev folds
(1,920 rows, 384 a fold). Each row has a ``Question`` whose numbers are placeholders
(``number0``, ``number1``, ... in text order), their values in ``Numbers`` ("56.0 9.0"),
the gold ``Equation`` in prefix notation ("* number0 number1"), a float ``Answer`` and its
``fold`` (0-4).

Conventions:

- **Splits.** ``fold{k}`` is fold k's test set (the rows with ``fold == k``), ``train{k}``
  its training set (the other four folds, in file order), ``all`` every row. A problem's id
  does not depend on the split it is loaded from: ``mawps-cv/fold{k}/{i}``, where ``i`` is
  its position among fold k's rows. So traces made for ``train0`` are the same problems,
  under the same ids, as those of ``fold1`` .. ``fold4``.
- **Numbers** are written as a reader would: ``"56.0" -> "56"``, ``"0.5" -> "0.5"``. A
  value is the exact rational of its decimal string (``Fraction("0.5")``), never a float.
  Repeating fractions are stored by the dataset as float reprs ("0.16666666666666666", 32
  rows) and are written so, in the text and the CoT alike: the CoT parser has no single
  literal for 1/6 ("1/6" is DIV(1, 6)), and value grounding needs text and CoT to write the
  same value.
- **Detokenisation.** The dataset is tokenised with spaces around punctuation ("as well .",
  "Karin 's", "did n't", "$ 5", "5 %", "part - time"). ``fill_numbers`` detokenises it
  ("as well.", "Karin's", "didn't", "$5", "5%", "part-time"): the spaCy clause parse and the
  number reader of the labels stage expect ordinary text. Lone quote marks are left as they
  are (they open and close quotes; which side they attach to is not recoverable).
- **CoT.** The prefix equation becomes one sentence per operation in evaluation order
  (post-order, left to right): "3 + 5 = 8. 8 / 2 = 4." An intermediate result is written
  as a decimal literal in the sentence that uses it. When it has no finite decimal (10/3),
  its expression is written in brackets in that sentence instead ("(10 / 3) * 6 = 20."),
  so every op still executes exactly; a final result without a finite decimal is stated as
  a fraction ("500 / 6 = 250/3."). The CoT ends "The answer is 4.", as the cleaned GSM8K
  solutions do (the teacher stage reads the answer there). Arithmetic is exact (``fractions.Fraction``), nothing is
  ``eval``ed.
- **Answer** is the dataset's ``Answer`` through ``format_number`` ("504.0" -> "504"). 42
  rows' answers are not the exact value of their equation (25 differ by float rounding of
  repeating decimals, 17 are rounded or wrong in the dataset): their labels cannot validate.

Gold operands (``GoldOperand``) are listed in the order ``find_arithmetic`` meets the
literals in the CoT text; ``mycelium.labels.gold.gold_by_step`` lines them up with the CoT's op nodes. Where a
value is written more than once, the equation always names its first occurrence (281
operands; none names a later one), sometimes twice in one equation (155 operands): the
dataset's masking matched values to their first occurrence, so its gold says which number
was used, not which occurrence a reader would pick.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal as TypingLiteral

from mycelium.dag.graph import format_value
from mycelium.data.answers import format_number
from mycelium.data.problems import DataError, Problem

DATASET = "mawps_cv"
ID_PREFIX = "mawps-cv"
FILE = "mawps/svamp_cv_mawps_dev_folds.jsonl"  # under the data dir
FOLDS = 5
SPLITS: tuple[str, ...] = ("all", *(f"fold{k}" for k in range(FOLDS)), *(f"train{k}" for k in range(FOLDS)))


def fold_of(problem_id: str) -> int | None:
    """The fold of a ``mawps-cv/fold{k}/{i}`` id (as ``load`` names problems), else None."""
    parts = problem_id.split("/")
    if len(parts) == 3 and parts[0] == ID_PREFIX and parts[1].startswith("fold"):
        return int(parts[1][4:])
    return None


_OPS = {"+": "ADD", "-": "SUB", "*": "MUL", "/": "DIV"}
_PLACEHOLDER = re.compile(r"number(\d+)")
# tokens written against the previous token: punctuation, clitics ("'s", "n't"), "%"
_ATTACH_LEFT = re.compile(r"[.,?!;:%]|'s|'re|'ve|'ll|'m|'d|n't|’s")
_WORD = re.compile(r"[A-Za-z]+")

Span = tuple[int, int]


@dataclass(frozen=True)
class GoldOperand:
    """One literal operand of the gold CoT, as the dataset's equation defines it.

    ``number``: the problem's ``numberK`` (``placeholder`` K) at char ``span`` of the text;
    ``result``: the result of op ``step`` (evaluation order), restated in a later sentence;
    ``constant``: a constant of the equation that is not in the text ("0.01", "100.0").
    """

    kind: TypingLiteral["number", "result", "constant"]
    value: Fraction
    text: str  # as written in the CoT
    span: Span | None = None
    placeholder: int | None = None
    step: int | None = None


@dataclass(frozen=True)
class FoldProblem:
    """A row made into a ``Problem`` plus what a grounding check needs."""

    problem: Problem
    fold: int
    index: int  # position among the rows of its fold
    number_spans: list[Span]  # char span in ``problem.text`` of number0, number1, ...
    values: list[Fraction]  # exact value of number0, number1, ...
    gold: list[GoldOperand]  # the CoT's literal operands, in text order
    exact: bool  # the equation's exact value equals the answer


# ----------------------------------------------------------------------------- numbers


def decimal_text(x: Fraction) -> str | None:
    """The exact decimal of ``x`` without trailing zeros ("56", "0.5", "-2.25"), or None when
    it has none (1/3)."""
    x = Fraction(x)
    d, twos, fives = x.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    if d != 1:
        return None
    places = max(twos, fives)
    scaled = abs(x.numerator) * 10**places // x.denominator
    sign = "-" if x < 0 else ""
    if places == 0:
        return f"{sign}{scaled}"
    whole, frac = divmod(scaled, 10**places)
    return f"{sign}{whole}.{str(frac).zfill(places).rstrip('0')}"


def parse_numbers(numbers: str) -> list[Fraction]:
    """The ``Numbers`` field ("56.0 9.0") as exact values. Raises ``DataError`` on a
    non-number."""
    try:
        return [Fraction(s) for s in numbers.split()]
    except ValueError as e:
        raise DataError(f"MAWPS Numbers field {numbers!r} is not a list of numbers") from e


def fill_numbers(question: str, values: Sequence[Fraction]) -> tuple[str, list[Span]]:
    """Substitute ``values`` for the ``numberK`` placeholders of a tokenised ``question`` and
    detokenise it (see the module docstring). Returns the text and the char span of each
    numberK's digits in it. Raises ``DataError`` for a placeholder with no value."""
    tokens = question.split()
    out: list[str] = []
    spans: dict[int, Span] = {}
    pos = 0
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        joined = (
            prev is None
            or _ATTACH_LEFT.fullmatch(tok) is not None
            or prev == "$"
            or (tok == "’" and nxt == "s")
            or prev == "’" and tok == "s"
            or (tok == "-" and _WORD.fullmatch(prev or "") and _WORD.fullmatch(nxt or ""))
            or (prev == "-" and i >= 2 and _WORD.fullmatch(tokens[i - 2]) and _WORD.fullmatch(tok))
        )
        if not joined:
            out.append(" ")
            pos += 1
        m = _PLACEHOLDER.fullmatch(tok)
        if m:
            k = int(m.group(1))
            if k >= len(values):
                raise DataError(f"MAWPS question has {tok} but only {len(values)} Numbers: {question!r}")
            tok = decimal_text(values[k]) or format_value(values[k])
            spans[k] = (pos, pos + len(tok))
        out.append(tok)
        pos += len(tok)
    missing = [k for k in range(len(values)) if k not in spans]
    if missing:
        raise DataError(f"MAWPS question lacks number{missing[0]}: {question!r}")
    return "".join(out), [spans[k] for k in range(len(values))]


# ----------------------------------------------------------------------------- equations


@dataclass
class _Op:
    """An op of the parsed equation; its operands are ``_Op``s or ``GoldOperand``s."""

    op: str  # "+", "-", "*", "/"
    left: object
    right: object
    value: Fraction


def _parse_prefix(equation: str, values: Sequence[Fraction], spans: Sequence[Span] | None) -> object:
    tokens = equation.split()
    pos = 0

    def node() -> object:
        nonlocal pos
        if pos >= len(tokens):
            raise DataError(f"MAWPS equation {equation!r} ends early")
        tok = tokens[pos]
        pos += 1
        if tok in _OPS:
            left, right = node(), node()
            a, b = (x.value for x in (left, right))
            if tok == "/" and b == 0:
                raise DataError(f"MAWPS equation {equation!r} divides by zero")
            value = a + b if tok == "+" else a - b if tok == "-" else a * b if tok == "*" else a / b
            return _Op(tok, left, right, value)
        m = _PLACEHOLDER.fullmatch(tok)
        if m:
            k = int(m.group(1))
            if k >= len(values):
                raise DataError(f"MAWPS equation {equation!r} names {tok} but there are {len(values)} Numbers")
            return GoldOperand("number", values[k], "", spans[k] if spans else None, placeholder=k)
        try:
            return GoldOperand("constant", Fraction(tok), "")
        except ValueError:
            raise DataError(f"MAWPS equation {equation!r}: {tok!r} is not an operator, numberK or number") from None

    tree = node()
    if pos != len(tokens):
        raise DataError(f"MAWPS equation {equation!r} has tokens after its end")
    return tree


def _literal_text(x: Fraction) -> str:
    return decimal_text(x) or format_value(x)


def prefix_to_cot(
    equation: str, values: Sequence[Fraction], spans: Sequence[Span] | None = None
) -> tuple[str, list[GoldOperand], Fraction]:
    """The prefix ``equation`` over ``values`` (number0, number1, ...) as reader-style CoT.

    Returns ``(cot, gold, value)``: one sentence per op in evaluation order ("3 + 5 = 8.
    8 / 2 = 4. The answer is 4."; see the module docstring for results without a finite decimal), the literal
    operands in the order they are written (numbers carry ``spans[K]`` when given; a restated
    result carries the index of its op), and the exact value. Raises ``DataError`` for a
    malformed equation, an unknown placeholder or a division by zero.
    """
    tree = _parse_prefix(equation, values, spans)
    if isinstance(tree, GoldOperand):  # "number0": no op; state the number
        text = _literal_text(tree.value)
        return f"The answer is {text}.", [], tree.value
    sentences: list[str] = []
    gold: list[GoldOperand] = []
    step_of: dict[int, int] = {}  # id(_Op) -> its op node's index in the CoT

    def operand(t: object, out: list[GoldOperand]) -> str:
        """How operand ``t`` is written inside a sentence, appending its literals to ``out``."""
        if isinstance(t, GoldOperand):
            text = _literal_text(t.value)
            out.append(GoldOperand(t.kind, t.value, text, t.span, t.placeholder))
            return text
        assert isinstance(t, _Op)
        text = decimal_text(t.value)
        if text is not None:  # the result of an earlier sentence, restated
            out.append(GoldOperand("result", t.value, text, step=step_of[id(t)]))
            return text
        return f"({expression(t, out)})"  # no finite decimal: its expression, in brackets

    def expression(t: _Op, out: list[GoldOperand]) -> str:
        # op nodes are numbered as the CoT parser decomposes a sentence: post-order
        text = f"{operand(t.left, out)} {t.op} {operand(t.right, out)}"
        step_of[id(t)] = len(step_of)
        return text

    def emit(t: object) -> None:
        """Sentences for ``t``'s subtree, children first; an op without a finite decimal
        result is written inside its parent's sentence, not in one of its own."""
        if not isinstance(t, _Op):
            return
        emit(t.left)
        emit(t.right)
        if t is tree or decimal_text(t.value) is not None:
            out: list[GoldOperand] = []
            sentences.append(f"{expression(t, out)} = {_literal_text(t.value)}.")
            gold.extend(out)

    emit(tree)
    sentences.append(f"The answer is {_literal_text(tree.value)}.")
    return " ".join(sentences), gold, tree.value


def read_rows(path: str | os.PathLike) -> list[dict]:
    """The rows of the folds file, in file order, each with ``index`` (its position among
    its fold's rows) added. Raises ``DataError`` when the file is missing or a row lacks
    ``fold``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found. Set data.dir (or MYCELIUM_DATA_DIR) to a directory holding {FILE}")
    rows, seen = [], [0] * FOLDS
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            fold = int(row.get("fold", -1))
            if not 0 <= fold < FOLDS:
                raise DataError(f"{path}: row {len(rows)} has fold {row.get('fold')!r}, expected 0..{FOLDS - 1}")
            row["fold"], row["index"] = fold, seen[fold]
            seen[fold] += 1
            rows.append(row)
    return rows


def select_split(rows: Sequence[dict], split: str) -> list[dict]:
    """The rows of ``split`` (``all``, ``fold{k}``: fold k's test rows, ``train{k}``: the
    other folds' rows), in file order. Raises ``DataError`` for an unknown split."""
    if split not in SPLITS:
        raise DataError(f"{DATASET} has no split {split!r}; choose one of {list(SPLITS)}")
    if split == "all":
        return list(rows)
    k = int(split[-1])
    test = split.startswith("fold")
    return [r for r in rows if (r["fold"] == k) == test]


def convert_row(row: dict, split: str) -> FoldProblem:
    """One row (from ``read_rows``) as a ``FoldProblem`` loaded from ``split``."""
    values = parse_numbers(row["Numbers"])
    text, spans = fill_numbers(row["Question"], values)
    cot, gold, value = prefix_to_cot(row["Equation"], values, spans)
    answer = format_number(row["Answer"])
    problem = Problem(
        id=f"{ID_PREFIX}/fold{row['fold']}/{row['index']}",
        text=text,
        solution=cot,
        answer=answer,
        dataset=DATASET,
        split=split,
    )
    return FoldProblem(problem, row["fold"], row["index"], spans, values, gold, value == Fraction(row["Answer"]))


def load_fold_problems(data_dir: str | os.PathLike, split: str = "all") -> list[FoldProblem]:
    """Every row of ``split`` under ``data_dir`` (laid out like ``../shared/data``) as a
    ``FoldProblem``, in file order."""
    return [convert_row(r, split) for r in select_split(read_rows(Path(data_dir) / FILE), split)]
