"""What an admin is told by /motivecheck is what the app then does: a command that starts watching a channel says so,
and a channel MOTIVECHECK_WATCH_CHANNELS names is never reported as unwatched while replies go on there.
Real signed requests to Bolt, the local Slack stand-in and a real database."""

from __future__ import annotations

import json

import pytest
from test_slack import PREMIUM, RunningApp, channel_message, settings_for
from test_surface import fixture

ADMIN = "UADMIN"  # an admin on the Slack stand-in (conftest)


@pytest.fixture
def app(slack, tmp_path, database):
    a = RunningApp(settings_for(slack, tmp_path, database=database))  # MOTIVECHECK_WATCH_CHANNELS=C111
    yield a
    a.stop()


def admin_says(app: RunningApp, slack, text: str, name: str, channel: str = "C999") -> str:
    app.command(text, user=ADMIN, channel=channel, response_url=slack.response_url(name))
    assert slack.wait_for(lambda: any(n == name for n, _ in slack.responses))
    return next(m for n, m in slack.responses if n == name)["text"]


def replied_in(app: RunningApp, slack, channel: str, ts: str) -> bool:
    app.event({**channel_message(PREMIUM, ts=ts), "channel": channel}, event_id=f"Ev{channel}{ts}")
    return slack.wait_for(lambda: any(p.get("thread_ts") == ts for p in slack.calls("chat.postMessage")), timeout=3)


@pytest.mark.parametrize("command", ["mode thread <#C555|ideas>", "playbook example-team <#C555|ideas>"])
def test_setting_an_unwatched_channels_option_says_that_it_is_watched_now(app, slack, command):
    """After `unwatch`, a mode or playbook change watches the channel again: the admin must hear that, since the
    coach then answers every new draft there in public."""
    admin_says(app, slack, "watch <#C555|ideas>", "w")
    assert "Stopped watching <#C555>" in admin_says(app, slack, "unwatch <#C555|ideas>", "u")
    answer = admin_says(app, slack, command, "o")
    assert "I'm watching <#C555> now" in answer and "`/motivecheck unwatch <#C555>`" in answer
    assert replied_in(app, slack, "C555", "1700000200.000100")  # what the answer said: it is watched


def test_an_option_on_a_watched_channel_says_nothing_about_watching(app, slack):
    admin_says(app, slack, "watch <#C555|ideas>", "w")
    answer = admin_says(app, slack, "mode private <#C555|ideas>", "m")
    assert answer == "Replies in <#C555> will be private to the author."
    first = admin_says(app, slack, "mode thread <#C556|new>", "n")
    assert "I'm watching <#C556> now" in first


def test_unwatching_a_channel_the_environment_watches_says_it_stays_watched(app, slack):
    answer = admin_says(app, slack, "unwatch <#C111|proposals>", "u1")
    assert "wasn't watched" not in answer and "Stopped" not in answer
    assert "stays watched" in answer and "MOTIVECHECK_WATCH_CHANNELS" in answer
    assert replied_in(app, slack, "C111", "1700000300.000100")  # and so it is
    # Its own options (set here) go back to the defaults; it is still watched.
    admin_says(app, slack, "mode private <#C111|proposals>", "m")
    assert app.deps.store.channel_settings("T111", "C111")["reply_mode"] == "private"
    answer = admin_says(app, slack, "unwatch <#C111|proposals>", "u2")
    assert "stays watched" in answer and "back to" in answer
    assert app.deps.store.channel_settings("T111", "C111") is None


@pytest.mark.parametrize("command", ["watch", "mode private", "playbook example-team", "unwatch"])
def test_a_channel_command_typed_in_a_direct_message_asks_which_channel(app, slack, command):
    """In a DM Slack sends the DM's id as the channel: watching it would report success and do nothing."""
    answer = admin_says(app, slack, command, "d", channel="D0123ABCD")
    assert answer.startswith("I didn't change anything") and "direct message" in answer
    assert app.deps.store.watched_channels("T111") == []


def test_app_home_lists_a_channel_the_environment_watches_once_with_its_options(app, slack):
    """C111 is named by MOTIVECHECK_WATCH_CHANNELS; once an admin sets its mode it was listed twice on App Home."""
    admin_says(app, slack, "mode private <#C111|proposals>", "m")
    admin_says(app, slack, "watch <#C555|ideas>", "w")
    body = fixture("event_app_home_opened_home_tab.slack_docs.json")
    body["team_id"], body["event"]["user"] = "T111", ADMIN
    assert app.post(json.dumps(body), "application/json")[0] == 200
    assert slack.wait_for(lambda: slack.calls("views.publish"))
    shown = json.dumps(slack.calls("views.publish")[0]["view"])
    assert shown.count("<#C111>") == 1 and "<#C111> (private, from MOTIVECHECK_WATCH_CHANNELS)" in shown
    assert "<#C555> (thread)" in shown


@pytest.mark.parametrize("typed", ["GENERAL", "CUSTOMERS"])
def test_a_channel_name_in_capitals_is_not_taken_for_an_id(app, slack, typed):
    """`watch GENERAL` fitted the ID pattern: it answered "Watching <#GENERAL>", which watches nothing."""
    answer = admin_says(app, slack, f"watch {typed}", "g")
    assert f"couldn't read `{typed}` as a channel" in answer
    assert app.deps.store.watched_channels("T111") == []
    assert "Watching <#C0123ABCD>" in admin_says(app, slack, "watch C0123ABCD", "i")
