"""``python -m mycelium.solver.learned_wiring fit <labels> --out <dir>``: fit on the students'
train split, save, and print the heuristics vs the learned wiring on the held-out problems."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from mycelium.solver.learned_wiring import __doc__ as OVERVIEW
from mycelium.solver.learned_wiring.beam import learned_accuracy
from mycelium.solver.learned_wiring.model import save_wiring
from mycelium.solver.learned_wiring.training import SPLITS, fit_wiring, split_records
from mycelium.solver.wiring import STRATEGIES, read_records


def main(argv: Sequence[str] | None = None) -> None:
    """``fit <labels> --out <dir>``: train on the train split, save, print heuristics vs learned."""
    from mycelium.solver.wiring import wiring_accuracy

    ap = argparse.ArgumentParser(description=OVERVIEW.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    fit = sub.add_parser("fit", help="train on the train split, save, compare on val/test")
    fit.add_argument("labels", help="a labels.jsonl or a directory holding one")
    fit.add_argument("--out", required=True, help="directory to save the model in (e.g. <students>/wiring_mlp)")
    fit.add_argument("--epochs", type=int, default=60)
    fit.add_argument("--hidden", type=int, default=64)
    fit.add_argument("--beam", type=int, default=8)
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--test-fold", type=int, default=None,
                     help="MAWPS five-fold: train on the other folds, test on fold k (val: empty)")
    args = ap.parse_args(argv)

    records = read_records(args.labels)
    if args.test_fold is None:
        parts = {s: split_records(records, s) for s in SPLITS}
    else:  # the split of `train.py model=wiring datamodule.test_fold=k` (its val slice trains here)
        from mycelium.data.mawps_folds import fold_of

        valid = [r for r in records if r.validated]
        parts = {"train": [r for r in valid if fold_of(r.id) != args.test_fold], "val": [],
                 "test": [r for r in valid if fold_of(r.id) == args.test_fold]}
    model = fit_wiring(parts["train"], hidden=args.hidden, epochs=args.epochs, seed=args.seed, log_every=10)
    save_wiring(model, args.out)
    print(f"\n{args.labels}: {sum(r.validated for r in records)} validated of {len(records)}; "
          f"trained on {len(parts['train'])} (train split), model saved in {args.out}\n")
    print("| wiring (gold spans + ops, text order) | val | test | val+test |")
    print("|---|---|---|---|")
    held = parts["val"] + parts["test"]
    n = {k: len(v) for k, v in (("val", parts["val"]), ("test", parts["test"]), ("held", held))}
    for strategy in STRATEGIES:
        accs = [wiring_accuracy(x, strategy) if x else float("nan") for x in (parts["val"], parts["test"], held)]
        print(f"| heuristic {strategy} (larger-first, problem numbers) | " + " | ".join(f"{a:.3f}" for a in accs) + " |")
    accs = [wiring_accuracy(x, "chain", step_order="gold") if x else float("nan") for x in (parts["val"], parts["test"], held)]
    print("| heuristic chain in the labels' CoT order (a reference: needs gold order) | "
          + " | ".join(f"{a:.3f}" for a in accs) + " |")
    accs = [learned_accuracy(x, model, beam=args.beam)[0] if x else float("nan") for x in (parts["val"], parts["test"], held)]
    print(f"| learned (beam {args.beam}) | " + " | ".join(f"{a:.3f}" for a in accs) + " |")
    print(f"| n | {n['val']} | {n['test']} | {n['held']} |")


if __name__ == "__main__":
    main()
