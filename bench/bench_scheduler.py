"""The digest scheduler's tick over N checks in W workspaces (every minute, on every instance), and the queries one
digest run makes. Prints the figures.

    python bench/bench_scheduler.py [N] [W] [DATABASE_URL]   # 1,000,000 checks, 500 workspaces, a temporary SQLite file

On PostgreSQL give a database (or a schema, ?options=-csearch_path%3D...) you can lose: it fills the tables there.
Rows are written straight into the tables (executemany on SQLite, COPY on PostgreSQL), not through the app.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import store_before  # noqa: E402

from bot.config import Settings, load_settings  # noqa: E402
from bot.datacontrols import run_retention  # noqa: E402
from bot.digest import last_full_week  # noqa: E402
from bot.digest_post import _titles, build  # noqa: E402
from bot.schedule import SETTING as SCHEDULE_SETTING  # noqa: E402
from bot.schedule import workspace_schedule  # noqa: E402
from bot.store import Store, migrations  # noqa: E402
from bot.store.database import Session  # noqa: E402
from bot.store.digests import DIGEST_WORKSPACES  # noqa: E402

DAY = 86400
LABELS = ["outside-in", "mixed", "inside-out", "not-a-proposal"]
MOTIVES = ["revenue-profit", "upsell-crosssell", "new-product", "acquisition", "cost-efficiency"]
COLUMNS = ("ts", "source", "workspace", "channel", "channel_type", "user", "message_ts", "draft_hash", "label",
           "customer_ease", "motives", "engine", "verdict_json", "status")
# Where checks come from: mostly Slack; some logged from the CLI or imported, which never start a digest.
SOURCES = (("channel", 70), ("slash", 20), ("cli", 5), ("import", 5))
SAMPLE = 20  # digests built the old way and the new, side by side
IMPORT_ONLY = 10  # workspaces whose every check was imported (an export loaded before the app was installed)


def rows(n: int, workspaces: int, now: float) -> list[tuple[Any, ...]]:
    """``n`` checks over a year: workspace sizes skewed (a few big, many small), as a hosted app's would be."""
    rnd = random.Random(1)
    names = [f"T{i:05d}" for i in range(workspaces)]
    weights = [1 / (i + 1) ** 0.8 for i in range(workspaces)]
    sources, source_weights = zip(*SOURCES, strict=True)
    verdict = json.dumps({"label": "inside-out", "customer_ease": 40, "motives": ["revenue-profit"], "evidence": [],
                          "reframe": None, "questions": [], "measures": [], "engine": "rules",
                          "playbook": {"name": "outside-in", "version": "1"}})
    out = []
    for i, ws in enumerate(rnd.choices(names, weights, k=n)):
        index = int(ws[1:])
        source = "import" if index >= workspaces - IMPORT_ONLY else rnd.choices(sources, source_weights)[0]
        if source == "cli" and rnd.random() < 0.5:
            ws = ""  # the CLI without --workspace
        out.append((now - rnd.random() * 365 * DAY, source, ws, f"C{rnd.randrange(40):02d}",
                    "public" if rnd.random() < 0.8 else "private", f"U{rnd.randrange(300)}", f"{1.7e9 + i:.6f}",
                    f"{i:064x}", rnd.choice(LABELS), rnd.randrange(100), json.dumps(rnd.sample(MOTIVES, 2)), "rules",
                    verdict, "done"))
    return out


def fill(store: Store, n: int, workspaces: int, now: float) -> None:
    data = rows(n, workspaces, now)
    names = ", ".join(f'"{c}"' for c in COLUMNS)
    if store.db.dialect.name == "postgresql":
        with store.db._connection(writing=True) as conn, conn.cursor() as cur:
            with cur.copy(f"copy checks ({names}) from stdin") as copy:
                for row in data:
                    copy.write_row(row)
    else:
        with store.db.write() as tx:
            tx.executemany(f"insert into checks ({names}) values ({', '.join('?' * len(COLUMNS))})", data)
    # A digest channel set in a few workspaces that have no check yet: they get a digest too.
    with store.db.write() as tx:
        tx.executemany("insert into workspace_settings (workspace, key, value) values (?, 'digest_channel', ?)",
                       [[f"TNEW{i}", "C1"] for i in range(5)])
    analyze(store)


def analyze(store: Store) -> None:
    """Fresh statistics for the planner, as autovacuum (or SQLite's optimize) would leave them."""
    with store.db.session() as s:
        s.execute("analyze")


def timed(fn: Callable[[], Any], runs: int = 9) -> tuple[float, float, Any]:
    """(median ms, slowest ms, last result) over ``runs`` calls, after one to warm the caches."""
    result = fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), result


def plan(store: Store, sql: str) -> str:
    """The database's plan for ``sql``, on one line (PostgreSQL's without its cost estimates)."""
    if store.db.dialect.name == "postgresql":
        lines = [re.sub(r"\s*\(cost=[^)]*\)", "", r["QUERY PLAN"]) for r in store.db.query("explain " + sql)]
    else:
        lines = [r["detail"] for r in store.db.query("explain query plan " + sql)]
    return " | ".join(line.strip().lstrip("-> ") for line in lines)


class Counting:
    """Counts the statements the store sends while it is entered (a bench's view from outside: no app change)."""

    def __init__(self) -> None:
        self.statements: Counter[str] = Counter()

    def __enter__(self) -> Counting:
        self._run, self._many = Session._run, Session.executemany
        counter = self.statements

        def run(session: Session, sql: str, params: Any = ()) -> Any:
            counter[" ".join(sql.split())[:60]] += 1
            return self._run(session, sql, params)

        def many(session: Session, sql: str, rows: Any) -> None:
            rows = list(rows)
            if rows:  # none: nothing is sent
                counter[" ".join(sql.split())[:60]] += 1
            self._many(session, sql, rows)

        Session._run, Session.executemany = run, many  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        Session._run, Session.executemany = self._run, self._many  # type: ignore[method-assign]


