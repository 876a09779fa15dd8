from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from mycelium.config import labels_tag, register_resolvers
from mycelium.loggers import wandb_logged_in


def test_labels_tag_names_only_label_knobs():
    assert labels_tag([]) == "default"
    assert labels_tag(["stage=labels", "logger=wandb", "data=math"]) == "default"
    assert labels_tag(["stage=labels", "limit=10"]) == "limit=10"
    assert labels_tag(["signals.jsd.prominence=0.1", "stage=labels", "labels.source=iaf"]) == (
        "labels.source=iaf,signals.jsd.prominence=0.1"
    )
    assert "/" not in labels_tag(["labels.spacy_model=/models/en"])


def test_wandb_login_detection(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert not wandb_logged_in()
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password abc\n")
    assert wandb_logged_in()
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert wandb_logged_in()


CONF = str(Path(__file__).resolve().parents[1] / "conf")


@pytest.mark.parametrize("teacher", ["smollm2_135m", "qwen25_math_7b", "tiny"])
@pytest.mark.parametrize("data", ["gsm8k", "math", "math500", "mawps", "mawps_cv"])
def test_extract_configs_compose(teacher, data):
    register_resolvers()
    with initialize_config_dir(CONF, version_base="1.3"):
        cfg = compose("extract", overrides=[f"teacher={teacher}", f"data={data}"])
    assert cfg.teacher.name == teacher and cfg.data.name == data
    assert cfg.teacher.model._target_.startswith("mycelium.teacher.loading.")


def test_slurm_launcher_composes():
    with initialize_config_dir(CONF, version_base="1.3"):
        cfg = compose("extract", overrides=["hydra/launcher=slurm"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("SlurmLauncher")


@pytest.mark.parametrize("search", ["labels_optuna"])
def test_extract_hparams_search_composes(search):
    with initialize_config_dir(CONF, version_base="1.3"):
        cfg = compose("extract", overrides=[f"hparams_search={search}"], return_hydra_config=True)
    assert cfg.optimized_metric == "labels/validated_rate"
    assert cfg.hydra.sweeper.direction == "maximize"
