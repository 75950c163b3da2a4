"""The Motive Coach database behind one interface, ``Store``: no other module writes SQL.

Each part owns one concern and its tables (checks, decisions, Slack events, a workspace's preferences, the
verdict cache, digests, learning, figures, erasure, Slack installs); ``database`` owns connections and
transactions, ``dialect`` the SQL that differs between databases, ``migrations`` the schema.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import ConfigError
from . import migrations
from .cache import CacheStore
from .checks import CheckStore
from .database import Database, SQLiteDatabase
from .decisions import CHOICES, DECISION_ACTIONS, DecisionStore
from .digests import DigestStore
from .erasure import ErasureStore, strip_verdict
from .events import EventStore
from .figures import FigureStore
from .installations import InstallationStore
from .learning import LearningStore
from .preferences import PreferenceStore

__all__ = ["CHOICES", "DECISION_ACTIONS", "Store", "strip_verdict"]


class Store(CheckStore, DecisionStore, EventStore, PreferenceStore, CacheStore, DigestStore, LearningStore,
            FigureStore, ErasureStore, InstallationStore):
    """The Motive Coach database: checks, decisions, Slack state, cache, digests, what workspaces teach, and
    Slack installs."""

    def __init__(self, path: str | Path, store_text: bool = True) -> None:
        self.path = Path(path)
        self.store_text = store_text
        try:
            self.db: Database = SQLiteDatabase(self.path)
            migrations.apply(self.db)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise ConfigError(f"MOTIVECHECK_DB: cannot open database {self.path}: {exc}") from None

    def close(self) -> None:
        self.db.close()
