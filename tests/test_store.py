"""The SQLite log: migrations, permissions, concurrent writers, decisions."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from bot.errors import ConfigError
from bot.store import Store, migrations
from bot.verdict import PlaybookRef, Verdict


def _verdict(label: str = "inside-out") -> Verdict:
    return Verdict(label=label, customer_ease=10, motives=["revenue-profit"], engine="rules",
                   playbook=PlaybookRef(name="outside-in", version="1"))


def test_database_file_is_owner_only_and_migrated(tmp_path):
    path = tmp_path / "sub" / "m.db"
    store = Store(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    names = store.db.tables()
    assert {"checks", "decisions", "seen_events", "watched_channels", "verdict_cache", "digests"} <= names
    applied = set(migrations.applied(store.db))
    assert "m001_checks_and_decisions" in applied
    assert store.db.value("pragma journal_mode") == "wal"
    # Re-opening applies nothing twice and keeps the data.
    store.record_check(_verdict(), "draft", source="cli")
    assert Store(path).count("checks") == 1


def test_record_check_respects_store_text(tmp_path):
    with_text = Store(tmp_path / "a.db")
    cid = with_text.record_check(_verdict(), "Our secret plan", source="cli", channel="C1", user="U1")
    row = with_text.get_check(cid)
    assert row["draft_text"] == "Our secret plan" and row["label"] == "inside-out" and row["channel"] == "C1"
    hashed = Store(tmp_path / "b.db", store_text=False)
    cid = hashed.record_check(_verdict(), "Our secret plan", source="cli")
    row = hashed.get_check(cid)
    assert row["draft_text"] is None and len(row["draft_hash"]) == 64
    assert "Our secret plan" not in (tmp_path / "b.db").read_bytes().decode("latin-1")


def test_concurrent_writers_lose_nothing(tmp_path):
    store = Store(tmp_path / "c.db")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(40):
                cid = store.record_check(_verdict(), f"draft {n}-{i}", source="cli", user=f"U{n}")
                store.record_decision(cid, "accepted", user=f"U{n}")
                store.claim_event(f"event:{n}:{i}")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count("checks") == 320
    assert store.count("decisions") == 320
    assert store.count("seen_events") == 320


def test_claim_event_is_once_only(tmp_path):
    store = Store(tmp_path / "d.db")
    assert store.claim_event("event:Ev1") is True
    assert store.claim_event("event:Ev1") is False
    assert Store(tmp_path / "d.db").claim_event("event:Ev1") is False  # survives a restart


def test_decisions_validate_action_and_check(tmp_path):
    store = Store(tmp_path / "e.db")
    cid = store.record_check(_verdict(), "x", source="cli")
    store.record_decision(cid, "kept-original", user="U1", reason="numbers matter here")
    assert store.decisions_for(cid)[0]["reason"] == "numbers matter here"
    with pytest.raises(ValueError):
        store.record_decision(cid, "liked")
    with pytest.raises(KeyError):
        store.record_decision(cid + 99, "accepted")


def test_unusable_database_path_is_a_config_error(tmp_path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(ConfigError, match="MOTIVECHECK_DB"):
        Store(tmp_path / "dir.db")


def test_write_waits_for_another_process_holding_the_lock(tmp_path):
    import subprocess
    import sys
    import time

    path = tmp_path / "locked.db"
    store = Store(path)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(2); c.execute('COMMIT')\n"],
        stdout=subprocess.PIPE)
    assert holder.stdout.readline().strip() == b"locked"
    started = time.monotonic()
    cid = store.record_check(_verdict(), "waited for the lock", source="cli")
    waited = time.monotonic() - started
    holder.wait(timeout=10)
    assert waited > 1.0  # it really waited for the other process
    assert store.get_check(cid)["draft_text"] == "waited for the lock"
