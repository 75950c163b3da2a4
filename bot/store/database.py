"""Connections and transactions: the one road every part of the store takes to its database.

SQLite (the embedded default): each thread gets its own connection (sqlite3 connections are not shared across
threads); WAL mode plus a generous busy timeout lets many threads and processes write without "database is
locked". PostgreSQL: a pool of psycopg connections shared by the threads the store's calls run on.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import select
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .dialect import POSTGRES, SQLITE, Dialect, nul_safe, quote

BUSY_TIMEOUT_MS = 30_000
POOL_SIZE = 10  # the store's calls run on worker threads; more than this wait their turn for a connection
# PostgreSQL: a call waits at most this long for a pooled connection (psycopg_pool's default is 30 s). With the server
# out of reach every request's worker thread sat out those 30 s, more piled up behind them, and SIGTERM took ~50 s;
# Slack wants its ack within 3 s, so a handler that cannot get a connection by then fails and Slack retries; and
# /healthz answers "database: error" within it, where a load balancer's check would have seen a hung instance.
POOL_WAIT = 2.0
# Each connection the pool opens (at start and to replace a lost one) gives up after this many seconds, instead of
# hanging on a server that accepts but never answers (libpq counts whole seconds, at least 2).
CONNECT_TIMEOUT = 3
Row = dict[str, Any]


IN_CHUNK = 500  # values bound in one "in (...)" list


class Session:
    """SQL on one connection: ``?`` marks parameters and rows come back as dicts, whatever the database."""

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect

    def _run(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self.conn.execute(self.dialect.sql(sql), list(params))

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        return self._run(sql, params).rowcount

    def execute_in(self, sql: str, values: Sequence[Any]) -> int:
        """Run ``sql``, whose ``{}`` stands for a list of placeholders, over ``values`` a chunk at a time (well
        under SQLite's and PostgreSQL's limits on bound values); the rows it changed."""
        return sum(self.execute(statement, params) for statement, params in _in_lists(sql, values))

    def query_in(self, sql: str, values: Sequence[Any], *, before: Sequence[Any] = ()) -> list[Row]:
        """``execute_in``'s chunks as a read, ``before`` bound to the ``?`` ahead of the list; the rows, chunk
        after chunk."""
        return [row for statement, params in _in_lists(sql, values, before) for row in self.query(statement, params)]

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        cursor = self.conn.cursor()
        try:
            cursor.executemany(self.dialect.sql(sql), [list(r) for r in rows])
        finally:
            cursor.close()

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return self._run(sql, params).fetchall()

    def one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        return self._run(sql, params).fetchone()

    def value(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else next(iter(row.values()))

    def insert(self, table: str, row: Row) -> int:
        """Insert one row into a table keyed on ``id``; the new id."""
        columns = ", ".join(map(quote, row))
        marks = ", ".join("?" * len(row))
        cursor = self._run(f"insert into {table} ({columns}) values ({marks}){self.dialect.returning_id}",
                           row.values())
        return int(cursor.fetchone()["id"] if self.dialect.returning_id else cursor.lastrowid)

    def insert_each(self, table: str, rows: list[Row]) -> list[int]:
        """Insert rows keyed on ``id``, each its own row, and return their new ids in order: on PostgreSQL the
        statements of rows naming the same columns go together (psycopg pipelines them: one round trip), on SQLite
        (in-process) one by one."""
        if not self.dialect.returning_id:
            return [self.insert(table, row) for row in rows]
        ids: list[int] = [0] * len(rows)
        groups: dict[tuple[str, ...], list[int]] = {}
        for index, row in enumerate(rows):
            groups.setdefault(tuple(row), []).append(index)
        for names, indexes in groups.items():
            marks = ", ".join("?" * len(names))
            with self.conn.cursor() as cursor:
                cursor.executemany(self.dialect.sql(f"insert into {table} ({', '.join(map(quote, names))}) values "
                                                    f"({marks}){self.dialect.returning_id}"),
                                   [list(rows[i].values()) for i in indexes], returning=True)
                for index in indexes:
                    ids[index] = int(cursor.fetchone()["id"])
                    cursor.nextset()
        return ids

    def insert_many(self, table: str, rows: list[Row]) -> None:
        """Insert rows in one go; rows that name the same columns share one statement (the rest take defaults)."""
        groups: dict[tuple[str, ...], list[Row]] = {}
        for row in rows:
            groups.setdefault(tuple(row), []).append(row)
        for names, group in groups.items():
            marks = ", ".join("?" * len(names))
            self.executemany(f"insert into {table} ({', '.join(map(quote, names))}) values ({marks})",
                             (r.values() for r in group))

    def update(self, table: str, key: Row, fields: Row) -> int:
        """Set ``fields`` on the rows that match every column of ``key``; how many matched."""
        if not fields:
            return 0
        sets = ", ".join(f"{quote(c)} = ?" for c in fields)
        where = " and ".join(f"{quote(c)} = ?" for c in key)
        return self.execute(f"update {table} set {sets} where {where}", [*fields.values(), *key.values()])


def _in_lists(sql: str, values: Sequence[Any], before: Sequence[Any] = ()) -> Iterator[tuple[str, list[Any]]]:
    for i in range(0, len(values), IN_CHUNK):
        chunk = list(values[i:i + IN_CHUNK])
        yield sql.format(",".join("?" * len(chunk))), [*before, *chunk]


class Database:
    """One database: short reads, and writes in transactions that wait for each other."""

    dialect: Dialect
    location: str  # where it is, safe to print (no password)

    @contextmanager
    def _connection(self, *, writing: bool = False) -> Iterator[Any]:
        raise NotImplementedError

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Reads (each statement on its own)."""
        with self._connection() as conn:
            yield Session(conn, self.dialect)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A short write transaction; it waits for other writers up front and never fails midway."""
        with self._connection(writing=True) as conn:
            conn.execute(self.dialect.begin_write)
            try:
                yield Session(conn, self.dialect)
            except BaseException:
                with contextlib.suppress(Exception):  # a broken connection: the first error is the one to raise
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        with self.session() as s:
            return s.query(sql, params)

    def one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        with self.session() as s:
            return s.one(sql, params)

    def value(self, sql: str, params: Iterable[Any] = ()) -> Any:
        with self.session() as s:
            return s.value(sql, params)

    def stream(self, sql: str, params: Iterable[Any] = ()) -> Iterator[Row]:
        """Rows one at a time, for reads too large to hold (exports)."""
        with self.session() as s:
            yield from s._run(sql, params)

    def tables(self) -> set[str]:
        return {r["name"] for r in self.query(self.dialect.tables_sql)}

    def checkpoint(self) -> None:
        """Leave no copy of erased rows outside the live tables, where the database allows it."""
        with self.session() as s:
            for statement in self.dialect.after_erasure:
                s.query(statement)

    def close(self) -> None:
        raise NotImplementedError


def _dict_row(cursor: sqlite3.Cursor, row: tuple) -> Row:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


def create_private(path: Path) -> None:
    """Create the database file owner-only before SQLite opens it (WAL files inherit the mode)."""
    if str(path) == ":memory:" or path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


class SQLiteDatabase(Database):
    dialect = SQLITE

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._local = threading.local()
        # Threads of this process queue here (instant hand-over) instead of in SQLite's busy handler,
        # which sleeps in growing steps; other processes still wait on the busy timeout.
        self._write_lock = threading.Lock()
        create_private(self.path)
        self._thread_connection()

    def _thread_connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = _dict_row
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")  # first, so the rest wait for the lock too
                for statement in self.dialect.on_connect:
                    _execute_waiting(conn, statement)
            except sqlite3.Error:
                conn.close()  # a connection that could not be set up is not kept, nor left open
                raise
            self._local.conn = conn
        return conn

    @contextmanager
    def _connection(self, *, writing: bool = False) -> Iterator[Any]:
        conn = self._thread_connection()
        if not writing:
            yield conn
            return
        with self._write_lock:
            yield conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _execute_waiting(conn: sqlite3.Connection, statement: str) -> None:
    """Run a connection's set-up statement, waiting out a lock as the busy timeout would.

    SQLite does not call the busy handler for every lock met while a connection sets up: a fresh file switching
    to WAL while other processes open it too answers "database is locked" at once (seen with instances started
    together on one new file)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.002
    while True:
        try:
            conn.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


