"""How long a check takes against a local (or any OpenAI-compatible) model, on the app's own requests.

Sends ``N`` full checks (the verdict prompt, about 2,800 tokens in) and ``N`` first passes of the channel
road (the triage prompt, about 200 tokens in, 5 out) through the LLM engine itself — its request builder,
JSON-mode fallbacks, validation, repair and deadline, as the app runs them — and prints p50/p95 wall time,
prompt and completion tokens, what the engine did (answered, repaired, stepped down a JSON mode, fell back)
and tokens per second. Where the server reports its own timings (llama.cpp's ``timings``), prompt
processing and generation speed are printed apart; ``--answer-tokens`` then estimates a check with an answer
of that length (a verdict is about 300 tokens; see README, *Use a local model*).

    python bench/local_model_latency.py --base-url http://127.0.0.1:8080/v1 -n 5 --timeout 60 --deadline 120

Drafts: ``examples/`` (or ``--drafts FILE``, plain text or JSONL with ``text``), taken in turn. No check is
served from the verdict cache: the engine is called directly. Project dependencies only; loopback servers
only in the tests (``tests/test_local_latency_bench.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))  # timing.py, also when a test loads this file by its path

from timing import percentile  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.engines.llm import LLMEngine, get_client  # noqa: E402
from bot.engines.recording import StandInClient, purpose_of, request_body  # noqa: E402
from bot.errors import EngineError  # noqa: E402
from bot.playbook import load_playbook  # noqa: E402
from bot.text import prepare  # noqa: E402

EXAMPLES = HERE.parent / "examples"


@dataclass
class Request:
    """One HTTP request the engine sent, as the server answered it."""

    purpose: str  # verdict or triage
    json_mode: str  # json_schema, json_object or text (the response_format sent)
    seconds: float
    outcome: str  # ok, or the exception's class name
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    finish_reason: str | None = None
    repair: bool = False  # the repair request (the answer was sent back with its error)
    max_tokens: int | None = None
    # llama.cpp's own timings: prompt tokens it processed (not served from its cache) and generation speed.
    server_prompt_n: int | None = None
    server_prompt_ms: float | None = None
    server_predicted_n: int | None = None
    server_predicted_ms: float | None = None


@dataclass
class Check:
    """One check (or first pass) through the engine: wall time, outcome and the requests it took."""

    kind: str  # full or triage
    seconds: float
    outcome: str  # answered / proposal / chatter, or the fallback reason
    requests: list[Request] = field(default_factory=list)


class _Timed(StandInClient):
    """Stands where the OpenAI client stands (as record and replay do) and times each request."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self._client = client
        self.requests: list[Request] = []

    async def complete(self, kwargs: dict[str, Any]) -> Any:
        body = request_body(kwargs)
        fmt, messages = body["response_format"], body["messages"] or []
        req = Request(purpose=purpose_of(kwargs), json_mode=fmt["type"] if fmt else "text", seconds=0.0,
                      outcome="ok", repair=len(messages) > 2, max_tokens=body["max_tokens"])
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(**kwargs)
        except BaseException as exc:  # a timeout cancels the call: record it, then let the engine see it
            req.seconds = time.perf_counter() - started
            req.outcome = type(exc).__name__
            self.requests.append(req)
            raise
        req.seconds = time.perf_counter() - started
        usage = getattr(response, "usage", None)
        if usage is not None:
            req.prompt_tokens = usage.prompt_tokens or 0
            req.completion_tokens = usage.completion_tokens or 0
            details = getattr(usage, "prompt_tokens_details", None)
            req.cached_tokens = (getattr(details, "cached_tokens", 0) or 0) if details else 0
        if response.choices:
            req.finish_reason = response.choices[0].finish_reason
        timings = (getattr(response, "model_extra", None) or {}).get("timings") or {}
        if isinstance(timings, dict):
            req.server_prompt_n = timings.get("prompt_n")
            req.server_prompt_ms = timings.get("prompt_ms")
            req.server_predicted_n = timings.get("predicted_n")
            req.server_predicted_ms = timings.get("predicted_ms")
        self.requests.append(req)
        return response


