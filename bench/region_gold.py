"""Best clauses marked by a reader, and how often the region rules (or a learned chooser) find them.

    python bench/region_gold.py packet --labels <labels dir> --n 200 --seed 20261202 --parts 8 --out <dir>
    python bench/region_gold.py score --labels <labels dir> <dir> [--test <dir>] [--save mycelium/labels/region_chooser.json]

``packet`` writes, per part, ``packet-K.md``: for each sampled validated problem its text cut into
numbered clause units (``mycelium.labels.region_choice.clause_units``) and its steps (op,
arguments, CoT arithmetic) *without* their regions, so a reader marks, per step, the unit (or
run of adjacent units, ``c2-c3``) that best states it by ../shared/LABEL_AUDIT.md's REGION
rubric, and any others that are also ok, in rows ``| problem | step | best | also ok | note |``
of ``marks-K.md``. ``--exclude`` lists audit packets whose problems to leave out.

``score`` reads the marks and prints, per method, the share of steps whose region is exactly the
reader's best units and the share that is the best or one the reader called also ok ("ok"): the
rules (the labels' regions), two baselines (the unit holding most of the step's operands; the
same with the question for the final step), and the learned chooser (a conditional logit over
``candidates``) in 5-fold cross-validation by problem, or, given ``--test`` folders, fitted on the
marks and scored on those. ``--save`` fits the chooser on all the marks (not ``--test``).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mycelium.labels.audit import _arg_line, ids_in_packets  # noqa: E402
from mycelium.labels.clauses import load_spacy, parse  # noqa: E402
from mycelium.labels.highlights import question_sentence  # noqa: E402
from mycelium.labels.region_choice import (FEATURES, RegionChooser, candidates, clause_units, features,  # noqa: E402
                                           passes_checks, final_index, fit, units_of)
from mycelium.labels.stage import read_labels  # noqa: E402
from mycelium.records.labels import LabelRecord  # noqa: E402

ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*([^|]*)\|\s*([^|]*)\|")
UNIT = re.compile(r"c(\d+)(?:\s*-\s*c?(\d+))?")
HEADER = """Mark, for each step, the clause unit that best states the step's operation, by the REGION rubric of
../shared/LABEL_AUDIT.md: ok = it holds the op's relation (half, times, %, more than, less, the rest,
each, per, total, left, average...) or its operands, or it is the question the op answers; a clause
that holds one operand while another holds the relation word is weak, and so is a whole multi-clause
sentence when the op sits in one clause. Write a run of adjacent units (c2-c3) only when the op is
stated across them. Under "also ok" list other units that are ok (not weak), or "-".
Answer in a table: | problem | step | best | also ok | note |
"""


def format_problem(r: LabelRecord, units: list[tuple[int, int]], number: int) -> str:
    lines = [f"## {number}. `{r.id}`", "", f"> {r.text.strip()}", "", f"Gold answer: **{r.gold_answer}**", "",
             "Clause units:"]
    lines += [f"- c{i + 1}: \"{r.text[s:e]}\"" for i, (s, e) in enumerate(units)]
    lines.append("")
    for s in r.steps:
        lines.append(f"- **Step {s.index + 1}: {s.op}** → {s.value}   (CoT arithmetic: `{s.expr}`)")
        lines += [f"  - arg {k + 1}: {_arg_line(a, r.text)}" for k, a in enumerate(s.args)]
    return "\n".join(lines) + "\n"


def write_packets(args) -> None:
    records = [r for r in read_labels(args.labels) if r.validated]
    skip = ids_in_packets(args.exclude)
    pool = [r for r in records if r.id not in skip]
    sample = random.Random(args.seed).sample(pool, args.n)
    parsed = parse([r.text for r in sample], load_spacy())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    size = -(-len(sample) // args.parts)
    for part in range(args.parts):
        chunk = list(zip(sample, parsed))[part * size:(part + 1) * size]
        body = "\n".join(format_problem(r, clause_units(p), part * size + i + 1) for i, (r, p) in enumerate(chunk))
        (out / f"packet-{part + 1}.md").write_text(
            f"# Best clauses: {args.labels}, seed {args.seed}, part {part + 1} of {args.parts}\n\n{HEADER}\n{body}",
            encoding="utf-8")
    print(f"wrote {args.parts} packets to {out} ({len(sample)} problems, {len(skip)} excluded); sample ids:",
          " ".join(r.id for r in sample))


def _units(cell: str) -> list[tuple[int, ...]]:
    """'c2-c3; c5' -> [(1, 2), (4,)] (0-based unit runs)."""
    out = []
    for m in UNIT.finditer(cell):
        a = int(m.group(1)) - 1
        b = int(m.group(2)) - 1 if m.group(2) else a
        out.append(tuple(range(a, b + 1)))
    return out


def read_marks(folder: Path) -> dict[tuple[str, int], tuple[tuple[int, ...], list[tuple[int, ...]]]]:
    """(problem id, 0-based step) -> (best units, also-ok unit runs), from packet-K.md and marks-K.md."""
    out = {}
    for packet in sorted(folder.glob("packet-*.md")):
        ids = dict((int(n), pid) for n, pid in re.findall(r"^## (\d+)\. `([^`]+)`", packet.read_text(), re.M))
        marks = packet.with_name(packet.name.replace("packet", "marks"))
        if not marks.exists():
            continue
        for line in marks.read_text(encoding="utf-8").splitlines():
            m = ROW.match(line.strip())
            if m and int(m.group(1)) in ids and _units(m.group(3)):
                out[(ids[int(m.group(1))], int(m.group(2)) - 1)] = (_units(m.group(3))[0], _units(m.group(4)))
    return out


def step_data(records: list[LabelRecord], marks: dict) -> list[dict]:
    """Per marked step: its features, candidates' unit runs, the rules' units, the gold."""
    by_id = {r.id: r for r in records}
    ids = sorted({pid for pid, _ in marks if pid in by_id})
    parsed = parse([by_id[i].text for i in ids], load_spacy())
    rows = []
    for pid, p in zip(ids, parsed):
        r, units = by_id[pid], clause_units(p)
        rules = [s.region for s in r.steps]
        final, question = final_index(r.steps, r.answer), question_sentence(p)
        for k, s in enumerate(r.steps):
            if (pid, k) not in marks or s.region is None:
                continue
            best, also = marks[(pid, k)]
            cands = candidates(p, units, s.region)
            own = [a.span for a in s.args if a.span is not None and a.kind != "result"]
            passes = [c == s.region or passes_checks(p, r.steps, rules, k, c) for c in cands]
            rows.append(dict(problem=pid, step=k, x=features(p, r.steps, k, cands, rules, units, final, question),
                             passes=passes,
                             cand_units=[units_of(c, units) for c in cands], rule=cands.index(s.region),
                             best=best, ok=[best] + also, final=k == final,
                             q_units=units_of(tuple(p.sent_spans[question]), units) if question is not None else (),
                             own_units=[units_of(sp, units) for sp in own]))
    return rows


def fit_rows(rows: list[dict], l2: float) -> RegionChooser:
    return fit([r["x"] for r in rows], [np.array([u == r["best"] for u in r["cand_units"]]) for r in rows], l2)


def pick(model: RegionChooser, r: dict) -> int:
    """The candidate ``RegionChooser.choose`` takes for this step (the other steps at the rules'
    regions): the best-scoring one above the rules' by ``margin`` that passes the checks."""
    return model.pick(r["x"], r["rule"], lambda j: r["passes"][j])


