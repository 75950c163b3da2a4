"""The Slack app over real HTTP: signed requests in, Web API calls out to a local stand-in."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
from aiohttp import web
from openai_server import FakeOpenAI, status
from slack_server import FakeSlack

from bot.config import load_settings
from bot.errors import ConfigError
from bot.slack.app import build_app, build_web_app, use_executor, validate_slack_settings

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FIXTURES = Path(__file__).resolve().parent / "data" / "slack-fixtures"  # real payloads: origins in its SOURCES.md
PREMIUM = "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."


class RunningApp:
    """The Bolt app on aiohttp in a background thread, on a loopback port."""

    def __init__(self, settings) -> None:
        self.app, self.deps = build_app(settings)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        use_executor(self.loop, self.deps.settings)
        self.runner = web.AppRunner(build_web_app(self.app, self.deps))
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        async def shutdown() -> None:
            if self.deps.tasks:
                await asyncio.wait(list(self.deps.tasks), timeout=5)
            await self.runner.cleanup()
            # Listeners Bolt runs after the ack (App Home, events) are not the app's tasks: let them finish too,
            # or closing the loop under them prints "coroutine ignored GeneratorExit".
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if others:
                await asyncio.wait(others, timeout=5)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()

    def post(self, body: str, content_type: str, *, timestamp: int | None = None, secret: str = SECRET,
             headers: dict | None = None) -> tuple[int, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/slack/events", data=body.encode(), method="POST",
                                     headers={"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                                              "X-Slack-Signature": sig, **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def command(self, text: str, *, user: str = "U111", response_url: str, team: str = "T111",
                channel: str = "C111", **kw) -> tuple[int, str]:
        form = {"token": "x", "team_id": team, "team_domain": "example", "channel_id": channel,
                "channel_name": "proposals", "user_id": user, "user_name": "ana", "command": "/motivecheck",
                "text": text, "api_app_id": "A111", "response_url": response_url, "trigger_id": "123.456.abc"}
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)

    def event(self, event: dict, event_id: str = "Ev001", *, team: str = "T111", **kw) -> tuple[int, str]:
        body = {"token": "x", "team_id": team, "api_app_id": "A111", "type": "event_callback",
                "event_id": event_id, "event_time": int(time.time()), "event": event}
        return self.post(json.dumps(body), "application/json", **kw)

    def action(self, action_id: str, check_id: int, *, response_url: str, user: str = "U111", team: str = "T111",
               channel: str = "C111", value: str | None = None, block_id: str | None = None) -> tuple[int, str]:
        payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": team}, "api_app_id": "A111",
                   "trigger_id": "999.888.xyz", "response_url": response_url, "container": {"type": "message"},
                   "channel": {"id": channel},
                   "actions": [{"action_id": action_id, "block_id": block_id or f"mc_decide_{check_id}",
                                "value": str(check_id) if value is None else value,
                                "type": "button", "action_ts": str(time.time())}]}
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def submit_view(self, callback_id: str, values: dict, private_metadata: str, *, user: str = "U111",
                    team: str = "T111") -> tuple[int, str]:
        payload = {"type": "view_submission", "team": {"id": team}, "user": {"id": user}, "api_app_id": "A111",
                   "view": {"id": "V1", "type": "modal", "callback_id": callback_id, "private_metadata": private_metadata,
                            "state": {"values": values}}}
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def get(self, path: str, headers: dict | None = None) -> tuple[int, str, dict]:
        """A browser's GET (the install pages): status, body and headers (Set-Cookie among them)."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), dict(exc.headers)


def settings_for(slack: FakeSlack, tmp_path: Path, *, database: str | None = None, **env: str):
    """The app's settings against the Slack stand-in; ``database`` (the fixture's target) or a file in tmp_path."""
    base = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
            "MOTIVECHECK_WATCH_CHANNELS": "C111"}
    base.update(env)
    return load_settings(env=base, db_path=database or str(tmp_path / "slack.db"))


@pytest.fixture
def running(slack, tmp_path, database):
    app = RunningApp(settings_for(slack, tmp_path, database=database))
    yield app
    app.stop()


def channel_message(text: str, ts: str = "1700000100.000100", **extra) -> dict:
    return {"type": "message", "channel": "C111", "user": "U222", "text": text, "ts": ts, "channel_type": "channel",
            **extra}


