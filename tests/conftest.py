"""Shared fixtures: every test gets its own database file and a clean environment."""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import hypothesis  # noqa: F401 - see below
import pytest
from slack_server import FakeSlack

from bot.config import VARIABLES

# hypothesis is imported here, before any app thread runs, because its pytest plugin otherwise imports it at the
# end of a run, and pytest then parses it (ast.parse) on the main thread while app threads may be compiling.
# CPython 3.11 keeps one parser depth counter for all threads, so that parse could fail with "SystemError:
# AST constructor recursion depth mismatch" after every test had passed (seen running one test file alone).

# Exactly the variables the settings table names (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET among them: Bolt would
# also read those two on its own and turn on its OAuth flow).
_CLEARED = tuple(v for v in VARIABLES if v != "MOTIVECHECK_DB")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    for var in _CLEARED:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MOTIVECHECK_DB", str(tmp_path / "motivecheck.db"))
    monkeypatch.setenv("HOME", str(tmp_path))
    yield


# A PostgreSQL database the tests may use (each test gets a schema of its own in it); `bash .ci/run` starts one.
TEST_DATABASE_URL = os.environ.get("MOTIVECHECK_TEST_DATABASE_URL", "")
NO_POSTGRES = "PostgreSQL: no MOTIVECHECK_TEST_DATABASE_URL given (bash .ci/run starts a throwaway cluster)"


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path, monkeypatch):
    """A fresh database, once on each kind: its target (a SQLite file, or a PostgreSQL URL whose search path is a
    schema of its own), also set in the environment the way a user would (MOTIVECHECK_DB or DATABASE_URL)."""
    if request.param == "sqlite":
        path = str(tmp_path / "motivecheck.db")
        monkeypatch.setenv("MOTIVECHECK_DB", path)
        yield path
        return
    if not TEST_DATABASE_URL:
        pytest.skip(NO_POSTGRES)
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as admin:
        admin.execute(f'create schema "{schema}"')
    url = (TEST_DATABASE_URL + ("&" if "?" in TEST_DATABASE_URL else "?")
           + f"options={quote(f'-csearch_path={schema}')}&application_name={schema}")
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as admin:
        # Connections the test left open (a store it never closed) go, so a long run does not pile them up.
        admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where application_name = %s", [schema])
        admin.execute(f'drop schema "{schema}" cascade')


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "motivecheck.db"


@pytest.fixture
def slack():
    """A local Slack Web API stand-in (UADMIN is a workspace admin there), for the Slack app tests."""
    with FakeSlack(admins={"UADMIN"}) as s:
        yield s
    # Slack would have refused these and the person seen nothing: no test may pass with one (tests/block_kit.py).
    assert not s.rejected, [r[:3] for r in s.rejected]
