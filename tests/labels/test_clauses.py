"""Clause expansion on hand-written sentences, with the real small spaCy model (loaded once)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from mycelium.labels.clauses import LEADING_TRIM, ClauseConfig, ParsedText, clause_of, load_spacy, parse, tokens_of
from mycelium.labels.regions import expand, expand_one, regions_for_ops, split_for_ops

CONF = Path(__file__).resolve().parents[2] / "conf" / "labels" / "default.yaml"

COORD = "She sold 48 clips in April, and then she sold half as many clips in May."
NATALIA = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May?"
)
GAP_VERB = "Her parents gave her $15, and her grandparents twice as much as her parents."
GAP_NOUN = "Tom bought 3 apples and Mary 5."
RELCL_MID = "The store, which sells 12 apples a day, sold 30 pears on Monday."
RELCL_END = "Betty is saving money for a new wallet which costs $100."
QUESTION = "How many clips did Natalia sell altogether?"
TWO_OPS = "She sold 48 clips and bought 12 more."
COMPARATIVE = "She has 3 times as many apples as Tom has."
NP_COORD = "She bought 3 apples and 5 pears."
TEXTS = [COORD, NATALIA, GAP_VERB, GAP_NOUN, RELCL_MID, RELCL_END, QUESTION, TWO_OPS, COMPARATIVE, NP_COORD]


@pytest.fixture(scope="module")
def nlp():
    return load_spacy()


@pytest.fixture(scope="module")
def P(nlp) -> dict[str, ParsedText]:
    return dict(zip(TEXTS, parse(TEXTS, nlp)))


def span(text: str, word: str, nth: int = 0) -> tuple[int, int]:
    """Char span of the nth occurrence of word in text."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(word, i + 1)
    return i, i + len(word)


def tok(p: ParsedText, word: str, nth: int = 0) -> int:
    return int(tokens_of(p, span(p.text, word, nth))[0])


def clause_text(p: ParsedText, word: str, nth: int = 0) -> str:
    s, e = clause_of(p, tok(p, word, nth))
    return p.text[s:e]


def sub(p: ParsedText, region: tuple[int, int] | None) -> str | None:
    return None if region is None else p.text[region[0] : region[1]]


# --- loading and config ---------------------------------------------------------------


def test_load_spacy_cached_without_ner_and_lemmatizer(nlp):
    assert load_spacy() is nlp
    assert "ner" not in nlp.pipe_names and "lemmatizer" not in nlp.pipe_names
    assert "parser" in nlp.pipe_names


def test_load_spacy_unknown_name_raises():
    with pytest.raises(OSError):
        load_spacy("no_such_spacy_model_xyz")


def test_yaml_mirrors_clause_config():
    cfg = OmegaConf.load(CONF)
    assert "spacy_model" in cfg and cfg.spacy_model is None
    assert ClauseConfig(**OmegaConf.to_container(cfg.clauses)) == ClauseConfig()


def test_bad_config_values_raise():
    with pytest.raises(ValueError):
        ClauseConfig(select="biggest")
    with pytest.raises(ValueError):
        ClauseConfig(multi_op="guess")


# --- clause_of ------------------------------------------------------------------------


def test_coordination_splits_conjoined_clauses_and_trims(P):
    p = P[COORD]
    assert clause_text(p, "48") == "She sold 48 clips in April"  # trailing ", and" trimmed
    assert clause_text(p, "half") == "she sold half as many clips in May"  # "and then" / "." trimmed


def test_gapping_verbless_conjunct_is_its_own_clause(P):
    assert clause_text(P[GAP_VERB], "twice") == "her grandparents twice as much as her parents"
    assert clause_text(P[GAP_VERB], "15") == "Her parents gave her $15"
    assert clause_text(P[GAP_NOUN], "5") == "Mary 5"
    assert clause_text(P[GAP_NOUN], "3") == "Tom bought 3 apples"


def test_a_conjunct_verb_gets_back_the_subject_the_parser_hung_on_the_clause_before(nlp):
    text = "Two-thirds of the passengers are women and the rest are men. Jay invited 22 people and Gloria invited 36."
    (p,) = parse([text], nlp)
    assert clause_text(p, "rest") == "the rest are men"
    assert clause_text(p, "women") == "Two-thirds of the passengers are women"
    assert clause_text(p, "Gloria") == "Gloria invited 36"
    assert clause_text(p, "22") == "Jay invited 22 people"
    (off,) = parse([text], nlp, ClauseConfig(conj_subjects=False))  # spaCy's attachment as it is
    assert clause_text(off, "rest") == "Two-thirds of the passengers are women and the rest"


