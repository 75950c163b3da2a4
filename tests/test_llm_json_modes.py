"""Servers that cannot take a strict JSON schema (many local ones), answers that need reading or repairing,
and Azure OpenAI: the real openai client against the loopback server, the requests it sent checked."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from openai_server import (
    AZURE_OLD_API,
    FASTAPI_422,
    LLAMA_CPP,
    LLAMA_CPP_OLD,
    LM_STUDIO,
    NO_FORMAT,
    FakeOpenAI,
    answer,
    fenced,
    prose,
    raw,
    refuse_formats,
    slow,
    verdict_answer,
)
from test_llm import make_checker as llm_checker

from bot.checker import Checker
from bot.config import load_settings
from bot.engines.llm import extract_json, forget_json_modes

PREMIUM = "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."
SCHEMA_MARK = '"customer_ease": {"description"'  # a stretch of the schema as schema.j2 puts it in the prompt


@pytest.fixture
def server():
    forget_json_modes()  # a later server may get an earlier one's port
    with FakeOpenAI() as s:
        yield s
    forget_json_modes()


def make_checker(server: FakeOpenAI, tmp_path: Path, **env: str) -> Checker:
    """test_llm's checker, with a longer deadline: a chain of JSON modes takes several requests."""
    return llm_checker(server, tmp_path, **{"MOTIVECHECK_LLM_DEADLINE": "3", **env})


def fmt(req: dict) -> str | None:
    return (req.get("response_format") or {}).get("type")


def user_text(req: dict) -> str:
    return req["messages"][1]["content"]


@pytest.mark.parametrize("error", [LLAMA_CPP, LLAMA_CPP_OLD, AZURE_OLD_API, FASTAPI_422],
                         ids=["llama.cpp-400", "llama.cpp-old-500", "azure-old-api-version", "fastapi-422"])
def test_a_server_that_refuses_json_schema_is_asked_with_json_object_and_the_schema_in_the_prompt(
        server, tmp_path, error):
    server.default = refuse_formats(("json_schema",), answer(verdict_answer()), error)
    checker = make_checker(server, tmp_path)
    result = checker.check(PREMIUM, log=True)
    v = result.verdict
    assert v.engine == "openai" and v.fallback is None and v.label == "inside-out"
    refused, accepted = server.requests
    assert fmt(refused) == "json_schema" and SCHEMA_MARK not in user_text(refused)
    assert accepted["response_format"] == {"type": "json_object"}
    assert user_text(accepted).startswith("Reply with one JSON object") and SCHEMA_MARK in user_text(accepted)
    assert f"<draft>\n{PREMIUM}\n</draft>" in user_text(accepted)
    # The static system prompt is first and byte-identical in both modes, so a provider's prompt cache applies.
    assert accepted["messages"][0] == refused["messages"][0]
    # Tokens of the request that succeeded are logged (the refused one came back without usage).
    row = checker.store.get_check(result.check_id)
    assert (row["engine"], row["prompt_tokens"]) == ("openai", 900)
    # The next check on this server and model starts with json_object: no refused request again.
    checker.check(PREMIUM + " Again.")
    assert [fmt(r) for r in server.requests] == ["json_schema", "json_object", "json_object"]


def test_a_server_that_refuses_any_response_format_is_asked_in_plain_text(server, tmp_path):
    server.default = refuse_formats(("json_schema", "json_object"), prose(verdict_answer()), NO_FORMAT)
    # Stepping down the modes uses no retries: it works with none allowed.
    v = make_checker(server, tmp_path, MOTIVECHECK_LLM_RETRIES="0").check(PREMIUM).verdict
    assert v.engine == "openai" and v.fallback is None and v.reframe.startswith("Premium Plus")
    assert [fmt(r) for r in server.requests] == ["json_schema", "json_object", None]
    text = server.requests[-1]
    assert "response_format" not in text and SCHEMA_MARK in user_text(text)
    assert text["messages"][0] == server.requests[0]["messages"][0]


def test_lm_studio_refusing_json_object_after_json_schema_ends_in_plain_text(server, tmp_path):
    # LM Studio takes json_schema but not json_object; a schema it could not take would meet that refusal next.
    server.script(refuse_formats(("json_schema",), answer({}), LLAMA_CPP))
    server.default = refuse_formats(("json_object",), fenced(verdict_answer()), LM_STUDIO)
    v = make_checker(server, tmp_path).check(PREMIUM).verdict
    assert v.engine == "openai" and [fmt(r) for r in server.requests] == ["json_schema", "json_object", None]


