"""/motivecheck's grammar: a subcommand only when the whole text fits it, anything longer is a draft and is checked;
channels as Slack sends them with escaping on (and off); an admin command that fails is answered, not dropped.
Real signed requests to Bolt, a local Slack stand-in and a real SQLite file."""

from __future__ import annotations

import json
import logging
import sqlite3
import time

import pytest
from test_slack import PREMIUM, RunningApp, settings_for

from bot.slack.admin import ADMIN_COMMANDS
from bot.slack.command import SUBCOMMANDS, parse_subcommand

ADMIN = "UADMIN"  # an admin on the Slack stand-in (conftest)


@pytest.fixture
def app(slack, tmp_path):
    a = RunningApp(settings_for(slack, tmp_path))
    yield a
    a.stop()


# -- the grammar, pure ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("help", ("help", "")),
    ("  HELP  ", ("help", "")),
    ("Stats", ("stats", "")),
    ("optout", ("optout", "")),
    ("OptIn", ("optin", "")),
    ("retrain", ("retrain", "")),
    ("watch", ("watch", "")),
    ("watch <#C555|ideas>", ("watch", "<#C555|ideas>")),
    ("Unwatch   C555", ("unwatch", "C555")),
    ("mode private <#C1|x>", ("mode", "private <#C1|x>")),
    ("mode threaded #x", ("mode", "threaded #x")),  # malformed but short: the admin hears what's wrong
    ("playbook example-team", ("playbook", "example-team")),
    ("playbook example-team <#C1|x>", ("playbook", "example-team <#C1|x>")),
    ("digest channel\n<#C1|x>", ("digest", "channel <#C1|x>")),
    ("digest", ("digest", "")),
    # Drafts that start with a command word.
    ("Help customers finish setup in one step: we'll add a guided import.", None),
    ("help me", None),
    ("Stats from support show customers wait 3 days for refunds.", None),
    ("Optout emails confuse customers: let's make unsubscribing one click.", None),
    ("optin flows", None),
    ("Retrain the support team so customers get answers on the first call.", None),
    ("Watch this space for news", None),
    ("Mode of payment should be up to the customer", None),
    ("Playbook for Q3: upsell every account", None),
    ("Digest of Q3 plans: we'll launch Premium Plus to upsell existing accounts.", None),
    # Not commands at all.
    ("", None),
    ("   ", None),
    ("proposal: help", None),
    (PREMIUM, None),
])
def test_parse_subcommand(text, expected):
    assert parse_subcommand(text) == expected


def test_the_grammar_names_every_command_the_listener_runs():
    assert set(SUBCOMMANDS) == {"help", "stats", "optout", "optin"} | set(ADMIN_COMMANDS)


# -- over Slack ----------------------------------------------------------------------------------------------------
DRAFTS = {  # each starts with a command word and is a proposal, as people write them
    "help": "Help customers finish setup in one step: we'll add a guided import so nobody re-types their data.",
    "stats": "Stats from support show customers wait 3 days for refunds; let's make refunds instant.",
    "digest": "Digest of Q3 plans: we'll launch Premium Plus to upsell existing accounts and lift ARR 15%.",
    "optout": "Optout emails confuse customers: let's make unsubscribing one click.",
    "retrain": "Retrain the support team so customers get answers on the first call, not the third.",
    "watch": "Watch out: we'll raise prices 20% next month to lift margins before the board meeting.",
}


def test_drafts_that_start_with_a_command_word_are_checked(app, slack):
    for name, draft in DRAFTS.items():
        code, ack = app.command(draft, user=ADMIN, response_url=slack.response_url(name))
        assert code == 200 and "Checking your draft" in ack, name
    assert slack.wait_for(lambda: len(slack.responses) == len(DRAFTS), timeout=15)
    time.sleep(0.3)  # nothing else arrives: no retrain report, no admin answer
    answers = dict(slack.responses)
    assert len(slack.responses) == len(DRAFTS)
    for name in DRAFTS:
        assert answers[name]["text"].startswith("Motive Coach:"), (name, answers[name]["text"][:80])
        assert "Customer ease" in json.dumps(answers[name]["blocks"]), name
    rows = app.deps.store.recent_checks(20)
    assert sorted(r["draft_text"] for r in rows) == sorted(DRAFTS.values())
    assert all(r["source"] == "slash" and r["user"] == ADMIN for r in rows)
    assert not app.deps.store.is_opted_out("T111", ADMIN)  # "Optout emails…" did not opt its author out
    assert app.deps.store.watched_channels("T111") == []


