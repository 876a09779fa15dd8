"""Automatic label checks: the audit rubric's failure kinds that a program can count.

Execution to the gold answer cannot see a coincidence, so every labels run also counts the
shapes that the hand audit (../shared/LABEL_AUDIT.md) found behind wrong labels. Each check
reads one record (and the spaCy parse of its text) and returns how many steps it flags; the
report sums them over validated problems (``report.json``: ``checks``).

- ``same_span_twice``: one written occurrence used for two operands of one step
  ("12 miles" x "12 miles"). Right for "5 + 5" of one "5 miles each way"; worth a look.
- ``repeated_occurrence``: the same, while another written occurrence or an earlier result of
  that value was there to read ("2 x 2" of "the top 2 floors ... only 2 units" read from the
  "2 units" twice; "$3 x $3" of "3 sunflowers ... $3 each"; "six x six" where a step computed
  the 6 hours): the step's two quantities are different ones. Hand-read, most of
  ``same_span_twice``'s right cases have no such alternative ("5 + 5" there and back).
- ``self_product``: a product that reads one written occurrence twice ("2 x 2" of "his two
  dogs" for 2 people's 2 legs; "60 x 60" of "60 words per minute" for the seconds of an
  hour) in a sentence that names no square or cube ("a square carpet with 4 m sides", "a cube
  ... 3 inches on each side" are right): the quantities are two, one of them unwritten.
- ``computed_literal`` (MATH): a step reads a number written in the problem whose value the
  solution writes as the result of a computation on numbers alone ("\\binom{5}{2} = 10" for
  the "10" of "10 members"; "2^4 = 16" for the "= 16" of an equation): the computation is
  the operand, the written number only has its value. Needs the solution (``cot``).
- ``unit_mismatch``: a written-number operand that the solution writes as counting another
  thing ("$9/person x 2 *people*" grounded to "$2 *boxes* of stickers"; "100 *cents* in a
  dollar" to "a hundred *plates*"; ``mycelium.labels.nouns.names_other``): the solution's
  quantity is unwritten and only has the written number's value. Counted while grounding
  (it needs where the solution writes each literal), so ``check_record`` leaves it to
  ``mycelium.labels.assemble``.
- ``intermediate_answer``: the step whose value is the gold answer is read by a later step of
  the solution that computes a value no step up to the answer computed ("32 - 8 = 24"
  degrees, then "24 / 3 = 8" ...; the solution's 24% comes from arithmetic it wrote without
  annotations): the answer is an intermediate value that only equals gold. A check that
  gives back a known result ("72 - 48 = 24") is not flagged. Needs the steps before pruning,
  so ``mycelium.labels.assemble`` counts it.
- ``twin_unread``: one written occurrence read by two steps while another occurrence of its
  value, written the same way ("$" and "%" alike), is read by none ("she collected 15 coins ...
  gave 15 of them": "gave 15" read for both; "a 20% interest fee ... another 20% interest fee";
  "2/5 of the amount ... 2/5 of the remaining"): one of the two steps meant the other
  occurrence, and the label cannot say which (word problems; not measured on MATH, whose
  expression operands cover numbers they do not read one by one). Rejected by default: of the
  22 validated problems of GSM8K train it flagged, a fresh reviewer found 19 with a wrong argument
  (docs/audits/twin-unread; docs/RESULTS.md, "Session 22"); the right ones read one quantity written twice ("three identical cylindrical
  structures ... The three cylindrical structures").
- ``value_coincidence``: a rate of 1 written in digits that no step uses ("$1 per ball
  bearing", "1 foot/second"): an unwritten x1 or /1 made a same-valued operand stand for
  the product.
- ``equals_result``: a written-number operand whose value equals an earlier step's result
  (the DAG reads both). Worth a look, not a rejection by default: grounding already gives a
  result that no step read to the later operand of its value
  (``mycelium.labels.steps.adopt_orphans``), and what remains is mostly right ("3 + 5 = 8
  sparklers" for Koby, then Cherie's written "8 sparklers").
- ``result_elsewhere``: an ``equals_result`` step that reads no result of that value itself:
  the solution computed the value in one step and the label reads a written number of it in
  another ("10 pages a day" computed, "70/10" read as the written "10 pages an hour" and the
  "10*7" before it as the result: swapped). Rejected by default: a hand reading of 18 such
  problems (6 audited, 12 drawn at random) found a wrong argument in 9, where an operand that
  equals a result *in the same step* ("150 + 150": the part's price and the labour's) is
  mostly right.
- ``solves_equation``: a GSM8K-style solution that solves for an unknown ("Let x be the
  number of ...", "3x = 300"; counted per problem). Its calculator annotations are the
  equation's arithmetic, and the label reads the unknown's coefficients by value ("300/3"
  grounded to "the three numbers" where 3 = x + 2x). Rejected by default: 3 of the 7 audited
  such problems had a wrong argument, 2 were fully right; 28 validated problems of GSM8K train.
- ``relation_reused``: a step reads a relation word ("twice", "half", "a third") that an
  earlier step already read, on an earlier result or on the same written quantity, while the
  word's sentence states no recurrence ("doubles *each* hour", "*each of the following* days
  ... twice"): a relation word states one operation ("Pau ordered twice as much as Kobe ... If
  they order another set": the second x2 is "another set", not "twice" again). One word read
  for two written quantities ("both ... save half": $6 and $4) is not flagged. Rejected by
  default: of the 10 flagged among 1,849 validated problems of GSM8K train, a hand reading found
  8 with a wrong argument ("twice" read for the "/ 2" of "the same amount" of two colours; "half"
  for "twice as many" crossed).
- ``shared_region``: steps that share a region while their written operands lie in
  different clauses (the rubric's SHARED flag).
- ``fragment_region``: a region that cuts a quantity ("by 30" without its "%", "(sq ft"):
  fewer than 3 words, unbalanced brackets, or a boundary inside or right before a number.
- ``fraction_part``: an operand that is one digit group of a written fraction ("the 2 of
  1/2", "3/5" built from the 3 of "1/3" and the 5 of "2/5"): a digit taken for its value.
- ``foreign_region``: a step whose region holds none of its own operands (written numbers,
  implied words) and either holds another step's operand or (a step with operands of its
  own) no cue word of its op (a
  neighbouring step's clause: "Each savory souffle calls for 8 eggs each" for the dessert
  eggs 6 x 5; an input's relation word does not count: "50% longer than that" states the
  sum), or is the question while the step is not the last and has written operands
  (the question states the final relation, not this one).
- ``final_in_question``: the problem's last step's region lies in its question sentence
  (a count of problems, not a failure).
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from mycelium.labels.args import extract_numbers, writes_fraction, writes_times
from mycelium.labels.clauses import ParsedText, clause_of_span, tokens_of, within
from mycelium.labels.cues import RATE, cue_spans
from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord

CHECKS = ("same_span_twice", "repeated_occurrence", "self_product", "computed_literal", "unit_mismatch",
          "intermediate_answer", "twin_unread", "value_coincidence", "equals_result", "result_elsewhere",
          "solves_equation", "relation_reused", "shared_region", "fragment_region", "fraction_part", "foreign_region",
          "final_in_question")
_FRACTION = re.compile(r"(?<![\d/])\d+/\d+(?![\d/])")
_ONE = re.compile(r"(?<![\w.$/])\$?1(?:\.0+)?(?![\d.,/:]\d|\d|\s+\d+/\d)")
_WORDS = re.compile(r"[A-Za-z0-9$%]+")


def _same_span_twice(r: LabelRecord) -> int:
    return sum(len(spans) != len(set(spans)) for s in r.steps
               for spans in [[a.span for a in s.args if a.span is not None]])


# words of a sentence that squares or cubes one length ("4 m sides", "a 2-meter square base")
_POWER_WORDS = re.compile(r"\b(?:squares?|squared|cubes?|cubic|sides?|area)\b", re.IGNORECASE)


def _self_product(r: LabelRecord, parsed: ParsedText) -> int:
    """MUL steps that read one written occurrence twice while its sentence (of the parse)
    names no square or cube (``_POWER_WORDS``)."""
    flagged = 0
    for s in r.steps:
        spans = [a.span for a in s.args if a.span is not None and a.kind != "result"]
        twice = {sp for sp in spans if spans.count(sp) > 1}
        if s.op != "MUL" or not twice:
            continue
        sents = parsed.sent_spans[np.searchsorted(parsed.sent_spans[:, 0], [sp[0] for sp in twice], side="right") - 1]
        flagged += any(not _POWER_WORDS.search(r.text, int(a), int(b)) for a, b in sents)
    return flagged


# the left side of "<numbers and operators> = value" in a solution's LaTeX: "\binom{5}{2}", "2^4"
_NUMERIC_SIDE = re.compile(r"^(?:[\d\s.+\-*/^!(){}\[\]]|\\(?:binom|d?frac|tfrac|cdot|times|div|sqrt|left|right|,|!))+$")
_OPERATOR = re.compile(r"[+\-*/^!]|\\(?:binom|d?frac|tfrac|cdot|times|div|sqrt)")
# where a right side ends: the end of the math, a punctuation mark, a line break, a text gap
_SIDE_END = r"(?=\s*(?:$|[$.,;:]|\\\]|\\\\|\\\)|\n|\\quad|\\qquad|\\text|\}\$))"


def _computed_literal(r: LabelRecord, cot: str | None) -> int:
    """MATH steps reading a written number whose value ``cot`` writes as a computation's result."""
    if r.type is None or not cot:
        return 0
    flagged = 0
    for s in r.steps:
        values = {a.text.strip().strip("$") for a in s.args if a.kind == "number" and a.span is not None}
        flagged += any(_computes(cot, v) for v in values if v)
    return flagged


