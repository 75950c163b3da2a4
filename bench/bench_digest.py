"""One digest over 1,000,000 checks (a year, 50 channels): target under 200 ms. Prints the figures."""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.digest import compute, last_full_week  # noqa: E402
from bot.store import Store  # noqa: E402

N = 1_000_000
LABELS = ["outside-in", "mixed", "inside-out", "not-a-proposal"]
MOTIVES = ["revenue-profit", "upsell-crosssell", "new-product", "acquisition", "cost-efficiency"]


def fill(store: Store, now: float) -> None:
    rnd = random.Random(1)
    year = 365 * 86400
    verdict = json.dumps({"reframe": "Customers can [..]. If it does, we expect growth."})
    rows = []
    for i in range(N):
        label = rnd.choices(LABELS, weights=[3, 2, 4, 3])[0]
        rows.append((now - rnd.random() * year, "channel", "T1", f"C{rnd.randrange(50):02d}",
                     "public" if rnd.random() < 0.8 else "private", f"U{rnd.randrange(400)}", f"{1.7e9 + i:.6f}",
                     label, rnd.randrange(100), json.dumps(rnd.sample(MOTIVES, 2)), "rules", verdict, "done"))
    with store.db.write() as tx:
        tx.executemany(
            'insert into checks (ts, source, workspace, channel, channel_type, "user", message_ts, label, '
            "customer_ease, motives, engine, verdict_json, status) values (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        ids = [r["id"] for r in tx.query("select id from checks order by random() limit 20000")]
        tx.executemany('insert into decisions (check_id, ts, workspace, channel, "user", action) '
                       "values (?, ?, 'T1', '', 'U1', ?)",
                       [(i, now, rnd.choice(["accepted", "kept-original", "disputed"])) for i in ids])
    with store.db.session() as s:
        s.execute("analyze")


def main() -> None:
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"{tmp}/big.db")
        started = time.perf_counter()
        fill(store, now)
        print(f"filled {N:,} checks over a year across 50 channels in {time.perf_counter() - started:.1f} s")
        year, week = last_full_week(now, "UTC")
        times = []
        for _ in range(5):
            t = time.perf_counter()
            d = compute(store, "T1", year, week, "UTC")
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        print(f"one digest ({d.week}, {d.checked:,} proposals that week): median {times[2]:.0f} ms, "
              f"best {times[0]:.0f} ms over 5 runs; target < 200 ms")


if __name__ == "__main__":
    main()
