"""Every query on labels by their source, over N labels (a third of them given on checks, ``decision:<id>``): its
plan and time before m015 (no index on labels.source) and after, side by side. Prints the figures.

    python bench/bench_labels.py [N] [DATABASE_URL]   # N defaults to 100,000; a temporary SQLite file unless a URL

On PostgreSQL give a database (or a schema, ?options=-csearch_path%3D...) you can lose: it fills the tables there.
Rows are written straight into the tables (executemany), not through the app.
"""

from __future__ import annotations

import random
import re
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import store_before  # noqa: E402

from bot.store import Store, migrations  # noqa: E402
from bot.store.database import Session  # noqa: E402

WORKSPACES = 200
# labels_for before this change, kept to compare in the same run: the labels on opted-out authors' checks were
# matched label by label, from the decisions' side.
OLD_LABELS_FOR = (
    'select * from labels where workspace = ? and not exists (select 1 from optouts o where '
    'o.workspace = labels.workspace and o."user" = labels."user" and labels."user" != \'\') '
    "and not exists (select 1 from decisions d join checks c on c.id = d.check_id "
    'join optouts o on o.workspace = c.workspace and o."user" = c."user" '
    "where labels.source = 'decision:' || cast(d.id as text) and c.\"user\" != '') order by id")
FIRST_NEW = "m015_labels_source_index"


def open_before(target: str) -> Store:
    """A store migrated up to just before m015: the schema the old queries ran on."""
    return store_before(target, FIRST_NEW)


def fill(store: Store, n: int, now: float) -> dict[str, Any]:
    """``n`` labels in WORKSPACES workspaces (sizes skewed); a third given on checks (each with its check and
    decision), the rest loaded from files; a few people opted out. What the timings need, returned."""
    rnd = random.Random(1)
    words = ["".join(rnd.choice(string.ascii_lowercase) for _ in range(rnd.randint(2, 9))) for _ in range(3000)]
    names = [f"T{i:04d}" for i in range(WORKSPACES)]
    weights = [1 / (i + 1) ** 0.8 for i in range(WORKSPACES)]
    given = n // 3
    checks, decisions, labels = [], [], []
    for i, ws in enumerate(rnd.choices(names, weights, k=n)):
        text = " ".join(rnd.choices(words, k=rnd.randint(30, 90))) + f" {i}"
        user = f"U{rnd.randrange(300)}"
        source = "file"
        if i < given:  # check i+1, decision i+1 (fresh tables: ids from 1)
            checks.append((now - rnd.random() * 200 * 86400, "channel", ws, "C1", "public", user, text, "done"))
            decisions.append((i + 1, now, ws, "C1", "UADMIN", "disputed", "disputed:UADMIN", "mixed"))
            source = f"decision:{i + 1}"
        labels.append((ws, "C1", user, text, store.db.dialect.text_hash(text), rnd.choice(["mixed", "inside-out"]),
                       source, 0, now - rnd.random() * 200 * 86400))
    with store.db.write() as tx:
        tx.executemany('insert into checks (ts, source, workspace, channel, channel_type, "user", draft_text, status) '
                       "values (?, ?, ?, ?, ?, ?, ?, ?)", checks)
        tx.executemany('insert into decisions (check_id, ts, workspace, channel, "user", action, slot, label) '
                       "values (?, ?, ?, ?, ?, ?, ?, ?)", decisions)
        tx.executemany('insert into labels (workspace, channel, "user", text, text_hash, label, source, private, ts) '
                       "values (?, ?, ?, ?, ?, ?, ?, ?, ?)", labels)
        tx.executemany('insert into optouts (workspace, "user", ts) values (?, ?, ?)',
                       [(ws, f"U{u}", now) for ws in names[:20] for u in range(3)])
    with store.db.session() as s:
        s.execute("analyze")
    return {"given": given, "biggest": names[0], "labels": sum(1 for label in labels if label[0] == names[0])}


def timed(fn: Callable[[], Any], runs: int = 7) -> tuple[float, float]:
    """(median ms, slowest ms) over ``runs`` calls, after one to warm the caches."""
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def plan(store: Store, sql: str, params: list[Any]) -> str:
    """The database's plan for ``sql``, on one line (PostgreSQL's without its cost estimates)."""
    if store.db.dialect.name == "postgresql":
        rows = store.db.query("explain " + sql, params)
        lines = [re.sub(r"\s*\(cost=[^)]*\)", "", r["QUERY PLAN"]) for r in rows]
    else:
        lines = [r["detail"] for r in store.db.query("explain query plan " + sql, params)]
    return " | ".join(_cut(line.strip().lstrip("-> ")) for line in lines)


