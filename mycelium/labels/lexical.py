"""Lexical highlights: the problem words a solution step repeats, as a stand-in for attention.

The design's IAF asks which problem tokens a CoT step attends to. A solution sentence usually
restates the clause it computes ("He can harvest his oranges 12/2 = 6 times a year" for "He can
harvest his oranges every 2 months"), so the problem words it repeats point at the clause that
states the op even where a small teacher's attention does not. :func:`lexical_highlights`
returns, for one op, the problem tokens whose word stem the op's solution sentence also writes
(stop words and numbers left out), each weighted so that a stem shares its weight among its
occurrences in the problem (a name written in every sentence says little about which one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import snowballstemmer
from spacy.lang.en.stop_words import STOP_WORDS

from mycelium.labels.clauses import ParsedText

Span = tuple[int, int]
_WORD = re.compile(r"[A-Za-z]+")
# a sentence of the solution ends at a newline, or at ". " / "? " / "! " before a capital or digit
_SENTENCE_END = re.compile(r"\n+|(?<=[.?!])\s+(?=[A-Z0-9$])")
_STEMMER = snowballstemmer.stemmer("english")  # Porter2: "shirts" and "shirt" -> "shirt"


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """The Snowball (Porter2) stem of a word, lowercased, without a possessive "'s"."""
    return _STEMMER.stemWord(word.lower().removesuffix("'s"))


def _content(word: str) -> bool:
    return len(word) >= 3 and word.lower() not in STOP_WORDS


def sentence_at(text: str, pos: int) -> Span:
    """Char span of the sentence of ``text`` holding char ``pos`` (``_SENTENCE_END`` cuts)."""
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() >= pos:
            return start, m.start()
        start = m.end()
    return start, len(text)


def solution_stems(cot: str, pos: int) -> set[str]:
    """Stems of the content words of the solution sentence holding char ``pos`` of ``cot``."""
    a, b = sentence_at(cot, pos)
    return {stem(w) for w in _WORD.findall(cot[a:b]) if _content(w)}


@dataclass(frozen=True)
class TokenStems:
    """The stems of a problem's tokens as integer ids: ``ids`` [n tokens] (-1 for a stop word,
    a number, punctuation or a word under 3 letters) and ``vocab`` (stem -> id)."""

    ids: np.ndarray
    vocab: dict[str, int]


def token_stems(parsed: ParsedText) -> TokenStems:
    """The stems of ``parsed``'s tokens, computed once per problem."""
    vocab: dict[str, int] = {}
    ids = [vocab.setdefault(stem(w), len(vocab)) if c and not n and _content(w) else -1
           for w, c, n in zip(parsed.words, parsed.is_content, parsed.is_num)]
    return TokenStems(np.array(ids, dtype=np.int64), vocab)


def lexical_highlights(parsed: ParsedText, tokens: TokenStems, stems: set[str], sents: set[int],
                       weight: float) -> tuple[list[Span], list[float]]:
    """Problem tokens in sentences ``sents`` (indices into ``parsed.sent_spans``) whose stem
    (``tokens``, from :func:`token_stems`) is in ``stems``, as char spans with weights:
    ``weight`` split equally among the stems found, and a stem's share split among its
    occurrences. Returns ([], []) when none match."""
    wanted = [tokens.vocab[st] for st in stems if st in tokens.vocab]
    if not wanted or not sents or weight <= 0:
        return [], []
    hit = np.flatnonzero(np.isin(tokens.ids, wanted) & np.isin(parsed.sent, list(sents)))
    if len(hit) == 0:
        return [], []
    _, inverse, counts = np.unique(tokens.ids[hit], return_inverse=True, return_counts=True)
    weights = weight / len(counts) / counts[inverse]
    return [(int(parsed.starts[t]), int(parsed.ends[t])) for t in hit], weights.tolist()
