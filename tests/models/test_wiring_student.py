"""The wiring student (encoder + deductive head) on hand-built DAGs with the tiny backbone."""

from __future__ import annotations

from fractions import Fraction
from functools import partial
from pathlib import Path

import pytest
import torch

from mycelium.dag.graph import dag_from_steps, execute_all
from mycelium.dag.steps import Arg, Step
from mycelium.models.export import export_student, load_exported
from mycelium.models.wiring import WiringModule
from mycelium.models.wiring_beam import decoded_steps
from mycelium.models.wiring_data import (
    WiringCollator, WiringDataModule, WiringLabelsError, make_example, node_groups, problem_quantities, record_actions,
)
from mycelium.models.wiring_head import StopState, WiringHead
from mycelium.records.labels import LabelRecord
from mycelium.teacher.loading import build_tiny


def _span(text: str, word: str, start: int = 0) -> tuple[int, int]:
    k = text.index(word, start)
    return k, k + len(word)


def sum_record() -> LabelRecord:
    """"12 + 24 + 5" then minus 3: a 3-operand ADD (binarised) and a SUB of its result."""
    text = "Tom has 12 red, 24 blue and 5 green pens. He loses 3. How many pens are left?"
    n = {w: Arg("number", w, w, _span(text, w)) for w in ("12", "24", "5", "3")}
    steps = [
        Step(0, "ADD", [n["12"], n["24"], n["5"]], "41", region=_span(text, "Tom has 12 red, 24 blue and 5 green pens.")),
        Step(1, "SUB", [Arg("result", "41", step=0), n["3"]], "38", region=_span(text, "He loses 3.")),
    ]
    return LabelRecord("hand-sum", text, "38", steps, "38", True)


def half_record() -> LabelRecord:
    """DIV by the implicit "half", then MUL by a number written before it: 7/2 * 3 = 21/2."""
    text = "Ann has 7 cakes and gives half away. Each cake weighs 3 pounds. What do the given cakes weigh?"
    seven, half, three = (Arg("number", "7", "7", _span(text, "7")), Arg("implicit", "2", "half", _span(text, "half")),
                          Arg("number", "3", "3", _span(text, "3")))
    steps = [
        Step(0, "DIV", [seven, half], "7/2", region=_span(text, "gives half away.")),
        Step(1, "MUL", [Arg("result", "7/2", step=0), three], "21/2", region=_span(text, "Each cake weighs 3 pounds.")),
    ]
    return LabelRecord("hand-half", text, "21/2", steps, "21/2", True)


def module(**kw) -> WiringModule:
    torch.manual_seed(0)
    return WiringModule(partial(build_tiny), optim=partial(torch.optim.AdamW, lr=3e-3), width=64, dropout=0.0, **kw)


def overfit(m: WiringModule, steps: int = 150) -> tuple[dict, float]:
    """Train ``m`` from the text alone on the sum and half problems; their batch and last loss."""
    batch = WiringCollator(m.tokenizer)([make_example(r) for r in (sum_record(), half_record())])
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    m.train()
    for _ in range(steps):
        loss = m.loss(batch, torch.zeros(2, dtype=torch.bool))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return batch, loss.item()


def test_quantities_hold_every_reading_of_a_quantity() -> None:
    qs = problem_quantities("She paid 20% of $80 and ate half.")
    values = {(q.text, q.value) for q in qs}
    assert {("20%", Fraction(20)), ("20%", Fraction(1, 5)), ("$80", Fraction(80)),
            ("half", Fraction(2)), ("half", Fraction(1, 2)), ("%", Fraction(100))} <= values
    assert [q.kind for q in problem_quantities("x", constants=["60"])] == ["constant"]


def test_three_operand_steps_binarise_left_to_right() -> None:
    rec = sum_record()
    qs = problem_quantities(rec.text)
    idx = {q.text: k for k, q in enumerate(qs)}
    acts = record_actions(rec, qs)
    Q = len(qs)
    # ADD(ADD(12, 24), 5), then SUB(that, 3); stop on the last only
    assert acts == [(0, idx["12"], idx["24"], 0), (0, Q, idx["5"], 0), (1, Q + 1, idx["3"], 1)]
    ex = make_example(rec)
    assert ex.action_items == [0, 0, 1] and [r for r, _ in ex.items] == sorted(s.region for s in rec.steps)


def test_head_overfits_two_problems_and_decodes_their_dags() -> None:
    m = module(condition=False)
    batch, loss = overfit(m)
    assert loss < 0.05
    decoded = m.decode_batch(batch, with_items=False)
    assert [d.answer for d in decoded] == [Fraction(38), Fraction(21, 2)]
    assert [s[0] for s in decoded[0].steps] == ["ADD", "ADD", "SUB"]


