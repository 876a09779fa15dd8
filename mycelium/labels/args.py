"""Operands in problem text: written numbers, implicit constants, and operand matching.

Validation (phase 5) asks of every op: is each literal operand written in its own region
("48"), or implied by a word of that region ("half" -> 2), while every other operand is an
earlier step's result? This module finds the candidates and matches values against them.

Conventions
-----------
- Values are exact rationals written as strings ("48", "7/2"), spans are char spans into
  the *full* problem text (``offset`` is the region's start), so ``text[a.span[0]:a.span[1]]
  == a.text`` for every returned ``Arg``.
- Percent: "25%" is the number 25 (its text keeps the "%"), and the "%" (or "percent") is
  a separate implicit operand 100, so "25% of 80" grounds as MUL(DIV(25, 100), 80) like
  GSM8K's "25/100*80". ``match_operand`` also accepts 1/4 for "25%" (".25*80").
- Fraction words use the *denominator*: "half" -> 2, "a third" -> 3, "quarter" -> 4, so
  "half as many" = DIV(x, 2) matches GSM8K's "48/2". The reciprocal (1/2) is an
  alternative ``match_operand`` also accepts ("0.5*48"). ``Arg`` has no field for
  alternatives, so they are derived from the Arg's text by ``alternatives`` (no schema
  change needed; a stored ``alternatives`` field would be a convenience, not a need).
- Ordinals ("first", "the third day") are not numbers. "third", "fifth", ... count as a
  fraction only after a quantity word ("a third", "two-fifths", "3 fourths"), and not before
  "grade", "floor", "place", ... ("a third grade teacher", "64 seventh graders").
- Negative numbers and scientific notation are not read (absent from GSM8K problem text).
- Commas: "1,200" and "1,000,000" are thousands (every group after a comma exactly 3 digits);
  any other comma group makes a list: "3,4 or 5" -> 3, 4, 5; "1,2345" -> 1, 2345.
- Clock times are one quantity, the hours shown on the clock as an exact rational:
  "3:30 pm" -> 7/2 (3.5 hours past noon), "10:45" -> 43/4, "9:00 a.m." -> 9, "12:15:30" ->
  12 + 15/60 + 30/3600. The "am"/"pm" stays in the Arg's text but does not change the value,
  the same as "3 pm" -> 3: GSM8K solutions compute with the clock as written ("5 - 3.5 = 1.5
  hours"), and a 24-hour value (15.5) would ground neither that nor a bare "3 pm". A time is
  ``h:mm`` with 0 <= h <= 23 and two-digit minutes 00-59 (optional ``:ss``); a ratio "3:2"
  stays two numbers, but one written "10:15" reads as a time.

Implicit operands (``IMPLICIT``; value, then alternatives):

====================================  =====  ============  ===============================
words                                 value  alternatives  meaning
====================================  =====  ============  ===============================
half, halves, halved                  2      1/2           x/2 or x*0.5
midway, halfway                       2      1/2           the middle of a distance or time
twice, double(d), doubles             2                    x*2
triple(d), thrice                     3
quadruple(d)                          4
both, pair(s), couple(s)              2
dozen(s)                              12
a/one/N third(s) ... tenth(s)         n      1/n           "a third" = x/3 (not "sixth-grade")
quarter(s)                            4      1/4, 25       a fourth; 25 cents
%, percent, per cent                  100    1/100
dime(s) / nickel(s) / penny, pennies  10/5/1 1/10, 1/20,   cents per coin
                                             1/100
cent(s)                               100                  cents per dollar
week(s), weekly                       7                    days
weekend(s)                            2                    days
day(s), daily                         24                   hours
hour(s), hourly                       60                   minutes
minute(s)                             60                   seconds / minutes per hour
seconds                               60
month(s), monthly                     30     4             days; weeks
year(s), yearly, annual(ly)           12     52, 365       months; weeks; days
January ... December (capitalised,    31/30  (Feb: 29)     days in that month
  after "in", "of", "during", ...;    /28
  not May)
decade(s) / century, centuries        10/100
foot, feet / inch(es)                 12                   inches per foot
yard(s)                               3      36            feet; inches
mile(s)                               5280                 feet
pound(s)                              16                   ounces
gallon(s)                             4      128           quarts; fluid ounces
liter(s), litre(s), kilo..., km, kg   1000                 milli-/base units
meter(s), metre(s)                    100                  centimeters
round trip, back and forth, each way  2                    a trip counted both ways
weekday(s)                            5                    days per week, Monday to Friday
days listed or a range: "Monday,      n                    how many days are named (2-7;
  Wednesday, and Friday", "Monday                          capitalised; a list not after
  through Friday", "Sunday to                              "from"; a range inclusive)
  Thursday"
herself, himself, myself, yourself    1                    one person counted with others:
  after "and"/"including", or before                       "5 chaperones, and herself",
  "and" + a noun phrase                                    "for herself and her friends"
a capitalised name before "and her 3  1                    the named person: "Jean and her
  ..." or "and 4 of his ..."                               three friends" = 1 + 3
3 to 6 capitalised names listed:      n                    how many names are listed (not
  "Sarah, Mary, and Tuan"                                  days, months, "However, ...")
ton(s)                                2000                 pounds
quart(s)                              32     2             fluid ounces; pints
pint(s)                               16     2             fluid ounces; cups
gallon(s) (a second row)              8      16            pints; cups
the rest, the remainder               100    1             the whole a rest is left of:
                                                           "100% - 50% - 25%"
====================================  =====  ============  ===============================

The rows of a count the text implies (a weekday, days named, a person, names listed) are,
like a unit's size, only a guess at an unwritten constant: ``conversion`` rows, which lose
to a written number of their value (``grounding.Grounder``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from fractions import Fraction
from typing import Sequence

from text_to_num import text2num

from mycelium.dag.graph import format_value
from mycelium.dag.steps import Arg
from mycelium.labels.implied_counts import COUNTED_COMPANY, SELF, SELF_AND, named_days, named_list

# A written number: optional "$", then a clock time "3:30 pm" / "10:45", a mixed number
# "1 1/2", a fraction "3/4", or a decimal with optional thousands commas "1,200.50" / ".25";
# then an optional percent. A comma group of other than 3 digits ("3,4 or 5", "1,2345") is a
# list, so thousands must be all 3-digit groups and a number may follow a comma.
_NUMBER = re.compile(
    r"(?<![\w./$])"
    r"(?P<money>\$\s?)?"
    r"(?:(?P<time>(?P<hh>[01]?\d|2[0-3]):(?P<mm>[0-5]\d)(?!\d)(?::(?P<ss>[0-5]\d))?"
    r"(?:\s?(?P<ampm>[ap]\.?m\b\.?))?)"
    r"|(?P<mixed>(?P<whole>\d+)\s+(?P<mnum>\d+)/(?P<mden>\d+))"
    r"|(?P<frac>(?P<fnum>\d+)/(?P<fden>\d+)(?:st|nd|rd|th)?)"  # "1/3rd" is the fraction 1/3
    r"|(?P<dec>(?:\d{1,3}(?:,\d{3})+(?!\d|,\d)|\d+)(?:\.\d+)?|\.\d+))"
    r"(?!\d|/\d|(?<=1)st\b|(?<=2)nd\b|(?<=3)rd\b|th\b)"  # not "1st", "4th", "3/4/2020"; "$4/pound" is $4
    r"(?P<pct>\s?%|\s?(?:percent|per cent)\b)?",
    re.IGNORECASE,
)

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
          "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ("hundred", "thousand", "million", "billion")
_NUMBER_WORDS = frozenset(_UNITS + _TENS + list(_SCALES))
_WORD = re.compile(r"[A-Za-z]+")


def _number_value(m: re.Match) -> Fraction:
    if m.group("time"):  # hours on the clock as written; am/pm does not change the value
        seconds = int(m.group("ss") or 0)
        return int(m.group("hh")) + Fraction(int(m.group("mm")), 60) + Fraction(seconds, 3600)
    if m.group("mixed"):
        return int(m.group("whole")) + Fraction(int(m.group("mnum")), int(m.group("mden")))
    if m.group("frac"):
        return Fraction(int(m.group("fnum")), int(m.group("fden")))
    return Fraction(m.group("dec").replace(",", ""))


def _written_numbers(text: str, offset: int) -> list[Arg]:
    out = []
    for m in _NUMBER.finditer(text):
        try:
            value = _number_value(m)
        except ZeroDivisionError:  # "3/0" is not a number
            continue
        start, end = m.span()
        out.append(Arg("number", format_value(value), text=m.group(0), span=(offset + start, offset + end)))
    return out


def _word_numbers(text: str, offset: int) -> list[Arg]:
    """Runs of number words ("forty-five", "a hundred and twelve") via text2num."""
    words = list(_WORD.finditer(text))
    out, i = [], 0
    while i < len(words):
        w = words[i].group(0).lower()
        starts_with_a = w in ("a", "an") and i + 1 < len(words) and words[i + 1].group(0).lower() in _SCALES
        if w not in _NUMBER_WORDS and not starts_with_a:
            i += 1
            continue
        j = i + 1  # extend the run over number words joined by spaces, hyphens or "and"
        while j < len(words):
            gap = text[words[j - 1].end() : words[j].start()]
            nxt = words[j].group(0).lower()
            if gap.strip() not in ("", "-"):
                break
            if nxt == "and" and j + 1 < len(words) and words[j + 1].group(0).lower() in _NUMBER_WORDS \
                    and words[j - 1].group(0).lower() in _SCALES:
                j += 1
                continue
            if nxt not in _NUMBER_WORDS:
                break
            j += 1
        run = words[i:j]
        while run:  # text2num rejects ill-formed runs ("five six"); shrink from the right
            names = [r.group(0).lower() for r in run]
            phrase = " ".join(["one"] + names[1:] if starts_with_a else names)  # "a hundred"
            try:
                value = text2num(phrase, "en")
                break
            except ValueError:
                run = run[:-1]
        if not run:  # even the first word alone failed (e.g. a bare "a"): skip it
            i += 1
            continue
        start, end = run[0].start(), run[-1].end()
        out.append(Arg("number", str(value), text=text[start:end], span=(offset + start, offset + end)))
        i += len(run)
    return out


def extract_numbers(text: str, offset: int = 0) -> list[Arg]:
    """Every number written in ``text`` (digits or words), as ``Arg(kind="number")`` sorted
    by position, with exact values and spans shifted by ``offset``.

    "1,200" -> 1200, ".25" -> 1/4, "$12" -> 12 (text "$12"), "25%" -> 25 (text "25%"),
    "3/4" -> 3/4, "1 1/2" -> 3/2, "forty-five" -> 45, "a hundred" -> 100.
    """
    args = _written_numbers(text, offset) + _word_numbers(text, offset)
    return sorted(args, key=lambda a: a.span)


@dataclass(frozen=True)
class Implicit:
    """A word that implies a constant. ``words`` is a regex of the word forms; ``quantified``
    words count only after a quantity ("a third", "two-fifths": not "the third day")."""

    words: str
    value: Fraction
    alternatives: tuple[Fraction, ...] = ()
    meaning: str = ""
    quantified: bool = False
    # a unit's size ("hours" = 60, "liters" = 1000) or a count the text implies ("Monday to
    # Friday" = 5), not a relation between quantities: a written number of the same value is the
    # operand rather than the implied word
    conversion: bool = False
    # text that must come right before / after the word, not part of its span ("and herself")
    before: str = ""
    after: str = ""


_F = Fraction
# fixed-width look-behinds (Python's re needs them): a month name after one of these words
_MONTH_CONTEXT = "(?:" + "|".join(rf"(?<=\b{w} )" for w in (
    "in", "of", "during", "through", "throughout", "for", "each", "every", "last", "next", "this", "until", "by",
    "all", "early", "late", "mid")) + ")"


def _months(names: str) -> str:
    """A capitalised month name after a time word (``_MONTH_CONTEXT``); the look-ahead for the
    name comes first, so most positions fail before the look-behinds are tried."""
    return rf"(?=(?-i:{names})){_MONTH_CONTEXT}(?-i:{names})"


MIDWAY = r"midway|halfway"  # the middle: half of a distance or a time, like "half"
WHOLE_REST = r"rest|remainder"  # after "the": what is left of a whole
IMPLICIT: tuple[Implicit, ...] = (
    Implicit(r"half|halves|halved|halve", _F(2), (_F(1, 2),), "x/2 or x*1/2"),
    Implicit(r"twice|double|doubled|doubles|doubling", _F(2), (), "x*2"),
    Implicit(r"triple|tripled|triples|thrice", _F(3), (), "x*3"),
    Implicit(r"quadruple|quadrupled|quadruples", _F(4), (), "x*4"),
    Implicit(r"both|pairs?|couples?", _F(2), (), "two of them"),
    Implicit(r"dozens?", _F(12), (), "12 per dozen"),
    *(
        Implicit(rf"{word}s?", _F(n), (_F(1, n),), f"1/{n}", quantified=True)
        for word, n in (("third", 3), ("fourth", 4), ("fifth", 5), ("sixth", 6), ("seventh", 7),
                        ("eighth", 8), ("ninth", 9), ("tenth", 10))
    ),
    Implicit(r"quarters?", _F(4), (_F(1, 4), _F(25)), "a fourth; 25 cents"),
    Implicit(r"%|percent|per cent", _F(100), (_F(1, 100),), "x/100"),
    Implicit(r"dimes?", _F(10), (_F(1, 10),), "cents per dime", conversion=True),
    Implicit(r"nickels?", _F(5), (_F(1, 20),), "cents per nickel", conversion=True),
    Implicit(r"penny|pennies", _F(1), (_F(1, 100),), "cents per penny", conversion=True),
    Implicit(r"cents?", _F(100), (), "cents per dollar", conversion=True),
    Implicit(r"weeks?|weekly", _F(7), (), "days per week", conversion=True),
    Implicit(r"weekends?", _F(2), (), "days per weekend", conversion=True),
    Implicit(r"days?|daily", _F(24), (), "hours per day", conversion=True),
    Implicit(r"hours?|hourly", _F(60), (), "minutes per hour", conversion=True),
    Implicit(r"minutes?", _F(60), (), "seconds per minute, minutes per hour", conversion=True),
    Implicit(r"seconds", _F(60), (), "seconds per minute", conversion=True),
    Implicit(r"months?|monthly", _F(30), (_F(4),), "days; weeks per month", conversion=True),
    Implicit(r"years?|yearly|annual|annually", _F(12), (_F(52), _F(365)), "months; weeks; days", conversion=True),
    Implicit(r"decades?", _F(10), (), "years per decade", conversion=True),
    Implicit(r"century|centuries", _F(100), (), "years per century", conversion=True),
    Implicit(r"foot|feet|inch|inches", _F(12), (), "inches per foot", conversion=True),
    Implicit(r"yards?", _F(3), (_F(36),), "feet; inches per yard", conversion=True),
    Implicit(r"miles?", _F(5280), (), "feet per mile", conversion=True),
    Implicit(r"pounds?", _F(16), (), "ounces per pound", conversion=True),
    Implicit(r"gallons?", _F(4), (_F(128),), "quarts; fluid ounces per gallon", conversion=True),
    Implicit(r"lit(?:er|re)s?|kilo[a-z]*|km|kg", _F(1000), (), "milli-/base units per unit", conversion=True),
    Implicit(r"met(?:er|re)s?", _F(100), (), "centimeters per meter", conversion=True),
    # rows below were added after learned_wiring's MLP features were sized (len(IMPLICIT)): a
    # saved MLP wiring from before them asks to be refitted; new rows go at the end
    Implicit(r"round[\s-]trips?|back and forth|both ways|each way|there and back|to and from", _F(2), (),
             "a trip counted both ways"),
    # a named month is its days ("his income in June" = 30): capitalised, after a word that
    # makes it a time ("in", "of", "during", ...), so "June has 3 cats" and "may" are not
    Implicit(_months("January|March|July|August|October|December"), _F(31), (), "days in the month", conversion=True),
    Implicit(_months("April|June|September|November"), _F(30), (), "days in the month", conversion=True),
    Implicit(_months("February"), _F(28), (_F(29),), "days in the month", conversion=True),
    Implicit(MIDWAY, _F(2), (_F(1, 2),), "x/2 or x*1/2: the middle of a distance or time"),
    # "weekdays" are 5 days of a week, as a "weekend" is 2 ("weeks?" does not match it)
    Implicit(r"weekdays?", _F(5), (), "days per week, Monday to Friday", conversion=True),
    # days named in a list or a range ("On Monday, Wednesday, and Friday", "Monday through
    # Friday") are their count, one row per count. Like a unit's size the count is only a guess
    # at an unwritten constant, so it loses to a written number of its value (conversion)
    *(Implicit(named_days(n), _F(n), (), "how many days are named", conversion=True) for n in range(2, 8)),
    # the one counted with the others: "35 children, 5 chaperones, and herself", "including
    # himself", "for herself and her 5 friends" (not "hurts himself and decides"); and a person
    # named with a counted company: "Jean and her three friends", "James and 4 of his friends"
    Implicit(SELF, _F(1), (), "one person, counted with others", conversion=True, before=r"\b(?:and|including) "),
    Implicit(SELF, _F(1), (), "one person, counted with others", conversion=True, after=SELF_AND),
    Implicit(r"(?-i:[A-Z][a-z]+)", _F(1), (), "one person, named with a counted company", conversion=True,
             after=COUNTED_COMPANY),
    # three to six names listed ("Sarah, Mary, and Tuan") are their count, as days named are
    *(Implicit(named_list(n), _F(n), (), "how many names are listed", conversion=True) for n in range(3, 7)),
    # US units GSM8K solutions convert without writing the size ("one ton is 2000 pounds", "a quart
    # is 32 ounces", "4.5 * 8 pints" of gallons)
    Implicit(r"tons?", _F(2000), (), "pounds per ton", conversion=True),
    Implicit(r"quarts?", _F(32), (_F(2),), "fluid ounces; pints per quart", conversion=True),
    Implicit(r"pints?", _F(16), (_F(2),), "fluid ounces; cups per pint", conversion=True),
    Implicit(r"gallons?", _F(8), (_F(16),), "pints; cups per gallon", conversion=True),
    # "the rest" of a whole split into parts ("25% are dogs, 50% are cats, and the rest are
    # bunnies": 100% - 50% - 25%) implies the whole it is left of, 100% or 1; a guess at an
    # unwritten constant, so a written 100 wins (conversion)
    Implicit(WHOLE_REST, _F(100), (_F(1),), "the whole (100%, or 1) a rest is left of", conversion=True,
             before=r"\bthe "),
)
_QUANTITY = r"(?:(?<![A-Za-z])(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d+)[\s-]+)"


def _compile(entry: Implicit) -> re.Pattern:
    # Letter lookarounds rather than \b so that "%" (not a word character) works too.
    word = rf"{entry.before}(?<![A-Za-z])(?P<w>{entry.words})(?![A-Za-z]){entry.after}"
    # "240 sixth-grade students", "3 third-floor rooms": an ordinal compound, not a fraction
    # ... and unhyphenated: "a third grade teacher", "64 seventh graders", "the third floor"
    compound = (r"(?!-[A-Za-z])(?!\s+(?:grade|graders?|floor|place|round|birthday|anniversary)\b)"
                if entry.quantified else "")
    return re.compile((_QUANTITY if entry.quantified else "") + word + compound, re.IGNORECASE)


_IMPLICIT_RE = [(entry, _compile(entry)) for entry in IMPLICIT]


def implicit_operands(text: str, offset: int = 0) -> list[Arg]:
    """Words in ``text`` that imply a constant (``IMPLICIT``), as ``Arg(kind="implicit")``
    sorted by position; ``value`` is the table's primary value, spans shifted by ``offset``."""
    out = []
    for entry, rx in _IMPLICIT_RE:
        for m in rx.finditer(text):
            start, end = m.span("w")
            span = (offset + start, offset + end)
            out.append(Arg("implicit", format_value(entry.value), text=m.group("w"), span=span))
    return sorted(out, key=lambda a: a.span)