def _computes(cot: str, value: str) -> bool:
    pattern = r"(?:^|[=$\[(,&])\s*([^=$&\n]{1,40}?)\s*=\s*" + re.escape(value) + _SIDE_END
    for m in re.finditer(pattern, cot):
        side = m.group(1).strip()
        if side != value and _NUMERIC_SIDE.match(side) and _OPERATOR.search(side):
            return True
    return False


# "Let x be the number of ...", "Solving for x", "3x = 300": the solution solves for an unknown
_SOLVES = re.compile(r"\b[Ll]et\s+[a-zA-Z]\s+(?:be|=|represent|denote|equal)\b"
                     r"|\b[Ss]olving for\b|\b\d+[a-zA-Z]\s*=\s*\d")


def _solves_equation(r: LabelRecord, cot: str | None) -> int:
    """1 when a word problem's solution (not MATH's, read symbolically) solves for an unknown."""
    return int(r.type is None and bool(cot) and _SOLVES.search(cot) is not None)


def _repeated_occurrence(r: LabelRecord, numbers: list[Arg]) -> int:
    """Steps that read one written occurrence twice while another occurrence (of ``numbers``, the
    text's ``extract_numbers``) or an earlier result of its value was there to read (a MATH
    expression operand has no such value)."""
    written: dict[Fraction, set] = {}
    for a in numbers:
        written.setdefault(Fraction(a.value), set()).add(a.span)
    flagged = 0
    for k, s in enumerate(r.steps):
        spans = [a.span for a in s.args if a.span is not None]
        twice = {(a.span, v) for a in s.args
                 if a.span is not None and spans.count(a.span) > 1 and (v := rational(a.value)) is not None}
        earlier = {v for x in r.steps[:k] if (v := rational(x.value)) is not None}
        flagged += any(written.get(v, set()) - {sp} or v in earlier for sp, v in twice)
    return flagged


