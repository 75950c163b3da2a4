"""Slack Web API faults and hostile drafts on the Slack path: retried or reported, never a crash."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from hostile import HOSTILE
from test_slack import PREMIUM, RunningApp, channel_message, settings_for

from bot.store import Store
from bot.store.database import CONNECT_TIMEOUT, POOL_WAIT


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

    with urllib.request.urlopen(f"http://127.0.0.1:{running.port}/healthz", timeout=5) as resp:
        assert resp.status == 200  # still serving


class Cuttable:
    """A TCP forwarder to the test database that the test can cut, as a network outage or a server gone would:
    the connections through it end and new ones are refused."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.silent = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # cut
            if self.silent:  # taken, never answered
                self.sockets.append(client)
                continue
            upstream = socket.create_connection(self.upstream)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def hush(self) -> None:
        """The connections through it end; new ones are accepted and never answered (a server that hangs, or
        packets dropped past a load balancer)."""
        self.silent = True
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress, which close() alone would not
        self.listener.close()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def through_relay(database: str) -> tuple[Cuttable, str]:
    """A relay to the test's PostgreSQL database, and the database's URL through it."""
    if not database.startswith("postgresql://"):
        pytest.skip("a SQLite file cannot go out of reach")
    where = urlsplit(database)
    proxy = Cuttable(where.hostname or "127.0.0.1", where.port or 5432)
    return proxy, database.replace(where.netloc, where.netloc.replace(f"{where.hostname}:{where.port}",
                                                                      f"127.0.0.1:{proxy.port}"), 1)


def test_healthz_answers_at_once_when_the_database_is_gone(slack, tmp_path, database):
    """With PostgreSQL out of reach, /healthz took 30 s (the pool's wait for a connection) to say so: a load
    balancer's or orchestrator's health check gives up long before, seeing a hung instance instead of the cause."""
    proxy, url = through_relay(database)
    app = RunningApp(settings_for(slack, tmp_path, database=url))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{app.port}/healthz", timeout=5) as resp:
            assert resp.status == 200
        proxy.cut()
        started = time.monotonic()
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"http://127.0.0.1:{app.port}/healthz", timeout=10)
        assert answer.value.code == 503 and time.monotonic() - started < POOL_WAIT + 2
        assert json.loads(answer.value.read())["database"].startswith("error: ")
    finally:
        app.stop()
        app.deps.store.close()


def test_a_request_fails_fast_when_the_database_is_gone(slack, tmp_path, database):
    """A slash command with PostgreSQL out of reach waited 30 s for a pooled connection, its worker thread with
    it (and more piling up behind, so SIGTERM took ~50 s): now Slack hears back within its 3 s and may retry."""
    proxy, url = through_relay(database)
    app = RunningApp(settings_for(slack, tmp_path, database=url))
    try:
        assert app.command(PREMIUM, response_url=slack.response_url("before"))[0] == 200
        proxy.cut()
        started = time.monotonic()
        app.command(PREMIUM, response_url=slack.response_url("during"))  # whatever it answers, it answers now
        assert time.monotonic() - started < 3.0
        started = time.monotonic()
        with pytest.raises(Exception, match="couldn't get a connection"):
            app.deps.store.get_check(1)
        assert POOL_WAIT - 0.5 < time.monotonic() - started < POOL_WAIT + 1
    finally:
        app.stop()
        app.deps.store.close()


def test_reconnect_attempts_give_up_on_a_server_that_never_answers(database):
    """The pool replaces a lost connection in the background; with no connect timeout, an attempt on a server that
    accepts but never answers hung for good (TCP keeps waiting), and no later attempt was made."""
    proxy, url = through_relay(database)
    store = Store(url)
    try:
        assert store.get_check(1) is None
        proxy.hush()
        with contextlib.suppress(Exception):
            store.get_check(1)  # finds its connection gone: the pool sets about replacing it
        deadline = time.monotonic() + CONNECT_TIMEOUT + 3
        while store.db.pool.get_stats().get("connections_errors", 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.db.pool.get_stats().get("connections_errors", 0) > 0, "the attempt is still hanging"
    finally:
        proxy.cut()
        store.close()
