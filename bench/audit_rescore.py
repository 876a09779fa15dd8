"""Audit verdicts carried over to newer labels: the audit's figures on what the labels are now.

    python bench/audit_rescore.py --labels artifacts/labels/gsm8k-train/smollm2_135m-dataset/default \
        docs/audits/audit-17 docs/audits/audit-18 docs/audits/audit-19 \
        --ab docs/audits/regions-ab-16/audits-17-19

An audit directory holds what its reviewers saw (``packet-K.md``, from ``mycelium.labels.audit``)
and their per-step tables (``report-K.md``, rows ``| problem | step | op and args | ARG | REGION
| ...``). Each audited problem is shown again from ``--labels`` in the packet's own format; a step
whose op, arguments and region read the same keeps its verdicts. A step whose region alone moved
takes the REGION verdict a blind side-by-side packet (``bench/regions_ab.py``, given with
``--ab``: its ``packet.md`` and ``verdicts.md``) gave that region's text, and keeps its ARG
verdict. A problem no longer validated, or with a step that changed otherwise, is left out and
counted. Prints, per audit and pooled: problems, steps, wrong arguments, regions ok / weak /
wrong, problems right in every step (and counting weak regions as acceptable).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from audit_agreement import read_review
from regions_ab import ROW
from mycelium.labels.audit import format_record
from mycelium.labels.stage import read_labels

SECTION = re.compile(r"^## (\d+)\. `([^`]+)`", re.M)


def steps_shown(section: str) -> list[tuple[str, str]]:
    """Per step of one packet section: (op and argument lines, region line's text)."""
    out = []
    for block in section.split("- **Step ")[1:]:
        lines = block.splitlines()
        region = next((ln.split(": ", 1)[1] for ln in lines if ln.strip().startswith("- region")), "")
        out.append(("\n".join(ln for ln in lines if not ln.strip().startswith("- region")).strip(), region.strip()))
    return out


def sections(packet: str) -> dict[int, tuple[str, str]]:
    """Packet problem number -> (problem id, its section's text)."""
    found = list(SECTION.finditer(packet))
    ends = [m.start() for m in found[1:]] + [len(packet)]
    return {int(m.group(1)): (m.group(2), packet[m.start():end]) for m, end in zip(found, ends)}


def ab_verdicts(folder: Path) -> dict[tuple[str, int, str], str]:
    """(problem id, step, region text) -> REGION verdict, from a regions_ab packet and its verdicts."""
    shown = sections((folder / "packet.md").read_text(encoding="utf-8"))
    out = {}
    for line in (folder / "verdicts.md").read_text(encoding="utf-8").splitlines():
        m = ROW.match(line.strip())
        if not m or int(m.group(1)) not in shown:
            continue
        pid, text = shown[int(m.group(1))]
        step = int(m.group(2))
        block = text.split(f"- **Step {step}: ")[1].split("- **Step ")[0]
        for letter, verdict in (("X", m.group(3)), ("Y", m.group(4))):
            region = re.search(rf"- region {letter}: (.*)", block)
            if region:
                out[pid, step, region.group(1).strip()] = verdict.lower()
    return out


def rescore(audit: Path, records: dict, moved: dict) -> tuple[dict, Counter]:
    """((packet, problem, step) -> (ARG, REGION)) for the audit's problems as labelled now, and
    how many problems were left out and why."""
    verdicts, left = {}, Counter()
    for packet in sorted(audit.glob("packet-*.md")):
        report = audit / packet.name.replace("packet", "report")
        if not report.exists():
            raise SystemExit(f"{report}: missing (the review of {packet})")
        review = read_review(report)
        for number, (pid, text) in sections(packet.read_text(encoding="utf-8")).items():
            r = records.get(pid)
            if r is None or not r.validated:
                left["no longer validated"] += 1
                continue
            then, now = steps_shown(text), steps_shown(format_record(r, number))
            if len(then) != len(now) or any(a[0] != b[0] for a, b in zip(then, now)):
                left["steps changed"] += 1
                continue
            rows = {}
            for k, ((_, was), (_, region)) in enumerate(zip(then, now), start=1):
                arg, judged = review.get((number, k), (None, None))
                if arg is None:
                    break
                if region != was:
                    judged = moved.get((pid, k, region))
                    if judged is None:
                        break
                rows[packet.name, number, k] = (arg, judged)
            else:
                verdicts.update(rows)
                continue
            left["a step not judged"] += 1
    return verdicts, left


def line(name: str, verdicts: dict, left: Counter) -> str:
    steps = list(verdicts.values())
    problems: dict = {}
    for (packet, number, _), v in verdicts.items():
        problems.setdefault((packet, number), []).append(v)
    n, p = len(steps), len(problems)
    wrong = sum(a == "wrong" for a, _ in steps)
    reg = Counter(r for _, r in steps)
    right = sum(all(a == "ok" and r == "ok" for a, r in vs) for vs in problems.values())
    weak_ok = sum(all(a == "ok" and r != "wrong" for a, r in vs) for vs in problems.values())
    out = ", ".join(f"{k} {v}" for k, v in sorted(left.items())) or "-"
    return (f"| {name} | {p} | {n} | {wrong / n:.1%} ({wrong}) | {reg['ok'] / n:.1%} / {reg['weak'] / n:.1%} / "
            f"{reg['wrong'] / n:.1%} | {right / p:.1%} ({right}) | {weak_ok / p:.1%} | {out} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("audits", nargs="+", type=Path, help="audit directories (packet-K.md, report-K.md)")
    ap.add_argument("--labels", required=True, help="the labels to score (dir or labels.jsonl)")
    ap.add_argument("--ab", nargs="*", type=Path, default=[], help="regions_ab folders judging moved regions")
    args = ap.parse_args()
    records = {r.id: r for r in read_labels(args.labels)}
    moved: dict = {}
    for folder in args.ab:
        if not (folder / "packet.md").is_file() or not (folder / "verdicts.md").is_file():
            raise SystemExit(f"{folder}: a regions_ab folder needs packet.md and verdicts.md")
        moved.update(ab_verdicts(folder))
    for audit in args.audits:
        if not sorted(audit.glob("packet-*.md")):
            raise SystemExit(f"{audit}: no packet-K.md here (an audit directory from mycelium.labels.audit)")
    print("| audit | problems | steps | wrong arguments | regions ok / weak / wrong | problems fully right "
          "| ... counting weak as acceptable | left out |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    pooled, pooled_left = {}, Counter()
    for audit in args.audits:
        verdicts, left = rescore(audit, records, moved)
        if not verdicts:
            raise SystemExit(f"{audit}: no audited problem could be scored on these labels")
        print(line(audit.name, verdicts, left))
        pooled.update({(audit.name, *k): v for k, v in verdicts.items()})
        pooled_left += left
    if len(args.audits) > 1:
        print(line("pooled", {(f"{a}/{p}", n, s): v for (a, p, n, s), v in pooled.items()}, pooled_left))


if __name__ == "__main__":
    main()
