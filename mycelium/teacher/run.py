"""The teacher pass (phase 1): problems -> CoT -> one capture forward pass -> trace shards.

``run_teacher`` is resumable and shardable across processes: worker ``w`` of ``n`` takes the
problems at list index ``i`` with ``i % n == w``, skips every id already in a finished shard
of any worker, and writes a shard every ``shard_size`` problems. Bad input becomes a trace
with ``error`` set and empty arrays, so it is recorded once and never retried.

CoT sources (``cot``):
- ``"dataset"``: teacher-force the gold solution (GSM8K cleaned of its ``<<a*b=c>>``
  annotations, which are kept in the trace; other sets as is). The cheap CPU path.
- ``"generate"``: the teacher writes the CoT (batched, greedy or sampled), then the capture
  pass runs over prompt + generated CoT (decoded, tokenized again, as in dataset mode).
"""

from __future__ import annotations

import resource
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from mycelium.data.answers import clean_gsm8k_solution
from mycelium.data.problems import Problem
from mycelium.errors import UserError
# Renamed: run_teacher's ``capture`` keyword is the config section of the same name.
from mycelium.teacher.capture import CaptureRequest, resolve_layer_groups
from mycelium.teacher.capture import capture as capture_signals
from mycelium.teacher.generate import generate_cots, score
from mycelium.teacher.prompt import PromptError, PromptTokens, build_prompt
from mycelium.records.traces import Trace, TraceStore

COT_MODES = ("dataset", "generate")
GENERATION_KEYS = {"max_new_tokens", "do_sample", "temperature", "top_p"}
CAPTURE_KEYS = {"layer_groups", "head_reduce", "method"}
DEFAULT_CAPTURE = {"layer_groups": {"all": "all"}, "head_reduce": "mean", "method": "hooks"}


class TeacherConfigError(UserError):
    """A teacher setting is invalid. The message says which key to set and to what."""


@dataclass
class TeacherSummary:
    """What one ``run_teacher`` call did."""

    problems: int  # problems assigned to this worker (before skipping done ones)
    processed: int  # traces written by this call, errors included
    skipped_done: int  # already in a finished shard (resume)
    errors: dict[str, int] = field(default_factory=dict)  # error kind -> count
    scored: int = 0  # traces with a gold answer and a CoT to compare it with
    solved: int = 0  # of those, teacher answer == gold
    tokens: int = 0  # prompt + CoT tokens through the capture pass
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0  # process peak resident memory
    peak_cuda_mb: float | None = None  # torch.cuda.max_memory_allocated, when on CUDA

    @property
    def solve_rate(self) -> float | None:
        """solved / scored (meaningful in generate mode; ~1 in dataset mode)."""
        return self.solved / self.scored if self.scored else None

    @property
    def problems_per_s(self) -> float:
        return self.processed / self.wall_s if self.wall_s > 0 else 0.0

    def metrics(self) -> dict[str, float]:
        """Flat numbers for loggers (``errors/<kind>`` per error kind; None values left out)."""
        out = {
            "problems": self.problems, "processed": self.processed, "skipped_done": self.skipped_done,
            "errors": sum(self.errors.values()), "scored": self.scored, "solved": self.solved,
            "solve_rate": self.solve_rate, "tokens": self.tokens, "wall_s": self.wall_s,
            "problems_per_s": self.problems_per_s, "peak_rss_mb": self.peak_rss_mb, "peak_cuda_mb": self.peak_cuda_mb,
        }
        out.update({f"errors/{kind}": n for kind, n in self.errors.items()})
        return {k: v for k, v in out.items() if v is not None}

    def format(self) -> str:
        """A few human-readable lines for the log."""
        rate = f"{self.solve_rate:.1%} ({self.solved}/{self.scored})" if self.solve_rate is not None else "n/a"
        errors = ", ".join(f"{k}: {n}" for k, n in sorted(self.errors.items())) or "none"
        cuda = f", peak CUDA {self.peak_cuda_mb:.0f} MiB" if self.peak_cuda_mb is not None else ""
        return (
            f"problems {self.problems} (new {self.processed}, already done {self.skipped_done}); errors: {errors}\n"
            f"solve rate {rate}; {self.tokens} tokens; {self.wall_s:.1f} s, {self.problems_per_s:.2f} problems/s; "
            f"peak RSS {self.peak_rss_mb:.0f} MiB{cuda}"
        )


def _error_trace(problem: Problem, error: str, cot: str = "", annotations: list | None = None) -> Trace:
    return Trace(
        id=problem.id, text=problem.text, cot=cot, gold_answer=problem.answer, teacher_answer=None, correct=None,
        problem_offsets=np.zeros((0, 2), np.int32), cot_offsets=np.zeros((0, 2), np.int32),
        annotations=annotations or [], level=problem.level, type=problem.type, error=error,
    )


