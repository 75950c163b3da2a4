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
    first = Digest(workspace="T1", week="2026-W47", timezone="UTC", checked=3,
                   shares={"outside-in": 1 / 3, "mixed": 1 / 3, "inside-out": 1 / 3})
    with FakeOpenAI() as server:
        settings = load_settings(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url})
        server.script(raw("A fine first week."), raw("Up on last week."))
        coaching_note(settings, first)
        coaching_note(settings, Digest(**{**first.__dict__, "previous_checked": 2,
                                          "previous_shares": {"outside-in": 0.0, "mixed": 0.5, "inside-out": 0.5}}))
        prompts = [r["messages"][0]["content"] for r in server.requests]
    assert "no proposals were checked, so there is no change" in prompts[0] and "points" not in prompts[0]
    assert "outside-in: 34%, mixed: 33%, inside-out: 33%" in prompts[0]  # the shares as the digest prints them
    assert "change in outside-in share vs last week: +33 points" in prompts[1]
