from fractions import Fraction as F

import pytest
import sympy

from mycelium.dag.graph import answer_equals, dag_from_steps, execute_all, format_value, steps_from_dag
from mycelium.dag.ops import ExecutionError, Reason
from mycelium.dag.steps import Arg, Step
from mycelium.dag.symbolic import SYMBOLIC_OPS, apply_any, deadline, parse_symbolic, values_equal

x, k = sympy.symbols("x k")


def _expr(tex: str) -> Arg:
    return Arg("expr", tex, text=tex, span=(0, len(tex)))


def _num(v: str) -> Arg:
    return Arg("number", v, text=v, span=(0, 1))


def _res(i: int) -> Arg:
    return Arg("result", "", step=i)


def _run(steps: list[Step]) -> list:
    return execute_all(dag_from_steps(steps, symbolic=True))


def test_every_symbolic_op_is_documented():
    import mycelium.dag.symbolic as module

    for name in SYMBOLIC_OPS:
        assert f"\n{name} " in module.__doc__


def test_solve_an_equation_for_a_named_variable():
    values = _run([Step(0, "SOLVE", [_expr(r"3^{2x} = \sqrt{27}"), _expr("x")], None)])
    assert values == [F(3, 4)]


def test_solve_a_system_for_one_of_its_unknowns():
    steps = [Step(0, "SOLVE", [_expr("3b + 2s = 320"), _expr("2b + s = 200"), _expr("b")], None)]
    assert _run(steps) == [F(80)]


def test_substitute_then_solve():
    # "plug x = 4 and y = -3 into 1 - kx = -3y": SUBS, SUBS, SOLVE
    steps = [
        Step(0, "SUBS", [_expr("1-kx=-3y"), _expr("x"), _num("4")], None),
        Step(1, "SUBS", [_res(0), _expr("y"), _num("-3")], None),
        Step(2, "SOLVE", [_res(1), _expr("k")], None),
    ]
    values = _run(steps)
    assert values[1] == sympy.Eq(1 - 4 * k, 9)
    assert values[2] == F(-2)


def test_substitute_an_expression_for_a_name():
    assert _run([Step(0, "SUBS", [_expr("(x-a+3)"), _expr("x"), _expr("(a+7)")], None)]) == [F(10)]


def test_simplify_expand_factor():
    assert _run([Step(0, "EXPAND", [_expr("(x+1)(x+2)")], None)]) == [x**2 + 3 * x + 2]
    assert _run([Step(0, "FACTOR", [_expr("x^2-1")], None)]) == [(x - 1) * (x + 1)]
    assert _run([Step(0, "SIMPLIFY", [_expr(r"\frac{x^2-1}{x-1}")], None)]) == [x + 1]


def test_eq_and_tuple_build_values():
    values = _run([Step(0, "SUB", [_num("8"), _expr("x")], None), Step(1, "EQ", [_res(0), _num("3")], None),
                   Step(2, "SOLVE", [_res(1), _expr("x")], None), Step(3, "TUPLE", [_res(2), _num("2")], None)])
    assert values[2] == 5 and values[3] == sympy.Tuple(5, 2)


def test_numeric_ops_on_irrational_values_run_in_sympy():
    steps = [Step(0, "SQRT", [_num("63")], None), Step(1, "POW", [_res(0), _num("2")], None),
             Step(2, "MUL", [_res(1), Arg("constant", r"\pi", text=r"\pi")], None)]
    values = _run(steps)
    assert values[0] == 3 * sympy.sqrt(7) and values[1] == F(63)  # rational results stay Fractions
    assert answer_equals(values[2], r"63\pi") and not answer_equals(values[2], "63")


def test_a_numeric_dag_executes_the_same_in_both_modes():
    steps = [Step(0, "DIV", [_num("48"), _num("2")], None), Step(1, "ADD", [_res(0), _num("48")], None)]
    assert execute_all(dag_from_steps(steps)) == _run(steps) == [F(24), F(72)]
    assert not dag_from_steps(steps).symbolic


def test_symbolic_values_format_and_read_back():
    for v in (sympy.sqrt(2) / 2, x**2 + 1, sympy.Tuple(7, 2)):
        assert parse_symbolic(format_value(v)) == v


def test_an_equation_never_matches_a_gold_answer():
    assert not answer_equals(sympy.Eq(sympy.Symbol("a") * sympy.Symbol("b"), 1), "1")


def test_failures_are_typed():
    with pytest.raises(ExecutionError) as e:
        apply_any("SOLVE", [sympy.Eq(x, x + 1), x])
    assert e.value.reason == Reason.BAD_VALUE
    with pytest.raises(ExecutionError) as e:
        apply_any("SOLVE", [F(3)])
    assert e.value.reason == Reason.BAD_ARITY
    with pytest.raises(ExecutionError) as e:
        apply_any("POW", [sympy.sqrt(2), F(10 ** 6)])
    assert e.value.reason == Reason.OVERFLOW
    with pytest.raises(ExecutionError) as e:
        parse_symbolic(r"\input{/etc/passwd}")
    assert e.value.reason == Reason.BAD_VALUE and "UNSUPPORTED" in str(e.value)


def test_deadline_raises_timeout():
    with pytest.raises(ExecutionError) as e:
        with deadline(0.05):
            while True:
                pass
    assert e.value.reason == Reason.TIMEOUT


def test_values_equal_is_exact():
    assert values_equal(sympy.sqrt(8), 2 * sympy.sqrt(2))
    assert not values_equal(sympy.sqrt(2), F(141421, 100000))


def test_steps_from_a_symbolic_dag_keep_their_values():
    dag = dag_from_steps([Step(0, "SQRT", [_num("2")], None)], symbolic=True)
    assert steps_from_dag(dag)[0].value == r"\sqrt{2}"


def test_a_labelled_irrational_value_makes_the_dag_symbolic():
    steps = [Step(0, "SQRT", [_num("63")], r"3 \sqrt{7}")]
    assert dag_from_steps(steps).symbolic and execute_all(dag_from_steps(steps)) == [3 * sympy.sqrt(7)]
    assert not dag_from_steps([Step(0, "SQRT", [_num("64")], "8")]).symbolic


def test_max_and_min_pick_a_root_of_a_solution_set():
    values = _run([Step(0, "SOLVE", [_expr("x^2 - 4x + 7 = 19"), _expr("x")], None),
                   Step(1, "MAX", [_res(0)], None), Step(2, "MIN", [_res(0)], None)])
    assert values[0] == sympy.FiniteSet(-2, 6) and values[1:] == [F(6), F(-2)]
    with pytest.raises(ExecutionError) as e:
        apply_any("MAX", [x, F(1)])
    assert e.value.reason == Reason.BAD_VALUE
