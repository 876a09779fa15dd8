import importlib.util
import json
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from mycelium.dag.graph import answer_equals
from mycelium.data.mawps_folds import (
    FILE,
    GoldOperand,
    convert_row,
    decimal_text,
    fill_numbers,
    load_fold_problems,
    prefix_to_cot,
    read_rows,
    select_split,
)
from mycelium.data.problems import DataError, load_problems
from mycelium.labels.cot_ops import find_arithmetic
from mycelium.labels.gold import gold_by_step
from mycelium.dag.steps import Arg, Step
from mycelium.records.labels import LabelRecord

ROOT = Path(__file__).resolve().parents[2]

F = Fraction


@pytest.fixture(scope="module")
def folds_dir(data_dir):
    if not (data_dir / FILE).is_file():
        pytest.skip(f"no {FILE} under {data_dir}")
    return data_dir


@pytest.fixture(scope="module")
def fold_problems(folds_dir):
    return load_fold_problems(folds_dir, "all")


def test_decimal_text_is_exact_and_reader_style():
    assert [decimal_text(F(s)) for s in ("56.0", "0.5", "-2.25", "0.16666666666666666", "100")] == [
        "56", "0.5", "-2.25", "0.16666666666666666", "100"]
    assert decimal_text(F(1, 3)) is None


def test_fill_numbers_detokenises_and_records_spans():
    q = "Karin 's class has number0 rings , each $ number1 . Did n't a part - time worker get number2 % ?"
    text, spans = fill_numbers(q, [F("56.0"), F("0.5"), F("3")])
    assert text == "Karin's class has 56 rings, each $0.5. Didn't a part-time worker get 3%?"
    assert [text[a:b] for a, b in spans] == ["56", "0.5", "3"]
    with pytest.raises(DataError, match="number1"):
        fill_numbers("He has number0 and number1 .", [F(1)])


def test_prefix_to_cot_one_op_per_sentence_in_evaluation_order():
    cot, gold, value = prefix_to_cot("/ + number0 number1 number2", [F(3), F(5), F(2)], [(0, 1), (2, 3), (4, 5)])
    assert cot == "3 + 5 = 8. 8 / 2 = 4. The answer is 4."
    assert value == 4
    assert [(g.kind, g.text, g.span, g.placeholder, g.step) for g in gold] == [
        ("number", "3", (0, 1), 0, None), ("number", "5", (2, 3), 1, None),
        ("result", "8", None, None, 0), ("number", "2", (4, 5), 2, None)]


def test_prefix_to_cot_keeps_the_order_of_non_commutative_ops():
    cot, gold, value = prefix_to_cot("- number1 / number0 0.5", [F(3), F("10.0")])
    assert cot == "3 / 0.5 = 6. 10 - 6 = 4. The answer is 4."
    assert [(g.kind, g.placeholder, g.step) for g in gold] == [
        ("number", 0, None), ("constant", None, None), ("number", 1, None), ("result", None, 0)]
    assert value == 4


def test_results_without_a_finite_decimal_stay_inside_their_consumer():
    cot, gold, value = prefix_to_cot("* number2 / number0 number1", [F(7), F(12), F(216)])
    assert cot == "216 * (7 / 12) = 126. The answer is 126."
    steps = gold_by_step(cot, gold)  # DIV(7, 12) then MUL(216, #0)
    assert [[g.placeholder if g else None for g in s] for s in steps] == [[0, 1], [2, None]]
    assert value == 126


def test_malformed_equations_are_data_errors():
    for eq in ("+ number0", "+ number0 number1 number1", "+ number0 number5", "/ number0 0", "+ number0 x"):
        with pytest.raises(DataError):
            prefix_to_cot(eq, [F(1), F(2)])


