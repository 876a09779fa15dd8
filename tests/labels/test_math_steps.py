from fractions import Fraction as F

from mycelium.dag.graph import answer_equals, dag_from_steps, execute_all
from mycelium.labels.math_grounding import is_name
from mycelium.labels.math_steps import math_steps, problem_steps


def _run(problem, cot, **kw):
    found, _ = math_steps(problem, cot, **kw)
    steps = [m.step for m in found]
    return found, steps, execute_all(dag_from_steps(steps, symbolic=True)) if steps else []


def _spans(problem, step):
    return [problem[a.span[0]:a.span[1]] if a.span else a.kind for a in step.args]


def test_arithmetic_grounds_in_problem_numbers_and_results():
    problem = "The arithmetic mean of four numbers is 15. Two of the numbers are 10 and 18 and the other two are equal."
    cot = r"The sum is $15\times4=60$. Then $60-10-18=32$, and each is $\frac{32}{2}=16$."
    found, steps, values = _run(problem, cot)
    assert [s.op for s in steps] == ["MUL", "SUB", "SUB", "DIV"]
    assert _spans(problem, steps[0]) == ["15", "four"]
    assert steps[1].args[0].kind == "result" and steps[1].args[0].step == 0
    assert values[-1] == 16 and not any(m.ungrounded for m in found)


def test_a_value_stated_for_an_unknown_is_solved_from_the_problem_equation():
    problem = r"Solve for $r$ in the equation $19-3=2+r$."
    cot = r"First we simplify the left side, which gives $16 = 2+r$. So $r=\boxed{14}$."
    found, steps, values = _run(problem, cot)
    assert [s.op for s in steps] == ["SOLVE"]
    assert _spans(problem, steps[0]) == ["19-3=2+r", "r"]
    assert values == [14]


def test_known_names_are_substituted_before_solving():
    problem = r"For what value of $k$ does the line $1-kx = -3y$ contain the point $(4,-3)$?"
    cot = r"We plug $x = 4$ and $y = -3$ into the equation to get $1 - 4k = -3\cdot -3 \Rightarrow k = \boxed{-2}$."
    found, steps, values = _run(problem, cot)
    assert [s.op for s in steps] == ["SUBS", "SUBS", "SOLVE"]
    assert values[-1] == -2 and not any(m.ungrounded for m in found)


def test_an_expression_with_a_bound_name_is_substituted():
    problem = r"Evaluate $(x-a+3)$ if the value of $x$ is $(a+7)$."
    cot = r"Substituting $x = a+7$ gives $x-a + 3 = (a+7) - a + 3 = \boxed{10}$."
    found, steps, values = _run(problem, cot)
    assert [s.op for s in steps] == ["SUBS"]
    assert _spans(problem, steps[0]) == ["(x-a+3)", "x", "(a+7)"]
    assert values == [10]


def test_a_chain_of_equal_expressions_is_a_transform_of_the_problem_expression():
    problem = r"Expand $(x+1)(x+2)$."
    found, steps, values = _run(problem, r"We get $(x+1)(x+2) = x^2+3x+2$.")
    assert [s.op for s in steps] == ["EXPAND"]
    assert answer_equals(values[0], "x^2+3x+2")


def test_functions_defined_in_the_problem_are_called_by_subs():
    problem = r"Let $f(x)=x^3+3$ and $g(x) = 2x^2 + 2x +1$. What is $g(f(-2))$?"
    cot = r"We note that $f(-2)=(-2)^3+3=-5$, so $g(f(-2))=g(-5)=41.$"
    found, steps, values = _run(problem, cot)
    assert [s.op for s in steps] == ["SUBS", "SUBS"]
    assert values == [-5, 41]


def test_the_cots_own_equation_is_built_from_grounded_sides():
    problem = "There are 20 people in my club. 8 of them are left-handed. 15 of them like jazz music. 2 of them dislike both."
    cot = r"Let it be $x$. We get $x + (8 - x) + (15 - x) + 2 = 20$, so $x = \boxed{5}$."
    found, steps, values = _run(problem, cot)
    assert steps[-2].op == "EQ" and steps[-1].op == "SOLVE"
    assert values[-1] == 5 and not any(m.ungrounded for m in found)
    assert is_name(steps[-1].args[-1])  # the CoT's own unknown: a name, no data


