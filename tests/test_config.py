from mycelium.config import labels_tag
from mycelium.loggers import wandb_logged_in


def test_labels_tag_names_only_label_knobs():
    assert labels_tag([]) == "default"
    assert labels_tag(["stage=labels", "limit=10", "logger=wandb"]) == "default"
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