def _twin_unread(r: LabelRecord, numbers: list[Arg]) -> int:
    """Steps past the first that read a written occurrence an earlier step read, while an
    occurrence (of ``numbers``, the text's ``extract_numbers``) of the same value and form ("$",
    "%") is read by no step. Word problems only: a
    MATH step's expression operand covers numbers it does not read one by one."""
    if r.type is not None:
        return 0
    # the form of each occurrence as the text writes it (a step's "20%" has the value 1/5)
    form = {a.span: ("$" in a.text, "%" in a.text, rational(a.value)) for a in numbers}
    spans = [a.span for s in r.steps for a in s.args if a.span is not None]
    # read: an operand overlaps it (the "1" and "4" read out of a written "1/4" read the "1/4")
    unread = {f for sp, f in form.items() if not any(a < sp[1] and sp[0] < b for a, b in spans)}
    read: set[tuple[int, int]] = set()
    flagged = 0
    for s in r.steps:
        mine = {a.span for a in s.args if a.kind == "number" and a.span in form}
        flagged += any(sp in read and form[sp] in unread for sp in mine)
        read |= mine
    return flagged


# implied words that state a relation of their own, one operation each ("%" is a sign of a
# number, read by every step that reads its number)
_RELATION_WORD = re.compile(r"hal(?:f|ves|ved|ve)|midway|halfway|twice|doubl\w*|tripl\w*|thrice|quadrupl\w*|"
                            r"(?:third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)s?", re.IGNORECASE)