# 60 is the size of the larger unit: an hour in minutes, a minute in seconds. "minutes" also
# stands for 60 (minutes per hour) and "seconds" for 60 (seconds per minute), but where the
# text writes the larger unit, its word is the one that states the conversion (audit 16).
_SIXTY_RANK = ((re.compile(r"hours?|hourly", re.IGNORECASE), 2), (re.compile(r"minutes?", re.IGNORECASE), 1),
               (re.compile(r"seconds", re.IGNORECASE), 0))


def sixty_rank(arg: Arg) -> int | None:
    """How large a unit an implied 60 names: 2 for "hour(s)" (60 minutes), 1 for "minute(s)"
    (60 seconds), 0 for "seconds"; None for any other arg. Of several words that imply a 60,
    the one of the largest unit states it."""
    if arg.kind != "implicit" or Fraction(arg.value) != 60:
        return None
    return next((rank for rx, rank in _SIXTY_RANK if rx.fullmatch(arg.text.strip())), None)


PERCENT_WORDS = re.compile(r"%|percent|per cent", re.IGNORECASE)


def is_percent_sign(arg: Arg) -> bool:
    """Is ``arg`` the implied 100 (or 1/100) of a "%" / "percent" sign, not a number written with one?"""
    return arg.kind == "implicit" and bool(PERCENT_WORDS.fullmatch((arg.text or "").strip()))
