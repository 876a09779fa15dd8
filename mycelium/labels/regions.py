"""Regions (design phase 4): a step's scattered highlighted tokens -> one contiguous clause region.

The teacher's IAF (and operand matching) light up scattered problem tokens for each CoT step
("48", "half", "sold"). The segmenter cannot learn scattered tokens, so each highlight is
widened to its enclosing clause (``mycelium.labels.clauses``, from a spaCy dependency parse),
and the clauses of one step are reduced to one contiguous char region ("she sold half as
many clips in May").

Flow:
    parsed = parse(texts, load_spacy())     # mycelium.labels.clauses
    expand_one(parsed[0], spans, weights)   # cheap numpy work per CoT step
    split_for_ops(parsed[0], region, anchors)   # several ops in one clause (open question 4)
    regions_for_ops(parsed[0], ops_spans)   # both, for all ops of a problem

``ClauseConfig`` (in clauses) holds the knobs of both: the clause rules and how regions are
chosen (select, merge_adjacent, max_region_tokens, ignore_punct, multi_op).
Every region is (start_char, end_char) into the original text, end exclusive, never empty.
"""

from __future__ import annotations

import numpy as np

from mycelium.labels.clauses import LEADING_TRIM, ClauseConfig, ParsedText, tokens_of, trim_span

# Punctuation that may separate sub-clauses inside a multi-op clause, strongest first.
SPLIT_PUNCT = {";": 3, ":": 2, ",": 1}