@pytest.mark.parametrize("behaviour", [
    fenced(verdict_answer()),
    fenced(verdict_answer(), before="", after=""),
    prose(verdict_answer()),
    raw("<think>The draft leads with {the up-sell}.</think>\n" + json.dumps(verdict_answer())),
    raw("Assessment {draft 1}:\n```\n" + json.dumps(verdict_answer()) + "\n```"),
], ids=["fence-in-prose", "bare-fence", "prose-around-json", "thinking-first", "fence-without-language"])
def test_json_in_a_fence_or_among_prose_is_read_without_a_repair(server, tmp_path, behaviour):
    server.script(behaviour)
    v = make_checker(server, tmp_path).check(PREMIUM).verdict
    assert v.engine == "openai" and v.fallback is None and v.label == "inside-out"
    assert len(server.requests) == 1


def test_an_answer_that_is_not_json_gets_one_repair_with_the_schema(server, tmp_path):
    broken = '{"evidence": [{"quote": "upsell existing accounts", "shows": "upsell-crosssell"}], "label": '
    server.script(raw(broken), answer(verdict_answer()))
    checker = make_checker(server, tmp_path)
    result = checker.check(PREMIUM, log=True)
    assert result.verdict.engine == "openai" and result.verdict.fallback is None
    first, repair = server.requests
    assert [m["role"] for m in repair["messages"]] == ["system", "user", "assistant", "user"]
    assert repair["messages"][:2] == first["messages"]  # the conversation so far is unchanged: cached prefix
    assert repair["messages"][2]["content"] == broken
    asked = repair["messages"][3]["content"]
    assert "not a JSON object" in asked and "corrected JSON object only" in asked
    assert SCHEMA_MARK in asked  # in json_schema mode the schema was only in response_format
    assert repair["response_format"] == first["response_format"]
    row = checker.store.get_check(result.check_id)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (1800, 240)  # both requests are paid for


def test_an_answer_that_misses_the_schema_is_repaired_with_the_validation_error(server, tmp_path):
    server.default = refuse_formats(("json_schema",), answer(verdict_answer()))
    server.script(refuse_formats(("json_schema",), answer({})), answer(verdict_answer(label="maybe")))
    v = make_checker(server, tmp_path).check(PREMIUM).verdict
    assert v.engine == "openai" and v.label == "inside-out"
    _refused, wrong, repair = server.requests
    assert fmt(wrong) == fmt(repair) == "json_object"
    asked = repair["messages"][3]["content"]
    assert "did not match the schema" in asked and "label" in asked and "outside-in" in asked
    assert SCHEMA_MARK not in asked  # json_object mode: the schema is already in the conversation


def test_when_the_repair_fails_too_the_offline_engine_answers_and_says_so(server, tmp_path):
    server.script(prose({"verdict": "inside-out"}), raw("I think this draft is inside-out."))
    checker = make_checker(server, tmp_path)
    result = checker.check(PREMIUM, log=True)
    v = result.verdict
    assert v.engine == "trained" and v.fallback == "invalid-json" and v.label == "inside-out"
    assert any("The LLM did not answer (invalid-json); the offline trained engine answered instead." == n
               for n in v.notes)
    assert len(server.requests) == 2  # the answer and its one repair, no more
    assert checker.store.get_check(result.check_id)["fallback"] == "invalid-json"


def test_a_forced_mode_is_used_from_the_first_request(server, tmp_path):
    server.script(fenced(verdict_answer()))
    v = make_checker(server, tmp_path, MOTIVECHECK_LLM_JSON_MODE="text").check(PREMIUM).verdict
    (req,) = server.requests
    assert v.engine == "openai" and "response_format" not in req and SCHEMA_MARK in user_text(req)


def test_a_forced_mode_the_server_refuses_falls_back_without_stepping_down(server, tmp_path):
    server.default = refuse_formats(("json_schema",), answer(verdict_answer()))
    v = make_checker(server, tmp_path, MOTIVECHECK_LLM_JSON_MODE="json_schema").check(PREMIUM).verdict
    assert v.engine == "trained" and v.fallback == "format-refused"
    assert [fmt(r) for r in server.requests] == ["json_schema"]


def test_other_client_errors_do_not_step_down(server, tmp_path):
    server.default = lambda _req: (400, {}, json.dumps({"error": {"message": "This model's maximum context "
                                                                  "length is 2048 tokens"}}).encode())
    v = make_checker(server, tmp_path).check(PREMIUM).verdict
    assert v.fallback == "http-400" and [fmt(r) for r in server.requests] == ["json_schema"]