def test_listed_items_opening_with_a_quantity_are_clauses(nlp):
    # audit 29: spaCy hangs "30 minutes riding ..." on "bus" as an apposition, so one region
    # took the wait, the ride and the "half" of the second bus together
    text = ("To get to the library, Jill spends 12 minutes waiting for her first bus, 30 minutes riding on her "
            "first bus, and half the combined wait and trip time on her second bus.")
    (p,) = parse([text], nlp)
    assert clause_text(p, "30") == "30 minutes riding on her first bus"
    assert clause_text(p, "half") == "half the combined wait and trip time on her second bus"
    assert clause_text(p, "waiting") == "waiting for her first bus"
    (off,) = parse([text], nlp, ClauseConfig(list_items=False))
    assert clause_text(off, "30") == clause_text(off, "half")
    # "$" and a number opens an item; a comma after a phrase with no number, or an item too
    # short to state anything, cuts nothing
    text = "She paid $5 for the shirt, $10 for the pants. On Monday, 3 people came. He has 4 cats, 2 dogs."
    (p,) = parse([text], nlp)
    assert clause_text(p, "10") == "$10 for the pants"
    assert clause_text(p, "Monday") == "On Monday, 3 people came"
    assert clause_text(p, "cats") == clause_text(p, "dogs")


def test_relative_clause_is_cut_out_and_kept_contiguous(P):
    p = P[RELCL_MID]
    assert clause_text(p, "12") == "which sells 12 apples a day"
    # the relative clause sits in the middle of its parent: the parent stays one contiguous span
    assert clause_text(p, "30") == "The store, which sells 12 apples a day, sold 30 pears on Monday"
    p = P[RELCL_END]
    assert clause_text(p, "100") == "which costs $100"
    assert clause_text(p, "saving") == "Betty is saving money for a new wallet"  # cut at the edge


def test_token_inside_nested_clause_gets_the_nested_clause(P):
    p = P[RELCL_MID]
    assert clause_text(p, "apples") == "which sells 12 apples a day"
    assert clause_text(p, "store") == clause_text(p, "30")


def test_question_is_one_clause_without_question_mark(P):
    p = P[QUESTION]
    for i in range(len(p)):
        assert p.text[slice(*clause_of(p, i))] == "How many clips did Natalia sell altogether"


def test_comparative_clause_stays_in_parent(P):
    assert clause_text(P[COMPARATIVE], "3") == "She has 3 times as many apples as Tom has"


def test_cut_nested_false_keeps_whole_subtree(nlp):
    (p,) = parse([RELCL_END], nlp, ClauseConfig(cut_nested=False))
    assert clause_text(p, "saving") == "Betty is saving money for a new wallet which costs $100"


def test_clauses_are_per_sentence(P):
    p = P[NATALIA]
    assert clause_text(p, "half") == "she sold half as many clips in May"
    assert clause_text(p, "May", 1) == "How many clips did Natalia sell altogether in April and May"


# --- expand ---------------------------------------------------------------------------


def test_tokens_of_maps_partial_and_empty_spans(P):
    p = P[COORD]
    i48 = tok(p, "48")
    s, _ = span(COORD, "48")
    assert list(tokens_of(p, (s + 1, s + 2))) == [i48]  # inside a token
    assert list(tokens_of(p, (s, s))) == [i48]  # empty span -> token at its start
    assert len(tokens_of(p, span(COORD, "48 clips"))) == 2


MASS = ClauseConfig(select="mass")


def test_design_example_mass_picks_the_clause_with_most_highlights(P):
    p = P[NATALIA]
    spans = [span(p.text, "48"), span(p.text, "half"), span(p.text, "sold", 1)]
    assert sub(p, expand_one(p, spans, config=MASS)) == "she sold half as many clips in May"
    assert expand_one(p, spans) == expand_one(p, spans, config=MASS)  # mass is the default
    # "cover" keeps both operands' clauses when they share a sentence
    assert sub(p, expand_one(p, spans, config=ClauseConfig(select="cover"))).startswith("Natalia sold clips to 48")
    regions = [sub(p, r) for r in expand(p, spans)]
    assert regions == ["she sold half as many clips in May", "Natalia sold clips to 48 of her friends in April"]


