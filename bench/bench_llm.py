"""LLM engine figures: prompt size for a 200-word draft, and 50 concurrent checks against a 2 s server.

Token counts are an estimate (characters / 4, the usual rule of thumb for English with OpenAI
tokenizers): tiktoken needs to download its encodings, which is not possible offline.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from bench_rules import TYPICAL  # noqa: E402
from openai_server import FakeOpenAI, answer, verdict_answer  # noqa: E402

from bot.checker import Checker  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.engines.llm import LLMEngine  # noqa: E402
from bot.playbook import load_playbook  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.text import prepare  # noqa: E402


def estimate_tokens(text: str) -> int:
    return round(len(text) / 4)


def main() -> None:
    settings = load_settings(env={"OPENAI_API_KEY": "sk-bench"})
    engine = LLMEngine(settings, load_playbook("outside-in"))
    words = TYPICAL.split()
    sizes = []
    for shift in range(5):
        draft = " ".join((words[shift:] + words[:shift])[:200])
        body, _, _ = engine.request(prepare(draft))
        sizes.append(sum(estimate_tokens(m["content"]) for m in body["messages"]))
    system_tokens = estimate_tokens(body["messages"][0]["content"])
    print(f"prompt for a 200-word draft: median ~{statistics.median(sizes)} input tokens (estimate: chars/4), "
          f"of which ~{system_tokens} are the static system prompt; target < 1,500")

    with FakeOpenAI(default=answer(verdict_answer(), delay=2.0)) as server, tempfile.TemporaryDirectory() as tmp:
        s = load_settings(env={"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": server.base_url,
                               "MOTIVECHECK_LLM_TIMEOUT": "10", "MOTIVECHECK_LLM_DEADLINE": "20"},
                          db_path=f"{tmp}/b.db")
        checker = Checker(s, Store(s.db_path))

        async def run() -> list:
            return await asyncio.gather(*(checker.acheck(f"{TYPICAL} ({i})", log=True) for i in range(50)))

        started = time.perf_counter()
        results = asyncio.run(run())
        elapsed = time.perf_counter() - started
        ok = sum(r.verdict.engine == "openai" for r in results)
        print(f"50 concurrent checks, server answering in 2 s: {elapsed:.2f} s in total, {ok}/50 answered by the "
              f"LLM, {checker.store.count('checks')} logged; target < 5 s")


if __name__ == "__main__":
    main()