def _input_error(problem: Problem, cot_mode: str) -> str | None:
    """Why ``problem`` cannot be traced at all, or None."""
    if not problem.text.strip():
        return "empty_problem"
    if not problem.answer.strip():
        return "no_gold_answer"
    if cot_mode == "dataset" and not problem.solution.strip():
        return "no_gold_solution"
    return None


def _dataset_cot(problem: Problem) -> tuple[str, list[tuple[int, str]]]:
    """The gold solution as CoT text, plus GSM8K's calculator annotations (char pos, "48/2=24")."""
    if problem.dataset == "gsm8k":
        return clean_gsm8k_solution(problem.solution)
    return problem.solution, []


def _too_long(num_tokens: int, max_length: int | None) -> str | None:
    if max_length is not None and num_tokens > max_length:
        return f"too_long: {num_tokens} tokens > max_length {max_length}"
    return None


def _capture_safely(model, requests: list[CaptureRequest], layer_groups, capture_kwargs, pad_token_id) -> list:
    """Capture the batch; if it fails (e.g. out of memory), retry one by one and record failures."""
    try:
        return capture_signals(model, requests, layer_groups, pad_token_id=pad_token_id, **capture_kwargs)
    except RuntimeError as batch_error:  # OOM and per-sequence failures; config errors (ValueError) propagate
        if len(requests) == 1:
            return [f"capture_failed: {type(batch_error).__name__}: {str(batch_error)[:200]}"]
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return [_capture_safely(model, [r], layer_groups, capture_kwargs, pad_token_id)[0] for r in requests]


def trace_batch(
    problems: list[Problem],
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    *,
    cot: str,
    layer_groups: dict[str, list[int]],
    capture_kwargs: dict,
    max_length: int | None,
    generation: dict,
    system_prompt: str | None,
) -> list[Trace]:
    """Trace one batch of problems; returns one Trace per problem, in order."""
    traces: list[Trace | None] = [None] * len(problems)
    cots: dict[int, tuple[str, list]] = {}  # batch index -> (CoT text, annotations)
    for i, p in enumerate(problems):
        if error := _input_error(p, cot):
            traces[i] = _error_trace(p, error)
        elif cot == "dataset":
            cots[i] = _dataset_cot(p)

    if cot == "generate":
        prompts: dict[int, PromptTokens] = {}
        for i, p in enumerate(problems):
            if traces[i] is not None:
                continue
            try:
                prompts[i] = build_prompt(tokenizer, p.text, "", system_prompt)
            except PromptError as e:
                traces[i] = _error_trace(p, f"prompt_error: {e}")
                continue
            if error := _too_long(prompts[i].cot_start, max_length):
                traces[i] = _error_trace(p, error)
                del prompts[i]
        if prompts:
            texts = generate_cots(model, tokenizer, [t.prompt_ids for t in prompts.values()], **generation)
            cots.update({i: (text, []) for i, text in zip(prompts, texts)})

    # Tokenize prompt + CoT, then one capture forward pass over everything that is left.
    tokens: dict[int, PromptTokens] = {}
    for i, (cot_text, notes) in cots.items():
        p = problems[i]
        try:
            tok = build_prompt(tokenizer, p.text, cot_text, system_prompt)
        except PromptError as e:
            traces[i] = _error_trace(p, f"prompt_error: {e}", cot_text, notes)
            continue
        error = "empty_cot" if tok.cot_start == len(tok.input_ids) else _too_long(len(tok.input_ids), max_length)
        if error:
            traces[i] = _error_trace(p, error, cot_text, notes)
        else:
            tokens[i] = tok
    if tokens:
        requests = [CaptureRequest(t.input_ids, t.problem_positions, t.cot_start) for t in tokens.values()]
        signals = _capture_safely(model, requests, layer_groups, capture_kwargs, tokenizer.pad_token_id or 0)
        for (i, tok), sig in zip(tokens.items(), signals):
            p = problems[i]
            cot_text, notes = cots[i]
            if isinstance(sig, str):  # the capture failed for this sequence
                traces[i] = _error_trace(p, sig, cot_text, notes)
                continue
            teacher_answer, correct = score(cot_text, p.answer)
            traces[i] = Trace(
                id=p.id, text=p.text, cot=cot_text, gold_answer=p.answer,
                teacher_answer=teacher_answer, correct=correct,
                problem_offsets=tok.problem_offsets, cot_offsets=tok.cot_offsets,
                jsd=sig.jsd, attn=sig.attn, annotations=notes,
                level=p.level, type=p.type, num_tokens=len(tok.input_ids),
            )
    return traces  # type: ignore[return-value]  # every slot is filled above


