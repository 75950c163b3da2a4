"""Two real `motivecheck serve` processes on one database behind a round-robin sender, as Slack would deliver:
duplicates and retries reach both, one instance is killed mid-burst — no reply lost, none doubled, one digest."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest
from loopback import wait_healthy
from openai_server import FakeOpenAI, answer, verdict_answer
from slack_server import FakeSlack, free_port
from test_slack import PREMIUM, SECRET

from bot.store import Store
from bot.verdict import PlaybookRef, Verdict

ROOT = Path(__file__).resolve().parent.parent
MESSAGES, COMMANDS = 40, 6


class Instance:
    """`motivecheck serve` in its own process (HTTP mode), its log in a file."""

    def __init__(self, slack: FakeSlack, llm: FakeOpenAI, db_env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        env = dict(os.environ, SLACK_BOT_TOKEN="xoxb-two-instances", SLACK_SIGNING_SECRET=SECRET,
                   SLACK_API_URL=slack.api_url, OPENAI_API_KEY="sk-two-instances", OPENAI_BASE_URL=llm.base_url,
                   MOTIVECHECK_WATCH_CHANNELS="C111", MOTIVECHECK_CHANNEL_TRIAGE="off",
                   MOTIVECHECK_LEASE_SECONDS="2", MOTIVECHECK_DIGEST_CHANNEL="CLEAD", MOTIVECHECK_DIGEST_DAY="mon",
                   MOTIVECHECK_DIGEST_TIME="00:00",  # last week's digest is due the moment an instance starts
                   MOTIVECHECK_LOG_LEVEL="warning", **db_env)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port",
                                          str(self.port)], cwd=ROOT, env=env, stdout=out, stderr=out)

    def wait_ready(self, timeout: float = 30) -> None:
        if wait_healthy(self.port, self.proc, timeout):
            return
        self.proc.kill()
        raise AssertionError("serve did not start: " + self.log.read_text()[-2000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class RoundRobin:
    """Delivers each request to the next instance, signed as Slack signs it; a delivery that fails (the instance
    died, or did not answer in 3 s) is retried on the other instance with X-Slack-Retry-Num, as Slack retries."""

    def __init__(self, instances: list[Instance]) -> None:
        self.instances = instances
        self.turn = 0
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()

    def post(self, instance: Instance, body: str, content_type: str, retry: int = 0) -> int:
        ts = str(int(time.time()))
        sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        req = urllib.request.Request(f"http://127.0.0.1:{instance.port}/slack/events", data=body.encode(),
                                     headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=3) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0  # refused, reset or timed out

    def deliver(self, body: str, content_type: str) -> int:
        with self.lock:
            first = self.turn
            self.turn += 1
        for attempt in range(4):  # the first try and Slack's three retries
            status = self.post(self.instances[(first + attempt) % 2], body, content_type, retry=attempt)
            with self.lock:
                self.statuses[status] += 1
            if status == 200:
                return attempt
        return -1


def _message(n: int) -> tuple[str, str]:
    ts = f"1790000000.{n:06d}"
    body = {"token": "x", "team_id": "T111", "api_app_id": "A111", "type": "event_callback", "event_id": f"Ev{n:04d}",
            "event_time": int(time.time()),
            "event": {"type": "message", "channel": "C111", "user": f"U{n % 7}", "ts": ts, "channel_type": "channel",
                      "text": f"{PREMIUM} Plan {n}."}}
    return ts, json.dumps(body)


def _command(n: int, response_url: str) -> str:
    return urlencode({"token": "x", "team_id": "T111", "team_domain": "example", "channel_id": "C111",
                      "channel_name": "proposals", "user_id": f"UC{n}", "user_name": "ana", "command": "/motivecheck",
                      "text": f"{PREMIUM} Command {n}.", "api_app_id": "A111", "response_url": response_url,
                      "trigger_id": f"{n}.456.abc"})


@pytest.fixture
def shared_db(database):
    """The instances' one database, as the environment names it: a SQLite file, or PostgreSQL when one is given."""
    return {"DATABASE_URL" if database.startswith("postgresql://") else "MOTIVECHECK_DB": database}, database


