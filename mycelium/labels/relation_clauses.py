"""The clause each rule of the relation detector (``mycelium.labels.relations``) finds.

One function per rule's search (rule numbers as in ``relations``): ``operand_cue`` (3),
``input_relation`` (4), ``rate_clause`` (5), ``narrowed`` (8), ``hull`` (9), ``listed_items``
(10), and the "rest" clauses rules 2 and 4 read. Each takes the clause parse and a problem's
grounded steps and returns a clause span (start_char, end_char) of ``parsed.text``, end
exclusive, or None when the rule does not apply.
"""

from __future__ import annotations

import re
from functools import lru_cache

from mycelium.dag.steps import Arg, Step
from mycelium.labels.args import is_whole_rest, writes_fraction, writes_numerator, writes_times
from mycelium.labels.checks import in_question, is_foreign, takes_part
from mycelium.labels.clauses import ParsedText, clause_of_span, content_tokens, tokens_of, within
from mycelium.labels.cues import RATE, cue_spans
from mycelium.labels.nouns import canonical, counted_noun

# implicit operands that state a relation (not a unit size such as "hour" = 60)
RELATION_WORDS = re.compile(
    r"^(?:hal(?:f|ves|ved|ve)|twice|doubl\w*|tripl\w*|thrice|quadrupl\w*|thirds?|fourths?|fifths?|sixths?|"
    r"sevenths?|eighths?|ninths?|tenths?|quarters?|%|percent|per cent)$", re.IGNORECASE)
# SUB words that name what is left of a whole after a part was taken ("The rest failed.")
REST_WORDS = re.compile(r"(?<![A-Za-z])(?:rest|remaining|remainder|remain(?:s|ed)?|left(?:over)?|others?)(?![A-Za-z])",
                        re.IGNORECASE)


def is_relation_operand(arg, text: str | None = None, multiplier: bool = True) -> bool:
    """Does this operand state a relation: a relation word ("half", "a third", "%"), a written
    fraction or percentage ("3/4", "25%"), or (given the problem ``text``) the numerator of a
    fraction in words ("three" of "three-fourths") and, unless ``multiplier`` is off, a written
    multiplier ("three times more"; rule 2 leaves it off: a blind packet judged it worse there)?"""
    if arg.span is None or arg.kind == "result":
        return False
    if arg.kind == "implicit":
        return bool(RELATION_WORDS.match(arg.text.strip()))
    if writes_fraction(arg.text):
        return True
    return text is not None and (writes_numerator(text, arg) or multiplier and writes_times(text, arg))

@lru_cache(maxsize=256)
def _cues(text: str, op: str) -> tuple[tuple[int, int], ...]:
    return tuple(cue_spans(text, op))  # one regex pass per problem and op, not per candidate


def has_cue(text: str, op: str, region: tuple[int, int]) -> bool:
    return any(within(c, region) for c in _cues(text, op))


def holds_all(step: Step, region: tuple[int, int]) -> bool:
    """Does ``region`` hold every operand of the step, all of them words of the text?"""
    return all(a.span is not None and within(a.span, region) for a in step.args)


def operand_cue(parsed: ParsedText, steps: list[Step], k: int, region: tuple[int, int]) -> tuple[int, int] | None:
    """Rule 3: another operand's clause that holds a cue of the op (most operands first), and
    no number of another step's ("at $25.00 apiece" states the price of the sale, not the
    cost of "$10.00 in ingredients" x 20 pans)."""
    step = steps[k]
    own = {a.span for a in step.args}
    others = {a.span for j, st in enumerate(steps) if j != k for a in st.args
              if a.kind == "number" and a.span is not None} - own
    best, best_n = None, 0
    for arg in step.args:
        if arg.span is None:
            continue
        clause = clause_of_span(parsed, arg.span)
        # a clause that holds the region would only widen it: the rule moves to another clause
        if clause is None or within(region, clause) or not has_cue(parsed.text, step.op, clause):
            continue
        if any(within(sp, clause) for sp in others):
            continue
        n = sum(a.span is not None and within(a.span, clause) for a in step.args)
        if n > best_n:
            best, best_n = clause, n
    return best


def input_relation(parsed: ParsedText, steps: list[Step], k: int, final: int | None) -> tuple[int, int] | None:
    """Rule 4: the clause of an input step's relation operand that holds this op's cue, or
    (SUB) a "rest" clause after it (``rest_clause``)."""
    step = steps[k]
    for arg in step.args:
        if arg.kind != "result" or arg.step is None:
            continue
        for rel in (a for a in steps[arg.step].args if is_relation_operand(a, parsed.text)):
            clause = clause_of_span(parsed, rel.span)
            if clause is None:
                continue
            if has_cue(parsed.text, step.op, clause):
                return clause
            if step.op == "SUB":
                rest = rest_clause(parsed, rel.span, clause)
                if rest is not None:
                    return rest
                if k != final and takes_part(steps, k, clause):
                    return clause  # 80 - 80 * 40%: "She adopts out 40% of them"
    if step.op != "SUB":
        return None
    # the input's input: "Two thirds of the socks are white, and the rest" for 180 - (180 / 3) * 2
    inner = [b for a in step.args if a.kind == "result" and a.step is not None for b in steps[a.step].args]
    for src in (b for b in inner if b.kind == "result" and b.step is not None):
        for rel in (a for a in steps[src.step].args if is_relation_operand(a)):
            if (rest := rest_after(parsed, rel.span)) is not None:
                return rest
    # "There are 1250 pairs ... 540 pairs are blue. The rest are green": 1250 - 540
    for arg in step.args[1:]:
        if arg.span is not None and arg.kind == "number" and (rest := rest_after(parsed, arg.span)) is not None:
            return rest
    return None


