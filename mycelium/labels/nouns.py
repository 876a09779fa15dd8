"""What a number counts: the noun written right after it, in the problem and in the solution.

A solution that writes "$9/person x 2 *people*" counts people; a problem whose only 2 is "$2
*boxes* of stickers" counts boxes. When grounding takes that "$2" for the solution's "2 people"
only because the values are equal, execution still reaches the gold answer and validates a
wrong DAG (the issue's first error kind, "value coincidence": "2 legs" on the "two" of "two
dogs", "100 cents" on "a hundred plates"). :func:`names_other` tells such a pair apart: each
side names a thing right after its number, and neither side's thing is a word of the other's
phrase. A paraphrase that keeps a word of the other side agrees ("the two *daughters*'
haircuts" / "her two young *daughters*"), and so do units written short ("4 mph" / "4 miles
per hour"). Synonyms with no word in common ("3 *houses*" / "3 *homes*") are flagged too, which
is why ``unit_mismatch`` is counted, not rejected, by default (a reviewer found 12 of 40
flagged problems wrong: docs/RESULTS.md, "Session 14").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS

from mycelium.labels.lexical import stem

Span = tuple[int, int]
_WORD = re.compile(r"[A-Za-z]+")
_AFTER = re.compile(r"[\s-]*([A-Za-z]+)")
# words written after a number that do not name what it counts: arithmetic, money (the "$" of
# the text already says it), and adjectives of amount
NOT_A_NOUN = frozenset(
    "plus minus equals equal times total extra initial additional divided multiplied remaining left whole new "
    "original dollar dollars cent cents buck bucks percent more less x".split()
)
# short and irregular forms, mapped to the stem of the word they stand for
SAME_AS = {
    "mph": "mile", "hrs": "hour", "hr": "hour", "min": "minut", "mins": "minut", "sec": "second", "secs": "second",
    "ft": "foot", "feet": "foot", "lb": "pound", "lbs": "pound", "oz": "ounc", "yd": "yard", "yds": "yard",
    "km": "kilomet", "gal": "gallon", "gals": "gallon", "qt": "quart", "pt": "pint", "pcs": "piec",
    "people": "person", "men": "man", "women": "woman", "children": "child", "kids": "kid", "teeth": "tooth",
    "mice": "mous", "geese": "goos",
}
WIDTH = 40  # chars on each side of a number that make its phrase


def canonical(word: str) -> str:
    """The stem a word is compared by: its short or irregular form's (``SAME_AS``), else Snowball's."""
    w = word.lower()
    if w in SAME_AS:
        return SAME_AS[w]
    s = stem(w)
    return s[:-1] + "f" if s.endswith("v") else s  # "scarves" -> "scarv" -> "scarf", as "scarf"


def _content(word: str) -> bool:
    return len(word) >= 2 and word.lower() not in STOP_WORDS and word.lower() not in NOT_A_NOUN


def counted_noun(text: str, end: int) -> str | None:
    """The canonical stem of the word written right after char ``end`` of ``text`` ("2
    *people*", "4-*foot*"); None when a symbol, a stop word or ``NOT_A_NOUN`` comes first."""
    m = _AFTER.match(text, end)
    if m is None or not _content(m.group(1)) or len(m.group(1)) < 3 and m.group(1).lower() not in SAME_AS:
        return None
    return canonical(m.group(1))


def phrase_stems(text: str, span: Span, width: int = WIDTH) -> frozenset[str]:
    """Canonical stems of the content words within ``width`` chars of ``span``, both sides."""
    near = text[max(0, span[0] - width):span[0]] + " " + text[span[1]:span[1] + width]
    return frozenset(canonical(w) for w in _WORD.findall(near) if _content(w))


def similar(a: str, b: str) -> bool:
    """Are two stems one word, or one a prefix of the other ("large" ~ "largest", "mow" ~ "mowing")?"""
    return a == b or (min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a)))


@dataclass(frozen=True)
class Counted:
    """What one written number counts: the noun right after it and the words of its phrase."""

    noun: str | None  # ``counted_noun``
    phrase: frozenset[str]  # ``phrase_stems``

    @classmethod
    def at(cls, text: str, span: Span) -> "Counted":
        noun = counted_noun(text, span[1])  # no noun: ``names_other`` never reads the phrase
        return cls(noun, phrase_stems(text, span) if noun is not None else frozenset())


def names_other(said: Counted, written: Counted) -> bool:
    """Does the solution's number (``said``) count another thing than the problem's
    (``written``)? True when both name a thing right after the number, the solution's thing is
    no word of the problem number's phrase, and the problem's thing is no word of the solution
    number's phrase ("$9/person x 2 people" against "$2 boxes of stickers"); False when either
    names nothing."""
    if said.noun is None or written.noun is None:
        return False
    return (not any(similar(said.noun, w) for w in written.phrase)
            and not any(similar(written.noun, w) for w in said.phrase))
