"""What a new user trips over: every mistake is one line and a non-zero exit, never a traceback or a quiet
success; bad database settings are refused by name (real files, real databases, main() or a real process)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.errors import ConfigError
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
README = str(ROOT / "README.md")
PREMIUM = "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """main() as the console script runs it: the exit code (usage errors too), stdout and stderr."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str, *needles: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.startswith("motivecheck")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


# 1. No tracebacks.

def test_eval_of_a_file_that_is_not_json_names_line_1(capsys, tmp_path):
    code, _, err = cli(capsys, "eval", README)
    assert code == 2
    one_line_error(err, f"{README}:1: invalid JSON (")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n" + json.dumps({"text": PREMIUM, "label": "inside-out"}) + "\n")
    code, _, err = cli(capsys, "eval", str(bad))
    assert code == 2
    one_line_error(err, f"{bad}:1: invalid JSON (")


def test_a_byte_order_mark_is_accepted(capsys, tmp_path):
    rows = [{"text": PREMIUM, "label": "inside-out"}, {"text": "Who has the key?", "label": "not-a-proposal"}]
    src = tmp_path / "bom.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r) + "\n" for r in rows).encode())
    code, out, err = cli(capsys, "eval", str(src), "--json")
    assert code == 0, err
    assert json.loads(out)["n"] == 2
    code, out, err = cli(capsys, "check", "--jsonl", str(src))
    assert code == 0 and len(out.splitlines()) == 2, err
    code, out, err = cli(capsys, "label", str(src), "--workspace", "T1", "--json")
    assert code == 0 and json.loads(out) == {"workspace": "T1", "recorded": 2, "skipped": 0, "repeated": 0,
                                             "replaced": 0}, err


