"""Simple baselines beside the students, on the same splits: a number with no baseline next to
it does not say whether anything was learned.

    python bench/baselines.py --labels <labels dir the students trained on> --eval gsm8k/test mawps/test --limit 200
    python bench/baselines.py ... --answer-only <export dir of `train.py model=answer_only`>
    python bench/baselines.py ... --eval gsm8k/train --holdout val test   # the development set
    python bench/baselines.py ... --segmenter <export> --classifier <export> --eval   # the students beside them
    python bench/baselines.py --labels <MATH train labels> --test-labels <MATH500 labels> --eval math500/test ...

Prints markdown tables:
- the segmenter's test split (``conf/model/segmenter.yaml``'s split): "every spaCy clause holding
  a number" (the labels' own clause parse, no learning) as its spans, strict IOB2 span F1 at
  word level against the regions, as the segmenter is scored; with ``--segmenter``, that
  student on the same problems, raw, after the solver's filter and (a segmenter over tokens)
  clause snapping (``mycelium.solver.spans.SpanSnapper``); the share of regions that are runs
  of clause units (a clause segmenter's ceiling); and a bag-of-words clause selector (TF-IDF + logistic
  regression says which clauses are regions), the segmenter's learned baseline;
- the classifier's test split (the same ``split_of`` hash, fractions, salt and ``multi_op``
  as ``conf/model/classifier.yaml``): the majority op of the train split, and TF-IDF +
  logistic regression (scikit-learn) on the region's words (with joined labels also a
  multi-label reading: the set of ops, one-vs-rest); with ``--classifier``, that student on
  the same regions;
- end to end, per eval set (first ``--limit`` problems): the most common gold answer of the
  labels' train split, and the last number written in the question; with ``--answer-only``,
  the no-CoT answer-only fine-tune too (greedy decoding of a few tokens, its first number
  compared with the gold by ``answers_match``; ``mycelium.models.answer_only``).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable

from mycelium.dag.ops import MULTI_OP_SEP
from mycelium.data.answers import answers_match
from mycelium.data.problems import load_problems
from mycelium.data.splits import held_out, split_of
from mycelium.labels.args import extract_numbers
from mycelium.labels.clauses import ClauseConfig, load_spacy, parse
from mycelium.labels.stage import read_labels
from mycelium.models.bio import clean_regions, regions_to_word_tags
from mycelium.models.examples import classifier_examples, segmenter_example
from mycelium.models.segmenter import span_scores
from mycelium.records.labels import LabelRecord

Split = Callable[[LabelRecord], str]  # a record's part: "train", "val" or "test"


def segmenter_baseline(records, split: Split) -> dict[str, float]:
    """Span P/R/F1 of "every clause holding a number" on the segmenter's test split."""
    test = [r for r in records if split(r) == "test"]
    gold, pred = [], []
    for record, parsed in zip(test, parse([r.text for r in test], load_spacy(), ClauseConfig())):
        clauses = {tuple(int(x) for x in parsed.clause_spans[i]) for i in parsed.is_num.nonzero()[0]}
        gold.append(regions_to_word_tags(record.text, segmenter_example(record)[0]["regions"]))
        pred.append(regions_to_word_tags(record.text, clean_regions(sorted(clauses))[0]))
    return {"test problems": len(test), **{f"every clause holding a number: {k}": v for k, v in span_scores(gold, pred).items()}}


