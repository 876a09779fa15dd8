"""Real GSM8K problems through the real teacher (SmolLM2-135M GGUF) and the labels stage."""

from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from mycelium.data.problems import load_problems
from mycelium.labels.assemble import LabelSettings
from mycelium.labels.stage import read_labels, run_labels
from mycelium.teacher.run import run_teacher
from mycelium.records.traces import TraceStore

CONF = Path(__file__).resolve().parents[1] / "conf"

pytestmark = pytest.mark.integration


def test_natalia_end_to_end(tmp_path, data_dir, model_cache_dir):
    teacher = OmegaConf.merge({"paths": {"model_cache_dir": str(model_cache_dir)}},
                              {"teacher": OmegaConf.load(CONF / "teacher" / "smollm2_135m.yaml")}).teacher
    model, tok = instantiate(teacher.model)
    kwargs = {k: v for k, v in OmegaConf.to_container(teacher, resolve=True).items() if k not in ("name", "model")}
    problems = load_problems("gsm8k", "train", data_dir, limit=2)
    run_teacher(problems, model, tok, TraceStore(tmp_path / "traces"), progress=False, **kwargs)

    labels_cfg = OmegaConf.load(CONF / "labels" / "default.yaml")
    signals_cfg = OmegaConf.load(CONF / "signals" / "default.yaml")
    report = run_labels(tmp_path / "traces", tmp_path / "labels", LabelSettings.from_config(signals_cfg, labels_cfg), progress=False)
    assert report.problems == 2

    natalia = read_labels(tmp_path / "labels")[0]
    assert natalia.text.startswith("Natalia sold clips to 48")
    assert natalia.validated, natalia.reason
    assert [s.op for s in natalia.steps] == ["DIV", "ADD"] and natalia.answer == "72"
    div = natalia.steps[0]
    grounded = {(a.kind, natalia.text[a.span[0]:a.span[1]]) for a in div.args if a.span}
    assert grounded == {("number", "48"), ("implicit", "half")}
    region = natalia.text[div.region[0]:div.region[1]]
    assert "half" in region  # the clause that carries the op, not just the number
    assert natalia.steps[1].args[1].kind == "result" and natalia.steps[1].args[1].step == 0
