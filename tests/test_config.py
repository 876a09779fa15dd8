from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from mycelium.config import find_labels_dir, labels_tag, legacy_labels_tag, register_resolvers
from mycelium.loggers import wandb_logged_in


def test_labels_tag_names_only_label_knobs():
    assert labels_tag([]) == "default"
    assert labels_tag(["stage=labels", "logger=wandb", "data=math"]) == "default"
    assert labels_tag(["stage=labels", "limit=10"]) == "limit-10"
    assert labels_tag(["labels.workers=2", "limit=10"]) == "limit-10"  # same labels in any number of processes
    assert labels_tag(["signals.jsd.prominence=0.1", "stage=labels", "labels.source=iaf"]) == (
        "labels.source-iaf__signals.jsd.prominence-0.1"
    )
    assert labels_tag(["labels.spacy_model=/models/en"]) == "labels.spacy_model-_models_en"


@pytest.mark.parametrize(
    "overrides",
    [
        ["limit=2000"],
        ["signals.iaf.top_k=3", "labels.source=iaf", "limit=2000"],
        ["labels.spacy_model=/models/en", "signals.jsd.prominence=-0.1"],
        ["+labels.extra=[1,2]", "~labels.cot_steps", "labels.note='a b:c'"],
    ],
)
def test_labels_tag_is_a_plain_hydra_value(overrides):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    tag = labels_tag(overrides)
    assert not set(tag) & set("=,/ :~[]{}()'\"$")
    parsed = OverridesParser.create().parse_override(f"labels_dir=artifacts/labels/x/{tag}")
    assert not parsed.is_sweep_override() and parsed.value() == f"artifacts/labels/x/{tag}"


def test_legacy_names_map_to_the_new_ones():
    assert legacy_labels_tag("limit=2000") == "limit-2000"
    assert legacy_labels_tag("labels.source=iaf,signals.iaf.top_k=3") == labels_tag(
        ["signals.iaf.top_k=3", "labels.source=iaf"]
    )


def test_find_labels_dir_falls_back_to_the_old_name(tmp_path):
    from mycelium.labels.stage import read_labels
    from mycelium.models.datamodule import labels_file

    old = tmp_path / "limit=2000"
    old.mkdir()
    (old / "labels.jsonl").write_text("")
    new = tmp_path / "limit-2000"
    assert find_labels_dir(new) == old
    assert find_labels_dir(new / "labels.jsonl") == old / "labels.jsonl"
    assert labels_file(new) == old / "labels.jsonl"  # the students' reader
    assert read_labels(new) == []  # evaluate's, the chain's and the loop's reader
    assert find_labels_dir(tmp_path / "limit-3000") == tmp_path / "limit-3000"  # missing stays missing
    new.mkdir()
    assert find_labels_dir(new) == new  # the new name wins once it exists


def test_composed_labels_dir_passes_back_as_an_unquoted_override():
    """extract.py's labels_dir for `limit=2000` (and a knob) goes back into train.py as it is:
    no quoting, no "mismatched input '='"."""
    from hydra.core.hydra_config import HydraConfig

    register_resolvers()
    with initialize_config_dir(CONF, version_base="1.3"):
        cfg = compose("extract", overrides=["stage=labels", "limit=2000", "signals.iaf.top_k=3"],
                      return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)  # what a run does; ${hydra:overrides.task} needs it
        try:
            labels_dir = str(cfg.labels_dir)
        finally:
            HydraConfig.instance().cfg = None
        assert labels_dir.endswith("/limit-2000__signals.iaf.top_k-3")
        train = compose("train", overrides=[f"labels_dir={labels_dir}"])
    assert train.labels_dir == labels_dir


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