def test_beam_decoding_executes_exactly() -> None:
    m = module(condition=True)
    ex = [make_example(half_record()), make_example(sum_record())]
    for with_items in (False, True):
        for d, e in zip(m.predict(ex, with_items=with_items), ex):
            if d is None:
                continue
            steps = decoded_steps(d, e.quantities)
            values = execute_all(dag_from_steps(steps))
            assert values == d.values and all(isinstance(v, Fraction) for v in values)


def test_beam_search_lists_finished_wirings_best_first_and_a_margin_widens_it() -> None:
    m = module(condition=False).eval()
    ex = [make_example(sum_record()), make_example(half_record())]
    plain = m.predict_finished(ex)
    wide = m.predict_finished(ex, margin=50.0)
    for p, w in zip(plain, wide):
        assert p, "an untrained head still finds a wiring that executes"
        assert [f.score for f in p] == sorted((f.score for f in p), reverse=True)
        assert (w[0].steps, w[0].score) == (p[0].steps, p[0].score)  # the margin only searches on:
        assert len(w) > 1  # ... the best stays best, and wirings it passed over are listed too
    with pytest.raises(ValueError, match="margin"):
        m.predict_finished(ex, margin=-1.0)
    # a penalty bounds the search instead: it goes on until no live wiring can beat the best
    # penalised one, so the best wiring after the penalty is the same as with a wide margin
    penalised = lambda d: 50.0 if d.steps == plain[0][0].steps else 0.0  # noqa: E731
    bounded = m.predict_finished(ex, penalties=[penalised, None])
    best = lambda fs, pen: max(fs, key=lambda f: f.score - pen(f))  # noqa: E731
    assert best(bounded[0], penalised).steps == best(wide[0], penalised).steps != plain[0][0].steps
    assert [f.steps for f in bounded[1]] == [f.steps for f in plain[1]]  # no penalty: a plain beam
    with pytest.raises(ValueError, match="penalties"):
        m.predict_finished(ex, penalties=[None])


def test_export_then_reload_gives_identical_predictions(tmp_path: Path) -> None:
    m = module(condition=True).eval()
    ex = [make_example(half_record()), make_example(sum_record())]
    out = export_student(m, tmp_path / "wiring")
    again = load_exported(out, device="cpu")
    assert isinstance(again, WiringModule)
    for with_items in (False, True):
        a, b = m.predict(ex, with_items=with_items), again.predict(ex, with_items=with_items)
        assert [(x.steps, x.values) if x else None for x in a] == [(x.steps, x.values) if x else None for x in b]
        assert [x.score for x in a if x] == pytest.approx([x.score for x in b if x], abs=1e-5)


def test_labels_without_a_validated_problem_fail_in_one_line(tmp_path: Path, labels_writer) -> None:
    rec = sum_record()
    rec.validated = False
    dm = WiringDataModule(str(labels_writer(tmp_path / "labels", [rec])))
    with pytest.raises(WiringLabelsError, match="none validated") as e:
        dm.scan()
    assert "\n" not in str(e.value)


def test_mawps_fold_split_tests_the_fold_and_trains_on_the_rest(tmp_path: Path, labels_writer) -> None:
    recs = []
    for fold in range(3):
        for i in range(6):
            r = half_record()
            r.id = f"mawps-cv/fold{fold}/{i}"
            recs.append(r)
    dm = WiringDataModule(str(labels_writer(tmp_path / "labels", recs)), test_fold=1, val_fraction=0.3)
    dm.scan()
    assert {e.id for e in dm.parts["test"]} == {f"mawps-cv/fold1/{i}" for i in range(6)}
    assert all("fold1" not in e.id for e in dm.parts["train"] + dm.parts["val"])
    assert len(dm.parts["train"]) + len(dm.parts["val"]) == 12


