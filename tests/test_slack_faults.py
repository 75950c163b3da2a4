"""Slack Web API faults and hostile drafts on the Slack path: retried or reported, never a crash."""

from __future__ import annotations

import json
import time

import pytest
from hostile import HOSTILE
from test_slack import PREMIUM, RunningApp, channel_message, settings_for


@pytest.fixture
def running(slack, tmp_path, database):
    app = RunningApp(settings_for(slack, tmp_path, database=database))
    yield app
    app.stop()


def test_rate_limited_post_is_retried_after_retry_after(running, slack):
    slack.fail("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
    started = time.monotonic()
    running.event(channel_message(PREMIUM, ts="5.1"), "Ev51")
    assert slack.wait_for(lambda: len(slack.calls("chat.postMessage")) == 2, timeout=8)
    assert time.monotonic() - started >= 1.0  # waited as Slack asked
    assert slack.wait_for(lambda: running.deps.store.recent_checks(1)[0]["reply_ts"] is not None)


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found"])
def test_delivery_errors_are_reported_to_admins_not_crashed(running, slack, error):
    slack.fail("chat.postMessage", 200, {"ok": False, "error": error})
    running.event(channel_message(PREMIUM, ts="6.1"), "Ev61")
    assert slack.wait_for(lambda: running.deps.store.get_setting("T111", "last_delivery_error"), timeout=5)
    assert error in running.deps.store.get_setting("T111", "last_delivery_error")
    row = running.deps.store.recent_checks(1)[0]
    assert row["status"] == "done" and row["label"] == "inside-out"  # the check itself is kept
    running.event({"type": "app_home_opened", "user": "UADMIN", "channel": "D1", "tab": "home"}, "EvH")
    assert slack.wait_for(lambda: slack.calls("views.publish"))
    assert error in json.dumps(slack.calls("views.publish")[0]["view"])
    # the app keeps working afterwards
    running.event(channel_message(PREMIUM + " again", ts="6.2"), "Ev62")
    assert slack.wait_for(lambda: len(slack.calls("chat.postMessage")) == 2)


def test_server_errors_are_retried_or_reported(running, slack):
    slack.fail("chat.postMessage", 500, {"ok": False, "error": "fatal_error"}, times=5)
    running.event(channel_message(PREMIUM, ts="7.1"), "Ev71")
    assert slack.wait_for(lambda: running.deps.store.get_setting("T111", "last_delivery_error"), timeout=8)
    assert running.deps.store.recent_checks(1)[0]["status"] == "done"


def _sendable(text: str) -> bool:
    try:
        text.encode("utf-8")  # Slack only ever sends valid UTF-8
        return True
    except UnicodeEncodeError:
        return False


SLACK_HOSTILE = [(n, d) for n, d in HOSTILE if _sendable(d)]


def test_hostile_drafts_through_slash_and_channel(running, slack):
    assert len(SLACK_HOSTILE) >= 50
    for i, (name, draft) in enumerate(SLACK_HOSTILE):
        code, _ = running.command(draft or " ", response_url=slack.response_url(f"h{i}"))
        assert code == 200, name
        code, _ = running.event(channel_message(draft, ts=f"8.{i:04d}"), f"EvH{i}")
        assert code == 200, name
    # every slash command gets an answer (a verdict or a clear message); nothing hangs or crashes
    expected = sum(1 for _, d in SLACK_HOSTILE if d.strip())
    assert slack.wait_for(lambda: len(slack.responses) >= expected, timeout=30)
    for _, msg in slack.responses:
        assert msg.get("text")
        for block in msg.get("blocks", []):
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
        assert len(msg.get("blocks", [])) <= 50
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{running.port}/healthz", timeout=5) as resp:
        assert resp.status == 200  # still serving
