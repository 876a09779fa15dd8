"""Relation cues: the words of a problem text that state an operation.

The design's region for an operation is the clause that *states* it. Operand numbers say
where an operation's data is; the relation word says where the operation is: "half as many",
"three times as much", "how many are left", "25% of", "each", "per". With a weak teacher the
attention (IAF) rarely finds these words, so a lexicon marks them and the region choice
weighs them (``labels.source=cues`` or ``all``).

``CUES`` maps each op to the word patterns that may state it (regexes, case-insensitive,
matched on whole words). A word may cue several ops ("each", "per": MUL and DIV; "more":
ADD, or SUB in "how many more"): the lexicon is a highlight source, not a classifier.
``QUESTION_CUES`` are the relations a question can state ("how many more", "in total",
"left", "on average"); when the last op's question states its relation, the question is
its region.
"""

from __future__ import annotations

import re
from functools import lru_cache

_W = r"(?<![A-Za-z])(?:{})(?![A-Za-z])"

CUES: dict[str, tuple[str, ...]] = {
    "ADD": (
        r"total", r"altogether", r"in all", r"combined", r"together", r"sum", r"plus", r"more",
        r"add(?:s|ed|ing)?", r"increase[sd]?", r"gain(?:s|ed)?", r"both", r"extra", r"another",
        r"additional", r"longer", r"older", r"taller", r"rais(?:e|es|ed|ing)", r"ris(?:e|es|en|ing)", r"rose",
        r"grow(?:s|n|ing)?", r"grew",
    ),
    "SUB": (
        r"left", r"remain(?:s|ed|ing|der)?", r"rest", r"fewer", r"less", r"differen(?:ce|t)",
        r"more than", r"how (?:many|much) more", r"spen[dt]s?", r"gave", r"gives?", r"given",
        r"lost", r"lose[s]?", r"ate", r"eats?", r"minus", r"change", r"decrease[sd]?",
        r"discount(?:ed)?", r"off", r"cheaper", r"shorter", r"younger", r"except", r"away",
        r"short", r"under", r"drop(?:s|ped|ping)?", r"fall(?:s|en|ing)?", r"fell", r"shr[iau]nk\w*",
        r"did(?:n't| not) (?:show|come|turn|attend)", r"absent", r"dispos\w+", r"remov\w+", r"broke(?:n)?",
        r"threw|thrown|throws? (?:away|out)", r"donat(?:e|es|ed|ing)", r"withdr(?:ew|aw|aws|awn|awing)",
    ),
    "MUL": (
        r"times", r"each", r"per", r"every", r"twice", r"doubl\w*", r"tripl\w*", r"thrice",
        r"quadrupl\w*", r"a (?:day|week|month|year|hour|minute)", r"dozens?", r"%",
        r"percent", r"apiece", r"as (?:many|much)",
    ),
    "DIV": (
        r"hal(?:f|ves|ved|ve)", r"split\w*", r"shar\w+", r"divid\w+", r"equal(?:ly)?", r"per",
        r"each", r"average", r"every", r"thirds?", r"quarters?", r"fourths?", r"fifths?",
        r"ratio", r"%", r"percent", r"among", r"between", r"how many times", r"fraction",
    ),
}

QUESTION_CUES: dict[str, tuple[str, ...]] = {
    "ADD": (r"total", r"altogether", r"in all", r"combined", r"together", r"sum", r"both", r"all",
            r"everything", r"including", r"the (?:two|three|four|five) [a-z]+s", r"entire", r"whole",
            r"from [A-Z][a-z]+ (?:to|through) [A-Z][a-z]+"),
    "SUB": (r"left", r"remain\w*", r"how (?:many|much)(?: [a-z]+)? more", r"how (?:many|much)(?: [a-z]+)? less",
            r"fewer", r"differen\w+", r"change", r"rest", r"longer", r"older", r"save[sd]?",
            r"cheaper", r"shorter", r"younger", r"profit", r"lose", r"lost", r"beat", r"still need\w*",
            r"missing", r"not", r"short", r"keeps?", r"kept", r"increase[sd]?", r"get back", r"over the"),
    "MUL": (r"each", r"per", r"every", r"how many (?:minutes|seconds|inches|ounces|months|days|cents)", r"total",
            r"in all", r"altogether"),
    "DIV": (r"each", r"per", r"average", r"percent(?:age)?", r"how many times", r"what fraction",
            r"how many (?:hours|minutes|days|weeks|feet|yards|dollars|dozens?)"),
}

# the unit a question asks its answer in ("how long, in minutes, ...", "(in dollars)"): the
# conversion into a smaller unit is a product, into a larger one a quotient. A question cue
# only for a step converting units, not one that takes "twice" or "a third" of a quantity
QUESTION_UNITS: dict[str, tuple[str, ...]] = {
    "MUL": (r"in (?:minutes|seconds|inches|ounces|cents|hours|days)",),
    "DIV": (r"in (?:hours|days|weeks|months|years|feet|yards|miles|dollars|dozens|gallons|pounds|meters)",),
}

# a clause that states a per-unit relation: "each", "per", "every", "an hour", "to walk a
# poodle", "to make one bracelet", "12 inches to a foot", "for $80" (the price of one item)
RATE = re.compile(r"(?<![A-Za-z])(?:each|per|every|apiece|an? (?:day|week|month|year|hour|minute|second)|"
                  r"to (?:[a-z]+ ){0,2}(?:a|an|one)|for \$\s?\d)(?![A-Za-z])", re.IGNORECASE)


@lru_cache(maxsize=None)
def _pattern(words: tuple[str, ...]) -> re.Pattern:
    return re.compile(_W.format("|".join(words)), re.IGNORECASE)


def cue_spans(text: str, op: str, question: bool = False, units: bool = False) -> list[tuple[int, int]]:
    """Char spans of the words in ``text`` that may state ``op`` (``QUESTION_CUES`` when
    ``question``; with ``units``, ``QUESTION_UNITS`` too), in text order. An op outside the
    lexicon has no cues: []."""
    words = (QUESTION_CUES if question else CUES).get(op, ()) + (QUESTION_UNITS.get(op, ()) if units else ())
    if not words:
        return []
    return [m.span() for m in _pattern(words).finditer(text)]