def is_whole_rest(arg: Arg) -> bool:
    """Is ``arg`` the whole (100, or 1) that "the rest" / "the remainder" implies (``WHOLE_REST``)?"""
    return arg.kind == "implicit" and arg.span is not None and bool(
        re.fullmatch(WHOLE_REST, (arg.text or "").strip(), re.IGNORECASE))


_FRACTION_DIGITS = re.compile(r"\d/\d")


def is_conversion(arg: Arg) -> bool:
    """Is ``arg`` an implied unit size (``Implicit.conversion``: "hours" = 60, "liters" = 1000,
    "feet" = 12), rather than a relation word ("half", "twice", "dozen", "a third", "%")?"""
    return arg.kind == "implicit" and _conversion(arg.text, arg.value)


@lru_cache(maxsize=4096)
def _conversion(text: str, value: str) -> bool:
    # the value too: a row's words may also spell another row's ("Half" is a capitalised word).
    # Cached: grounding asks for every implied candidate of every literal (50+ rows each)
    return any(e.conversion and re.fullmatch(e.words, text, re.IGNORECASE)
               and Fraction(value) in (e.value, *e.alternatives) for e in IMPLICIT)


def writes_percent(text: str) -> bool:
    """Is ``text`` (a number's or a word's) written as a percentage: "25%", "30 percent"?"""
    return bool(PERCENT_WORDS.search(text))


