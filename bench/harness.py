"""Shared bench plumbing: the real `motivecheck serve` in its own process, with loopback Slack and LLM stand-ins."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
SECRET = "bench-signing-secret"

from slack_server import free_port  # noqa: E402


def signed(body: str, content_type: str) -> dict[str, str]:
    """Headers Slack would send with ``body``, signed with the bench secret."""
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


def command_body(text: str, user: str, response_url: str) -> str:
    return urlencode({"team_id": "T1", "channel_id": "C1", "user_id": user, "command": "/motivecheck",
                      "text": text, "response_url": response_url, "trigger_id": "1.2.3"})


class ServedApp:
    """`motivecheck serve` as a child process (HTTP mode, or Socket Mode with SLACK_APP_TOKEN in env)."""

    def __init__(self, slack_api_url: str, llm_url: str, db: str, *, wait_healthz: bool = True, log: str | None = None,
                 **env: str) -> None:
        self.port = free_port()
        full = dict(os.environ, SLACK_BOT_TOKEN="xoxb-bench", SLACK_SIGNING_SECRET=SECRET,
                    SLACK_API_URL=slack_api_url, OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=llm_url,
                    MOTIVECHECK_DB=db, MOTIVECHECK_LLM_TIMEOUT="15", MOTIVECHECK_LLM_DEADLINE="20",
                    MOTIVECHECK_LOG_LEVEL="warning")
        full.update(env)
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port",
                                      str(self.port)], cwd=ROOT, env=full,
                                     stderr=open(log, "ab") if log else subprocess.DEVNULL)  # noqa: SIM115 - the child's
        if not wait_healthz:
            return
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("serve did not start")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def post(self, body: str, content_type: str) -> int:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/slack/events", data=body.encode(), method="POST",
                                     headers=signed(body, content_type))
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def command(self, text: str, user: str, response_url: str) -> int:
        return self.post(command_body(text, user, response_url), "application/x-www-form-urlencoded")

    async def burst(self, bodies: list[str], *, keep_alive: bool = True) -> list[tuple[int, float]]:
        """POST every (pre-signed) command body at once from one event loop; (status, ms to the ack) each.

        An asyncio client keeps the load generator's own cost per request far below a thread's, and the
        connections are opened (keep-alive) before the clock starts, as a sender that talks to the app all
        day would have them, so the figures measure the app rather than TCP set-up in the client.
        ``keep_alive=False`` opens a fresh connection per request instead.
        """
        import aiohttp

        requests = [(body, signed(body, "application/x-www-form-urlencoded")) for body in bodies]
        url = f"http://127.0.0.1:{self.port}/slack/events"
        health = f"http://127.0.0.1:{self.port}/healthz"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def touch() -> None:
                async with session.get(health) as resp:
                    await resp.read()

            if keep_alive:
                await asyncio.gather(*(touch() for _ in bodies))

            async def one(body: str, headers: dict[str, str]) -> tuple[int, float]:
                t = time.perf_counter()
                async with session.post(url, data=body.encode(), headers=headers) as resp:
                    await resp.read()
                    return resp.status, (time.perf_counter() - t) * 1000

            return await asyncio.gather(*(one(b, h) for b, h in requests))

    def message(self, text: str, ts: str, event_id: str, channel: str = "C1") -> int:
        body = {"type": "event_callback", "team_id": "T1", "event_id": event_id, "event_time": int(time.time()),
                "event": {"type": "message", "channel": channel, "user": "U9", "text": text, "ts": ts,
                          "channel_type": "channel"}}
        return self.post(json.dumps(body), "application/json")

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=30)


def store_before(target: str, migration: str) -> Any:
    """A store at ``target`` migrated up to just before ``migration`` (all of them if it is not shipped): the
    schema an old query ran on, to time it beside the new one in the same run."""
    from bot.store import Store, migrations

    shipped = list(migrations.MIGRATIONS)
    names = [name for name, _fn in shipped]
    migrations.MIGRATIONS[:] = shipped[:names.index(migration)] if migration in names else shipped
    try:
        return Store(target)
    finally:
        migrations.MIGRATIONS[:] = shipped
