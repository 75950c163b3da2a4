"""The store on both databases: migrations (also two processes at once), concurrent writers, decisions, one label
per text; the SQLite file's permissions and locking; PostgreSQL through DATABASE_URL, CLI included."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import stat
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from slack_server import free_port
from test_digest import add  # records a T1 check with a Verdict

from bot.errors import ConfigError
from bot.store import Store, migrations
from bot.store.digests import DIGEST_WORKSPACES
from bot.text import draft_hash
from bot.verdict import Evidence, PlaybookRef, Verdict

ROOT = Path(__file__).resolve().parent.parent


def run_threads(target: Callable[[int], None], n: int) -> None:
    """Run ``target(0) … target(n - 1)`` in n threads at once and wait for them all."""
    threads = [threading.Thread(target=target, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


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


def test_record_check_respects_store_text(database):
    with_text = Store(database)
    cid = with_text.record_check(_verdict(), "Our secret plan", source="cli", channel="C1", user="U1")
    row = with_text.get_check(cid)
    assert row["draft_text"] == "Our secret plan" and row["label"] == "inside-out" and row["channel"] == "C1"
    hashed = Store(database, store_text=False)
    cid = hashed.record_check(_verdict(), "Our secret plan", source="cli")
    row = hashed.get_check(cid)
    assert row["draft_text"] is None and len(row["draft_hash"]) == 64


SECRET_DRAFT = "Zebracorn plan: we'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."


def _wordy_verdict() -> Verdict:
    """A verdict that carries the draft's words the way real ones do: a quote, a reframe, questions, measures."""
    quote = "launch Premium Plus to upsell existing accounts"
    start = SECRET_DRAFT.index(quote)
    return Verdict(label="inside-out", customer_ease=12, motives=["upsell-crosssell"], engine="rules",
                   evidence=[Evidence(quote=quote, start=start, end=start + len(quote), shows="upsell-crosssell")],
                   reframe="Zebracorn plan: existing accounts get Premium Plus, so lifting ARR 15% follows.",
                   questions=["What gets easier for Zebracorn's existing accounts?"],
                   measures=["Minutes for Zebracorn accounts to finish their main task"],
                   playbook=PlaybookRef(name="outside-in", version="1"))


def _file_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("b.db*")))


@pytest.mark.parametrize("way", ["record", "complete", "edit", "import", "cache"])
def test_without_store_text_the_words_never_reach_the_file(tmp_path, way):
    """MOTIVECHECK_STORE_TEXT=off: neither the draft nor the verdict's quotes, reframe, questions and measures reach
    the file, however the check is written; the judgement (label, score, motives) stays."""
    hashed = Store(tmp_path / "b.db", store_text=False)
    verdict = _wordy_verdict()
    if way == "record":
        cid = hashed.record_check(verdict, SECRET_DRAFT, source="cli")
    elif way in ("complete", "edit"):
        cid = hashed.record_check(None, SECRET_DRAFT, source="slash", status="pending")
        hashed.complete_check(cid, verdict, draft=SECRET_DRAFT if way == "edit" else None)
    elif way == "import":
        hashed.insert_checks([hashed.check_row(verdict, SECRET_DRAFT, source="import", external_id="C1:1.0")])
        cid = hashed.db.value("select id from checks")
    else:
        hashed.cache_put("key", verdict.model_dump_json(), "hash")
        assert hashed.cache_get("key") is None and hashed.count("verdict_cache") == 0
        cid = None
    if cid is not None:
        stored = Verdict.model_validate_json(hashed.get_check(cid)["verdict_json"])
        assert (stored.label, stored.customer_ease, stored.motives) == ("inside-out", 12, ["upsell-crosssell"])
        assert (stored.evidence, stored.reframe, stored.questions, stored.measures) == ([], None, [], [])
    hashed.db.checkpoint()
    data = _file_bytes(tmp_path)
    assert b"Zebracorn" not in data and b"existing accounts" not in data


