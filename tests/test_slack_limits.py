"""Odd and hostile drafts through Slack's doors: every answer is one Slack takes (tests/block_kit.py, enforced by
FakeSlack as Slack's Web API does), so the person always sees something."""

from __future__ import annotations

import json
import time

import pytest
from block_kit import message_problem, view_problem
from test_slack import RunningApp, channel_message, settings_for

from bot.slack import blocks


@pytest.mark.parametrize("params,error", [
    ({"text": "hi"}, None),
    ({"text": "x" * 40_001}, "msg_too_long"),
    ({}, "no_text"),
    ({"text": "t", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}, "invalid_blocks"),
    ({"text": "t", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]}, "invalid_blocks"),
    ({"text": "t", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
    ({"text": "t", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]}, "invalid_blocks"),
    ({"text": "t", "blocks": [{"type": "actions", "elements": [
        {"type": "button", "action_id": "a", "value": "v" * 2001, "text": {"type": "plain_text", "text": "b"}}]}]},
     "invalid_blocks"),
    ({"text": "t", "blocks": [{"type": "divider", "block_id": "b"}, {"type": "divider", "block_id": "b"}]},
     "invalid_blocks"),
], ids=["fine", "too-long", "empty", "section-3001", "section-empty", "51-blocks", "mrkdwn-header", "value-2001",
        "duplicate-block-id"])
def test_the_slack_stand_in_refuses_what_slack_refuses(params, error):
    assert (message_problem(params) or (None,))[0] == error


def test_the_app_s_own_views_are_ones_slack_takes():
    assert view_problem(blocks.build_draft_modal("C111")) is None
    for action in ("kept-original", "disputed"):
        assert view_problem(blocks.build_reason_modal(7, action)) is None
    assert view_problem({**blocks.build_draft_modal("C1"), "title": {"type": "plain_text", "text": "x" * 25}})


def test_using_a_long_reframe_still_answers(slack, tmp_path):
    """An owner who checks longer drafts (MOTIVECHECK_MAX_CHARS) gets long reframes; *Use this reframing* quoted
    the whole of one, escaped, and a draft full of "&" made that answer over Slack's 40,000 characters: Slack
    refused it (msg_too_long) and the person who pressed the button saw nothing."""
    app = RunningApp(settings_for(slack, tmp_path, MOTIVECHECK_MAX_CHARS="20000"))
    try:
        draft = "We'll upsell accounts to grow ARR " + "R&D&QA " * 3000
        app.event(channel_message(draft.replace("&", "&amp;")))
        assert slack.wait_for(lambda: slack.calls("chat.postMessage"))
        check = app.deps.store.recent_checks(1)[0]
        assert len(check["verdict_json"]) > 10_000
        app.action("mc_accept", check["id"], response_url=slack.response_url("use"), user="U222")
        assert slack.wait_for(lambda: slack.responses or slack.rejected)
        time.sleep(0.2)
        assert slack.rejected == []
        (name, answer), = slack.responses
        assert answer["text"].startswith("Here's the reframing") and answer["text"].endswith("…")
    finally:
        app.stop()


def test_every_hostile_draft_gets_an_answer_slack_takes(slack, tmp_path):
    """The hostile corpus through the slash command and a watched channel: each draft gets a private answer (a
    verdict, or why it was not checked) and each reply is one Slack takes; none is lost."""
    from hostile import HOSTILE

    app = RunningApp(settings_for(slack, tmp_path))
    try:
        typed = [(name, draft) for name, draft in HOSTILE if draft.strip() and name != "surrogate-escape"]
        for i, (name, draft) in enumerate(typed):
            sent = draft.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # as Slack escapes it
            app.command(sent, response_url=slack.response_url(name))
            app.event(channel_message(sent, ts=f"1700000{i:03d}.000100"), f"EvH{i}")
        assert slack.wait_for(lambda: len(slack.responses) + len(slack.rejected) >= len(typed), timeout=30)
        answered = dict(slack.responses)
        assert not slack.rejected and set(answered) == {name for name, _ in typed}
        for name, msg in answered.items():
            assert msg["text"].startswith(("Motive Coach:", "I couldn't check that:")), (name, msg["text"])
    finally:
        app.stop()


@pytest.mark.parametrize("sent", ["&lt;!channel&gt;", "<!channel>", "<!here|here>", "<!subteam^S0ENG|@eng>"],
                         ids=["typed-as-text", "real-channel", "real-here", "user-group"])
def test_the_public_note_never_notifies_a_whole_channel_or_group(slack, tmp_path, sent):
    """The reframe reuses the draft's words, and the draft is kept as written: "<!channel>" typed as text (Slack
    sends it escaped) came back as markup, and the coach's public reply called @channel on its author's behalf (a
    real one in the draft was called a second time, by the coach). The note now names it without notifying."""
    app = RunningApp(settings_for(slack, tmp_path))
    try:
        app.event(channel_message(f"We'll launch Premium Plus so {sent} can upsell accounts to lift ARR 15% this "
                                  "quarter."))
        assert slack.wait_for(lambda: slack.calls("chat.postMessage"))
        (note,) = slack.calls("chat.postMessage")
        public = note["text"] + json.dumps(note["blocks"])
        assert "Premium Plus" in public and "<!" not in public, public
    finally:
        app.stop()