def pick_rules(r: dict) -> tuple[int, ...]:
    return r["cand_units"][r["rule"]]


def pick_operands(r: dict, question: bool = False) -> tuple[int, ...]:
    if question and r["final"] and r["q_units"]:
        return r["q_units"][-1:]
    counts = np.bincount([u for us in r["own_units"] for u in us], minlength=1)
    return (int(np.argmax(counts)),) if counts.any() else pick_rules(r)


def _rows(records: list[LabelRecord], folders: list[str]) -> list[dict]:
    marks = {}
    for folder in folders:
        marks.update(read_marks(Path(folder)))
    return step_data(records, marks)


def score(args) -> None:
    records = read_labels(args.labels)
    rows = _rows(records, args.marks)
    test = _rows(records, args.test) if args.test else rows
    problems = np.array([r["problem"] for r in test])
    where = "fitted on the marks, scored on --test" if args.test else "5-fold CV by problem"
    print(f"{len(test)} marked steps of {len(set(problems))} problems scored"
          + (f"; the chooser fitted on {len(rows)} other steps" if args.test else ""))
    methods = {"region rules (the labels)": [pick_rules(r) for r in test],
               "baseline: unit with most operands": [pick_operands(r) for r in test],
               "baseline: ... and the question for the final step": [pick_operands(r, True) for r in test]}
    for margin in args.margins:
        picks: list = [None] * len(test)
        folds = [(np.arange(len(rows)), np.arange(len(test)))] if args.test else \
            GroupKFold(n_splits=5).split(rows, groups=problems)
        for tr, te in folds:
            model = fit_rows([rows[i] for i in tr], args.l2)
            model.margin = margin
            for i in te:
                picks[i] = test[i]["cand_units"][pick(model, test[i])]
        methods[f"learned chooser, {where}, margin {margin}"] = picks
    print("| method | best clause | ok | steps | problems with every step ok |")
    print("|---|---:|---:|---:|---:|")
    for name, picks in methods.items():
        best = np.array([p == r["best"] for p, r in zip(picks, test)])
        ok = np.array([p in r["ok"] for p, r in zip(picks, test)])
        every = np.mean([ok[problems == pid].all() for pid in sorted(set(problems))])
        print(f"| {name} | {best.mean():.3f} | {ok.mean():.3f} | {len(test)} | {every:.3f} |")
    # the segmenter's view: each problem's distinct regions as spans of units, labels against readers
    tp = fp = fn = 0
    for pid in sorted(set(problems)):
        labels = {pick_rules(r) for r in test if r["problem"] == pid}
        marked = {r["best"] for r in test if r["problem"] == pid}
        tp, fp, fn = tp + len(labels & marked), fp + len(labels - marked), fn + len(marked - labels)
    print(f"strict span F1 of the labels' regions against the readers' best clauses, per problem: "
          f"{2 * tp / max(2 * tp + fp + fn, 1):.3f} (P {tp / max(tp + fp, 1):.3f}, R {tp / max(tp + fn, 1):.3f})")
    if args.reject_gaps:
        reject_table(rows, test, problems, args)
    if args.save:
        model = fit_rows(rows, args.l2)
        model.margin = args.margins[0]
        model.save(args.save)
        print(f"saved {args.save}; weights:", ", ".join(f"{f} {w:+.2f}" for f, w in zip(FEATURES, model.weights)))