def test_splits_and_ids(folds_dir):
    rows = read_rows(folds_dir / FILE)
    assert len(rows) == 1920 and Counter(r["fold"] for r in rows) == {k: 384 for k in range(5)}
    test0, train0 = select_split(rows, "fold0"), select_split(rows, "train0")
    assert len(test0) == 384 and len(train0) == 1536
    assert {r["fold"] for r in train0} == {1, 2, 3, 4}
    with pytest.raises(DataError, match="no split"):
        select_split(rows, "train")
    problems = load_problems("mawps_cv", "train0", folds_dir, limit=3)
    assert [p.id for p in problems] == ["mawps-cv/fold1/0", "mawps-cv/fold1/1", "mawps-cv/fold1/2"]
    assert problems[0].dataset == "mawps_cv" and problems[0].split == "train0"
    # a problem has the same id in every split that holds it
    assert load_problems("mawps_cv", "fold1", folds_dir, limit=1)[0] == problems[0].__class__(
        **{**problems[0].__dict__, "split": "fold1"})


def test_real_rows(fold_problems):
    first = fold_problems[0]
    assert first.problem.id == "mawps-cv/fold0/0"
    assert first.problem.text == ("Bryan took a look at his books as well. If Bryan has 56 books in each of "
                                  "his 9 bookshelves, how many books does he have in total?")
    assert first.problem.solution == "56 * 9 = 504. The answer is 504."
    assert first.problem.answer == "504"
    assert [first.problem.text[a:b] for a, b in first.number_spans] == ["56", "9"]
    for fp in fold_problems:  # every numberK's span holds its value, as written
        assert [F(fp.problem.text[a:b]) for a, b in fp.number_spans] == fp.values
        assert " ." not in fp.problem.text and " ," not in fp.problem.text and " ?" not in fp.problem.text


def test_every_cot_executes_to_its_answer_unless_the_dataset_rounds_it(fold_problems):
    """1,878 of 1,920 CoTs execute exactly to Answer. The other 42 are the dataset's: 25
    Answers are float reprs of repeating decimals (the exact sum of the written operands
    "0.16666666666666666 + ..." differs in the 17th digit, or a short Answer "0.75" is
    0.74999999999999993 exactly), which ``answer_equals`` accepts (``float_repr_close``), and 17 are rounded ("83.33" for 500/6) or wrong ("134.0" for
    34 * 4), which it does not."""
    exact, kinds = 0, Counter()
    for fp in fold_problems:
        found = [f for f in find_arithmetic(fp.problem.solution) if f.expr.stated is not None and f.expr.nodes]
        steps = gold_by_step(fp.problem.solution, fp.gold)  # raises if literals and gold disagree
        assert len(steps) == sum(len(f.expr.nodes) for f in found)
        ok = answer_equals(found[-1].expr.value, fp.problem.answer)
        exact += fp.exact
        if fp.exact:
            assert ok, fp.problem.id
            continue
        value, answer = float(found[-1].expr.value), float(fp.problem.answer)
        kind = "float" if abs(value - answer) <= 1e-9 * max(1, abs(answer)) else "rounded_or_wrong"
        kinds[kind] += 1
        assert ok == (kind == "float"), fp.problem.id
    assert exact == 1878
    assert kinds == {"float": 25, "rounded_or_wrong": 17}


def test_the_gold_names_the_first_occurrence_of_a_repeated_value(fold_problems):
    """What the dataset's gold can and cannot tell a grounding check (see the bench). (3
    operands, "-2, -15 ... -1" of fold0/345, are not read as numbers by the labels' number
    reader, which drops the sign: they count as neither.)"""
    from mycelium.labels.args import extract_numbers

    operands = repeated = later = reused = 0
    for fp in fold_problems:
        numbers, named = extract_numbers(fp.problem.text), set()
        for g in (g for g in fp.gold if g.kind == "number"):
            spans = [a.span for a in numbers if F(a.value) == g.value]
            operands += 1
            repeated += len(spans) > 1
            later += bool(spans) and not (spans[0][0] < g.span[1] and g.span[0] < spans[0][1])
            reused += g.placeholder in named
            named.add(g.placeholder)
    assert (operands, repeated, later, reused) == (4598, 281, 0, 155)


def test_gold_operands_match_the_equation_row_by_row(folds_dir):
    row = json.loads((folds_dir / FILE).read_text().splitlines()[2])  # "+ number0 number2"
    fp = convert_row({**row, "index": 2}, "fold0")
    assert fp.problem.text.startswith("There are 41 short trees and 44 tall trees")
    assert [g.placeholder for g in fp.gold] == [0, 2]
    assert [fp.problem.text[a:b] for a, b in (g.span for g in fp.gold)] == ["41", "57"]