def test_weights_decide_between_clauses(P):
    p = P[NATALIA]
    spans = [span(p.text, "48"), span(p.text, "half"), span(p.text, "sold", 1)]
    assert sub(p, expand_one(p, spans, weights=[0.8, 0.1, 0.1], config=MASS)) == "Natalia sold clips to 48 of her friends in April"


def test_number_breaks_mass_ties(P):
    p = P[COORD]
    tie = [span(COORD, "clips", 1), span(COORD, "48")]  # one span per clause: the number's clause wins
    assert sub(p, expand_one(p, tie, config=MASS)) == "She sold 48 clips in April"


def test_overlapping_clauses_merge(P):
    p = P[RELCL_MID]
    regions = expand(p, [span(p.text, "12"), span(p.text, "30")])
    assert [sub(p, r) for r in regions] == ["The store, which sells 12 apples a day, sold 30 pears on Monday"]
    same = expand(p, [span(p.text, "12"), span(p.text, "apples"), span(p.text, "sells")])
    assert [sub(p, r) for r in same] == ["which sells 12 apples a day"]


def test_select_cover_and_merge_adjacent(P):
    p = P[COORD]
    spans = [span(COORD, "48"), span(COORD, "half")]
    whole = "She sold 48 clips in April, and then she sold half as many clips in May"
    assert sub(p, expand_one(p, spans, config=ClauseConfig(select="cover"))) == whole
    assert [sub(p, r) for r in expand(p, spans, config=ClauseConfig(merge_adjacent=True))] == [whole]
    # a cover across sentences is not made
    q = P[NATALIA]
    across = [span(q.text, "48"), span(q.text, "altogether")]
    assert sub(q, expand_one(q, across, config=ClauseConfig(select="cover"))) in {
        "Natalia sold clips to 48 of her friends in April",
        "How many clips did Natalia sell altogether in April and May",
    }


def test_punctuation_and_empty_highlights_give_nothing(P):
    p = P[COORD]
    assert expand(p, []) == [] and expand_one(p, []) is None
    assert expand_one(p, [span(COORD, ","), span(COORD, ".")]) is None  # attention sinks dropped


# --- multi-op -------------------------------------------------------------------------


def test_split_for_ops_two_op_clause(P):
    p = P[TWO_OPS]
    region = (0, len(TWO_OPS) - 1)
    a48, a12 = [span(TWO_OPS, "48")], [span(TWO_OPS, "12")]
    assert [sub(p, r) for r in split_for_ops(p, region, [a48, a12])] == ["She sold 48 clips", "bought 12 more"]
    assert [sub(p, r) for r in split_for_ops(p, region, [a12, a48])] == ["bought 12 more", "She sold 48 clips"]


def test_split_for_ops_coordinated_sentence(P):
    p = P[COORD]
    region = (0, len(COORD) - 1)
    out = split_for_ops(p, region, [[span(COORD, "48")], [span(COORD, "half")]])
    assert [sub(p, r) for r in out] == ["She sold 48 clips in April", "she sold half as many clips in May"]


def test_split_for_ops_shares_when_no_boundary_or_no_anchor(P):
    p = P[COMPARATIVE]
    region = (0, len(COMPARATIVE) - 1)
    same = split_for_ops(p, region, [[span(COMPARATIVE, "3")], [span(COMPARATIVE, "3")]])
    assert same == [region, region]
    q = P[TWO_OPS]
    r = (0, len(TWO_OPS) - 1)
    out = split_for_ops(q, r, [[span(TWO_OPS, "48")], [span(TWO_OPS, "12")], []])
    assert out[2] == r and sub(q, out[0]) == "She sold 48 clips"


def test_regions_for_ops_split_and_share(P):
    p = P[NP_COORD]
    assert clause_text(p, "3") == clause_text(p, "5") == "She bought 3 apples and 5 pears"  # one clause, two ops
    ops = [[span(NP_COORD, "bought"), span(NP_COORD, "3")], [span(NP_COORD, "bought"), span(NP_COORD, "5")]]
    shared = regions_for_ops(p, ops, config=ClauseConfig(multi_op="share"))
    assert [sub(p, r) for r in shared] == ["She bought 3 apples and 5 pears"] * 2
    # default multi_op="split"; anchors default to each op's highlighted numbers
    assert [sub(p, r) for r in regions_for_ops(p, ops)] == ["She bought 3 apples", "5 pears"]
    # ops in different clauses are left alone
    q = P[TWO_OPS]
    apart = regions_for_ops(q, [[span(TWO_OPS, "48")], [span(TWO_OPS, "12")]])
    assert [sub(q, r) for r in apart] == ["She sold 48 clips", "bought 12 more"]