# A URL's password: after the user name, up to the last "@" (a password pasted without percent-encoding may hold
# "/", "?", "#" or "@"), and libpq's ``password=`` parameter.
_USER_PASSWORD = re.compile(r"^(\w[\w+.-]*://[^/?#@:]*):(.*)@")
_PARAMETER_PASSWORD = re.compile(r"([?&]password=)([^&#]*)", re.IGNORECASE)


def without_password(url: str) -> str:
    """A database URL fit to print: the password, if any, replaced, however it was written."""
    return _PARAMETER_PASSWORD.sub(r"\1***", _USER_PASSWORD.sub(r"\1:***@", url, count=1))


def hide_password(url: str, message: str) -> str:
    """``message`` (a driver's error about ``url``) with the URL's password replaced wherever it shows: the driver
    quotes the part of a URL it cannot read, a password pasted with spaces or a stray "%" among them."""
    found = _USER_PASSWORD.match(url)
    secrets = [found.group(2)] if found else []
    secrets += [m.group(2) for m in _PARAMETER_PASSWORD.finditer(url)]
    for secret in sorted({s for raw in secrets for s in (raw, unquote(raw)) if s}, key=len, reverse=True):
        message = message.replace(secret, "***")
    return message.replace(url, without_password(url))


class PostgresDatabase(Database):
    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        import psycopg  # the optional extra: imported only when a PostgreSQL URL is given
        from psycopg.conninfo import conninfo_to_dict
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.location = without_password(url)
        # One connection first, so a wrong URL, password or a server that is down is told plainly (a pool
        # only says that it timed out).
        psycopg.connect(url, connect_timeout=10).close()
        kwargs: dict[str, Any] = {"autocommit": True, "row_factory": dict_row}
        if "connect_timeout" not in conninfo_to_dict(url):  # one the URL sets is the operator's choice
            kwargs["connect_timeout"] = CONNECT_TIMEOUT
        self.pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, open=False, name="motivecheck",
                                   timeout=POOL_WAIT, kwargs=kwargs, configure=_configure)
        self.pool.open(wait=True, timeout=30)

    @contextmanager
    def _connection(self, *, writing: bool = False) -> Iterator[Any]:
        # Connections the server closed while they sat idle (a restart or a failover ends them all) are dropped
        # here, not by the pool's ``check``: after each one that failed it the pool sleeps 1 s, then 2 s, ...
        # before the next, so four of them outlasted POOL_WAIT. The pool replaces each one closed here.
        deadline = time.monotonic() + POOL_WAIT
        while True:
            conn = self.pool.getconn(timeout=max(deadline - time.monotonic(), 0.01))
            if not _closed_while_idle(conn):
                break
            conn.close()
            self.pool.putconn(conn)
        try:
            with conn:  # commits, or rolls back on an error, as the pool's connection() does
                yield conn
        finally:
            self.pool.putconn(conn)

    def stream(self, sql: str, params: Iterable[Any] = ()) -> Iterator[Row]:
        # A server-side cursor, so an export of a million checks is not held in memory at once.
        with self._connection() as conn, conn.transaction(), conn.cursor(name="motivecheck_stream") as cur:
            cur.itersize = 500
            cur.execute(self.dialect.sql(sql), list(params))
            yield from cur

    def close(self) -> None:
        self.pool.close()