def hull(parsed: ParsedText, steps: list[Step], k: int, regions: list, final: int | None) -> tuple[int, int] | None:
    """Rule 9: a step whose operands (its written numbers, and its input steps' regions) lie in
    different clauses of one sentence outside the question ("Each load of laundry takes around
    45 minutes to complete in the wash cycle and 1 hour in the dry cycle"): the span from the
    first of those clauses to the last, unless it holds another step's number."""
    step = steps[k]
    clauses = {clause_of_span(parsed, a.span) for a in step.args if a.span is not None}
    clauses |= {regions[a.step] for a in step.args if a.kind == "result" and a.step is not None}
    if None in clauses or len(clauses) < 2:
        return None
    hull = (min(c[0] for c in clauses), max(c[1] for c in clauses))
    sents = {int(parsed.sent[t]) for t in tokens_of(parsed, hull)}
    if len(sents) != 1 or in_question(parsed, hull) or is_foreign(parsed, steps, k, hull, final):
        return None
    own = {a.span for a in step.args}
    inputs = {a.step for a in step.args if a.kind == "result"}
    # a number of a step that is not this one's input lies in another statement
    if any(a.span is not None and a.span not in own and within(a.span, hull)
           for j, st in enumerate(steps) if j != k and j not in inputs for a in st.args):
        return None
    return hull


# what lies between two items of one list: "20 bricks long, 5 bricks high, and 2 bricks deep"
_LIST_GAP = re.compile(r"[\s,;]*(?:(?:and|or)[\s,]*)?")


def listed_items(parsed: ParsedText, steps: list[Step], k: int, region: tuple[int, int] | None,
            final: int | None) -> tuple[int, int] | None:
    """Rule 10: a step (not the last) whose written operands lie in adjacent items of one list
    (``ClauseConfig.list_items``: "Each wall is 20 bricks long, 5 bricks high" for 20 x 5)
    while its region holds only some of them and no relation word of the step: the items
    from the first operand's to the last's, when they hold no number of a step other than this
    one's inputs after the first operand."""
    step = steps[k]
    written = [a.span for a in step.args if a.kind != "result" and a.span is not None]
    if k == final or region is None or all(within(sp, region) for sp in written):
        return None
    if any(a.span is not None and within(a.span, region) and (is_relation_operand(a) or is_whole_rest(a))
           for a in step.args):
        return None  # the item with the relation word states it ("and twice as many ...", "the rest")
    if parsed.listed is None:
        return None
    toks = [tokens_of(parsed, sp) for sp in written]
    lists = {int(parsed.listed[t[0]]) for t in toks if len(t)}
    clauses = sorted({clause_of_span(parsed, sp) for sp in written} - {None})
    if len(lists) != 1 or len(clauses) < 2 or any(not _LIST_GAP.fullmatch(parsed.text, a[1], b[0])
                                                  for a, b in zip(clauses, clauses[1:])):
        return None
    hull = (clauses[0][0], clauses[-1][1])
    # the first item's subject is every item's ("Each of the four walls is 20 bricks long, ..."):
    # only the items' own words from the first operand on must hold no other step's number
    inner = (min(sp[0] for sp in written), hull[1])
    inputs = {a.step for a in step.args if a.kind == "result"}
    if any(a.span is not None and a.span not in written and within(a.span, inner)
           for j, st in enumerate(steps) if j != k and j not in inputs for a in st.args):
        return None
    return hull


def rest_after(parsed: ParsedText, span: tuple[int, int]) -> tuple[int, int] | None:
    """``rest_clause`` after the quantity at ``span``, in its own clause."""
    clause = clause_of_span(parsed, span)
    return None if clause is None else rest_clause(parsed, span, clause)


