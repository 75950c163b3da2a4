"""Hostile and cut-off answers, and what failed requests cost: over real HTTP against the scripted server."""

from __future__ import annotations

import json

import pytest
from openai_server import FakeOpenAI, answer, raw, verdict_answer
from test_llm import PREMIUM, ROOT, make_checker

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


SECRETS = ["xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
           "xapp-1-A0123456789-1234567890123-abcdef0123456789",
           "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
           "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
           "AKIAIOSFODNN7EXAMPLE",
           "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"]


@pytest.mark.parametrize("secret", SECRETS)
def test_keys_and_tokens_in_a_draft_never_reach_the_llm_nor_come_back(server, tmp_path, secret):
    draft = f"We'll upsell existing accounts to lift ARR; the deploy uses {secret} for now."
    server.script(answer(verdict_answer(reframe="Existing accounts [e.g. ... ?]; rotate [SECRET_1] first.")))
    v = make_checker(server, tmp_path).check(draft).verdict
    sent = server.requests[0]["messages"][1]["content"]
    assert secret not in sent and "[SECRET_1]" in sent
    assert secret not in v.reframe and "[SECRET_1]" in v.reframe  # a secret is never restored


def test_redaction_keeps_dates_and_grouped_amounts_but_still_hides_phone_numbers(server, tmp_path):
    draft = ("Starting 2025-03-01 we'll upsell existing accounts to lift ARR from 1 200 000 to 1 500 000 "
             "(1,200,000 in the plan); call 2025-03-01 415 555 0100, (415) 555-0199 or 0800 0890155.")
    make_checker(server, tmp_path).check(draft)
    sent = server.requests[0]["messages"][1]["content"]
    assert "2025-03-01" in sent and "1 200 000" in sent and "1 500 000" in sent and "1,200,000" in sent
    assert "555" not in sent and "0890155" not in sent and "[PHONE_3]" in sent


def test_the_verdict_cache_is_per_server_playbook_content_and_redaction(server, tmp_path):
    """Checkers sharing one database: a verdict from another server, another playbook text (same name and
    version) or with redaction off is not served from the cache; the same set-up is."""
    team = (ROOT / "playbooks" / "example-team.yaml").read_text(encoding="utf-8")
    edited = tmp_path / "example-team.yaml"
    edited.write_text(team.replace("{phrase: payout, weight: 1}", "{phrase: payout, weight: 2}"),
                      encoding="utf-8")
    plain = tmp_path / "plain.yaml"
    plain.write_text(team, encoding="utf-8")
    make_checker(server, tmp_path, MOTIVECHECK_PLAYBOOK=str(plain)).check(PREMIUM)
    make_checker(server, tmp_path, MOTIVECHECK_PLAYBOOK=str(plain)).check(PREMIUM)
    assert len(server.requests) == 1  # the same set-up: a hit
    make_checker(server, tmp_path, MOTIVECHECK_PLAYBOOK=str(edited)).check(PREMIUM)
    assert len(server.requests) == 2
    make_checker(server, tmp_path, MOTIVECHECK_PLAYBOOK=str(plain), MOTIVECHECK_REDACT="off").check(PREMIUM)
    assert len(server.requests) == 3
    with FakeOpenAI() as other:
        v = make_checker(other, tmp_path, MOTIVECHECK_PLAYBOOK=str(plain)).check(PREMIUM).verdict
        assert v.cached is False and len(other.requests) == 1
