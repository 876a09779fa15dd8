"""Relation detector: the clause that states an operation's relation, when the highlights missed it.

The highlight mass (``mycelium.labels.regions``) puts a region where an op's operands and cue
words weigh most. The hand audits (docs/RESULTS.md, appendix) found that this often lands on a
clause holding only an operand while another clause states the relation ("the rest failed",
"50% longer than that", "18 miles for each gallon", the question's "left"): the rubric
(../shared/LABEL_AUDIT.md) calls such a region weak. This module reads the relation itself,
from the step (its op, its operands' char spans, its input steps) and the clause parse, and
moves the region by the rules below: 1-4 and 9 tried in this order, then 5, 6, 8 and 10 over all steps, and 7
(off by default) mends shared regions:

1. ``question``: the problem's final op, when the question states its relation after the
   question phrase ("how much money does Jeremy have **left**", "how many ... **in total**";
   the "In total" of a run-on sentence before "how much" is not the question's), or when the
   final op has no operand of its own written in the text (all its inputs are results): the
   question is then the only clause that states it, or when the final op converts units and
   the question asks its answer in the new unit ("How much will Lucy pay (in dollars)"; not a
   final op on a relation word, "twice as much"). Also an earlier ADD that is a part of the
   sum the question asks for ("how many dolls do they have **altogether**", "the other 2 people
   **combined**"; ``checks.states_sum``), when its region holds no ADD cue and not all of its
   operands, it does not compare two quantities ("16 more than Mr. Chiu", "four times more")
   and no clause outside the question names a sum ("the combined total of the first two").
2. ``relation_word``: a step with a relation operand ("half", "twice", "a third", "25%",
   "2/5", the "three" of "three-fourths") whose region does not hold one: the relation operand's clause states it;
   a difference from the whole "the rest" implies (``args.is_whole_rest``) is stated by the rest's clause.
3. ``operand_cue``: a region that holds no cue word of the op, while the clause of another
   of its operands does ("54 miles on city streets" -> "where their car gets 18 miles for
   each gallon") and holds no number of another step (the "each" of "with 8 walls in each
   room" is the 8's, not a cue of 3/5 x ten rooms).
4. ``input_relation``: an ADD or SUB on an earlier result whose relation operand sits in a
   clause that also holds this op's cue ("it takes him 50% longer than that": MUL by 50%,
   then ADD; "15% off", "the remaining"; a written multiplier counts here, "three times more
   than the stones" for 120 + 40), or, for a SUB, a "the rest"/"remaining" clause in
   the same sentence after that relation or the sentence right after it ("paints 3/5 of the
   rooms green and paints the rest purple"; "75% passed. The rest failed."); the same after
   a SUB's written subtrahend ("There are 1250 pairs ... 540 pairs are blue. The rest are
   either green or purple": 1250 - 540); for a SUB before the last that takes a part from its
   whole (x - x * 40%) and finds neither, the clause where the part is taken ("She adopts out
   40% of them"; ``checks.takes_part``); and a "rest" clause after a relation two steps back
   ("Two thirds of the socks are white, and the rest of the socks are blue" for 180 - (180 /
   3) x 2), also for the final SUB whose question states no difference ("How many blue socks
   does Joan have?").

9. ``hull`` (after 4, for a step before the last that finds none of 1-4): a step whose
   operands (its written numbers and its input steps' regions) lie in different clauses of
   one sentence outside the question ("Each load of laundry takes around 45 minutes to
   complete in the wash cycle and 1 hour in the dry cycle" for 60 + 45): the span from the
   first of those clauses to the last, when it holds no number of a step other than its
   inputs. Rule 8 may narrow it again to the one clause that states the op.

5. ``rate``: a MUL or DIV of a count by a rate whose region is the count's clause ("On
   Monday, she needs to walk 4 poodles") while the other operand's clause states a per-unit
   relation ("It takes 2 hours to walk a poodle", "10 beads are needed to make one beaded
   bracelet", "There are 12 inches to a foot", "a part that Clark needs for $80", ``RATE``)
   and the count's clause states none, or only the count's own rate while the rate operand is a
   price ("Jon buys 2 coffees a day" -> "They cost $2 each") or is per one of what the count
   counts ("makes 3 batches of baguettes a day" -> "Each batch has 48 baguettes"): the rate
   clause states the product. A clause that names one of what the count counts, alone, states
   a rate too when the count's clause states none ("2 large pizzas" -> "A large pizza has 16
   slices"; blind A/B of all 38 steps it moves, two reviewers: better in 27 and 27, worse in 0
   and 1; docs/RESULTS.md, "Session 22"). Not for a division whose region holds a DIV cue ("He splits
   the class equally into 3 groups").
6. ``foreign``: a region foreign to its step (``checks.is_foreign``: it holds none of the
   step's operands but another step's, or no cue word of its op, or it is the question for a
   step that is not the last). The highlight mass puts it there when cue words of the op
   that state another step's relation outweigh the operands ("Each savory souffle calls for 8
   eggs each" for the dessert eggs), when the question's cue pulls an early step ("how many
   more"), or when an op on results only is sought where its inputs were made. It moves to
   the question for the final step, a results-only step the question states ("the total
   number of steps") or a part of the sum the question asks for (rule 1's), else, for an ADD
   or SUB, to rule 4's clause ("Kendra made 20% more money than Laurel"; for an ADD not one
   naming a "total"), else to its own operand's clause (one holding a cue of the op first,
   then one outside the question).

7. ``unshare``: a step whose region is also another step's, while their operands lie in
   different clauses (the ``shared_region`` check would reject the problem), moves to the
   clause of one of its own operands when that ends the sharing ("gives away another 10% as a
   tithe" for the tithe, "pays his water bill for $55" for the sum of the bills).

8. ``narrow`` (applied after rule 6, before rule 7): a region spanning several clauses (a merge, or a clause
   whose hull holds a nested one) of which exactly one holds a cue word of the op (or a
   relation operand of the step, "sell 1/4 of the cows") and one of the step's own operands:
   that clause states the op ("Patrick knocked down 70 pins and Richard
   knocked down 15 more pins than Patrick" -> its second clause for 70 + 15; "If each coffee cup
   held 8 ounces ..., how many ounces ..." -> the "if" clause for 5 cups x 8 ounces). When no
   clause inside holds a cue, the one clause holding all of the step's own operands ("Jim picked
   5 red apples and 3 green apples" of "..., and his sister picked 4 pears" for 5 + 3). Not for
   the final step, whose region the question rule chose.

10. ``items`` (after 8, which would narrow it to one item again): a step, not the last, whose
   written operands lie in adjacent items of one list (``ClauseConfig.list_items``: "Each wall
   is 20 bricks long, 5 bricks high, and 2 bricks deep" for 20 x 5) while its region holds only
   some of them and no relation word of the step (an item with "twice" or "the rest" states the
   op): the span of those items, when it holds no number of a step other than its inputs.

A region already holding a cue word of the op (``mycelium.labels.cues``) is never moved by
rules 3 and 4: the highlights found the relation. Every region returned is a clause span of
the parse, (start_char, end_char) into the text, end exclusive. The clause each rule looks for
is found in ``mycelium.labels.relation_clauses``; this module orders the rules and applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mycelium.dag.steps import Arg, Step
from mycelium.labels.args import is_whole_rest
from mycelium.labels.checks import SUM_WORDS, in_question, is_foreign, is_fragment, shared_steps
from mycelium.labels.clauses import ParsedText, clause_of_span, within
from mycelium.labels.questions import asked_sum, question_clause, question_cue
from mycelium.labels.relation_clauses import (has_cue, holds_all, hull, input_relation, is_relation_operand,
                                              listed_items, narrowed, operand_cue, rate_clause)

RULES = ("question", "relation_word", "operand_cue", "input_relation", "rate", "foreign", "narrow", "unshare", "hull",
         "items")


@dataclass(frozen=True)
class Move:
    """A region the detector chose for step ``step`` and the rule (one of ``RULES``) that chose it."""

    step: int
    region: tuple[int, int]
    rule: str


def _whole_rest(steps: list[Step], step: Step) -> list[Arg]:
    """The "the rest" operands a step takes its parts from: its own, or (before the 100 / 100 of
    "100%" is folded into one operand, ``canonical``) those of the quotient a SUB starts from."""
    own = [a for a in step.args if is_whole_rest(a)]
    if own or step.op != "SUB" or step.args[0].kind != "result":
        return own
    start = steps[step.args[0].step]
    return [a for a in start.args if is_whole_rest(a)] if start.op == "DIV" else []



def relation_regions(
    parsed: ParsedText,
    steps: list[Step],
    regions: list[tuple[int, int] | None],
    final: int | None,
    question: int | None,
    unshare: bool = False,
) -> tuple[list[tuple[int, int] | None], list[Move]]:
    """Regions after the relation detector, and the moves it made.

    ``steps`` are a problem's grounded steps (operand spans into ``parsed.text``), ``regions``
    their regions from the highlight mass (None: no region, left as it is), ``final`` the
    index of the step that gives the answer (or None), ``question`` the question sentence's
    index in ``parsed.sent_spans`` (or None); ``unshare`` turns rule 7 on. Rules in the
    module docstring.
    """
    out = list(regions)
    moves: list[Move] = []
    text = parsed.text
    for k, (step, region) in enumerate(zip(steps, regions)):
        if region is None:
            continue
        new, rule = None, None
        if k == final:
            # "how long, in minutes": the question states a unit conversion, not "twice" its input
            new = question_cue(parsed, step.op, question, units=not any(is_relation_operand(a) for a in step.args))
            if new is None and all(a.kind == "result" for a in step.args):
                new = question_clause(parsed, question)
            rule = "question"
        elif step.op == "ADD" and not has_cue(text, step.op, region) and not holds_all(step, region):
            # a part of the sum the question asks for, whose region holds one of its operands
            # ("how many dolls do they have altogether"; "How many dollars more did Akeno spend
            # than the other 2 people combined?")
            new, rule = asked_sum(parsed, steps, k, final, question), "question"
        if new is None:
            rel = [a for a in step.args if is_relation_operand(a, text, multiplier=False)]
            whole = _whole_rest(steps, step)
            if whole:
                # "100% - 50%" of "50% are cats, and the rest are bunnies": the rest states it
                if not within(whole[0].span, region):
                    new, rule = clause_of_span(parsed, whole[0].span), "relation_word"
            elif rel and not any(within(a.span, region) for a in rel):
                new, rule = clause_of_span(parsed, rel[0].span), "relation_word"
        if new is None and not has_cue(text, step.op, region):
            new, rule = operand_cue(parsed, steps, k, region), "operand_cue"
            if new is None and step.op in ("ADD", "SUB"):
                new, rule = input_relation(parsed, steps, k, final), "input_relation"
            if new is None and k != final and not holds_all(step, region):
                new, rule = hull(parsed, steps, k, out, final), "hull"
        if new is not None and new != region and _acceptable(parsed, steps, out, k, new):
            out[k] = new
            moves.append(Move(k, new, rule))
    for k, step in enumerate(steps):  # rule 5: a count's clause -> the rate's clause
        new = rate_clause(parsed, step, out[k])
        if new is not None and _acceptable(parsed, steps, out, k, new):
            out[k] = new
            moves.append(Move(k, new, "rate"))
    for k, step in enumerate(steps):  # rule 6: a region foreign to its step
        if not is_foreign(parsed, steps, k, out[k], final):
            continue
        for new in _own_places(parsed, steps, k, final, question):
            if (new != out[k] and not is_foreign(parsed, steps, k, new, final)
                    and _acceptable(parsed, steps, out, k, new)):
                out[k] = new
                moves.append(Move(k, new, "foreign"))
                break
    for k, step in enumerate(steps):  # rule 8: a region of several clauses -> the one stating the op
        new = narrowed(parsed, step, out[k]) if k != final else None
        if new is not None and _acceptable(parsed, steps, out, k, new):
            out[k] = new
            moves.append(Move(k, new, "narrow"))
    # rule 10 (after 8, which would narrow it again): operands in items of one list -> the items
    for k, step in enumerate(steps):
        new = listed_items(parsed, steps, k, out[k], final)
        if new is not None and _acceptable(parsed, steps, out, k, new):
            out[k] = new
            moves.append(Move(k, new, "items"))
    # rule 7: a step sharing its region with a step stated in other clauses moves to the clause
    # of one of its own operands when that ends the sharing (later steps first: a sum or a
    # difference is the one that took a part's clause)
    for k in range(len(steps) - 1, -1, -1) if unshare else ():
        if out[k] is None:
            continue
        before = shared_steps([replace(st, region=r) for st, r in zip(steps, out)], parsed)
        if before == 0:
            break
        for arg in steps[k].args:
            new = clause_of_span(parsed, arg.span) if arg.span is not None else None
            if new is None or new == out[k] or is_fragment(text, steps, *new):
                continue
            placed = [replace(st, region=r) for st, r in zip(steps, out)]
            placed[k] = replace(steps[k], region=new)
            if shared_steps(placed, parsed) < before:
                out[k] = new
                moves.append(Move(k, new, "unshare"))
                break
    return out, moves



def _own_places(parsed: ParsedText, steps: list[Step], k: int, final: int | None,
                question: int | None) -> list[tuple[int, int]]:
    """Rule 6's candidates, best first: the question for the final step or a results-only step
    whose op the question states, or for a part of the sum the question asks for
    (``checks.states_sum``); else the clauses of the step's own operands, one holding a cue of
    the op first, then one outside the question, then one holding more operands."""
    step = steps[k]
    first = [asked] if k != final and (asked := asked_sum(parsed, steps, k, final, question)) else []
    # rule 4's clause, where rule 4 did not look ("Kendra made 20% more money than Laurel", "the
    # rest are children"); not a "total" that names the input's own quantity ("The total number
    # of lions in a park is twice the number of leopards")
    rel = input_relation(parsed, steps, k, final) if step.op in ("ADD", "SUB") and k != final else None
    if rel is not None and not (step.op == "ADD" and SUM_WORDS.search(parsed.text, *rel)):
        first.append(rel)
    if k == final:
        found = question_cue(parsed, step.op, question) or question_clause(parsed, question)
        return [found] if found else []
    spans = [a.span for a in step.args if a.span is not None]
    if not spans:
        found = question_cue(parsed, step.op, question)
        return [found] if found else []
    clauses = {c for sp in spans if (c := clause_of_span(parsed, sp)) is not None}
    rank = lambda c: (-has_cue(parsed.text, step.op, c), in_question(parsed, c),  # noqa: E731
                      -sum(within(sp, c) for sp in spans), c[0])
    return first + sorted(clauses, key=rank)


def _acceptable(parsed: ParsedText, steps: list[Step], regions: list, k: int, new: tuple[int, int]) -> bool:
    """A move must not make a region the automatic checks reject: a fragment, or one region
    for steps stated in different clauses (``mycelium.labels.checks``)."""
    if is_fragment(parsed.text, steps, *new):
        return False
    placed = [replace(st, region=r) for st, r in zip(steps, regions)]
    before = shared_steps(placed, parsed)
    placed[k] = replace(steps[k], region=new)
    return shared_steps(placed, parsed) <= before


def moved_counts(moves: list[Move]) -> dict[str, int]:
    """How many regions each rule moved (for the labels report)."""
    rules = np.array([m.rule for m in moves], dtype=object)
    return {r: int((rules == r).sum()) for r in RULES}
