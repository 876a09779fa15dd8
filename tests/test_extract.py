"""extract.py as users run it: a subprocess with Hydra overrides, on the tiny teacher."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_extract(*overrides: str, cwd: Path, env_data: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "WANDB_MODE": "offline", "PROJECT_ROOT": str(cwd), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    if env_data is not None:
        env["MYCELIUM_DATA_DIR"] = str(env_data)
    return subprocess.run(
        [sys.executable, str(ROOT / "extract.py"), *overrides],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture
def gsm8k_dir(tmp_path):
    root = tmp_path / "data"
    (root / "gsm8k").mkdir(parents=True)
    rows = [
        {"question": f"Tom has {i} apples and buys {i + 2} more. How many apples does he have?",
         "answer": f"He has {i}+{i + 2}=<<{i}+{i + 2}={2 * i + 2}>>{2 * i + 2} apples.\n#### {2 * i + 2}"}
        for i in range(1, 8)
    ]
    (root / "gsm8k" / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return root


def trace_ids(cwd: Path) -> list[str]:
    from mycelium.teacher.traces import iter_traces

    (traces_dir,) = (cwd / "artifacts" / "traces").glob("*/*")
    return [t.id for t in iter_traces(traces_dir)]


def test_teacher_stage_writes_then_resumes(tmp_path, gsm8k_dir):
    r = run_extract("stage=teacher", "teacher=tiny", "limit=3", cwd=tmp_path, env_data=gsm8k_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    assert trace_ids(tmp_path) == [f"gsm8k/train/{i}" for i in range(3)]
    r = run_extract("stage=teacher", "teacher=tiny", "limit=5", cwd=tmp_path, env_data=gsm8k_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    assert trace_ids(tmp_path) == [f"gsm8k/train/{i}" for i in range(5)]


def test_missing_data_dir_is_one_clear_line(tmp_path):
    r = run_extract("stage=teacher", "teacher=tiny", "limit=3", cwd=tmp_path, env_data=tmp_path / "nowhere")
    assert r.returncode == 2
    out = r.stdout + r.stderr
    assert "data.dir" in out and "Traceback" not in out


def test_unknown_teacher_names_the_choices(tmp_path, gsm8k_dir):
    r = run_extract("stage=teacher", "teacher=gpt9", cwd=tmp_path, env_data=gsm8k_dir)
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "teacher/gpt9" in out and "smollm2_135m" in out and "Traceback" not in out


def test_unloadable_model_id_is_one_clear_line(tmp_path, gsm8k_dir):
    r = run_extract("stage=teacher", "teacher=smollm2_135m", "teacher.model.model_id=/no/such/model",
                    "teacher.model.gguf_package=null", "teacher.model.gguf_file=null", "limit=1",
                    cwd=tmp_path, env_data=gsm8k_dir)
    assert r.returncode == 2
    out = r.stdout + r.stderr
    assert "/no/such/model" in out and "Traceback" not in out


def test_unknown_stage(tmp_path, gsm8k_dir):
    r = run_extract("stage=teachr", "teacher=tiny", cwd=tmp_path, env_data=gsm8k_dir)
    assert r.returncode == 2 and "choose teacher, labels or all" in r.stdout + r.stderr


def test_labels_sweep_one_dir_and_one_wandb_run_per_job(tmp_path, gsm8k_dir):
    r = run_extract("stage=teacher", "teacher=tiny", "limit=3", cwd=tmp_path, env_data=gsm8k_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_extract("-m", "stage=labels", "teacher=tiny", "signals.iaf.top_k=3,5", "logger=wandb",
                    cwd=tmp_path, env_data=gsm8k_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    labels = sorted(p.parent.name for p in (tmp_path / "artifacts" / "labels").rglob("labels.jsonl"))
    assert labels == ["signals.iaf.top_k=3", "signals.iaf.top_k=5"]
    runs = sorted((tmp_path / "multirun").rglob("offline-run-*"))
    assert len(runs) == 2  # W&B offline (no login here), one run per job
    groups = {b"extract-" + p.parents[2].name.encode() in next(p.glob("*.wandb")).read_bytes() for p in runs}
    assert groups == {True}  # both runs carry the sweep's group name
