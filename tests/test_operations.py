"""Operations: the real `motivecheck serve` process — SIGTERM drains, SIGKILL loses nothing, logs are JSON and clean."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from loopback import wait_healthy
from openai_server import FakeOpenAI, answer, verdict_answer
from slack_server import FakeSlack, free_port
from test_slack import SECRET

ROOT = Path(__file__).resolve().parent.parent
PREMIUM = "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."


class Served:
    def __init__(self, slack: FakeSlack, llm: FakeOpenAI, db: Path, level: str = "debug", **extra: str) -> None:
        self.port = free_port()
        env = dict(os.environ, SLACK_BOT_TOKEN="xoxb-secret-token-123", SLACK_SIGNING_SECRET=SECRET,
                   SLACK_API_URL=slack.api_url, OPENAI_API_KEY="sk-secret-key-456", OPENAI_BASE_URL=llm.base_url,
                   MOTIVECHECK_DB=str(db), MOTIVECHECK_LLM_TIMEOUT="10", MOTIVECHECK_LLM_DEADLINE="15",
                   MOTIVECHECK_LOG_LEVEL=level, **extra)
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port",
                                      str(self.port), "--log-format", "json"], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if wait_healthy(self.port, self.proc, 20):
            return
        self.proc.kill()
        raise AssertionError("serve did not start: " + self.proc.stderr.read().decode()[-2000:])

    def command(self, text: str, response_url: str) -> int:

        from test_slack import RunningApp

        fake = RunningApp.__new__(RunningApp)
        fake.port = self.port
        code, _ = fake.command(text, response_url=response_url)
        return code


@pytest.fixture
def peers():
    with FakeSlack() as slack, FakeOpenAI(default=answer(verdict_answer(), delay=1.5)) as llm:
        yield slack, llm


def test_sigterm_drains_in_flight_checks_and_exits_0(peers, tmp_path):
    slack, llm = peers
    served = Served(slack, llm, tmp_path / "a.db")
    assert served.command(PREMIUM, slack.response_url("t1")) == 200
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=20) == 0
    assert [name for name, _ in slack.responses] == ["t1"]  # answered before exiting
    logs = served.proc.stderr.read().decode()
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    assert lines and all({"ts", "level", "msg"} <= set(line) for line in lines)
    assert "xoxb-secret-token-123" not in logs and "sk-secret-key-456" not in logs  # even at debug level


def test_sigkill_then_restart_answers_accepted_work(peers, tmp_path):
    slack, llm = peers
    db = tmp_path / "b.db"
    served = Served(slack, llm, db, MOTIVECHECK_LEASE_SECONDS="2")
    assert served.command(PREMIUM, slack.response_url("k1")) == 200
    served.proc.send_signal(signal.SIGKILL)
    served.proc.wait(timeout=10)
    assert slack.responses == []
    from bot.store import Store

    assert [r["status"] for r in Store(db).pending_checks()] == ["pending"]  # recorded before the ack
    again = Served(slack, llm, db, level="info", MOTIVECHECK_LEASE_SECONDS="2")
    try:
        # Once the dead process's lease runs out, the verdict replaces "Checking your draft…" where it was asked.
        assert slack.wait_for(lambda: slack.responses, timeout=15)
        ((name, answer),) = slack.responses
        assert name == "k1" and answer["replace_original"] is True and "inside-out" in json.dumps(answer)
        store = Store(db)
        assert slack.wait_for(lambda: not store.leased_checks(), timeout=5)  # the lease is let go once delivered
        assert store.pending_checks() == []
        assert slack.calls("chat.postMessage") == []  # no DM needed
    finally:
        again.proc.send_signal(signal.SIGTERM)
        again.proc.wait(timeout=20)
    logs = again.proc.stderr.read().decode()
    assert logs and "Premium Plus" not in logs  # no draft text at INFO level
