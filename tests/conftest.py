"""Shared fixtures: every test gets its own database file and a clean environment."""

from __future__ import annotations

import pytest
from slack_server import FakeSlack

_CLEARED = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "MOTIVECHECK_MODEL", "MOTIVECHECK_ENGINE", "MOTIVECHECK_PLAYBOOK",
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET", "MOTIVECHECK_ADMINS", "MOTIVECHECK_WATCH_CHANNELS", "MOTIVECHECK_DIGEST_CHANNEL",
    "MOTIVECHECK_RETENTION_DAYS", "MOTIVECHECK_STORE_TEXT", "MOTIVECHECK_TIMEZONE", "PORT",
)


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
