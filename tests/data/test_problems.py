import json

import pytest

from mycelium.data.problems import DataError, load_problems
from mycelium.errors import UserError


@pytest.fixture
def local_dir(tmp_path):
    (tmp_path / "gsm8k").mkdir()
    rows = [
        {"question": "Tom has 3 apples and buys 4 more. How many now?", "answer": "3+4=<<3+4=7>>7\n#### 7"},
        {"question": "A pen costs $2. How much do 5 pens cost?", "answer": "2*5=<<2*5=10>>10\n#### 10"},
        {"question": "Sam had 1,500 coins and lost 500.", "answer": "1500-500=<<1500-500=1000>>1000\n#### 1,000"},
    ]
    (tmp_path / "gsm8k" / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (tmp_path / "math").mkdir()
    row = {"problem": "What is $1+1$?", "solution": r"It is $\boxed{2}$.", "level": "Level 1", "type": "Algebra", "unique_id": "train/algebra/1.json"}
    (tmp_path / "math" / "train.jsonl").write_text(json.dumps(row) + "\n")
    return tmp_path


def test_gsm8k_records(local_dir):
    problems = load_problems("gsm8k", "train", local_dir)
    assert [p.id for p in problems] == ["gsm8k/train/0", "gsm8k/train/1", "gsm8k/train/2"]
    assert [p.answer for p in problems] == ["7", "10", "1000"]
    assert problems[0].text.startswith("Tom has 3 apples")
    assert problems[0].solution.endswith("#### 7")


def test_limit_and_offset_select_a_stable_slice(local_dir):
    assert [p.id for p in load_problems("gsm8k", "train", local_dir, limit=2)] == ["gsm8k/train/0", "gsm8k/train/1"]
    assert [p.id for p in load_problems("gsm8k", "train", local_dir, limit=5, offset=1)] == ["gsm8k/train/1", "gsm8k/train/2"]


def test_math_records_carry_level_and_type(local_dir):
    (p,) = load_problems("math", "train", local_dir)
    assert (p.answer, p.level, p.type, p.id) == ("2", "Level 1", "Algebra", "math/train/train/algebra/1.json")


def test_env_var_is_the_default_dir(local_dir, monkeypatch):
    monkeypatch.setenv("MYCELIUM_DATA_DIR", str(local_dir))
    assert len(load_problems("gsm8k", "train")) == 3


def test_missing_dir_is_a_clear_user_error(tmp_path):
    with pytest.raises(UserError, match="data.dir"):
        load_problems("gsm8k", "train", tmp_path / "nowhere")


def test_unknown_dataset_and_split(local_dir):
    with pytest.raises(DataError, match="unknown dataset"):
        load_problems("gsm9k", "train", local_dir)
    with pytest.raises(DataError, match="no split"):
        load_problems("gsm8k", "dev", local_dir)


def test_real_shared_data(data_dir):
    for name, split, n in [("gsm8k", "test", 1319), ("math500", "test", 500), ("mawps", "test", 2373)]:
        problems = load_problems(name, split, data_dir)
        assert len(problems) == n
        assert all(p.text and p.answer for p in problems), name
    math = load_problems("math", "train", data_dir, limit=50)
    assert all(p.level and p.type for p in math)


def test_shuffle_seed_gives_a_fixed_random_order(local_dir):
    a = [p.id for p in load_problems("gsm8k", "train", local_dir, shuffle_seed=1)]
    assert sorted(a) == [f"gsm8k/train/{i}" for i in range(3)]
    assert a == [p.id for p in load_problems("gsm8k", "train", local_dir, shuffle_seed=1)]
    assert [p.id for p in load_problems("gsm8k", "train", local_dir, shuffle_seed=1, limit=2)] == a[:2]
