from fractions import Fraction as F

import sympy

from mycelium.labels.math_text import ProblemIndex, segments, statements


def test_segments_find_every_math_delimiter_and_skip_dollars_and_pictures():
    text = r"Cost \$5. Since $x = 4$, \[y = 2x.\] Also $$z=1$$ and \begin{align*}a &= 2\end{align*} [asy]draw((0,0));[/asy]"
    pieces = [text[a:b] for a, b in segments(text)]
    assert pieces == ["x = 4", "y = 2x.", "z=1", "a &= 2"]


def test_statements_split_chains_and_keep_spans():
    cot = r"So $15\times4=60$, and $60-10-18=\boxed{32}$; thus $2x=\frac{3}{2} \Rightarrow x=\frac34$."
    sts = statements(cot)
    assert [[str(p.value) for p in st.pieces] for st in sts] == [
        ["60", "60"], ["32", "32"], ["2*x", "3/2"], ["x", "3/4"]]
    first = sts[0].pieces[0]
    assert cot[first.span[0]:first.span[1]] == r"15\times4"


def test_align_continuation_lines_extend_a_chain():
    cot = "\\begin{align*}\nx^2+2x+1 &= (x+1)^2 \\\\\n&= 9\n\\end{align*}"
    (st,) = statements(cot)
    assert len(st.pieces) == 3


def test_unreadable_pieces_are_dropped_not_raised():
    sts = statements(r"$\input{x} = 3$ and $\mathbb{R}$")
    assert [[str(p.value) for p in st.pieces] for st in sts] == [["3"]]


def test_problem_index_collects_numbers_names_expressions_and_equations():
    text = r"If $2x + 3 = 7$ and four apples cost $\$1.50$, what is $x^2 - 1$?"
    idx = ProblemIndex.build(text)
    values = [w.value for w in idx.numbers]
    assert F(2) in values and F(3) in values and F(7) in values and F(4) in values and F(3, 2) in values
    assert idx.variables["x"] == (text.index("x"), text.index("x") + 1)
    assert any(p.value == sympy.Symbol("x") ** 2 - 1 for p in idx.expressions)
    (eq, span), = idx.equations
    assert text[span[0]:span[1]] == "2x + 3 = 7"


def test_problem_numbers_come_from_tokens_even_when_sympy_refuses_the_piece():
    idx = ProblemIndex.build(r"The value of \[(2^{1004}+5^{1005})^2\] is large.")
    assert {F(2), F(1004), F(5), F(1005)} <= {w.value for w in idx.numbers}


def test_picture_labels_are_data_and_coordinates_are_not():
    text = 'Find BC. [asy]\ndraw((0,0)--(31,0));\nlabel("10", (3,5), W);\n[/asy]'
    idx = ProblemIndex.build(text)
    assert [(w.value, text[w.span[0]:w.span[1]]) for w in idx.numbers] == [(F(10), "10")]


def test_words_that_imply_numbers_are_indexed():
    idx = ProblemIndex.build("She ate half of the pie.")
    assert (F(2), "half") in [(v, a.text) for v, a in idx.implicit]


def test_answer_options_are_not_data():
    text = r"If $BC=7$ and $AC=6$, find $AB$. $\textbf{(A)}\ 4\qquad \textbf{(B)}\ \sqrt{17}$"
    assert sorted(w.value for w in ProblemIndex.build(text).numbers) == [6, 7]