def test_arithmetic_stated_in_words_is_recovered_once_per_sentence():
    problem = "I have 10 socks: 4 white, 4 brown, and 2 blue. How many pairs of different colors?"
    cot = ("White and brown: there are 4 options for the white sock and 4 options for the brown sock for a total of 16. "
           "Brown and blue: there are 4 options for the brown sock and 2 for the blue sock for a total of 8. "
           "White and blue: there are 4 options for the white sock and 2 for the blue sock for a total of 8. "
           r"This gives $16 + 8 + 8 = \boxed{32}$.")
    found, steps, values = _run(problem, cot)
    assert [s.op for s in steps] == ["MUL", "MUL", "MUL", "ADD"]
    assert {a.step for a in steps[-1].args} == {0, 1, 2}
    # each operand is the occurrence the sentence names: "4 options for the brown sock" is "4 brown"
    assert [problem[a.span[0]:a.span[1] + 6] for a in steps[1].args] == ["4 white", "2 blue."]
    assert [problem[a.span[0]:a.span[1] + 6] for a in steps[2].args] == ["4 brown", "2 blue."]
    found, steps, _ = _run(problem, cot, prose=False)
    assert any(m.ungrounded for m in found)


def test_a_number_neither_written_nor_computed_is_ungrounded():
    found, steps, _ = _run("What is the area of a circle of radius 3?", r"It is $\pi \cdot 3^2 = 9\pi$, or $9 \cdot 7 = 63$.",
                           constants=False)
    assert found[-1].ungrounded


def test_constants_are_typed_and_never_alone():
    found, steps, values = _run("Find the area of a triangle with base 6 and height 8.", r"$\frac{1}{2}(6)(8) = 24$")
    assert steps[0].op == "MUL" and steps[0].args[0].kind == "constant" and values == [24]
    found, _, _ = _run("What is it?", r"$2 \cdot 2 = 4$")
    assert found[0].ungrounded


def test_a_statement_that_fails_leaves_nothing_behind():
    found, steps, _ = _run("Compute $12$ and $3$.", r"$\frac{12}{0} = 1$ and $12 \div 3 = 4$.")
    assert [s.op for s in steps] == ["DIV"] and steps[0].args[1].value == "3"


def test_problem_steps_label_the_problems_own_math():
    problem = r"If $x = 2$ and $y = 5$, then what is the value of $\frac{x^4+2y^2}{6}$?"
    found = problem_steps(problem, r"It is $\boxed{11}$.", "11")
    steps = [m.step for m in found]
    assert execute_all(dag_from_steps(steps, symbolic=True))[-1] == 11
    assert all(s.expr.startswith("(problem)") for s in steps)
    solved = problem_steps(r"Solve for $x$: $3^{2x} = \sqrt{27}$.", r"$x = \boxed{\frac{3}{4}}$", r"\frac{3}{4}")
    assert [m.step.op for m in solved] == ["SOLVE"]
    assert execute_all(dag_from_steps([m.step for m in solved], symbolic=True)) == [F(3, 4)]


def test_a_word_that_implies_a_number_grounds_it():
    found, steps, values = _run("She ate half of the 12 cookies.", r"She ate $12/2 = 6$.", constants=False)
    assert steps[0].args[1].kind == "implicit" and steps[0].args[1].text == "half"
    assert values == [6] and not found[0].ungrounded


def test_of_several_occurrences_the_one_beside_the_sibling_operand_is_taken():
    problem = r"She buys $2$ pens at $\$3$ each and $2$ books at $\$5$ each."
    found, steps, values = _run(problem, r"Books cost $5 \cdot 2 = 10$.")
    five, two = steps[0].args
    assert problem[five.span[0]:five.span[1]] == "5" and two.span[0] == problem.index("$2$ books") + 1


