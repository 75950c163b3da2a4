"""The Motive Coach database behind one interface, ``Store``: no other module writes SQL.

Each part owns one concern and its tables (checks, decisions, Slack events, a workspace's preferences, the
verdict cache, digests, learning, figures, erasure, Slack installs, leases on work in flight); ``database`` owns
connections and transactions, ``dialect`` the SQL that differs between SQLite and PostgreSQL, ``migrations`` the
schema.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from . import migrations
from .cache import CacheStore
from .checks import CheckStore
from .database import Database, PostgresDatabase, SQLiteDatabase, hide_password, without_password
from .decisions import CHOICES, DECISION_ACTIONS, DecisionStore
from .digests import DigestStore
from .erasure import ErasureStore, strip_verdict
from .events import EventStore
from .figures import FigureStore
from .installations import InstallationStore
from .learning import LearningStore
from .leases import LeaseStore
from .preferences import PreferenceStore

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["CHOICES", "DECISION_ACTIONS", "Store", "is_postgres_url", "open_store", "strip_verdict"]


def is_postgres_url(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


class Store(CheckStore, DecisionStore, EventStore, PreferenceStore, CacheStore, DigestStore, LearningStore,
            FigureStore, ErasureStore, InstallationStore, LeaseStore):
    """The Motive Coach database: checks, decisions, Slack state, cache, digests, what workspaces teach, and
    Slack installs.

    ``target`` is a SQLite file, or a ``postgresql://`` URL (then no file is written).
    """

    def __init__(self, target: str | Path, store_text: bool = True, setting: str | None = None) -> None:
        self.store_text = store_text
        postgres = is_postgres_url(target)
        where = without_password(str(target)) if postgres else str(target)
        setting = setting or ("DATABASE_URL" if postgres else "MOTIVECHECK_DB")  # what named it, for messages
        try:
            self.db: Database = PostgresDatabase(str(target)) if postgres else SQLiteDatabase(target)
        except ImportError:
            raise ConfigError("DATABASE_URL: PostgreSQL needs psycopg: pip install 'motivecheck[postgres]'") from None
        except _errors(postgres) as exc:
            raise ConfigError(f"{setting}: cannot open database {where}: {_reason(exc, target)}") from None
        self.path = self.db.path if isinstance(self.db, SQLiteDatabase) else None  # the file, where there is one
        try:
            migrations.apply(self.db)
        except _errors(postgres) as exc:
            self.db.close()
            raise ConfigError(f"{setting}: cannot migrate database {where}: {_reason(exc, target)}") from None

    @property
    def location(self) -> str:
        """Where the data lives, fit to print: the file, or the URL without its password."""
        return self.db.location

    def close(self) -> None:
        self.db.close()


def open_store(settings: Settings, setting: str | None = None) -> Store:
    """The store the settings name: DATABASE_URL when set, else the SQLite file; ``setting`` names where the
    target came from in error messages (a CLI flag) instead of the variable."""
    setting = setting or ("DATABASE_URL" if settings.database_url else "MOTIVECHECK_DB")
    return Store(settings.database_url or settings.db_path, store_text=settings.store_text, setting=setting)


def _errors(postgres: bool) -> tuple[type[Exception], ...]:
    """What opening the database raises when it is the database's fault, not the code's."""
    if not postgres:
        return (OSError, sqlite3.DatabaseError)
    import psycopg
    import psycopg_pool

    return (psycopg.Error, psycopg_pool.PoolTimeout)


def _reason(exc: Exception, target: str | Path) -> str:
    """The error's first line, without the URL's password (a driver may quote the part of a URL it cannot read)."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return hide_password(str(target), line) if is_postgres_url(target) else line