def test_with_store_text_the_verdict_keeps_its_words(database):
    store = Store(database)
    cid = store.record_check(_wordy_verdict(), SECRET_DRAFT, source="cli")
    assert Verdict.model_validate_json(store.get_check(cid)["verdict_json"]) == _wordy_verdict()
    store.cache_put("key", _wordy_verdict().model_dump_json(), "hash")
    assert "Zebracorn" in store.cache_get("key")


def test_without_store_text_no_copy_of_the_words_is_stored(database):
    """The same promise on each database (PostgreSQL too): every way of writing a check stores the verdict stripped."""
    hashed = Store(database, store_text=False)
    ids = [hashed.record_check(_wordy_verdict(), SECRET_DRAFT, source="cli")]
    ids.append(hashed.record_check(None, SECRET_DRAFT, source="slash", status="pending"))
    hashed.complete_check(ids[-1], _wordy_verdict())
    hashed.insert_checks([hashed.check_row(_wordy_verdict(), SECRET_DRAFT, source="import", external_id="C1:1.0")])
    hashed.cache_put("key", _wordy_verdict().model_dump_json(), "hash")
    rows = hashed.db.query("select * from checks")
    assert len(rows) == 3 and hashed.count("verdict_cache") == 0
    assert not [r for r in rows if "Zebracorn" in repr(r) or "existing accounts" in repr(r)]


def test_concurrent_writers_lose_nothing(database):
    store = Store(database)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(40):
                cid = store.record_check(_verdict(), f"draft {n}-{i}", source="cli", user=f"U{n}")
                store.record_decision(cid, "accepted", user=f"U{n}")
                store.claim_event(f"event:{n}:{i}")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    run_threads(work, 8)
    assert errors == []
    assert store.count("checks") == 320
    assert store.count("decisions") == 320
    assert store.count("seen_events") == 320


def test_claim_event_is_once_only(database):
    store = Store(database)
    assert store.claim_event("event:Ev1") is True
    assert store.claim_event("event:Ev1") is False
    assert Store(database).claim_event("event:Ev1") is False  # survives a restart


def test_withdraw_check_erases_one_drafts_words_once_and_keeps_its_judgement(database):
    """The author deleted the draft (bot/slack/listeners.py): its words leave every table, its judgement stays."""
    store = Store(database)
    draft = "We'll launch Quokka Gold to upsell dormant accounts."
    quote = "upsell dormant accounts"
    verdict = _verdict().model_copy(update={
        "evidence": [Evidence(quote=quote, start=draft.index(quote), end=draft.index(quote) + len(quote),
                              shows="upsell-crosssell")],
        "reframe": "Quokka Gold lets dormant accounts [do what?].", "questions": ["What gets easier?"],
        "measures": ["Quokka Gold exports a week"]})
    check_id = store.record_check(verdict, draft, source="channel", workspace="T1", channel="C1", user="U1",
                                  message_ts="1.1")
    other = store.record_check(verdict, draft + " Really.", source="channel", workspace="T1", channel="C1",
                               user="U1", message_ts="1.2")
    store.cache_put("key", verdict.model_dump_json(), draft_hash(draft))
    decision = store.record_decision(check_id, "disputed", user="U1", reason="Quokka Gold is what they asked for")
    assert store.label_from_decision(decision, "mixed", user="U1", workspace="T1")
    store.record_decision(other, "kept-original", user="U1", reason="mine")

    row = store.withdraw_check(check_id, claim="withdrawn:T1:C1:1.1")

    assert row is not None and row["draft_text"] is None and row["label"] == "inside-out"
    stored = store.get_check(check_id)
    assert (stored["label"], stored["customer_ease"], stored["motives"]) == ("inside-out", 10, '["revenue-profit"]')
    assert stored["draft_text"] is None and stored["verdict_json"] == row["verdict_json"]
    everything = json.dumps({t: store.db.query(f"select * from {t} where {w}") for t, w in (
        ("checks", f"id = {check_id}"), ("verdict_cache", "1 = 1"), ("decisions", f"check_id = {check_id}"),
        ("labels", "1 = 1"))})
    assert "Quokka" not in everything and "dormant" not in everything and "What gets easier" not in everything
    assert store.get_check(other)["draft_text"] == draft + " Really."  # nothing else is touched
    assert [d["reason"] for d in store.decisions_for(other)] == ["mine"]
    assert store.is_claimed("withdrawn:T1:C1:1.1")
    assert store.withdraw_check(check_id, claim="withdrawn:T1:C1:1.1") is None  # a second delivery: nothing
    assert store.withdraw_check(10_000) is None

    # Forgetting the workspace forgets these claims too (and a mention's), and no other workspace's.
    for team in ("T1", "T2"):
        assert store.claim_event(f"mention:{team}:C1:1.3") and store.claim_event(f"withdrawn:{team}:C1:1.4")
    store.forget_workspace("T1")
    assert sorted(r["key"] for r in store.db.query("select key from seen_events")) == [
        "mention:T2:C1:1.3", "withdrawn:T2:C1:1.4"]