def clause_selector_baseline(records, split: Split) -> dict[str, float]:
    """Span P/R/F1 of a bag-of-words clause selector on the segmenter's test split: TF-IDF
    (1-2 grams) of each spaCy clause plus six cues (holds a number / an implicit constant, how
    many numbers, a question, relative position, the last clause), logistic regression trained
    on the train split's clauses to say "this clause is a region"; its spans are the clauses it
    picks. A learned baseline with no encoder; its ceiling is the regions that are one clause."""
    import numpy as np
    import scipy.sparse as sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from mycelium.labels.args import implicit_operands
    from mycelium.models.units import clause_units

    rows: dict[str, list] = {"train": [], "test": []}
    kept = [r for r in records if split(r) in rows]
    one = run = regions = 0  # test regions that are one clause unit / a run of them: the units' ceiling
    for record, parsed in zip(kept, parse([r.text for r in kept], load_spacy(), ClauseConfig())):
        gold = set(map(tuple, segmenter_example(record)[0]["regions"]))
        units = clause_units(parsed)
        if split(record) == "test":
            starts, ends = {a for a, _ in units}, {b for _, b in units}
            regions += len(gold)
            one += sum(g in units for g in gold)
            run += sum(g[0] in starts and g[1] in ends for g in gold)
        for k, (a, b) in enumerate(units):
            piece = record.text[a:b]
            cues = [bool(extract_numbers(piece)), bool(implicit_operands(piece)), len(extract_numbers(piece)),
                    piece.rstrip().endswith("?"), k / max(1, len(units) - 1), k == len(units) - 1]
            rows[split(record)].append((record, (a, b), piece, cues, (a, b) in gold))
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2)

    def features(rs: list, fit: bool = False):
        words = (tfidf.fit_transform if fit else tfidf.transform)([x[2] for x in rs])
        return sparse.hstack([words, sparse.csr_matrix(np.array([x[3] for x in rs], dtype=float))]).tocsr()

    model = LogisticRegression(max_iter=3000).fit(features(rows["train"], fit=True), [x[4] for x in rows["train"]])
    picked: dict[str, tuple] = {}
    for x, keep in zip(rows["test"], model.predict(features(rows["test"]))):
        record, spans = picked.setdefault(x[0].id, (x[0], []))
        if keep:
            spans.append(x[1])
    gold = [regions_to_word_tags(r.text, segmenter_example(r)[0]["regions"]) for r, _ in picked.values()]
    pred = [regions_to_word_tags(r.text, clean_regions(sorted(sps))[0]) for r, sps in picked.values()]
    return {"test regions that are one clause unit": one / regions, "test regions that are a run of clause units": run / regions,
            **{f"TF-IDF + logistic regression clause selector: {k}": v for k, v in span_scores(gold, pred).items()}}


def check_export_split(export: str, fractions: dict[str, float], salt: str) -> None:
    """Stop when ``export`` records a training split other than the one these tables use."""
    from pathlib import Path

    from mycelium.models.export import check_split

    path = Path(export)
    check_split(path.parent, fractions, salt, names=[path.name])


def segmenter_scores(records, split: Split, export: str, fractions: dict[str, float] | None, salt: str) -> dict[str, float]:
    """Span P/R/F1 of the exported segmenter on the same test problems as ``segmenter_baseline``:
    its raw spans, after the solver's filter (spans holding no number dropped), and, for a
    segmenter over tokens, after the filter + clause snapping (``SpanSnapper``)."""
    from mycelium.models.export import load_exported
    from mycelium.solver.spans import SpanSnapper

    if fractions:  # None: the test problems are another set's, the export's split does not matter
        check_export_split(export, fractions, salt)

    test = [r for r in records if split(r) == "test"]
    texts = [r.text for r in test]
    segmenter = load_exported(export, device="cpu")
    raw = segmenter.predict_spans(texts)
    gold = [regions_to_word_tags(r.text, segmenter_example(r)[0]["regions"]) for r in test]
    out: dict[str, float] = {}
    variants = [("raw", raw), ("filtered", SpanSnapper(snap=False)(texts, raw))]
    if segmenter.units == "tokens":  # runs of clauses are not snapped (the solver does not either)
        variants.append(("filtered + snapped", SpanSnapper()(texts, raw)))
    for name, spans in variants:
        pred = [regions_to_word_tags(t, clean_regions(sorted(map(tuple, sps)))[0]) for t, sps in zip(texts, spans)]
        out |= {f"segmenter {export}, {name}: {k}": v for k, v in span_scores(gold, pred).items()}
    return out


def classifier_scores(records, split: Split, multi_op: str, export: str, fractions: dict[str, float] | None,
                      salt: str) -> dict[str, float]:
    """Accuracy of the exported classifier on the same test regions as ``classifier_baselines``."""
    from mycelium.models.export import load_exported

    if fractions:
        check_export_split(export, fractions, salt)

    test = [ex for r in records if split(r) == "test" for ex in classifier_examples(r, multi_op)[0]]
    predicted = load_exported(export, device="cpu").predict_ops([(e["text"], tuple(e["region"])) for e in test])
    pairs = list(zip(predicted, (e["op"] for e in test)))
    single = [(p, g) for p, g in pairs if MULTI_OP_SEP not in g]
    multi = [(p, g) for p, g in pairs if MULTI_OP_SEP in g]
    confusions = Counter(f"{g} read as {p}" for p, g in single if p != g).most_common(2)
    return {f"classifier {export}": sum(p == g for p, g in pairs) / len(test),
            f"... on single-op regions ({len(single)})": sum(p == g for p, g in single) / max(1, len(single)),
            f"... on multi-op regions ({len(multi)})": sum(p == g for p, g in multi) / max(1, len(multi)),
            **{f"... commonest error: {name}": n for name, n in confusions}}