_RECURS = re.compile(r"\b(?:each|every|per|following|previous|again|successive|consecutive)\b", re.IGNORECASE)


def _relation_reused(r: LabelRecord, parsed: ParsedText) -> int:
    """Steps reading a relation word (``_RELATION_WORD``) that an earlier step read, on a
    result or on a written quantity that step read, in a sentence with no ``_RECURS`` word."""
    readers: dict[tuple[int, int], set] = {}  # word span -> written spans of the steps that read it
    flagged = 0
    for s in r.steps:
        written = {a.span for a in s.args if a.kind == "number" and a.span is not None}
        hit = False
        for a in s.args:
            if a.kind != "implicit" or a.span is None or not _RELATION_WORD.fullmatch((a.text or "").strip()):
                continue
            if a.span in readers:
                sent = _sentence_span(parsed, a.span)
                recurs = sent is not None and _RECURS.search(r.text, *sent) is not None
                on_result = any(x.kind == "result" for x in s.args)
                hit |= not recurs and (on_result or bool(written & readers[a.span]))
            readers.setdefault(a.span, set()).update(written)
        flagged += hit
    return flagged


def _equals_result(r: LabelRecord, elsewhere: bool = False) -> int:
    """Steps reading a written number whose value an earlier step computed; ``elsewhere``: only
    where the step reads no result of that value itself (``result_elsewhere``)."""
    flagged = 0
    for k, s in enumerate(r.steps):
        earlier = {v for x in r.steps[:k] if (v := rational(x.value)) is not None}
        # a symbolic result (MATH) reads as None, a value no number has
        read = {rational(a.value) for a in s.args if a.kind == "result"} if elsewhere else set()
        flagged += any(a.kind == "number" and (v := rational(a.value)) in earlier and v not in read for a in s.args)
    return flagged


def rational(value: str | None) -> Fraction | None:
    """A step value as a rational; None for none or a symbolic (MATH) value ("63 \\pi")."""
    try:
        return Fraction(value) if value is not None else None
    except ValueError:
        return None


def unused_unit_rates(r: LabelRecord) -> int:
    """Rates of 1 written in digits that no step uses ("$1 per ball bearing", "crawls 1
    foot/second"): the solution multiplied or divided by them unwritten, so a same-valued
    number or result stands for the product (300 bearings for their $300 price)."""
    used = {a.span for s in r.steps for a in s.args if a.span is not None}
    flagged = 0
    for m in _ONE.finditer(r.text):
        if m.span() in used:
            continue
        phrase = re.split(r"[,.;:?!]|\band\b", r.text[m.end():m.end() + 40])[0]
        flagged += bool(RATE.search(phrase) or re.match(r"\s*[A-Za-z]*/[A-Za-z]", phrase))
    return flagged


