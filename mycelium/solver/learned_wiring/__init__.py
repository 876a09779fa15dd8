"""A learned DAG builder: which span's op runs next, and which operands feed it.

``wire`` (the heuristics) executes spans in text order and takes operands by a fixed
preference. Measured on validated labels, that rebuilds the gold answer from *gold* spans and
ops for only ~20% of GSM8K problems: the CoT's order is not text order (the question's
clause often states the first op; "She sold half as many" comes after the 48 it halves), and
which number or result feeds an op depends on words, distances and values. This module learns
both from the validated label DAGs, which hold every step's span, op and args.

Decoding is sequential. The state is the steps built so far. At each step:

1. **item**: the next op to run, among the first not-yet-run op of every span (a span's own
   ops keep their listed order, as the classifier's "MUL+ADD" states them). An MLP scores each
   eligible item from its op, position, question-ness, keywords, unused numbers in its span,
   dangling results; softmax over the eligible items.
2. **operands**: every candidate (each number written in the problem, with the parts of a
   written fraction "3/5"; each implicit constant inside the span, "half" = 2; each earlier
   result) gets a feature row (kind, char distance to the span, used/consumed counts, steps
   back, value magnitude and rank, cue words after it, the op). An MLP gives each candidate a
   first-operand and a second-operand score; a pair MLP adds a score for the ordered pair from
   what ``op(a, b)`` would give (positive? integer? a fraction?) and the two kinds. Softmax over
   all ordered pairs. ADD/MUL take further operands whose "extra" sigmoid is above 1/2 (20% of
   GSM8K problems have a 3+ operand step, "12+24+5").
3. beam search over (item, pair) with the summed log-probabilities; a finished wiring loses
   ``DANGLING_PENALTY`` per result nobody consumed but the last (validated DAGs have none) and
   ``FAIL_PENALTY`` per step that fails to execute, and optionally ``implausible_penalty`` when
   its answer is negative or fractional (a prior for word problems: GSM8K's answers are whole).
4. op choice (``wire_learned_topk``): a span may come with several candidate op labels (the
   classifier's top-k with log-probs); its label is chosen when its first op runs, each label an
   item of its own scored by the models with that label's ops plus ``op_weight`` x its log-prob
   relative to the span's best label. ``wire_learned`` is the case of one label per span.

The answer is the last step's value, as for ``wire``. Training is teacher-forced on the labels'
own step order (cross-entropy over items and over pairs, binary for extras).

    python -m mycelium.solver.learned_wiring fit artifacts/labels/gsm8k-train/smollm2_135m-dataset/default --out /tmp/wiring

trains on the students' ``train`` split (``mycelium.data.splits.split_of``), saves the
model (``config.json`` + ``model.safetensors``) and prints heuristics vs learned on the held-out
``test`` (and ``val``) problems. ``Solver`` uses a model saved in ``<students>/wiring_mlp/`` when no
wiring student (``train.py model=wiring``, ``<students>/wiring/``) is there. ``--test-fold k``
trains on the other MAWPS folds and tests fold ``k``.

Measured (SmolLM2-dataset labels of GSM8K train, ``default/``: 1,392 validated of 2,000; gold
spans and ops, text order, answer = last step): on the 144 held-out val+test problems learned
0.292 vs heuristic chain 0.146 (chain in the labels' own CoT order: 0.215); 3-fold
cross-validation over all 1,392: learned 0.288, chain 0.143, chain in CoT order 0.203. Fitting
takes ~15 s on 2 CPU cores, decoding ~20 ms a problem (beam 8). E2E on GSM8K test (first 300,
``students/default``): 0.010 with chain, 0.027 with the learned wiring. Later, with the snapped
spans of ``mycelium.solver.spans``: 0.047 with the classifier's argmax ops, 0.060 choosing among
its top-3 (``op_weight`` 0.5), 0.070 adding ``implausible_penalty`` 3 (MAWPS test, first 300:
0.117, 0.127, 0.120: 15% of its answers are fractional or negative, so there the prior is off).
"""
