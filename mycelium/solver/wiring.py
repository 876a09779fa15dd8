"""The DAG builder: wire the operands of classified spans into executable steps.

Input: the problem text and its operation-bearing spans in text order, each with one op (the
classifier's) or several (gold regions shared by several steps). Output: label ``Step``s
(op, args with kinds and sources) forming a DAG that ``dag_from_steps`` executes.

Operand candidates for an op of span ``s``:

- numbers written inside ``s`` (``extract_numbers``), in text order;
- implicit constants inside ``s`` ("half" = 2, "%" = 100, "dozen" = 12, ...);
- results of earlier steps;
- with ``problem_numbers=True``: numbers written elsewhere in the problem not used yet.

Strategies (the ``strategy=`` knob); each is a preference order over those candidates, an op
takes the first ones it needs, and anything already used comes last (reuse is a fallback,
not forbidden: GSM8K reuses a quantity, "48 + 48/2"):

``chain``
    the span's unused numbers, then the previous step's result, then earlier results no
    step has consumed (most recent first), then the span's implicit constants.
``unused-first``
    dangling results first (a stack: results no later step has consumed yet, most recent
    on top), then the span's unused numbers in text order, implicit constants last.
``local-first``
    the span's unused numbers, then dangling results (most recent first), then implicits:
    ``unused-first`` with the span's own numbers ahead of the stack.

Arity: binary ops take two operands; ADD/MUL take two, and with ``nary=True`` also every
further unused number of their span when they are the span's last op ("12 + 24 + 5" in one
clause). Measured on the labels, ``nary=False`` wins: regions are whole clauses holding
numbers that later steps need, and 3-operand steps are rare (~3% of labelled steps).

Operand order of non-commutative ops (SUB, DIV, POW, MOD, ROOT), the ``order=`` knob: an
implicit constant is always the second operand (x / 2 for "half", x / 100 for "%"); else
``as-found`` keeps the preference order, ``result-first`` puts results before literals
(then text order), ``larger-first`` puts the larger value first (no negative differences).

Measured (``python -m mycelium.solver.wiring <labels dir>``; gold regions and ops in text
order, answer = last step; SmolLM2-dataset labels of GSM8K train: ``default/`` 84 validated
of 328, ``labels.grounding=problem/`` 293 of 400): chain = local-first 22.6% / 11.3% with
``larger-first`` and ``problem_numbers``; unused-first 19.0% / 10.6%. ``larger-first``
beats ``result-first`` and ``as-found`` for every strategy; ``nary=True`` loses ~1 point.
Executing in the labels' own (CoT) step order instead of text order gives 34.5% / 17.1%:
text order is itself a ceiling. These are the defaults.

``wiring_accuracy`` measures a configuration on validated labels, where the true DAG is
known: gold regions and ops in, wired DAG executed, compared with the gold answer::

    python -m mycelium.solver.wiring artifacts/labels/gsm8k-train/smollm2_135m-dataset/labels.jsonl
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from mycelium.dag.graph import ExecutionError, answer_equals, dag_from_steps, execute_all, format_value
from mycelium.dag.ops import MULTI_OP_SEP, OPS, apply_op
from mycelium.labels.args import extract_numbers, implicit_operands
from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord
from mycelium.labels.stage import read_labels

Span = tuple[int, int]
STRATEGIES = ("chain", "unused-first", "local-first")
ORDERS = ("as-found", "result-first", "larger-first")
NON_COMMUTATIVE = frozenset({"SUB", "DIV", "POW", "MOD", "ROOT"})


@dataclass
class _Pool:
    """What has been used so far: literal args by char span, results by step index."""

    used_spans: set[Span] = field(default_factory=set)
    consumed: set[int] = field(default_factory=set)


def _key(arg: Arg) -> tuple:
    """Identity of a candidate: the same written number / the same step result."""
    return ("result", arg.step) if arg.kind == "result" else (arg.kind, arg.span)


def _arity(op: str) -> tuple[int, int | None]:
    spec = OPS.get(op)
    return (spec.min_arity, spec.max_arity) if spec else (2, 2)  # unknown op: execution says so


def _candidates(
    strategy: str,
    numbers: list[Arg],
    implicits: list[Arg],
    elsewhere: list[Arg],
    results: list[Arg],
    pool: _Pool,
) -> list[Arg]:
    """All operand candidates of one op, most preferred first, duplicates removed."""
    fresh_numbers = [a for a in numbers if a.span not in pool.used_spans]
    fresh_implicits = [a for a in implicits if a.span not in pool.used_spans]
    fresh_elsewhere = [a for a in elsewhere if a.span not in pool.used_spans]
    recent = results[::-1]  # most recent first
    dangling = [r for r in recent if r.step not in pool.consumed]
    if strategy == "chain":
        preferred = fresh_numbers + recent[:1] + dangling + fresh_implicits
    elif strategy == "unused-first":
        preferred = dangling + fresh_numbers + fresh_implicits
    elif strategy == "local-first":
        preferred = fresh_numbers + dangling + fresh_implicits
    else:
        raise ValueError(f"wiring strategy must be one of {STRATEGIES}, got {strategy!r}")
    # fallbacks: reuse the span's literals, any earlier result, then numbers used elsewhere
    ordered = preferred + fresh_elsewhere + numbers + recent + implicits + elsewhere
    seen, out = set(), []
    for a in ordered:
        if _key(a) not in seen:
            seen.add(_key(a))
            out.append(a)
    return out


def _value(arg: Arg, values: list[Fraction | None]) -> Fraction | None:
    if arg.kind == "result":
        return values[arg.step] if arg.step is not None and arg.step < len(values) else None
    return Fraction(arg.value)


def _order(op: str, args: list[Arg], order: str, values: list[Fraction | None]) -> list[Arg]:
    """Operand order of a non-commutative op (see the module docstring)."""
    if op not in NON_COMMUTATIVE or len(args) != 2:
        return args
    if order == "result-first":
        args = sorted(args, key=lambda a: (a.kind != "result", a.span or (0, 0)))
    elif order == "larger-first":
        a, b = (_value(x, values) for x in args)
        if a is not None and b is not None and b > a:
            args = args[::-1]
    elif order != "as-found":
        raise ValueError(f"wiring order must be one of {ORDERS}, got {order!r}")
    if args[0].kind == "implicit" and args[1].kind != "implicit":  # x / 2, never 2 / x
        args = args[::-1]
    return args


def wire(
    text: str,
    spans: Sequence[Span],
    ops: Sequence[str | Sequence[str]],
    *,
    strategy: str = "chain",
    order: str = "larger-first",
    problem_numbers: bool = True,
    nary: bool = False,
) -> list[Step]:
    """Steps for ``spans`` (in execution order, usually text order) with their ``ops``.

    ``ops[i]`` is one op name, several joined by ``MULTI_OP_SEP`` ("MUL+ADD", the classifier's
    label for a clause that states two ops) or a list of them, in order.
    Every step gets ``region`` = its span and ``value`` = its exact result (None when it, or
    an operand, fails). An op that finds too few operands gets the ones it found; executing
    it then fails with BAD_ARITY (``missing_operands`` tells the solver beforehand).
    """
    if len(spans) != len(ops):
        raise ValueError(f"{len(spans)} spans but {len(ops)} op lists")
    if strategy not in STRATEGIES:
        raise ValueError(f"wiring strategy must be one of {STRATEGIES}, got {strategy!r}")
    all_numbers = extract_numbers(text)
    pool = _Pool()
    steps: list[Step] = []
    values: list[Fraction | None] = []
    results: list[Arg] = []
    for span, span_ops in zip(spans, ops):
        span_ops = span_ops.split(MULTI_OP_SEP) if isinstance(span_ops, str) else list(span_ops)
        s, e = span
        numbers = extract_numbers(text[s:e], s)
        implicits = implicit_operands(text[s:e], s)
        elsewhere = [a for a in all_numbers if not (s <= a.span[0] and a.span[1] <= e)] if problem_numbers else []
        for k, op in enumerate(span_ops):
            low, high = _arity(op)
            cands = _candidates(strategy, numbers, implicits, elsewhere, results, pool)
            args = cands[:low]
            last_of_span = k == len(span_ops) - 1
            if nary and high is None and last_of_span:  # n-ary: also every further unused number of the span
                args += [a for a in cands[low:] if a.kind == "number" and a in numbers and a.span not in pool.used_spans]
            args = _order(op, args, order, values)
            for a in args:
                if a.kind == "result":
                    pool.consumed.add(a.step)
                else:
                    pool.used_spans.add(a.span)
            value = _execute_one(op, args, values)
            index = len(steps)
            steps.append(Step(index, op, args, None if value is None else format_value(value), region=tuple(span)))
            values.append(value)
            results.append(Arg("result", "" if value is None else format_value(value), step=index))
    # result args carry their value (as labels do), now that every step has run
    for st in steps:
        for a in st.args:
            if a.kind == "result" and values[a.step] is not None:
                a.value = format_value(values[a.step])
    return steps


def _execute_one(op: str, args: list[Arg], values: list[Fraction | None]) -> Fraction | None:
    operands = [_value(a, values) for a in args]
    if any(v is None for v in operands):
        return None
    try:
        return apply_op(op, operands)
    except ExecutionError:
        return None


def missing_operands(steps: Iterable[Step]) -> list[int]:
    """Indices of steps with fewer operands than their op needs."""
    return [s.index for s in steps if s.op in OPS and len(s.args) < OPS[s.op].min_arity]


# ---------------------------------------------------------------------------------------------
# measuring a strategy on labels


def gold_spans(record: LabelRecord, order: str = "text") -> tuple[list[Span], list[list[str]]] | None:
    """A record's regions with their ops: ``order="text"`` groups steps by region in text
    order (what a perfect segmenter + classifier give the solver), ``"gold"`` keeps the
    labels' own step order (the CoT's). None when a step has no single region."""
    if not record.steps or any(s.region is None for s in record.steps):
        return None
    if order == "gold":
        return [s.region for s in record.steps], [[s.op] for s in record.steps]
    grouped: dict[Span, list[str]] = {}
    for s in record.steps:
        grouped.setdefault(tuple(s.region), []).append(s.op)
    spans = sorted(grouped)
    return spans, [grouped[sp] for sp in spans]


def wired_answer(steps: list[Step]) -> Fraction | None:
    """The value of the last step of a wired DAG, None when it does not execute."""
    try:
        return execute_all(dag_from_steps(steps))[-1] if steps else None
    except ExecutionError:
        return None


def wiring_accuracy(
    records: Iterable[LabelRecord],
    strategy: str = "chain",
    *,
    order: str = "larger-first",
    problem_numbers: bool = True,
    nary: bool = False,
    step_order: str = "text",
) -> float:
    """Fraction of validated records whose gold regions and ops, wired by ``strategy``,
    execute to the gold answer. Records whose steps lack a single region count as misses."""
    hits = total = 0
    for r in records:
        if not r.validated:
            continue
        total += 1
        gold = gold_spans(r, step_order)
        if gold is None:
            continue
        steps = wire(r.text, *gold, strategy=strategy, order=order, problem_numbers=problem_numbers, nary=nary)
        value = wired_answer(steps)
        hits += int(value is not None and answer_equals(value, r.gold_answer))
    return hits / total if total else 0.0


def read_records(path: str | Path) -> list[LabelRecord]:
    """Records of a labels file (or the ``labels.jsonl`` in a directory)."""
    return read_labels(path)


def main(argv: Sequence[str] | None = None) -> None:
    """Print a markdown table: accuracy of every strategy x order on each labels file."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("labels", nargs="+", help="labels.jsonl files or directories holding one")
    args = ap.parse_args(argv)
    for path in args.labels:
        records = read_records(path)
        n = sum(r.validated for r in records)
        print(f"\n{path}: {n} validated of {len(records)}\n")
        print("| strategy | order | problem numbers | n-ary | text order | gold (CoT) order |")
        print("|---|---|---|---|---|---|")
        for strategy in STRATEGIES:
            for order in ORDERS:
                for pn in (False, True):
                    for nary in (False, True):
                        kw = dict(order=order, problem_numbers=pn, nary=nary)
                        t = wiring_accuracy(records, strategy, **kw)
                        g = wiring_accuracy(records, strategy, **kw, step_order="gold")
                        print(f"| {strategy} | {order} | {pn} | {nary} | {t:.3f} | {g:.3f} |")


if __name__ == "__main__":
    main()
