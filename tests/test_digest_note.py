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
