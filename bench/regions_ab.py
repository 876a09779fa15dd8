"""A blind side-by-side of two region rules: the steps whose region a change moved, for a reviewer.

    python bench/regions_ab.py <labels before> <labels after> --n 30 --seed 7 --out packet.md
    python bench/regions_ab.py ... --tally verdicts.md     # after the reviewer filled the table

Both runs label the same traces. A step counts when its problem validates in both runs with
the same DAG (ops and operand sources) and its region differs. ``--n`` such problems are drawn
with ``--seed``; the packet shows each one as the audit does (``mycelium.labels.audit``), and
for each moved step its two regions as "X" and "Y" in a random order per step, so the reviewer
cannot tell which rule made which. The key (which letter is "after") is written beside the
packet (``<out>.key.tsv``). The reviewer judges both regions by ../shared/LABEL_AUDIT.md
(ok / weak / wrong) and fills a table whose rows read ``| problem | step | X | Y |``;
``--tally`` reads that table with the key and prints ok / weak / wrong before and after.
"""

from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from mycelium.labels.audit import _arg_line, ids_in_packets
from mycelium.labels.stage import read_labels
from mycelium.records.labels import LabelRecord


def dag(r: LabelRecord) -> list[tuple]:
    return [(s.op, [(a.kind, a.span if a.kind != "result" else a.step) for a in s.args]) for s in r.steps]


def moved_steps(before: LabelRecord, after: LabelRecord) -> list[int]:
    """Indices of the steps whose region differs, for a problem validated in both runs with one DAG."""
    if not (before.validated and after.validated) or dag(before) != dag(after):
        return []
    return [k for k, (a, b) in enumerate(zip(before.steps, after.steps)) if a.region != b.region]


def quote(r: LabelRecord, region: tuple[int, int] | None) -> str:
    return f"\"{r.text[region[0]:region[1]]}\"" if region else "(none)"


def packet(pairs: list[tuple[LabelRecord, LabelRecord]], seed: int) -> tuple[str, list[tuple[str, int, str]]]:
    """The markdown packet and the key rows (problem id, step number from 1, letter of "after")."""
    rng = random.Random(seed)
    lines, key = [], []
    for n, (b, a) in enumerate(pairs, 1):
        moved = set(moved_steps(b, a))
        lines += [f"## {n}. `{a.id}`", "", f"> {a.text.strip()}", "", f"Gold answer: **{a.gold_answer}**", ""]
        for k, s in enumerate(a.steps):
            lines.append(f"- **Step {k + 1}: {s.op}** → {s.value}   (CoT arithmetic: `{s.expr}`)")
            lines += [f"  - arg {j + 1}: {_arg_line(arg, a.text)}" for j, arg in enumerate(s.args)]
            if k in moved:
                after_letter = rng.choice("XY")
                x, y = (s.region, b.steps[k].region) if after_letter == "X" else (b.steps[k].region, s.region)
                lines += [f"  - region X: {quote(a, x)}", f"  - region Y: {quote(a, y)}"]
                key.append((a.id, k + 1, after_letter))
            else:
                lines.append(f"  - region (same in both): {quote(a, s.region)}")
        lines.append("")
    return "\n".join(lines), key


RANK = {"ok": 2, "weak": 1, "wrong": 0}
# a verdict row; a reviewer may bold a cell ("**wrong**")
ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*\**(ok|weak|wrong)\**\s*\|\s*\**(ok|weak|wrong)\**\s*\|", re.I)


def tally(verdicts: str, ids: list[str], key: dict[tuple[str, int], str]) -> dict[str, Counter]:
    """ok/weak/wrong counts of the "before" and "after" regions from the reviewer's table rows
    ``| problem number | step | X verdict | Y verdict |``."""
    out = {"before": Counter(), "after": Counter(), "pair": Counter()}
    for line in verdicts.splitlines():
        m = ROW.match(line.strip())
        if not m:
            continue
        pid, step = ids[int(m.group(1)) - 1], int(m.group(2))
        if (pid, step) not in key:
            raise SystemExit(f"row for problem {m.group(1)} step {step}: not a moved step of the packet")
        x, y = m.group(3).lower(), m.group(4).lower()
        after, before = (x, y) if key[pid, step] == "X" else (y, x)
        out["before"][before] += 1
        out["after"][after] += 1
        out["pair"]["after better" if RANK[after] > RANK[before] else
                    "before better" if RANK[after] < RANK[before] else "same"] += 1
    return out


def run_ab(description: str, changed: Callable, packet: Callable, tally: Callable, report: Callable,
           title: str, what: str, order: Callable = list) -> None:
    """The command line both blind side-by-sides share (this one and ``bench/steps_ab.py``):
    read two labels runs, draw ``--n`` problems whose ``changed(before, after)`` steps are not
    empty (in ``order`` of their ids, then ``--seed``), and either write the packet and its key
    or, with ``--tally``, print ``report(tally(verdicts, ids, key))``."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--n", type=int, default=30, help=f"problems with {what} to draw")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", default=f"{title.lower()}_ab.md")
    ap.add_argument("--tally", help="the reviewer's filled table; prints the counts")
    ap.add_argument("--exclude", nargs="*", default=[],
                    help="packets (markdown) whose problems (`<set>/<split>/<n>` ids) to leave out, e.g. a fit's")
    args = ap.parse_args()
    before = {r.id: r for r in read_labels(args.before)}
    after = {r.id: r for r in read_labels(args.after)}
    if set(before) != set(after):
        raise SystemExit(f"the two runs label different problems ({len(before)} vs {len(after)})")
    skip = ids_in_packets(args.exclude)
    pool = order(i for i in before if i not in skip and changed(before[i], after[i]))
    steps = sum(len(changed(before[i], after[i])) for i in pool)
    ids = random.Random(args.seed).sample(pool, min(args.n, len(pool)))
    out = Path(args.out)
    keyfile = out.with_suffix(".key.tsv")
    if args.tally:
        if not keyfile.is_file():
            raise SystemExit(f"{keyfile}: no key here; --tally needs the same --out (and before, after, --n, --seed) "
                             "as the run that wrote the packet")
        key = {(row.split("\t")[0], int(row.split("\t")[1])): row.split("\t")[2]
               for row in keyfile.read_text().splitlines()}
        report(tally(Path(args.tally).read_text(), ids, key))
        return
    print(f"{len(pool)} problems have {what} ({steps} steps); drew {len(ids)}")
    text, key = packet([(before[i], after[i]) for i in ids], args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# {title} side by side: {len(ids)} problems, seed {args.seed}\n\n{text}", encoding="utf-8")
    keyfile.write_text("".join(f"{i}\t{k}\t{letter}\n" for i, k, letter in key))
    print(f"wrote {out} and {keyfile}")


def report(counts: dict[str, Counter]) -> None:
    for name in ("before", "after"):
        c = counts[name]
        print(f"{name:6s} ok {c['ok']} weak {c['weak']} wrong {c['wrong']} of {sum(c.values())}")
    print(dict(counts["pair"]))


def main() -> None:
    run_ab(__doc__, moved_steps, packet, tally, report, "Regions", "a moved region")


if __name__ == "__main__":
    main()
