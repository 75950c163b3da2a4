"""The digest as Slack shows it: header, titles, points, permalinks, privacy in every week and group, the chart
in the channel, and a channel the bot is not in (recorded Web API calls on a local FakeSlack)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from slack_server import FakeSlack
from test_digest import add  # one way to record a check for a digest

from bot.chart import render_chart
from bot.config import load_settings
from bot.digest import compute
from bot.digest_post import post_digest, run_digest_scheduler
from bot.slack.app import build_client
from bot.slack.blocks import build_digest
from bot.slack.oauth import WorkspaceClients
from bot.store import Store
from bot.verdict import PlaybookRef, Verdict

TZ = "UTC"
REFRAME = "Teams that **outgrow** Standard get the reports they ask for & more; if they do, ARR grows."


def at(week: int, day: int = 1) -> float:
    return datetime.fromisocalendar(2026, week, day).replace(hour=12, tzinfo=ZoneInfo(TZ)).timestamp() + 0.0


@pytest.fixture
def store(database):
    s = Store(database)
    labels = ["outside-in", "inside-out", "mixed"]
    for week in range(40, 48):
        for i, user in enumerate(("U1", "U2", "U3")):  # #proposals: three people every week
            add(s, labels[(week + i) % 3], at(week, 1 + i), channel="CPROP", user=user, motives=["revenue-profit"])
        for i, user in enumerate(("U7", "U8", "U9")):  # a private channel with three people: never named
            add(s, "inside-out", at(week, 2 + i), channel="GSECRET", user=user, kind="private",
                motives=["cost-efficiency"])
    add(s, "inside-out", at(46, 3), channel="CSMALL", user="U4")  # one person in week 46 only: never on the chart by name
    c_pub = add(s, "inside-out", at(47, 4), channel="CPROP", user="U1", reframe=REFRAME, text="We'll upsell Standard for ARR & P&L",
                motives=["upsell-crosssell"])
    c_tpl = add(s, "mixed", at(47, 4), channel="CPROP", user="U2", reframe="Premium Plus lets accounts [..]. If it does, ARR grows.",
                text="Premium Plus for ARR")
    c_priv = add(s, "inside-out", at(47, 5), channel="GSECRET", user="U7", kind="private", text="SECRET board plan")
    s.record_decision(c_pub, "accepted", user="U1")
    s.record_decision(c_pub, "accepted", user="U1")  # a double click
    s.record_decision(c_tpl, "accepted", user="U2")
    d_pub = s.record_decision(c_pub, "kept-original", user="U3")
    s.set_decision_reason(d_pub, "P&L matters & <finance> agreed", user="U3", workspace="T1")
    d_priv = s.record_decision(c_priv, "kept-original", user="U7")
    s.set_decision_reason(d_priv, "SECRET & <board> said so", user="U7", workspace="T1")
    return s


def test_privacy_and_the_three_poster_rule_hold_in_every_week(store):
    d = compute(store, "T1", 2026, 47, TZ)
    for point in d.trend:
        assert "GSECRET" not in point["channels"] and "CSMALL" not in point["channels"]
        assert set(point["channels"]) <= {"CPROP", "other"}
    week46 = d.trend[-2]
    assert "other" in week46["channels"]  # GSECRET's three people (plus CSMALL) make a nameless group
    assert d.adoption["CPROP"]["used"] == 2  # the double click counts once
    assert d.adoption["other"]["reasons"] == []  # a private channel's reason is never quoted
    assert [ex["after"] for ex in d.examples] == [REFRAME]  # the unfilled template is not an example


def test_the_digest_post_reads_well_in_slack(store, database):
    with FakeSlack() as slack:
        settings = load_settings(env={"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": slack.api_url,
                                      "MOTIVECHECK_TIMEZONE": TZ, "MOTIVECHECK_DIGEST_CHANNEL": "CLEAD"},
                                 db_path=database)
        assert asyncio.run(post_digest(build_client(settings), store, settings, "T1", 2026, 47)) == "posted"
        (post,) = slack.calls("chat.postMessage")
        blocks = post["blocks"]
        text = json.dumps(blocks, ensure_ascii=False)
        # the week's days as well: few leaders know which week "2026-W47" is
        assert blocks[0] == {"type": "header", "text": {"type": "plain_text",
                                                        "text": "Motive Coach weekly digest — 2026-W47 (Nov 16–22)"}}
        assert all(not b["text"]["text"].startswith("*" * 2) for b in blocks if b["type"] == "section")
        assert " pts outside-in vs last week" in post["text"] and "%" not in post["text"].split("(")[-1]
        assert "up-sell and cross-sell current customers" in text and "upsell-crosssell" not in text
        assert "“p&amp;l matters &amp; &lt;finance&gt; agreed”" in text  # public reason, escaped exactly once
        assert "SECRET" not in text and "secret" not in text and "board" not in text
        assert "[..]" not in text and "*outgrow*" in text.replace("**", "") and "**" not in text
        (link,) = slack.calls("chat.getPermalink")
        assert link["channel"] == "CPROP" and f"<https://example.slack.com/archives/CPROP/p{link['message_ts'].replace('.', '')}|See the thread>" in text
        assert "&amp;amp;" not in text and "&amp;gt;" not in text
        # the chart: in the channel itself (no thread), with channel names from conversations.info
        (done,) = slack.calls("files.completeUploadExternal")
        assert done.get("channel_id") == "CLEAD" and not done.get("thread_ts")
        assert [c["channel"] for c in slack.calls("conversations.info")] == ["CPROP"]
        assert slack.uploads and slack.uploads[0][1][:8] == b"\x89PNG\r\n\x1a\n"


def test_the_chart_names_channels_and_counts_drafts(store, tmp_path):
    d = compute(store, "T1", 2026, 47, TZ)
    out = render_chart(d, os.environ.get("MC_CHART_PATH") or tmp_path / "chart.png", {"CPROP": "#proposals"})
    import matplotlib.image

    assert matplotlib.image.imread(str(out)).shape[1] > 800  # wide enough for the legend beside the plot


def test_a_channel_the_bot_is_not_in_is_reported_once_to_the_admin_who_chose_it(store, database):
    with FakeSlack() as slack:
        settings = load_settings(env={"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": slack.api_url,
                                      "MOTIVECHECK_TIMEZONE": TZ}, db_path=database)
        store.set_setting("T1", "digest_channel", "CLEAD")
        store.set_setting("T1", "digest_channel_by", "UADMIN")
        slack.fail("chat.postMessage", 200, {"ok": False, "error": "not_in_channel"})
        client = build_client(settings)

        async def every_minute() -> list[str]:
            return [await post_digest(client, store, settings, "T1", 2026, 47) for _ in range(3)]

        assert asyncio.run(every_minute()) == ["blocked", "already", "already"]
        posts = slack.calls("chat.postMessage")
        assert [p["channel"] for p in posts] == ["CLEAD", "UADMIN"]  # one try, one word to the admin
        assert "/invite @Motive Coach" in posts[1]["text"] and "<#CLEAD>" in posts[1]["text"]
        assert "not_in_channel" in store.get_setting("T1", "last_delivery_error")
        # after the fix the admin sets the channel again: this week's digest may go out
        assert store.unblock_digests("T1", "CLEAD") == 1
        assert asyncio.run(post_digest(client, store, settings, "T1", 2026, 47)) == "posted"


def test_a_delivery_problem_is_stamped_in_utc_as_it_says(store, database, monkeypatch):
    """App Home shows '… UTC, digest to <#CLEAD>: not_in_channel': on a server whose clock runs in Tokyo the time was
    the local one, 9 hours off."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        with FakeSlack() as slack:
            settings = load_settings(env={"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": slack.api_url,
                                          "MOTIVECHECK_TIMEZONE": TZ}, db_path=database)
            store.set_setting("T1", "digest_channel", "CLEAD")
            slack.fail("chat.postMessage", 200, {"ok": False, "error": "not_in_channel"})
            assert asyncio.run(post_digest(build_client(settings), store, settings, "T1", 2026, 47)) == "blocked"
        problem = store.get_setting("T1", "last_delivery_error")
    finally:
        monkeypatch.undo()  # the clock's own zone again, for every later test in this process
        time.tzset()
    stamped = datetime.strptime(problem[:16], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert problem[16:21] == " UTC," and abs(stamped - datetime.now(UTC)) < timedelta(minutes=2), problem


def test_quiet_week_has_a_header_too():
    from bot.digest import Digest

    msg = build_digest(Digest(workspace="T1", week="2026-W30", timezone=TZ))
    assert msg["blocks"][0]["type"] == "header" and "quiet week" in msg["text"]


def test_week_helper_is_monday():
    assert datetime.fromtimestamp(at(47), ZoneInfo(TZ)).weekday() == 0 and timedelta(days=1)


def test_one_bot_token_posts_one_digest_a_week_whatever_the_cli_logged(database):
    s = Store(database)
    add(s, "outside-in", time.time() - 7 * 86400, user="U1")  # a draft checked in the Slack workspace T1
    # Checks logged from the CLI (`motivecheck check --log`) or imported without --workspace have none (''), and
    # one imported into another team's id: neither is a team this bot token posts for.
    for workspace, source in (("", "cli"), ("", "import"), ("TOTHER", "import")):
        s.record_check(Verdict(label="inside-out", customer_ease=10, engine="rules",
                               playbook=PlaybookRef(name="outside-in", version="1")),
                       "logged draft", source=source, workspace=workspace, ts=time.time() - 7 * 86400)
    with FakeSlack() as slack:
        settings = load_settings(env={"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": slack.api_url,
                                      "MOTIVECHECK_DIGEST_CHANNEL": "CLEAD"}, db_path=database)
        today = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[datetime.now(UTC).weekday()]
        settings = replace(settings, digest_day=today, digest_time="00:00", timezone="UTC")
        clients = WorkspaceClients(s, lambda token: None, single=build_client(settings))  # as app.py builds it

        async def two_ticks() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(run_digest_scheduler(clients, s, settings, stop, interval=0.2))
            for _ in range(50):
                if slack.calls("chat.postMessage"):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # every workspace's turn comes in the same tick; two more ticks for good measure
            stop.set()
            await task

        asyncio.run(two_ticks())
        posts = [p["text"] for p in slack.calls("chat.postMessage")]
    assert len(posts) == 1 and "1 proposal checked" in posts[0], posts
    assert s.digest_workspaces() == ["T1"]
    s.set_setting("TNEW", "digest_channel", "CNEW")  # a team that chose its digest channel before any draft
    assert s.digest_workspaces() == ["T1", "TNEW"]


def test_adoption_in_a_workspace_with_many_channels_fits_slack_and_names_every_channel(database):
    """30 named channels: the adoption list passed one section's 3,000 characters and was cut with "…", so the last
    channels and "other channels" were silently missing from the post."""
    s = Store(database)
    channels = [f"C{i:02d}LONGCHANNELID" for i in range(30)]
    for chan in channels:
        for user in ("U1", "U2", "U3"):
            check = add(s, "inside-out", at(47), channel=chan, user=user + chan)
            s.record_decision(check, "kept-original", user=user + chan,
                              reason="the board reads the revenue figure first, always")
    add(s, "mixed", at(47), channel="CLONE", user="ULONE")
    for user in ("U7", "U8", "U9"):
        add(s, "inside-out", at(47), channel="GSECRET", user=user, kind="private")
    d = compute(s, "T1", 2026, 47, TZ)
    assert len(d.adoption) == 31
    blocks = build_digest(d)["blocks"]
    assert len(blocks) <= 50
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= 3000 for t in texts)
    posted = "\n".join(texts)
    assert all(f"<#{chan}>: 3 reframes suggested" in posted for chan in channels)
    assert "• other channels: 4 reframes suggested, 0 used, 0 kept the original" in posted
    assert "…" not in posted


def test_a_reason_quoted_in_the_digest_notifies_nobody(database):
    s = Store(database)
    for user in ("U1", "U2", "U3"):
        check = add(s, "inside-out", at(47), channel="CPROP", user=user)
        s.record_decision(check, "kept-original", user=user, reason="<!here> the board wants ARR first")
    for user, label in (("U4", "inside-out"), ("U5", "outside-in"), ("U6", "outside-in")):
        add(s, label, at(47), channel="CONE", user=user)
    d = compute(s, "T1", 2026, 47, TZ)
    d.note = "<!channel> Lead with what gets easier."  # an LLM's note is posted in public too
    posted = json.dumps(build_digest(d), ensure_ascii=False)
    assert "<!here>" not in posted and "“@here the board wants arr first”" in posted
    assert "<!channel>" not in posted and "@channel Lead with" in posted
    assert "• <#CONE>: 1 reframe suggested, 0 used, 0 kept the original" in posted  # not "1 reframes"
