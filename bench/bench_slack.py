"""100 /motivecheck commands at once, the LLM answering in 5 s: ack latency and time to answer all (HTTP mode).

Everything runs on loopback: the app (Bolt AsyncApp on aiohttp), a Slack Web API stand-in and an
OpenAI-compatible stand-in. Requests are really signed.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from openai_server import FakeOpenAI, answer, verdict_answer  # noqa: E402
from slack_server import FakeSlack  # noqa: E402
from test_slack import SECRET, RunningApp  # noqa: E402

from bot.config import load_settings  # noqa: E402

N = 100
LLM_SECONDS = 5.0


def main() -> None:
    with FakeSlack() as slack, FakeOpenAI(default=answer(verdict_answer(), delay=LLM_SECONDS)) as llm, \
            tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={
            "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
            "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": llm.base_url, "MOTIVECHECK_LLM_TIMEOUT": "15",
            "MOTIVECHECK_LLM_DEADLINE": "20"}, db_path=f"{tmp}/bench.db")
        app = RunningApp(settings)
        try:
            acks: list[float] = []

            def send(i: int) -> int:
                t = time.perf_counter()
                code, _ = app.command(f"We'll launch Premium Plus {i} to upsell existing accounts and lift ARR.",
                                      response_url=slack.response_url(f"r{i}"), user=f"U{i:03d}")
                acks.append((time.perf_counter() - t) * 1000)
                return code

            first = time.perf_counter()
            with ThreadPoolExecutor(max_workers=N) as pool:
                codes = list(pool.map(send, range(N)))
            slack.wait_for(lambda: len(slack.responses) >= N, timeout=30)
            last = time.perf_counter() - first
            acks.sort()
            logged = app.deps.store.db.execute("select count(*) from checks where status = 'done'").fetchone()[0]
            print(f"HTTP mode: {codes.count(200)}/{N} acknowledged with 200; ack p50 {statistics.median(acks):.0f} ms, "
                  f"p99 {acks[int(N * 0.99) - 1]:.0f} ms (target p99 <= 100 ms)")
            print(f"answered {len(slack.responses)}/{N} within {last:.1f} s of the first command "
                  f"(LLM takes {LLM_SECONDS:.0f} s; target: all within 7 s); {logged} checks logged; "
                  f"{len(llm.requests)} LLM requests")
        finally:
            app.stop()


if __name__ == "__main__":
    main()