def test_import_of_a_plain_file_is_one_line(capsys, tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("not an export\n")
    code, _, err = cli(capsys, "import", str(f))
    assert code == 2
    one_line_error(err, "is not a zip file or a folder")


def test_unwritable_chart_and_export_are_one_line(capsys, tmp_path):
    missing = tmp_path / "no" / "such" / "dir"
    code, _, err = cli(capsys, "digest", "--week", "2026-W47", "--chart", str(missing / "x.png"))
    assert code == 2
    one_line_error(err, "--chart: cannot write", "No such file or directory")
    code, _, err = cli(capsys, "export", "--output", str(missing / "o.csv"))
    assert code == 2
    one_line_error(err, "--output: cannot write")


def test_digest_post_with_slack_out_of_reach_is_one_line_and_releases_the_week(tmp_path):
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "m.db"
    env = dict(os.environ, MOTIVECHECK_DB=str(db), SLACK_BOT_TOKEN="xoxb-secret-token-1",
               SLACK_API_URL=f"http://127.0.0.1:{port}/api/")
    r = subprocess.run([sys.executable, "-m", "bot", "digest", "--post", "--channel", "C1", "--week", "2026-W47"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    one_line_error(r.stderr, "could not reach Slack", f"127.0.0.1:{port}")
    assert "xoxb" not in r.stderr + r.stdout
    assert Store(db).digest_state("", "C1", "2026-W47") is None  # released: the next run posts it


# 2. Bad database settings are refused by name.

def test_an_unsupported_database_url_is_refused_and_makes_no_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "mysql://me:hunter2@db/x")
    code, _, err = cli(capsys, "check", "--text", PREMIUM, "--log")
    assert code == 2
    one_line_error(err, "DATABASE_URL", "mysql://")
    assert "hunter2" not in err
    assert list(tmp_path.iterdir()) == []
    monkeypatch.delenv("DATABASE_URL")
    code, _, err = cli(capsys, "log", "--db", "mysql://x")
    assert code == 2
    one_line_error(err, "--db", "mysql://")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("var,value,message", [
    ("DATABASE_URL", "mysql://x", "DATABASE_URL: mysql:// databases are not supported"),
    ("DATABASE_URL", "/var/lib/motivecheck.db", "DATABASE_URL must be a postgresql:// URL"),
    ("MOTIVECHECK_DB", "mysql://x", "MOTIVECHECK_DB: mysql:// databases are not supported"),
    ("MOTIVECHECK_PRICES", "garbage", "MOTIVECHECK_PRICES: cannot read 'garbage'"),
    ("MOTIVECHECK_RETENTION_DAYS", "-1", "MOTIVECHECK_RETENTION_DAYS must be 0 or more, got -1"),
])
def test_bad_settings_stop_start_up_naming_the_variable(var, value, message):
    with pytest.raises(ConfigError) as caught:
        load_settings({var: value})
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("var,value", [("DATABASE_URL", "postgresql://u@h/d"), ("DATABASE_URL", "postgres://u@h/d"),
                                       ("MOTIVECHECK_DB", "/tmp/x.db"), ("MOTIVECHECK_DB", "relative/m.db"),
                                       ("MOTIVECHECK_PRICES", "my-model=0.15/0.60,other=1/0.5/2")])
def test_good_database_and_price_settings_still_load(var, value):
    load_settings({var: value})


def test_prices_refused_by_check_log_as_by_stats(capsys, monkeypatch):
    monkeypatch.setenv("MOTIVECHECK_PRICES", "garbage")
    for args in (("check", "--text", PREMIUM, "--log"), ("stats",)):
        code, _, err = cli(capsys, *args)
        assert code == 2
        one_line_error(err, "MOTIVECHECK_PRICES")


# 3. Nothing processed is not success.

def test_nothing_checked_or_labelled_exits_non_zero(capsys, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    for path in (README, str(empty)):
        code, out, err = cli(capsys, "check", "--jsonl", path)
        assert code == 2 and out == ""
        one_line_error(err, "nothing was checked")
        code, _, err = cli(capsys, "label", path, "--workspace", "T1")
        assert code == 2
        one_line_error(err, "no label recorded")


def test_import_of_an_unknown_channel_exits_non_zero(capsys, tmp_path):
    export = tmp_path / "export"
    (export / "general").mkdir(parents=True)
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (export / "general" / "2026-11-16.json").write_text(json.dumps(
        [{"type": "message", "user": "U1", "text": PREMIUM, "ts": "1794823200.000100"}]))
    code, _, err = cli(capsys, "import", str(export), "--channels", "nope,general")
    assert code == 2
    one_line_error(err, "no channel nope", "general")
    code, out, err = cli(capsys, "import", str(export), "--channels", "#general", "--json")
    assert code == 0 and json.loads(out)["checked"] == 1, err


def test_rollback_of_a_workspace_with_no_head_says_so(capsys):
    code, out, err = cli(capsys, "model", "rollback", "--workspace", "TNOPE")
    assert code == 2 and "now uses" not in out
    one_line_error(err, "no workspace head for TNOPE")


@pytest.mark.parametrize("n", ["0", "-1", "x"])
def test_log_limit_below_one_is_refused(capsys, n):
    code, out, err = cli(capsys, "check", "--text", PREMIUM, "--log")
    assert code == 0
    code, out, err = cli(capsys, "log", "-n", n)
    assert code == 2 and out == ""
    one_line_error(err, "-n/--limit")


# 4. Messages that say what is wrong.

def test_replay_of_a_missing_file_says_it_does_not_exist(capsys, tmp_path):
    code, _, err = cli(capsys, "eval", str(ROOT / "tests/data/labelled.jsonl"), "--replay",
                       str(tmp_path / "nonexist.jsonl"))
    assert code == 2
    one_line_error(err, "--replay: no such file")


def test_split_that_is_not_there_is_named(capsys, tmp_path):
    code, _, err = cli(capsys, "eval", str(ROOT / "tests/data/labelled.jsonl"), "--split", "test")
    assert code == 2
    one_line_error(err, "has no splits")
    src = tmp_path / "dev.jsonl"
    src.write_text(json.dumps({"text": PREMIUM, "label": "inside-out", "split": "dev"}) + "\n")
    code, _, err = cli(capsys, "eval", str(src), "--split", "test")
    assert code == 2
    one_line_error(err, "no row has split=test", "dev")


def test_corpus_skipped_note_counts_the_chosen_split_only(capsys, tmp_path, monkeypatch):
    labels, texts = tmp_path / "labels", tmp_path / "texts"
    labels.mkdir()
    texts.mkdir()
    drafts = {"d1": PREMIUM, "d2": "Who has the key?", "t1": PREMIUM, "t2": "Lunch at noon?", "t3": "x y z"}
    splits = {"d1": "dev", "d2": "dev", "t1": "test", "t2": "test", "t3": "test"}
    kept = {"t1", "t2"}  # d1, d2 (dev) and t3 (test) have no text here
    (labels / "passages.jsonl").write_text("".join(json.dumps(
        {"id": i, "label": "inside-out" if t == PREMIUM else "not-a-proposal", "split": splits[i],
         "genre": "proposal", "sha256": hashlib.sha256(t.encode()).hexdigest()}) + "\n" for i, t in drafts.items()))
    (texts / "passages.jsonl").write_text("".join(json.dumps({"id": i, "text": drafts[i]}) + "\n" for i in kept))
    monkeypatch.setenv("MOTIVECHECK_CORPUS_TEXT", str(texts))
    code, out, err = cli(capsys, "eval", str(labels / "passages.jsonl"), "--split", "test", "--json")
    assert code == 0, err
    assert json.loads(out)["n"] == 2
    assert "1 of 3 rows of passages.jsonl (split test) have no text" in err


@pytest.mark.parametrize("args,message", [
    (("check", "--engine", "openai", "--text", PREMIUM), "--engine trained"),
    (("playbook", "show", "nope"), "no playbook named 'nope'"),
    (("check", "--text", ":rocket: :tada: :moneybag:"), "no words to check, only emoji codes"),
])
def test_messages_say_what_to_do(capsys, args, message):
    code, _, err = cli(capsys, *args)
    assert code == 2
    one_line_error(err, message)
    assert "<playbook>" not in err and "--engine rules" not in err and "is empty" not in err


def test_retention_message_has_no_none(capsys, monkeypatch):
    monkeypatch.setenv("MOTIVECHECK_RETENTION_DAYS", "-1")
    code, _, err = cli(capsys, "log")
    assert code == 2
    one_line_error(err, "MOTIVECHECK_RETENTION_DAYS must be 0 or more")
    assert "None" not in err


def test_a_bad_db_flag_is_named_as_the_flag(capsys, tmp_path):
    notadb = tmp_path / "notadb.db"
    notadb.write_text("hello, not a database\n")
    code, _, err = cli(capsys, "log", "--db", str(notadb))
    assert code == 2
    one_line_error(err, f"--db: cannot open database {notadb}")
    assert "MOTIVECHECK_DB" not in err


def test_playbook_list_json(capsys):
    code, out, err = cli(capsys, "playbook", "list", "--json")
    assert code == 0, err
    books = [json.loads(line) for line in out.splitlines()]
    assert {"outside-in", "example-team"} <= {b["name"] for b in books}
    assert all(Path(b["path"]).is_file() and b["version"] for b in books)


def test_a_wrong_file_reports_its_first_bad_lines_and_counts_the_rest(capsys, tmp_path):
    wrong = tmp_path / "notes.jsonl"
    wrong.write_text("".join(f"line {i} is prose, not JSON\n" for i in range(1, 61)) + json.dumps({"text": PREMIUM}))
    code, out, err = cli(capsys, "check", "--jsonl", str(wrong))
    assert code == 0 and json.loads(out)["label"] == "inside-out"
    shown = [line for line in err.splitlines() if line.endswith("; skipped")]
    assert len(shown) == 20 and shown[0].startswith(f"{wrong}:1: invalid JSON")
    assert f"{wrong}: … and 40 more bad line(s) not shown" in err
    assert "checked 1 draft(s), skipped 60 bad line(s)" in err
    code, _, err = cli(capsys, "label", str(wrong), "--workspace", "T1", "--db", str(tmp_path / "l.db"))
    assert code == 2 and len([line for line in err.splitlines() if line.endswith("; skipped")]) == 20
    assert "… and 41 more bad line(s) not shown" in err  # the last line has no label either


@pytest.mark.parametrize("flag", ["--record", "--missing"])
def test_an_answers_file_that_cannot_be_written_is_one_line_before_any_request(capsys, tmp_path, monkeypatch, flag):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # never reached: the file is refused first
    args = ["--engine", "openai", "--record"] if flag == "--record" else ["--replay", str(tmp_path / "a.jsonl"),
                                                                            "--missing"]
    code, out, err = cli(capsys, "eval", str(ROOT / "tests/data/labelled.jsonl"), *args,
                         str(tmp_path / "no-such-dir" / "x.jsonl"))
    assert code == 2 and out == ""
    one_line_error(err, f"{flag}: cannot write")


def test_replay_of_an_empty_answers_file_says_it_holds_no_answers(capsys, tmp_path):
    """An empty record file scored only what the offline prefilter kept from the LLM (on the channel road: accuracy
    1.000 on the chatter) under an empty 'answers from:' line."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "r1", "text": PREMIUM, "label": "inside-out"}) + "\n"
                    + json.dumps({"id": "r2", "text": "thanks all, great call today!", "label": "not-a-proposal"}) + "\n")
    empty = tmp_path / "answers.jsonl"
    empty.write_text("\n")
    code, out, err = cli(capsys, "eval", str(rows), "--as", "channel", "--replay", str(empty))
    assert code == 2 and out == ""
    one_line_error(err, f"--replay: {empty} holds no answers", "--missing")
    todo = tmp_path / "todo.jsonl"
    code, out, err = cli(capsys, "eval", str(rows), "--as", "channel", "--replay", str(empty), "--missing", str(todo))
    assert code == 0, err
    assert f"{empty} holds no answers yet: every request is unanswered" in err
    asked = [json.loads(line) for line in todo.read_text().splitlines()]
    assert {(a["id"], a["purpose"]) for a in asked} == {("r1", "triage"), ("r1", "verdict")}  # r2 stays offline
    assert "answers from: none" in out and "answers from: \n" not in out