def _fraction_part(r: LabelRecord) -> int:
    """Steps with an operand that is one digit group of a written fraction ("the 2 of 1/2")."""
    fractions = [m.span() for m in _FRACTION.finditer(r.text)]
    inside = lambda sp: any(f[0] <= sp[0] and sp[1] <= f[1] and sp != f for f in fractions)  # noqa: E731
    return sum(any(a.kind == "number" and a.span is not None and inside(a.span) for a in s.args) for s in r.steps)


def _clause_ids(parsed: ParsedText, spans: list[tuple[int, int]]) -> set[int]:
    return {int(parsed.clause[t]) for sp in spans for t in tokens_of(parsed, sp)}


def _shared_region(r: LabelRecord, parsed: ParsedText) -> int:
    return shared_steps(r.steps, parsed)


def shared_steps(steps: list[Step], parsed: ParsedText) -> int:
    """Steps that share a region while their written operands lie in different clauses."""
    by_region: dict[tuple[int, int], list[set[int]]] = {}
    for s in steps:
        spans = [a.span for a in s.args if a.span is not None]  # written numbers and implied words
        if s.region is not None and spans:
            by_region.setdefault(s.region, []).append(_clause_ids(parsed, spans))
    flagged = 0
    for clauses in by_region.values():
        if len(clauses) > 1 and not set.intersection(*clauses):
            flagged += len(clauses)
    return flagged


def _sentence_span(parsed: ParsedText, region: tuple[int, int]) -> tuple[int, int] | None:
    """The sentence ``region`` ends in, or None when it holds no token."""
    toks = tokens_of(parsed, region)
    if len(toks) == 0:
        return None
    a, b = parsed.sent_spans[int(parsed.sent[toks[-1]])]
    return int(a), int(b)


def in_question(parsed: ParsedText, region: tuple[int, int]) -> bool:
    """Does ``region`` end in the question sentence (``is_question``), after its question phrase
    begins? A condition before the phrase states data, not the question: "If Laurel earned
    $30000 in 2014, calculate ..." """
    sentence = _sentence_span(parsed, region)
    if sentence is None or not is_question(parsed.text, sentence):
        return False
    ask = ASKS.search(parsed.text, *sentence)
    return ask is None or region[1] > ask.start()


def is_foreign(parsed: ParsedText, steps: list[Step], k: int, region: tuple[int, int] | None, final: int | None) -> bool:
    """Is ``region`` foreign to step ``k`` (``foreign_region``)? ``final``: the index of the step
    that gives the answer, whose region may be the question whatever it holds."""
    if region is None:
        return False
    step = steps[k]
    own = {a.span for a in step.args if a.span is not None}
    if any(within(sp, region) for sp in own):
        return False
    if in_question(parsed, region):
        # the question states the answer's relation; a results-only step may also be stated
        # there, and so may a part of the sum the question asks for ("how many ... altogether")
        return k != final and bool(own) and not states_sum(parsed, steps, k, region, final)
    # an input's relation word or fraction ("it takes him 50% longer than that") also states an
    # op on its result (``relations`` rule 4), and so does its written multiplier for the sum
    # that completes "three times more than the stones" (x + 3x): not another step's
    inputs = {a.step for a in step.args if a.kind == "result"}
    others = {a.span for j, s in enumerate(steps) if j != k for a in s.args if a.span is not None
              and not (j in inputs and (a.kind == "implicit" or writes_fraction(a.text)
                                        or step.op in ("ADD", "SUB") and writes_times(parsed.text, a)))} - own
    # a results-only step has no clause of its own: a cue-less region is weak, not foreign
    return any(within(sp, region) for sp in others) or bool(own) and not any(
        within(c, region) for c in cue_spans(parsed.text, step.op)) and not takes_part(steps, k, region)


