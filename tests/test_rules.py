"""The rules engine: labels, evidence offsets, reframes, language notes, speed sanity."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import corpus
from bot.engines.rules import RulesEngine, clause_edges, sentence_ends
from bot.playbook import load_playbook
from bot.text import prepare


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine(load_playbook("outside-in"))


def assess(engine: RulesEngine, text: str):
    return engine.assess(prepare(text)).verdict


LABELLED = [
    ("We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter.", "inside-out"),
    ("I think we should merge the new parser and tag the beta on Friday", "inside-out"),
    ("We will cut support costs by 20% by moving tier-1 tickets to a chatbot.", "inside-out"),
    ("To hit our Q4 bookings target we will simplify checkout so buyers finish faster.", "mixed"),
    ("New teams tell us setup takes two days because they import contacts by hand. Let's add one-click import "
     "so they can send their first campaign within an hour. If it works, we expect conversion to rise as a "
     "result.", "outside-in"),
    ("Customers keep telling us they can't find their invoices. Let's put a clear Billing link on the home "
     "page so they don't have to contact support. Revenue should follow over time.", "outside-in"),
    ("anyone up for lunch at 12:30?", "not-a-proposal"),
    ("thanks for the ARR update, great work everyone!", "not-a-proposal"),
    ("Checkout is broken for EU users since 10am, getting 500s", "not-a-proposal"),
    ("Does anyone know where the Q3 revenue dashboard lives?", "not-a-proposal"),
]


@pytest.mark.parametrize("text,label", LABELLED)
def test_labels(engine, text, label):
    assert assess(engine, text).label == label


def test_premium_plus_reframe_leads_with_customer_and_keeps_goal_secondary(engine):
    v = assess(engine, LABELLED[0][0])
    assert {"upsell-crosssell", "revenue-profit"} <= set(v.motives)
    r = v.reframe
    # The draft states no benefit: one bracket asks for it, naming the customer the draft names.
    assert r.startswith("[What gets easier or nicer for existing accounts")
    assert "existing accounts" in r and "15%" in r
    assert r.index("existing accounts") < r.index("15%")  # customer first, goal after
    assert "[" in r and "]" in r  # what only the author knows is marked, not invented
    assert "love" not in r.lower()
    assert 1 <= len(v.questions) <= 3 and 1 <= len(v.measures) <= 2


def test_reframes_use_what_the_draft_is_about(engine):
    a = assess(engine, "Let's roll out Smart Routing to enterprise customers to win market share from Acme.")
    b = assess(engine, "We will launch Ledger Sync for small business accounts to grow MRR 10% by June.")
    assert "Smart Routing" in a.reframe and "enterprise customers" in a.reframe
    assert "Ledger Sync" in b.reframe and "small business accounts" in b.reframe and "10%" in b.reframe


def test_outside_in_and_chat_have_no_reframe(engine):
    assert assess(engine, LABELLED[5][0]).reframe is None
    chat = assess(engine, LABELLED[6][0])
    assert chat.reframe is None and chat.evidence == [] and chat.motives == []


@pytest.mark.parametrize("text", [
    "<@U024BE7LH> :rocket: We'll launch <https://x.example/p|Premium Plus> to upsell accounts and lift ARR 15%",
    "• We will upsell\n• ```revenue = 1``` cut costs 10% and hit our quota :moneybag:",
    "Wir starten Premium Plus, um den Umsatz um 15 % zu steigern. We will upsell.",
])
def test_evidence_offsets_point_into_the_draft(engine, text):
    v = assess(engine, text)
    assert v.evidence
    for e in v.evidence:
        assert text[e.start:e.end] == e.quote
        assert "U024BE7LH" not in e.quote and "rocket" not in e.quote and "revenue = 1" not in e.quote


def test_non_english_is_noted(engine):
    v = assess(engine, "Lanzaremos Premium Plus para aumentar los ingresos un quince por ciento este trimestre.")
    assert any("reads English" in n for n in v.notes)
    english = assess(engine, LABELLED[0][0])
    assert not any("reads English" in n for n in english.notes)


def test_long_drafts_say_they_were_cut(engine):
    v = engine.assess(prepare("We will grow revenue. " * 1000, max_chars=2000)).verdict
    assert any("only the first" in n for n in v.notes)


def test_team_playbook_adds_vocabulary():
    team = RulesEngine(load_playbook("example-team"))
    base = RulesEngine(load_playbook("outside-in"))
    text = "We should raise the take rate on small merchants next quarter."
    assert "revenue-profit" in team.assess(prepare(text)).verdict.motives
    assert "revenue-profit" not in base.assess(prepare(text)).verdict.motives


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_never_crashes_and_offsets_valid(engine, text):
    prepared = prepare(text)
    v = engine.assess(prepared).verdict
    assert 0 <= v.customer_ease <= 100
    for e in v.evidence:
        assert prepared.draft[e.start:e.end] == e.quote


def test_an_explicit_check_dismisses_only_past_the_playbooks_margin(engine, tmp_path):
    """An explicit check (the default) says not-a-proposal only when chat cues outweigh proposal cues by
    ``scoring.explicit_dismiss_margin``; a watched channel keeps the proposal gate. The margin is playbook data."""
    request = "Side request: can we add a short changelog entry for the token rename before Friday's release?"
    assert engine.assess(prepare(request), mode="channel").verdict.label == "not-a-proposal"
    assert assess(engine, request).label != "not-a-proposal"
    question = "Is the build broken for anyone else?"
    assert assess(engine, question).label == "not-a-proposal"
    assert engine.assess(prepare(question), mode="proposal").verdict.label != "not-a-proposal"  # the author says so
    strict = tmp_path / "strict.yaml"
    strict.write_text("name: strict\nversion: 1\nextends: outside-in\nscoring:\n  explicit_dismiss_margin: 99\n")
    assert assess(RulesEngine(load_playbook(str(strict))), question).label != "not-a-proposal"


def test_quality_gate_on_the_labelled_set():
    """macro-F1 on tests/data/labelled.jsonl stays at or above 0.85 (the issue's target)."""
    from bot.evaluation import evaluate

    engine = RulesEngine(load_playbook("outside-in"))
    rows = corpus.rows("labelled.jsonl")
    assert len(rows) >= 120 and {r["label"] for r in rows} == {"outside-in", "inside-out", "mixed", "not-a-proposal"}
    metrics = evaluate((r["label"], engine.assess(prepare(r["text"])).verdict.label) for r in rows)
    assert metrics["macro_f1"] >= 0.85, metrics["per_label"]


# What clause_edges and sentence_ends find (with str.find, for speed), as the regexes they replace read it.
CLAUSE_EDGE = re.compile(r"[.;:!?,()\n\u2014]|\s{2,}")
SENTENCE_END = re.compile(r"[.!?](?=\s|\Z)|\n")
WHITESPACE = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"ab.;:!?,()\n\u2014-", *"ab   \n" * 4]), max_size=40)
       | st.text(alphabet=st.sampled_from([*"ab.;:!?,()\n\u2014-", *"ab   \n" * 4, *WHITESPACE]), max_size=40))
def test_clause_edges_and_sentence_ends_match_their_regexes(text):
    assert clause_edges(text) == [m.span() for m in CLAUSE_EDGE.finditer(text)]
    assert sentence_ends(text) == [m.end() for m in SENTENCE_END.finditer(text)]


def test_clause_edges_know_every_whitespace_character():
    for c in WHITESPACE:
        for text in (f"a{c}{c}b", f"a {c}b", f"a{c} b", f"a.{c}b", f"a{c}\n b", f"x  y{c}"):
            assert clause_edges(text) == [m.span() for m in CLAUSE_EDGE.finditer(text)], repr(text)