def classifier_baselines(records, split: Split, multi_op: str) -> dict[str, float]:
    """Accuracy of majority op and TF-IDF + logistic regression on the test split."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    by_split: dict[str, list[dict]] = {"train": [], "test": []}
    for r in records:
        part = split(r)
        if part in by_split:
            by_split[part] += classifier_examples(r, multi_op)[0]
    words = lambda ex: ex["text"][ex["region"][0]:ex["region"][1]]  # noqa: E731
    train, test = by_split["train"], by_split["test"]
    majority = Counter(ex["op"] for ex in train).most_common(1)[0][0]
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=1)
    model = LogisticRegression(max_iter=2000).fit(tfidf.fit_transform([words(e) for e in train]), [e["op"] for e in train])
    predicted = model.predict(tfidf.transform([words(e) for e in test]))
    out = {
        "test examples": len(test),
        "majority op": sum(e["op"] == majority for e in test) / len(test),
        "TF-IDF + logistic regression": sum(p == e["op"] for p, e in zip(predicted, test)) / len(test),
    }
    if multi_op == "join":  # a region several steps share: its set of ops, one-vs-rest, exact set right
        out["TF-IDF + one-vs-rest logistic regression (the set of ops)"] = _op_set_accuracy(tfidf, train, test, words)
    return out


def _op_set_accuracy(tfidf, train: list[dict], test: list[dict], words) -> float:
    """A multi-label reading of joined labels: one logistic regression per op on the region's
    TF-IDF features; a region's predicted set is every op above 0.5 (the likeliest when none)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    sets = lambda exs: [set(e["op"].split(MULTI_OP_SEP)) for e in exs]  # noqa: E731
    binarizer = MultiLabelBinarizer()
    model = OneVsRestClassifier(LogisticRegression(max_iter=2000))
    model.fit(tfidf.transform([words(e) for e in train]), binarizer.fit_transform(sets(train)))
    probs = model.predict_proba(tfidf.transform([words(e) for e in test]))
    predicted = [set(binarizer.classes_[p >= 0.5]) or {binarizer.classes_[int(np.argmax(p))]} for p in probs]
    return sum(p == g for p, g in zip(predicted, sets(test))) / len(test)


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
    ap.add_argument("--segmenter", default=None, help="export dir of a segmenter: scored beside its baseline")
    ap.add_argument("--classifier", default=None, help="export dir of a classifier: scored beside its baselines")
    ap.add_argument("--test-labels", default=None,
                    help="score on every validated record of these labels instead of --labels' test split; the "
                         "baselines then learn from every validated record of --labels (MATH train -> MATH500)")
    args = ap.parse_args()
    answer_only = None
    if args.answer_only:
        from mycelium.models.export import load_exported

        answer_only = load_exported(args.answer_only)
    records = [r for r in read_labels(args.labels) if r.validated]
    fractions = {"train": 0.9, "val": 0.05, "test": 0.05}  # conf/model/classifier.yaml
    split: Split = lambda r: split_of(r.id, fractions, args.salt)  # noqa: E731
    if args.test_labels:  # learn from every validated record of --labels, test on every one of another set
        tests = [r for r in read_labels(args.test_labels) if r.validated]
        if not tests:
            raise SystemExit(f"--test-labels {args.test_labels}: no validated records")
        test_ids = {r.id for r in tests}
        records = [r for r in records if r.id not in test_ids] + tests
        split = lambda r: "test" if r.id in test_ids else "train"  # noqa: E731
    where = f"every validated problem of {args.test_labels}" if args.test_labels else "test split"
    print(f"| segmenter, {where} | value |\n|---|---:|")
    trained_on = None if args.test_labels else fractions  # the split an export must have been trained on
    seg = segmenter_scores(records, split, args.segmenter, trained_on, args.salt) if args.segmenter else {}
    for k, v in (segmenter_baseline(records, split) | clause_selector_baseline(records, split) | seg).items():
        print(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")
    print(f"\n| classifier, {where} | value |\n|---|---:|")
    cls = classifier_scores(records, split, args.multi_op, args.classifier, trained_on, args.salt) if args.classifier else {}
    for k, v in (classifier_baselines(records, split, args.multi_op) | cls).items():
        print(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")
    train_answers = [r.gold_answer for r in records if split(r) == "train"]
    for spec in args.eval:
        dataset, split = spec.split("/")
        print(f"\n| E2E, {spec} | value |\n|---|---:|")
        for k, v in answer_baselines(train_answers, dataset, split, args.limit, answer_only, args.holdout,
                                     fractions, args.salt).items():
            print(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")


if __name__ == "__main__":
    main()
