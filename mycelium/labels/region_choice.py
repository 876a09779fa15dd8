"""A learned region chooser: which clause of the problem states a step, scored over candidates.

The region rules (``mycelium.labels.highlights``, ``mycelium.labels.relations``) place each
step's region; hand audits find the places they miss (an operand's clause where another clause
holds the relation word, a later clause for an intermediate step). This module re-ranks, per
step, a small candidate set -- the clause units of the problem, runs of two or three adjacent
units in one sentence, and the rules' own region -- with a linear model over features the rules
read (the step's operands, its op's cue words, the question, the other steps, the teacher's IAF
tokens, the rules' choice). It is fitted on steps whose best clause a reader marked
(``bench/region_gold.py``) as a conditional logit: a softmax over each step's candidates.
Measured (docs/RESULTS.md, "Session 21"): 87.9% of steps in the readers' ok clauses against the
rules' 86.4% (cross-validated), but no better than the rules when judged blind on held-out
problems, so ``labels.region_chooser`` is off by default; ``region_chooser.json`` beside this
module is the fit on all 1,262 marked steps.

Shapes: ``candidates`` are char spans ``(start, end)`` into ``parsed.text``; ``features``
returns float32 ``[n_candidates, len(FEATURES)]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from scipy.optimize import minimize

from mycelium.dag.steps import Step
from mycelium.labels.checks import is_foreign, shared_steps
from mycelium.labels.clauses import ParsedText, content_tokens
from mycelium.labels.cues import cue_spans
from mycelium.labels.relation_clauses import is_relation_operand

Span = tuple[int, int]
OPS = ("ADD", "SUB", "MUL", "DIV")
FEATURES = (
    "rule_exact", "rule_inside", "rule_cover",  # agreement with the rules' region
    "own_operands", "all_own_operands", "relation_operand",  # the step's written operands
    "own_cue", "other_cue",  # cue words of the step's op / of the other ops
    "question", "question_cue", "final_x_question", "final_x_question_cue", "final",
    "later_operands", "earlier_operands",  # operands of later / earlier steps
    "input_region",  # holds the region the rules gave a step whose result this one reads
    "covers_all",  # holds every written operand and overlaps every input step's region
    "free_numbers",  # numbers no step grounds
    "iaf", "n_units", "log_tokens", "unit_distance", "same_sentence",
    "rule_of_other",  # the rules gave this span to another step
)


def clause_units(parsed: ParsedText) -> list[Span]:
    """The distinct clause spans of ``parsed``, sorted, without any that overlaps an earlier one
    (a nested clause pools into its parent): the units a reader picks among."""
    kept: list[Span] = []
    for s, e in sorted({(int(s), int(e)) for s, e in parsed.clause_spans.tolist()}):
        if s < e and not any(s < ke and ks < e for ks, ke in kept):
            kept.append((s, e))
    return kept


def units_of(span: Span, units: list[Span]) -> tuple[int, ...]:
    """Indices of the units whose characters lie mostly (> half) inside ``span``; a span inside
    one unit that covers none so (a piece ``regions.split_for_ops`` cut out of a clause that
    states two ops) counts as that unit, since a reader marks whole units."""
    a, b = span
    out = tuple(i for i, (s, e) in enumerate(units) if min(b, e) - max(a, s) > (e - s) / 2)
    if not out:
        out = tuple(i for i, (s, e) in enumerate(units) if s <= a and b <= e)
    return out


def candidates(parsed: ParsedText, units: list[Span], rule: Span | None, max_run: int = 3) -> list[Span]:
    """Each unit, each run of 2..``max_run`` adjacent units within one sentence, and ``rule``
    (the rules' region) when it is none of those; in that order, without repeats."""
    sent = [int(parsed.sent[content_tokens(parsed, u)][0]) if len(content_tokens(parsed, u)) else -1 for u in units]
    out: list[Span] = list(units)
    for n in range(2, max_run + 1):
        for i in range(len(units) - n + 1):
            if len(set(sent[i:i + n])) == 1:
                out.append((units[i][0], units[i + n - 1][1]))
    if rule is not None and rule not in out:
        out.append(rule)
    return out


def _count_in(spans: list[Span], c: Span) -> int:
    return sum(1 for a, b in spans if a >= c[0] and b <= c[1])


def features(parsed: ParsedText, steps: list[Step], k: int, cands: list[Span], rules: list[Span | None],
             units: list[Span], final: int | None, question: int | None) -> np.ndarray:
    """float32 ``[len(cands), len(FEATURES)]`` for step ``k`` of ``steps`` (operand spans into
    ``parsed.text``); ``rules`` are all steps' regions from the rules, ``question`` the question
    sentence's index (``mycelium.labels.highlights.question_sentence``) or None."""
    text, step = parsed.text, steps[k]
    rule = rules[k]
    own = [a.span for a in step.args if a.span is not None and a.kind != "result"]
    rel = [a.span for a in step.args if is_relation_operand(a, text)]
    own_cues = cue_spans(text, step.op)
    other_cues = [sp for op in OPS if op != step.op for sp in cue_spans(text, op)]
    q_cues = cue_spans(text, step.op, question=True)
    later = [a.span for s in steps[k + 1:] for a in s.args if a.span is not None]
    earlier = [a.span for s in steps[:k] for a in s.args if a.span is not None]
    inputs = [rules[a.step] for a in step.args if a.kind == "result" and a.step is not None
              and a.step < len(rules) and rules[a.step] is not None]
    grounded = {a.span for s in steps for a in s.args if a.span is not None}
    nums = [(int(parsed.starts[t]), int(parsed.ends[t])) for t in np.flatnonzero(parsed.is_num)]
    free = [sp for sp in nums if not any(g[0] <= sp[0] and sp[1] <= g[1] for g in grounded)]
    others = [r for j, r in enumerate(rules) if j != k and r is not None]
    rule_units = set(units_of(rule, units)) if rule else set()
    own_units = {u for sp in own for u in units_of(sp, units)}
    own_sents = {int(parsed.sent[t]) for sp in own for t in content_tokens(parsed, sp)}
    is_final = float(final is not None and k == final)
    rows = []
    for c in cands:
        toks = content_tokens(parsed, c)
        sents = set(parsed.sent[toks].tolist()) if len(toks) else set()
        cu = units_of(c, units)
        is_q = float(question is not None and question in sents)
        q_cue = float(is_q and _count_in(q_cues, c) > 0)
        dist = min((abs(u - o) for u in cu for o in own_units), default=len(units))
        rows.append([
            float(rule == c), float(rule is not None and rule[0] <= c[0] and c[1] <= rule[1]),
            len(rule_units & set(cu)) / max(len(rule_units), 1),
            _count_in(own, c) / max(len(own), 1), float(bool(own) and _count_in(own, c) == len(own)),
            float(_count_in(rel, c) > 0),
            float(_count_in(own_cues, c) > 0), float(_count_in(other_cues, c) > 0),
            is_q, q_cue, is_final * is_q, is_final * q_cue, is_final,
            float(_count_in(later, c) > 0), float(_count_in(earlier, c) > 0),
            float(any(c[0] <= r[0] and r[1] <= c[1] for r in inputs)),
            float(_count_in(own, c) == len(own) and all(c[0] < r[1] and r[0] < c[1] for r in inputs)),
            float(_count_in(free, c) > 0),
            _count_in(list(step.iaf_spans), c) / max(len(step.iaf_spans), 1),
            float(len(cu)), float(np.log1p(len(toks))), float(min(dist, 5)),
            float(bool(sents & own_sents)),
            float(any(r == c for r in others)),
        ])
    return np.asarray(rows, dtype=np.float32).reshape(len(cands), len(FEATURES))


def final_index(steps: list[Step], answer: str | None) -> int | None:
    """The step that gives the answer: the last whose value is ``answer`` (else the last step)."""
    hits = [k for k, s in enumerate(steps) if s.value == answer]
    return hits[-1] if hits else (len(steps) - 1 if steps else None)


def passes_checks(parsed: ParsedText, steps: list[Step], regions: list[Span | None], k: int, c: Span) -> bool:
    """May step ``k`` move to ``c``: not foreign to it, and no more shared regions than now?"""
    if is_foreign(parsed, steps, k, c, len(steps) - 1):  # the check's own notion of the final step
        return False
    now = [replace(st, region=r) for st, r in zip(steps, regions)]
    trial = [replace(st, region=c if j == k else r) for j, (st, r) in enumerate(zip(steps, regions))]
    return shared_steps(trial, parsed) <= shared_steps(now, parsed)


@dataclass
class RegionChooser:
    """A linear score per candidate: ``features @ weights``; the best-scoring candidate wins.
    ``margin``: the rules' region is kept unless another candidate scores this much higher."""

    weights: np.ndarray  # float32 [len(FEATURES)]
    mean: np.ndarray  # float32 [len(FEATURES)], feature standardisation
    scale: np.ndarray  # float32 [len(FEATURES)]
    margin: float = 0.0

    def scores(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights

    def choose(self, parsed: ParsedText, steps: list[Step], rules: list[Span | None], final: int | None,
               question: int | None) -> list[Span | None]:
        """One region per step: the rules' region, or the best candidate that the model prefers
        to it by more than ``margin`` and that the labels' automatic checks accept (not
        ``foreign_region`` to the step, no new ``shared_region``; ``mycelium.labels.checks``),
        so a move never costs a problem its validation. Steps without a rules' region keep None."""
        units = clause_units(parsed)
        out = list(rules)
        for k, rule in enumerate(rules):
            if rule is None:
                continue
            cands = candidates(parsed, units, rule)
            x = features(parsed, steps, k, cands, rules, units, final, question)
            out[k] = cands[self.pick(x, cands.index(rule), lambda j: passes_checks(parsed, steps, out, k, cands[j]))]
        return out

    def pick(self, x: np.ndarray, rule: int, allowed: Callable[[int], bool]) -> int:
        """Index of the best-scoring candidate (rows of ``x``) that beats candidate ``rule`` by more
        than ``margin`` and is ``allowed``; ``rule`` when none is."""
        s = self.scores(x)
        for j in np.argsort(-s, kind="stable"):
            if s[j] <= s[rule] + self.margin:
                break
            if allowed(int(j)):
                return int(j)
        return rule

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"features": list(FEATURES), "weights": self.weights.tolist(),
                                          "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                                          "margin": self.margin}, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "RegionChooser":
        """Weights written by :meth:`save`; a relative ``path`` that does not exist is looked up
        beside this module (where the fitted default lives). Raises FileNotFoundError when
        neither exists, ValueError when the file was fitted on other features than ``FEATURES``."""
        path = Path(path)
        if not path.is_absolute() and not path.exists():
            path = Path(__file__).parent / path
        d = json.loads(path.read_text(encoding="utf-8"))
        if tuple(d["features"]) != FEATURES:
            raise ValueError(f"{path}: fitted on features {d['features']}, this code has {list(FEATURES)}")
        return cls(*(np.asarray(d[k], dtype=np.float32) for k in ("weights", "mean", "scale")), margin=d["margin"])


@lru_cache(maxsize=4)
def load_chooser(path: str) -> RegionChooser:
    """:meth:`RegionChooser.load`, once per path (the labels stage asks per problem)."""
    return RegionChooser.load(path)


def fit(xs: list[np.ndarray], gold: list[np.ndarray], l2: float = 1.0) -> RegionChooser:
    """Fit a :class:`RegionChooser` as a conditional logit: maximise, over steps, the log of the
    softmax probability of the candidates marked gold, with an L2 penalty ``l2`` on the weights
    of standardised features. ``xs[i]``: ``features`` of step i's candidates ``[n_i, F]``;
    ``gold[i]``: bool ``[n_i]``. Steps with no gold candidate are skipped. Raises ValueError
    when none is left."""
    pairs = [(x, g.astype(float)) for x, g in zip(xs, gold) if g.any()]
    if not pairs:
        raise ValueError("no step has a gold candidate to fit on")
    allx = np.concatenate([x for x, _ in pairs])
    mean, scale = allx.mean(0), allx.std(0) + 1e-6
    pairs = [((x - mean) / scale, g) for x, g in pairs]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = l2 * (w @ w) / 2, l2 * w
        for x, g in pairs:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            mass = (p * g).sum()
            total -= np.log(mass + 1e-12)
            grad = grad + x.T @ (p - p * g / (mass + 1e-12))  # d(-log mass)/ds = p - posterior over gold
        return total, grad

    w = minimize(loss, np.zeros(allx.shape[1]), jac=True, method="L-BFGS-B").x
    return RegionChooser(w.astype(np.float32), mean.astype(np.float32), scale.astype(np.float32))
