"""Hand-made traces for the labels tests: real text, synthetic attention and JSD."""

import re

import numpy as np

from mycelium.data.answers import clean_gsm8k_solution
from mycelium.records.traces import Trace

TEXT = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
        "How many clips did Natalia sell altogether in April and May?")
SOLUTION = ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
            "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72")


def word_offsets(text: str) -> np.ndarray:
    return np.array([m.span() for m in re.finditer(r"\w+|[^\w\s]", text)], dtype=np.int32)


def make_trace(text=TEXT, solution=SOLUTION, gold="72", focus=("48", "half")) -> Trace:
    """A trace whose attention puts the first CoT sentence on ``focus`` words and whose JSD
    peaks at each CoT sentence start."""
    cot, annotations = clean_gsm8k_solution(solution)
    p_off, c_off = word_offsets(text), word_offsets(cot)
    words = [text[a:b] for a, b in p_off]
    attn = np.full((len(c_off), len(p_off)), 0.01, dtype=np.float32)
    first_line = c_off[:, 0] < cot.index("\n")
    for w in focus:
        attn[np.ix_(first_line, [i for i, x in enumerate(words) if x == w])] = 0.5
    jsd = np.full(len(c_off), 0.01, dtype=np.float32)
    for m in re.finditer(r"\n", cot):
        jsd[np.searchsorted(c_off[:, 0], m.end())] = 0.5
    groups = {"all": jsd, "last_third": jsd}
    return Trace(id="t/0", text=text, cot=cot, gold_answer=gold, teacher_answer=gold, correct=True,
                 problem_offsets=p_off, cot_offsets=c_off, jsd=groups,
                 attn={"all": attn.astype(np.float16), "last_third": attn.astype(np.float16)},
                 annotations=annotations)