def rest_clause(parsed: ParsedText, relation: tuple[int, int], clause: tuple[int, int]) -> tuple[int, int] | None:
    """The clause that names what is left after the relation at ``relation`` (in ``clause``)
    took its part: a "rest"/"remaining" clause with no number of its own, later in the same
    sentence ("paints 3/5 of the rooms green and paints the rest purple") or in the next
    sentence ("75% passed. The rest failed.")."""
    sent = int(parsed.sent[tokens_of(parsed, relation)[0]])
    end = int(parsed.sent_spans[sent][1])
    for rest in REST_WORDS.finditer(parsed.text, relation[1], end):
        found = clause_of_span(parsed, rest.span())
        if found is not None and found != clause and not parsed.is_num[tokens_of(parsed, found)].any():
            return found
    if sent + 1 < len(parsed.sent_spans):
        a, b = (int(x) for x in parsed.sent_spans[sent + 1])
        rest = REST_WORDS.search(parsed.text, a, b)
        if rest and not parsed.is_num[tokens_of(parsed, (a, b))].any():
            return clause_of_span(parsed, rest.span())
    return None

def _states_rate(parsed: ParsedText, clause: tuple[int, int], number: tuple[int, int]) -> bool:
    """Does ``clause`` state a per-unit relation (``RATE``) outside the number itself?"""
    return any(not (number[0] <= m.start() and m.end() <= number[1])
               for m in RATE.finditer(parsed.text, clause[0], clause[1]))


def _sentence(parsed: ParsedText, span: tuple[int, int]) -> tuple[int, int]:
    a, b = parsed.sent_spans[int(parsed.sent[tokens_of(parsed, span)[0]])]
    return int(a), int(b)


def rate_clause(parsed: ParsedText, step: Step, region: tuple[int, int] | None) -> tuple[int, int] | None:
    """Rule 5: the clause of the rate operand of a count x rate product (or a division by a
    rate) whose region holds only the count, or None."""
    written = [a for a in step.args if a.kind == "number" and a.span is not None and not writes_fraction(a.text)]
    if region is None or step.op not in ("MUL", "DIV") or len(written) != 2:
        return None
    if step.op == "DIV" and has_cue(parsed.text, "DIV", region):
        return None  # "He splits the class equally into 3 groups" states 18 / 3 already
    inside = [a for a in written if within(a.span, region)]
    if len(inside) != 1:
        return None
    count, rate = inside[0], next(a for a in written if a is not inside[0])
    clause = clause_of_span(parsed, rate.span)
    if clause is None or within(count.span, clause):
        return None
    # the rate's relation may sit in a clause the parse cuts off ("10 beads are needed | to make
    # one beaded bracelet"): when the count is written elsewhere, the rate's sentence says it
    sent = _sentence(parsed, rate.span)
    stated = sent if sent != _sentence(parsed, count.span) else clause
    # ... or, when the count's clause states no rate of its own, one of what the count counts, taken
    # alone ("2 large pizzas" -> "A large pizza has 16 slices")
    own_rate = _states_rate(parsed, region, count.span)
    if not (_states_rate(parsed, stated, rate.span) or not own_rate and _per_counted(parsed, stated, count)):
        return None
    # a count's own rate ("2 coffees a day") does not state its cost: a price's rate clause does
    # ("They cost $2 each"), and so does one per unit of what is counted ("The bakery makes 3
    # batches of baguettes a day" -> "Each batch has 48 baguettes")
    if own_rate and "$" not in rate.text and not _per_counted(parsed, stated, count):
        return None
    return clause


# "each batch", "per batch", "every batch", "a batch": the thing a count counts, taken one at a time
_EACH = re.compile(r"(?<![A-Za-z])(?:each|per|every|a|an|one)\s+([A-Za-z]+)", re.IGNORECASE)


def _per_counted(parsed: ParsedText, span: tuple[int, int], count: Arg) -> bool:
    """Does ``span`` state a rate per one of what ``count`` counts ("3 *batches*" ...
    "Each *batch* has 48")?"""
    noun = counted_noun(parsed.text, count.span[1])
    return noun is not None and any(canonical(e.group(1)) == noun for e in _EACH.finditer(parsed.text, *span))


def narrowed(parsed: ParsedText, step: Step, region: tuple[int, int] | None) -> tuple[int, int] | None:
    """Rule 8: the one clause inside a region of several that holds a cue word of the step's op
    and one of its own operands (any, for a step on results only), or None when not exactly one
    does ("Patrick knocked down 70 pins and Richard knocked down 15 more pins than Patrick" ->
    "Richard knocked down 15 more pins than Patrick" for 70 + 15); when none holds a cue, the
    one clause holding all of the step's own operands."""
    if region is None:
        return None
    inside = {(int(a), int(b)) for a, b in parsed.clause_spans[content_tokens(parsed, region)]} - {region}
    inside = {c for c in inside if within(c, region)}
    if len(inside) < 2:
        return None
    own = [a.span for a in step.args if a.span is not None]
    # a relation operand states its op as a cue word does ("sell 1/4 of the cows")
    rel = [a.span for a in step.args if is_relation_operand(a)]
    stating = [c for c in inside if (has_cue(parsed.text, step.op, c) or any(within(sp, c) for sp in rel))
               and (not own or any(within(sp, c) for sp in own))]
    if not stating and own:  # no clause holds a cue: the one holding every own operand states the op
        stating = [c for c in inside if all(within(sp, c) for sp in own)]
    return stating[0] if len(stating) == 1 else None
