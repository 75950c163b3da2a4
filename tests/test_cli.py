"""The CLI as a user runs it: real subprocesses, real files, real output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PREMIUM = "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."


def run(*args: str, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, cwd=ROOT,
                          env=full_env, timeout=60)


def test_check_example_file_human_output():
    r = run("check", "examples/premium-plus.txt")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("INSIDE-OUT")
    lines = out.splitlines()
    assert lines[1].startswith("Your opening leads with") and "up-sell" in out  # why, first, in plain words
    assert "outside-in starts at 60" in out and "engine: trained" in out
    assert "upsell-crosssell" not in out  # ids stay in JSON
    assert out.count("  • “") <= 3  # at most three highlights
    assert "Suggested opening" in out and "As a result, we expect to upsell existing accounts and lift ARR 15% this " \
        "quarter." in " ".join(out.split())
    assert "Questions to ask yourself:" in out
    quiet = run("check", "--text", "Thanks everyone, see you at lunch!").stdout.decode()
    assert quiet.startswith("NOT A PROPOSAL") and "/100" not in quiet  # no score for chatter


def test_check_json_from_stdin_is_a_valid_verdict():
    r = run("check", "-", "--json", stdin=PREMIUM.encode())
    assert r.returncode == 0, r.stderr
    verdict = json.loads(r.stdout)
    assert verdict["label"] in {"inside-out", "mixed"}
    assert "revenue-profit" in verdict["motives"] or "upsell-crosssell" in verdict["motives"]
    for e in verdict["evidence"]:
        assert PREMIUM[e["start"]:e["end"]] == e["quote"]
    assert verdict["engine"] == "trained" and verdict["playbook"]["name"] == "outside-in"
    assert verdict["reframe"] and 1 <= len(verdict["questions"]) <= 3


@pytest.mark.parametrize("args,stdin,message", [
    (("check", "-"), b"   \n\t ", "the draft is empty"),
    (("check", "no/such/file.txt"), None, "no such file"),
    (("check", "--engine", "openai", "--text", PREMIUM), None, "OPENAI_API_KEY"),
    (("check", "--engine", "bogus", "--text", "x"), None, "invalid choice"),
    (("eval", "no-such.jsonl"), None, "no such file"),
])
def test_bad_input_is_one_line_exit_2(args, stdin, message):
    r = run(*args, stdin=stdin)
    assert r.returncode == 2
    err = r.stderr.decode()
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 3


def test_invalid_utf8_file_is_checked_with_a_note(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_bytes(b"We will launch \xff\xfe Premium to grow revenue 10%.")
    r = run("check", str(f), "--json")
    assert r.returncode == 0, r.stderr
    verdict = json.loads(r.stdout)
    assert any("not valid UTF-8" in n for n in verdict["notes"])


def test_jsonl_skips_bad_lines_and_logs_context(tmp_path):
    db = tmp_path / "log.db"
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([
        json.dumps({"id": 1, "text": PREMIUM, "channel": "C1", "user": "U1", "ts": "2026-11-16T23:30:00Z"}),
        "{not json",
        json.dumps({"id": 2}),
        json.dumps({"id": 3, "text": "thanks everyone, great demo today!", "channel": "C1", "user": "U2"}),
    ]) + "\n")
    r = run("check", "--jsonl", str(src), "--log", env={"MOTIVECHECK_DB": str(db)})
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [x["id"] for x in lines] == [1, 3]
    assert lines[1]["label"] == "not-a-proposal"
    err = r.stderr.decode()
    assert f"{src}:2: invalid JSON" in err and f"{src}:3: missing \"text\"" in err

    from bot.store import Store
    rows = sorted(Store(db).recent_checks(10), key=lambda row: row["id"])
    assert len(rows) == 2
    assert rows[0]["channel"] == "C1" and rows[0]["user"] == "U1"
    assert rows[0]["ts"] == pytest.approx(1794871800.0)  # 2026-11-16T23:30:00Z
    logged = run("log", "--json", env={"MOTIVECHECK_DB": str(db)})
    assert len(logged.stdout.decode().splitlines()) == 2
    human = run("log", env={"MOTIVECHECK_DB": str(db)}).stdout.decode()
    assert "#C1" in human and "not-a-proposal" in human


def test_eval_prints_metrics_and_gates(tmp_path):
    data = tmp_path / "set.jsonl"
    data.write_text("\n".join(json.dumps(x) for x in [
        {"text": PREMIUM, "label": "inside-out"},
        {"text": "Who has the key to the storage room?", "label": "not-a-proposal"},
    ]) + "\n")
    r = run("eval", str(data), "--json")
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)
    assert metrics["n"] == 2 and metrics["engine"] == "trained"
    assert set(metrics["per_label"]) == {"outside-in", "inside-out", "mixed", "not-a-proposal"}
    gate = run("eval", str(data), "--min-f1", "1.01")
    assert gate.returncode == 1 and "below --min-f1" in gate.stderr.decode()
    human = run("eval", str(data)).stdout.decode()
    assert "macro-F1" in human and "confusion" in human


ESCAPES = "\x1b]0;PWNED\x07\x1b[2J\x1b[31m\x9b2J\r"


@pytest.mark.parametrize("color", ["never", "always"])
def test_escape_codes_in_a_draft_never_reach_the_terminal(tmp_path, color):
    """A draft holding ESC sequences (retitle, clear, recolour) or other controls is shown with visible symbols in
    check's and log's readable output; --json stays exact."""
    f = tmp_path / "esc.txt"
    f.write_text(f"We will launch Premium Plus {ESCAPES} to upsell existing accounts", encoding="utf-8")
    env = {"MOTIVECHECK_DB": str(tmp_path / "esc.db")}
    r = run("check", str(f), "--log", "--color", color, env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "Premium Plus" in out and "\u241b]0;PWNED\u2407" in out  # shown, harmless
    theirs = out.replace("\x1b[0m", "").replace("\x1b[1m", "").replace("\x1b[2m", "")
    for code in ("\x1b[1;31m", "\x1b[31m", "\x1b[32m", "\x1b[1;33m", "\x1b[1;32m"):  # our own colours, --color always
        theirs = theirs.replace(code, "")
    assert not [c for c in theirs if (ord(c) < 32 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f]
    assert (color == "always") == ("\x1b[" in out)
    log_out = run("log", env=env).stdout.decode()
    assert "\u241b]0;PWNED" in log_out and "\x1b" not in log_out and "\x07" not in log_out and "\r" not in log_out
    verdict = json.loads(run("check", str(f), "--json", env=env).stdout)
    assert any("\x1b]0;PWNED\x07" in ev["quote"] for ev in verdict["evidence"]) or "\x1b" in (verdict["reframe"] or "")
    (row,) = [json.loads(x) for x in run("log", "--json", env=env).stdout.decode().splitlines()]
    assert ESCAPES in row["draft_text"]


def test_a_timed_out_llm_names_the_settings_to_raise_and_other_fallbacks_do_not(tmp_path):
    from openai_server import FakeOpenAI, answer, slow, status, verdict_answer

    env = {"OPENAI_API_KEY": "sk-test", "MOTIVECHECK_LLM_TIMEOUT": "0.3", "MOTIVECHECK_LLM_DEADLINE": "0.8",
           "MOTIVECHECK_DB": str(tmp_path / "m.db")}
    with FakeOpenAI(default=slow(2, answer(verdict_answer()))) as llm:
        r = run("check", "--text", PREMIUM, env={**env, "OPENAI_BASE_URL": llm.base_url})
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert "The LLM did not answer (timeout)" in out
    assert "0.3 s a request (MOTIVECHECK_LLM_TIMEOUT) and 0.8 s a check (MOTIVECHECK_LLM_DEADLINE)" in out
    assert "sk-test" not in out
    with FakeOpenAI(default=status(500)) as llm:  # a server error is not a matter of time: no hint
        r = run("check", "--text", PREMIUM, env={**env, "OPENAI_BASE_URL": llm.base_url})
    assert r.returncode == 0 and "did not answer" in r.stdout.decode()
    assert "MOTIVECHECK_LLM_TIMEOUT" not in r.stdout.decode()
