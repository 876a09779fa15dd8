"""The rounds' curves for offline readers: ``rounds.csv``, ``self_improve.png`` and a markdown table."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from mycelium.loop.state import RoundRecord


def write_curves(history: Sequence[RoundRecord], loop_dir: Path, png: Path | None = None) -> tuple[Path, Path]:
    """``rounds.csv`` and ``self_improve.png`` (the W&B curves, for offline readers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ["round", "train_labels", "added", "mopup", "attempted", "rejected", "span_f1", "classifier_acc",
               "e2e_val", "e2e_test", "segmenter_test_span_f1", "classifier_test_acc", "luck_compared",
               "luck_ops_differ", "luck_regions_differ", "luck_rate", "seconds"]
    csv_path = loop_dir / "rounds.csv"
    with csv_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in history:
            w.writerow([getattr(r, c) if getattr(r, c) is not None else "" for c in columns])
    rounds = [r.round for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, label in (("e2e_val", "E2E val"), ("e2e_test", "E2E test"), ("span_f1", "span F1 (val)"),
                        ("classifier_acc", "classifier acc (val)")):
        ys = [getattr(r, name) for r in history]
        if any(y is not None for y in ys):
            ax1.plot(rounds, [float("nan") if y is None else y for y in ys], marker="o", label=label)
    ax1.set(xlabel="round", ylabel="score", title="students per round")
    ax1.legend(fontsize=8)
    ax2.bar(rounds, [r.train_labels - r.added - r.mopup for r in history], label="labels before the round")
    ax2.bar(rounds, [r.added for r in history], bottom=[r.train_labels - r.added - r.mopup for r in history],
            label="added by the students")
    ax2.bar(rounds, [r.mopup for r in history], bottom=[r.train_labels - r.mopup for r in history],
            label="teacher mop-up")
    ax2.set(xlabel="round", ylabel="validated labels", title="training set")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.set_xticks(rounds)
    fig.tight_layout()
    png_path = png or loop_dir / "self_improve.png"
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return csv_path, png_path


def format_table(history: Sequence[RoundRecord]) -> str:
    """A markdown table of the rounds."""
    fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    lines = ["| round | train labels | added | mop-up | span F1 (val) | classifier acc (val) | E2E val | E2E test "
             "| segmenter test span F1 | classifier test acc | luck: ops / regions differ of compared | wall s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in history:
        lines.append(f"| {r.round} | {r.train_labels} | {r.added} | {r.mopup} | {fmt(r.span_f1)} | "
                     f"{fmt(r.classifier_acc)} | {r.e2e_val:.3f} | {r.e2e_test:.3f} | "
                     f"{fmt(r.segmenter_test_span_f1)} | {fmt(r.classifier_test_acc)} | "
                     f"{r.luck_ops_differ} / {r.luck_regions_differ} of {r.luck_compared} | {r.seconds:.0f} |")
    return "\n".join(lines)