# --- invariants -----------------------------------------------------------------------


def _check_region(p: ParsedText, r: tuple[int, int]) -> None:
    s, e = r
    assert 0 <= s < e <= len(p.text)
    piece = p.text[s:e]
    assert piece == piece.strip()
    assert piece[-1] not in ".,;:?!"
    assert piece.split()[0].lower() not in {"and", "then"}


def test_every_clause_is_trimmed_and_contains_its_token(P):
    for p in P.values():
        for i in range(len(p)):
            _check_region(p, clause_of(p, i))
            if p.is_content[i] and p.deps[i] != "cc" and p.words[i] not in LEADING_TRIM:
                s, e = clause_of(p, i)
                assert s <= p.starts[i] and p.ends[i] <= e


@settings(max_examples=200, deadline=None)
@given(k=st.integers(0, len(TEXTS) - 1), raw=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 12)), max_size=6),
       cover=st.booleans(), adjacent=st.booleans())
def test_regions_contiguous_within_text_property(P, k, raw, cover, adjacent):
    p = P[TEXTS[k]]
    n = len(p.text)
    spans = [(s % n, min(n, s % n + w)) for s, w in raw]
    cfg = ClauseConfig(select="cover" if cover else "mass", merge_adjacent=adjacent)
    regions = expand(p, spans, config=cfg)
    for r in regions:
        _check_region(p, r)
    one = expand_one(p, spans, config=cfg)
    assert (one is None) == (regions == [])
    if one is not None:
        _check_region(p, one)
        hit = [s for s in spans if p.is_content[tokens_of(p, s)].any()]
        pieces = split_for_ops(p, one, [[s] for s in hit])
        assert len(pieces) == len(hit)
        for piece in pieces:
            _check_region(p, piece)
            assert one[0] <= piece[0] and piece[1] <= one[1]


def test_parse_cache_returns_the_same_parse_and_is_reused(tmp_path):
    from mycelium.labels.clauses import load_spacy, parse

    nlp = load_spacy()
    texts = ["Tom has 3 apples and Mary has 5.", "How many apples do they have?"]
    plain = parse(texts, nlp)
    first = parse(texts, nlp, cache=tmp_path)
    (cached,) = list(tmp_path.iterdir())
    second = parse(texts, nlp, cache=tmp_path)
    for a, b, c in zip(plain, first, second):
        for f in ("starts", "heads", "deps", "sent", "clause_spans"):
            assert np.array_equal(getattr(a, f), getattr(b, f)) and np.array_equal(getattr(a, f), getattr(c, f))
    assert list(tmp_path.iterdir()) == [cached]  # same texts: one file, read back
    parse(texts[:1], nlp, cache=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2  # other texts: their own file


def test_percent_sign_stays_in_its_clause(nlp):
    # "%" is punctuation to spaCy; a clause ending "raised 25" would cut the quantity (fragment)
    (p,) = parse(["Apples cost $1.6 per pound. The price got raised 25%. How much is it now?"], nlp)
    assert clause_text(p, "25") == "The price got raised 25%"


def test_a_formula_is_one_token_of_a_math_problem_and_a_price_stays_a_price(nlp):
    text = "Let $h(4x-1) = 2x + 7$.  For what value of $x$ is $h(x) = x$?"
    plain, math = parse([text, text], nlp, math=[False, True])
    formula = span(text, "$h(4x-1) = 2x + 7$")
    assert len(tokens_of(math, formula)) == 1  # one token: no clause starts or ends inside it
    assert len(tokens_of(plain, formula)) > 1
    assert "$h(4x-1) = 2x + 7$" in clause_text(math, "4x-1")
    # GSM8K's "$" is a price, never a formula: with math off (the default) nothing is merged
    prices = "Tom pays $5 for a pen and $3 for a book. How much does he pay?"
    (p,) = parse([prices], nlp)
    assert len(tokens_of(p, span(prices, "$5 for a pen and $"))) > 3