def test_train_on_executes_adds_rejected_dags_that_reach_gold_to_train_only(tmp_path: Path, labels_writer) -> None:
    tie = half_record()  # rejected for a tie of equal values: its DAG still executes to gold
    tie.id, tie.validated, tie.reason = "mawps-cv/fold0/0", False, "ambiguous_grounding"
    regionless = sum_record()  # rejected for its regions: trains from the text alone
    regionless.id, regionless.validated, regionless.reason = "mawps-cv/fold0/1", False, "no_region"
    for s in regionless.steps:
        s.region = None
    wrong = sum_record()  # a DAG that misses gold never trains
    wrong.id, wrong.validated, wrong.reason, wrong.answer = "mawps-cv/fold0/2", False, "wrong_answer", "41"
    ok = [half_record(), sum_record()]
    for k, r in enumerate(ok):
        r.id = f"mawps-cv/fold0/{3 + k}"
    test = half_record()
    test.id, test.validated, test.reason = "mawps-cv/fold1/0", False, "ambiguous_grounding"
    path = str(labels_writer(tmp_path / "labels", [tie, regionless, wrong, *ok, test]))

    assert make_example(tie).actions == [] and make_example(tie, train_on="executes").actions
    ex = make_example(regionless, train_on="executes")
    assert ex.actions and ex.items == [] and ex.action_items == []
    assert make_example(wrong, train_on="executes").actions == []
    coincidence = sum_record()  # reaches gold, but only through a same-valued stand-in
    coincidence.validated, coincidence.reason = False, "check_value_coincidence"
    assert make_example(coincidence, train_on="executes").actions == []

    strict = WiringDataModule(path, test_fold=1, val_fraction=0.0)
    wide = WiringDataModule(path, test_fold=1, val_fraction=0.0, train_on="executes")
    strict.parts = wide.parts = None
    # val_fraction 0 leaves val empty, which scan refuses: split by hand through the same rule
    for dm in (strict, wide):
        dm.split = lambda pid, dm=dm: "test" if "fold1" in pid else ("val" if pid.endswith("/4") else "train")
        dm.scan()
    assert {e.id for e in strict.parts["train"]} == {"mawps-cv/fold0/3"}
    assert {e.id for e in wide.parts["train"]} == {"mawps-cv/fold0/0", "mawps-cv/fold0/1", "mawps-cv/fold0/3"}
    assert wide.parts["test"] == [] and wide.stats["unvalidated_trained"] == 2  # test stays validated-only

    m = module(condition=True)  # a batch mixing examples with and without items collates and trains
    batch = WiringCollator(m.tokenizer)(wide.parts["train"])
    assert torch.isfinite(m.loss(batch, batch["item_mask"].any(-1)))


def test_train_on_must_be_known() -> None:
    with pytest.raises(WiringLabelsError, match="train_on"):
        WiringDataModule("x", train_on="everything")


def test_stop_state_counts_each_written_quantity_once_and_results_left_unread() -> None:
    qs = problem_quantities("She paid 20% of $80 and ate half.")
    group, written = node_groups(qs)
    node = {(q.text, q.value): k for k, q in enumerate(qs)}
    fifth, eighty, half = node[("20%", Fraction(1, 5))], node[("$80", Fraction(80))], node[("half", Fraction(1, 2))]
    assert written == [q.kind == "number" for q in qs] and group[fifth] == node[("20%", Fraction(20))]
    Q = len(qs)
    state = StopState.start(torch.tensor([group]), torch.tensor([written]), slots=2)
    unread, dangling = state.after()
    # "20%" and "$80" are the written quantities (two readings of 20% count once); "half" is implied
    assert (unread[0, fifth, eighty], unread[0, fifth, half], unread[0, half, half]) == (0, 1, 2)
    assert not dangling.any()
    state = state.advance(torch.tensor([fifth]), torch.tensor([eighty]), torch.tensor([Q]), torch.tensor([True]))
    unread, dangling = state.after()
    assert unread[0, Q, half] == 0 and dangling[0, Q, half] == 0  # reads the result: nothing left
    assert dangling[0, half, half] == 1  # leaves the result unread


def _reads_every_result(steps: list[tuple[str, int, int, int]], q: int) -> bool:
    read = {n for _, i, j, _ in steps for n in (i, j)}
    return all(q + t in read for t in range(len(steps) - 1))


def test_a_wiring_never_stops_with_a_result_unread() -> None:
    ex = [make_example(sum_record()), make_example(half_record())]
    for m in (module(condition=False), module(condition=False, stop_state=True)):
        for finished, e in zip(m.eval().predict_finished(ex, margin=50.0), ex):
            assert any(len(f.steps) > 1 for f in finished)
            assert all(_reads_every_result(f.steps, len(e.quantities)) for f in finished)


def test_a_stop_state_head_starts_where_the_plain_head_stopped() -> None:
    # init_from a checkpoint without the stop-state bias: it starts at zero, so nothing moves
    plain, grown = module(condition=False).eval(), module(condition=False, stop_state=True).eval()
    missing = grown.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing == ["head.state_stop.weight"]
    ex = [make_example(sum_record()), make_example(half_record())]
    a, b = plain.predict_finished(ex, margin=5.0), grown.predict_finished(ex, margin=5.0)
    assert [[f.steps for f in fs] for fs in a] == [[f.steps for f in fs] for fs in b]
    assert [f.score for fs in a for f in fs] == pytest.approx([f.score for fs in b for f in fs], abs=1e-5)


