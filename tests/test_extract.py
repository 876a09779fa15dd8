"""extract.py as users run it: a subprocess with Hydra overrides, on the tiny teacher."""

from pathlib import Path

import pytest

from entrypoints import run_entry, write_gsm8k


def run_extract(*overrides: str, cwd: Path, env_data: Path | None = None):
    return run_entry("extract.py", *overrides, cwd=cwd, data=env_data)


@pytest.fixture
def gsm8k_dir(tmp_path):
    return write_gsm8k(tmp_path / "data", "train")


def trace_ids(cwd: Path) -> list[str]:
    from mycelium.records.traces import iter_traces

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
    assert labels == ["signals.iaf.top_k-3", "signals.iaf.top_k-5"]  # plain Hydra values (no "=")
    runs = sorted((tmp_path / "multirun").rglob("offline-run-*"))
    assert len(runs) == 2  # W&B offline (no login here), one run per job
    groups = {b"extract-" + p.parents[2].name.encode() in next(p.glob("*.wandb")).read_bytes() for p in runs}
    assert groups == {True}  # both runs carry the sweep's group name
