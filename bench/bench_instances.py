"""Several instances on one database, under load: channel messages streaming in, 100 /motivecheck at once.

The issue's scenario: 1,000 channel messages a minute and, mid-stream, 100 slash commands at once, the LLM
answering every request in 5 s — on one instance and on two (requests round-robin), on SQLite, and on PostgreSQL
when ``MOTIVECHECK_BENCH_DATABASE_URL`` names an empty database. Targets: ack p99 <= 50 ms, all 100 commands
answered <= 6 s after they were sent. Prints ack p50/p99/max (commands and messages), time to answer the 100, and
whether every message got exactly one reply.

``--fairness``: one workspace floods (FLOOD commands at once) and, half a second later, another sends 10: are the
other's answers held up behind the flood? ``--limits``: one instance, command bursts and message rates stepped up.
Everything runs on loopback: the real `motivecheck serve` processes, Slack and LLM stand-ins, an aiohttp sender.
Usage: python bench/bench_instances.py [--seconds 60] [--messages 1000] [--fairness] [--limits [--engine trained]]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

import aiohttp
from harness import ServedApp, signed
from openai_server import FakeOpenAI, answer, verdict_answer
from slack_server import FakeSlack
from timing import percentile

DRAFT = "We'll launch Premium Plus {} to upsell existing accounts and lift ARR 15% this quarter."
LLM_SECONDS = 5.0


def command_body(n: str, response_url: str, team: str = "T1") -> str:
    return urlencode({"team_id": team, "channel_id": "C9", "user_id": f"U{n}", "command": "/motivecheck",
                      "text": DRAFT.format(n), "response_url": response_url, "trigger_id": "1.2.3"})


def message_body(i: int) -> str:
    return json.dumps({"type": "event_callback", "team_id": "T1", "event_id": f"Ev{i}", "event_time": int(time.time()),
                       "event": {"type": "message", "channel": "C1", "user": f"U{i % 50}", "ts": f"1790000000.{i:06d}",
                                 "text": DRAFT.format(f"msg{i}"), "channel_type": "channel"}})


class Cluster:
    """N `motivecheck serve` processes on one database."""

    def __init__(self, slack: FakeSlack, llm: FakeOpenAI, n: int, db: str, database_url: str = "",
                 engine: str = "auto") -> None:
        env = {"MOTIVECHECK_WATCH_CHANNELS": "C1", "MOTIVECHECK_ENGINE": engine}
        if database_url:
            env["DATABASE_URL"] = database_url
        self.logs = [f"{db}.{i}.log" for i in range(n)]
        self.apps = [ServedApp(slack.api_url, llm.base_url, db, wait_healthz=False, log=log, **env)
                     for log in self.logs]
        for app, log in zip(self.apps, self.logs, strict=True):  # started together, waited for in turn
            _wait_healthz(app, log)

    @property
    def ports(self) -> list[int]:
        return [app.port for app in self.apps]

    def rss_mb(self) -> list[float]:
        return [app.rss_mb() for app in self.apps]

    def stop(self) -> list[int]:
        return [app.stop() for app in self.apps]


def _wait_healthz(app: ServedApp, log: str) -> None:
    import urllib.request

    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{app.port}/healthz", timeout=1).close()
            return
        except OSError:
            if app.proc.poll() is not None:
                break
            time.sleep(0.1)
    with open(log, encoding="utf-8", errors="replace") as f:
        raise RuntimeError("serve did not start: " + f.read()[-1500:])


class Sender:
    """Deals requests out round-robin over the instances, signed as Slack signs them; runs in a process of its own
    (``in_own_process``), so its work and the stand-ins' do not share one interpreter lock with its clock."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = 0

    async def send(self, session: aiohttp.ClientSession, body: str, content_type: str) -> tuple[int, float]:
        port = self.ports[self.turn % len(self.ports)]
        self.turn += 1
        started = time.perf_counter()
        try:
            async with session.post(f"http://127.0.0.1:{port}/slack/events", data=body.encode(),
                                    headers=signed(body, content_type)) as resp:
                await resp.read()
                return resp.status, (time.perf_counter() - started) * 1000
        except aiohttp.ClientError:
            return 0, (time.perf_counter() - started) * 1000

    async def warm(self, session: aiohttp.ClientSession, connections: int) -> None:
        """Open keep-alive connections before the clock starts, as Slack's senders hold them all day."""
        async def touch(port: int) -> None:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                await resp.read()

        await asyncio.gather(*(touch(port) for port in self.ports for _ in range(connections)))


