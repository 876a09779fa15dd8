"""What a problem's question asks: its question phrase, the clause where it states an op, and
whether it asks for a sum a step is part of.

The relation detector (``mycelium.labels.relations``) gives the answer's op the question's
clause when the question states that op ("how much money does Jeremy have **left**", "how
many ... **in total**"), and an earlier sum the same clause when it is a part of the total
asked for (``asked_sum``; ``mycelium.labels.checks.states_sum`` says which sums are).
"""

from __future__ import annotations

from mycelium.dag.steps import Step
from mycelium.labels.checks import ASKS, states_sum
from mycelium.labels.clauses import ParsedText, clause_of_span, tokens_of, trim_span, within
from mycelium.labels.cues import cue_spans


def _question_span(parsed: ParsedText, question: int) -> tuple[tuple[int, int], int] | None:
    """The question phrase's part of sentence ``question``: from "how many"/"what is"/
    "calculate" to the sentence end or to an "if"/"when" clause that follows it ("How many
    stores did Super Soup have at the end of 2020", not "..., if each song took the same
    time"), trimmed; and where the phrase starts. None when the sentence has no such phrase."""
    a, b = (int(x) for x in parsed.sent_spans[question])
    ask = ASKS.search(parsed.text, a, b)
    if ask is None:
        return None
    toks = tokens_of(parsed, (ask.start(), b))
    end = toks[-1] + 1
    for t in toks[1:]:
        if parsed.deps[t] == "mark" or (parsed.words[t] == "," and t + 1 < len(parsed) and parsed.deps[t + 1] == "mark"):
            end = t
            break
    s, e, _, _ = trim_span(int(toks[0]), int(end), parsed.words, parsed.deps, parsed.is_content, parsed.starts, parsed.ends)
    return (s, e), ask.start()


def question_cue(parsed: ParsedText, op: str, question: int | None, units: bool = False) -> tuple[int, int] | None:
    """Where the question (sentence index ``question``) states ``op`` with a question cue
    ("left", "in total", "how many more") found after the question phrase ("how many", "what
    is", "calculate"): the question phrase's part (``_question_span``) when the cue is in it,
    else the clause of the last such cue. ``units``: the unit the answer is asked in ("in
    minutes") is a cue too (``cues.QUESTION_UNITS``; for a step converting units). None when
    there is none."""
    if question is None:
        return None
    a, b = (int(x) for x in parsed.sent_spans[question])
    found = _question_span(parsed, question)
    start = found[1] if found else a
    cues = [c for c in cue_spans(parsed.text, op, question=True, units=units) if start <= c[0] and c[1] <= b]
    if not cues:
        return None
    if found and any(within(c, found[0]) for c in cues):
        return found[0]
    return clause_of_span(parsed, cues[-1])


def question_clause(parsed: ParsedText, question: int | None) -> tuple[int, int] | None:
    """The question phrase's part of sentence ``question`` (``_question_span``), or the clause
    of the sentence's last word when it has no question phrase."""
    if question is None:
        return None
    found = _question_span(parsed, question)
    if found:
        return found[0]
    a, b = (int(x) for x in parsed.sent_spans[question])
    return clause_of_span(parsed, (b - 1, b))


def asked_sum(parsed: ParsedText, steps: list[Step], k: int, final: int | None,
              question: int | None) -> tuple[int, int] | None:
    """The question clause that asks for a sum step ``k`` (an ADD) is a part of ("how many dolls
    do they have altogether" for the sister's 52 + the grandmother's 50; ``checks.states_sum``),
    or None."""
    if steps[k].op != "ADD":
        return None
    found = question_cue(parsed, "ADD", question)
    return found if found is not None and states_sum(parsed, steps, k, found, final) else None
