"""Prompt building: the problem text's tokens are located exactly inside the templated prompt."""

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium.teacher.loading import build_tiny_tokenizer
from mycelium.teacher.prompt import PromptError, build_prompt, render_prompt

TEXTS = [
    "Natalia sold clips to 48 of her friends in April. How many clips did she sell?",
    "  \n Leading spaces and a newline, then 12 apples.",
    "\n\nTwo newlines first; trailing ones too.\n\n",
    "Ünïcode: café costs 3€, ½ of 10 is 5 — 東京 has 😀 emoji.",
    "x",
]
COT = "She sold 48/2 = 24 clips in May.\nThe answer is 72."


@pytest.fixture(scope="module", params=["chat", "plain"])
def tokenizer(request):
    return build_tiny_tokenizer(chat_template=request.param == "chat")


def assert_problem_tokens_exact(tokenizer, text: str, tokens) -> None:
    """The located tokens cover exactly the problem text, nothing of it is missed or added."""
    offsets, positions = tokens.problem_offsets, tokens.problem_positions
    assert offsets.dtype == np.int32 and offsets.shape == (len(positions), 2)
    assert np.all(np.diff(positions) == 1)  # one contiguous run of prompt tokens
    assert offsets.min() == 0 and offsets.max() == len(text)
    assert np.all(offsets[:, 0] < offsets[:, 1]) and np.all(np.diff(offsets[:, 0]) >= 0)
    covered = np.zeros(len(text), bool)
    for start, end in offsets:
        covered[start:end] = True
    assert covered.all()  # every char of the problem text sits in some problem token
    # The tokens' text reconstructs the problem (boundary tokens may carry template chars).
    assert text in tokenizer.decode(tokens.input_ids[positions])
    # And no token outside the run touches the problem text.
    _, text_start = render_prompt(tokenizer, text)
    outside = np.setdiff1d(np.arange(tokens.cot_start), positions)
    enc = tokenizer(tokens.prompt, add_special_tokens=not tokenizer.chat_template, return_offsets_mapping=True)
    spans = np.asarray(enc["offset_mapping"])[outside]
    assert not np.any((spans[:, 0] < text_start + len(text)) & (spans[:, 1] > text_start))


@pytest.mark.parametrize("text", TEXTS)
def test_problem_tokens_located_exactly(tokenizer, text):
    tokens = build_prompt(tokenizer, text, COT)
    assert_problem_tokens_exact(tokenizer, text, tokens)


def test_prompt_shape_with_chat_template():
    tok = build_tiny_tokenizer()
    tokens = build_prompt(tok, "What is 3+4?", system_prompt="Please reason step by step.")
    assert tokens.prompt == (
        "<|im_start|>system\nPlease reason step by step.<|im_end|>\n"
        "<|im_start|>user\nWhat is 3+4?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert tokens.cot_start == len(tokens.input_ids) and tokens.cot_offsets.shape == (0, 2)
    assert tok.decode(tokens.prompt_ids) == tokens.prompt


def test_plain_prompt_without_chat_template():
    tok = build_tiny_tokenizer(chat_template=False)
    tokens = build_prompt(tok, "What is 3+4?", system_prompt="Be brief.")
    assert tokens.prompt == "Be brief.\n\nQuestion: What is 3+4?\nAnswer:\n"


def test_cot_tokens_appended_with_their_own_offsets(tokenizer):
    text = TEXTS[0]
    tokens = build_prompt(tokenizer, text, COT)
    cot_ids = tokens.input_ids[tokens.cot_start :]
    assert list(cot_ids) == tokenizer(COT, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(cot_ids) == COT
    assert tokens.cot_offsets.dtype == np.int32 and tokens.cot_offsets.shape == (len(cot_ids), 2)
    starts, ends = tokens.cot_offsets.T
    assert starts[0] == 0 and ends[-1] == len(COT) and np.all(starts[1:] == ends[:-1])
    assert "".join(COT[s:e] for s, e in tokens.cot_offsets) == COT
    # Adding the CoT changes nothing about the prompt part.
    alone = build_prompt(tokenizer, text)
    assert np.array_equal(alone.input_ids, tokens.prompt_ids)
    assert np.array_equal(alone.problem_positions, tokens.problem_positions)


def test_template_that_rewrites_the_text_is_refused():
    tok = build_tiny_tokenizer()
    tok.chat_template = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] | trim }}<|im_end|>\n{% endfor %}"
    assert build_prompt(tok, "no spaces to trim").problem_positions.size > 0
    with pytest.raises(PromptError, match="changes the problem text"):
        build_prompt(tok, "  padded  ")


@functools.cache
def _chat_tokenizer():
    return build_tiny_tokenizer()


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40))
def test_any_text_is_located_exactly(text):
    tok = _chat_tokenizer()
    if "<|" in text:  # would render as a special token: not a problem text we need
        return
    assert_problem_tokens_exact(tok, text, build_prompt(tok, text, "ok"))