def writes_fraction(text: str) -> bool:
    """Is ``text`` written as one fraction or percentage: "3/4", "1 1/2", "25%"?"""
    return bool(_FRACTION_DIGITS.search(text)) or writes_percent(text)


_TIMES = re.compile(r"\s*(?:-\s*)?times(?![A-Za-z])", re.IGNORECASE)
_NUMERATOR = re.compile(r"-(?:hal(?:f|ves)|thirds?|fourths?|quarters?|fifths?|sixths?|sevenths?|eighths?|ninths?|tenths?)"
                        r"(?![A-Za-z])", re.IGNORECASE)


def _followed_by(rx: re.Pattern, text: str, arg: Arg) -> bool:
    return arg.kind == "number" and arg.span is not None and bool(rx.match(text, arg.span[1]))


def writes_numerator(text: str, arg: Arg) -> bool:
    """Is ``arg`` the numerator of a fraction written in words, "three" of "three-fourths"?"""
    return _followed_by(_NUMERATOR, text, arg)


def writes_times(text: str, arg: Arg) -> bool:
    """Is ``arg`` a written multiplier, a number followed by "times" in ``text`` ("three times
    more than the stones", "4 times as many")?"""
    return _followed_by(_TIMES, text, arg)


def alternatives(arg: Arg) -> list[Fraction]:
    """Other values the same words can stand for: "half" -> [1/2], "25%" -> [1/4]."""
    if arg.kind == "number" and re.search(r"%|cent\s*$", arg.text, re.IGNORECASE):
        return [Fraction(arg.value) / 100]
    if arg.kind == "implicit":
        for entry in IMPLICIT:
            if re.fullmatch(entry.words, arg.text, re.IGNORECASE) and Fraction(arg.value) == entry.value:
                return list(entry.alternatives)
    return []


def match_operand(value: Fraction, candidates: Sequence[Arg]) -> Arg | None:
    """The candidate that supplies ``value``: first a number written with that value, then an
    implicit constant, then an alternative reading ("half" as 1/2, "25%" as 1/4). A match
    through an alternative is returned as a copy whose ``value`` is the matched one."""
    value = Fraction(value)
    for kind in ("number", "implicit", "result"):
        for a in candidates:
            if a.kind == kind and a.value and Fraction(a.value) == value:
                return a
    for a in candidates:
        if value in alternatives(a):
            return replace(a, value=format_value(value))
    return None