# The scheduler's query before m014, kept to compare in the same run.
OLD_DIGEST_WORKSPACES = (
    "select distinct workspace from checks where workspace != '' and source not in ('cli', 'import') "
    "union select workspace from workspace_settings where key = 'digest_channel' and workspace != '' "
    "order by workspace")
FIRST_NEW = "m014_slack_workspaces_index"


def open_before(target: str) -> Store:
    """A store migrated up to just before m014: the schema the old queries ran on."""
    return store_before(target, FIRST_NEW)


def write_cost(store: Store, n: int = 20_000) -> float:
    """Microseconds a check costs to insert (``n`` Slack checks in one transaction): what every index adds to."""
    data = rows(n, 50, time.time())
    names = ", ".join(f'"{c}"' for c in COLUMNS)
    started = time.perf_counter()
    with store.db.write() as tx:
        tx.executemany(f"insert into checks ({names}) values ({', '.join('?' * len(COLUMNS))})", data)
    return (time.perf_counter() - started) / n * 1e6


def tick_queries(store: Store, settings: Settings) -> Counter[str]:
    """The statements of one scheduler tick with no digest due: retention's claim, the workspaces, their schedules."""
    with Counting() as counting:
        run_retention(store, settings, "bench", 60.0)
        store.digest_workspaces()
        store.setting_by_workspace(SCHEDULE_SETTING)
    return counting.statements


def digest_run(store: Store, settings: Settings, workspaces: list[str], now: float) -> None:
    """Every workspace's digest built once, as a run where all are due builds them, its statements counted by kind;
    then a sample built as before (the playbook parsed again for each digest) and as now, side by side."""
    store.set_setting(workspaces[0], SCHEDULE_SETTING, "mon 09:00 Europe/Berlin")
    year, week = last_full_week(now, "UTC")
    started = time.perf_counter()
    with Counting() as counting:
        for ws in workspaces:
            build(store, settings, ws, year, week)
    took = time.perf_counter() - started
    total = sum(counting.statements.values())
    schedule = sum(n for sql, n in counting.statements.items() if "workspace_settings" in sql)
    print(f"a digest run building all {len(workspaces)} digests: {total:,} statements ({total / len(workspaces):.1f} "
          f"a digest), {took:.1f} s; the schedule read again in build(): {schedule} of them ({schedule / total:.1%})")
    for sql, n in counting.statements.most_common(4):
        print(f"  {n:6,}  {sql}")
    reread_ms, _slowest, _ = timed(lambda: workspace_schedule(store, settings, workspaces[0]), runs=200)
    sample = workspaces[:: max(1, len(workspaces) // SAMPLE)][:SAMPLE]

    def built(reparse: bool) -> float:
        started = time.perf_counter()
        for ws in sample:
            if reparse:
                _titles.cache_clear()  # as motive_titles was: the playbook loaded for every digest
            build(store, settings, ws, year, week)
        return (time.perf_counter() - started) / len(sample) * 1000

    before, after = built(True), built(False)
    print(f"{'build(), one digest (' + str(len(sample)) + ' workspaces)':34} {f'{before:.0f} ms':>16} "
          f"{f'{after:.0f} ms':>16}")
    print(f"  of which the schedule read again: {reread_ms:.2f} ms")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    workspaces = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    target = sys.argv[3] if len(sys.argv) > 3 else str(Path(tempfile.mkdtemp()) / "scheduler.db")
    store = open_before(target)
    now = time.time()
    started = time.perf_counter()
    fill(store, n, workspaces, now)
    print(f"{store.location} ({store.db.dialect.name}): {n:,} checks in {workspaces} workspaces written in "
          f"{time.perf_counter() - started:.1f} s")

    # The insert cost first: its 20,000 checks (in 50 workspaces) must be in both queries' answers, or at a small
    # size (fewer than 50 workspaces) the new query finds workspaces the old one was never asked about.
    old_write = write_cost(store)
    old_ms, old_max, old = timed(lambda: [r["workspace"] for r in store.db.query(OLD_DIGEST_WORKSPACES)])
    old_plan = plan(store, OLD_DIGEST_WORKSPACES)
    started = time.perf_counter()
    migrations.apply(store.db)
    migrated = time.perf_counter() - started
    analyze(store)
    new_ms, new_max, new = timed(store.digest_workspaces)
    new_write = write_cost(store)
    assert new == old, "the new query finds other workspaces"
    print(f"m014 (the index) applied in {migrated:.1f} s")
    print(f"{'digest_workspaces, every tick':34} {'before':>16} {'after':>16}")
    print(f"{'  median (slowest of 9)':34} {f'{old_ms:.1f} ({old_max:.1f}) ms':>16} {f'{new_ms:.1f} ({new_max:.1f}) ms':>16}")
    print(f"{'  a check inserted (20,000 in one)':34} {f'{old_write:.0f} us':>16} {f'{new_write:.0f} us':>16}")
    print(f"  {len(new)} workspaces; plan before: {old_plan}")
    print(f"  plan after: {plan(store, DIGEST_WORKSPACES)}")

    settings = load_settings(env={"MOTIVECHECK_RETENTION_DAYS": "90"})
    statements = tick_queries(store, settings)
    print(f"a tick with no digest due: {sum(statements.values())} statements ({', '.join(statements)})")
    digest_run(store, settings, new, now)
    store.close()


if __name__ == "__main__":
    main()