# ----------------------------------------------------------------------------- the bench

def _bench():
    spec = importlib.util.spec_from_file_location("mawps_grounding", ROOT / "bench" / "mawps_grounding.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_bench_compares_operands_per_step_in_order():
    bench = _bench()
    text = "Tom has 5 apples and 3 pears. He buys 5 more pears and eats 2."
    #       5 at (8, 9), 3 at (21, 22), 5 at (38, 39), 2 at (60, 61)
    gold = [GoldOperand("number", F(3), "3", (21, 22), 1), GoldOperand("number", F(5), "5", (38, 39), 2),
            GoldOperand("result", F(8), "8", step=0), GoldOperand("number", F(2), "2", (60, 61), 3)]
    cot = "3 + 5 = 8. 8 - 2 = 6. The answer is 6."
    steps = gold_by_step(cot, gold)

    def num(v, span):
        return Arg("number", str(v), text=str(v), span=span)

    record = LabelRecord("x", text, "6", [
        Step(0, "ADD", [num(3, (21, 22)), num(5, (8, 9))], "8"),  # the first 5: wrong occurrence
        Step(1, "SUB", [Arg("result", "8", step=0), num(2, (60, 61))], "6"),
    ], "6", True)
    c = bench.compare(record, steps)
    assert (c.operands, c.right, c.wrong, c.not_number) == (3, 2, 1, 0)
    assert (c.ambiguous, c.ambiguous_right) == (1, 0)  # "5" first occurs at (8, 9)
    assert (c.repeated, c.repeated_right, c.gold_reused, c.reused_problems) == (1, 0, 0, 0)
    assert (c.results, c.results_right) == (1, 1)
    # swapped SUB operands are wrong even though the same spans are used
    swapped_sub = Step(1, "SUB", [num(2, (60, 61)), Arg("result", "8", step=0)], "-6")
    swapped = LabelRecord("x", text, "6", [record.steps[0], swapped_sub], "6", True)
    c = bench.compare(swapped, steps)
    assert (c.right, c.wrong, c.not_number, c.results_right) == (1, 1, 1, 0)
    # unvalidated records and records whose steps do not line up are not compared
    assert bench.compare(LabelRecord("x", text, "6", [], None, False), steps).operands == 0
    short = LabelRecord("x", text, "6", record.steps[:1], "8", True)
    assert bench.compare(short, steps).unaligned == 1
    assert "| grounded to the right occurrence | 2 | 66.7% |" in bench.table(bench.compare(record, steps))
    # a gold that names one occurrence twice while the text writes the value twice (MAWPS's
    # equations do: "6 + 2 = 8. 6 * 8 = 48." for "6 books a shelf ... 2 shelves and 6 shelves")
    text = "Each shelf has 6 books. She has 2 shelves and 6 shelves."
    six, two = GoldOperand("number", F(6), "6", (15, 16), 0), GoldOperand("number", F(2), "2", (32, 33), 1)
    steps = gold_by_step("6 + 2 = 8. 6 * 8 = 48. The answer is 48.", [six, two, six, GoldOperand("result", F(8), "8", step=0)])
    record = LabelRecord("y", text, "48", [Step(0, "ADD", [num(6, (46, 47)), num(2, (32, 33))], "8"),
                                           Step(1, "MUL", [num(6, (46, 47)), Arg("result", "8", step=0)], "48")], "48", True)
    c = bench.compare(record, steps)
    assert (c.operands, c.right, c.wrong, c.gold_reused, c.reused_problems, c.wrong_in_reused) == (3, 1, 2, 1, 1, 2)
    # ADD and MUL compare in any order: "8 * 6" is the gold "6 * 8"
    record.steps[1] = Step(1, "MUL", [Arg("result", "8", step=0), num(6, (15, 16))], "48")
    c = bench.compare(record, steps)
    assert (c.right, c.results, c.results_right) == (2, 1, 1)


def test_mawps_cv_is_local_only(monkeypatch):
    monkeypatch.delenv("MYCELIUM_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="local copy"):
        load_problems("mawps_cv", "fold0")
