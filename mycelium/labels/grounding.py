"""Grounding: which written number, implied word or earlier result supplies each operand.

A CoT operation names values ("48/2"), not where they come from. Matching values alone
grounds by coincidence: "12 miles" taken twice, "two beds" for "two students", a computed
total of 200 grounded to a "$200" price. ``Grounder`` chooses among the candidates of equal
value by position and meaning:

- an occurrence is used once per step unless nothing else fits ("35 + 35" of "35 coins
  each hour for two hours"), and never twice by a difference or a quotient (x - x, x / x);
  a second operand near the first one fits better;
- an occurrence an earlier step already used is a worse fit than a fresh one;
- in a product or quotient, a number that counts the unit of a rate the step took fits better
  ("$2 an *hour*" x "4 *hours* at a time", not "4 weeks");
- in a sum or difference, a number a comparison follows ("scored 3 points *more than* Darius",
  "2 years *younger than*") fits better: it is the amount the op adds or takes;
- an occurrence whose phrase words (its unit and owner: "48 *clips*", "$12 an *hour*",
  "2 *large pizzas*") are also words of the CoT's own mention of the literal ("5 *periods*
  * $5 / *period*") fits better, and so does one whose "$" agrees with the mention's; the
  CoT sentence as a whole counts less (it mostly names the result);
- a number written with "%" fits an op that divides by 100 ("30%" over "30-second"), and
  read as a plain whole number ("20" of "20%") it fits only an op with a 100 ("100 - 20")
  or a CoT that writes the "%" itself: "20 - 4" of "$20 an hour ... 20% less" is the $20;
- an earlier result of equal value beats a written number that has no such evidence: the
  solution usually reuses what it computed; and of two such results, one that no step has
  read yet beats one a step already read (a solution computes what it uses);
- the "%" never stands for a factor 100 of a product when the question asks no
  percentage: "500 x 20%" computed unwritten is 100, and "$100 x 10%" reads the written $100
  (audits 24 and 27 found the sign grounded for such values; a solution that divides by a
  percentage and multiplies by 100 loses its label, 4 problems of GSM8K train);
- a unit's size ("1000" of "liters", "60" of "hours", ``args.is_conversion``) or the 100
  of a "%" as the whole of a sum or difference loses to a
  written number of the same value that the step has not taken ("John buys 1000 balloons.
  Each balloon holds 10 liters": the 1000 is the balloons): the unit word is only a guess at
  an unwritten constant, the written number is what the solution read. In a product or a
  quotient, a written number an earlier step already read is no such evidence: the unit
  competes with it ("Betty is 12" shorter ... How tall is Betty in feet?": / 12 is the feet),
  unless the unit word is the written number's own unit ("7 days a week", "12 years old");
- a 60 is the word of the unit the step converts when it follows a number the step took
  ("30 minutes" / 60), else the larger unit's word when the text writes both ("2 hours" x 60,
  not the "minutes" of "25 minutes"; ``args.sixty_rank``);
- an implied word fits only the ops it can mean ("half": DIV by 2 or MUL by 1/2; MUL by 2,
  which undoes it, only when no 2 is written) and gains when it is a relation cue of the op
  (``mycelium.labels.cues``) or the CoT sentence says it;
- a relation word ("twice", "a third", "%") that no earlier step used beats a written number
  of equal value ("Cori is 3" is not the 3 of "one-third"), and among several ("twice ...
  tote", "twice ... briefcase") the one whose phrase the CoT sentence shares wins.

When another candidate of different origin (an occurrence or a step; two implied words of
one value do not count) scores within ``TIE`` of the best and the step does not take it for
another of its operands ("5 + 5" of "5 red pens and 5 blue pens" takes both), the choice is
*ambiguous*: the label assembly rejects such problems (reason
``ambiguous_grounding``) rather than let a coin flip validate. A second opinion counts too:
re-scored with the words each candidate's whole sentence shares with the CoT sentence ("During
dinner time, they only ate one-fourth of it" for "During dinner time, ... ate 16/4"), a
different winner or a tie is a rival as well. The choice itself stays the first opinion's (a
blind packet found the second opinion's choices no better); where the two disagree, hand
audits found a wrong argument in about half the problems (docs/RESULTS.md, "Session 15").
A third: when a step got a fresh occurrence only because an earlier step took the other one of
its value, while the step's own words fit the taken one by ``CROSS_MARGIN`` more, the two steps
may have crossed ("6 miles per hour" and "travels 6 miles"): that other one is a rival too.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from fractions import Fraction

from mycelium.dag.graph import format_value
from mycelium.labels.args import (MIDWAY, PERCENT_WORDS, WHOLE_REST, is_conversion, is_percent_sign, match_operand,
                                  sixty_rank, writes_fraction, writes_percent)
from mycelium.labels.cues import CUES
from mycelium.labels.nouns import Counted, canonical, counted_noun, names_other, similar
from mycelium.dag.steps import Arg

TIE = 0.25  # score gap below which two candidates of different origin are a tie
# how much better a step's own words must fit an occurrence an earlier step took than the fresh
# one it got, for the two steps to count as crossed (a rival); 0.25 (TIE) would reject 131
# problems and the yield would fall below 60%
CROSS_MARGIN = 0.5
UNIT_BONUS = 0.5  # per unit word of the occurrence that the op's CoT sentence also has
MAX_SENTENCE_WORDS = 2  # ... counted up to this many (the sentence mostly names the result)
MENTION_BONUS = 1.5  # per unit word shared with the CoT's own mention of the literal
DOLLAR_BONUS = 2.5  # the CoT writes "$5" and so does the text
DOLLAR_PENALTY = 0.75  # the CoT writes "$5" and the occurrence has no "$"
REUSE_PENALTY = 1.0  # the occurrence is already an operand of this very step
NEAR_BONUS = 1.0  # in the sentence of an operand this step already took
USED_PENALTY = 1.5  # an earlier step already took this occurrence
PERCENT_BONUS = 2.0  # "%"-written number for an op over 100
PLAIN_PERCENT_PENALTY = 2.0  # "20%" read as a plain 20, with no 100 in the op and no "%" in the CoT
RESULT_SCORE = 1.5  # an earlier result of equal value
RECENT_BONUS = 0.25  # ... the most recent such result
IMPLICIT_SCORE = 0.5
CUE_BONUS = 1.0  # an implied word that is a relation cue of the op ("half" for DIV)
FRESH_RELATION_BONUS = 1.5  # a relation word ("twice", "a third", "%") no earlier step used
UNIT_RESULT_PENALTY = 2.0  # a unit's size ("minutes" = 60) when an earlier step computed that value
# an earlier result some step already read, beside an unread one of equal value; above
# RECENT_BONUS + TIE, so the unread one wins clearly even when the read one is the most recent
READ_RESULT_PENALTY = 0.75
RATE_UNIT_BONUS = 1.0  # in a product or quotient, a number counting the unit of a rate the step took
COMPARED_BONUS = 1.0  # a number that a comparison follows ("3 points more than"), in a sum or difference
SENTENCE_BONUS = 0.25  # per word the occurrence's whole sentence shares with the op's CoT sentence
MAX_SENTENCE_SHARED = 4  # ... counted up to this many ("During dinner time, they ate one-fourth")

_STOP = frozenset(
    "the and for are was were has have had with that this from into than then each per how many "
    "much what does did will would can could her his its their she him they them there also more "
    "less total all one two three four five six seven eight nine ten of to in on at by an as is "
    "it be so if or not but".split()
)
_WORD = re.compile(r"[A-Za-z]+")
# in CoT arithmetic the words after "=" name the result, not the operand: "4*6=24 points"
_MATH_BREAK = re.compile(r"[.,;:?!=*/+×÷]|\s[x-]\s|\band\b|\bor\b")
_SENT_END = re.compile(r"[.?!](?:\s|$)")
_BREAK = re.compile(r"[.,;:?!]|\band\b|\bor\b")


def _stem(word: str) -> str:
    w = word.lower()
    for suffix in ("ies", "es", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


def context_words(text: str) -> frozenset[str]:
    """Stemmed content words of ``text`` (the CoT sentence of an op)."""
    return frozenset(_stem(w) for w in _WORD.findall(text) if len(w) > 2 and w.lower() not in _STOP)


def unit_words(text: str, span: tuple[int, int], n: int = 4, breaks: re.Pattern | None = None) -> frozenset[str]:
    """Up to ``n`` content words on each side of ``span``, within its phrase (up to the
    nearest punctuation or "and"/"or"): what a written number counts and who has it
    ("48 of her *friends*", "$12 an *hour*", "*large pizzas*")."""
    breaks = breaks or _BREAK
    tail = text[span[1]:span[1] + 60]
    stop = breaks.search(tail)
    tail = tail[: stop.start()] if stop else tail
    head = text[max(0, span[0] - 60):span[0]]
    stops = list(breaks.finditer(head))
    head = head[stops[-1].end():] if stops else head
    pick = lambda words: [w for w in _WORD.findall(words) if len(w) > 2 and w.lower() not in _STOP]  # noqa: E731
    return frozenset(_stem(w) for w in pick(tail)[:n] + pick(head)[-n:])


def _overlap(units: frozenset[str], context: frozenset[str]) -> int:
    """How many unit words the context shares, a word matching its own prefix or extension
    ("large" ~ "largest", "mow" ~ "mowing")."""
    return sum(any(similar(u, c) for c in context) for u in units)


@dataclass(frozen=True)
class Mention:
    """How the CoT writes one literal operand in its text: with a "$" or not, and the words
    of its phrase ("5 *periods*", "$5 / *period*")."""

    dollar: bool
    words: frozenset[str]
    percent: bool = False  # the CoT writes "20%" itself
    counted: Counted | None = None  # what the CoT's number counts ("2 *people*"; ``nouns.Counted``)

    @classmethod
    def at(cls, cot: str, span: tuple[int, int]) -> "Mention":
        dollar = "$" in cot[max(0, span[0] - 2):span[1]]
        percent = bool(PERCENT_WORDS.match(cot[span[1]:span[1] + 12].lstrip()))  # "20%", "20 percent"
        return cls(dollar, unit_words(cot, span, n=2, breaks=_MATH_BREAK), percent, Counted.at(cot, span))


@dataclass
class Choice:
    """The operand chosen for one literal, and whether another candidate tied with it."""

    arg: Arg | None
    rivals: list = field(default_factory=list)  # keys (``key``) of candidates that tied with it


@dataclass
class Grounder:
    """Grounds the literal operands of one problem's ops, step after step.

    ``numbers``/``implicits`` are the candidates of the problem text (``extract_numbers``,
    ``implicit_operands``); ``used`` counts how often earlier steps took each occurrence.
    """

    text: str
    numbers: list[Arg]
    implicits: list[Arg]
    used: dict[tuple[int, int], int] = field(default_factory=dict)
    read: dict[int, int] = field(default_factory=dict)  # earlier step index -> how many steps read its result
    _counted: dict = field(default_factory=dict, repr=False)  # span -> nouns.Counted of that occurrence

    def __post_init__(self) -> None:
        self._units = {a.span: unit_words(self.text, a.span) for a in self.numbers + self.implicits if a.span}
        self._sentence_ends = [m.end() for m in _SENT_END.finditer(self.text)]
        bounds = [0] + self._sentence_ends + [len(self.text)]
        self._sentence_words = [context_words(self.text[a:b]) for a, b in zip(bounds, bounds[1:])]
        # does the question (the last sentence) ask for a percentage? ("What percentage of ...")
        body = self.text.rstrip()
        before = [e for e in self._sentence_ends if e < len(body)]
        self._asks_percent = bool(PERCENT_WORDS.search(body[before[-1] if before else 0:]))

    def ground(
        self,
        value: Fraction,
        op: str,
        context: frozenset[str],
        results: list[Fraction | None],
        taken: set,
        recovered: frozenset[int] = frozenset(),
        percent: bool = False,
        mention: Mention | None = None,
        hundred: bool = False,
    ) -> Choice:
        """The best candidate for one literal ``value`` of ``op``.

        ``context``: ``context_words`` of the CoT sentence performing the op; ``results``:
        values of the earlier steps (index = step; None: not a candidate); ``taken``: ``key``s of
        the operands this step already took;
        ``recovered``: earlier steps the CoT computed without an annotation (a literal equal
        to one of them is that result, never a written number of the same value);
        ``percent``: the op divides by 100 (prefer a number written with "%"); ``mention``:
        how the CoT writes this literal (its "$" and phrase must agree with the occurrence's);
        ``hundred``: the op has a literal 100 ("100 - 20" of "20% less" reads "20%" as 20;
        "20 - 4" of "$20 an hour" does not).
        Returns Choice(None) when nothing of that value exists (for a SUB or DIV, nothing but
        the quantity its other operand already took).
        """
        scored: list[tuple[float, int, Arg]] = []  # (score, origin order, arg)
        for a in self.numbers:
            hit = match_operand(value, [a])
            if hit is None:
                continue
            units = self._units.get(a.span, frozenset())
            s = 1.0 + UNIT_BONUS * min(_overlap(units, context), MAX_SENTENCE_WORDS)
            if mention is not None:
                s += MENTION_BONUS * _overlap(units, mention.words)
                s += DOLLAR_BONUS if mention.dollar and "$" in a.text else 0.0
                s -= DOLLAR_PENALTY if mention.dollar and "$" not in a.text else 0.0  # CoTs often drop a "$"
            if self.used.get(a.span):
                s -= USED_PENALTY
            if key(a) in taken:  # "35 + 35" of one "35 coins each hour": a last resort
                if op in _NO_SELF:
                    continue
                s -= REUSE_PENALTY
            s += NEAR_BONUS * self._near(a.span, taken)
            if op in ("MUL", "DIV") and self._per_taken(a.span, taken):
                s += RATE_UNIT_BONUS  # "$2 an *hour*" x "4 *hours* at a time", not "4 weeks"
            if op in ("ADD", "SUB") and _COMPARED.match(self.text, a.span[1]):
                s += COMPARED_BONUS  # "scored 3 points more than Darius": the number the sum adds
            if percent and writes_percent(a.text):
                s += PERCENT_BONUS
            elif (writes_percent(a.text) and Fraction(a.value) == value and not hundred
                  and not (mention is not None and mention.percent)):
                s -= PLAIN_PERCENT_PENALTY  # 20 of "20%" is 20 out of 100, not a count or a price
            scored.append((s, -a.span[0], hit))
        written = any(key(c) not in taken for _, _, c in scored)
        # a written number an earlier step already read is no stronger evidence than a unit's
        # size: "12 inches shorter" read by one step, "in feet" (/12) by the next
        fresh = written if op in ("ADD", "SUB") else any(key(c) not in taken and not self.used.get(c.span)
                                                         for _, _, c in scored)
        phrases = frozenset().union(*(self._units.get(c.span, frozenset()) for _, _, c in scored))
        inside = [t for t in taken if isinstance(t[0], int)]
        sixty = [a for a in self.implicits if key(a) not in taken and sixty_rank(a) is not None] if value == 60 else []
        # the unit of a number this step took states the 60 ("30 minutes" / 60 -> hours), else the
        # larger unit's word ("2 hours" x 60, not the "minutes" of "25 minutes")
        own_unit = [a for a in sixty if self._unit_of_taken(a, taken)]
        largest = max((sixty_rank(a) for a in sixty), default=None)
        for a in self.implicits:
            conversion = is_conversion(a)
            if (conversion and written and not fresh
                    and (Fraction(a.value) != value or _overlap(frozenset({_stem(a.text)}), phrases))):
                continue  # "7 days a week", "12 years old": the unit of the written number, not a conversion
            if key(a) in taken or (fresh and conversion) or (written and _percent_whole(a, value, op)) \
                    or self._percent_factor(a, value, op):
                continue  # a unit's size, or the 100 of "%", loses to a written number of its value
            if sixty and (rank := sixty_rank(a)) is not None and (a not in own_unit if own_unit else rank < largest):
                continue
            if op != "DIV" and value != Fraction(1, 100) and any(t[0] <= a.span[0] and a.span[1] <= t[1] for t in inside):
                # the "%" of a "20%" this step took belongs to it: "20/100" and "15*.01" encode
                # the percentage, ".20*100" reads another 100
                continue
            hit = match_operand(value, [a])
            # a MUL by n undoes "an n-th" when no fresh n is written, or when the CoT sentence
            # names the word ("If half of the fruit equals 9 pieces, then Tanya bought 2*9")
            undoes = _undoes(hit, op) and (not fresh or bool(_overlap(frozenset({_stem(a.text)}), context))) \
                if hit is not None else False
            if hit is None or not (fits_op(hit, op) or undoes):
                continue
            s = IMPLICIT_SCORE + NEAR_BONUS * self._near(a.span, taken)
            if any(re.fullmatch(w, a.text, re.I) for w in CUES.get(op, ())):
                s += CUE_BONUS
            if _overlap(frozenset({_stem(a.text)}), context):
                s += CUE_BONUS
            if states_relation(a, value, op):
                # a relation word states an op of its own: a fresh one is very likely the
                # one meant, and its phrase ("twice the weight of Karen's *tote*") says which
                s += UNIT_BONUS * _overlap(self._units.get(a.span, frozenset()), context)
                s += -USED_PENALTY if self.used.get(a.span) else FRESH_RELATION_BONUS
            else:
                if self.used.get(a.span) and a.text != "%":
                    s -= USED_PENALTY
                if value in results:  # "minutes" = 60 when a step just computed 60 minutes
                    s -= UNIT_RESULT_PENALTY
            scored.append((s, -a.span[0], hit))
        equal = [i for i in range(len(results) - 1, -1, -1) if results[i] == value]  # most recent first
        unread = [i for i in equal if not self.read.get(i)]
        for i in equal:
            s = RESULT_SCORE + (RECENT_BONUS if i == equal[0] else 0.0)
            if self.read.get(i) and unread:  # a solution computes what it uses: the unread one is likelier
                s -= READ_RESULT_PENALTY
            if ("result", i) in taken:  # "200 + 200": one computed, one written
                if op in _NO_SELF:
                    continue
                s -= REUSE_PENALTY
            elif i in recovered:
                s += 10.0
            scored.append((s, 10_000 + i, Arg("result", format_value(value), step=i)))
        if not scored and op == "MUL" and value == 2:
            # "3 is half of Frankie's, so Frankie has 3*2": MUL by 2 undoes a "half"; only when
            # nothing else of the value is written, else it would take the 2 of "2 teaspoons"
            undo = [a for a in self.implicits if _HALF.fullmatch(a.text) and key(a) not in taken]
            scored = [(IMPLICIT_SCORE - (USED_PENALTY if self.used.get(a.span) else 0.0), -a.span[0],
                       Arg("implicit", "2", a.text, a.span)) for a in undo]
        if not scored:
            return Choice(None)
        scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
        best = scored[0]
        # two implied words of one value ("hour"/"minutes" = 60, the "%" of two percentages)
        # state the same constant: the choice moves a region, not the DAG, so it is no tie
        differs = lambda c: key(c) != key(best[2]) and not (  # noqa: E731
            best[2].kind == c.kind == "implicit" and not states_relation(c, value, op))
        rivals = [key(c) for sc, _, c in scored[1:] if best[0] - sc < TIE and differs(c)]
        # a second opinion: the words each candidate's whole sentence shares with the CoT sentence
        # ("During dinner time, they ate 16/4"). Where it picks another candidate, or ties, the
        # choice rests on a coin flip between two readings: a rival, so the problem is rejected
        second = sorted(((sc + (self._shared_sentence(c.span, context) if c.span else 0.0), order, c)
                         for sc, order, c in scored), key=lambda t: (t[0], t[1]), reverse=True)
        rivals += [key(c) for sc, _, c in second if (second[0][0] - sc < TIE or c is second[0][2]) and differs(c)]
        # a fresh occurrence that won only because an earlier step took the other one of its
        # value, while this step's own words prefer that other: the two steps may have crossed
        # ("2 months overdue" and "twice", "6 mph" and "6 miles")
        taken_before = lambda c: c.kind == "number" and c.span is not None and bool(self.used.get(c.span))  # noqa: E731
        own = max(scored, key=lambda t: (t[0] + (USED_PENALTY if taken_before(t[2]) else 0.0), t[1]))
        if taken_before(own[2]) and own[0] + USED_PENALTY - best[0] >= CROSS_MARGIN and differs(own[2]):
            rivals.append(key(own[2]))
        return Choice(best[2], rivals)

    def fraction(self, value: Fraction) -> Arg | None:
        """The operand that writes ``value`` as one fraction or percentage: a relation word
        ("half" = 1/2, "a third"), a written fraction ("3/4") or percentage ("50%"); the
        first such in the text, or None."""
        for a in self.implicits + self.numbers:
            if a.kind == "implicit" and not is_relation(a) or a.kind == "number" and not writes_fraction(a.text):
                continue
            hit = match_operand(value, [a])
            if hit is not None and Fraction(hit.value) == value:
                return hit
        return None

    def _percent_factor(self, arg: Arg, value: Fraction, op: str) -> bool:
        """The "%" read as a factor 100 of a product, in a problem whose question asks no
        percentage: never the operand ("$100 x 10%" multiplies the written $100; a 100 computed
        unwritten, 500 x 20%, is no "%")."""
        return (op == "MUL" and value == 100 and not self._asks_percent
                and is_percent_sign(arg))

    def _unit_of_taken(self, arg: Arg, taken: set) -> bool:
        """Is ``arg`` the unit word right after a number this step took ("30 *minutes*" / 60: the
        minutes converted state the 60, not the "hours" of another quantity)?"""
        return any(isinstance(t[0], int) and 0 <= arg.span[0] - t[1] <= 2 for t in taken)

    def _sentence(self, span: tuple[int, int]) -> int:
        """Index of the problem sentence ``span`` starts in."""
        return bisect.bisect_right(self._sentence_ends, span[0])

    def _shared_sentence(self, span: tuple[int, int], context: frozenset[str]) -> float:
        """A small bonus for the words the occurrence's sentence shares with the CoT sentence: the
        solution restates the sentence it computes from ("During dinner time, they ate 16/4")."""
        return SENTENCE_BONUS * min(_overlap(self._sentence_words[self._sentence(span)], context), MAX_SENTENCE_SHARED)

    def _per_taken(self, span: tuple[int, int], taken: set) -> bool:
        """Does the number at ``span`` count the unit of a rate this step took ("4 *hours*" for
        "$2 an *hour*", "3 *days*" for "5 miles per *day*")?"""
        noun = counted_noun(self.text, span[1])
        if noun is None:
            return False
        for t in taken:
            rate = _PER.match(self.text, t[1]) if isinstance(t[0], int) and t != span else None
            if rate is not None and canonical(rate.group(1)) == noun:
                return True
        return False

    def _near(self, span: tuple[int, int], taken: set) -> float:
        """1 when ``span`` shares a sentence with an operand this step already took."""
        return float(any(self._sentence(t) == self._sentence(span) for t in taken if isinstance(t[0], int)))

    def counts_other(self, arg: Arg, mention: Mention | None) -> bool:
        """Does the CoT's ``mention`` of a literal count another thing than the written number
        ``arg`` it was grounded to ("2 *people*" on "$2 *boxes*"; ``nouns.names_other``)?"""
        if mention is None or mention.counted is None or arg.kind != "number" or arg.span is None:
            return False
        if arg.span not in self._counted:
            self._counted[arg.span] = Counted.at(self.text, arg.span)
        return names_other(mention.counted, self._counted[arg.span])

    def take(self, arg: Arg) -> None:
        """Record that a step used ``arg`` (a later step prefers fresh occurrences)."""
        if arg.span is not None:
            self.used[arg.span] = self.used.get(arg.span, 0) + 1
        elif arg.kind == "result" and arg.step is not None:
            self.read[arg.step] = self.read.get(arg.step, 0) + 1


def key(arg: Arg) -> tuple:
    """What makes two candidates different choices: the text occurrence (its span) or the
    earlier step (``("result", step)``)."""
    return ("result", arg.step) if arg.kind == "result" else arg.span


# x - x and x / x state nothing: a step of these ops never reads one quantity twice
_NO_SELF = frozenset({"SUB", "DIV"})
# a rate right after a number: "$2 an hour", "5 miles per day", "$3/pound", "12 eggs each week"
_PER = re.compile(r"(?:\s+[A-Za-z'-]+){0,2}?\s*(?:\s(?:an?|per|each|every)\s+|/\s*)([A-Za-z]+)", re.I)
# up to three words, then a comparison: "3 points more than", "5 years older than", "2 fewer than"
_COMPARED = re.compile(r"(?:\s+[A-Za-z'-]+){0,3}?\s+(?:more|less|fewer|[a-z]+er)\s+than\b", re.I)
_HALF = re.compile(rf"hal(f|ves|ved|ve)|{MIDWAY}", re.I)
_QUARTER = re.compile(r"quarters?", re.I)
# Implied words that name their operation: "half" divides by 2 (or multiplies by 1/2),
# "twice"/"triple" multiply. Other implied constants (units, "%", "dozen") go with any op.
_FRACTION_WORDS = {n: re.compile(rf"{w}s?", re.I) for w, n in (
    ("third", 3), ("fourth", 4), ("fifth", 5), ("sixth", 6), ("seventh", 7), ("eighth", 8), ("ninth", 9),
    ("tenth", 10))}
_OP_WORDS = (
    (_HALF, {("DIV", Fraction(2)), ("MUL", Fraction(1, 2))}),
    # "a third" divides by 3 or multiplies by 1/3 (audit 29: "3 times what Dave has" is not "a
    # third"); a MUL by 3 undoes it only when no fresh 3 is written or the CoT says "third" (``_undoes``)
    *((w, {("DIV", Fraction(n)), ("MUL", Fraction(1, n))}) for n, w in _FRACTION_WORDS.items()),
    # "a quarter" likewise never multiplies by 4 ("4 times what Dave has" is not "a quarter"),
    # while the coin (25 cents) goes with any op and a quarter of a whole is taken away ("1 - 1/4")
    (_QUARTER, {("DIV", None), ("MUL", Fraction(1, 4)), ("MUL", Fraction(25)), ("ADD", None), ("SUB", None)}),
    # "doubles the rest to have 6": 6/2 undoes it
    (re.compile(r"twice|doubl\w*|tripl\w*|thrice|quadrupl\w*", re.I), {("MUL", None), ("DIV", None)}),
    # "the rest" is the whole its parts are taken from ("100% - 50% - 25%"), or that whole as
    # 100 over the "%" ("100%" = 100/100); never a factor ("$19 x 100" of "7% ... $133")
    (re.compile(WHOLE_REST, re.I), {("SUB", None), ("DIV", Fraction(100))}),
)


_RELATION = re.compile(rf"hal(f|ves|ved|ve)|{MIDWAY}|twice|doubl\w*|tripl\w*|thrice|quadrupl\w*|"
                       r"(third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|quarter)s?|%|percent|per cent", re.I)


def is_relation(arg: Arg) -> bool:
    """An implied word that states a relation between quantities ("half", "twice", "a third",
    "%"), as opposed to a unit's size ("week" = 7, "dozen" = 12)."""
    return arg.kind == "implicit" and bool(_RELATION.fullmatch(arg.text.strip()))


def _percent_whole(arg: Arg, value: Fraction, op: str) -> bool:
    """The "%" read as the whole, 100, of a sum or difference ("100 - 20" of "20% less")."""
    return is_percent_sign(arg) and value == 100 and op in ("ADD", "SUB")


def states_relation(arg: Arg, value: Fraction, op: str) -> bool:
    """Does ``arg``, read as ``value`` in ``op``, state a relation of its own (``is_relation``)?
    The "%" read as a plain 100 in a sum or difference ("100 - 20" of "20% less") is the
    whole, not a relation: an earlier result or a written number of 100 is the likelier
    operand ("$100 + $20", "100 ants - 20")."""
    return is_relation(arg) and not _percent_whole(arg, value, op)


def _undoes(arg: Arg, op: str) -> bool:
    """Can a MUL by n undo this fraction word "an n-th", "a quarter" or "half" ("8 x 3" of "she will be
    one-third the age of her aunt")? A reading ``Grounder.ground`` allows only when no fresh
    written n is left or the CoT sentence names the word."""
    return op == "MUL" and any(w.fullmatch(arg.text) and Fraction(arg.value) == n
                               for n, w in ((2, _HALF), (4, _QUARTER), *_FRACTION_WORDS.items()))


def fits_op(arg: Arg, op: str) -> bool:
    """Can this implied operand stand for an operand of ``op``? (Numbers always can.)"""
    if arg.kind != "implicit":
        return True
    for word, allowed in _OP_WORDS:
        if word.fullmatch(arg.text):
            return any(op == o and (v is None or Fraction(arg.value) == v) for o, v in allowed)
    return True