def test_slash_command_acks_then_answers_privately_with_buttons(running, slack):
    started = time.monotonic()
    code, body = running.command(PREMIUM, response_url=slack.response_url("r1"))
    assert code == 200 and time.monotonic() - started < 1.0
    assert "Checking your draft" in body
    assert slack.wait_for(lambda: slack.responses)
    (name, msg), = slack.responses
    assert name == "r1" and msg["response_type"] == "ephemeral"
    assert "inside-out" in msg["text"]
    actions = [b for b in msg["blocks"] if b["type"] == "actions"][0]
    assert [e["text"]["text"] for e in actions["elements"]] == ["Use this reframing", "Keep mine", "Disagree", "Why?"]
    check_id = int(actions["elements"][0]["value"])
    row = running.deps.store.get_check(check_id)
    assert row["status"] == "done" and row["source"] == "slash" and row["user"] == "U111"

    assert running.action("mc_accept", check_id, response_url=slack.response_url("r2"))[0] == 200
    # A person clicks one button after the other: the first is recorded (after its ack) before the second
    # (under load the two handlers could otherwise finish in either order).
    assert slack.wait_for(lambda: [d["action"] for d in running.deps.store.decisions_for(check_id)] == ["accepted"])
    assert running.action("mc_disagree", check_id, response_url=slack.response_url("r3"))[0] == 200
    assert slack.wait_for(lambda: slack.calls("views.open"))
    modal = slack.calls("views.open")[0]["view"]
    assert modal["callback_id"] == "mc_reason_modal"
    assert running.submit_view("mc_reason_modal", {"reason": {"text": {"type": "plain_text_input",
                                                                       "value": "numbers are the point"}}},
                               modal["private_metadata"])[0] == 200
    # One decision per check and person: Disagree replaced Use (the latest wins).
    assert slack.wait_for(lambda: running.deps.store.decisions_for(check_id)[-1]["reason"])
    decisions = running.deps.store.decisions_for(check_id)
    assert [d["action"] for d in decisions] == ["disputed"]
    assert decisions[0]["reason"] == "numbers are the point"


def test_a_dismissed_draft_says_how_to_have_it_read_and_proposal_colon_judges_it(running, slack):
    chatter = "Thanks everyone for a great offsite, see you all tomorrow!"
    assert running.command(chatter, response_url=slack.response_url("n1"))[0] == 200
    assert running.command("Proposal:  " + chatter, response_url=slack.response_url("n2"))[0] == 200
    assert slack.wait_for(lambda: len(slack.responses) == 2)
    replies = dict(slack.responses)
    assert replies["n1"]["text"].startswith("Motive Coach: not-a-proposal")
    assert "/motivecheck proposal:" in json.dumps(replies["n1"]["blocks"])
    judged = replies["n2"]
    assert "not-a-proposal" not in judged["text"] and "/motivecheck proposal:" not in json.dumps(judged["blocks"])
    rows = [r for r in running.deps.store.recent_checks(5) if r.get("source") == "slash-proposal"]
    assert len(rows) == 1 and rows[0]["label"] != "not-a-proposal"

    # One press instead of retyping: the button under the dismissal carries the draft and replaces the answer.
    (block,) = [b for b in replies["n1"]["blocks"] if b["type"] == "actions"]
    (button,) = block["elements"]
    assert button["text"]["text"] == "Read it as a proposal" and button["value"] == chatter
    dismissed = int(block["block_id"].rpartition("_")[2])
    assert running.deps.store.get_check(dismissed)["label"] == "not-a-proposal"
    assert running.action(button["action_id"], dismissed, value=button["value"], block_id=block["block_id"],
                          response_url=slack.response_url("n3"))[0] == 200
    assert slack.wait_for(lambda: len(slack.responses) == 3)
    pressed = dict(slack.responses)["n3"]
    assert pressed["replace_original"] is True and pressed["response_type"] == "ephemeral"
    assert "not-a-proposal" not in pressed["text"] and "Read it as a proposal" not in json.dumps(pressed["blocks"])
    rows = [r for r in running.deps.store.recent_checks(5) if r.get("source") == "slash-proposal"]
    assert len(rows) == 2 and all(r["label"] != "not-a-proposal" and r["user"] == "U111" for r in rows)
    # The press is the author disagreeing with the dismissal: logged on it, as Disagree would be.
    (decision,) = running.deps.store.decisions_for(dismissed)
    assert decision["action"] == "disputed" and "proposal" in decision["reason"] and decision["user"] == "U111"
    # Someone else's press (a forged payload: the dismissal is ephemeral) decides nothing on the author's check.
    assert running.action(button["action_id"], dismissed, value=button["value"], block_id=block["block_id"],
                          user="U999", response_url=slack.response_url("n4"))[0] == 200
    assert slack.wait_for(lambda: len(slack.responses) == 4)
    assert [d["user"] for d in running.deps.store.decisions_for(dismissed)] == ["U111"]


