"""The statistics behind the wiring head's stop state (mycelium/models/wiring_head.StopState).

For each labels dir: every gold action of the DAGs the wiring student trains on
(``datamodule.train_on``), by how many written numbers it leaves unread and how many results it
leaves dangling, and how often that action is the last one (the stop). A stop with a result
dangling would be masked in training: the table shows it never happens. With two or more
dirs, the first is the student's training labels and each other dir gets the stop prior that
moves the odds of stopping with nothing left to read from the first's rate to its own,
``logit(p_dir) - logit(p_first)`` in nats (a prior correction for label shift, Saerens et al.
2002): the ``stop`` entry of ``conf/data/<set>.yaml`` ``priors``.

    python bench/stop_state.py --labels artifacts/labels/gsm8k-train/smollm2_135m-dataset/default \
        artifacts/labels/mawps_cv-all/smollm2_135m-dataset/default --train-on validated
"""

from __future__ import annotations

import argparse
import math
from collections import Counter

import torch

from mycelium.labels.stage import read_labels
from mycelium.models.wiring_data import make_example, node_groups
from mycelium.models.wiring_head import MAX_DANGLING, MAX_UNREAD, StopState


def tally(labels_dir: str, train_on: str) -> tuple[int, Counter, Counter]:
    """Problems, then actions and stops by (unread, dangling) after each gold action."""
    problems, actions, stops = 0, Counter(), Counter()
    for record in read_labels(labels_dir):
        ex = make_example(record, train_on=train_on)
        if not ex.actions:
            continue
        problems += 1
        group, written = node_groups(ex.quantities)
        q, T = len(ex.quantities), len(ex.actions)
        state = StopState.start(torch.tensor([group]), torch.tensor([written]), T)
        for t, (_, i, j, stop) in enumerate(ex.actions):
            unread, dangling = state.after()
            key = (min(int(unread[0, i, j]), MAX_UNREAD), min(int(dangling[0, i, j]), MAX_DANGLING))
            actions[key] += 1
            stops[key] += stop
            state = state.advance(torch.tensor([i]), torch.tensor([j]), torch.tensor([q + t]), torch.tensor([True]))
    return problems, actions, stops


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", nargs="+", required=True, help="labels dirs (labels.jsonl)")
    ap.add_argument("--train-on", default="validated", choices=["validated", "executes"])
    args = ap.parse_args()
    done_rates = []
    for labels_dir in args.labels:
        problems, actions, stops = tally(labels_dir, args.train_on)
        print(f"\n{labels_dir} ({problems} problems, train_on={args.train_on})\n")
        print("| unread numbers after | dangling results after | actions | last action (stop) | stop rate |")
        print("|---:|---:|---:|---:|---:|")
        for (u, d), n in sorted(actions.items()):
            print(f"| {u}{'+' if u == MAX_UNREAD else ''} | {d}{'+' if d == MAX_DANGLING else ''} | {n} | {stops[(u, d)]} "
                  f"| {stops[(u, d)] / n:.2f} |")
        masked = sum(stops[k] for k in stops if k[1] > 0)
        print(f"\nstops with a result dangling (masked in training): {masked}")
        done_rates.append((labels_dir, stops[(0, 0)], actions[(0, 0)]))
    if len(done_rates) > 1:
        print("\n| labels | stops with nothing left to read | stop prior against the first (nats) |\n|---|---:|---:|")
        first = done_rates[0]
        for name, k, n in done_rates:
            print(f"| {name} | {k} of {n} ({k / max(n, 1):.3f}) | {log_odds(k, n) - log_odds(first[1], first[2]):.2f} |")


def log_odds(k: int, n: int) -> float:
    """The log-odds of ``k`` stops in ``n`` actions, with add-one smoothing (so 100% is finite)."""
    return math.log((k + 1) / (n - k + 1))


if __name__ == "__main__":
    main()
