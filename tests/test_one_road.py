"""One road for every draft: the slash command, the modal, edits, the workflow step, recovery and import all
honour opt-outs, [no-coach] and the channel's playbook; buttons act only for the check's author (or an admin)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest
from test_data import cli
from test_slack import PREMIUM, RunningApp, settings_for
from test_slack_paths import BOSS, PAYMENTS_DRAFT, TEAM, admin, edit_of, message_in

from bot.intake import Draft
from bot.slack.listeners import NOT_YOURS
from bot.slack.recovery import recover_pending
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def running(slack, tmp_path):
    app = RunningApp(settings_for(slack, tmp_path, MOTIVECHECK_ADMINS=BOSS))
    yield app
    app.stop()


def modal(running: RunningApp, text: str, channel: str) -> int:
    values = {"draft": {"text": {"type": "plain_text_input", "value": text}}}
    return running.submit_view("mc_draft_modal", values, channel)[0]


def test_the_modal_honours_opt_out(running, slack):
    running.command("optout", user="U111", response_url=slack.response_url("o"))
    assert modal(running, PREMIUM, "C111") == 200
    assert slack.wait_for(lambda: slack.calls("chat.postEphemeral"))
    (note,) = slack.calls("chat.postEphemeral")
    assert "opted out" in note["text"] and note["user"] == "U111"
    assert running.deps.store.count("checks") == 0


def test_the_modal_uses_the_channels_playbook(running, slack):
    admin(running, slack, "playbook example-team <#C333|payments>", "p")
    assert modal(running, PAYMENTS_DRAFT, "C333") == 200
    assert slack.wait_for(lambda: slack.calls("chat.postEphemeral"))
    (row,) = running.deps.store.recent_checks(5)
    assert row["playbook"] == "example-team" and row["status"] == "done"


def test_an_edit_by_someone_who_opted_out_is_not_checked(running, slack):
    draft_ts = "1700000500.000100"
    running.event(message_in("C111", PREMIUM, draft_ts), "EvR1")
    assert slack.wait_for(lambda: (running.deps.store.recent_checks(1) or [{}])[0].get("reply_ts"))
    before = running.deps.store.recent_checks(1)[0]
    running.command("optout", user="U222", response_url=slack.response_url("o"))
    running.event(edit_of("C111", draft_ts, PREMIUM + " Also: customers get faster exports.", "1700000501.0"), "EvR2")
    time.sleep(0.5)
    assert slack.calls("chat.update") == []
    after = running.deps.store.get_check(before["id"])
    assert after["draft_text"] == PREMIUM and after["verdict_json"] == before["verdict_json"]


def test_an_edit_uses_the_channels_playbook(running, slack):
    admin(running, slack, "playbook example-team <#C333|payments>", "p")
    draft_ts = "1700000510.000100"
    running.event(message_in("C333", PREMIUM, draft_ts), "EvR3")
    assert slack.wait_for(lambda: (running.deps.store.find_check_by_message(TEAM, "C333", draft_ts) or {}).get(
        "reply_ts"))
    running.event(edit_of("C333", draft_ts, PAYMENTS_DRAFT, "1700000511.0"), "EvR4")
    assert slack.wait_for(lambda: slack.calls("chat.update"))
    row = running.deps.store.find_check_by_message(TEAM, "C333", draft_ts)
    assert row["playbook"] == "example-team" and row["draft_text"] == PAYMENTS_DRAFT


# -- buttons: author or admin only -------------------------------------------------------------------
def own_check(running, slack) -> int:
    running.command(PREMIUM, user="U111", response_url=slack.response_url("mine"))
    assert slack.wait_for(lambda: any(n == "mine" for n, _ in slack.responses))
    msg = next(m for n, m in slack.responses if n == "mine")
    return int([b for b in msg["blocks"] if b["type"] == "actions"][0]["elements"][0]["value"])


@pytest.mark.parametrize("action_id", ["mc_why", "mc_share", "mc_accept", "mc_keep", "mc_disagree"])
def test_someone_elses_buttons_get_a_polite_refusal_and_change_nothing(running, slack, action_id):
    check_id = own_check(running, slack)
    assert running.action(action_id, check_id, response_url=slack.response_url("x"), user="U999")[0] == 200
    assert slack.wait_for(lambda: any(n == "x" for n, _ in slack.responses))
    answer = next(m for n, m in slack.responses if n == "x")
    assert answer["text"] == NOT_YOURS and answer["response_type"] == "ephemeral"
    time.sleep(0.2)
    assert running.deps.store.decisions_for(check_id) == []
    assert slack.calls("chat.postMessage") == [] and slack.calls("views.open") == []


def test_an_admin_may_use_the_buttons(running, slack):
    check_id = own_check(running, slack)
    running.action("mc_why", check_id, response_url=slack.response_url("w"), user=BOSS)
    assert slack.wait_for(lambda: any(n == "w" for n, _ in slack.responses))
    assert next(m for n, m in slack.responses if n == "w")["text"] != NOT_YOURS


@pytest.mark.parametrize("value", ["0", "-3", "99999", "abc"])
def test_forged_check_ids_are_refused(running, slack, value):
    assert _forged(running, slack, value)[0] == 200
    assert slack.wait_for(lambda: any(n == "f" for n, _ in slack.responses))
    assert "no longer available" in next(m for n, m in slack.responses if n == "f")["text"]


def _forged(running, slack, value: str) -> tuple[int, str]:
    from urllib.parse import urlencode

    payload = {"type": "block_actions", "user": {"id": "U111"}, "team": {"id": "T111"}, "api_app_id": "A111",
               "trigger_id": "1.2", "response_url": slack.response_url("f"), "container": {"type": "message"},
               "channel": {"id": "C111"}, "actions": [{"action_id": "mc_why", "block_id": "b", "value": value,
                                                       "type": "button", "action_ts": str(time.time())}]}
    return running.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def test_a_reason_can_only_be_attached_to_your_own_decision(running, slack):
    check_id = own_check(running, slack)
    decision_id = running.deps.store.record_decision(check_id, "disputed", user="U999")
    values = {"reason": {"text": {"type": "plain_text_input", "value": "not mine to give"}}}
    assert running.submit_view("mc_reason_modal", values, str(decision_id))[0] == 200  # submitted by U111
    time.sleep(0.3)
    assert running.deps.store.decisions_for(check_id)[0]["reason"] is None


# -- admin commands ----------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["watch #proposals", "unwatch proposals", "mode private #nope",
                                     "playbook example-team general", "digest channel <@U111>"])
def test_an_unreadable_channel_is_refused_not_replaced_by_this_one(running, slack, command):
    answer = admin(running, slack, command, "a")
    assert answer.startswith("I didn't change anything") and "couldn't read" in answer
    assert running.deps.store.watched_channels(TEAM) == []
    assert running.deps.store.get_setting(TEAM, "digest_channel") is None


# -- recovery ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("store_text", ["on", "off"])
def test_recovery_finishes_pending_checks_on_the_same_road(slack, tmp_path, store_text):
    settings = settings_for(slack, tmp_path, MOTIVECHECK_STORE_TEXT=store_text)
    crashed = Store(settings.db_path, store_text=settings.store_text)  # the process that crashed
    crashed.set_channel_option(TEAM, "C333", playbook="example-team")
    crashed.set_optout(TEAM, "U777", True)  # opted out after sending, before the restart
    slash, channel, gone = crashed.record_pending([
        {"draft": PREMIUM, "source": "slash", "workspace": TEAM, "channel": "C111", "user": "U111"},
        {"draft": PAYMENTS_DRAFT, "source": "channel", "workspace": TEAM, "channel": "C333", "user": "U222",
         "message_ts": "1700000600.000100", "reply_mode": "thread"},
        {"draft": PREMIUM + " Walrus", "source": "slash", "workspace": TEAM, "channel": "C111", "user": "U777"}])
    app = RunningApp(settings)
    try:
        n = asyncio.run_coroutine_threadsafe(recover_pending(app.deps), app.loop).result(20)
    finally:
        app.stop()
    assert n == 3
    store = Store(settings.db_path)
    assert store.get_check(slash)["status"] == "done" and store.get_check(channel)["status"] == "done"
    assert store.get_check(channel)["playbook"] == "example-team"  # the channel's playbook, as on the first try
    assert store.get_check(gone)["status"] == "failed" and store.get_check(gone)["label"] is None
    dms = [c for c in slack.calls("chat.postMessage") if c["channel"] == "U111"]
    assert len(dms) == 1 and "inside-out" in dms[0]["text"]
    assert not [c for c in slack.calls("chat.postMessage") if c["channel"] == "U777"]
    texts = [store.get_check(i)["draft_text"] for i in (slash, channel, gone)]
    # The opted-out author's draft is erased whatever the setting ("your messages won't be checked or stored"): it
    # kept its text when texts are stored.
    assert texts == ([PREMIUM, PAYMENTS_DRAFT, None] if store_text == "on" else [None, None, None])
    on_disk = b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))
    assert b"Walrus" not in on_disk  # nor in the write-ahead log


# -- import --------------------------------------------------------------------------------------------
def test_import_skips_no_coach_and_opted_out_messages(tmp_path):
    export = tmp_path / "export"
    (export / "general").mkdir(parents=True)
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (export / "general" / "2026-11-16.json").write_text(json.dumps([
        {"type": "message", "user": "U1", "text": PREMIUM, "ts": "1794823200.000100"},
        {"type": "message", "user": "U2", "text": "[no-coach] " + PREMIUM, "ts": "1794823300.000100"},
        {"type": "message", "user": "U3", "text": PREMIUM + " (U3)", "ts": "1794823400.000100"},
    ]))
    db = tmp_path / "i.db"
    Store(db).set_optout("T1", "U3", True)
    r = cli("import", str(export), "--json", "--workspace", "T1", db=db)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["checked"] == 1
    assert summary["skipped"] == {"marked [no-coach]": 1, "author opted out": 1}
    assert [c["user"] for c in Store(db).recent_checks(10)] == ["U1"]


def test_import_stores_a_message_as_written_not_as_slack_escapes_it(tmp_path):
    export = tmp_path / "export"
    (export / "general").mkdir(parents=True)
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    sent = PREMIUM.replace(" and ", " &amp; ") + " &lt;3 <@U2>"  # how Slack's export writes & < >, mentions kept
    (export / "general" / "2026-11-16.json").write_text(json.dumps([
        {"type": "message", "user": "U1", "text": sent, "ts": "1794823200.000100"}]))
    db = tmp_path / "i.db"
    r = cli("import", str(export), "--json", "--workspace", "T1", db=db)
    assert r.returncode == 0, r.stderr
    (check,) = Store(db).recent_checks(10)
    assert check["draft_text"] == PREMIUM.replace(" and ", " & ") + " <3 <@U2>"


# -- the structure -------------------------------------------------------------------------------------
def test_no_edge_calls_the_checker_or_writes_a_check_itself():
    """Exactly one road into a check from Slack and import: bot/intake.py."""
    edges = [ROOT / "bot" / "slack" / "listeners.py", ROOT / "bot" / "slack" / "app.py", ROOT / "bot" / "importer.py"]
    calls = re.compile(r"(?:checker|store)\.(?:aassess|assess|acheck|check|record_check|record_pending|complete_check|"
                       r"insert_checks)\(")
    for path in edges:
        found = [m.group() for m in calls.finditer(path.read_text())]
        allowed = {"importer.py": ["store.insert_checks("]}.get(path.name, [])  # import writes its batch of rows
        assert [f for f in found if f not in allowed] == [], path.name
    assert Draft.__module__ == "bot.intake"


def test_with_texts_off_a_drafts_words_leave_the_file_within_the_apps_minute(slack, tmp_path):
    """MOTIVECHECK_STORE_TEXT=off: the text is held only while the check is in flight and erased when it is answered.
    The erased text stayed in SQLite's write-ahead log (found there long after the answer); the app's minute loop
    (retention) now checkpoints it away."""
    from bot.datacontrols import run_retention

    settings = settings_for(slack, tmp_path, MOTIVECHECK_STORE_TEXT="off")
    app = RunningApp(settings)
    try:
        assert app.command(PREMIUM, response_url=slack.response_url("c"))[0] == 200
        assert slack.wait_for(lambda: slack.responses and not app.deps.store.leased_checks(), timeout=10)
        store = app.deps.store
        assert store.recent_checks(1)[0]["draft_text"] is None
        run_retention(store, settings, "this-instance", 60)
        on_disk = b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))
        assert b"Premium Plus" not in on_disk
    finally:
        app.stop()
