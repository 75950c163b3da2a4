"""The rules engine's fast scanner against a slow, obviously-correct reference.

The engine finds cues with string methods and set operations; the reference below tokenises
with one regex and tries every cue at every word. On prose (punctuation followed by a space,
as people write) both must find exactly the same cues at the same offsets.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import corpus
from bot.engines.rules import RulesEngine
from bot.playbook import load_playbook
from bot.text import prepare

_TOKEN = re.compile(r"[$€£]?[^\W_](?:[\w'%+&-]*[\w%])?(?:[.,]\d+%?)*")


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine(load_playbook("outside-in"))


def reference_hits(engine: RulesEngine, scan: str) -> set[tuple[int, int, str, str]]:
    m = engine.playbook.model
    classes = {name: re.compile(p) for name, p in m.token_classes.items()}
    cues = [(c, "proposal") for c in m.proposal.cues] + [(c, "not") for c in m.proposal.not_cues]
    cues += [(c, "ease") for c in m.customer_ease.cues] + [(c, "secondary") for c in m.secondary_markers]
    cues += [(c, "motive") for mo in m.motives.values() for c in mo.cues]
    scan = scan.replace("’", "'")
    tokens = list(_TOKEN.finditer(scan))

    def word_ok(pattern: str, token: str) -> bool:
        if pattern in m.word_sets:
            return token in m.word_sets[pattern]
        if pattern.endswith("*"):
            return token.startswith(pattern[:-1])
        if pattern.startswith("<"):
            return any(ch.isdigit() for ch in token) and bool(classes[pattern].match(token))
        return pattern == token

    found = set()
    for i in range(len(tokens)):
        for cue, kind in cues:
            words = cue.phrase.lower().replace("’", "'").split()
            if i + len(words) <= len(tokens) and all(word_ok(w, tokens[i + j].group()) for j, w in enumerate(words)):
                found.add((tokens[i].start(), tokens[i + len(words) - 1].end(), cue.phrase, kind))
    return found


def engine_hits(engine: RulesEngine, scan: str) -> set[tuple[int, int, str, str]]:
    hits, _, _ = engine._find(scan)
    return {(start, end, entry.phrase, entry.kind) for start, end, entry in hits}


def test_same_cues_as_the_reference_on_every_corpus_draft(engine):
    texts = corpus.texts("labelled.jsonl", "holdout.jsonl")
    assert len(texts) > 140
    for text in texts:
        scan = prepare(text).scan
        assert engine_hits(engine, scan) == reference_hits(engine, scan), text


def _vocabulary() -> list[str]:
    m = load_playbook("outside-in").model
    phrases = [c.phrase for c in m.proposal.cues + m.customer_ease.cues + m.secondary_markers]
    phrases += [c.phrase for mo in m.motives.values() for c in mo.cues]
    words = {w.rstrip("*") for p in phrases for w in p.split() if not w.startswith("<")}
    words |= {w for ws in m.word_sets.values() for w in ws[:8]}
    return sorted(words) + ["the", "we", "customers", "15%", "$12", "q3", "2.5%", "e-mail", "we'll", "it's"]


_WORD = st.sampled_from(_vocabulary())
_PUNCT = st.sampled_from(["", "", "", ",", ".", "!", "?", ":", ";", " -", "'"])
_GAP = st.sampled_from([" ", " ", "  ", "\n", "\n- ", " (", ") ", " “", "” ", " <@U123> ", " :tada: ", " `x` "])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_WORD, _PUNCT, _GAP), min_size=1, max_size=40))
def test_same_cues_as_the_reference_on_generated_prose(engine, parts):
    text = "".join(word + punct + gap for word, punct, gap in parts)
    scan = prepare(text).scan
    assert engine_hits(engine, scan) == reference_hits(engine, scan)