def _clause_mass(
    parsed: ParsedText, char_spans: list[tuple[int, int]], weights: list[float] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per clause hit by the highlights: clause ids, highlighted mass, #spans, has-number."""
    ids, mass, hits, nums = [], [], [], []
    for k, span in enumerate(char_spans):
        toks = tokens_of(parsed, span)
        if parsed.config.ignore_punct:
            toks = toks[parsed.is_content[toks]]
        if len(toks) == 0:
            continue
        w = 1.0 if weights is None else float(weights[k])
        ids.append(parsed.clause[toks])
        mass.append(np.full(len(toks), w / len(toks)))  # a span's weight is shared by its tokens
        hits.append(np.full(len(toks), 1.0 / len(toks)))
        nums.append(parsed.is_num[toks])
    if not ids:
        empty = np.zeros(0)
        return empty.astype(np.int32), empty, empty, empty.astype(bool)
    ids_a, mass_a, hits_a, nums_a = map(np.concatenate, (ids, mass, hits, nums))
    uniq, inv = np.unique(ids_a, return_inverse=True)
    return (
        uniq,
        np.bincount(inv, weights=mass_a, minlength=len(uniq)),
        np.bincount(inv, weights=hits_a, minlength=len(uniq)),
        np.bincount(inv, weights=nums_a.astype(float), minlength=len(uniq)) > 0,
    )


def _only_glue(parsed: ParsedText, a: int, b: int) -> bool:
    """Tokens [a, b) are only what trimming removes: punctuation, coordinators, "then"."""
    return all(
        not parsed.is_content[t] or parsed.deps[t] == "cc" or parsed.words[t] in LEADING_TRIM for t in range(a, b)
    )


def expand(
    parsed: ParsedText,
    char_spans: list[tuple[int, int]],
    weights: list[float] | None = None,
    config: ClauseConfig | None = None,
) -> list[tuple[int, int]]:
    """All regions for one step's highlights, best first.

    Each highlighted span maps to the spaCy tokens it overlaps; each token to its clause;
    clauses that overlap (a nested clause kept inside its parent's hull) or, with
    ``merge_adjacent``, touch (only punctuation/coordinators between them), merge unless the merge exceeds ``max_region_tokens``.
    Regions are ranked by highlighted mass (weights, or 1 per span when None), then by
    whether they hold a number, then by how many spans hit them, then earlier first.
    Returns [] when no span hits a content token.
    """
    config = config or parsed.config
    ids, mass, hits, nums = _clause_mass(parsed, char_spans, weights)
    if len(ids) == 0:
        return []
    # groups in text order: (tok_a, tok_b, mass, hits, has_num)
    tok = parsed.clause_tok[ids]
    order = np.lexsort((tok[:, 1], tok[:, 0]))
    groups: list[list] = []
    for j in order:
        a, b = int(tok[j, 0]), int(tok[j, 1])
        if groups:
            g = groups[-1]
            inside = b <= g[1]  # a nested clause kept within the previous hull: always merge
            touch = a < g[1] or (config.merge_adjacent and _only_glue(parsed, g[1], a))
            if inside or (touch and b - g[0] <= config.max_region_tokens):
                g[1] = max(g[1], b)
                g[2] += mass[j]; g[3] += hits[j]; g[4] |= bool(nums[j])
                continue
        groups.append([a, b, float(mass[j]), float(hits[j]), bool(nums[j])])
    groups.sort(key=lambda g: (-g[2], -g[4], -g[3], g[0]))
    return [(int(parsed.starts[g[0]]), int(parsed.ends[g[1] - 1])) for g in groups]


def expand_one(
    parsed: ParsedText,
    char_spans: list[tuple[int, int]],
    weights: list[float] | None = None,
    config: ClauseConfig | None = None,
) -> tuple[int, int] | None:
    """The one contiguous region for an operation, or None when nothing was highlighted.

    select="mass" (default): the clause group with the most highlighted mass, as in the
    design's example: "48" (clause 1) + "half", "sold" (clause 2) -> "she sold half as many
    clips in May". select="cover": the hull of all hit clauses when it is one sentence and
    at most max_region_tokens long, else the "mass" choice.
    """
    config = config or parsed.config
    regions = expand(parsed, char_spans, weights, config)
    if not regions:
        return None
    if config.select == "cover" and len(regions) > 1:
        s, e = min(r[0] for r in regions), max(r[1] for r in regions)
        toks = tokens_of(parsed, (s, e))
        if len(np.unique(parsed.sent[toks])) == 1 and len(toks) <= config.max_region_tokens:
            return s, e
    return regions[0]


def split_for_ops(
    parsed: ParsedText, region: tuple[int, int], anchors: list[list[tuple[int, int]]]
) -> list[tuple[int, int]]:
    """One sub-region per op inside a region that several ops share (open question 4).

    anchors[k] are op k's anchor char spans (its operand numbers in the text). Ops are
    ordered by their first anchor; between consecutive ops the cut goes at the strongest
    boundary lying between the earlier op's last anchor and the later op's first anchor:
    a coordinator (cc) or the start of a conjunct, then ';', ':', ','. Each piece is trimmed
    ("and bought 12 more" -> "bought 12 more"). Ops whose anchors interleave, with no
    boundary between them, or with no anchors inside the region, get the same piece (the
    whole region when nothing can be split), so pieces never overlap unless shared.
    """
    a_tok = tokens_of(parsed, region)
    if len(a_tok) == 0:
        return [region for _ in anchors]
    ra, rb = int(a_tok[0]), int(a_tok[-1]) + 1
    # each op's anchor tokens inside the region
    spans_tok = []
    for op_anchors in anchors:
        toks = [t for sp in op_anchors for t in tokens_of(parsed, sp) if ra <= t < rb]
        spans_tok.append((min(toks), max(toks)) if toks else None)
    placed = sorted((k for k, st in enumerate(spans_tok) if st is not None), key=lambda k: spans_tok[k])
    # boundary strength of cutting right before token t
    strength = np.zeros(rb - ra + 1)
    for t in range(ra + 1, rb):
        if parsed.deps[t] == "cc":
            strength[t - ra] = 5
        elif parsed.deps[t] == "conj" and parsed.left_edge[t] == t:
            strength[t - ra] = 4
        elif parsed.deps[t] == "punct" and parsed.words[t] in SPLIT_PUNCT:
            strength[t - ra] = SPLIT_PUNCT[parsed.words[t]]
    # groups of ops that share a piece; cut between consecutive groups when possible
    cuts, groups = [], [[placed[0]]] if placed else []
    for prev, k in zip(placed, placed[1:]):
        lo, hi = spans_tok[prev][1] + 1, spans_tok[k][0]  # cut before a token in (lo, hi]
        best, where = 0.0, None
        for t in range(lo, hi + 1):
            if strength[t - ra] > best:
                best, where = strength[t - ra], t
        if where is None:
            groups[-1].append(k)
        else:
            cuts.append(where)
            groups.append([k])
    out = [region for _ in anchors]
    if len(groups) < 2:
        return out
    bounds = [ra] + cuts + [rb]
    for g, (a, b) in zip(groups, zip(bounds, bounds[1:])):
        s, e, ta, _ = trim_span(a, b, parsed.words, parsed.deps, parsed.is_content, parsed.starts, parsed.ends)
        if parsed.deps[ta] in ("cc", "punct") or parsed.words[ta] in LEADING_TRIM or not parsed.is_content[ta]:
            s, e = region  # the piece is only connectives ("and then"): keep the ops together
        for k in g:
            out[k] = (s, e)
    return out


def regions_for_ops(
    parsed: ParsedText,
    ops_spans: list[list[tuple[int, int]]],
    ops_weights: list[list[float] | None] | None = None,
    ops_anchors: list[list[tuple[int, int]]] | None = None,
    config: ClauseConfig | None = None,
) -> list[tuple[int, int] | None]:
    """Regions for all ops of one problem: expand_one per op, then the multi-op strategy.

    Ops whose regions come out identical are split with split_for_ops (multi_op="split",
    anchors default to each op's highlighted number spans); multi_op="share" leaves them
    sharing the region, and the label assembly must then emit one span for several ops.
    """
    config = config or parsed.config
    n_ops = len(ops_spans)
    ops_weights = ops_weights or [None] * n_ops
    regions = [expand_one(parsed, sp, w, config) for sp, w in zip(ops_spans, ops_weights)]
    if config.multi_op == "share":
        return regions
    if ops_anchors is None:
        ops_anchors = [[sp for sp in spans if parsed.is_num[tokens_of(parsed, sp)].any()] for spans in ops_spans]
    by_region: dict[tuple[int, int], list[int]] = {}
    for k, r in enumerate(regions):
        if r is not None:
            by_region.setdefault(r, []).append(k)
    for r, ks in by_region.items():
        if len(ks) > 1:
            pieces = split_for_ops(parsed, r, [ops_anchors[k] for k in ks])
            for k, piece in zip(ks, pieces):
                regions[k] = piece
    return regions