def reject_table(rows: list[dict], test: list[dict], problems: np.ndarray, args) -> None:
    """Rejecting problems where the chooser disagrees: a problem is flagged when one of its steps has
    a passing candidate that outscores the rules' region by more than the gap (chooser fitted as
    for the scores above: out of fold, or on the other marks)."""
    gap = np.zeros(len(test))
    folds = [(np.arange(len(rows)), np.arange(len(test)))] if args.test else \
        GroupKFold(n_splits=5).split(rows, groups=problems)
    for tr, te in folds:
        model = fit_rows([rows[i] for i in tr], args.l2)
        for i in te:
            s = np.where(test[i]["passes"], model.scores(test[i]["x"]), -np.inf)
            gap[i] = s.max() - s[test[i]["rule"]]
    ok = np.array([pick_rules(r) in r["ok"] for r in test])
    ids = sorted(set(problems))
    every = np.array([ok[problems == p].all() for p in ids])
    worst = np.array([gap[problems == p].max() for p in ids])
    print("| flag (score gap above) | problems flagged | flagged: every step ok | kept: every step ok |")
    print("|---:|---:|---:|---:|")
    for g in args.reject_gaps:
        f = worst > g
        print(f"| {g} | {f.mean():.1%} | {every[f].mean() if f.any() else float('nan'):.3f} | "
              f"{every[~f].mean() if (~f).any() else float('nan'):.3f} |")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("packet")
    a.add_argument("--labels", required=True)
    a.add_argument("--n", type=int, default=200)
    a.add_argument("--seed", type=int, required=True)
    a.add_argument("--parts", type=int, default=8)
    a.add_argument("--exclude", nargs="*", default=[], help="packets whose problems to leave out")
    a.add_argument("--out", required=True)
    b = sub.add_parser("score")
    b.add_argument("--labels", required=True)
    b.add_argument("marks", nargs="+", help="folders of packet-K.md + marks-K.md")
    b.add_argument("--margins", type=float, nargs="+", default=[0.0, 1.0])
    b.add_argument("--l2", type=float, default=1.0)
    b.add_argument("--test", nargs="*", default=[], help="marks folders to score on (the chooser fitted on the others)")
    b.add_argument("--reject-gaps", type=float, nargs="*", default=[],
                   help="also print what rejecting the problems where the chooser disagrees by these gaps leaves")
    b.add_argument("--save", help="fit the chooser on all the marks (not --test) and write its weights here")
    args = p.parse_args(argv)
    write_packets(args) if args.cmd == "packet" else score(args)


if __name__ == "__main__":
    main()
