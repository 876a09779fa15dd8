"""Simple baselines beside the students, on the same splits: a number with no baseline next to
it does not say whether anything was learned.

    python bench/baselines.py --labels <labels dir the students trained on> --eval gsm8k/test mawps/test --limit 200
    python bench/baselines.py ... --answer-only <export dir of `train.py model=answer_only`>
    python bench/baselines.py ... --eval gsm8k/train --holdout val test   # the development set

Prints markdown tables:
- the segmenter's test split (``conf/model/segmenter.yaml``'s split): "every spaCy clause holding
  a number" (the labels' own clause parse, no learning) as its spans, strict IOB2 span F1 at
  word level against the regions, as the segmenter is scored;
- the classifier's test split (the same ``split_of`` hash, fractions, salt and ``multi_op``
  as ``conf/model/classifier.yaml``): the majority op of the train split, and TF-IDF +
  logistic regression (scikit-learn) on the region's words;
- end to end, per eval set (first ``--limit`` problems): the most common gold answer of the
  labels' train split, and the last number written in the question; with ``--answer-only``,
  the no-CoT answer-only fine-tune too (greedy decoding of a few tokens, its first number
  compared with the gold by ``answers_match``; ``mycelium.models.answer_only``).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from mycelium.data.answers import answers_match
from mycelium.data.problems import load_problems
from mycelium.data.splits import held_out, split_of
from mycelium.labels.args import extract_numbers
from mycelium.labels.clauses import ClauseConfig, load_spacy, parse
from mycelium.labels.stage import read_labels
from mycelium.models.bio import clean_regions, regions_to_word_tags
from mycelium.models.examples import classifier_examples, segmenter_example
from mycelium.models.segmenter import span_scores


def segmenter_baseline(records, fractions: dict[str, float], salt: str) -> dict[str, float]:
    """Span P/R/F1 of "every clause holding a number" on the segmenter's test split."""
    test = [r for r in records if split_of(r.id, fractions, salt) == "test"]
    gold, pred = [], []
    for record, parsed in zip(test, parse([r.text for r in test], load_spacy(), ClauseConfig())):
        clauses = {tuple(int(x) for x in parsed.clause_spans[i]) for i in parsed.is_num.nonzero()[0]}
        gold.append(regions_to_word_tags(record.text, segmenter_example(record)[0]["regions"]))
        pred.append(regions_to_word_tags(record.text, clean_regions(sorted(clauses))[0]))
    return {"test problems": len(test), **{f"every clause holding a number: {k}": v for k, v in span_scores(gold, pred).items()}}


def classifier_baselines(records, fractions: dict[str, float], salt: str, multi_op: str) -> dict[str, float]:
    """Accuracy of majority op and TF-IDF + logistic regression on the test split."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    by_split: dict[str, list[dict]] = {"train": [], "test": []}
    for r in records:
        split = split_of(r.id, fractions, salt)
        if split in by_split:
            by_split[split] += classifier_examples(r, multi_op)[0]
    words = lambda ex: ex["text"][ex["region"][0]:ex["region"][1]]  # noqa: E731
    train, test = by_split["train"], by_split["test"]
    majority = Counter(ex["op"] for ex in train).most_common(1)[0][0]
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=1)
    model = LogisticRegression(max_iter=2000).fit(tfidf.fit_transform([words(e) for e in train]), [e["op"] for e in train])
    predicted = model.predict(tfidf.transform([words(e) for e in test]))
    return {
        "test examples": len(test),
        "majority op": sum(e["op"] == majority for e in test) / len(test),
        "TF-IDF + logistic regression": sum(p == e["op"] for p, e in zip(predicted, test)) / len(test),
    }


def answer_only_accuracy(module, problems, batch_size: int = 32) -> tuple[float, float]:
    """Accuracy of an answer-only model's greedy answers on ``problems``, and problems per second."""
    start = time.perf_counter()
    answers = module.predict_answers([p.text for p in problems], batch_size=batch_size)
    rate = len(problems) / (time.perf_counter() - start)
    return sum(answers_match(a, p.answer) for a, p in zip(answers, problems)) / len(problems), rate


def answer_baselines(train_answers: list[str], dataset: str, split: str, limit: int | None, answer_only=None,
                     holdout: list[str] | None = None, fractions: dict[str, float] | None = None,
                     salt: str = "") -> dict[str, float]:
    """Accuracy of the most common train answer, of the question's last number and (given a
    loaded ``AnswerOnlyModule``) of the answer-only fine-tune; with ``holdout``, only the
    problems of the split the students held out (``evaluate.py holdout=``'s development set)."""
    problems = load_problems(dataset, split, limit=None if holdout else limit)
    if holdout:
        problems = held_out(problems, holdout, fractions or {}, salt)[:limit]
    common = Counter(train_answers).most_common(1)[0][0]
    last = [extract_numbers(p.text)[-1].value if extract_numbers(p.text) else None for p in problems]
    return {
        "problems": len(problems),
        f"most common train answer ({common})": sum(answers_match(common, p.answer) for p in problems) / len(problems),
        "last number in the question": sum(answers_match(x, p.answer) for x, p in zip(last, problems)) / len(problems),
    } | (dict(zip(("answer-only fine-tune, no CoT", "answer-only problems/s"), answer_only_accuracy(answer_only, problems)))
         if answer_only is not None else {})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labels", required=True)
    ap.add_argument("--eval", nargs="*", default=["gsm8k/test", "mawps/test"], help="dataset/split")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--multi-op", default="join")
    ap.add_argument("--salt", default="")
    ap.add_argument("--holdout", nargs="*", default=None,
                    help="E2E only on the problems of each --eval split the students held out, e.g. val test")
    ap.add_argument("--answer-only", default=None, help="export dir of an answer-only fine-tune (train.py model=answer_only)")
    args = ap.parse_args()
    answer_only = None
    if args.answer_only:
        from mycelium.models.export import load_exported

        answer_only = load_exported(args.answer_only)
    records = [r for r in read_labels(args.labels) if r.validated]
    fractions = {"train": 0.9, "val": 0.05, "test": 0.05}  # conf/model/classifier.yaml
    print("| segmenter, test split | value |\n|---|---:|")
    for k, v in segmenter_baseline(records, fractions, args.salt).items():
        print(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")
    print("\n| classifier, test split | value |\n|---|---:|")
    for k, v in classifier_baselines(records, fractions, args.salt, args.multi_op).items():
        print(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")
    train_answers = [r.gold_answer for r in records if split_of(r.id, fractions, args.salt) == "train"]
    for spec in args.eval:
        dataset, split = spec.split("/")
        print(f"\n| E2E, {spec} | value |\n|---|---:|")
        for k, v in answer_baselines(train_answers, dataset, split, args.limit, answer_only, args.holdout,
                                     fractions, args.salt).items():
            print(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")


if __name__ == "__main__":
    main()