def test_the_commands_themselves_still_run(app, slack):
    assert "/motivecheck watch" in app.command("  HELP ", response_url=slack.response_url("h"))[1]
    assert "opted out" in app.command("Optout", user="U333", response_url=slack.response_url("o"))[1]
    assert app.deps.store.is_opted_out("T111", "U333")
    assert "opted in" in app.command("optin", user="U333", response_url=slack.response_url("i"))[1]
    assert not app.deps.store.is_opted_out("T111", "U333")
    assert app.command("stats", response_url=slack.response_url("s"))[0] == 200
    app.command("Watch <#C555|ideas>", user=ADMIN, response_url=slack.response_url("w"))
    assert slack.wait_for(lambda: app.deps.store.watched_channels("T111"))
    assert app.deps.store.count("checks") == 0


def test_a_short_malformed_admin_command_gets_the_hint_not_a_check(app, slack):
    app.command("mode threaded <#C555|ideas>", user=ADMIN, response_url=slack.response_url("m"))
    assert slack.wait_for(lambda: slack.responses)
    text = slack.responses[0][1]["text"]
    assert text.startswith("I didn't change anything") and "`mode thread` or `mode private`" in text
    assert app.deps.store.count("checks") == 0


def test_proposal_prefix_before_a_command_word_is_judged_as_a_proposal(app, slack):
    assert "Checking" in app.command("proposal: Help customers finish setup in one step with a guided import.",
                                     response_url=slack.response_url("p"))[1]
    assert "Checking" in app.command("Proposal: help", response_url=slack.response_url("q"))[1]
    assert slack.wait_for(lambda: len(slack.responses) == 2)
    rows = app.deps.store.recent_checks(5)
    assert {r["source"] for r in rows} == {"slash-proposal"}
    assert {r["draft_text"] for r in rows} == {"Help customers finish setup in one step with a guided import.",
                                               "help"}


# -- channels and markup as Slack sends them -----------------------------------------------------------------------
@pytest.mark.parametrize("text", ["watch #proposals", "unwatch #proposals", "mode private #proposals",
                                  "playbook example-team #proposals", "digest channel #proposals"])
def test_a_plain_channel_name_says_how_to_turn_escaping_on(app, slack, text):
    app.command(text, user=ADMIN, response_url=slack.response_url("a"))
    assert slack.wait_for(lambda: slack.responses)
    answer = slack.responses[0][1]["text"]
    assert answer.startswith("I didn't change anything")
    assert "I couldn't read `#proposals` as a channel: Slack sent it as plain text" in answer and "Escape channels, users, and links sent to your app" in answer
    assert "should_escape: true" in answer and "channel ID" in answer
    assert "mention it with #" not in answer  # the old advice, which is what the admin had just done
    assert app.deps.store.watched_channels("T111") == [] and app.deps.store.get_setting("T111", "digest_channel") \
        is None


def test_escaped_channels_and_ids_are_read(app, slack):
    app.command("watch <#C555|proposals>", user=ADMIN, response_url=slack.response_url("a"))
    app.command("digest channel <#G777|leadership>", user=ADMIN, response_url=slack.response_url("b"))
    app.command("mode private C888", user=ADMIN, response_url=slack.response_url("c"))
    assert slack.wait_for(lambda: len(slack.responses) == 3)
    modes = {w["channel"]: w["reply_mode"] for w in app.deps.store.watched_channels("T111")}
    assert modes == {"C555": "thread", "C888": "private"}
    assert app.deps.store.get_setting("T111", "digest_channel") == "G777"


def test_a_draft_with_escaped_mentions_and_links_reads_like_the_plain_one(app, slack):
    marked = ("<@U0123ABC|ann> in <#C0456DEF|proposals>: " + PREMIUM
              + " Plan: <https://plans.example.com/q3|the Q3 plan>.")
    plain = "Ann in proposals: " + PREMIUM + " Plan: the Q3 plan."
    app.command(marked, response_url=slack.response_url("m"))
    app.command(plain, response_url=slack.response_url("p"))
    assert slack.wait_for(lambda: len(slack.responses) == 2)
    answers = dict(slack.responses)
    # The same verdict and score: the mention, channel and link target are not read as words.
    assert answers["m"]["blocks"][0] == answers["p"]["blocks"][0]
    rows = {r["draft_text"]: r for r in app.deps.store.recent_checks(5)}
    assert rows[marked]["label"] == rows[plain]["label"] == "inside-out"  # stored as written, markup kept
    shown = json.dumps(answers["m"]["blocks"], ensure_ascii=False)
    # Markup goes back to Slack as markup, never escaped into visible "&lt;@U…"; the evidence is highlighted in place.
    assert "><@U0123ABC|ann> in <#C0456DEF|proposals>: *We'll launch Premium Plus" in shown
    assert "<https://plans.example.com/q3|the Q3 plan>" in shown and "&lt;" not in shown


