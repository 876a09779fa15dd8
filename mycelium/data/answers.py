"""Gold-answer extraction and answer checking.

Checking goes through math-verify, after a light normalisation for what it does not handle
itself: thousands commas in plain text ("1,200") and LaTeX's ``{,}`` separator ("9{,}500"),
mixed numbers ("2 1/2", "2\\frac{1}{2}"), and LaTeX not wrapped in ``$``.

A generated CoT's answer (``extract_answer``) is, in order: the last ``\\boxed{}``, a
``#### N`` line, the last "the answer is N", and failing all three the last number in the
text (lm-evaluation-harness's GSM8K "flexible-extract": "... total = 694." gives "694").
"""

from __future__ import annotations

import re
from fractions import Fraction

from math_verify import parse, verify

from mycelium.dag.graph import float_repr_close, parse_value

_GSM8K_FINAL = re.compile(r"####\s*(.+?)\s*$", re.MULTILINE)
_ANNOTATION = re.compile(r"<<([^<>]*)>>")
_MIXED_LATEX = re.compile(r"(?<![\d.])(\d+)\s*\\d?frac\{(\d+)\}\{(\d+)\}")
_MIXED_PLAIN = re.compile(r"(?<![\d./])(\d+)\s+(\d+)/(\d+)(?![\d/])")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_LATEX_THOUSANDS = re.compile(r"(?<=\d)\{,\}(?=\d{3}(?!\d))")  # "9{,}500"
# A number for the last-number fallback: optional sign and "$", digits with thousands commas
# (a comma group of other than 3 digits ends the number: "3,4" is 3 then 4), an optional
# decimal part or "/denominator". "1,200." gives "1,200" (the sentence's full stop is not kept).
_LAST_NUMBER = re.compile(r"[-−]?\$?(?:\d{1,3}(?:,\d{3})+(?!\d|,\d)|\d+)(?:\.\d+|/\d+)?|[-−]?\.\d+")
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
    """The final answer stated in a generated CoT: ``\\boxed{}``, ``#### N`` or "the answer is N";
    without any of them the last number in the text (commas and "$" removed), as
    lm-evaluation-harness's GSM8K flexible-extract does. None when the text has no number.

    LaTeX thousands separators are removed from what is returned: ``\\boxed{9{,}500}`` -> "9500".
    """
    for found in (extract_boxed(cot), extract_gsm8k_answer(cot)):
        if found:
            return _LATEX_THOUSANDS.sub("", found)
    matches = _ANSWER_IS.findall(cot)
    if matches:
        return _THOUSANDS.sub("", matches[-1])
    numbers = _LAST_NUMBER.findall(_LATEX_THOUSANDS.sub("", cot))
    return numbers[-1].replace(",", "").replace("$", "").replace("−", "-") if numbers else None


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
    s = _LATEX_THOUSANDS.sub("", s)
    s = _THOUSANDS.sub("", s)
    s = _MIXED_LATEX.sub(lambda m: f"({m.group(1)}+{m.group(2)}/{m.group(3)})", s)
    s = _MIXED_PLAIN.sub(lambda m: f"({m.group(1)}+{m.group(2)}/{m.group(3)})", s)
    if "\\" in s and "$" not in s:
        s = f"${s}$"  # math-verify finds LaTeX only inside math delimiters
    return s


def answers_match(pred: str | None, gold: str | None) -> bool:
    """True when ``pred`` equals ``gold`` mathematically (math-verify, after normalisation), or
    ``gold`` is a float's repr that an exact ``pred`` rounds to (``float_repr_close``)."""
    if pred is None or gold is None or not pred.strip() or not gold.strip():
        return False
    value = parse_value(pred)
    if value is not None and not value[1] and float_repr_close(value[0], gold):
        return True  # MAWPS's float-repr golds ("0.9166666666666666") against an exact answer
    try:
        return bool(verify(parse(_normalise(gold)), parse(_normalise(pred))))
    except Exception:  # math-verify raises on pathological input; a non-match is the answer
        return False