def test_stop_state_bias_learns_to_stop_once_every_number_is_read(tmp_path: Path) -> None:
    # the same two problems overfit with the stop-state bias; the exported head keeps it
    m = module(condition=False, stop_state=True)
    batch, loss = overfit(m)
    assert loss < 0.05 and m.head.state_stop.weight.abs().sum() > 0
    decoded = m.eval().decode_batch(batch, with_items=False)
    assert [d.answer for d in decoded] == [Fraction(38), Fraction(21, 2)]
    again = load_exported(export_student(m, tmp_path / "wiring"), device="cpu")
    assert torch.equal(again.head.state_stop.weight, m.head.state_stop.weight)
    assert [d.steps for d in again.decode_batch(batch, with_items=False)] == [d.steps for d in decoded]


def test_init_from_an_export_carries_the_encoder_and_the_head(tmp_path: Path) -> None:
    # the loop's loop.retrain=continue fine-tunes the previous round's export, head included
    from mycelium.errors import UserError
    from mycelium.runs.fit_student import init_weights

    src = module(condition=False, stop_state=True)
    overfit(src, steps=20)
    fresh = module(condition=False, stop_state=True)
    assert not torch.equal(fresh.head.state_stop.weight, src.head.state_stop.weight)
    init_weights(fresh, export_student(src, tmp_path / "wiring"))
    for (name, a), b in zip(src.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="not a student export"):
        init_weights(fresh, tmp_path / "empty")


def test_stop_prior_shifts_the_stop_odds_where_nothing_is_left_to_read_and_keeps_each_steps_mass() -> None:
    torch.manual_seed(0)
    head = WiringHead(encoder_width=8, width=16, stop_state=True).eval()
    qs = problem_quantities("She paid 20% of $80 and ate half.")
    group, written = node_groups(qs)
    state = StopState.start(torch.tensor([group]), torch.tensor([written]))
    M = len(qs)
    args = (torch.randn(1, M, 16), torch.ones(1, M, dtype=torch.bool), head.null_item[None, None],
            torch.zeros(1, 1, 4), torch.ones(1, 1, dtype=torch.bool), torch.zeros(1, 1, dtype=torch.long), state)
    base, _ = head.step(*args)
    shifted, _ = head.step(*args, stop_prior=2.5)
    unread, dangling = state.after()
    done = ((unread == 0) & (dangling == 0))[:, None, None].expand(base.shape[:-1])  # (B, K, O, M, M)
    assert done.any() and (~done).any()  # "20%" with "$80" reads every written number; "half" alone does not
    assert torch.equal(torch.isinf(shifted), torch.isinf(base))  # no candidate masked or unmasked
    ok = torch.isfinite(base).all(-1)
    odds = lambda x: x[..., 1] - x[..., 0]  # noqa: E731
    assert torch.allclose(odds(shifted)[ok], odds(base)[ok] + 2.5 * done[ok].float(), atol=1e-5)
    # the step's own probability (going on or stopping after it) is the student's, done or not
    assert torch.allclose(shifted.logsumexp(-1)[ok], base.logsumexp(-1)[ok], atol=1e-5)
    assert torch.equal(shifted[~done], base[~done])


def _went_on_past_everything_read(steps: list[tuple[str, int, int, int]], e) -> bool:
    """Does a DAG take a step after one that left no written number unread and no result dangling?"""
    q = len(e.quantities)
    group, written = node_groups(e.quantities)
    state = StopState.start(torch.tensor([group]), torch.tensor([written]), len(steps))
    for t, (_, i, j, _) in enumerate(steps[:-1]):
        unread, dangling = state.after()
        if int(unread[0, i, j]) == 0 and int(dangling[0, i, j]) == 0:
            return True
        state = state.advance(torch.tensor([i]), torch.tensor([j]), torch.tensor([q + t]), torch.tensor([True]))
    return False


def test_a_stop_prior_makes_going_on_past_everything_read_unlikely() -> None:
    # going on where stopping gains 40 nats of odds costs about 40 nats
    m = module(condition=False, stop_state=True).eval()
    m.beam = 40  # wide enough to keep DAGs that go on
    ex = [make_example(sum_record()), make_example(half_record())]
    went_on = {p: [f.score for e, fs in zip(ex, m.predict_finished(ex, margin=100.0, stop_prior=p))
                   for f in fs if _went_on_past_everything_read(f.steps, e)] for p in (0.0, 40.0)}
    assert went_on[0.0] and max(went_on[0.0]) > -30
    assert all(score < -30 for score in went_on[40.0])  # the few the beam still keeps
