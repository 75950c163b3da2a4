"""Connections and transactions: the one road every part of the store takes to its database.

SQLite: each thread gets its own connection (sqlite3 connections are not shared across threads); WAL mode plus a
generous busy timeout lets many threads and processes write without "database is locked".
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .dialect import SQLITE, Dialect

BUSY_TIMEOUT_MS = 30_000
Row = dict[str, Any]


def quote(name: str) -> str:
    """A column or table name as an identifier both databases read the same way ("user" is reserved)."""
    return '"' + name.replace('"', '""') + '"'


class Session:
    """SQL on one connection: ``?`` marks parameters and rows come back as dicts, whatever the database."""

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        self.conn = conn
        self.dialect = dialect

    def _run(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self.conn.execute(sql, list(params))

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        return self._run(sql, params).rowcount

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        self.conn.executemany(sql, [list(r) for r in rows])

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
        return int(self._run(f"insert into {table} ({columns}) values ({marks})", row.values()).lastrowid)

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


class Database:
    """One database: short reads, and writes in transactions that wait for each other."""

    dialect: Dialect
    location: str  # where it is, safe to print

    @contextmanager
    def session(self) -> Iterator[Session]:
        raise NotImplementedError

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A short write transaction; it waits for other writers up front and never fails midway."""
        raise NotImplementedError

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

    def close(self) -> None:
        raise NotImplementedError


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
        self._connection()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = _dict_row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # Erased words must not linger in free pages of the file (forget, purge, retention).
            conn.execute("PRAGMA secure_delete = ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        yield Session(self._connection(), self.dialect)

    @contextmanager
    def write(self) -> Iterator[Session]:
        conn = self._connection()
        with self._write_lock:
            conn.execute(self.dialect.begin_write)
            try:
                yield Session(conn, self.dialect)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def checkpoint(self) -> None:
        """Move the WAL into the database file and truncate it, so erased pages leave no copy behind."""
        self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class Part:
    """What each part of the store stands on: the database, and whether drafts' words are kept."""

    db: Database
    store_text: bool