def _checked(name: str, given: Mapping | None, allowed: set[str], defaults: dict) -> dict:
    """Plain-dict copy of a settings mapping (a DictConfig works too), unknown keys rejected."""
    settings = {**defaults, **dict(given or {})}
    unknown = set(settings) - allowed
    if unknown:
        raise TeacherConfigError(f"unknown teacher.{name} keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    return settings


def run_teacher(
    problems: list[Problem],
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    store: TraceStore,
    *,
    cot: str = "dataset",
    batch_size: int = 4,
    shard_size: int = 64,
    max_length: int | None = None,
    system_prompt: str | None = None,
    generation: Mapping | None = None,
    capture: Mapping | None = None,
    progress: bool = True,
) -> TeacherSummary:
    """Trace this worker's share of ``problems`` into ``store``, skipping ones already done.

    The keywords are the teacher config's keys (``conf/teacher/*.yaml`` minus ``name`` and
    ``model``): ``generation`` = {max_new_tokens, do_sample, temperature, top_p} (generate
    mode), ``capture`` = {layer_groups, head_reduce, method}. ``max_length`` bounds prompt +
    CoT tokens; longer problems are recorded with a ``too_long`` error.
    """
    if cot not in COT_MODES:
        raise TeacherConfigError(f"teacher.cot={cot!r}; set it to one of {COT_MODES}")
    if batch_size < 1 or shard_size < 1:
        raise TeacherConfigError(f"teacher.batch_size ({batch_size}) and teacher.shard_size ({shard_size}) must be >= 1")
    generation = _checked("generation", generation, GENERATION_KEYS, {})
    capture_settings = _checked("capture", capture, CAPTURE_KEYS, DEFAULT_CAPTURE)
    if capture_settings["head_reduce"] not in ("mean", "max") or capture_settings["method"] not in ("hooks", "naive"):
        raise TeacherConfigError(
            f"teacher.capture.head_reduce={capture_settings['head_reduce']!r} (mean|max), "
            f"teacher.capture.method={capture_settings['method']!r} (hooks|naive): set valid values"
        )
    # Plain types: the spec may arrive as an OmegaConf node.
    spec = {str(g): v if isinstance(v, str) else [int(i) for i in v] for g, v in dict(capture_settings.pop("layer_groups")).items()}
    try:
        layer_groups = resolve_layer_groups(spec, model.config.num_hidden_layers)
    except ValueError as e:
        raise TeacherConfigError(f"teacher.capture.layer_groups: {e}") from None

    t0 = time.perf_counter()
    mine = [p for i, p in enumerate(problems) if i % store.num_workers == store.worker]
    done = store.done_ids()
    todo, seen = [], set()
    for p in mine:
        if p.id not in done and p.id not in seen:
            todo.append(p)
            seen.add(p.id)
    summary = TeacherSummary(problems=len(mine), processed=0, skipped_done=len(mine) - len(todo))
    errors: Counter[str] = Counter()

    bar = tqdm(total=len(todo), unit="problem", desc=f"teacher {store.worker}/{store.num_workers}", disable=not progress)
    for shard_start in range(0, len(todo), shard_size):
        chunk = todo[shard_start : shard_start + shard_size]
        # Batch similar lengths together (less padding); the shard keeps the problem order.
        order = sorted(range(len(chunk)), key=lambda i: len(chunk[i].text) + (len(chunk[i].solution) if cot == "dataset" else 0))
        shard: list[Trace | None] = [None] * len(chunk)
        for b in range(0, len(order), batch_size):
            index = order[b : b + batch_size]
            traced = trace_batch(
                [chunk[i] for i in index], model, tokenizer, cot=cot, layer_groups=layer_groups,
                capture_kwargs=capture_settings, max_length=max_length, generation=generation, system_prompt=system_prompt,
            )
            for i, trace in zip(index, traced):
                shard[i] = trace
                summary.tokens += trace.num_tokens
                if trace.error:
                    errors[trace.error.split(":")[0]] += 1
                elif trace.correct is not None:
                    summary.scored += 1
                    summary.solved += int(trace.correct)
            bar.update(len(index))
        store.write_shard(shard)  # type: ignore[arg-type]  # every slot is filled
        summary.processed += len(chunk)
    bar.close()

    summary.errors = dict(errors)
    summary.wall_s = time.perf_counter() - t0
    summary.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if torch.cuda.is_available():
        summary.peak_cuda_mb = torch.cuda.max_memory_allocated() / 2**20
    return summary