def test_two_instances_one_killed_mid_burst_lose_and_double_nothing(shared_db, tmp_path):
    db_env, target = shared_db
    # A check last week, so each instance's digest scheduler finds the workspace's digest due as it starts.
    Store(target).record_check(Verdict(label="inside-out", customer_ease=10, engine="rules",
                                       playbook=PlaybookRef(name="outside-in", version="1")),
                               "an old draft", source="slash", workspace="T111", channel="C111", user="U1",
                               ts=time.time() - 7 * 86400)
    with FakeSlack() as slack, FakeOpenAI(default=answer(verdict_answer(), delay=1.0)) as llm:
        a, b = (Instance(slack, llm, db_env, tmp_path / f"{name}.log") for name in "ab")
        try:
            a.wait_ready()
            b.wait_ready()
            sender = RoundRobin([a, b])
            messages = [_message(n) for n in range(MESSAGES)]
            with ThreadPoolExecutor(max_workers=12) as pool:
                futures = []
                for n, (_ts, body) in enumerate(messages):
                    futures.append(pool.submit(sender.deliver, body, "application/json"))
                    if n % 3 == 0:  # Slack retries a delivery it thinks timed out: the copy reaches the other one
                        futures.append(pool.submit(sender.post, (b, a)[n % 2], body, "application/json", 1))
                    if n % 7 == 0:
                        futures.append(pool.submit(sender.post, a if n % 2 else b, body, "application/json", 2))
                    if n < COMMANDS:
                        futures.append(pool.submit(sender.deliver, _command(n, slack.response_url(f"cmd{n}")),
                                                   "application/x-www-form-urlencoded"))
                    if n == MESSAGES // 2:  # mid-burst, with checks in flight and answers half-delivered
                        time.sleep(0.5)
                        a.proc.send_signal(signal.SIGKILL)
                    time.sleep(0.05)
                for f in futures:
                    f.result()

            def replies() -> Counter:
                return Counter(c.get("thread_ts") for c in slack.calls("chat.postMessage") if c.get("thread_ts"))

            def answered() -> set[str]:
                return {name for name, _ in slack.responses}

            def digests() -> list[dict]:
                return [c for c in slack.calls("chat.postMessage") if c.get("channel") == "CLEAD"]

            everyone = {ts for ts, _ in messages}
            # If the killed instance held the digest's claim, the other takes it over once the claim runs out.
            assert slack.wait_for(lambda: set(replies()) >= everyone and len(answered()) >= COMMANDS and digests(),
                                  timeout=25), (
                f"unanswered: {sorted(everyone - set(replies()))}, commands {sorted(answered())}, "
                f"digests {len(digests())}; " + b.log.read_text()[-1500:])
            time.sleep(1.5)  # long enough for a second, wrong answer to arrive (a lease is 2 s, renewed every 0.7 s)
            doubled = {ts: n for ts, n in replies().items() if n > 1}
            assert doubled == {} and set(replies()) == everyone
            # A slash command's answer replaces "Checking your draft…" in place, so one taken over shows once.
            assert all(r.get("replace_original") is True for _, r in slack.responses)
            assert answered() == {f"cmd{n}" for n in range(COMMANDS)}
            assert not [c for c in slack.calls("chat.postMessage") if str(c.get("channel", "")).startswith("U")]
            assert len(digests()) == 1
            store = Store(target)
            assert slack.wait_for(lambda: not store.leased_checks(), timeout=5)
            assert store.count("checks") == 1 + MESSAGES + COMMANDS  # each draft recorded once
            assert a.proc.poll() == -signal.SIGKILL and b.proc.poll() is None
        finally:
            a.stop()
            b.stop()