def read_drafts(paths: list[str]) -> list[str]:
    """The drafts to send: each .jsonl line's ``text``, each other file whole; by default examples/."""
    files = [Path(p) for p in paths] or sorted(EXAMPLES.glob("*.txt")) + [EXAMPLES / "drafts.jsonl"]
    drafts: list[str] = []
    for path in files:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix == ".jsonl":
            drafts += [json.loads(line)["text"] for line in text.splitlines() if line.strip()]
        elif text.strip():
            drafts.append(text.strip())
    if not drafts:
        raise SystemExit("no drafts to send")
    return drafts


async def run(engine: LLMEngine, timed: _Timed, drafts: list[str], n: int, triage: bool) -> list[Check]:
    """``n`` full checks, then ``n`` first passes, one at a time (a local server serves one well at once)."""
    checks: list[Check] = []
    kinds = ["full"] * n + (["triage"] * n if triage else [])
    for i, kind in enumerate(kinds):
        prepared = prepare(drafts[i % n % len(drafts)])
        first = len(timed.requests)
        started = time.perf_counter()
        try:
            if kind == "full":
                await engine.aassess(prepared, "explicit")
                outcome = "answered"
            else:
                proposal, _usage = await engine.atriage(prepared)
                outcome = "proposal" if proposal else "chatter"
        except EngineError as exc:
            outcome = f"fallback: {exc.reason}"
        checks.append(Check(kind, time.perf_counter() - started, outcome, timed.requests[first:]))
    return checks


def summarise(checks: list[Check], answer_tokens: int | None = None) -> dict[str, Any]:
    """Per kind: wall time p50/p95 (and the first, cold one), tokens, outcomes, JSON modes and speeds."""
    out: dict[str, Any] = {}
    for kind in ("full", "triage"):
        mine = [c for c in checks if c.kind == kind]
        if not mine:
            continue
        reqs = [r for c in mine for r in c.requests]
        walls = [c.seconds for c in mine]
        outcomes: dict[str, int] = {}
        for c in mine:
            outcomes[c.outcome] = outcomes.get(c.outcome, 0) + 1
        modes: dict[str, int] = {}
        for r in reqs:
            modes[r.json_mode] = modes.get(r.json_mode, 0) + 1
        prompt = sum(r.prompt_tokens for r in reqs)
        completion = sum(r.completion_tokens for r in reqs)
        busy = sum(r.seconds for r in reqs)
        summary: dict[str, Any] = {
            "checks": len(mine),
            "wall_p50_s": round(percentile(walls, 50), 3),
            "wall_p95_s": round(percentile(walls, 95), 3),
            "wall_first_s": round(walls[0], 3),
            "requests": len(reqs),
            "repairs": sum(r.repair for r in reqs),
            "outcomes": outcomes,
            "json_modes": modes,
            "finish_reasons": sorted({str(r.finish_reason) for r in reqs}),
            "prompt_tokens_per_check": round(prompt / len(mine), 1),
            "completion_tokens_per_check": round(completion / len(mine), 1),
            "tokens_per_s": round((prompt + completion) / busy, 1) if busy else None,
        }
        timed = [r for r in reqs if r.server_prompt_ms is not None and r.server_predicted_ms is not None]
        if timed:
            pn = sum(r.server_prompt_n or 0 for r in timed)
            pms = sum(r.server_prompt_ms or 0 for r in timed)
            gn = sum(r.server_predicted_n or 0 for r in timed)
            gms = sum(r.server_predicted_ms or 0 for r in timed)
            first = timed[0]
            summary["server"] = {
                "prompt_tokens_processed": pn,  # after the server's prefix cache
                "prompt_per_s": round(pn / pms * 1000, 1) if pms else None,
                "generation_per_s": round(gn / gms * 1000, 2) if gms else None,
                "first_prompt_n": first.server_prompt_n,
                "first_prompt_s": round((first.server_prompt_ms or 0) / 1000, 2),
            }
            if kind == "full" and answer_tokens and gn and pms:  # a first pass answers one word
                per_token = gms / gn / 1000
                cold = (first.server_prompt_ms or 0) / 1000
                warm = min((r.server_prompt_ms or 0) for r in timed) / 1000
                summary["server"]["estimate"] = {
                    "answer_tokens": answer_tokens,
                    "cold_s": round(cold + answer_tokens * per_token, 1),
                    "warm_s": round(warm + answer_tokens * per_token, 1),
                }
        out[kind] = summary
    return out


