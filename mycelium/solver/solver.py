"""The no-CoT solver: segment -> classify -> wire operands -> execute exactly.

    solver = Solver.from_pretrained("artifacts/students/gsm8k")   # holds segmenter/ and classifier/
    pred = solver.solve("Natalia sold 48 clips in April. She sold half as many in May. ...")
    pred.answer, pred.reason, pred.steps

    # the wiring student from the text alone (DeductReasoner-style): <dir> needs only wiring/
    solver = Solver.from_pretrained("artifacts/students/mawps", deductive_spans=False)

``solve`` never raises on user text: every failure is a ``Prediction`` with ``answer=None``
and a ``reason``:

=======================  ===================================================================
reason                   meaning
=======================  ===================================================================
empty_text               not a string, or only whitespace
too_long                 more than ``max_chars`` characters: refused, not truncated (a cut
                         problem loses its question, and an answer to part of it would
                         look like a real one)
no_numbers               the text holds no number and no implicit constant ("half", "%")
no_spans                 the segmenter found no operation-bearing span
missing_operands         some op found fewer operands than it needs
no_wiring                the deductive wiring finished no DAG that executes
execution_error:REASON   the wired DAG fails to execute (DIV_BY_ZERO, UNKNOWN_OP, ...)
internal_error:TYPE      a bug in the pipeline, logged with its traceback (never expected)
=======================  ===================================================================

Latency: ``solve_batch`` runs each student once per batch, so a problem's ``latency_s`` is
its share of the batch's student time plus its own wiring and execution time.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mycelium.dag.graph import ExecutionError, answer_equals, dag_from_steps, execute_all, format_value
from mycelium.dag.ops import MULTI_OP_SEP
from mycelium.errors import UserError
from mycelium.labels.args import extract_numbers, implicit_operands
from mycelium.models.classifier import ClassifierModule
from mycelium.models.export import export_student, load_exported
from mycelium.models.segmenter import SegmenterModule
from mycelium.models.wiring import WiringModule
from mycelium.models.wiring_beam import decoded_steps
from mycelium.models.wiring_data import OPS, WiringExample, problem_quantities
from mycelium.records.predictions import Prediction
from mycelium.solver.learned_wiring.beam import OpChoices, wire_learned_topk
from mycelium.solver.learned_wiring.model import WiringModel, is_wiring_dir, load_wiring
from mycelium.solver.rerank import penalty, rerank
from mycelium.solver.spans import SpanSnapper
from mycelium.solver.wiring import STRATEGIES, missing_operands, wire

log = logging.getLogger(__name__)

Span = tuple[int, int]
WIRINGS = ("auto", "deductive", "learned", *STRATEGIES)
SEARCHES = ("margin", "bound")  # how far the wiring student's beam searches past its best finished DAG


class StudentsNotFound(UserError):
    """The student exports the solver needs are not where the config says."""


class Solver:
    """Two students (a ``SegmenterModule`` and a ``ClassifierModule``) plus the DAG builder, or
    the wiring student alone (``text_alone``).

    ``wiring`` picks the DAG builder: ``"deductive"`` is the wiring student
    (``mycelium.models.wiring.WiringModule``, ``deductive``): it reads the problem and builds the
    DAG over its quantities, conditioned (when trained so) on the spans and the classifier's op
    distribution over ``OPS``; ``"learned"`` is ``mycelium.solver.learned_wiring``'s
    model (``wiring_model``: a ``WiringModel`` or a directory saved by ``save_wiring``); a
    heuristic strategy name (``"chain"``, ...) is ``mycelium.solver.wiring.wire`` with the
    ``order``/``problem_numbers`` knobs; ``"auto"`` is deductive when that student is given, else
    learned when a model is given, else chain. ``pool_text_alone`` (with ``deductive_spans``):
    the wiring student also reads the problem alone, and its DAGs from both views are pooled
    before the re-ranking and the vote (a test-time ensemble over two views of the input; about
    twice the wiring's time). Raises UserError for it without a conditioned wiring student on spans.
    ``ensemble``: more wiring students (same implicit constants and, reading spans, the same
    ``condition``) whose finished DAGs join the main student's before the re-ranking and the
    vote, so the vote sums each answer's probability over the members (a mixture of the
    students; without ``vote``, the best DAG of any member); each member costs its own beam.
    ``pool_text_alone``'s second view is the main student's only.
    ``span_filter``/``snap_spans``/``clauses`` post-process the segmenter's spans into
    clause-shaped operation spans (``mycelium.solver.spans.SpanSnapper``).

    With the learned wiring, each span's op is chosen by the beam search among the classifier's
    ``op_top_k`` likeliest labels, each scored ``op_weight`` x its log-probability (relative to
    the best label) beside the wiring model's log-probabilities; ``implausible_penalty`` is taken
    off a wiring whose answer is negative or fractional
    (``mycelium.solver.learned_wiring.beam.wire_learned_topk``), and off the wiring student's
    finished DAGs the same way, ``echo_penalty`` off those whose answer is a number they read
    from the problem and ``reuse_penalty`` off those that read one number twice
    (``mycelium.solver.rerank``); ``stop_prior`` (nats) is added to the wiring student's odds of
    stopping once every written number is read (``WiringHead.step``: a dataset whose answers
    come sooner than GSM8K's); ``vote`` picks the answer its finished DAGs agree on most
    (probability summed per answer) rather than the single best DAG. ``search`` is how far the
    beam goes past its best finished DAG for the re-ranking: ``"margin"``, within the summed
    penalties (more DAGs for the vote), or ``"bound"``, while a live DAG can still beat the
    best penalised one (the same best DAG, a shorter search). ``op_top_k=1`` keeps the argmax
    ops, as the heuristic wirings always do. ``Prediction.ops`` holds the ops the wiring ran.
    """

    def __init__(
        self,
        segmenter: SegmenterModule,
        classifier: ClassifierModule,
        *,
        wiring: str = "auto",
        wiring_model: WiringModel | str | Path | None = None,
        deductive: WiringModule | None = None,
        deductive_spans: bool = True,
        pool_text_alone: bool = False,
        ensemble: Sequence[WiringModule] = (),
        beam: int = 8,
        op_top_k: int = 1,
        op_weight: float = 1.0,
        implausible_penalty: float = 0.0,
        echo_penalty: float = 0.0,
        reuse_penalty: float = 0.0,
        stop_prior: float = 0.0,
        vote: bool = True,
        search: str = "bound",
        order: str = "larger-first",
        problem_numbers: bool = True,
        span_filter: bool = True,
        snap_spans: bool = True,
        clauses: Mapping[str, Any] | None = None,
        max_chars: int = 4000,
        batch_size: int = 16,
    ) -> None:
        if wiring not in WIRINGS:
            raise ValueError(f"wiring strategy must be one of {WIRINGS}, got {wiring!r}")
        if isinstance(wiring_model, (str, Path)):
            wiring_model = load_wiring(wiring_model)
        if wiring == "learned" and wiring_model is None:
            raise StudentsNotFound("wiring=learned needs a wiring model (wiring_model=<dir> or <students>/wiring)")
        if wiring == "deductive" and deductive is None:
            raise StudentsNotFound("wiring=deductive needs the wiring student (<students>/wiring from train.py model=wiring)")
        if wiring == "auto":
            wiring = "deductive" if deductive is not None else "learned" if wiring_model is not None else "chain"
        self.deductive = deductive.eval() if wiring == "deductive" else None
        # the wiring student reads the predicted spans and op distributions as items, or (False)
        # the problem text alone, as DeductReasoner does: where the segmenter is weak that wins
        self.deductive_spans = deductive_spans
        if pool_text_alone and not (deductive_spans and deductive is not None and deductive.condition):
            raise UserError("solver.pool_text_alone pools the wiring student's DAGs read from the spans with those read "
                            "from the text alone: it needs a wiring student trained with model.condition=true and "
                            "solver.deductive_spans=true")
        self.pool_text_alone = pool_text_alone
        if ensemble and self.deductive is None:
            raise UserError("solver.ensemble pools the DAGs of several wiring students: the solver's own wiring "
                            "must be the wiring student too (<students>/wiring, solver.wiring=auto or deductive)")
        for member in ensemble:
            if member.constants != self.deductive.constants:  # one set of quantity nodes for the vote
                raise UserError(f"solver.ensemble: every wiring student must know the same implicit constants; "
                                f"got {member.constants} beside {self.deductive.constants}")
            if deductive_spans and member.condition != self.deductive.condition:  # else one reads spans, one not
                raise UserError("solver.ensemble with solver.deductive_spans=true: every wiring student must be "
                                "trained with the same model.condition as <students>/wiring")
        self.ensemble = [m.eval() for m in ensemble]
        if not self.text_alone and (segmenter is None or classifier is None):
            raise StudentsNotFound(
                f"wiring={wiring} with deductive_spans={deductive_spans} reads the segmenter and classifier, and "
                "one is missing; only the wiring student with deductive_spans=false reads the text alone")
        self.segmenter = segmenter.eval() if segmenter is not None else None
        self.classifier = classifier.eval() if classifier is not None else None
        # segmenter fragments -> clause-shaped operation spans (mycelium.solver.spans). A segmenter
        # over clause units gives runs of whole clauses already, which snapping would cut to one
        # clause; the filter stays: it costs span F1 (question clauses) but gains E2E (dev 141
        # against 132 of 743 without it, docs/RESULTS.md, session 10)
        snap_spans = snap_spans and getattr(segmenter, "units", "tokens") == "tokens"
        self.snapper = SpanSnapper(filter=span_filter, snap=snap_spans, clauses=clauses) \
            if span_filter or snap_spans else None
        self.wiring, self.order, self.problem_numbers = wiring, order, problem_numbers
        self.wiring_model = wiring_model if wiring == "learned" else None
        if op_top_k < 1 or op_weight < 0 or min(implausible_penalty, echo_penalty, reuse_penalty) < 0:
            raise ValueError(f"need op_top_k >= 1, op_weight >= 0 and penalties >= 0; got {op_top_k}, {op_weight}, "
                             f"implausible {implausible_penalty}, echo {echo_penalty}, reuse {reuse_penalty}")
        self.beam, self.op_top_k = beam, op_top_k
        self.op_weight, self.implausible_penalty = op_weight, implausible_penalty
        self.echo_penalty, self.reuse_penalty, self.vote = echo_penalty, reuse_penalty, vote
        if not math.isfinite(stop_prior):
            raise ValueError(f"stop_prior must be a finite number of nats, got {stop_prior}")
        self.stop_prior = stop_prior
        if search not in SEARCHES:
            raise ValueError(f"search must be one of {SEARCHES}, got {search!r}")
        self.search = search
        self.max_chars = max_chars
        self.batch_size = batch_size
        if wiring not in ("learned", "deductive"):  # bad knob: fail now, not per problem
            wire("1 and 2", [(0, 7)], ["SUB"], strategy=wiring, order=order)

    @property
    def text_alone(self) -> bool:
        """True when the wiring student reads the problem text alone (no segmenter/classifier)."""
        return self.deductive is not None and not self.deductive_spans

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        classifier_path: str | Path | None = None,
        *,
        device: str = "auto",
        **kwargs: Any,
    ) -> "Solver":
        """Load from a directory holding ``segmenter/`` and ``classifier/`` exports, or from
        two export directories (``path`` the segmenter's, ``classifier_path`` the classifier's).
        The wiring student in ``<path>/wiring/`` (``train.py model=wiring``) is used unless
        ``wiring`` names another builder; else an MLP wiring model in ``<path>/wiring_mlp/`` (or a
        legacy ``<path>/wiring/``) unless ``wiring_model`` names another (see ``Solver``).

        With ``deductive_spans=False`` and the wiring student in use, ``path`` needs only
        ``wiring/``: the segmenter and classifier are not loaded (the text-alone solver never
        reads them). Raises ``StudentsNotFound`` (one line) when an export the mode reads is
        missing."""
        path = Path(path)
        members = kwargs.get("ensemble") or ()
        kwargs["ensemble"] = [m if isinstance(m, WiringModule) else load_wiring_student(m, device)
                              for m in ([members] if isinstance(members, (str, Path)) else members)]
        student_wires = kwargs.get("wiring", "auto") in ("auto", "deductive")
        if kwargs.get("deductive") is None and student_wires \
                and classifier_path is None and (path / "wiring" / "label_map.json").is_file():
            deductive = load_exported(path / "wiring", device)
            if not isinstance(deductive, WiringModule):
                raise StudentsNotFound(f"{path / 'wiring'} must hold the wiring student's export")
            kwargs["deductive"] = deductive
        if kwargs.get("deductive") is not None and student_wires and not kwargs.get("deductive_spans", True):
            return cls(None, None, **kwargs)  # text alone: the segmenter and classifier are never read
        seg_dir, cls_dir = (path / "segmenter", path / "classifier") if classifier_path is None else (path, Path(classifier_path))
        for d in (seg_dir, cls_dir):
            if not (d / "label_map.json").is_file():
                alone = (" (or the wiring student alone in <dir>/wiring with solver.deductive_spans=false)"
                         if classifier_path is None else "")
                raise StudentsNotFound(
                    f"no student export at {d} (expected {path}/segmenter and {path}/classifier from "
                    f"train.py's <run dir>/export); set students=<dir holding segmenter/ and classifier/>{alone}"
                )
        segmenter, classifier = load_exported(seg_dir, device), load_exported(cls_dir, device)
        if not isinstance(segmenter, SegmenterModule) or not isinstance(classifier, ClassifierModule):
            raise StudentsNotFound(f"{seg_dir} must hold a segmenter export and {cls_dir} a classifier export")
        mlp = next((d for d in (path / "wiring_mlp", path / "wiring")
                    if is_wiring_dir(d) and not (d / "label_map.json").is_file()), None)  # not the wiring student
        if kwargs.get("wiring_model") is None and kwargs.get("wiring", "auto") in ("auto", "learned") \
                and classifier_path is None and mlp is not None:
            kwargs["wiring_model"] = mlp
        return cls(segmenter, classifier, **kwargs)

    def _refuse(self, text: Any) -> str | None:
        """The reason ``text`` cannot be solved before running any model, else None."""
        if not isinstance(text, str) or not text.strip():
            return "empty_text"
        if len(text) > self.max_chars:
            return "too_long"
        if not extract_numbers(text) and not implicit_operands(text):
            return "no_numbers"
        return None

    def solve(self, text: str, *, id: str = "", gold_answer: str = "") -> Prediction:
        """Answer one problem (see ``solve_batch``)."""
        return self.solve_batch([text], ids=[id], gold_answers=[gold_answer])[0]

    def solve_batch(
        self,
        texts: Sequence[str],
        batch_size: int | None = None,
        *,
        ids: Sequence[str] | None = None,
        gold_answers: Sequence[str] | None = None,
    ) -> list[Prediction]:
        """Answer each text; the students see ``batch_size`` texts (or spans) per forward pass.
        ``ids`` and ``gold_answers`` are copied into the predictions (``correct`` needs a gold)."""
        batch_size = batch_size or self.batch_size
        ids = list(ids) if ids is not None else [""] * len(texts)
        golds = list(gold_answers) if gold_answers is not None else [""] * len(texts)
        preds = [
            Prediction(id=i, text=t if isinstance(t, str) else "", gold_answer=g, spans=[], ops=[], steps=[],
                       answer=None, correct=False)
            for i, t, g in zip(ids, texts, golds)
        ]
        todo = []
        for k, p in enumerate(preds):
            p.reason = self._refuse(texts[k])
            if p.reason is None:
                todo.append(k)
        if not todo:
            return preds
        if self.text_alone:  # no student pass but the wiring student's, one problem at a time
            for k in todo:
                t0 = time.perf_counter()
                self._finish(preds[k])
                preds[k].latency_s = time.perf_counter() - t0
            return preds
        try:
            start = time.perf_counter()
            spans = self.segmenter.predict_spans([preds[k].text for k in todo], batch_size=batch_size)
            if self.snapper is not None:
                spans = self.snapper([preds[k].text for k in todo], spans)
            items = [(preds[k].text, sp) for k, sps in zip(todo, spans) for sp in sorted(sps)]
            # the heuristics take the argmax; the wiring student reads the whole op distribution
            top_k = len(self.classifier.labels) if self.deductive is not None else \
                self.op_top_k if self.wiring_model is not None else 1
            scores = self.classifier.predict_op_scores(items, top_k, batch_size=batch_size) if items else []
            share = (time.perf_counter() - start) / len(todo)  # each problem's part of the batched passes
        except Exception as e:  # noqa: BLE001 (never raise on user text; a bug is logged, not hidden)
            log.exception("students failed on a batch")
            for k in todo:
                preds[k].reason = f"internal_error:{type(e).__name__}"
            return preds
        it = iter(scores)
        for k, sps in zip(todo, spans):
            p = preds[k]
            p.spans = sorted((int(s), int(e)) for s, e in sps)
            choices = [next(it) for _ in p.spans]
            p.ops = [c[0][0] for c in choices]  # "MUL+ADD": a span that states two ops
            t0 = time.perf_counter()
            self._finish(p, choices)
            p.latency_s = share + time.perf_counter() - t0
        return preds

    def answer_with(self, text: str, spans: Sequence[Span], ops: Sequence[str], *, gold_answer: str = "") -> Prediction:
        """Wire and execute given spans and ops (no students): e.g. gold regions and ops, to
        measure what the wiring alone reaches. In text-alone mode the wiring student reads the
        text only, so ``spans`` and ``ops`` change nothing."""
        p = Prediction(id="", text=text, gold_answer=gold_answer, spans=[tuple(s) for s in spans], ops=list(ops),
                       steps=[], answer=None, correct=False)
        self._finish(p)
        return p

    def _deduce(self, p: Prediction, choices: Sequence[OpChoices] | None) -> bool:
        """Wire ``p`` with the wiring student (spans and op distributions as its items); False
        (and ``p.reason``) when it finds no DAG that executes."""
        dists = [op_distribution(c, o) for c, o in zip(choices or [None] * len(p.spans), p.ops)]
        quantities = problem_quantities(p.text, self.deductive.constants)
        ex = WiringExample(p.id, p.text, p.gold_answer, quantities, items=list(zip(p.spans, dists)))
        # the wiring student's finished DAGs, re-ranked by what an answer looks like (rerank.py)
        priors = dict(implausible_penalty=self.implausible_penalty, echo_penalty=self.echo_penalty,
                      reuse_penalty=self.reuse_penalty)
        if self.search == "bound":  # on while a live hypothesis may still beat the best penalised DAG
            bound = (lambda d: penalty(d, quantities, **priors)) if any(priors.values()) else None
            search: dict[str, Any] = {"penalties": [bound]}
        else:  # on within the summed penalties of the best DAG: more DAGs for the vote
            search = {"margin": sum(priors.values())}
        finished: list = []
        for student in (self.deductive, *self.ensemble):
            finished += student.predict_finished([ex], with_items=student.condition and self.deductive_spans,
                                                 stop_prior=self.stop_prior, **search)[0]
        if self.pool_text_alone:  # a second view of the same problem: the text alone; the vote sees both
            finished = finished + self.deductive.predict_finished([ex], with_items=False, stop_prior=self.stop_prior,
                                                                  **search)[0]
        decoded = rerank(finished, quantities, implausible_penalty=self.implausible_penalty,
                         echo_penalty=self.echo_penalty, reuse_penalty=self.reuse_penalty, vote=self.vote)
        if decoded is None:
            p.reason = "no_wiring"
            return False
        p.steps = decoded_steps(decoded, quantities)
        return True

    def _finish(self, p: Prediction, choices: Sequence[OpChoices] | None = None) -> None:
        """Wire and execute ``p.spans``/``p.ops`` (the learned wiring picks each span's op among
        its ``choices`` when given, and ``p.ops`` becomes the picks); fill steps, answer, correct,
        reason."""
        try:
            text_alone = self.deductive is not None and not self.deductive_spans
            if not p.spans and not text_alone:
                p.reason = "no_spans"
                return
            if self.deductive is not None:
                if not self._deduce(p, choices):
                    return
            elif self.wiring_model is not None:
                choices = choices if choices is not None else [[(o, 0.0)] for o in p.ops]
                p.steps, labels = wire_learned_topk(
                    p.text, p.spans, choices, self.wiring_model, beam=self.beam, op_weight=self.op_weight,
                    implausible_penalty=self.implausible_penalty)
                p.ops = [o if isinstance(o, str) else MULTI_OP_SEP.join(o) for o in labels]
            else:
                p.steps = wire(p.text, p.spans, p.ops, strategy=self.wiring, order=self.order,
                               problem_numbers=self.problem_numbers)
            if missing_operands(p.steps):
                p.reason = "missing_operands"
                return
            try:
                value = execute_all(dag_from_steps(p.steps))[-1]
            except ExecutionError as e:
                p.reason = f"execution_error:{e.reason.value}"
                return
            p.answer = format_value(value)
            p.correct = bool(p.gold_answer) and answer_equals(value, p.gold_answer)
        except Exception as e:  # noqa: BLE001
            log.exception("solver failed on %r", p.id or p.text[:60])
            p.answer, p.correct, p.reason = None, False, f"internal_error:{type(e).__name__}"


def wiring_exports(paths: str | Path | Sequence[str | Path] | None) -> list[Path]:
    """The export dirs of ``solver.ensemble``'s members: each path is a wiring export dir, or a
    students dir holding ``wiring/`` (a missing one is left as given, for the loader's error);
    a single path counts as a list of one."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths or ())
    return [p if (p / "label_map.json").is_file() or not (p / "wiring").is_dir() else p / "wiring"
            for p in map(Path, paths)]


def load_wiring_student(path: str | Path, device: str = "auto") -> WiringModule:
    """The wiring student exported in ``path`` (its export dir, or a students dir holding
    ``wiring/``: ``wiring_exports``). Raises ``StudentsNotFound`` (one line) when neither holds
    the wiring student's export."""
    (d,) = wiring_exports(path)
    if not (d / "label_map.json").is_file():
        raise StudentsNotFound(f"no wiring student export at {path} or {Path(path) / 'wiring'} (train.py "
                               "model=wiring's <run dir>/export)")
    student = load_exported(d, device)
    if not isinstance(student, WiringModule):
        raise StudentsNotFound(f"{d} holds a {type(student).__name__} export, not the wiring student's")
    return student


def op_distribution(choices: OpChoices | None, op: str) -> list[float]:
    """A span's distribution over ``OPS`` from the classifier's (label, log-prob) list (a joined
    label "MUL+ADD" shares its mass among its ops), or one-hot ``op`` without scores."""
    import math

    dist = [0.0] * len(OPS)
    for label, logp in choices or [(op, 0.0)]:
        names = [o for o in (label if isinstance(label, str) else MULTI_OP_SEP.join(label)).split(MULTI_OP_SEP) if o in OPS]
        for o in names:
            dist[OPS.index(o)] += math.exp(logp) / len(names)
    total = sum(dist)
    return [x / total for x in dist] if total > 0 else [1 / len(OPS)] * len(OPS)


def export_untrained_students(
    out_dir: str | Path,
    backbone: Callable[..., tuple[Any, Any]],
    ops: Sequence[str] = ("ADD", "DIV", "MUL", "SUB"),
    *,
    seed: int = 0,
) -> Path:
    """Export an untrained segmenter and classifier on ``backbone`` into ``out_dir``/{segmenter,
    classifier} (what ``Solver.from_pretrained`` reads). For speed benchmarks and tests: the
    heads are random (scaled up so predictions vary), the shapes and code path are real."""
    import torch

    out = Path(out_dir)
    torch.manual_seed(seed)
    for module, name in ((SegmenterModule(backbone), "segmenter"), (ClassifierModule(backbone, labels=list(ops)), "classifier")):
        with torch.no_grad():
            module.model.score.weight.normal_(0, 5.0)
        export_student(module.eval(), out / name)
    return out
