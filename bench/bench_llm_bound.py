"""A burst against a provider that limits requests in flight: MOTIVECHECK_LLM_CONCURRENCY off, then on, one run.

The stand-in provider answers in ``--latency`` seconds and refuses (429, ``Retry-After: 1``) any request beyond
``--provider-limit`` in flight, as a rate-limited key does. One workspace sends ``--flood`` checks at once; a
second sends ``--others`` checks 0.2 s later. For each setting the bench prints, per workspace, how many checks the
LLM answered (the rest fell back to the offline engine), their time to a verdict, and the requests sent and refused.

    python bench/bench_llm_bound.py            # defaults: provider limit 10, 2 s answers, a flood of 100, 5 others
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from openai_server import FakeOpenAI, answer, status, verdict_answer  # noqa: E402
from timing import percentile  # noqa: E402

from bot.checker import Checker  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.store import Store  # noqa: E402


class LimitedProvider:
    """Answers after ``latency`` seconds; beyond ``limit`` requests in flight, 429 with Retry-After: 1."""

    def __init__(self, limit: int, latency: float) -> None:
        self.limit, self.latency = limit, latency
        self.now = self.sent = self.refused = 0
        self._lock = threading.Lock()

    def __call__(self, req: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.sent += 1
            if self.now >= self.limit:
                self.refused += 1
                return status(429, {"Retry-After": "1"})(req)
            self.now += 1
        try:
            time.sleep(self.latency)
            return answer(verdict_answer())(req)
        finally:
            with self._lock:
                self.now -= 1


def draft(team: str, n: int) -> str:
    return f"Team {team}, plan {n}: we'll launch Premium Plus to upsell existing accounts and lift ARR 15%."


def run(bound: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    provider = LimitedProvider(args.provider_limit, args.latency)
    with FakeOpenAI(default=provider) as server:
        env = {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": server.base_url, "MOTIVECHECK_MODEL": "bench",
               "MOTIVECHECK_LLM_CONCURRENCY": str(bound)}
        settings = load_settings(env=env, db_path=str(tmp / f"bound{bound}.db"))
        checker = Checker(settings, Store(settings.db_path))
        checker.warm_up()

        async def one(team: str, n: int) -> tuple[str, bool, float]:
            started = time.monotonic()
            verdict, _ = await checker.aassess(draft(team, n), workspace=team)
            return team, verdict.engine == "openai", time.monotonic() - started

        async def burst() -> list[tuple[str, bool, float]]:
            flood = [asyncio.create_task(one("flood", n)) for n in range(args.flood)]
            await asyncio.sleep(0.2)
            others = [asyncio.create_task(one("other", n)) for n in range(args.others)]
            return await asyncio.gather(*flood, *others)

        results = asyncio.run(burst())
    out: dict[str, Any] = {"sent": provider.sent, "refused": provider.refused}
    for team in ("flood", "other"):
        mine = [r for r in results if r[0] == team]
        times = sorted(r[2] for r in mine)
        out[team] = (sum(r[1] for r in mine), len(mine), percentile(times, 50), times[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider-limit", type=int, default=10, help="requests in flight the provider takes")
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per answer")
    parser.add_argument("--flood", type=int, default=100, help="checks at once from one workspace")
    parser.add_argument("--others", type=int, default=5, help="checks from a second workspace, 0.2 s later")
    parser.add_argument("--bound", type=int, default=0, help="MOTIVECHECK_LLM_CONCURRENCY to compare with off "
                        "(default: the provider's limit)")
    args = parser.parse_args()
    bound = args.bound or args.provider_limit
    print(f"provider: {args.provider_limit} requests in flight, {args.latency:g} s an answer; deadline 20 s; "
          f"{args.flood} checks at once from one workspace, {args.others} from another 0.2 s later")
    print(f"{'MOTIVECHECK_LLM_CONCURRENCY':<28} {'workspace':<9} {'by the LLM':>12} {'p50 s':>7} {'max s':>7} "
          f"{'requests sent / refused':>24}")
    with tempfile.TemporaryDirectory() as tmp:
        for setting in (0, bound):
            figures = run(setting, args, Path(tmp))
            for team in ("flood", "other"):
                llm, total, p50, most = figures[team]
                label = "0 (off)" if setting == 0 else str(setting)
                sent = f"{figures['sent']} / {figures['refused']}" if team == "flood" else ""
                print(f"{label:<28} {team:<9} {f'{llm} of {total}':>12} {p50:>7.1f} {most:>7.1f} {sent:>24}")


if __name__ == "__main__":
    main()
