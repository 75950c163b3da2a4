"""Load: 100 concurrent /motivecheck plus a burst of 1,000 channel messages over 60 s, the LLM answering in 2-5 s.

Prints ack p50/p99, whether every draft was answered exactly once, how many checks were logged, and
the app's memory (RSS) over the run. The app runs as its own process; everything is on loopback.
Usage: python bench/bench_load.py [SECONDS] [MESSAGES]
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from harness import ServedApp
from openai_server import FakeOpenAI, answer, verdict_answer
from slack_server import FakeSlack
from timing import percentile

from bot.store import Store

DRAFT = "We'll launch Premium Plus {} to upsell existing accounts and lift ARR 15% this quarter."


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    messages = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rnd = random.Random(3)
    ok = answer(verdict_answer())

    def llm_2_to_5_s(req: dict):
        time.sleep(rnd.uniform(2, 5))
        return ok(req)

    with FakeSlack() as slack, FakeOpenAI(default=llm_2_to_5_s) as llm, tempfile.TemporaryDirectory() as tmp:
        db = f"{tmp}/load.db"
        app = ServedApp(slack.api_url, llm.base_url, db, MOTIVECHECK_WATCH_CHANNELS="C1")
        acks: list[float] = []
        codes: Counter = Counter()
        rss = [app.rss_mb()]
        lock = threading.Lock()

        def timed(fn, *args) -> None:
            t = time.perf_counter()
            code = fn(*args)
            with lock:
                acks.append((time.perf_counter() - t) * 1000)
                codes[code] += 1

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=128) as pool:
            for i in range(100):
                pool.submit(timed, app.command, DRAFT.format(f"cmd{i}"), f"U{i:03d}", slack.response_url(f"c{i}"))
            for i in range(messages):
                due = started + seconds * i / messages
                time.sleep(max(0.0, due - time.perf_counter()))
                pool.submit(timed, app.message, DRAFT.format(f"msg{i}"), f"1700000000.{i:06d}", f"Ev{i}")
                if i % max(1, messages // 10) == 0:
                    rss.append(app.rss_mb())
        slack.wait_for(lambda: len(slack.responses) >= 100 and len(slack.calls("chat.postMessage")) >= messages,
                       timeout=60)
        elapsed = time.perf_counter() - started
        rss.append(app.rss_mb())
        exit_code = app.stop()
        replies = Counter(p.get("thread_ts") for p in slack.calls("chat.postMessage"))
        store = Store(db)
        logged = store.db.value("select count(*) from checks where status = 'done'")
        acks.sort()
        print(f"{100 + messages} requests in {seconds:.0f} s: HTTP codes {dict(codes)}; ack p50 "
              f"{statistics.median(acks):.0f} ms, p99 {percentile(acks, 99):.0f} ms, max {acks[-1]:.0f} ms "
              f"(limit 3,000 ms: {'every one within it' if acks[-1] < 3000 else 'EXCEEDED'})")
        print(f"slash commands answered: {len(slack.responses)}/100; channel drafts answered: {len(replies)}/{messages}, "
              f"any answered twice: {any(n > 1 for n in replies.values())}; checks logged: {logged}/{100 + messages}")
        print(f"app RSS (MB) at start, every {max(1, messages // 10)} messages and at the end: "
              f"{', '.join(f'{r:.0f}' for r in rss)}; all done after {elapsed:.1f} s; SIGTERM exit code {exit_code}")
        second_half = rss[len(rss) // 2:]
        print(f"memory over the second half of the run: {second_half[0]:.0f} -> {max(second_half):.0f} MB "
              f"(growth {max(second_half) - second_half[0]:+.0f} MB)")


if __name__ == "__main__":
    main()
