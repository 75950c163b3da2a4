"""Several instances, one truth: every "exactly once" is the database's guarantee, not one process's memory."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.store import Store, migrations
from bot.verdict import PlaybookRef, Verdict

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def target(tmp_path):
    """Where the instances' shared database lives."""
    return str(tmp_path / "shared.db")


def _verdict(label: str = "inside-out") -> Verdict:
    return Verdict(label=label, customer_ease=10, motives=["revenue-profit"], engine="rules",
                   playbook=PlaybookRef(name="outside-in", version="1"))


def test_processes_starting_at_once_migrate_once_and_all_start(target):
    """Found in issue 20: two `serve` processes on one fresh database, one died with "database is locked"."""
    start = time.time() + 1.5  # all of them open the store at this moment
    code = (f"import time; time.sleep(max(0, {start} - time.time()))\n"
            f"from bot.store import Store; s = Store({target!r}); print(s.db.value('select count(*) from checks'))")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(3)]
    results = [(p.wait(timeout=60), p.stdout.read().decode().strip(), p.stderr.read().decode()) for p in procs]
    assert [(rc, out) for rc, out, _ in results] == [(0, "0")] * 3, [err[-500:] for _, _, err in results]
    store = Store(target)
    names = migrations.applied(store.db)
    assert names == [name for name, _ in migrations.MIGRATIONS]  # each applied exactly once


def test_one_decision_per_person_and_check_when_clicks_reach_two_instances(target):
    first, second = Store(target), Store(target)  # two instances' connections to one database
    cid = first.record_check(_verdict(), "draft", source="slash", user="U1")
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def click(store: Store, action: str) -> None:
        try:
            barrier.wait()
            for _ in range(10):
                store.record_decision(cid, action, user="U1")
                store.record_decision(cid, "why", user="U1")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    actions = ["accepted", "kept-original", "disputed", "accepted"]
    threads = [threading.Thread(target=click, args=(store, action)) for store in (first, second) for action in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = first.decisions_for(cid)
    assert sorted(r["slot"] for r in rows) == ["choice", "why"]  # one choice (the latest), Why? noted once
    assert next(r for r in rows if r["slot"] == "choice")["action"] in {"accepted", "kept-original", "disputed"}


def test_the_database_itself_refuses_a_second_choice(target):
    store = Store(target)
    cid = store.record_check(_verdict(), "draft", source="slash", user="U1")
    store.record_decision(cid, "accepted", user="U1")
    with pytest.raises(Exception, match="(?i)unique"), store.db.write() as tx:  # noqa: PT012 - the write is the point
        tx.insert("decisions", {"check_id": cid, "ts": time.time(), "user": "U1", "action": "disputed",
                                "slot": "choice"})
    again = store.record_decision(cid, "disputed", user="U1", reason="changed my mind")
    assert [(r["id"], r["action"], r["reason"]) for r in store.decisions_for(cid)] == [
        (again, "disputed", "changed my mind")]
    assert store.record_decision(cid, "accepted", user="U2") != again  # another person has a decision of their own