def _cut(line: str, limit: int = 120) -> str:
    """A plan line with a long list of values (500 sources) cut short."""
    return line if len(line) <= limit else line[:limit] + "…"


def measure(store: Store, facts: dict[str, Any], *, old: bool) -> dict[str, tuple[float, float, str]]:
    """Each query by source: (median ms, slowest ms, plan). Deletes are read as the select of the same rows (the
    same plan), so every run finds the same rows."""
    rnd = random.Random(2)
    one = [f"decision:{rnd.randrange(1, facts['given'])}"]
    batch = [f"decision:{rnd.randrange(1, facts['given'])}" for _ in range(500)]
    by_source = "select id from labels where source in ({})"
    queries: dict[str, tuple[str, list[Any]]] = {
        # A deleted draft's labels (erasure.withdraw_check): before Slack's ack, in its write transaction.
        "withdrawn draft (1 decision)": (by_source.format("?"), one),
        # Retention's first purge and forget --user: 500 sources a statement.
        "purge / forget (500 decisions)": (by_source.format(",".join("?" * 500)), batch),
        # Retention by age (m013's partial index).
        "purge by age": ("select id from labels where ts < ? and substr(source, 1, 9) = 'decision:' limit 1000",
                         [time.time() - 1000 * 86400]),
    }
    out = {name: (*timed(lambda sql=sql, params=params: store.db.query(sql, params)), plan(store, sql, params))
           for name, (sql, params) in queries.items()}
    # A workspace's labels (App Home for an admin, a retrain), those given on checks of people who opted out left out
    # by their source: some opted out in this workspace. The old query took minutes on SQLite at 100,000 labels, so
    # it runs once (its caches warm from the queries above).
    if old:
        sql, params = OLD_LABELS_FOR, [facts["biggest"]]
        started = time.perf_counter()
        facts["old_labels"] = store.db.query(sql, params)
        ms = slowest = (time.perf_counter() - started) * 1000
    else:
        sql, params = sent(lambda: store.labels_for(facts["biggest"]))
        assert store.labels_for(facts["biggest"]) == facts["old_labels"], "labels_for finds other labels"
        ms, slowest = timed(lambda: store.labels_for(facts["biggest"]), runs=5)
    out["labels_for, biggest workspace"] = (ms, slowest, plan(store, sql, params))
    return out


def sent(fn: Callable[[], Any]) -> tuple[str, list[Any]]:
    """The (last) statement ``fn`` sends through the store, and its parameters: to ask for its plan."""
    seen: list[tuple[str, list[Any]]] = []
    original = Session._run

    def run(session: Session, sql: str, params: Any = ()) -> Any:
        seen.append((sql, list(params)))
        return original(session, sql, params)

    Session._run = run  # type: ignore[method-assign]
    try:
        fn()
    finally:
        Session._run = original  # type: ignore[method-assign]
    return seen[-1]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    target = sys.argv[2] if len(sys.argv) > 2 else str(Path(tempfile.mkdtemp()) / "labels.db")
    store = open_before(target)
    started = time.perf_counter()
    facts = fill(store, n, time.time())
    print(f"{store.location} ({store.db.dialect.name}): {n:,} labels ({facts['given']:,} given on checks) in "
          f"{WORKSPACES} workspaces written in {time.perf_counter() - started:.1f} s")
    before = measure(store, facts, old=True)
    started = time.perf_counter()
    applied = migrations.apply(store.db)
    print(f"{', '.join(applied) or 'no migration'} applied in {time.perf_counter() - started:.2f} s")
    with store.db.session() as s:
        s.execute("analyze")
    after = measure(store, facts, old=False)
    print(f"{'query (median, slowest)':34} {'before':>18} {'after':>18}")
    print(f"(labels_for: {facts['labels']:,} labels in the biggest workspace, 3 of its people opted out)")
    for name, (ms, slowest, _plan) in before.items():
        print(f"{name:34} {f'{ms:.2f} ({slowest:.2f}) ms':>18} {f'{after[name][0]:.2f} ({after[name][1]:.2f}) ms':>18}")
    for name, (_ms, _slowest, old_plan) in before.items():
        if old_plan:
            print(f"{name}:\n  before: {old_plan}\n  after:  {after[name][2]}")
    store.close()


if __name__ == "__main__":
    main()
