"""Each workspace's own digest schedule: an admin sets day, time and timezone with `/motivecheck digest time`, the
scheduler posts each workspace's week at its own local time and once (two schedulers racing, as two instances
would), and the defaults hold where nothing is set. Two workspaces installed through OAuth, really signed
requests, the Slack stand-in and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from test_isolation import TOKENS, A, B, admin, two  # noqa: F401 - two is the fixture these tests use

from bot.digest_post import run_digest_scheduler
from bot.schedule import parse_timezone
from bot.slack.command import parse_subcommand
from bot.store import Store


def utc(day: int, hour: int, minute: int = 0, month: int = 12) -> float:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC).timestamp()


def record(store: Store, team: str, ts: float, n: int = 1) -> None:
    for i in range(n):
        check = store.record_check(None, f"{team} draft {ts} {i}", source="slash", workspace=team,
                                   channel=f"C{team}", user=f"U{i}", ts=ts)
        store.update_check(check, label="inside-out", customer_ease=10, motives='["revenue-profit"]')


def last_week_posted(store: Store, team: str) -> None:
    """Week 48's digest went out last Monday, as it would have."""
    assert store.claim_digest(team, f"C{team}DIGEST", "2026-W48", "last-monday")
    store.mark_digest_posted(team, f"C{team}DIGEST", "2026-W48", "1.0")


class Schedulers:
    """Two digest schedulers on one store (two instances of the app), on a clock the test moves."""

    def __init__(self, app, slack, settings, start: float) -> None:
        self.app, self.slack, self.now = app, slack, start
        self.stop = asyncio.Event()
        self.tasks = [asyncio.run_coroutine_threadsafe(
            run_digest_scheduler(app.deps.clients, app.deps.store, settings, self.stop, interval=0.05,
                                 clock=lambda: self.now), app.loop) for _ in range(2)]

    def at(self, now: float, expect: int) -> dict[str, tuple[str, str]]:
        """Move the clock; after `expect` digests are out and several more ticks, the posts by channel."""
        self.now = now
        assert self.slack.wait_for(lambda: len(self.slack.calls("chat.postMessage")) >= expect, timeout=20)
        time.sleep(0.4)  # several ticks of both schedulers: nothing more goes out
        posts = [(t, p) for t, p in self.slack.calls_with_token("chat.postMessage")]
        assert len(posts) == expect, [p["text"][:60] for _, p in posts]
        return {p["channel"]: (t, p["text"]) for t, p in posts}

    def close(self) -> None:
        self.app.loop.call_soon_threadsafe(self.stop.set)
        for task in self.tasks:
            task.result(30)


@pytest.fixture
def ready(two):  # noqa: F811
    app, slack = two
    for team in (A, B):
        app.deps.store.set_setting(team, "digest_channel", f"C{team}DIGEST")
        last_week_posted(app.deps.store, team)
    return app, slack


def test_each_workspace_gets_its_digest_at_its_own_local_time_and_once(ready):
    app, slack = ready
    store = app.deps.store
    text = admin(app, slack, "digest time mon 09:00 Asia/Tokyo", A, "UADMIN", "ta")
    assert "on Mondays at 09:00 Asia/Tokyo" in text
    text = admin(app, slack, "Digest time Monday 9:00 america/los_angeles", B, "UBADMIN", "tb")  # as people type it
    assert "on Mondays at 09:00 America/Los_Angeles" in text
    # Week 49 in Tokyo is Nov 29 15:00 to Dec 6 15:00 UTC; in Los Angeles, Nov 30 08:00 to Dec 7 08:00 UTC.
    record(store, A, utc(2, 12), 3)
    record(store, A, utc(29, 16, month=11), 2)  # Monday morning in Tokyo, still Sunday in UTC
    record(store, A, utc(6, 16))  # Monday Dec 7 in Tokyo: next week's
    record(store, B, utc(2, 12), 3)
    record(store, B, utc(7, 3), 2)  # Sunday evening in Los Angeles, Monday in UTC
    record(store, B, utc(30, 3, month=11))  # Sunday Nov 29 in Los Angeles: the week before
    schedulers = Schedulers(app, slack, app.deps.settings, utc(6, 23, 50))
    try:
        assert schedulers.at(utc(6, 23, 50), 0) == {}  # Monday 08:50 in Tokyo, Sunday in Los Angeles
        posts = schedulers.at(utc(7, 0, 10), 1)  # 09:10 in Tokyo
        token, text = posts[f"C{A}DIGEST"]
        assert token == TOKENS[A] and "2026-W49" in text and "5 proposals checked" in text
        schedulers.at(utc(7, 16, 50), 1)  # 08:50 in Los Angeles: not yet
        posts = schedulers.at(utc(7, 17, 10), 2)  # 09:10 in Los Angeles
        token, text = posts[f"C{B}DIGEST"]
        assert token == TOKENS[B] and "2026-W49" in text and "5 proposals checked" in text
        schedulers.at(utc(8, 12), 2)  # the rest of the week: nothing more
    finally:
        schedulers.close()
    for team in (A, B):
        assert store.digest_state(team, f"C{team}DIGEST", "2026-W49")["status"] == "posted"


