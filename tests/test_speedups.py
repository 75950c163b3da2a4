"""The C accelerator (bot/_speedups.c) against the pure-Python scan it replaces.

Both must give the same hits in the same order, the same weights and counts, the same sentence
ends and so the same verdicts, on the corpus, on hostile drafts and on generated text. Bad
tables raise Python errors, never crash, and repeated scans do not leak.
"""

from __future__ import annotations

import os
import tracemalloc

import corpus
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engines import rules
from bot.engines.rules import RulesEngine
from bot.playbook import load_playbook
from bot.text import prepare

if rules._speedups is None:  # pragma: no cover - only without a compiler
    if os.environ.get("MOTIVECHECK_REQUIRE_SPEEDUPS"):
        pytest.fail("bot._speedups was not built, and MOTIVECHECK_REQUIRE_SPEEDUPS is set", pytrace=False)
    pytest.skip("bot._speedups was not built (no C compiler); the pure-Python scan is in use", allow_module_level=True)

_speedups = rules._speedups


@pytest.fixture(scope="module")
def engines() -> tuple[RulesEngine, RulesEngine]:
    book = load_playbook("outside-in")
    return RulesEngine(book, accelerated=True), RulesEngine(book, accelerated=False)


def _plain(found):
    buckets, totals, n, n_common = found
    return [[(s, e, entry.phrase, entry.kind) for s, e, entry in bucket] for bucket in buckets], totals, n, n_common


def _same(engines, text: str) -> None:
    fast, slow = engines
    scan = prepare(text).scan
    assert _plain(fast._find(scan)) == _plain(slow._find(scan)), text
    assert _speedups.sentence_ends(scan) == rules._sentence_ends_python(scan), text


def _corpus() -> list[str]:
    from hostile import HOSTILE

    texts = corpus.texts("labelled.jsonl", "holdout.jsonl", "holdout2.jsonl", "holdout3.jsonl")
    return texts + [h if isinstance(h, str) else h[1] for h in HOSTILE]


def test_the_engine_uses_the_accelerator_by_default():
    assert RulesEngine(load_playbook("outside-in")).accelerated


def test_same_hits_and_verdicts_on_the_corpus_and_hostile_drafts(engines):
    fast, slow = engines
    texts = _corpus()
    assert len(texts) > 180
    for text in texts:
        _same(engines, text)
        prepared = prepare(text)
        assert fast.assess(prepared).verdict == slow.assess(prepared).verdict, text


def test_edge_connectors_currency_and_spacing(engines):
    for text in ["-foo bar", "'quoted' we should launch", "$ 5 --- x", "a.-b $.a -$5 5$- $1$ $$ €9 £",
                 "we  should   launch\n\nthe board", "launch.", "...", "", " ", "we'll ship it, then upsell."]:
        _same(engines, text)


_ALPHABET = st.sampled_from(list("abcdeilnorstuw ") + list(" .,;:!?-'’$€£%&+*<>@#\n\t\u00a0\u2003İß日本") + ["we ", "the "])
_VOCAB = st.sampled_from(["we", "should", "launch", "the", "board", "customers", "can", "upsell", "as", "a", "result",
                          "15%", "$12", "q3", "arr", "easier", "without", "waiting", "so", "let's", "we'll", "hit",
                          "target", "if", "it", "works", "expect", "fewer", "steps", "revenue", "grow"])
_SEP = st.sampled_from([" ", "  ", ". ", ", ", "\n", " - ", "! ", "? ", "’", "'", ".", "-", " $", "…", "“", ":"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=120).map("".join))
def test_same_on_arbitrary_character_soup(engines, text):
    _same(engines, text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_VOCAB, _SEP), max_size=60))
def test_same_on_generated_cue_dense_prose(engines, parts):
    _same(engines, "".join(word + sep for word, sep in parts))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_same_on_any_unicode(engines, text):
    _same(engines, text)


def test_bad_tables_raise_errors_not_crashes():
    def classes(word):
        return ()

    with pytest.raises(TypeError, match=r"\(cue group or None, bool\)"):
        _speedups.scan("launch it", {}, lambda word: (1, 2), classes)
    with pytest.raises(TypeError, match="cue group"):
        _speedups.scan("launch it", {}, lambda word: ((1, 2), False), classes)
    with pytest.raises(TypeError, match="_Entry"):
        _speedups.scan("launch it", {}, lambda word: (((("not an entry",),), {}, (), ()), False), classes)
    with pytest.raises(ZeroDivisionError):
        _speedups.scan("launch it", {}, lambda word: 1 / 0, classes)
    with pytest.raises(TypeError):
        _speedups.scan(b"bytes", {}, lambda word: (None, False), classes)
    with pytest.raises(TypeError):
        _speedups.sentence_ends(None)
    assert _speedups.scan("", {}, lambda word: None, classes) == (([], [], [], []), (0.0, 0.0, 0.0, 0.0), 0, 0)
    assert _speedups.scan("a b a", {}, lambda word: (None, word == "a"), classes) == (
        ([], [], [], []), (0.0, 0.0, 0.0, 0.0), 3, 2)


def test_repeated_scans_do_not_leak(engines):
    fast, _ = engines
    scans = [prepare(text).scan for text in _corpus()[:40]]
    for scan in scans:  # warm the engine's tables first
        fast._find(scan)
        _speedups.sentence_ends(scan)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(25):
            for scan in scans:
                fast._find(scan)
                _speedups.sentence_ends(scan)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    mine = [tracemalloc.Filter(True, "*"), tracemalloc.Filter(False, tracemalloc.__file__)]
    grown = sum(stat.size_diff for stat in after.filter_traces(mine).compare_to(before.filter_traces(mine), "filename"))
    assert grown < 64 * 1024, f"{grown} bytes kept after 1,000 scans"


def test_sentence_ends_rule():
    assert _speedups.sentence_ends("One. Two!\nThree? end.") == [4, 9, 10, 16, 21]
    assert _speedups.sentence_ends("v1.2 is out") == []
    assert _speedups.sentence_ends("e.g.\u00a0this") == [4]
    assert _speedups.sentence_ends("") == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 80), st.integers(0, 15), st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]),
                          st.sampled_from(["customer-ease", "revenue-profit", "new-product"])), max_size=40),
       st.integers(0, 14))
def test_pick_spans_same_as_python(spans, limit):
    hits = [(start, start + length, rules._Entry(("w",), "ease", None, weight, "w", shows, rules.SCORED))
            for start, length, weight, shows in spans]
    assert _speedups.pick_spans(hits, limit) == rules._pick_spans_python(hits, limit)


def test_pick_spans_keeps_the_heaviest_without_overlaps():
    def hit(start, end, weight, shows="customer-ease"):
        return (start, end, rules._Entry(("w",), "ease", None, weight, "w", shows, rules.SCORED))

    hits = [hit(0, 10, 1.0), hit(5, 8, 3.0, "revenue-profit"), hit(8, 12, 1.0), hit(20, 25, 1.0)]
    assert _speedups.pick_spans(hits, 12) == [(5, 8, "revenue-profit"), (8, 12, "customer-ease"),
                                               (20, 25, "customer-ease")]
    assert _speedups.pick_spans(hits, 1) == [(5, 8, "revenue-profit")]
    with pytest.raises(TypeError):
        _speedups.pick_spans([(0, 1, "not an entry")], 3)
    with pytest.raises(ValueError):
        _speedups.pick_spans([], -1)