# question words that ask for a sum of several quantities ("how many dolls do they have altogether")
SUM_WORDS = re.compile(r"(?<![A-Za-z])(?:total|altogether|in all|combined|together|sum|including)(?![A-Za-z])", re.I)


def reaches(steps: list[Step], k: int, final: int | None) -> bool:
    """Does step ``k``'s result flow, through later steps, into step ``final``?"""
    if final is None or k >= final:
        return k == final
    used = {k}
    for j in range(k + 1, final + 1):
        if any(a.kind == "result" and a.step in used for a in steps[j].args):
            used.add(j)
    return final in used


# words that compare two quantities: a sum stated by one of them is not a part of a total
COMPARE = re.compile(r"(?<![A-Za-z])(?:than|more|less|fewer|extra|bigger|larger|longer|older|taller|higher|heavier|"
                     r"slower|faster|farther|further|later|increase[sd]?|ratio|in \w+ years?)(?![A-Za-z])", re.I)


# "four times more": x + 4x, the sum completes the input's comparison
TIMES_MORE = re.compile(r"(?<![A-Za-z])times (?:more|larger|bigger|greater|longer|higher)(?![A-Za-z])", re.I)


def compares(parsed: ParsedText, steps: list[Step], k: int) -> bool:
    """Does a clause of step ``k``'s operands, or of its input steps' implied words and
    fractions, compare two quantities (``COMPARE``: "16 more than Mr. Chiu", "50% bigger than
    that", "4 seconds slower", "in two years")? A sum stated by such a clause is that
    comparison. (An input's plain numbers count only for "times more", x + 4x: "two more dolls
    than their grandmother" is the input's own comparison.)"""
    inputs = [b for a in steps[k].args if a.kind == "result" and a.step is not None for b in steps[a.step].args]
    for arg, words in [(a, COMPARE) for a in steps[k].args] + [
            (b, COMPARE if b.kind == "implicit" or writes_fraction(b.text) else TIMES_MORE) for b in inputs]:
        clause = clause_of_span(parsed, arg.span) if arg.span is not None else None
        if clause is not None and words.search(parsed.text, *clause):
            return True
    return False


def states_sum(parsed: ParsedText, steps: list[Step], k: int, region: tuple[int, int], final: int | None) -> bool:
    """Is ``region`` a question clause that asks for a sum (``SUM_WORDS``) of which step ``k``, an
    ADD whose result reaches the answer, is a part? ("Rene has three times as many dolls as
    her sister ... If their grandmother has 50 dolls, how many dolls do they have altogether?":
    the sister's 52 + the grandmother's 50 is part of "altogether"; not a sum that
    ``compares`` two quantities, "16 more than Mr. Chiu", nor one where a sentence outside the
    region's names a sum itself.)"""
    if steps[k].op != "ADD" or SUM_WORDS.search(parsed.text, region[0], region[1]) is None:
        return False  # the cheap tests first: this runs for every step the question may state
    if not reaches(steps, k, final) or compares(parsed, steps, k):
        return False
    # a sum named outside the question ("the combined total of the first and the second") may
    # be this one: that clause states it, not the question
    a, b = _sentence_span(parsed, region) or region
    return not any(m.start() < a or m.start() >= b for m in SUM_WORDS.finditer(parsed.text))


def takes_part(steps: list[Step], k: int, region: tuple[int, int]) -> bool:
    """Is step ``k`` a SUB of a part from its whole, x - x * p, whose input step took the part
    with a relation word or fraction p that ``region`` holds? ("Harly's shelter has 80 dogs.
    She adopts out 40% of them": 80 - 32 is stated where the 40% is taken.)"""
    step = steps[k]
    if step.op != "SUB" or len(step.args) != 2 or step.args[1].kind != "result" or step.args[1].step is None:
        return False
    whole, inputs = step.args[0], steps[step.args[1].step].args
    same = (any(b.kind == "result" and b.step == whole.step for b in inputs) if whole.kind == "result"
            else whole.span is not None and any(b.span == whole.span for b in inputs))
    return same and any(b.span is not None and (b.kind == "implicit" or writes_fraction(b.text))
                        and within(b.span, region) for b in inputs)


