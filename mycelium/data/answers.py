"""Gold-answer extraction and answer checking.

Checking goes through math-verify, after a light normalisation for what it does not handle
itself: thousands commas in plain text ("1,200"), mixed numbers ("2 1/2", "2\\frac{1}{2}"),
and LaTeX not wrapped in ``$``.
"""

from __future__ import annotations

import re
from fractions import Fraction

from math_verify import parse, verify

_GSM8K_FINAL = re.compile(r"####\s*(.+?)\s*$", re.MULTILINE)
_ANNOTATION = re.compile(r"<<([^<>]*)>>")
_MIXED_LATEX = re.compile(r"(?<![\d.])(\d+)\s*\\d?frac\{(\d+)\}\{(\d+)\}")
_MIXED_PLAIN = re.compile(r"(?<![\d./])(\d+)\s+(\d+)/(\d+)(?![\d/])")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_ANSWER_IS = re.compile(r"answer is[:\s]*\$?\\?\$?\s*([-−]?[\d,]*\.?\d+(?:/\d+)?)", re.IGNORECASE)


def extract_gsm8k_answer(solution: str) -> str | None:
    """The final answer after ``####`` in a GSM8K solution, commas removed; None if absent."""
    m = _GSM8K_FINAL.search(solution)
    return _THOUSANDS.sub("", m.group(1)).strip() if m else None


def extract_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``) in ``text``, braces balanced."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):  # a brace scan: answers are short, this is not a hot path
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip()
    return None


def extract_answer(cot: str) -> str | None:
    """The final answer stated in a generated CoT: ``\\boxed{}``, ``#### N`` or "the answer is N"."""
    for found in (extract_boxed(cot), extract_gsm8k_answer(cot)):
        if found:
            return found
    matches = _ANSWER_IS.findall(cot)
    return _THOUSANDS.sub("", matches[-1]) if matches else None


def clean_gsm8k_solution(solution: str) -> tuple[str, list[tuple[int, str]]]:
    """Remove GSM8K calculator annotations and the ``#### N`` line.

    Returns the natural CoT text (ending "The answer is N.") and, for each removed
    ``<<48/2=24>>``, the char position in the cleaned text where it stood and its content.
    """
    annotations: list[tuple[int, str]] = []
    pieces: list[str] = []
    last, removed = 0, 0
    for m in _ANNOTATION.finditer(solution):
        pieces.append(solution[last : m.start()])
        annotations.append((m.start() - removed, m.group(1)))
        removed += m.end() - m.start()
        last = m.end()
    pieces.append(solution[last:])
    text = "".join(pieces)
    final = _GSM8K_FINAL.search(text)
    if final:
        answer = final.group(1).strip()
        text = text[: final.start()].rstrip() + f"\nThe answer is {answer}."
    return text, annotations


def format_number(x: float | int | str | Fraction) -> str:
    """A plain answer string: integers without ``.0``, other floats as written."""
    if isinstance(x, str):
        x = float(x)  # MAWPS stores some solutions as strings ("11687.0")
    if isinstance(x, Fraction):
        return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"
    if float(x).is_integer():
        return str(int(x))
    return repr(float(x))


def _normalise(answer: str) -> str:
    s = answer.strip().replace("−", "-")
    s = _THOUSANDS.sub("", s)
    s = _MIXED_LATEX.sub(lambda m: f"({m.group(1)}+{m.group(2)}/{m.group(3)})", s)
    s = _MIXED_PLAIN.sub(lambda m: f"({m.group(1)}+{m.group(2)}/{m.group(3)})", s)
    if "\\" in s and "$" not in s:
        s = f"${s}$"  # math-verify finds LaTeX only inside math delimiters
    return s


def answers_match(pred: str | None, gold: str | None) -> bool:
    """True when ``pred`` equals ``gold`` mathematically (math-verify, after normalisation)."""
    if pred is None or gold is None or not pred.strip() or not gold.strip():
        return False
    try:
        return bool(verify(parse(_normalise(gold)), parse(_normalise(pred))))
    except Exception:  # math-verify raises on pathological input; a non-match is the answer
        return False
