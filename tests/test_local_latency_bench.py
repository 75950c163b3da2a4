"""bench/local_model_latency.py against the loopback OpenAI server: it reports what the server returned and what
the engine did (a refused JSON mode, a timeout), and reads llama.cpp's own timings into speeds and an estimate."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from openai_server import FakeOpenAI, answer, refuse_formats, slow, verdict_answer

from bot.engines.llm import forget_json_modes

BENCH = Path(__file__).resolve().parent.parent / "bench" / "local_model_latency.py"
PREMIUM = "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("local_model_latency", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def draft(tmp_path):
    path = tmp_path / "draft.txt"
    path.write_text(PREMIUM)
    return str(path)


def _run(bench, capsys, *args: str) -> dict:
    forget_json_modes()  # a later server may get an earlier one's port
    assert bench.main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_reports_the_tokens_the_server_returned_and_the_json_mode_it_took(bench, draft, capsys):
    with FakeOpenAI(default=refuse_formats(("json_schema",), answer(verdict_answer()))) as server:
        out = _run(bench, capsys, "--base-url", server.base_url, "-n", "2", "--drafts", draft)
    full, triage = out["summary"]["full"], out["summary"]["triage"]
    # The first check was refused json_schema and stepped down; the second started in json_object.
    assert full["checks"] == 2 and full["requests"] == 3
    assert full["json_modes"] == {"json_schema": 1, "json_object": 2}
    assert full["outcomes"] == {"answered": 2}
    assert full["prompt_tokens_per_check"] == 900 and full["completion_tokens_per_check"] == 120
    assert triage["checks"] == 2 and triage["requests"] == 2 and triage["json_modes"] == {"text": 2}
    assert triage["prompt_tokens_per_check"] == 900
    assert "server" not in full  # this server reports no timings of its own
    sent = [r for r in server.requests if r.get("max_tokens") == 5]
    assert len(sent) == 2 and all(PREMIUM in r["messages"][-1]["content"] for r in sent)


def test_a_check_past_its_deadline_is_reported_as_the_engines_fallback(bench, draft, capsys):
    with FakeOpenAI(default=slow(1.5, answer(verdict_answer()))) as server:
        out = _run(bench, capsys, "--base-url", server.base_url, "-n", "1", "--no-triage", "--drafts", draft,
                   "--timeout", "0.3", "--deadline", "0.5", "--retries", "0")
    assert out["checks"][0]["seconds"] < 1.2  # the deadline, not the 1.5 s server, ended the check
    full = out["summary"]["full"]
    assert full["outcomes"] == {"fallback: timeout": 1}
    assert out["checks"][0]["requests"][0]["outcome"] in ("APITimeoutError", "TimeoutError", "CancelledError")
    assert "triage" not in out["summary"]


def test_llama_cpp_timings_give_prompt_and_generation_speed_and_an_estimate(bench, draft, capsys):
    timings = {"prompt_n": 2900, "prompt_ms": 29000.0, "predicted_n": 100, "predicted_ms": 5000.0}

    def with_timings(_req: dict) -> tuple[int, dict[str, str], bytes]:
        body = {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "timings": timings,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": json.dumps(verdict_answer())}}],
                "usage": {"prompt_tokens": 2900, "completion_tokens": 100, "total_tokens": 3000}}
        return 200, {}, json.dumps(body).encode()

    with FakeOpenAI(default=with_timings) as server:
        out = _run(bench, capsys, "--base-url", server.base_url, "-n", "1", "--no-triage", "--drafts", draft,
                   "--answer-tokens", "300")
    sv = out["summary"]["full"]["server"]
    assert sv["prompt_per_s"] == 100.0 and sv["generation_per_s"] == 20.0
    assert sv["estimate"] == {"answer_tokens": 300, "cold_s": 44.0, "warm_s": 44.0}  # 29 s + 300 x 0.05 s
