"""Drafts are never logged, even at DEBUG: slack_sdk's, Bolt's and openai's payload logging is filtered."""

from __future__ import annotations

import logging

from openai_server import FakeOpenAI, answer, verdict_answer
from test_slack import RunningApp, channel_message, settings_for

SECRET_DRAFT = "We'll launch Walrus Platinum to upsell dormant accounts and lift ARR 15% this quarter."


def test_debug_logs_never_carry_draft_text(slack, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    # A real model quotes and paraphrases the draft: the verdict's reframe and evidence carry its words.
    reply = answer(verdict_answer(quote="upsell dormant accounts",
                                  reframe="Walrus Platinum lets dormant accounts schedule exports."))
    with FakeOpenAI(default=reply) as llm:
        app = RunningApp(settings_for(slack, tmp_path, OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=llm.base_url))
        try:
            app.command(SECRET_DRAFT, response_url=slack.response_url("c"))
            app.event(channel_message(SECRET_DRAFT + " (in channel)"), "EvD1")
            assert slack.wait_for(lambda: slack.responses and slack.calls("chat.postMessage"))
        finally:
            app.stop()
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(r.name.startswith("slack_sdk") for r in debug)  # the payload logging did run, filtered
    leaks = [(r.name, r.getMessage()[:120]) for r in caplog.records
             if "Walrus" in r.getMessage() or "dormant" in r.getMessage()]
    assert leaks == []