def in_own_process(fn: Any, *args: Any) -> Any:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"))
    future = pool.submit(fn, *args)
    future.add_done_callback(lambda _: pool.shutdown(wait=False))
    return future


def send_load(ports: list[int], responses: str, seconds: float, messages: int, commands: int,
              burst_at: float) -> dict[str, Any]:
    """The message stream and, ``burst_at`` seconds in, the burst of commands; acks, and when the burst went."""
    return asyncio.run(_send_load(Sender(ports), responses, seconds, messages, commands, burst_at))


async def _send_load(sender: Sender, responses: str, seconds: float, messages: int, commands: int,
                     burst_at: float) -> dict[str, Any]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await sender.warm(session, commands // len(sender.ports) + 20)
        message_acks: list[tuple[int, float]] = []

        async def stream() -> None:
            start = time.perf_counter()
            pending = []
            for i in range(messages):
                await asyncio.sleep(max(0.0, start + seconds * i / messages - time.perf_counter()))
                pending.append(asyncio.create_task(sender.send(session, message_body(i), "application/json")))
            message_acks.extend(await asyncio.gather(*pending))

        flow = asyncio.create_task(stream())
        await asyncio.sleep(burst_at)
        bodies = [command_body(f"c{i}", f"{responses}/response/c{i}") for i in range(commands)]
        burst_sent = time.time()
        command_acks = await asyncio.gather(*(sender.send(session, b, "application/x-www-form-urlencoded")
                                              for b in bodies))
        await flow
    return {"command_acks": command_acks, "message_acks": message_acks, "burst_sent": burst_sent}


def scenario(cluster: Cluster, slack: FakeSlack, seconds: float, messages: int, commands: int,
             burst_at: float) -> dict[str, Any]:
    """Load from another process; here, when the burst's answers and the messages' replies arrive."""
    future = in_own_process(send_load, cluster.ports, slack.base, seconds, messages, commands, burst_at)
    answered = slack.wait_for(lambda: sum(name.startswith("c") for name, _ in slack.responses) >= commands,
                              seconds + 90)
    done_at = time.time()
    r = future.result()
    r["all_answered"] = done_at - r["burst_sent"] if answered else float("inf")
    r["all_replied"] = slack.wait_for(
        lambda: len({p["thread_ts"] for p in slack.calls("chat.postMessage") if p.get("thread_ts")}) >= messages, 60)
    replies = Counter(p.get("thread_ts") for p in slack.calls("chat.postMessage") if p.get("thread_ts"))
    r.update(replied=len(replies), doubled=sum(n > 1 for n in replies.values()))
    return r


def print_row(label: str, r: dict[str, Any], commands: int, messages: int) -> None:
    cmd = [ms for code, ms in r["command_acks"] if code == 200]
    msg = [ms for code, ms in r["message_acks"] if code == 200]
    both = cmd + msg
    met = len(cmd) == commands and percentile(both, 99) <= 50 and r["all_answered"] <= 6
    nan = float("nan")
    print(f"{label:<24}{percentile(cmd, 50):>7.0f}{percentile(cmd, 99):>7.0f}{max(cmd, default=nan):>7.0f}"
          f"{percentile(msg, 50):>8.0f}{percentile(msg, 99):>7.0f}{max(msg, default=nan):>7.0f}"
          f"{percentile(both, 99):>9.0f}"
          f"{r['all_answered']:>9.1f}{r['replied']:>6}/{messages}{r['doubled']:>5}"
          f"   {'MET' if met else 'NOT MET'}")


def run_scenarios(args: argparse.Namespace) -> None:
    configs = [("1 instance, SQLite", 1, ""), ("2 instances, SQLite", 2, "")]
    if args.only:
        configs = [c for c in configs if c[1] == args.only]
    url = os.environ.get("MOTIVECHECK_BENCH_DATABASE_URL", "")
    if url:
        configs += [(f"{n} instance{'s' if n > 1 else ''}, PostgreSQL", n, url) for n in (1, 2) if args.only in (0, n)]
    print(f"{args.messages} channel messages over {args.seconds:.0f} s, {args.commands} /motivecheck at once "
          f"{args.burst_at:.0f} s in; the LLM answers each request in {LLM_SECONDS:.0f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'':<24}{'command ack ms':^21}{'message ack ms':^22}{'all p99':>9}{'100 in s':>9}{'replied':>11}"
          f"{'x2':>5}")
    print(f"{'':<24}{'p50':>7}{'p99':>7}{'max':>7}{'p50':>8}{'p99':>7}{'max':>7}")
    for label, n, database_url in configs:
        with FakeSlack() as slack, FakeOpenAI(default=answer(verdict_answer(), delay=LLM_SECONDS)) as llm, \
                tempfile.TemporaryDirectory() as tmp:
            if database_url:
                _empty(database_url)
            cluster = Cluster(slack, llm, n, f"{tmp}/bench.db", database_url)
            try:
                r = scenario(cluster, slack, args.seconds, args.messages, args.commands, args.burst_at)
                rss = cluster.rss_mb()
            finally:
                codes = cluster.stop()
            print_row(label, r, args.commands, args.messages)
            print(f"{'':<24}RSS {', '.join(f'{m:.0f}' for m in rss)} MB; SIGTERM exit codes {codes}; "
                  f"{sum(1 for c, _ in r['command_acks'] + r['message_acks'] if c != 200)} non-200")


def _empty(url: str) -> None:
    """A fresh schema for one run, so each configuration starts from an empty database."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema if exists public cascade")
        conn.execute("create schema public")


def send_flood(ports: list[int], responses: str, flood: int, others: int) -> dict[str, float]:
    """Workspace T1 sends ``flood`` commands at once; 0.5 s later T2 sends ``others``. When each was sent."""
    return asyncio.run(_send_flood(Sender(ports), responses, flood, others))


async def _send_flood(sender: Sender, responses: str, flood: int, others: int) -> dict[str, float]:
    sent: dict[str, float] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await sender.warm(session, flood // len(sender.ports) + others)

        async def send(name: str, team: str) -> None:
            sent[name] = time.time()
            await sender.send(session, command_body(name, f"{responses}/response/{name}", team),
                              "application/x-www-form-urlencoded")

        busy = asyncio.gather(*(send(f"f{i}", "T1") for i in range(flood)))
        await asyncio.sleep(0.5)
        await asyncio.gather(busy, *(send(f"o{i}", "T2") for i in range(others)))
    return sent


def fairness(slack: FakeSlack, cluster: Cluster, flood: int, others: int) -> tuple[list[float], list[float]]:
    """Seconds from sending to the answer, for the flooding workspace's commands and for the other's."""
    future = in_own_process(send_flood, cluster.ports, slack.base, flood, others)
    done: dict[str, float] = {}
    seen = 0
    while len(done) < flood + others and slack.wait_for(lambda seen=seen: len(slack.responses) > seen, 90):
        now = time.time()
        for name, _ in slack.responses[seen:]:
            done.setdefault(name, now)
        seen = len(slack.responses)
    sent = future.result()
    seconds = {name: done.get(name, float("inf")) - at for name, at in sent.items()}
    return ([s for n, s in seconds.items() if n.startswith("f")], [s for n, s in seconds.items() if n.startswith("o")])


def run_fairness(args: argparse.Namespace) -> None:
    print(f"One workspace floods {args.flood} /motivecheck at once; 0.5 s later another sends 10; LLM {LLM_SECONDS:.0f} s")
    for n in (1, 2):
        with FakeSlack() as slack, FakeOpenAI(default=answer(verdict_answer(), delay=LLM_SECONDS)) as llm, \
                tempfile.TemporaryDirectory() as tmp:
            cluster = Cluster(slack, llm, n, f"{tmp}/fair.db")
            try:
                busy, other = fairness(slack, cluster, args.flood, 10)
            finally:
                cluster.stop()
        print(f"{n} instance(s): flooding workspace answered in p50 {percentile(busy, 50):.1f} s, "
              f"max {max(busy):.1f} s; the other workspace p50 {percentile(other, 50):.1f} s, max {max(other):.1f} s")


def run_limits(args: argparse.Namespace) -> None:
    """One instance on SQLite: bigger command bursts, then faster message streams."""
    offline = args.engine != "auto"
    print(f"One instance, SQLite, {'the ' + args.engine + ' engine (no LLM)' if offline else f'LLM {LLM_SECONDS:.0f} s'}"
          f"; load average {os.getloadavg()[0]:.1f}")
    for burst in args.bursts:
        with FakeSlack() as slack, FakeOpenAI(default=answer(verdict_answer(), delay=LLM_SECONDS)) as llm, \
                tempfile.TemporaryDirectory() as tmp:
            cluster = Cluster(slack, llm, 1, f"{tmp}/limits.db", engine=args.engine)
            try:
                r = scenario(cluster, slack, 0.1, 0, burst, 0.0)
            finally:
                cluster.stop()
        acks = [ms for code, ms in r["command_acks"] if code == 200]
        print(f"  {burst:>4} commands at once: acked {len(acks)}, ack p50 {percentile(acks, 50):.0f} ms, p99 "
              f"{percentile(acks, 99):.0f} ms; all answered after {r['all_answered']:.1f} s")
    for per_minute in args.rates:
        messages = int(per_minute * args.limit_seconds / 60)
        with FakeSlack() as slack, FakeOpenAI(default=answer(verdict_answer(), delay=LLM_SECONDS)) as llm, \
                tempfile.TemporaryDirectory() as tmp:
            cluster = Cluster(slack, llm, 1, f"{tmp}/limits.db", engine=args.engine)
            try:
                started = time.perf_counter()
                r = scenario(cluster, slack, args.limit_seconds, messages, 0, 0.0)
                elapsed = time.perf_counter() - started
            finally:
                cluster.stop()
        acks = [ms for code, ms in r["message_acks"] if code == 200]
        print(f"  {per_minute:>5} messages a minute for {args.limit_seconds:.0f} s: ack p50 "
              f"{percentile(acks, 50):.0f} ms, p99 {percentile(acks, 99):.0f} ms, max {max(acks, default=0):.0f} ms; "
              f"replied {r['replied']}/{messages} "
              f"(doubled {r['doubled']}), the last {elapsed - args.limit_seconds:.1f} s after the stream ended")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--commands", type=int, default=100)
    parser.add_argument("--burst-at", type=float, default=20.0, help="seconds into the stream")
    parser.add_argument("--only", type=int, default=0, help="1 or 2: run only the configurations with that many")
    parser.add_argument("--fairness", action="store_true")
    parser.add_argument("--flood", type=int, default=300)
    parser.add_argument("--limits", action="store_true")
    parser.add_argument("--limit-seconds", type=float, default=30.0)
    parser.add_argument("--bursts", type=int, nargs="*", default=[100, 200, 400, 800], help="--limits: commands at once")
    parser.add_argument("--rates", type=int, nargs="*", default=[1000, 3000, 6000, 12000],
                        help="--limits: channel messages a minute")
    parser.add_argument("--engine", default="auto", help="--limits: trained or rules to leave the LLM out")
    args = parser.parse_args()
    if args.fairness:
        run_fairness(args)
    elif args.limits:
        run_limits(args)
    else:
        run_scenarios(args)


if __name__ == "__main__":
    main()