def foreign_steps(steps: list[Step], parsed: ParsedText, final: int | None) -> int:
    """How many steps have a region foreign to them (``is_foreign``)."""
    return sum(is_foreign(parsed, steps, k, s.region, final) for k, s in enumerate(steps))


def _fragment(r: LabelRecord, a: int, b: int) -> bool:
    return is_fragment(r.text, r.steps, a, b)


def is_fragment(text: str, steps: list[Step], a: int, b: int) -> bool:
    """Does region [a, b) of ``text`` cut a quantity or hold fewer than 3 words
    (``fragment_region``)? ``steps`` give the operand spans it must not cut."""
    piece = text[a:b]
    if len(_WORDS.findall(piece)) < 3 or piece.count("(") != piece.count(")"):
        return True
    after = text[b:b + 2]
    if re.match(r"\s?%", after) or (b < len(text) and text[b - 1:b + 1].strip().isdigit() and text[b].isdigit()):
        return True
    return any(sp[0] < a < sp[1] or sp[0] < b < sp[1] for s in steps for x in s.args if (sp := x.span))


ASKS = re.compile(r"\b(?:calculate|find|determine|compute|how (?:many|much|long|far|old|heavy|tall|fast|big|often|high|"
                  r"deep|wide|large|short|soon|late|early)|what(?:'s| (?:is|was|are|were|will|would|does|did|do)))\b", re.I)


def is_question(text: str, sentence: tuple[int, int]) -> bool:
    """Does the (trimmed) sentence span ask the question: does it end with a "?" (inside it
    or right after it), or hold an instruction or a question phrase ("..., calculate her
    total income.", "Calculate the combined total ...")?"""
    a, b = sentence
    return (text[a:b].rstrip().endswith("?") or text[b:b + 3].lstrip().startswith("?")
            or bool(ASKS.search(text, a, b)))


def _final_in_question(r: LabelRecord, parsed: ParsedText) -> int:
    if not r.steps or r.steps[-1].region is None:
        return 0
    toks = tokens_of(parsed, r.steps[-1].region)
    if len(toks) == 0:
        return 0
    sent = int(parsed.sent[toks[-1]])
    a, b = parsed.sent_spans[sent]
    return int(is_question(r.text, (int(a), int(b))))


def check_record(r: LabelRecord, parsed: ParsedText, cot: str | None = None) -> dict[str, int]:
    """Counts of flagged steps (problems for ``final_in_question``) for one record; ``cot``,
    the solution the labels were read from, where there is one (``computed_literal``)."""
    regions = {s.region for s in r.steps if s.region is not None}
    numbers = extract_numbers(r.text)  # every written number of the text, once for the checks that read them
    return {
        "same_span_twice": _same_span_twice(r),
        "repeated_occurrence": _repeated_occurrence(r, numbers),
        "self_product": _self_product(r, parsed),
        "computed_literal": _computed_literal(r, cot),
        "twin_unread": _twin_unread(r, numbers),
        "value_coincidence": unused_unit_rates(r),
        "equals_result": _equals_result(r),
        "result_elsewhere": _equals_result(r, elsewhere=True),
        "solves_equation": _solves_equation(r, cot),
        "relation_reused": _relation_reused(r, parsed),
        "shared_region": _shared_region(r, parsed),
        "fragment_region": sum(_fragment(r, a, b) for a, b in regions),
        "fraction_part": _fraction_part(r),
        "foreign_region": foreign_steps(r.steps, parsed, len(r.steps) - 1) if r.steps else 0,
        "final_in_question": _final_in_question(r, parsed),
    }


def total(counts: list[dict[str, int]]) -> dict[str, int]:
    """Sum of ``check_record`` results."""
    return {k: int(np.sum([c.get(k, 0) for c in counts])) for k in CHECKS}
