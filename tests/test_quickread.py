"""The offline quick read says what it is, once, where people see it: the CLI footer, App Home, and the first
reply of a day in each Slack channel (counted in the store, so a restart or a second instance does not repeat it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

from openai_server import FakeOpenAI, status
from test_slack import PREMIUM, RunningApp, channel_message, settings_for

from bot import quickread
from bot.verdict import PlaybookRef, Verdict

ROOT = Path(__file__).resolve().parent.parent
SAID = "Offline quick read (no LLM configured)"


def test_the_note_names_the_reader_and_its_accuracy_on_real_writing():
    note = quickread.note("trained", llm_configured=False)
    assert note == ("Offline quick read (no LLM configured): on real writing it agrees with a careful reader about "
                    "half the time (accuracy 0.47). Configure an LLM (OPENAI_API_KEY) for a careful read.")
    assert "about 3 times in 10 (accuracy 0.29)" in quickread.note("rules", llm_configured=False)
    assert quickread.note("trained", llm_configured=True) is None  # a fallback verdict says so in its notes
    assert quickread.note("openai", llm_configured=False) is None


def _cli(*args: str, **env: str) -> str:
    import os

    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env}, timeout=60, check=True).stdout


def test_the_cli_footer_says_it_once_and_json_stays_a_verdict(tmp_path):
    out = _cli("check", "--text", PREMIUM)
    footer = " ".join(out.splitlines()[-2:])
    assert out.count("Offline quick read") == 1 and footer.startswith(SAID) and "(accuracy 0.47)" in footer
    assert out.splitlines()[-3].startswith("engine: trained")
    verdict = json.loads(_cli("check", "--json", "--text", PREMIUM))
    assert "quick read" not in json.dumps(verdict) and Verdict.model_validate(verdict).engine == "trained"
    # With an LLM configured the offline engine (asked for by name) is no quick read stand-in: no footer.
    assert "quick read" not in _cli("check", "--engine", "rules", "--text", PREMIUM, "--db", str(tmp_path / "m.db"),
                                    OPENAI_API_KEY="sk-never-called")


def _command_in(app: RunningApp, channel: str, text: str, response_url: str) -> None:
    form = {"token": "x", "team_id": "T111", "team_domain": "example", "channel_id": channel, "channel_name": "x",
            "user_id": "U111", "user_name": "ana", "command": "/motivecheck", "text": text, "api_app_id": "A111",
            "response_url": response_url, "trigger_id": "123.456.abc"}
    assert app.post(urlencode(form), "application/x-www-form-urlencoded")[0] == 200


def _answered(slack, name: str) -> str:
    assert slack.wait_for(lambda: any(n == name for n, _ in slack.responses))
    return json.dumps(next(msg for n, msg in slack.responses if n == name), ensure_ascii=False)


def test_the_first_reply_of_the_day_in_each_channel_says_it_once_across_restarts(slack, tmp_path):
    settings = settings_for(slack, tmp_path)
    app = RunningApp(settings)
    try:
        _command_in(app, "C111", PREMIUM, slack.response_url("first"))
        assert SAID in _answered(slack, "first")
        _command_in(app, "C111", PREMIUM + " Again.", slack.response_url("second"))
        assert SAID not in _answered(slack, "second")
        _command_in(app, "C999", PREMIUM, slack.response_url("elsewhere"))
        assert SAID in _answered(slack, "elsewhere")
    finally:
        app.stop()
    again = RunningApp(settings)  # a restart, or another instance on the same database: the store remembers
    try:
        _command_in(again, "C111", PREMIUM + " Once more.", slack.response_url("restarted"))
        assert SAID not in _answered(slack, "restarted")
        # A watched channel's first threaded reply of the day, in a channel not yet told today.
        again.deps.store.watch("T111", "C222")
        again.event({**channel_message(PREMIUM, ts="1700000200.000100"), "channel": "C222"}, "EvQ1")
        assert slack.wait_for(lambda: slack.calls("chat.postMessage"))
        assert SAID in json.dumps(slack.calls("chat.postMessage")[0]["blocks"])
        again.event({**channel_message(PREMIUM + " Two.", ts="1700000300.000100"), "channel": "C222"}, "EvQ2")
        assert slack.wait_for(lambda: len(slack.calls("chat.postMessage")) == 2)
        assert SAID not in json.dumps(slack.calls("chat.postMessage")[1]["blocks"])
    finally:
        again.stop()


def test_app_home_says_it_and_a_configured_llm_never_does(slack, tmp_path):
    app = RunningApp(settings_for(slack, tmp_path))
    try:
        app.event({"type": "app_home_opened", "user": "U111", "channel": "D1", "tab": "home"}, "EvHome")
        assert slack.wait_for(lambda: slack.calls("views.publish"))
        home = json.dumps(slack.calls("views.publish")[0]["view"])
        assert home.count(SAID) == 1 and "(accuracy 0.47)" in home
    finally:
        app.stop()
    with FakeOpenAI(default=status(500)) as llm:  # configured but failing: the fallback's notes say so instead
        settings = settings_for(slack, tmp_path, OPENAI_API_KEY="sk-x", OPENAI_BASE_URL=llm.base_url,
                                MOTIVECHECK_LLM_DEADLINE="1", MOTIVECHECK_LLM_RETRIES="1")
        app = RunningApp(settings)
        try:
            _command_in(app, "C333", PREMIUM, slack.response_url("llm"))
            answer = _answered(slack, "llm")
            assert "engine: trained" in answer and "quick read" not in answer
            app.event({"type": "app_home_opened", "user": "U111", "channel": "D1", "tab": "home"}, "EvHome2")
            assert slack.wait_for(lambda: len(slack.calls("views.publish")) == 2)
            assert "quick read" not in json.dumps(slack.calls("views.publish")[1]["view"])
        finally:
            app.stop()


def test_the_blocks_put_it_in_one_context_block():
    from bot.slack.blocks import build_home, build_thread_note, build_verdict_message

    v = Verdict(label="inside-out", customer_ease=10, engine="trained", reframe="Customers get <more> & less.",
                playbook=PlaybookRef(name="outside-in", version="1"))
    note = quickread.note("trained", llm_configured=False)
    for msg in (build_verdict_message("draft", v, 1, quick_read=note), build_thread_note(v, 1, quick_read=note),
                build_home([], None, "outside-in", [], note)):
        said = [b for b in msg["blocks"] if SAID in json.dumps(b)]
        assert len(said) == 1 and said[0]["type"] == "context"
    for msg in (build_verdict_message("draft", v, 1), build_thread_note(v, 1), build_home([], None, "outside-in", [])):
        assert "quick read" not in json.dumps(msg)
