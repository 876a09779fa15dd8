"""Hand-audit packets (mycelium.labels.audit): a seeded sample shown as the rubric asks."""

import pytest

from mycelium.dag.steps import Arg, Step
from mycelium.labels.audit import format_record, main, sample_validated
from mycelium.labels.stage import write_records
from mycelium.records.labels import LabelRecord

TEXT = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May."


def rec(i, validated=True):
    steps = [Step(0, "DIV", [Arg("number", "48", text="48", span=(22, 24)), Arg("implicit", "2", text="half", span=(68, 72))],
                  "24", expr="48/2=24", region=(59, 93)),
             Step(1, "ADD", [Arg("number", "48", text="48", span=(22, 24)), Arg("result", "24", step=0)], "72", expr="48+24=72")]
    return LabelRecord(f"p/{i}", TEXT, "72", steps, "72", validated)


def test_sample_is_seeded_and_only_validated():
    records = [rec(i, validated=i % 2 == 0) for i in range(20)]
    a, b = sample_validated(records, 5, seed=3), sample_validated(records, 5, seed=3)
    assert [r.id for r in a] == [r.id for r in b] and all(r.validated for r in a)
    assert [r.id for r in sample_validated(records, 5, seed=4)] != [r.id for r in a]
    with pytest.raises(ValueError, match="only 10 validated"):
        sample_validated(records, 11, seed=0)


def test_packet_shows_words_context_steps_and_regions():
    text = format_record(rec(0), 1)
    assert "… sold clips to **48** of her friends…" in text
    assert 'implied by the word "half" = 2' in text
    assert "result of step 1 (= 24)" in text and "`48/2=24`" in text
    assert 'region: "she sold half as many clips in May"' in text and "region: (none)" in text


def test_cli_writes_parts_and_prints_ids(tmp_path, capsys):
    write_records(tmp_path / "labels.jsonl", [rec(i) for i in range(6)])
    main(["--labels", str(tmp_path / "labels.jsonl"), "--n", "4", "--seed", "1", "--parts", "2", "--out", str(tmp_path / "p.md")])
    out = capsys.readouterr().out
    assert (tmp_path / "p-1.md").is_file() and (tmp_path / "p-2.md").is_file()
    assert len(out.split("sample ids:")[1].split()) == 4
    with pytest.raises(SystemExit, match="only 6 validated"):
        main(["--labels", str(tmp_path / "labels.jsonl"), "--n", "9", "--seed", "1"])


def test_math_steps_show_expressions_unknowns_and_constants():
    text = r"Solve for $x$: $3^{2x} = \sqrt{27}$, then halve it."
    eq = (text.index("3^"), text.index("}$") + 1)
    steps = [Step(0, "SOLVE", [Arg("expr", r"3^{2x} = \sqrt{27}", text=r"3^{2x} = \sqrt{27}", span=eq),
                               Arg("expr", "x", text="x", span=(11, 12))], "3/4", expr=r"x=\boxed{\frac{3}{4}}"),
             Step(1, "MUL", [Arg("result", "3/4", step=0), Arg("constant", "1/2", text=r"\frac{1}{2}")], "3/8"),
             Step(2, "SOLVE", [Arg("expr", "2y = 3", text="2y = 3"), Arg("expr", "y", text="y")], "3/2")]
    out = format_record(LabelRecord("m/0", text, "3/8", steps, "3/8", True, type="Algebra"), 1)
    assert r'written expression "3^{2x} = \sqrt{27}"' in out and 'written expression "x"' in out
    assert r'constant 1/2 ("\frac{1}{2}": the notation' in out
    assert "unknown y (a name the solution gives a quantity" in out
    assert "not found in the text" in out  # the CoT's own equation, ungrounded
    assert "CoT math:" in out


def test_cli_leaves_out_the_problems_of_earlier_packets(tmp_path, capsys):
    write_records(tmp_path / "labels.jsonl", [rec(i) for i in range(6)])
    earlier = tmp_path / "fit.md"
    earlier.write_text("## 1. `p/0`\n\n## 2. `p/3`\n")
    main(["--labels", str(tmp_path / "labels.jsonl"), "--n", "4", "--seed", "1", "--out", str(tmp_path / "p.md"),
          "--exclude", str(earlier)])
    ids = capsys.readouterr().out.split("sample ids:")[1].split()
    assert sorted(ids) == ["p/1", "p/2", "p/4", "p/5"]
    with pytest.raises(SystemExit, match="only 4 validated"):
        main(["--labels", str(tmp_path / "labels.jsonl"), "--n", "5", "--seed", "1", "--out", str(tmp_path / "q.md"),
              "--exclude", str(earlier)])


def test_cli_makes_the_packets_folder(tmp_path, capsys):
    write_records(tmp_path / "labels.jsonl", [rec(i) for i in range(4)])
    main(["--labels", str(tmp_path / "labels.jsonl"), "--n", "4", "--seed", "1", "--parts", "2",
          "--out", str(tmp_path / "new" / "packet.md")])
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["packet-1.md", "packet-2.md"]
