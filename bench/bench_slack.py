"""100 /motivecheck commands at once, the LLM answering in 5 s: ack p50/p99 and time to answer all.

Runs the same load in HTTP mode and in Socket Mode, side by side in one run (the machine is
noisy; compare the rows, not runs on different days). The app is the real `motivecheck serve`
in its own process; the Slack Web API, the Socket Mode websocket and the LLM are loopback
stand-ins. HTTP requests are really signed; the HTTP burst runs twice, on fresh connections and on
connections already open (keep-alive). Targets: every command acknowledged, ack p99
<= 100 ms, all 100 answered within 7 s of the first, all logged.
Usage: python bench/bench_slack.py [http|socket|both]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time

from harness import ServedApp, command_body
from openai_server import FakeOpenAI, answer, verdict_answer
from slack_server import FakeSlack
from socket_peer import SocketPeer
from timing import percentile

from bot.store import Store

N = 100
LLM_SECONDS = 5.0
DRAFT = "We'll launch Premium Plus {} to upsell existing accounts and lift ARR 15% this quarter."


def _report(mode: str, acked: int, acks: list[float], answered: int, seconds: float, logged: int) -> None:
    acks = sorted(acks)
    p99 = percentile(acks, 99)
    print(f"{mode:<12}{acked:>4}/{N}{statistics.median(acks) if acks else float('nan'):>9.0f}{p99:>9.0f}"
          f"{max(acks) if acks else float('nan'):>9.0f}{answered:>7}/{N}{seconds:>9.1f}{logged:>7}/{N}"
          f"   {'MET' if acked == N and p99 <= 100 and answered == N and seconds <= 7 else 'NOT MET'}")


def _logged(db: str, users: str = "U%") -> int:
    sql = ("select count(*) from checks where source = 'slash' and status = 'done' and \"user\" like ? "
           "and \"user\" != 'UWARM'")
    return Store(db).db.value(sql, [users])


def run_http(slack: FakeSlack, llm: FakeOpenAI, tmp: str) -> None:
    db = f"{tmp}/http.db"
    app = ServedApp(slack.api_url, llm.base_url, db)
    try:
        app.command("warm-up: we will upsell", "UWARM", slack.response_url("warm"))
        slack.wait_for(lambda: slack.responses, timeout=15)
        for keep_alive, label in ((False, "HTTP new"), (True, "HTTP reused")):
            slack.responses.clear()
            tag = "k" if keep_alive else "n"
            bodies = [command_body(DRAFT.format(f"{tag}{i}"), f"U{tag}{i:03d}", slack.response_url(f"{tag}{i}"))
                      for i in range(N)]
            first = time.perf_counter()
            results = asyncio.run(app.burst(bodies, keep_alive=keep_alive))
            slack.wait_for(lambda: len(slack.responses) >= N, timeout=30)
            seconds = time.perf_counter() - first
            answered = len(slack.responses)
            time.sleep(1.0)
            _report(label, sum(code == 200 for code, _ in results), [ms for _, ms in results], answered, seconds,
                    _logged(db, f"U{tag}%"))
    finally:
        app.stop()


def run_socket(slack: FakeSlack, llm: FakeOpenAI, tmp: str) -> None:
    db = f"{tmp}/socket.db"
    peer = SocketPeer()
    slack.socket_url = peer.url
    app = ServedApp(slack.api_url, llm.base_url, db, wait_healthz=False, SLACK_APP_TOKEN="xapp-1-bench")
    try:
        if not peer.connected.wait(30):
            raise RuntimeError("the app did not open a Socket Mode connection")

        def envelope(i: int, prefix: str) -> dict:
            form = {"team_id": "T1", "channel_id": "C1", "user_id": "UWARM" if prefix == "warm" else f"U{i:03d}", "command": "/motivecheck",
                    "text": DRAFT.format(i), "response_url": slack.response_url(f"{prefix}{i}"),
                    "trigger_id": "1.2.3"}
            return {"envelope_id": f"{prefix}{i}", "type": "slash_commands", "accepts_response_payload": True,
                    "payload": form}

        peer.send_all([envelope(0, "warm")])
        slack.wait_for(lambda: slack.responses, timeout=15)
        slack.responses.clear()
        peer.sent_at.clear()
        first = time.perf_counter()
        peer.send_all([envelope(i, "s") for i in range(N)])
        slack.wait_for(lambda: len(slack.responses) >= N, timeout=30)
        seconds = time.perf_counter() - first
        answered = len(slack.responses)
        acks = peer.ack_ms()
    finally:
        app.stop()
    _report("Socket Mode", len(acks), acks, answered, seconds, _logged(db))


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "both"
    print(f"{N} /motivecheck commands at once; LLM answers in {LLM_SECONDS:.0f} s; app in its own process")
    print(f"{'mode':<12}{'acked':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'answered':>11}{'all in s':>9}"
          f"{'logged':>11}   target: p99 <= 100 ms, all answered within 7 s")
    with FakeSlack() as slack, FakeOpenAI(default=answer(verdict_answer(), delay=LLM_SECONDS)) as llm, \
            tempfile.TemporaryDirectory() as tmp:
        if mode in ("http", "both"):
            run_http(slack, llm, tmp)
        if mode in ("socket", "both"):
            slack.responses.clear()
            run_socket(slack, llm, tmp)


if __name__ == "__main__":
    main()