def _print(summary: dict[str, Any], settings: Any) -> None:
    print(f"server {settings.openai_base_url}  model {settings.model}  timeout {settings.llm_timeout:g} s  "
          f"deadline {settings.llm_deadline:g} s  retries {settings.llm_retries}")
    for kind, s in summary.items():
        name = "full check (verdict prompt)" if kind == "full" else "first pass (triage prompt)"
        print(f"\n{name}: {s['checks']} in {s['requests']} requests ({s['repairs']} repairs)")
        print(f"  wall time: p50 {s['wall_p50_s']:.2f} s, p95 {s['wall_p95_s']:.2f} s, first {s['wall_first_s']:.2f} s")
        print(f"  tokens per check: {s['prompt_tokens_per_check']:g} prompt, {s['completion_tokens_per_check']:g} "
              f"completion; {s['tokens_per_s']} tokens/s over the requests' time")
        print(f"  outcomes: {s['outcomes']}; JSON modes sent: {s['json_modes']}; finish: {s['finish_reasons']}")
        if "server" in s:
            sv = s["server"]
            print(f"  server timings: prompt {sv['prompt_per_s']} tokens/s ({sv['prompt_tokens_processed']} processed "
                  f"after its cache; the first request {sv['first_prompt_n']} in {sv['first_prompt_s']} s), "
                  f"generation {sv['generation_per_s']} tokens/s")
            if "estimate" in sv:
                est = sv["estimate"]
                print(f"  estimated with a {est['answer_tokens']}-token answer: {est['cold_s']} s cold, "
                      f"{est['warm_s']} s with the prompt's prefix cached")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="the server's OpenAI-compatible base URL (…/v1)")
    parser.add_argument("--model", default="local", help="the model name to send (default: local)")
    parser.add_argument("--api-key", default="local", help="the API key to send (default: local)")
    parser.add_argument("-n", type=int, default=5, help="full checks, and first passes, to send (default 5)")
    parser.add_argument("--drafts", nargs="*", default=[], help="draft files (.txt, or .jsonl with text)")
    parser.add_argument("--timeout", type=float, help="MOTIVECHECK_LLM_TIMEOUT for the run")
    parser.add_argument("--deadline", type=float, help="MOTIVECHECK_LLM_DEADLINE for the run")
    parser.add_argument("--retries", type=int, help="MOTIVECHECK_LLM_RETRIES for the run")
    parser.add_argument("--json-mode", choices=["auto", "json_schema", "json_object", "text"], default="auto")
    parser.add_argument("--no-triage", action="store_true", help="send full checks only")
    parser.add_argument("--answer-tokens", type=int, help="estimate a check with an answer this long")
    parser.add_argument("--json", action="store_true", help="print the summary and every request as JSON")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("-n must be at least 1")
    env = {"OPENAI_API_KEY": args.api_key, "OPENAI_BASE_URL": args.base_url, "MOTIVECHECK_MODEL": args.model,
           "MOTIVECHECK_LLM_JSON_MODE": args.json_mode}
    for var, value in (("MOTIVECHECK_LLM_TIMEOUT", args.timeout), ("MOTIVECHECK_LLM_DEADLINE", args.deadline),
                       ("MOTIVECHECK_LLM_RETRIES", args.retries)):
        if value is not None:
            env[var] = str(value)
    settings = load_settings(env=env)
    engine = LLMEngine(settings, load_playbook(settings.playbook))

    async def go() -> list[Check]:
        timed = _Timed(get_client(settings))
        engine.transport = timed
        return await run(engine, timed, read_drafts(args.drafts), args.n, not args.no_triage)

    checks = asyncio.run(go())
    summary = summarise(checks, args.answer_tokens)
    if args.json:
        print(json.dumps({"summary": summary, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        _print(summary, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