def test_where_nothing_is_set_the_default_schedule_holds(ready):
    app, slack = ready
    settings = replace(app.deps.settings, digest_day="mon", digest_time="09:00", timezone="UTC")
    admin(app, slack, "digest time mon 09:00 Asia/Tokyo", A, "UADMIN", "ta")
    admin(app, slack, "digest time tue 07:00 Europe/Berlin", B, "UBADMIN", "tb1")
    text = admin(app, slack, "digest time default", B, "UBADMIN", "tb2")  # and back again
    assert "back on the app's default schedule" in text
    for team in (A, B):
        record(app.deps.store, team, utc(2, 12), 3)
    schedulers = Schedulers(app, slack, settings, utc(6, 23, 50))
    try:
        assert schedulers.at(utc(6, 23, 50), 0) == {}  # Sunday in UTC, Monday 08:50 in Tokyo
        assert set(schedulers.at(utc(7, 0, 10), 1)) == {f"C{A}DIGEST"}  # Tokyo's 09:00
        schedulers.at(utc(7, 8, 50), 1)
        assert set(schedulers.at(utc(7, 9, 10), 2)) == {f"C{A}DIGEST", f"C{B}DIGEST"}  # 09:00 UTC, the default
    finally:
        schedulers.close()


def test_app_home_shows_each_workspaces_schedule(ready):
    app, slack = ready
    admin(app, slack, "digest time fri 16:30 Europe/Berlin", A, "UADMIN", "ta")
    for i, (team, user) in enumerate(((A, "UADMIN"), (B, "UBADMIN"))):
        assert app.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"},
                         event_id=f"EvHome{i}", team=team)[0] == 200
    assert slack.wait_for(lambda: len(slack.calls("views.publish")) == 2)
    views = {t: json.dumps(p["view"]) for t, p in slack.calls_with_token("views.publish")}
    assert "fri 16:30 Europe/Berlin (set here" in views[TOKENS[A]]
    assert "mon 09:00 UTC (the app's default" in views[TOKENS[B]]


@pytest.mark.parametrize("text,answer", [
    ("digest time mon 09:00 Mars/Olympus", "`Mars/Olympus` isn't a timezone I know"),
    ("digest time mon 09:00 Europe/Berln", "Did you mean `Europe/Berlin`"),
    ("digest time mon 25:00 Europe/Berlin", "`25:00` isn't a time: give it as HH:MM on a 24-hour clock"),
    ("digest time mon 9am", "`9am` isn't a time"),
    ("digest time mon", "say `digest time DAY HH:MM TIMEZONE`"),
])
def test_a_bad_schedule_is_refused_with_the_fix(ready, text, answer):
    app, slack = ready
    reply = admin(app, slack, text, A, "UADMIN", "bad")
    assert reply.startswith("I didn't change anything") and answer in reply, reply
    assert app.deps.store.get_setting(A, "digest_schedule") is None
    assert app.deps.store.count("checks") == 0  # a command, not a draft


def test_only_admins_set_the_schedule(ready):
    app, slack = ready
    assert "only workspace admins" in admin(app, slack, "digest time mon 09:00 Asia/Tokyo", A, "U111", "u")
    assert app.deps.store.get_setting(A, "digest_schedule") is None


@pytest.mark.parametrize("text,expected", [
    ("digest time mon 09:00 Europe/Berlin", ("digest", "time mon 09:00 Europe/Berlin")),
    ("Digest time Sunday 7:30", ("digest", "time Sunday 7:30")),
    ("digest time default", ("digest", "time default")),
    ("digest time", ("digest", "time")),
    ("Digest time sunday brunch rocks", None),  # drafts
    ("digest time mon 09:00 Europe/Berlin please", None),
    ("Digest time is precious: we'll cut the weekly report so customers get answers sooner.", None),
])
def test_the_grammar_takes_the_long_form_only_whole(text, expected):
    assert parse_subcommand(text) == expected


def test_timezones_are_matched_whatever_their_case():
    assert parse_timezone("europe/berlin") == "Europe/Berlin" and parse_timezone("utc") == "UTC"
