"""Group commit of pending checks: every request gets its own committed row, in few transactions."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.pending import PendingWriter
from bot.store import Store


def test_a_burst_is_recorded_in_few_transactions(tmp_path):
    store = Store(tmp_path / "p.db")
    writer = PendingWriter(store)

    async def burst() -> list[int]:
        return await asyncio.gather(*(writer.record(f"draft {i}", source="slash", workspace="T1", user=f"U{i}",
                                                    channel="C1") for i in range(200)))

    ids = asyncio.run(burst())
    writer.close()
    assert len(set(ids)) == 200
    rows = {r["id"]: r for r in Store(tmp_path / "p.db").db.query("select * from checks")}
    assert all(rows[i]["status"] == "pending" and rows[i]["source"] == "slash" for i in ids)
    assert [rows[i]["user"] for i in ids] == [f"U{i}" for i in range(200)]  # each request got its own row
    assert 1 <= writer.batches < 200


def test_without_stored_texts_a_pending_draft_is_held_only_until_it_is_answered(tmp_path):
    """MOTIVECHECK_STORE_TEXT=off: recovery after a crash needs the text, so it stays while pending, no longer."""
    from bot.checker import Checker
    from bot.config import load_settings

    store = Store(tmp_path / "p.db", store_text=False)
    writer = PendingWriter(store)
    done_id, failed_id = (asyncio.run(writer.record(text, source="slash")) for text in ("secret plan", "other plan"))
    writer.close()
    assert store.get_check(done_id)["draft_text"] == "secret plan"  # what recovery would read
    verdict, usage = Checker(load_settings(env={}), store).assess("secret plan")
    store.complete_check(done_id, verdict, usage=usage)
    store.fail_check(failed_id)
    for check_id in (done_id, failed_id):
        row = store.get_check(check_id)
        assert row["draft_text"] is None and row["draft_hash"]
    store.db.checkpoint()
    data = b"".join(p.read_bytes() for p in tmp_path.glob("p.db*"))
    assert b"secret plan" not in data and b"other plan" not in data


def test_a_failed_write_reaches_every_waiter_and_the_writer_survives(tmp_path):
    store = Store(tmp_path / "p.db")
    writer = PendingWriter(store)

    async def go() -> list:
        return await asyncio.gather(writer.record("a", source="slash", no_such_column=1),
                                    return_exceptions=True)

    (result,) = asyncio.run(go())
    assert isinstance(result, (sqlite3.Error, Exception)) and not isinstance(result, int)
    assert asyncio.run(writer.record("b", source="slash")) > 0  # still writing
    writer.close()


@pytest.mark.timeout(10)
def test_close_stops_the_thread(tmp_path):
    writer = PendingWriter(Store(tmp_path / "p.db"))
    writer.close()
    assert not writer._thread.is_alive()


def test_a_dead_writer_falls_back_to_direct_writes(tmp_path):
    store = Store(tmp_path / "p.db")
    writer = PendingWriter(store)
    writer.close()  # the thread is gone, as if it had crashed
    check_id = asyncio.run(writer.record("still recorded", source="slash"))
    assert store.get_check(check_id)["status"] == "pending"
