"""Offline reframes from the draft's own sentences: no fragments, every goal number kept, benefit first."""

from __future__ import annotations

import re

import pytest

from bot.engines.rules import RulesEngine, wrapped_at
from bot.playbook import load_playbook
from bot.reframe import clean, finish, lower_first, without_span
from bot.text import prepare


@pytest.fixture(scope="module")
def rules() -> RulesEngine:
    return RulesEngine(load_playbook("outside-in"))


def _reframe(rules: RulesEngine, text: str) -> str:
    verdict = rules.assess(prepare(text)).verdict
    assert verdict.label in ("inside-out", "mixed"), (text, verdict.label)
    assert verdict.reframe
    return verdict.reframe


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


CONNECTIVES = _words("As a result, we expect to [What gets easier or nicer for your customers — e.g. … ?]")


@pytest.mark.parametrize("draft", [
    "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter.",
    "Our goal is to grow revenue 20% by Q3 2025. We'll add **one-click refunds** so shoppers don't have to call "
    "support. GOV.UK Notify will send the receipts.",
    "To hit our Q4 bookings target we will simplify checkout so buyers finish faster.",
    "Proposal: launch *Item__ Pro* for enterprise accounts to increase ARR by $2.5M in FY25; sales will get a spiff.",
    "GOV.UK Pay will launch card payments for councils to win 40 new councils and grow revenue by £1.2m in 2026.",
])
def test_no_fragment_no_residue_and_every_goal_number_kept(rules, draft):
    reframe = _reframe(rules, draft)
    assert _words(reframe) <= _words(draft) | CONNECTIVES, reframe
    for residue in ("**", "__", "*", "`", "<", ">"):
        assert residue not in reframe, reframe
    goal_numbers = re.findall(r"[$£€]?\d[\d.,]*%?", draft)
    for number in goal_numbers:
        assert number.rstrip(".,") in reframe, (number, reframe)
    assert "GOV" not in reframe or "GOV.UK" in reframe  # a dotted name is never cut


def test_the_benefit_leads_even_when_the_draft_puts_it_second(rules):
    draft = ("Our goal is to grow revenue 20% next year. We'll add one-click refunds so shoppers don't have "
             "to call support.")
    reframe = _reframe(rules, draft)
    assert reframe.startswith("We'll add one-click refunds so shoppers don't have to call support.")
    assert reframe.index("As a result, our goal is to grow revenue 20% next year") > 0


def test_without_a_benefit_one_bracket_asks_for_it_naming_the_drafts_customer(rules):
    reframe = _reframe(rules, "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter.")
    assert reframe.count("[") == 1 and "existing accounts" in reframe[: reframe.index("]")]
    assert reframe.endswith("As a result, we expect to lift ARR 15% this quarter.")


def test_clean_and_seams():
    assert clean("**Premium** Plus <https://x.io|the page> :rocket: - item") == "Premium Plus the page - item"
    assert clean("## Heading\n- bullet [docs](https://a.b/c)") == "Heading\nbullet docs".replace("\n", " ")
    assert lower_first("We will", frozenset({"we"})) == "we will"
    assert lower_first("GOV.UK will", frozenset({"gov.uk"})) == "GOV.UK will"
    text = "Launch X for teams to increase ARR by $2M; sales get a spiff."
    a = text.index(" to increase")
    b = text.index(";")
    assert without_span(text, (a, b)) == "Launch X for teams; sales get a spiff."


def test_a_hard_wrapped_sentence_is_reframed_whole_and_a_slack_line_stays_a_line(rules):
    """Markdown and RFC text wrap sentences at ~80 columns; the reframe must not stop at the wrap."""
    wrapped = ("We will launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter, so that\n"
               "admins can schedule their weekly exports instead of running them by hand every Monday.")
    reframe = _reframe(rules, wrapped)
    assert "admins can schedule their weekly exports" in reframe
    assert "so that." not in reframe and not reframe.rstrip(". ").endswith("so that")
    assert wrapped_at(wrapped, wrapped.index("\n") + 1)
    for text in ("Proposal: scheduled exports\nWhy: admins export by hand", "## Summary\nscheduled exports",
                 "Ship it.\nthen measure", "Steps\n1. export"):
        assert not wrapped_at(text, text.index("\n") + 1), text


def test_finish_ends_a_lead_in_with_one_full_stop():
    assert finish("our project involves three categories of software:") == \
        "Our project involves three categories of software."
    assert finish("we ship on Monday;  ") == "We ship on Monday."
    assert finish("Is it ready?") == "Is it ready?"