@functools.cache
def _adapters() -> tuple[type, type, type]:
    """How values cross to PostgreSQL so that they come back as SQLite gives them, or fit at all."""
    from psycopg.adapt import Loader
    from psycopg.types.string import StrBinaryDumper, StrDumperUnknown

    class WholeOrFloat(Loader):
        """sum() over integers is a numeric in PostgreSQL: read it as SQLite hands it over, an int (or a float)."""

        def load(self, data: Any) -> int | float:
            text = bytes(data)
            return int(text) if text.lstrip(b"-").isdigit() else float(text)

    # PostgreSQL text cannot hold NUL; a draft may (SQLite keeps it): see dialect.nul_safe.
    class NulSafeText(StrDumperUnknown):
        def dump(self, obj: str) -> Any:
            return super().dump(nul_safe(obj))

    class NulSafeBinaryText(StrBinaryDumper):
        def dump(self, obj: str) -> Any:
            return super().dump(nul_safe(obj))

    return WholeOrFloat, NulSafeText, NulSafeBinaryText


def _closed_while_idle(conn: Any) -> bool:
    """Whether the server closed ``conn`` while it sat idle in the pool, saying so on its socket. Asking the server
    costs a round trip; only a connection whose socket has something to read is asked."""
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
        if readable:
            conn.execute("")  # reads what the server said: the error that ended the connection, or its end
    except Exception:  # noqa: BLE001 - any failure here means the connection is no use
        return True
    return bool(conn.closed)


def _configure(conn: Any) -> None:
    numbers, text, binary_text = _adapters()
    conn.adapters.register_loader("numeric", numbers)
    conn.adapters.register_dumper(str, text)
    conn.adapters.register_dumper(str, binary_text)


class Part:
    """What each part of the store stands on: the database, and whether drafts' words are kept."""

    db: Database
    store_text: bool
