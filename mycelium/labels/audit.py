"""Hand-audit packets: a seeded sample of validated labels, shown as ../shared/LABEL_AUDIT.md asks.

    python -m mycelium.labels.audit --labels artifacts/labels/gsm8k-train/.../default --n 50 --seed 12

writes a markdown packet (one section per problem: text, gold answer, per step its op, each
argument with its words and ~15 characters of context on each side or the earlier step it
reads, its value, the CoT arithmetic it came from, and its region's text) and prints the
sample ids. Reviewers judge the packet by reading; it says nothing of which rule made a label.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from mycelium.dag.steps import Arg
from mycelium.labels.math_grounding import is_name
from mycelium.records.labels import LabelRecord
from mycelium.labels.stage import read_labels

CONTEXT = 15  # characters of context shown on each side of an argument's words


def sample_validated(records: list[LabelRecord], n: int, seed: int,
                     exclude: set[str] = frozenset()) -> list[LabelRecord]:
    """``n`` validated records, none of ids ``exclude``, drawn with ``random.Random(seed)``, in
    the order drawn.

    Raises ValueError when fewer than ``n`` records are validated."""
    pool = [r for r in records if r.validated and r.id not in exclude]
    if len(pool) < n:
        raise ValueError(f"only {len(pool)} validated records, asked for {n}")
    return random.Random(seed).sample(pool, n)


def ids_in_packets(paths: list[str | Path]) -> set[str]:
    """The problem ids (`` `<set>/<split>/<n>` ``) that these markdown packets show: a later draw's
    ``--exclude``. Raises OSError when a file cannot be read."""
    return {m for p in paths for m in re.findall(r"`([^`]+/\d+)`", Path(p).read_text(encoding="utf-8"))}


def _arg_line(arg: Arg, text: str) -> str:
    if arg.kind == "result":
        return f"result of step {arg.step + 1} (= {arg.value})"
    if arg.kind == "constant":
        return f"constant {arg.value} (\"{arg.text}\": the notation's or a formula's, not written in the problem)"
    if arg.kind == "expr" and arg.span is None and is_name(arg):
        return f"unknown {arg.value} (a name the solution gives a quantity; no data)"
    if arg.span is None:
        return f"{arg.kind} {arg.value} (\"{arg.text}\", not found in the text)"
    a, b = arg.span
    left = text[max(0, a - CONTEXT):a].replace("\n", " ")
    right = text[b:b + CONTEXT].replace("\n", " ")
    kind = {"number": "written number", "expr": "written expression"}.get(arg.kind, "implied by the word")
    return f"{kind} \"{text[a:b]}\" = {arg.value}, chars {a}-{b}: …{left}**{text[a:b]}**{right}…"


def format_record(r: LabelRecord, number: int) -> str:
    """One problem of the packet as markdown."""
    lines = [f"## {number}. `{r.id}`", "", f"> {r.text.strip()}", "", f"Gold answer: **{r.gold_answer}**", ""]
    for s in r.steps:
        region = f"\"{r.text[s.region[0]:s.region[1]]}\"" if s.region else "(none)"
        lines.append(f"- **Step {s.index + 1}: {s.op}** → {s.value}   (CoT {'math' if r.type else 'arithmetic'}: `{s.expr}`)")
        for k, a in enumerate(s.args):
            lines.append(f"  - arg {k + 1}: {_arg_line(a, r.text)}")
        lines.append(f"  - region: {region}")
    return "\n".join(lines) + "\n"


def write_packet(records: list[LabelRecord], path: str | Path, title: str) -> Path:
    """The packet of ``records`` (numbered from 1) as one markdown file (its folder made if new)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n".join(format_record(r, i + 1) for i, r in enumerate(records))
    path.write_text(f"# {title}\n\n{body}", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--labels", required=True, help="labels dir or labels.jsonl")
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--seed", type=int, required=True, help="write it down beside the audit")
    p.add_argument("--out", default="audit_packet.md")
    p.add_argument("--parts", type=int, default=1, help="split the sample into this many packets (one per reviewer)")
    p.add_argument("--exclude", nargs="*", default=[],
                   help="packets whose problems (the `<set>/<split>/<n>` ids they show) to leave out of the draw")
    args = p.parse_args(argv)
    try:
        sample = sample_validated(read_labels(args.labels), args.n, args.seed, ids_in_packets(args.exclude))
    except (ValueError, OSError) as e:
        raise SystemExit(f"error: {e}")
    out = Path(args.out)
    size = -(-len(sample) // args.parts)
    for part in range(args.parts):
        chunk = sample[part * size:(part + 1) * size]
        path = out if args.parts == 1 else out.with_name(f"{out.stem}-{part + 1}{out.suffix}")
        try:
            write_packet(chunk, path, f"Label audit: {args.labels}, seed {args.seed}, problems "
                                      f"{part * size + 1}-{part * size + len(chunk)} of {len(sample)}")
        except OSError as e:  # --out under a file, or a folder we may not write
            raise SystemExit(f"error: cannot write {path}: {e}")
        print(f"wrote {path}")
    print("sample ids:", " ".join(r.id for r in sample))


if __name__ == "__main__":
    main()
