"""The SQL that differs between the databases, in one place; every part of the store writes the SQL they share.

What they share: ``?`` marks a parameter, ``"user"`` is quoted (a reserved word in PostgreSQL), upserts are
``insert ... on conflict (...) do update set x = excluded.x``, truthy columns are integers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlite_utils import Database as SqliteUtils
from sqlite_utils.db import Table


class Schema(Protocol):
    """What a migration may do: the schema changes both databases can make from one description."""

    def create_table(self, name: str, columns: dict[str, type], *, pk: str | tuple[str, ...],
                     not_null: tuple[str, ...] = (), defaults: dict[str, Any] | None = None,
                     foreign_keys: tuple[tuple[str, str, str], ...] = ()) -> None: ...

    def create_index(self, table: str, columns: list[str], name: str, *, unique: bool = False) -> None: ...

    def add_column(self, table: str, column: str, kind: type) -> None: ...


@dataclass(frozen=True)
class Dialect:
    name: str
    begin_write: str  # SQLite takes its one write lock up front, so a transaction waits instead of failing midway
    index_hints: bool  # SQLite's "indexed by": its planner does not find the covering index for the digest alone
    migrations_table: str  # SQLite keeps the table sqlite-utils made before, so older files stay readable
    migrations_lock: str | None  # the first statement of a migration run: a second run waits behind it
    tables_sql: str

    def indexed_by(self, index: str) -> str:
        return f" indexed by {index}" if self.index_hints else ""

    def schema(self, conn: Any) -> Schema:
        return SQLiteSchema(conn)


class SQLiteSchema:
    """Schema changes through sqlite-utils, exactly as the shipped migrations made them."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @contextmanager
    def _table(self, name: str) -> Iterator[Table]:
        # sqlite-utils reads rows as tuples; the store's connections hand out dicts.
        factory, self.conn.row_factory = self.conn.row_factory, None
        try:
            yield SqliteUtils(self.conn).table(name)
        finally:
            self.conn.row_factory = factory

    def create_table(self, name: str, columns: dict[str, type], *, pk: str | tuple[str, ...],
                     not_null: tuple[str, ...] = (), defaults: dict[str, Any] | None = None,
                     foreign_keys: tuple[tuple[str, str, str], ...] = ()) -> None:
        with self._table(name) as table:
            table.create(columns, pk=pk, not_null=set(not_null) or None, defaults=defaults,
                         foreign_keys=list(foreign_keys) or None)

    def create_index(self, table: str, columns: list[str], name: str, *, unique: bool = False) -> None:
        with self._table(table) as t:
            t.create_index(columns, index_name=name, unique=unique)

    def add_column(self, table: str, column: str, kind: type) -> None:
        with self._table(table) as t:
            t.add_column(column, kind)


SQLITE = Dialect(
    name="sqlite",
    begin_write="BEGIN IMMEDIATE",
    index_hints=True,
    migrations_table="_sqlite_migrations",
    migrations_lock=None,  # BEGIN IMMEDIATE with the busy timeout already makes a second run wait
    tables_sql="select name from sqlite_master where type = 'table'",
)
