"""The digest's coaching note comes from the LLM through the same (async) client as checks, else the template."""

from __future__ import annotations

from openai_server import FakeOpenAI, raw, status

from bot.config import load_settings
from bot.digest import Digest
from bot.digest_post import coaching_note


def week() -> Digest:
    return Digest(workspace="T1", week="2026-W47", timezone="UTC", checked=5,
                  shares={"outside-in": 0.4, "mixed": 0.2, "inside-out": 0.4}, motives=[("upsell-crosssell", 2)])


def test_the_note_is_written_by_the_llm_and_falls_back_to_the_template():
    with FakeOpenAI() as server:
        settings = load_settings(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url,
                                      "MOTIVECHECK_MODEL": "test-model"})
        server.script(raw("Open with what gets easier for admins."), status(500))
        assert coaching_note(settings, week()) == ("Open with what gets easier for admins.",
                                                   "written by the LLM (test-model)")
        note, source = coaching_note(settings, week())
        assert source == "template (the LLM did not answer)" and "upsell" in note
    assert coaching_note(load_settings(env={}), week())[1] == "template"


def test_the_llm_is_told_there_is_no_change_when_last_week_had_no_drafts():
    first = Digest(workspace="T1", week="2026-W47", timezone="UTC", checked=6,
                   shares={"outside-in": 1 / 3, "mixed": 1 / 3, "inside-out": 1 / 3})
    with FakeOpenAI() as server:
        settings = load_settings(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url})
        server.script(raw("A fine first week."), raw("Up on last week."))
        coaching_note(settings, first)
        coaching_note(settings, Digest(**{**first.__dict__, "previous_checked": 5,
                                          "previous_shares": {"outside-in": 0.0, "mixed": 0.4, "inside-out": 0.6}}))
        prompts = [r["messages"][0]["content"] for r in server.requests]
    assert "none to report (no proposals last week; do not claim a rise or a fall)" in prompts[0]
    assert "points" not in prompts[0]
    assert "outside-in: 34%, mixed: 33%, inside-out: 33%" in prompts[0]  # the shares as the digest prints them
    assert "change in outside-in share vs last week: +33 points" in prompts[1]


def test_the_llm_is_told_a_first_week_is_the_coachs_first_not_a_week_after_one_of_nothing():
    first = Digest(workspace="T1", week="2026-W47", timezone="UTC", checked=6, first_week="2026-W47",
                   shares={"outside-in": 1 / 3, "mixed": 1 / 3, "inside-out": 1 / 3})
    with FakeOpenAI() as server:
        settings = load_settings(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url})
        server.script(raw("A fine first week."))
        coaching_note(settings, first)
        (prompt,) = [r["messages"][0]["content"] for r in server.requests]
    assert "none to report (the coach's first week, nothing to compare with; do not claim a rise or a fall)" in prompt


def test_the_llm_is_given_counts_not_shares_and_no_change_in_a_week_with_few_drafts():
    """Two drafts this week, one last week: "50% outside-in, up 50 points" is what the LLM wrote from these."""
    few = Digest(workspace="T1", week="2026-W47", timezone="UTC", checked=2, disagreed=1, previous_checked=1,
                 shares={"outside-in": 0.5, "mixed": 0.0, "inside-out": 0.5},
                 previous_shares={"outside-in": 0.0, "mixed": 0.0, "inside-out": 1.0})
    with FakeOpenAI() as server:
        settings = load_settings(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url})
        server.script(raw("Two drafts this week."))
        coaching_note(settings, few)
        (prompt,) = [r["messages"][0]["content"] for r in server.requests]
    assert "verdicts: 1 outside-in, 0 mixed, 1 inside-out (too few proposals for percentages" in prompt
    assert "%" not in prompt and "points" not in prompt
    assert "none to report (too few proposals this week to compare with last week;" in prompt
    assert "verdicts people disagreed with: 1 of 2" in prompt


def test_a_long_note_is_cut_at_a_word_not_inside_one():
    long = "Open with what gets easier for admins, then the business result. " * 12  # ~780 characters
    with FakeOpenAI() as server:
        settings = load_settings(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url})
        server.script(raw(long))
        note, _ = coaching_note(settings, week())
    assert len(note) <= 600 and note.endswith("…") and long.startswith(note[:-1].rstrip())
    assert note[:-1].rstrip().split()[-1] in long.split()  # the last word is whole


def test_the_llm_is_told_the_drafts_that_proposed_nothing_apart_from_the_proposals():
    """33 proposals and 7 messages that proposed nothing: the prompt gave 'proposals checked: 33' alone."""
    d = Digest(**{**week().__dict__, "checked": 33, "not_proposals": 7})
    with FakeOpenAI() as server:
        settings = load_settings(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url})
        server.script(raw("Good week."), raw("Good week."))
        coaching_note(settings, d)
        coaching_note(settings, week())
        prompts = [r["messages"][0]["content"] for r in server.requests]
    assert "- proposals checked: 33\n- other drafts checked that proposed nothing: 7 (in none of the figures" in prompts[0]
    assert "proposed nothing" not in prompts[1]
