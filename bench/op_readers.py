"""How well a careful reader names a region's op: the ceiling beside the classifier's accuracy.

    python bench/op_readers.py packet --labels <labels dir> --n 120 --seed 7 --parts 4 --out <dir>
    python bench/op_readers.py score --labels <labels dir> <dir> [--classifier <export dir>]

The op classifier (``python train.py model=classifier``) sees a problem with one region marked
(``mycelium.models.examples.mark_span``) and names the op(s) the region states, labelled as
``classifier_examples`` does (several steps on one region joined: "MUL+ADD"). ``packet`` draws
``--n`` such examples from the classifier's own test split (``conf/model/classifier.yaml``:
``split_of`` with 0.9/0.05/0.05, no salt) and writes them, without their ops, for readers
(``packet-K.md``), who answer in ``answers-K.md`` rows ``| example | op |``. ``score`` prints the
readers' accuracy beside the majority op and TF-IDF + logistic regression (scikit-learn, fitted on
the train split's regions as ``bench/baselines.py`` does) on the same examples, and, with
``--classifier``, a trained classifier's export.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mycelium.data.splits import split_of  # noqa: E402
from mycelium.labels.stage import read_labels  # noqa: E402
from mycelium.models.examples import classifier_examples, mark_span  # noqa: E402

SPLITS = {"train": 0.9, "val": 0.05, "test": 0.05}
ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*([A-Z+ ]+?)\s*\|")
HEADER = """Each example is a math word problem with one stretch of it marked [[like this]]. Name the arithmetic
operation(s) that the marked words state, as a step of solving the problem: ADD, SUB, MUL or DIV. If
the marked words state two or more operations (e.g. "5 more than twice her age": MUL then ADD), join
them in the order they are computed with "+" (MUL+ADD). Answer in a table: | example | op |
"""


def examples_by_split(labels: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {name: [] for name in SPLITS}
    for r in read_labels(labels):
        if r.validated:
            out[split_of(r.id, SPLITS)] += classifier_examples(r)[0]
    return out


def write_packets(args) -> None:
    test = examples_by_split(args.labels)["test"]
    sample = random.Random(args.seed).sample(test, args.n)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    size = -(-len(sample) // args.parts)
    for part in range(args.parts):
        lines = [f"# Name the op: part {part + 1} of {args.parts} (seed {args.seed})", "", HEADER]
        for i, ex in enumerate(sample[part * size:(part + 1) * size], part * size + 1):
            lines += [f"## {i}. `{ex['id']}` chars {ex['region'][0]}-{ex['region'][1]}", "",
                      f"> {mark_span(ex['text'], ex['region']).strip()}", ""]
        (out / f"packet-{part + 1}.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.parts} packets to {out}: {len(sample)} of the {len(test)} test-split regions")


def read_answers(folder: Path, shown: dict[int, dict]) -> dict[int, str]:
    """Example number -> the op(s) a reader named, from ``answers-K.md`` rows ``| example | op |``."""
    answers = {}
    for path in sorted(folder.glob("answers-*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = ROW.match(line.strip())
            if m and int(m.group(1)) in shown:
                answers[int(m.group(1))] = m.group(2).replace(" ", "")
    return answers


def score(args) -> None:
    splits = examples_by_split(args.labels)
    by_key = {(ex["id"], ex["region"]): ex for ex in splits["test"]}
    shown = {}
    for packet in sorted(Path(args.folder).glob("packet-*.md")):
        for n, pid, a, b in re.findall(r"^## (\d+)\. `([^`]+)` chars (\d+)-(\d+)", packet.read_text(), re.M):
            shown[int(n)] = by_key[(pid, (int(a), int(b)))]
    answers = read_answers(Path(args.folder), shown)
    ids = sorted(answers)
    gold = [shown[i]["op"] for i in ids]
    train = splits["train"]
    majority = Counter(ex["op"] for ex in train).most_common(1)[0][0]
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=1)  # bench/baselines.py's classifier baseline
    x = vec.fit_transform([ex["text"][slice(*ex["region"])] for ex in train])
    clf = LogisticRegression(max_iter=2000).fit(x, [ex["op"] for ex in train])
    tfidf = clf.predict(vec.transform([shown[i]["text"][slice(*shown[i]["region"])] for i in ids]))
    print(f"{len(ids)} answered of {len(shown)} shown (labels: {args.labels})")
    print("| on the same test-split regions | accuracy |")
    print("|---|---:|")
    print(f"| majority op of the train split ({majority}) | {np.mean([g == majority for g in gold]):.3f} |")
    print(f"| TF-IDF + logistic regression on the region text | {np.mean([p == g for p, g in zip(tfidf, gold)]):.3f} |")
    print(f"| careful readers (the whole problem, region marked) | {np.mean([answers[i] == g for i, g in zip(ids, gold)]):.3f} |")
    same = lambda a, b: set(a.split("+")) == set(b.split("+"))  # noqa: E731  "ADD+ADD" reads as "ADD"
    print(f"| ... readers, the set of ops (ADD+ADD = ADD; MUL+SUB = SUB+MUL) | "
          f"{np.mean([same(answers[i], g) for i, g in zip(ids, gold)]):.3f} |")
    print(f"| ... TF-IDF, the same way | {np.mean([same(p, g) for p, g in zip(tfidf, gold)]):.3f} |")
    if args.classifier:
        from mycelium.models.export import load_exported

        student = load_exported(args.classifier, device="cpu").predict_ops(
            [(shown[i]["text"], tuple(shown[i]["region"])) for i in ids])
        print(f"| classifier {args.classifier} | {np.mean([p == g for p, g in zip(student, gold)]):.3f} |")
        print(f"| ... the same way (set of ops) | {np.mean([same(p, g) for p, g in zip(student, gold)]):.3f} |")
    if args.second:
        other = read_answers(Path(args.second), shown)
        both = [i for i in ids if i in other]
        print(f"| second readers ({len(both)} regions) | {np.mean([other[i] == shown[i]['op'] for i in both]):.3f} |")
        print(f"| first and second reader agree with each other | {np.mean([other[i] == answers[i] for i in both]):.3f} |")
        print(f"| ... the same way (set of ops) | {np.mean([same(other[i], answers[i]) for i in both]):.3f} |")
    single = [k for k, g in enumerate(gold) if "+" not in g]
    print(f"| ... on the {len(single)} single-op regions | "
          f"{np.mean([answers[ids[k]] == gold[k] for k in single]):.3f} |")
    confusion = Counter((gold[k], answers[ids[k]]) for k in range(len(ids)) if answers[ids[k]] != gold[k])
    print("most common disagreements (label -> reader):", ", ".join(f"{g}->{a} {c}" for (g, a), c in confusion.most_common(8)))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("packet")
    a.add_argument("--labels", required=True)
    a.add_argument("--n", type=int, default=120)
    a.add_argument("--seed", type=int, required=True)
    a.add_argument("--parts", type=int, default=4)
    a.add_argument("--out", required=True)
    b = sub.add_parser("score")
    b.add_argument("--labels", required=True)
    b.add_argument("folder")
    b.add_argument("--second", help="a folder of second readers' answers-K.md on the same packets: their agreement")
    b.add_argument("--classifier", help="an exported classifier (train.py model=classifier) scored on the same regions")
    args = p.parse_args(argv)
    write_packets(args) if args.cmd == "packet" else score(args)


if __name__ == "__main__":
    main()