def test_stepping_down_and_retries_share_one_deadline(server, tmp_path):
    # Each refusal takes 0.3 s and a plain-text answer 7 s: the third request meets the 1.2 s deadline.
    server.default = slow(0.3, refuse_formats(("json_schema", "json_object"), slow(6.7, answer(verdict_answer()))))
    checker = make_checker(server, tmp_path, MOTIVECHECK_LLM_DEADLINE="1.2", MOTIVECHECK_LLM_TIMEOUT="5")
    started = time.monotonic()
    v = checker.check(PREMIUM).verdict
    took = time.monotonic() - started
    assert v.engine == "trained" and v.fallback == "timeout"
    assert [fmt(r) for r in server.requests] == ["json_schema", "json_object", None]
    # The deadline and the offline engine (about 1.5 s), not the per-request timeout (0.6 + 5 s) or the server
    # (7.3 s); the margin is for a loaded machine.
    assert took < 4.5


def test_azure_openai_deployment_path_api_version_and_key_header(server, tmp_path):
    checker = make_checker(server, tmp_path, OPENAI_BASE_URL="", AZURE_OPENAI_ENDPOINT=server.root_url,
                           MOTIVECHECK_MODEL="coach-4o-mini")
    v = checker.check(PREMIUM).verdict
    assert v.engine == "openai" and v.model == "coach-4o-mini" and v.fallback is None
    assert server.paths == ["/openai/deployments/coach-4o-mini/chat/completions?api-version=2024-10-21"]
    assert server.headers[0]["api-key"] == "sk-test-123456789" and "authorization" not in server.headers[0]
    assert fmt(server.requests[0]) == "json_schema"
    other = make_checker(server, tmp_path, OPENAI_BASE_URL="", AZURE_OPENAI_ENDPOINT=server.root_url + "/",
                         OPENAI_API_VERSION="2025-01-01-preview")
    other.check(PREMIUM + " Again.")
    assert server.paths[-1] == "/openai/deployments/test-model/chat/completions?api-version=2025-01-01-preview"


@pytest.mark.parametrize("text,found", [
    ('{"a": 1}', {"a": 1}),
    ('Here:\n```json\n{"a": 1}\n```\nand ```json\n{"b": 2}\n```', {"a": 1}),
    ('Sets {like this} and {"a": {"b": [1, 2]}} then {"c": 3}', {"a": {"b": [1, 2]}}),
    ('```JSON\n{"a": "x ``` y"}\n```', {"a": "x ``` y"}),
    ('<think>{"draft": 1}</think>{"a": 1}', {"a": 1}),
    ("[1, 2]", [1, 2]),  # JSON, though not an object: validation then asks for a repair
])
def test_extract_json_finds_the_answers_json(text, found):
    assert extract_json(text) == found


@pytest.mark.parametrize("text", [
    "", "no json here", "{broken", '<think>{"a": 1}</think> none',
    '{"a": [{"b": 1}], "c": ',  # cut off: the object inside it is no answer
])
def test_extract_json_raises_when_there_is_none(text):
    with pytest.raises(json.JSONDecodeError):
        extract_json(text)


@pytest.mark.parametrize("mode,shown", [
    ("auto", "response_format: strict JSON schema 'motive_verdict'"),
    ("json_object", "response_format: json_object (the schema is in the prompt)"),
    ("text", "response_format: none (the schema is in the prompt; JSON is read from the answer's text)"),
])
def test_prompt_render_shows_the_request_of_the_json_mode(monkeypatch, capsys, mode, shown):
    from bot.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("MOTIVECHECK_LLM_JSON_MODE", mode)
    assert main(["prompt", "render", "--text", "We will upsell accounts."]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(f"--- model: gpt-4o-mini; {shown} ---")
    assert (SCHEMA_MARK in out) == (mode != "auto")


def test_a_record_made_after_a_step_down_replays_with_that_mode_forced(server, tmp_path):
    from bot.engines.llm import LLMEngine, get_client
    from bot.engines.recording import RecordingClient, ReplayClient
    from bot.errors import EngineError
    from bot.text import prepare

    record = tmp_path / "answers.jsonl"
    server.default = refuse_formats(("json_schema",), answer(verdict_answer()))
    checker = make_checker(server, tmp_path)
    recorder = LLMEngine(checker.settings, checker.default_playbook)
    recorder.transport = RecordingClient(get_client(checker.settings), record, source="fake")
    recorder.transport.current_id = "row-1"
    assert recorder.assess(prepare(PREMIUM)).verdict.engine == "openai"
    assert len(record.read_text().splitlines()) == 1  # the refused request has no answer to record
    forget_json_modes()  # a new process
    for mode, outcome in [("auto", "stale"), ("json_object", "openai")]:
        settings = load_settings(env={"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": server.base_url,
                                      "MOTIVECHECK_LLM_JSON_MODE": mode})
        replayer = LLMEngine(settings, checker.default_playbook)
        replayer.transport = ReplayClient(record)
        replayer.transport.current_id = "row-1"
        try:
            got = replayer.assess(prepare(PREMIUM)).verdict.engine
        except EngineError as exc:
            got = exc.reason
        assert got == outcome
    assert len(server.requests) == 2  # replay never called the server
