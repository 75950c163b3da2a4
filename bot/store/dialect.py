"""The SQL that differs between the databases, in one place; every part of the store writes the SQL they share.

What they share: ``?`` marks a parameter (turned into the driver's own here), ``"user"`` is quoted (a reserved
word in PostgreSQL), upserts are ``insert ... on conflict (...) do update set x = excluded.x``, truthy columns
are integers. What differs: how a connection is set up and a write begins, column types and the DDL that makes
tables, how an inserted row's id comes back, SQLite's index hints, the tables' catalogue, the lock a migration
run waits on, what erasure does after deleting, and how a text is stored (PostgreSQL cannot hold NUL).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlite_utils import Database as SqliteUtils
from sqlite_utils.db import Table

from ..text import draft_hash


def quote(name: str) -> str:
    """A column or table name as an identifier both databases read the same way ("user" is reserved)."""
    return '"' + name.replace('"', '""') + '"'


class Schema(Protocol):
    """What a migration may do: the schema changes both databases can make from one description."""

    def create_table(self, name: str, columns: dict[str, type], *, pk: str | tuple[str, ...],
                     not_null: tuple[str, ...] = (), defaults: dict[str, Any] | None = None,
                     foreign_keys: tuple[tuple[str, str, str], ...] = ()) -> None: ...

    def create_index(self, table: str, columns: list[str], name: str, *, unique: bool = False) -> None: ...

    def add_column(self, table: str, column: str, kind: type) -> None: ...

    def execute(self, sql: str) -> None:
        """Change existing rows (SQL both databases read alike), e.g. to fill a new column before indexing it."""

    def query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """Read rows (``?`` parameters), e.g. to fill a new column with what only Python computes."""

    def executemany(self, sql: str, rows: list[list[Any]]) -> None:
        """Run one statement (``?`` parameters) once per row of parameters."""

    def text_hash(self, text: str) -> str:
        """``Dialect.text_hash`` of this database."""


@dataclass(frozen=True)
class Dialect:
    name: str
    on_connect: tuple[str, ...]
    begin_write: str
    for_update: str  # appended to a select whose row a transaction is about to change on the strength of it
    returning_id: str  # appended to an insert whose new id the caller needs ("" reads the cursor's lastrowid)
    index_hints: bool  # SQLite's "indexed by": its planner does not find the covering index for the digest alone
    tables_sql: str
    migrations_table: str  # SQLite keeps the table sqlite-utils made before, so older files stay readable
    migrations_lock: str | None  # the first statement of a migration run: a second run waits behind it
    after_erasure: tuple[str, ...]  # so erased rows leave no copy outside the live tables
    schema: Callable[[Any], Schema]  # a connection inside a migration run -> its schema changes
    sql: Callable[[str], str]  # the store's SQL (``?`` parameters) -> the driver's
    stored_text: Callable[[str], str]  # a text as the database keeps it

    def indexed_by(self, index: str) -> str:
        return f" indexed by {index}" if self.index_hints else ""

    def text_hash(self, text: str) -> str:
        """One label's text as this database keeps it, as ``draft_hash``: copies that differ only in case, spacing
        or invisible characters are one draft (the verdict cache already answers them as one), and so are texts
        the database holds as equal. A unique index on it holds texts of any length, where one on the text itself
        would not (PostgreSQL refuses index rows over about 2,700 bytes)."""
        return draft_hash(self.stored_text(text))


def nul_safe(text: str) -> str:
    """A text as PostgreSQL keeps it: its text type cannot hold NUL, which becomes U+FFFD (as invalid UTF-8 does)."""
    return text.replace("\x00", "\ufffd")


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

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return self.conn.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: list[list[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def text_hash(self, text: str) -> str:
        return SQLITE.text_hash(text)


# Every integer is 64-bit (ids, epoch seconds past 2038); a sum of them is a numeric, which the connection reads
# back as an int (see database._adapters), as SQLite gives it.
_PG_TYPES = {int: "bigint", float: "double precision", str: "text"}


def _pg_literal(value: Any) -> str:
    return str(int(value)) if isinstance(value, int | bool) else "'" + str(value).replace("'", "''") + "'"


class PostgresSchema:
    """The same descriptions as PostgreSQL DDL: an integer ``id`` key is an identity column."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def create_table(self, name: str, columns: dict[str, type], *, pk: str | tuple[str, ...],
                     not_null: tuple[str, ...] = (), defaults: dict[str, Any] | None = None,
                     foreign_keys: tuple[tuple[str, str, str], ...] = ()) -> None:
        references = {column: (table, other) for column, table, other in foreign_keys}
        keys = (pk,) if isinstance(pk, str) else pk
        lines = []
        for column, kind in columns.items():
            words = [quote(column), _PG_TYPES[kind]]
            if keys == (column,) and kind is int:
                words.append("generated by default as identity")
            if column in not_null:
                words.append("not null")
            if defaults and column in defaults:
                words.append(f"default {_pg_literal(defaults[column])}")
            if column in references:
                table, other = references[column]
                words.append(f"references {quote(table)} ({quote(other)})")
            lines.append(" ".join(words))
        lines.append(f"primary key ({', '.join(map(quote, keys))})")
        self.conn.execute(f"create table {quote(name)} ({', '.join(lines)})")

    def create_index(self, table: str, columns: list[str], name: str, *, unique: bool = False) -> None:
        self.conn.execute(f"create {'unique ' if unique else ''}index {quote(name)} on {quote(table)} "
                          f"({', '.join(map(quote, columns))})")

    def add_column(self, table: str, column: str, kind: type) -> None:
        self.conn.execute(f"alter table {quote(table)} add column {quote(column)} {_PG_TYPES[kind]}")

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return self.conn.execute(_format_params(sql), params).fetchall()

    def executemany(self, sql: str, rows: list[list[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(_format_params(sql), rows)

    def text_hash(self, text: str) -> str:
        return POSTGRES.text_hash(text)


@functools.lru_cache(maxsize=512)
def _format_params(sql: str) -> str:
    """``?`` -> ``%s`` for psycopg, whose format style also reads every ``%`` (so ``like 'x%'`` doubles it).

    The store's statements hold no ``?`` inside a string literal; parameters carry every value.
    """
    return sql.replace("%", "%%").replace("?", "%s")


SQLITE = Dialect(
    name="sqlite",
    on_connect=(
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA secure_delete = ON",  # erased words must not linger in free pages of the file
    ),
    begin_write="BEGIN IMMEDIATE",  # takes the one write lock up front, so a transaction waits, never fails midway
    for_update="",  # that one write lock already holds every row still
    returning_id="",
    index_hints=True,
    tables_sql="select name from sqlite_master where type = 'table'",
    migrations_table="_sqlite_migrations",
    migrations_lock=None,  # BEGIN IMMEDIATE (and the busy timeout) already makes a second run wait
    after_erasure=("PRAGMA wal_checkpoint(TRUNCATE)",),  # the WAL's copies of erased pages go too
    schema=SQLiteSchema,
    sql=lambda sql: sql,
    stored_text=lambda text: text,
)

POSTGRES = Dialect(
    name="postgresql",
    on_connect=(),
    begin_write="BEGIN",  # rows are locked as they are written (or read "for update"); claims are single statements
    for_update=" for update",
    returning_id=" returning id",
    index_hints=False,
    tables_sql="select table_name as name from information_schema.tables where table_schema = current_schema()",
    migrations_table="schema_migrations",
    # Held to the end of the run's transaction; keyed by schema, so databases in other schemas do not wait.
    migrations_lock="select pg_advisory_xact_lock(hashtext('motivecheck migrations ' || current_schema()))",
    after_erasure=(),  # deleted row versions are reclaimed by (auto)vacuum; see the README
    schema=PostgresSchema,
    sql=_format_params,
    stored_text=nul_safe,
)
