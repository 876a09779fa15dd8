"""Training throughput of the wiring student per backbone: tokens/s of teacher-forced steps.

Same batches (the first ``--batches`` train batches of ``conf/model/wiring.yaml``'s DataModule
over ``--labels``), AdamW with the config's rates, ``--warmup`` untimed steps, then ``--steps``
timed ones; the fastest of ``--rounds`` rounds counts (the machine is shared: the minimum is the
least noisy). Tokens are real (non-pad) tokens of the problem texts. Also times beam decoding
(from the text alone) per problem.

    python bench/wiring_speed.py --backbones minilm_l6 mpnet_base --labels <labels dir>
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from mycelium.config import register_resolvers

CONF = str(Path(__file__).resolve().parents[1] / "conf")


def measure(backbone: str, labels: str, batches: int, warmup: int, steps: int, rounds: int) -> dict[str, float]:
    register_resolvers()
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose(config_name="train", overrides=["model=wiring", f"backbone={backbone}", f"labels_dir={labels}"])
    dm = instantiate(cfg.datamodule)
    dm.scan()
    module = instantiate(cfg.model, labels=dm.labels)
    dm.tokenizer = module.tokenizer
    loader = iter(dm.train_dataloader())
    data = [next(loader) for _ in range(batches)]
    opt = module.configure_optimizers()
    opt = opt["optimizer"] if isinstance(opt, dict) else opt
    module.train()
    best = float("inf")
    tokens = 0
    for _ in range(rounds):
        for k in range(warmup + steps):
            if k == warmup:
                start, tokens = time.perf_counter(), 0
            b = data[k % len(data)]
            loss = module.loss(b, module._use_items(b, True))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            opt.step()
            tokens += int(b["attention_mask"].sum())
        best = min(best, (time.perf_counter() - start) / tokens)
    t0 = time.perf_counter()
    decoded = module.decode_batch(data[0], with_items=False)
    decode_s = (time.perf_counter() - t0) / len(decoded)
    params = sum(p.numel() for p in module.encoder.parameters()) / 1e6
    return {"params_M": params, "tokens_per_s": 1 / best, "s_per_step": best * tokens / steps, "decode_s": decode_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backbones", nargs="+", default=["minilm_l6"])
    ap.add_argument("--labels", required=True)
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    print("| backbone | encoder params (M) | train tokens/s | s/step (batch 8) | decode s/problem (beam 5) |")
    print("|---|---:|---:|---:|---:|")
    for name in args.backbones:
        r = measure(name, args.labels, args.batches, args.warmup, args.steps, args.rounds)
        print(f"| {name} | {r['params_M']:.1f} | {r['tokens_per_s']:.0f} | {r['s_per_step']:.2f} | {r['decode_s']:.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
