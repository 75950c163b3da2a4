"""Shared fixtures: every test gets its own database file and a clean environment."""

from __future__ import annotations

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


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "motivecheck.db"


@pytest.fixture
def slack():
    """A local Slack Web API stand-in (UADMIN is a workspace admin there), for the Slack app tests."""
    with FakeSlack(admins={"UADMIN"}) as s:
        yield s