@pytest.mark.parametrize("kind", ["bad-signature", "stale"])
def test_unsigned_or_stale_requests_are_rejected(running, slack, kind):
    kw = {"secret": "wrong-secret"} if kind == "bad-signature" else {"timestamp": int(time.time()) - 600}
    code, _ = running.command(PREMIUM, response_url=slack.response_url("x"), **kw)
    assert code == 401
    time.sleep(0.3)
    assert slack.responses == [] and running.deps.store.count("checks") == 0


def test_channel_draft_gets_exactly_one_threaded_reply_despite_retries(running, slack):
    event = channel_message(PREMIUM)
    assert running.event(event, "Ev100")[0] == 200
    assert running.event(event, "Ev100", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})[0] == 200
    assert running.event(event, "Ev101")[0] == 200  # the same message delivered twice
    assert slack.wait_for(lambda: slack.calls("chat.postMessage"))
    time.sleep(0.5)
    posts = slack.calls("chat.postMessage")
    assert len(posts) == 1 and posts[0]["thread_ts"] == event["ts"] and posts[0]["channel"] == "C111"
    assert running.deps.store.count("checks") == 1


def test_an_unclosed_fence_is_text_not_a_code_block(running, slack):
    """Slack shows a ``` never closed as plain text, but it made the rest of the draft count as code: the draft
    was refused ("no words to check, only code") in a channel and in the slash command."""
    store = running.deps.store
    assert running.event(channel_message("```" + PREMIUM, ts="1.8"), "EvFence")[0] == 200
    assert slack.wait_for(lambda: (store.find_check_by_message("T111", "C111", "1.8") or {}).get("reply_ts"))
    (reply,) = slack.calls("chat.postMessage")
    assert reply["thread_ts"] == "1.8" and store.find_check_by_message("T111", "C111", "1.8")["label"] == "inside-out"
    assert running.command("```\n" + PREMIUM, response_url=slack.response_url("f"))[0] == 200
    assert slack.wait_for(lambda: slack.responses)
    (_, msg), = slack.responses
    assert "inside-out" in msg["text"] and "only code" not in msg["text"]


@pytest.mark.parametrize("event", [
    channel_message("We'll upsell everyone", bot_id="B999", ts="1.1"),
    channel_message("We'll upsell everyone", subtype="bot_message", ts="1.2"),
    channel_message("We'll upsell everyone", subtype="channel_join", ts="1.3"),
    channel_message("We'll upsell everyone", thread_ts="1.0", ts="1.4"),
    channel_message("anyone up for lunch at 12:30?", ts="1.5"),
    channel_message(PREMIUM + " [no-coach]", ts="1.6"),
    {**channel_message(PREMIUM, ts="1.7"), "channel": "C999"},  # not a watched channel
], ids=["bot", "bot-subtype", "join", "thread-reply", "chat", "marker", "unwatched"])
def test_no_reply(running, slack, event):
    assert running.event(event, f"Ev-{event['ts']}")[0] == 200
    time.sleep(0.4)
    assert slack.calls("chat.postMessage") == []


def test_opted_out_drafts_are_neither_checked_nor_stored(running, slack):
    assert "opted out" in running.command("optout", user="U222", response_url=slack.response_url("o"))[1]
    running.event(channel_message(PREMIUM, ts="2.1"), "Ev2")
    time.sleep(0.4)
    assert slack.calls("chat.postMessage") == [] and running.deps.store.count("checks") == 0


def test_edit_updates_the_existing_reply(running, slack):
    running.event(channel_message(PREMIUM, ts="3.1"), "Ev3")
    assert slack.wait_for(lambda: slack.calls("chat.postMessage"))
    reply_ts = None
    assert slack.wait_for(lambda: running.deps.store.recent_checks(1)[0]["reply_ts"] is not None)
    reply_ts = running.deps.store.recent_checks(1)[0]["reply_ts"]
    edited = {"type": "message", "subtype": "message_changed", "channel": "C111", "hidden": True, "ts": "3.2",
              "message": {"type": "message", "user": "U222", "ts": "3.1", "edited": {"user": "U222", "ts": "3.2"},
                          "text": "Customers tell us exports are painful. Let's add scheduled exports so they don't "
                                  "have to do it by hand; if it works we expect ARR to grow as a result."},
              "previous_message": {"type": "message", "user": "U222", "ts": "3.1", "text": PREMIUM}}
    running.event(edited, "Ev4")
    assert slack.wait_for(lambda: slack.calls("chat.update"))
    (update,) = slack.calls("chat.update")
    public = json.dumps(update["blocks"], ensure_ascii=False)
    assert update["ts"] == reply_ts and "Updated for your edit" in public and "/100" not in public
    assert len(slack.calls("chat.postMessage")) == 1


