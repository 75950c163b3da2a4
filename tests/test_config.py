"""One settings table: typed parsers refuse bad values at start-up, in one line naming the variable."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import SETTINGS, VARIABLES, Settings, load_settings
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("var,value", [
    ("MOTIVECHECK_DIGEST_TIME", "9am"), ("MOTIVECHECK_DIGEST_TIME", "24:00"), ("MOTIVECHECK_DIGEST_TIME", "9:5"),
    ("MOTIVECHECK_DIGEST_DAY", "someday"), ("MOTIVECHECK_TIMEZONE", "Mars/Olympus"), ("PORT", "http"),
    ("MOTIVECHECK_LLM_TIMEOUT", "-1"), ("MOTIVECHECK_STORE_TEXT", "maybe"), ("MOTIVECHECK_ENGINE", "gpt"),
    ("MOTIVECHECK_MAX_CHARS", "10"), ("MOTIVECHECK_WORKERS", "0"),
])
def test_a_bad_value_is_refused_naming_the_variable(var, value):
    with pytest.raises(ConfigError) as info:
        load_settings(env={var: value})
    message = str(info.value)
    assert message.startswith(var) and value in message
    assert "\n" not in message


def test_digest_time_is_normalised():
    assert load_settings(env={"MOTIVECHECK_DIGEST_TIME": "7:30"}).digest_time == "07:30"
    assert load_settings(env={}).digest_time == "09:00"


def test_a_bad_digest_time_stops_start_up_instead_of_failing_every_minute(tmp_path):
    env = {**os.environ, "MOTIVECHECK_DIGEST_TIME": "9am", "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": "s", "PORT": "0", "MOTIVECHECK_DB": str(tmp_path / "s.db")}
    started = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and time.monotonic() - started < 30
    assert r.stderr.strip().count("\n") == 0 and "MOTIVECHECK_DIGEST_TIME" in r.stderr
    assert "Traceback" not in r.stderr


def test_defaults_are_written_once_in_the_table():
    names = [f.name for f in dataclasses.fields(Settings)]
    assert names == [row[0] for row in SETTINGS]
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(Settings))
    defaults = load_settings(env={})
    for attr, _var, default, parse, _help in SETTINGS:
        assert getattr(defaults, attr) == parse(default)


def test_tests_clear_exactly_the_variables_the_table_names():
    from conftest import _CLEARED

    assert set(_CLEARED) | {"MOTIVECHECK_DB"} == set(VARIABLES)
    assert {"SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"} <= set(_CLEARED)  # Bolt reads them too: they turn on OAuth


def test_settings_never_show_a_secret_in_their_repr():
    """The repr (in a traceback, a debugger, an error report) hides every secret: MOTIVECHECK_DB may be a
    postgresql:// URL with its password, and it was shown as given."""
    secrets = {"SLACK_BOT_TOKEN": "xoxb-1-2-botsecret", "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
               "SLACK_APP_TOKEN": "xapp-1-appsecret", "SLACK_CLIENT_SECRET": "fedcba9876543210fedcba9876543210",
               "OPENAI_API_KEY": "sk-proj-keysecret", "DATABASE_URL": "postgresql://coach:dburlsecret@db/coach",
               "MOTIVECHECK_DB": "postgresql://coach:dbpathsecret@db/coach"}
    shown = repr(load_settings(env=secrets))
    assert [name for name, value in secrets.items() if value in shown or value.split(":")[-1] in shown] == []
    assert "db_path='motivecheck.db'" in repr(load_settings(env={}))  # a file path is no secret


@pytest.mark.parametrize("variable", ["OPENAI_BASE_URL", "SLACK_API_URL", "AZURE_OPENAI_ENDPOINT"])
def test_settings_repr_hides_the_password_of_a_url_with_one(variable):
    """A gateway or proxy may take its credentials in the URL (https://user:password@host/): shown as given."""
    shown = repr(load_settings(env={variable: "https://coach:gatewaysecret@llm.example.com/v1"}))
    assert "gatewaysecret" not in shown and "llm.example.com/v1" in shown
