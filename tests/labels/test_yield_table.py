from mycelium.dag.steps import Arg, Step
from mycelium.labels.yield_table import group_table, main, yield_report
from mycelium.labels.stage import write_records
from mycelium.records.labels import LabelRecord


def _record(i, subject, level, validated, reason=None, steps=2):
    st = [Step(k, "ADD" if k else "SOLVE", [Arg("number", "1", span=(0, 1))], "1") for k in range(steps)]
    return LabelRecord(f"p{i}", "t", "1", st, "1", validated, reason, level=level, type=subject)


RECORDS = [_record(0, "Algebra", "Level 1", True), _record(1, "Algebra", "Level 2", False, "ungrounded_operand"),
           _record(2, "Prealgebra", "Level 1", True, steps=1), _record(3, "Prealgebra", "Level 1", False, "no_ops")]


def test_group_table_rows_and_overall():
    table = group_table(RECORDS, lambda r: r.type, "subject")
    assert "| Algebra | 2 | 1 | 50.0% | 2.00 |" in table
    assert "| Prealgebra | 2 | 1 | 50.0% | 1.00 |" in table
    assert "| **all** | 4 | 2 | 50.0% | 1.50 |" in table


def test_report_has_levels_reasons_and_ops():
    report = yield_report(RECORDS)
    assert "| Level 1 | 3 | 2 | 66.7% | 1.50 |" in report
    assert "| ungrounded_operand | 1 | 25.0% |" in report
    assert "| SOLVE | 2 |" in report


def test_main_prints_the_tables_of_a_labels_dir(tmp_path, capsys):
    write_records(tmp_path / "labels.jsonl", RECORDS)
    main(["--labels", str(tmp_path)])
    assert "| **all** | 4 | 2 | 50.0% | 1.50 |" in capsys.readouterr().out