def test_a_root_the_cot_keeps_is_max_or_min_of_the_solutions():
    problem = r"Find the positive value of $x$ such that $x^2 = 16$."
    found, steps, values = _run(problem, r"We have $x = 4$ or $x = -4$; since $x > 0$, $x = \boxed{4}$.")
    assert [s.op for s in steps][-2:] == ["SOLVE", "MAX"] and values[-1] == 4


def test_angles_are_named_and_angle_sums_are_constants():
    problem = r"In the figure, $\angle ABC = 73^\circ$. What is $\angle BCD$, in degrees?"
    found, steps, values = _run(problem, r"So $\angle BCD = 180^\circ - 73^\circ = \boxed{107^\circ}$.")
    assert [s.op for s in steps] == ["SUB"] and values == [107]
    assert steps[0].args[0].kind == "constant" and steps[0].args[1].span is not None
    found, _, _ = _run("What is 180 minus 73?", r"$180 - 73 = 107$")
    assert found[0].step.args[0].span is not None  # written, so a number, not a constant


def test_constants_only_where_a_formula_puts_them():
    from fractions import Fraction

    from mycelium.labels.math_grounding import constant_fits

    assert constant_fits(Fraction(2), ("div", 1), False) and not constant_fits(Fraction(2), ("mul", 1), False)
    assert constant_fits(Fraction(3), ("pow", 1), False) and not constant_fits(Fraction(3), ("add", 0), False)
    assert constant_fits(Fraction(1), ("sub", 1), False) and not constant_fits(Fraction(1), ("mul", 0), False)
    assert constant_fits(Fraction(180), ("sub", 0), True) and not constant_fits(Fraction(180), ("sub", 0), False)
    # "(2 cups) x 2": the second 2 is no formula's, and the problem's one "two" is taken
    found, steps, _ = _run("A recipe for 30 cookies needs two cups of flour. He bakes five dozen cookies.",
                           r"He needs $2\times2=\boxed{4}$ cups.")
    assert found[0].ungrounded and steps[0].args[1].span is None


def test_a_number_written_as_an_exponent_grounds_only_an_exponent():
    text = r"Let $a$ and $b$ be the roots of $x^4 - 4x - 1 = 0$."
    found, steps, _ = _run(text, r"So $4^2 = 16$.")
    base, power = steps[0].args
    assert base.span[0] == text.index("4x")  # the coefficient, not the exponent of x^4
    assert power.kind == "constant"


def test_each_root_the_cot_names_is_solved_and_the_names_read_them():
    problem = r"The equation $x^2-4x+7=19$ has two solutions, $a$ and $b$, with $a\geq b$. What is the value of $2a+b$?"
    cot = r"So $x=6$ and $x=-2$. Since $a\geq b$, $a=6$ and $b=-2$, so $2a+b=2(6)-2=\boxed{10}$."
    found, steps, values = _run(problem, cot)
    assert [s.op for s in steps] == ["SOLVE", "MAX", "SOLVE", "MIN", "MUL", "ADD"]
    assert values[-1] == 10 and not any(m.ungrounded for m in found)
    assert problem[steps[4].args[0].span[0]:steps[4].args[0].span[1] + 1] == "2a"


def test_squares_and_halves_are_the_formulas_not_a_coordinates_digit():
    problem = "What is the distance between $(2,5)$ and $(-6,-1)$?"
    found, steps, values = _run(problem, r"It is $\sqrt{(-6 - 2)^2 + (-1 - 5)^2} = \boxed{10}$.")
    powers = [s for s in steps if s.op == "POW"]
    assert len(powers) == 2 and all(p.args[1].kind == "constant" for p in powers)
    assert values[-1] == 10
    found, steps, _ = _run("Triangle $ABC$ has vertices $A(0,8)$, $B(2,0)$, $C(8,0)$.", r"Its area is $\frac{1}{2}(8)(8) = 32$.")
    assert steps[0].op == "MUL" and steps[0].args[0].kind == "constant" and steps[0].args[0].value == "1/2"
