"""100 /motivecheck commands at once, the LLM answering in 5 s (HTTP mode): ack p50/p99, time to answer all.

The app runs as its own process (`motivecheck serve`); the Slack and LLM stand-ins and the load
generator run here, on loopback. Requests are really signed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from harness import ServedApp
from openai_server import FakeOpenAI, answer, verdict_answer
from slack_server import FakeSlack

N = 100
LLM_SECONDS = 5.0


def main() -> None:
    with FakeSlack() as slack, FakeOpenAI(default=answer(verdict_answer(), delay=LLM_SECONDS)) as llm, \
            tempfile.TemporaryDirectory() as tmp:
        app = ServedApp(slack.api_url, llm.base_url, f"{tmp}/bench.db")
        try:
            app.command("warm-up: we will upsell", "U000", slack.response_url("warm"))
            slack.wait_for(lambda: slack.responses, timeout=15)
            slack.responses.clear()
            acks: list[float] = []

            def send(i: int) -> int:
                t = time.perf_counter()
                code = app.command(f"We'll launch Premium Plus {i} to upsell existing accounts and lift ARR.",
                                   f"U{i:03d}", slack.response_url(f"r{i}"))
                acks.append((time.perf_counter() - t) * 1000)
                return code

            first = time.perf_counter()
            with ThreadPoolExecutor(max_workers=N) as pool:
                codes = list(pool.map(send, range(N)))
            slack.wait_for(lambda: len(slack.responses) >= N, timeout=30)
            last = time.perf_counter() - first
            acks.sort()
            print(f"HTTP mode, app in its own process: {codes.count(200)}/{N} acknowledged; ack p50 "
                  f"{statistics.median(acks):.0f} ms, p99 {acks[int(N * 0.99) - 1]:.0f} ms, max {acks[-1]:.0f} ms "
                  f"(Slack's limit 3,000 ms; target p99 <= 100 ms)")
            print(f"answered {len(slack.responses)}/{N} within {last:.1f} s of the first command "
                  f"(LLM takes {LLM_SECONDS:.0f} s; target: all within 7 s)")
        finally:
            app.stop()


if __name__ == "__main__":
    main()
