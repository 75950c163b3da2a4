"""Socket Mode: the app connects to a local websocket server speaking Slack's envelopes and acks by envelope_id."""

from __future__ import annotations

import asyncio
import threading
import time

from slack_server import FakeSlack
from socket_peer import SocketPeer

from bot.config import load_settings
from bot.slack.app import serve_async

PREMIUM = "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."


def test_socket_mode_slash_command_and_event(tmp_path):
    socket_server = SocketPeer()
    with FakeSlack() as slack:
        slack.socket_url = socket_server.url
        settings = load_settings(env={"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_APP_TOKEN": "xapp-1-t",
                                      "SLACK_API_URL": slack.api_url, "MOTIVECHECK_WATCH_CHANNELS": "C111"},
                                 db_path=str(tmp_path / "s.db"))
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