def test_llm_failure_still_posts_a_fallback_verdict(slack, tmp_path, database):
    with FakeOpenAI(default=status(500)) as llm:
        settings = settings_for(slack, tmp_path, database=database, OPENAI_API_KEY="sk-x", OPENAI_BASE_URL=llm.base_url,
                                MOTIVECHECK_LLM_DEADLINE="1", MOTIVECHECK_LLM_RETRIES="1")
        app = RunningApp(settings)
        try:
            app.command(PREMIUM, response_url=slack.response_url("f"))
            assert slack.wait_for(lambda: slack.responses, timeout=8)
            msg = slack.responses[0][1]
            assert "engine: trained" in json.dumps(msg["blocks"]) and "server-error" in json.dumps(msg["blocks"])
            assert len(llm.requests) == 2
        finally:
            app.stop()


def test_admin_commands_refuse_others_and_watch_is_stored(running, slack):
    running.command("watch <#C555|ideas>", user="U111", response_url=slack.response_url("w1"))
    assert slack.wait_for(lambda: slack.responses)
    assert "only workspace admins" in slack.responses[0][1]["text"]
    running.command("watch <#C555|ideas>", user="UADMIN", response_url=slack.response_url("w2"))
    assert slack.wait_for(lambda: len(slack.responses) == 2)
    assert [w["channel"] for w in running.deps.store.watched_channels("T111")] == ["C555"]
    help_code, help_text = running.command("help", response_url=slack.response_url("h"))
    assert help_code == 200 and "/motivecheck watch" in help_text


def test_empty_command_opens_a_modal(running, slack):
    running.command("", response_url=slack.response_url("m"))
    assert slack.wait_for(lambda: slack.calls("views.open"))
    assert slack.calls("views.open")[0]["view"]["callback_id"] == "mc_draft_modal"


def test_a_draft_from_the_box_is_recorded_before_slack_is_acknowledged(running, slack, database):
    """README: accepted work is recorded before Slack is acknowledged, so a crash after the ack cannot lose it. While
    another writer holds the database the draft cannot be recorded, so the box must not close (no ack) either."""
    values = {"draft": {"text": {"type": "plain_text_input", "value": PREMIUM}}}
    store = running.deps.store
    acked: dict[str, int] = {}

    def submit() -> None:
        acked["status"] = running.submit_view("mc_draft_modal", values, "C111")[0]
        acked["recorded"] = store.count("checks")  # what the database holds as Slack gets its ack

    with holding_the_write_lock(database):
        box = threading.Thread(target=submit)
        box.start()
        box.join(0.5)
    box.join(10)
    assert acked == {"status": 200, "recorded": 1}
    (row,) = store.recent_checks(5)
    assert (row["source"], row["user"], row["channel"], row["workspace"]) == ("slash", "U111", "C111", "T111")
    assert slack.wait_for(lambda: slack.calls("chat.postEphemeral"))
    assert "inside-out" in slack.calls("chat.postEphemeral")[0]["text"]


@contextmanager
def holding_the_write_lock(database: str) -> Iterator[None]:
    """Another writer holds the database (SQLite's one write lock; on PostgreSQL, the checks table): reads go on,
    writes wait until it lets go."""
    if database.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(database) as conn:
            conn.execute("lock table checks in exclusive mode")
            yield
        return
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("COMMIT")
    finally:
        conn.close()


def test_healthz(running):
    with urllib.request.urlopen(f"http://127.0.0.1:{running.port}/healthz", timeout=5) as resp:
        assert resp.status == 200 and json.loads(resp.read())["database"] == "ok"


@pytest.mark.parametrize("env,message", [
    ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN is not set"),
    ({"SLACK_BOT_TOKEN": "xoxp-user"}, "SLACK_BOT_TOKEN must be a bot token"),
    ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET is not set"),
    ({"SLACK_APP_TOKEN": "nope"}, "SLACK_APP_TOKEN must be an app-level token"),
])
def test_bad_settings_name_the_variable(slack, tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        validate_slack_settings(settings_for(slack, tmp_path, **env))


def test_fixture_payloads_are_accepted(running, slack):
    for name in ("event_message_changed.bolt.json", "event_bot_message_subtype.bolt.json",
                 "event_message_thread_broadcast.bolt.json", "event_app_mention.bolt.json"):
        path = FIXTURES / name
        body = json.loads(path.read_text())
        body = body.get("body", body)
        code, _ = running.post(json.dumps(body), "application/json")
        assert code == 200, name
