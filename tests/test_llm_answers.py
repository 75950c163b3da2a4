"""Hostile and cut-off answers, and what failed requests cost: over real HTTP against the scripted server."""

from __future__ import annotations

import json

import pytest
from openai_server import FakeOpenAI, raw, verdict_answer
from test_llm import PREMIUM, make_checker

from bot.verdict import Usage


@pytest.fixture
def server():
    with FakeOpenAI() as s:
        yield s


def test_an_integer_of_thousands_of_digits_is_an_unusable_answer_and_the_check_falls_back(server, tmp_path):
    body = json.dumps(verdict_answer()).replace('"customer_ease": 15', '"customer_ease": ' + "9" * 5000)
    server.script(raw(body), raw(body))
    v = make_checker(server, tmp_path).check(PREMIUM).verdict
    assert v.engine == "trained" and v.fallback == "invalid-json"
    assert len(server.requests) == 2  # the answer, then its one repair


def test_arrays_nested_thousands_deep_are_an_unusable_answer(server, tmp_path):
    deep = "[" * 30000 + "]" * 30000  # under the size cap: the parser itself must not crash the check
    server.script(raw(deep), raw('{"x": ' + deep + "}"))
    v = make_checker(server, tmp_path).check(PREMIUM).verdict
    assert v.engine == "trained" and v.fallback == "invalid-json"


def test_an_answer_over_the_size_cap_is_refused_unread_and_not_repaired(server, tmp_path):
    server.script(raw("[" * 100000 + "]" * 100000))
    v = make_checker(server, tmp_path).check(PREMIUM).verdict
    assert v.engine == "trained" and v.fallback == "oversized-answer"
    assert len(server.requests) == 1


def test_the_tokens_of_failed_requests_are_counted_and_logged(server, tmp_path):
    server.script(raw("{not json"), raw("{not json"))  # two billed completions: 900 + 120 tokens each
    checker = make_checker(server, tmp_path)
    result = checker.check(PREMIUM, log=True)
    assert result.verdict.fallback == "invalid-json" and len(server.requests) == 2
    assert result.usage == Usage(prompt_tokens=1800, completion_tokens=240, cached_tokens=1024)
    row = checker.store.get_check(result.check_id)
    assert (row["prompt_tokens"], row["completion_tokens"], row["cached_tokens"]) == (1800, 240, 1024)


def test_the_tokens_of_a_failed_first_pass_are_counted_on_the_channel_road(server, tmp_path):
    cut = raw("", finish="content_filter")  # a first pass filtered (billed, no word), then the full prompt filtered
    server.script(cut, cut)
    checker = make_checker(server, tmp_path, MOTIVECHECK_CHANNEL_TRIAGE="on")
    result = checker.check(PREMIUM, mode="channel", log=True)
    assert result.verdict.fallback == "content-filter" and len(server.requests) == 2
    assert result.usage.prompt_tokens == 1800


def test_a_cut_off_answer_is_asked_once_more_with_an_output_cap_never_the_same_request(server, tmp_path):
    cut = raw('{"label": "inside-out", "customer', finish="length")
    server.script(cut, cut, cut)
    result = make_checker(server, tmp_path).check(PREMIUM, log=True)
    assert result.verdict.fallback == "truncated"
    first, second = server.requests
    # The first request sends no cap (recorded answers are keyed on it); the one retry has room to finish.
    assert "max_tokens" not in first and second["max_tokens"] >= 1200
    assert {k: v for k, v in second.items() if k != "max_tokens"} == first
    assert result.usage.prompt_tokens == 1800


def test_a_cut_off_answer_then_a_whole_one_is_used(server, tmp_path):
    server.script(raw('{"evidence": [', finish="length"))
    v = make_checker(server, tmp_path).check(PREMIUM).verdict
    assert v.engine == "openai" and v.fallback is None and len(server.requests) == 2
    assert server.requests[1]["max_tokens"] >= 1200


def test_a_content_filtered_answer_is_final_and_never_sent_back_for_repair(server, tmp_path):
    cut = raw('{"evidence": [{"quote": "upsell', finish="content_filter")
    server.script(cut, cut)
    result = make_checker(server, tmp_path).check(PREMIUM, log=True)
    assert result.verdict.engine == "trained" and result.verdict.fallback == "content-filter"
    assert any("(content-filter)" in n for n in result.verdict.notes)
    assert len(server.requests) == 1
