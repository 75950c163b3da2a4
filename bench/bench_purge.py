"""Retention's purge over N old checks: the first purge (batched) and a purge with nothing left to do, which every
run after it is. Prints the figures.

    python bench/bench_purge.py [N] [DATABASE_URL]   # N defaults to 200,000; a temporary SQLite file unless a URL

On PostgreSQL give a database (or a schema, ?options=-csearch_path%3D...) you can lose: it fills the tables there.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.store import Store  # noqa: E402
from bot.verdict import PlaybookRef, Verdict  # noqa: E402

DAY = 86400


def fill(store: Store, n: int, now: float) -> None:
    """``n`` checks 40 to 100 days old with their words (the text and the reframe), a verdict cached for each, and a
    decision with a reason on every tenth."""
    verdict = Verdict(label="inside-out", customer_ease=40, motives=["revenue-profit"], engine="rules",
                      reframe="Dormant accounts can schedule exports.", playbook=PlaybookRef(name="outside-in",
                                                                                              version="1"))
    raw = verdict.model_dump_json()
    for start in range(0, n, 10_000):
        rows = [store.check_row(verdict, f"We'll upsell dormant accounts, draft {i}", source="import",
                                ts=now - 40 * DAY - (i / n) * 60 * DAY, workspace="T1", channel="C1", user=f"U{i % 400}")
                for i in range(start, min(n, start + 10_000))]
        with store.db.write() as tx:
            tx.insert_many("checks", rows)
            tx.insert_many("verdict_cache", [{"key": f"k{start + j}", "verdict_json": raw, "ts": r["ts"],
                                              "draft_hash": r["draft_hash"]} for j, r in enumerate(rows)])
    with store.db.write() as tx:
        ids = [r["id"] for r in tx.query("select id, ts from checks where id % 10 = 0")]
        tx.insert_many("decisions", [{"check_id": i, "ts": now - 40 * DAY, "workspace": "T1", "user": "U1",
                                      "action": "kept-original", "slot": "choice", "reason": "my own words"}
                                     for i in ids])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    target = sys.argv[2] if len(sys.argv) > 2 else str(Path(tempfile.mkdtemp()) / "purge.db")
    store = Store(target)
    now = time.time()
    started = time.perf_counter()
    fill(store, n, now)
    print(f"{store.location}: {n:,} old checks written in {time.perf_counter() - started:.1f} s")
    cutoff = now - 30 * DAY
    batches: list[float] = []
    mark = time.perf_counter()

    def keep_going() -> bool:
        nonlocal mark
        batches.append(time.perf_counter() - mark)
        mark = time.perf_counter()
        return True

    started = time.perf_counter()
    purged = store.purge_texts(cutoff, keep_going=keep_going)
    first = time.perf_counter() - started
    print(f"first purge: {purged:,} checks in {first:.1f} s, {len(batches) + 1} transactions "
          f"(longest {max(batches or [first]) * 1000:.0f} ms, median {statistics.median(batches or [first]) * 1000:.0f} ms)")
    idle = []
    for _ in range(7):
        started = time.perf_counter()
        assert store.purge_texts(cutoff) == 0
        idle.append(time.perf_counter() - started)
    print(f"purge with nothing to do: median {statistics.median(idle) * 1000:.1f} ms, "
          f"slowest {max(idle) * 1000:.1f} ms (7 runs)")
    store.close()


if __name__ == "__main__":
    main()