# -- an admin command that fails -----------------------------------------------------------------------------------
def test_an_admin_command_that_fails_is_answered_kindly(slack, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    app = RunningApp(settings_for(slack, tmp_path))
    try:
        with sqlite3.connect(tmp_path / "slack.db") as db:  # the store breaks for real under the running app
            db.execute("drop table watched_channels")
        code, ack = app.command("watch <#C555|ideas>", user=ADMIN, response_url=slack.response_url("w"))
        assert code == 200 and ack == ""
        assert slack.wait_for(lambda: slack.responses)
        (name, msg), = slack.responses
        assert msg["response_type"] == "ephemeral" and msg["text"].startswith("Sorry — something went wrong")
        assert "may not have changed" in msg["text"] and "try again" in msg["text"] and "its log" in msg["text"]
        # The next command still works: the failure took nothing else down.
        assert "/motivecheck watch" in app.command("help", response_url=slack.response_url("h"))[1]
    finally:
        app.stop()
    (record,) = [r for r in caplog.records if r.name == "bot.slack.admin"]
    assert record.levelno == logging.ERROR and "watch" in record.getMessage()
    assert "OperationalError" in record.getMessage()
    assert "xoxb" not in record.getMessage() and record.exc_info is None  # the type only: nothing it carried


# -- a command gone wrong is answered, not checked -----------------------------------------------------------------
@pytest.mark.parametrize("text,suggested", [
    ("hlep", "help"), ("Stat", "stats"), ("opt out", "optout"), ("opt-in", "optin"), ("settings", None),
    ("retrian", "retrain"), ("wacth <#C555|ideas>", "watch"), ("unwtach #ideas", "unwatch"),
    ("digets channel <#C555|ideas>", "digest"), ("mod private <#C555|ideas>", "mode"),
])
def test_a_misspelt_or_unknown_command_gets_help_not_a_verdict(app, slack, text, suggested):
    """A first-time admin's typo used to be checked as a draft: `hlep` came back inside-out with a reframe."""
    code, ack = app.command(text, user=ADMIN, response_url=slack.response_url("t"))
    assert code == 200 and "isn't a command I know" in ack and "/motivecheck watch" in ack  # the help follows
    assert (f"did you mean `{suggested}`" in ack) if suggested else "did you mean" not in ack
    time.sleep(0.2)
    assert slack.responses == [] and app.deps.store.count("checks") == 0
    assert app.deps.store.watched_channels("T111") == [] and not app.deps.store.is_opted_out("T111", ADMIN)


@pytest.mark.parametrize("text", ["watch <#C555|ideas> <#C556|more>", "unwatch <#C555|a> <#C556|b> <#C557|c>",
                                  "mode private <#C555|a> <#C556|b>", "digest channel <#C555|a> <#C556|b>"])
def test_a_command_given_two_channels_says_one_at_a_time(app, slack, text):
    code, ack = app.command(text, user=ADMIN, response_url=slack.response_url("t"))
    assert code == 200 and "one channel at a time" in ack
    time.sleep(0.2)
    assert slack.responses == [] and app.deps.store.count("checks") == 0 and app.deps.store.watched_channels("T111") == []


@pytest.mark.parametrize("text", ["help me", "optin flows", "Watch this space for news", "Proposal: launch",
                                  "wacth this space: we'll raise prices", PREMIUM, "watch <#C555|a> customers",
                                  "a" * 10_000])
def test_text_that_is_not_a_command_gone_wrong_is_still_a_draft(text):
    from bot.slack.command import command_mistake

    assert command_mistake(text) is None
    for word in ("Launch", "Approved.", "help!", "opt out"):  # one bare word is never a draft worth checking
        assert "isn't a command I know" in command_mistake(word)