def test_decisions_validate_action_and_check(database):
    store = Store(database)
    cid = store.record_check(_verdict(), "x", source="cli")
    store.record_decision(cid, "kept-original", user="U1", reason="numbers matter here")
    assert store.decisions_for(cid)[0]["reason"] == "numbers matter here"
    with pytest.raises(ValueError):
        store.record_decision(cid, "liked")
    with pytest.raises(KeyError):
        store.record_decision(cid + 99, "accepted")


def test_clicks_at_once_on_one_check_leave_one_decision_per_person(database):
    # On PostgreSQL, without the check's row held "for update", about one round in ten kept two decisions (or
    # deadlocked); SQLite's one write lock serialises them anyway.
    store = Store(database)
    errors: list[BaseException] = []
    for _round in range(20):
        cid = store.record_check(_verdict(), "x", source="cli")
        barrier = threading.Barrier(8)

        def click(n: int, cid: int = cid, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                store.record_decision(cid, ("accepted", "disputed")[n % 2], user="U1")
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        run_threads(click, 8)
        assert errors == [] and len(store.decisions_for(cid)) == 1


def test_unusable_database_path_is_a_config_error(tmp_path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(ConfigError, match="MOTIVECHECK_DB"):
        Store(tmp_path / "dir.db")


def test_write_waits_for_another_process_holding_the_lock(tmp_path):
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



def test_two_processes_migrating_one_fresh_database_at_once_both_succeed(database, tmp_path):
    """Two `motivecheck serve` started together both ran the migrations; one died with "database is locked"."""
    go = tmp_path / "go"
    # Each process imports the store, says so, and waits for the go file: both then open the fresh database
    # within a millisecond of each other.
    script = ("import os, sys, time\n"
              "from bot.store import Store, migrations\n"
              "print('ready', flush=True)\n"
              "while not os.path.exists(sys.argv[2]): time.sleep(0.001)\n"
              "print(len(migrations.applied(Store(sys.argv[1]).db)))\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, database, str(go)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    assert [p.stdout.readline().strip() for p in procs] == ["ready", "ready"]
    go.touch()
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _out, err in results]
    assert [out.strip() for out, _err in results] == [str(len(migrations.MIGRATIONS))] * 2
    assert migrations.applied(Store(database).db) == [name for name, _fn in migrations.MIGRATIONS]  # each once


def _cli(*args: str, cwd, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def test_database_url_runs_the_cli_on_postgresql_and_writes_no_sqlite_file(database, tmp_path):
    if not database.startswith("postgresql://"):
        pytest.skip("the SQLite file is the default everywhere else")
    # The environment holds both, as a user's might: DATABASE_URL wins, and the file is never made.
    env = {"DATABASE_URL": database, "MOTIVECHECK_DB": str(tmp_path / "motivecheck.db"), "PYTHONPATH": str(ROOT)}
    draft = "We'll launch Premium Plus to upsell our biggest accounts."
    logged = _cli("check", "--text", draft, "--log", "--json", cwd=tmp_path, env=env)
    assert logged.returncode == 0, logged.stderr
    shown = _cli("log", "--json", cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    assert '"inside-out"' in shown.stdout
    assert Store(database).recent_checks(5)[0]["label"] == "inside-out"
    assert not list(tmp_path.glob("*.db*"))


def test_an_unreachable_database_url_is_one_line_without_the_password(tmp_path):
    closed = subprocess.run([sys.executable, "-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); "
                             "print(s.getsockname()[1])"], capture_output=True, text=True).stdout.strip()
    url = f"postgresql://coach:hunter2@127.0.0.1:{closed}/motivecheck"
    r = _cli("log", cwd=tmp_path, env={"DATABASE_URL": url, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    shown = f"postgresql://coach:***@127.0.0.1:{closed}/motivecheck"
    assert r.stderr.startswith(f"motivecheck: error: DATABASE_URL: cannot open database {shown}: "), r.stderr
    assert "hunter2" not in r.stderr + r.stdout and not list(tmp_path.glob("*.db*"))


@pytest.mark.parametrize("url,secret", [
    # Passwords pasted raw, not percent-encoded: the driver reads such a URL another way, or quotes the part it
    # cannot read in its message.
    ("postgresql://coach:s3cr/et9@127.0.0.1:{port}/motivecheck", "s3cr/et9"),
    ("postgresql://coach:s3cr et9@127.0.0.1:{port}/motivecheck", "s3cr et9"),
    ("postgresql://coach:s3cr%zzet9@127.0.0.1:{port}/motivecheck", "s3cr%zzet9"),
    ("postgresql://coach:s3cr?et9@127.0.0.1:{port}/motivecheck", "s3cr?et9"),
    # libpq also takes the password as a parameter of the URL.
    ("postgresql://coach@127.0.0.1:{port}/motivecheck?password=s3cret9", "s3cret9"),
    ("postgresql://coach@127.0.0.1:{port}/motivecheck?sslmode=disable&password=s3cr%20et9", "s3cr"),
])
def test_a_database_url_never_shows_its_password_however_it_is_written(url, secret):
    closed = free_port()
    with pytest.raises(ConfigError) as caught:
        Store(url.format(port=closed))
    message = str(caught.value)
    assert message.startswith("DATABASE_URL: cannot open database postgresql://coach") and "\n" not in message
    assert secret not in message and "***" in message, message


def test_connections_the_server_closed_while_idle_are_not_handed_out(database):
    """A PostgreSQL restart (or failover) closes every connection idle in the pool: the first requests after it, one
    per idle connection, failed with "terminating connection due to administrator command" (slash commands and
    clicks, which Slack does not retry, included) although the server was back."""
    if not database.startswith("postgresql://"):
        pytest.skip("a SQLite file has no server to restart")
    import psycopg

    store = Store(database)
    try:
        held = [store.db.pool.getconn() for _ in range(4)]  # several connections, then all idle in the pool
        for conn in held:
            store.db.pool.putconn(conn)
        name = parse_qs(urlsplit(database).query)["application_name"][0]
        others = "from pg_stat_activity where application_name = %s and pid <> pg_backend_pid()"
        with psycopg.connect(database, autocommit=True) as admin:  # what a restart does to each of them
            assert admin.execute(f"select count(pg_terminate_backend(pid)) {others}", [name]).fetchone()[0] >= 4
            deadline = time.monotonic() + 10
            while admin.execute(f"select count(*) {others}", [name]).fetchone()[0] and time.monotonic() < deadline:
                time.sleep(0.01)
        for n in range(6):
            store.record_check(_verdict(), f"draft {n}", source="slash", user="U1")
        assert store.db.value("select count(*) from checks") == 6
    finally:
        store.close()


def test_a_database_a_newer_version_migrated_is_told_at_start_up(database, caplog):
    """Rolled back to an older release, an instance ran on tables a newer one had changed and said nothing: what
    then failed did so later, request by request, with nothing pointing at the cause."""
    store = Store(database)
    with store.db.write() as tx:
        tx.insert(store.db.dialect.migrations_table, {"migration_set": migrations.MIGRATION_SET,
                                                      "name": "m099_from_a_newer_release", "applied_at": "later"})
    store.close()
    with caplog.at_level("WARNING", logger="bot.store"):
        Store(database).close()
    assert "m099_from_a_newer_release" in caplog.text and "newer version of Motive Coach" in caplog.text
    store = Store(database)
    assert migrations.applied(store.db)[-1] == "m099_from_a_newer_release"  # left as it is: the newer one needs it
    store.close()


def test_a_new_file_waits_for_another_writer_before_it_switches_to_wal(tmp_path):
    """SQLite answers the switch to WAL with "database is locked" at once, without its busy handler, while another
    connection is writing: instances started together on one new file failed so (seen in CI). Opening waits."""
    import sqlite3

    path = tmp_path / "shared.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("create table t (x)")
    other.execute("begin immediate")
    other.execute("insert into t values (1)")
    release = threading.Timer(0.3, lambda: other.execute("commit"))
    release.start()
    started = time.monotonic()
    try:
        store = Store(path)
    finally:
        release.join()
        other.close()
    assert 0.25 <= time.monotonic() - started < 10
    assert store.db.value("pragma journal_mode") == "wal" and store.db.value("select count(*) from checks") == 0


def _long_text(seed: int, length: int = 20_000) -> str:
    """A draft of ``length`` characters that does not compress (a repeated phrase would, and then fit an index)."""
    rng = random.Random(seed)
    words = ("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9))) for _ in range(length))
    return " ".join(words)[:length]


def _labels(store: Store) -> list[tuple[str, str, str]]:
    return sorted((r["workspace"], r["text"], r["label"]) for r in store.db.query("select * from labels"))


@contextlib.contextmanager
def _migrated_before(database: str, monkeypatch: pytest.MonkeyPatch, first_new: str) -> Iterator[Store]:
    """A store migrated up to just before ``first_new``, for a test to fill the old way; closed on leaving, and the
    shipped migrations put back, so the next ``Store`` runs ``first_new`` and the rest."""
    shipped = list(migrations.MIGRATIONS)
    monkeypatch.setattr(migrations, "MIGRATIONS", shipped[:[name for name, _fn in shipped].index(first_new)])
    old = Store(database)
    try:
        yield old
    finally:
        old.close()
        monkeypatch.setattr(migrations, "MIGRATIONS", shipped)


def _insert_labels(store: Store, rows: list[tuple[str, str, str]], hashed: Callable[[str], str] | None = None) -> None:
    """Labels written as an older version wrote them (``hashed``: that version's text_hash), bypassing the store."""
    with store.db.write() as tx:
        for workspace, text, label in rows:
            tx.insert("labels", {"workspace": workspace, "channel": "", "user": "", "text": text, "label": label,
                                 "source": "file", "private": 0, "ts": 1.0,
                                 **({"text_hash": hashed(text)} if hashed else {})})


def test_m010_keeps_the_latest_of_a_text_labelled_twice_before_it_and_indexes_the_rest(database, monkeypatch):
    """Before m010 one label per text was kept by one write transaction, so two writers at once on PostgreSQL could
    both store a text: m010 resolves such copies as m009 did (the latest stays), then a unique index holds."""
    long = _long_text(1)
    made_the_old_way = [("T1", "Guests skip the queue.", "outside-in"), ("T1", long, "mixed"),
                        ("T2", "Guests skip the queue.", "mixed"), ("T1", "Guests skip the queue.", "inside-out"),
                        ("T1", "guests skip the queue.", "mixed"), ("T1", long, "not-a-proposal"),
                        ("T1", long + ".", "outside-in"), ("T1", "Guests skip the queue.", "mixed")]
    with _migrated_before(database, monkeypatch, "m010_labels_unique_by_text_hash") as old:
        _insert_labels(old, made_the_old_way)

    store = Store(database)

    assert migrations.applied(store.db) == [name for name, _fn in migrations.MIGRATIONS]
    # (m011 then counts "guests skip the queue." as the same draft: the later "Guests ..." stays.)
    assert _labels(store) == sorted([("T1", "Guests skip the queue.", "mixed"), ("T1", long, "not-a-proposal"),
                                     ("T2", "Guests skip the queue.", "mixed"), ("T1", long + ".", "outside-in")])
    rows = store.db.query("select text, text_hash from labels")
    assert all(r["text_hash"] == store.db.dialect.text_hash(r["text"]) for r in rows)
    # The index holds from now on: a plain insert of a stored text is refused, whatever wrote it.
    with pytest.raises(Exception, match="(?i)unique"), store.db.write() as tx:
        tx.insert("labels", {"workspace": "T1", "text": long, "text_hash": store.db.dialect.text_hash(long),
                             "label": "mixed", "ts": 2.0})
    # And the writers replace what the migration kept.
    assert store.add_labels([{"workspace": "T1", "text": long, "label": "outside-in"}]).replaced == 1
    assert ("T1", long, "outside-in") in _labels(store) and store.count("labels") == 4


def test_m011_keeps_the_latest_of_a_draft_labelled_again_re_cased_or_re_spaced(database, monkeypatch):
    """m010 hashed the exact text, so one draft re-cased or re-spaced was two labels: m011 hashes it as a draft (as
    the verdict cache and a retrain's hold-out count drafts) and keeps the latest of such copies."""
    long = _long_text(3)
    made_by_m010 = [("T1", "Guests skip the queue.", "outside-in"), ("T1", long, "mixed"),
                    ("T2", "Guests skip the queue.", "mixed"), ("T1", "guests  skip the queue.", "inside-out"),
                    ("T1", long.upper() + "\n", "not-a-proposal"), ("T1", "Guests skip the queue!", "mixed")]
    with _migrated_before(database, monkeypatch, "m011_one_label_per_draft") as old:
        _insert_labels(old, made_by_m010, lambda text: hashlib.sha256(text.encode()).hexdigest())  # m010's exact hash

    store = Store(database)

    assert migrations.applied(store.db) == [name for name, _fn in migrations.MIGRATIONS]
    assert _labels(store) == sorted([("T1", "guests  skip the queue.", "inside-out"),
                                     ("T1", long.upper() + "\n", "not-a-proposal"),
                                     ("T2", "Guests skip the queue.", "mixed"), ("T1", "Guests skip the queue!", "mixed")])
    rows = store.db.query("select text, text_hash from labels")
    assert all(r["text_hash"] == store.db.dialect.text_hash(r["text"]) for r in rows)
    with pytest.raises(Exception, match="(?i)unique"), store.db.write() as tx:
        tx.insert("labels", {"workspace": "T1", "text": long, "text_hash": store.db.dialect.text_hash(long),
                             "label": "mixed", "ts": 2.0})
    assert store.add_labels([{"workspace": "T1", "text": "GUESTS SKIP THE QUEUE.", "label": "mixed"}]).replaced == 1


def _indexes(store: Store, table: str) -> set[str]:
    sql = ("select indexname as name from pg_indexes where schemaname = current_schema() and tablename = ?"
           if store.db.dialect.name == "postgresql" else "select name from sqlite_master where type = 'index' and tbl_name = ?")
    return {r["name"] for r in store.db.query(sql, [table])}


def test_m012_drops_the_labels_workspace_index_the_unique_one_already_serves(database, monkeypatch):
    with _migrated_before(database, monkeypatch, "m012_drop_labels_workspace_index") as old:
        old.add_labels([{"workspace": "T1", "text": "Guests skip the queue.", "label": "mixed"}])
        assert "idx_labels_workspace" in _indexes(old, "labels")

    store = Store(database)

    assert migrations.applied(store.db) == [name for name, _fn in migrations.MIGRATIONS]
    assert {"idx_labels_one_per_text", "idx_labels_user"} <= _indexes(store, "labels")
    assert "idx_labels_workspace" not in _indexes(store, "labels")
    assert [r["text"] for r in store.labels_for("T1")] == ["Guests skip the queue."]
    assert store.forget_workspace("T1")["labels"] == 1


def _plan(store: Store, sql: str, params: list[Any] | None = None) -> str:
    """The database's plan for ``sql``; on PostgreSQL with sequential scans priced out, as a table of a million rows
    prices them (a test's few rows are read faster whole, so the planner would not show what it can use)."""
    if store.db.dialect.name == "postgresql":
        with store.db.write() as tx:
            tx.execute("set local enable_seqscan = off")
            return "\n".join(r["QUERY PLAN"] for r in tx.query("explain " + sql, params or []))
    return "\n".join(r["detail"] for r in store.db.query("explain query plan " + sql, params or []))


def _logged(store: Store, workspace: str, source: str) -> None:
    store.record_check(Verdict(label="mixed", customer_ease=50, engine="rules",
                               playbook=PlaybookRef(name="outside-in", version="1")),
                       "a draft", source=source, workspace=workspace)


def test_m014_indexes_the_workspaces_whose_checks_start_a_digest_and_the_scheduler_reads_them_there(database,
                                                                                                     monkeypatch):
    """The digest scheduler asks every minute, on every instance, which workspaces have a check from Slack, and read
    every check to answer. m014 indexes only those checks' workspaces, on a database that holds checks already; the
    scheduler's query reads that index (its where clause must say what the index's says, or it is not used) and
    finds the workspaces it found before, and those of checks recorded or forgotten after."""
    with _migrated_before(database, monkeypatch, "m014_slack_workspaces_index") as old:
        for workspace, source in (("T1", "channel"), ("T2", "slash"), ("T3", "cli"), ("T4", "import"), ("", "channel"),
                                  ("", "cli"), ("T1", "import"), ("T5", "workflow"), ("T1", "slash")):
            _logged(old, workspace, source)
        old.set_setting("T6", "digest_channel", "C6")  # a digest channel chosen before any draft
        assert "idx_checks_slack_workspace" not in _indexes(old, "checks")

    store = Store(database)

    assert migrations.applied(store.db) == [name for name, _fn in migrations.MIGRATIONS]
    assert "idx_checks_slack_workspace" in _indexes(store, "checks")
    assert "idx_checks_slack_workspace" in _plan(store, DIGEST_WORKSPACES)
    assert store.digest_workspaces() == ["T1", "T2", "T5", "T6"]
    _logged(store, "T7", "cli")
    _logged(store, "T8", "channel")
    store.forget_workspace("T2")
    assert store.digest_workspaces() == ["T1", "T5", "T6", "T8"]


def test_m015_indexes_labels_by_source_so_a_deleted_drafts_labels_are_found_without_reading_them_all(database,
                                                                                                   monkeypatch):
    """A deleted draft's labels are deleted by their source (``decision:<id>``) before Slack's ack, and retention and
    forget --user delete by source too: each read every label. m015 indexes the source, on a database that holds
    labels already, and the deletion finds them there."""
    with _migrated_before(database, monkeypatch, "m015_labels_source_index") as old:
        check_id = add(old, "inside-out", 1_000_000.0, user="UALICE", text="Alice's draft about the Acme renewal")
        decision = old.record_decision(check_id, "disputed", user="UADMIN")
        assert old.label_from_decision(decision, "outside-in", user="UADMIN", workspace="T1")
        old.add_labels([{"workspace": "T1", "text": "Guests skip the queue.", "label": "mixed"}])
        assert "idx_labels_source" not in _indexes(old, "labels")

    store = Store(database)

    assert migrations.applied(store.db) == [name for name, _fn in migrations.MIGRATIONS]
    assert "idx_labels_source" in _indexes(store, "labels")
    assert "idx_labels_source" in _plan(store, "delete from labels where source in (?)", [f"decision:{decision}"])
    store.withdraw_check(check_id)  # Alice deleted her draft: the label given on it goes, the file's stays
    assert [r["text"] for r in store.labels_for("T1")] == ["Guests skip the queue."]


def test_two_writers_labelling_the_same_texts_at_once_leave_one_row_per_text(database):
    """Two imports of one file at the same moment, each with its own connections (two instances): on PostgreSQL
    each found no row to replace and both stored every text. One row per text; the later import wins, whole; the
    second writes in the reverse order and must not deadlock."""
    Store(database).close()  # migrated before the race
    stores = [Store(database), Store(database)]
    texts = [f"Guests check in from their phone at {hotel}." for hotel in ("the Harbour", "Old Town", "Riverside")]
    texts += [_long_text(seed) for seed in range(3)] + [f"Lift ADR by ${n} at every hotel." for n in range(24)]
    errors: list[BaseException] = []
    for round_ in range(8):
        batches = [[{"workspace": "T1", "text": t, "label": label} for t in texts]
                   for label in (("mixed", "outside-in"), ("inside-out", "not-a-proposal"))[round_ % 2]]
        batches[1].reverse()
        barrier = threading.Barrier(2)

        def write(n: int, batches: list = batches, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                stores[n].add_labels(batches[n])
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        run_threads(write, 2)
        assert errors == []
        rows = stores[0].db.query("select text, label from labels")
        assert sorted(r["text"] for r in rows) == sorted(texts), f"round {round_}"
        assert len({r["label"] for r in rows}) == 1, f"round {round_}: both imports' labels kept"


def test_a_label_on_a_long_draft_is_one_row_and_is_erased_with_its_author(database):
    """A 20,000-character draft: an index on the text itself would refuse it on PostgreSQL (index rows stop at
    about 2,700 bytes); its hash is 64 characters whatever its length."""
    store = Store(database)
    long = _long_text(2)
    first = store.add_labels([{"workspace": "T1", "text": long, "label": "outside-in"},
                              {"workspace": "T1", "text": long[:-1], "label": "mixed"},
                              {"workspace": "T2", "text": long, "label": "mixed"}])
    again = store.add_labels([{"workspace": "T1", "text": long, "label": "inside-out"}])
    assert (first.stored, first.replaced, again.stored, again.replaced) == (3, 0, 1, 1)
    check_id = add(store, "inside-out", 1_000_000.0, user="UALICE", text=long)
    decision = store.record_decision(check_id, "disputed", user="UADMIN")
    assert store.label_from_decision(decision, "not-a-proposal", user="UADMIN", workspace="T1")
    assert _labels(store) == sorted([("T1", long, "not-a-proposal"), ("T1", long[:-1], "mixed"),
                                     ("T2", long, "mixed")])

    assert store.forget_user("UALICE")["labels_deleted"] == 1
    # The row goes, hash and all: no trace of her draft stays in the workspace, another workspace's copy does.
    assert _labels(store) == sorted([("T1", long[:-1], "mixed"), ("T2", long, "mixed")])
    assert store.db.query("select workspace from labels where text_hash = ?",
                          [store.db.dialect.text_hash(long)]) == [{"workspace": "T2"}]


def test_texts_the_database_keeps_as_one_share_one_label(database):
    """Case, spacing and invisible characters never count (m011). PostgreSQL keeps a NUL as U+FFFD, so there a
    NUL makes the draft with U+FFFD (as m009 grouped them); SQLite keeps the NUL, invisible like a zero-width space."""
    store = Store(database)
    added = store.add_labels([{"workspace": "T1", "text": "Ship it\ufffd now", "label": "outside-in"},
                              {"workspace": "T1", "text": "ship it\ufffd now", "label": "mixed"},
                              {"workspace": "T1", "text": "Ship it now", "label": "not-a-proposal"},
                              {"workspace": "T1", "text": "ship it\ufffd  now ", "label": "inside-out"},
                              {"workspace": "T1", "text": "Ship it\x00 now", "label": "mixed"}])
    assert (added.stored, added.repeated) == (2, 3)
    if database.startswith("postgresql://"):
        assert _labels(store) == [("T1", "Ship it now", "not-a-proposal"), ("T1", "Ship it\ufffd now", "mixed")]
    else:
        assert _labels(store) == [("T1", "Ship it\x00 now", "mixed"), ("T1", "ship it\ufffd  now ", "inside-out")]
