"""Socket Mode: the app connects to a local websocket server speaking Slack's envelopes and acks by envelope_id."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from openai_server import FakeOpenAI, answer, slow, verdict_answer
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_server import FakeSlack
from socket_peer import SocketPeer

from bot.config import load_settings
from bot.slack.app import build_app, drain, serve_async

PREMIUM = "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."


def _settings(slack: FakeSlack, tmp_path):
    return load_settings(env={"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_APP_TOKEN": "xapp-1-t",
                              "SLACK_API_URL": slack.api_url, "MOTIVECHECK_WATCH_CHANNELS": "C111"},
                         db_path=str(tmp_path / "s.db"))


def test_socket_mode_slash_command_and_event(tmp_path):
    socket_server = SocketPeer()
    with FakeSlack() as slack:
        slack.socket_url = socket_server.url
        settings = _settings(slack, tmp_path)
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        runner = threading.Thread(target=lambda: loop.run_until_complete(serve_async(settings, stop=stop)),
                                  daemon=True)
        runner.start()
        assert slack.wait_for(lambda: slack.calls("apps.connections.open"), timeout=10)
        assert socket_server.connected.wait(10)
        form = {"team_id": "T111", "channel_id": "C111", "user_id": "U111", "command": "/motivecheck",
                "text": PREMIUM, "response_url": slack.response_url("s1"), "trigger_id": "1.2.3"}
        socket_server.send_all([{"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
                                 "payload": dict(form)}])
        event = {"type": "event_callback", "team_id": "T111", "event_id": "EvS1", "event_time": int(time.time()),
                 "event": {"type": "message", "channel": "C111", "user": "U222", "text": PREMIUM,
                           "ts": "1700000500.000100", "channel_type": "channel"}}
        socket_server.send_all([
            {"envelope_id": "env-2", "type": "events_api", "accepts_response_payload": False, "payload": event},
            {"envelope_id": "env-3", "type": "events_api", "accepts_response_payload": False, "retry_attempt": 1,
             "retry_reason": "timeout", "payload": event}])
        assert slack.wait_for(lambda: slack.responses and slack.calls("chat.postMessage"), timeout=10)
        time.sleep(0.5)
        acked = {m.get("envelope_id") for m in socket_server.received}
        assert {"env-1", "env-2", "env-3"} <= acked
        assert slack.responses[0][1]["response_type"] == "ephemeral"
        assert len(slack.calls("chat.postMessage")) == 1  # the retried envelope got no second reply
        loop.call_soon_threadsafe(stop.set)
        runner.join(15)
        assert not runner.is_alive()


def _message(event_id: str, ts: str) -> dict:
    return {"type": "event_callback", "team_id": "T111", "event_id": event_id, "event_time": int(time.time()),
            "event": {"type": "message", "channel": "C111", "user": "U222", "text": PREMIUM, "ts": ts,
                      "channel_type": "channel"}}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_while_draining_a_message_is_not_acknowledged_so_slack_delivers_it_again(tmp_path):
    """An acknowledged envelope is never sent again: one acked while draining (and not recorded) would be lost."""
    peer = SocketPeer()
    with FakeSlack() as slack:
        slack.socket_url = peer.url
        settings = _settings(slack, tmp_path)
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True).start()
        app, deps = build_app(settings)
        records = _Records()
        sdk_log = logging.getLogger("test_socket_mode.client")  # what the Socket Mode client says it did
        sdk_log.setLevel(logging.DEBUG)
        sdk_log.addHandler(records)

        async def connect() -> AsyncSocketModeHandler:
            await deps.warm_up()
            handler = AsyncSocketModeHandler(app, settings.slack_app_token, logger=sdk_log)
            await handler.connect_async()
            return handler

        def acked() -> set[str]:
            return {m.get("envelope_id") for m in peer.received}

        handler = asyncio.run_coroutine_threadsafe(connect(), loop).result(15)
        try:
            assert peer.connected.wait(10)
            deps.accepting = False  # what drain() does first
            peer.send_all([{"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                            "payload": _message("EvD1", "1700000600.000100")}])
            assert slack.wait_for(lambda: "env-1" in acked() or any("status: 503" in x for x in records.lines))
            assert "env-1" not in acked() and deps.store.count("checks") == 0

            deps.accepting = True  # this instance restarted, or another one: Slack delivers the envelope again
            peer.send_all([{"envelope_id": "env-2", "type": "events_api", "accepts_response_payload": False,
                            "retry_attempt": 1, "retry_reason": "timeout",
                            "payload": _message("EvD1", "1700000600.000100")}])
            assert slack.wait_for(lambda: slack.calls("chat.postMessage"), timeout=10)
            assert "env-2" in acked() and deps.store.count("checks") == 1
        finally:
            sdk_log.removeHandler(records)
            asyncio.run_coroutine_threadsafe(handler.close_async(), loop).result(10)
            asyncio.run_coroutine_threadsafe(drain(deps), loop).result(15)  # the answer in flight finishes
            loop.call_soon_threadsafe(loop.stop)


def test_stopping_disconnects_before_draining_and_still_answers_the_work_in_flight(tmp_path):
    peer = SocketPeer()
    with FakeSlack() as slack, FakeOpenAI(default=slow(1.5, answer(verdict_answer()))) as llm:
        slack.socket_url = peer.url
        settings = load_settings(env={"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_APP_TOKEN": "xapp-1-t",
                                      "SLACK_API_URL": slack.api_url, "OPENAI_API_KEY": "sk-x",
                                      "OPENAI_BASE_URL": llm.base_url, "MOTIVECHECK_LLM_TIMEOUT": "5",
                                      "MOTIVECHECK_LLM_DEADLINE": "10"},
                                 db_path=str(tmp_path / "s.db"))
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        runner = threading.Thread(target=lambda: loop.run_until_complete(serve_async(settings, stop=stop)),
                                  daemon=True)
        runner.start()
        assert peer.connected.wait(10)
        form = {"team_id": "T111", "channel_id": "C111", "user_id": "U111", "command": "/motivecheck",
                "text": PREMIUM, "response_url": slack.response_url("s1"), "trigger_id": "1.2.3"}
        peer.send_all([{"envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
                        "payload": form}])
        assert slack.wait_for(lambda: llm.requests, timeout=10)  # the check is in flight
        loop.call_soon_threadsafe(stop.set)
        # The connection closes first, so nothing arrives to be acknowledged and dropped while the app drains...
        assert peer.closed.wait(5) and slack.responses == []
        # ...and the draining still answers the check in flight.
        runner.join(15)
        assert not runner.is_alive()
        assert [name for name, _ in slack.responses] == ["s1"] and "inside-out" in slack.responses[0][1]["text"]
