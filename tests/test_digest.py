"""The weekly digest: figures, week boundaries in the workspace timezone, privacy, chart, once-only posting."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from slack_server import FakeSlack

from bot.config import load_settings
from bot.digest import MIN_SHARE, Digest, claim, compute, parse_week, to_json, to_markdown, week_bounds
from bot.digest_post import post_digest
from bot.schedule import default_schedule, due_week
from bot.slack.app import build_client
from bot.store import Store
from bot.verdict import PlaybookRef, Verdict

ROOT = Path(__file__).resolve().parent.parent
TZ = "America/New_York"
TITLES = {"revenue-profit": "grow revenue or profit", "upsell-crosssell": "up-sell and cross-sell current customers",
          "cost-efficiency": "cut costs or raise efficiency"}
REAL_REFRAME = "Accounts that outgrow Standard get the reports they ask for; if they do, we expect ARR to grow."


def local(y: int, mo: int, d: int, h: int = 12, mi: int = 0) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(TZ)).timestamp()


def add(store: Store, label: str, ts: float, *, channel: str = "C1", user: str = "U1", kind: str = "public",
        motives: list[str] | None = None, reframe: str | None = None, text: str = "draft") -> int:
    v = Verdict(label=label, customer_ease=50, motives=motives or [], engine="rules", reframe=reframe,
                playbook=PlaybookRef(name="outside-in", version="1"))
    return store.record_check(v, text, source="channel", workspace="T1", channel=channel, channel_type=kind,
                              user=user, ts=ts, message_ts=f"{int(ts)}.000100")


@pytest.fixture
def store(database):
    s = Store(database)
    # Week 2026-W47 (Mon 16 Nov - Sun 22 Nov, New York time); three posters in C1, one in C2 (private).
    add(s, "outside-in", local(2026, 11, 16, 9), user="U1")
    add(s, "inside-out", local(2026, 11, 17), user="U2", motives=["revenue-profit", "upsell-crosssell"],
        reframe=REAL_REFRAME, text="We'll upsell for ARR")
    add(s, "mixed", local(2026, 11, 22, 23, 30), user="U3", motives=["revenue-profit"])  # Sunday 23:30 local
    add(s, "inside-out", local(2026, 11, 18), channel="C2", user="U9", kind="private", motives=["cost-efficiency"],
        reframe="secret reframe", text="SECRET private plan")
    add(s, "not-a-proposal", local(2026, 11, 18), user="U4")
    add(s, "outside-in", local(2026, 11, 23, 0, 30), user="U1")  # Monday 00:30: next week
    add(s, "inside-out", local(2026, 11, 10), user="U1", motives=["new-product"])  # previous week
    return s


def test_figures_and_week_boundaries(store):
    d = compute(store, "T1", 2026, 47, TZ, titles=TITLES)
    assert d.checked == 4
    assert d.shares == pytest.approx({"outside-in": 0.25, "mixed": 0.25, "inside-out": 0.5})
    assert d.previous_shares["inside-out"] == 1.0 and d.previous_shares["outside-in"] == 0.0
    assert dict(d.motives) == {"grow revenue or profit": 2, "up-sell and cross-sell current customers": 1,
                               "cut costs or raise efficiency": 1}  # titles, not ids
    # the preview says what the post in Slack says (it said "Patterns:")
    assert "\n*What led instead of customer ease:* grow revenue or profit (2), " in to_markdown(d)
    assert d.trend[-1]["week"] == "2026-W47" and d.trend[-1]["overall"] == pytest.approx(0.25)
    # from the week of the workspace's first check (the previous week's), not 8 weeks of which 6 had no check
    assert [t["week"] for t in d.trend] == ["2026-W46", "2026-W47"] and d.trend[-2]["overall"] == 0.0
    # in UTC the Sunday-23:30 check falls into the next week
    assert compute(store, "T1", 2026, 47, "UTC").checked == 3


def test_privacy_rules(store):
    cid = store.db.value("select id from checks where channel = 'C1' and label = 'inside-out' order by id limit 1")
    private = store.db.value("select id from checks where channel = 'C2'")
    store.record_decision(cid, "accepted", user="U2")
    store.record_decision(private, "accepted", user="U9")
    store.record_decision(private, "disputed", user="U9")
    d = compute(store, "T1", 2026, 47, TZ)
    text = to_markdown(d)
    assert "SECRET" not in text and "secret reframe" not in text  # private content is never quoted
    # C2 had one poster: its figures count in the totals, but "other" (one person) is not shown on its own either
    assert set(d.adoption) == {"C1"}
    assert d.adoption["C1"]["used"] == 1
    assert d.disagree_share == pytest.approx(0.25)
    (example,) = d.examples
    assert example["channel"] == "C1" and example["link"] == "" and "author" not in example
    assert "U2" not in text
    assert "author" in compute(store, "T1", 2026, 47, TZ, names=True).examples[0]


def test_the_digest_quotes_no_draft_of_an_author_who_opted_out_since(store):
    """An opt-out takes a person's words out of use (their labels are never used again): the weekly digest still
    quoted their accepted draft to the digest channel, named too with MOTIVECHECK_DIGEST_NAMES=on."""
    cid = store.db.value("select id from checks where channel = 'C1' and label = 'inside-out' order by id limit 1")
    store.record_decision(cid, "accepted", user="U2")
    assert [ex["author"] for ex in compute(store, "T1", 2026, 47, TZ, names=True).examples] == ["U2"]

    store.set_optout("T1", "U2", True)

    assert compute(store, "T1", 2026, 47, TZ, names=True).examples == []
    assert "upsell for ARR" not in to_markdown(compute(store, "T1", 2026, 47, TZ))


def test_quiet_week_and_week_parsing(store):
    d = compute(store, "T1", 2026, 30, TZ)
    assert d.quiet and "quiet week" in to_markdown(d)
    assert parse_week("2026-w05") == (2026, 5)
    start, end = week_bounds(2026, 47, TZ)
    assert end - start == 7 * 86400


def test_cli_preview_and_chart(store, tmp_path):
    env = dict(os.environ, MOTIVECHECK_TIMEZONE=TZ)  # the database fixture named the database there
    r = subprocess.run([sys.executable, "-m", "bot", "digest", "--week", "2026-W47", "--workspace", "T1",
                        "--format", "json", "--chart", str(tmp_path / "c.png")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout.split("\nChart written")[0])
    assert data["checked"] == 4 and data["note_source"] == "template"
    png = (tmp_path / "c.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image
    assert matplotlib.image.imread(str(tmp_path / "c.png")).shape[2] in (3, 4)


def test_once_only_with_racing_schedulers(store, database):
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def race() -> None:
        barrier.wait()
        results.append(claim(Store(database), "T1", "CLEAD", "2026-W47", threading.current_thread().name))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


def test_post_once_with_chart_upload(store, database):
    with FakeSlack() as slack:
        settings = load_settings(env={"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": slack.api_url,
                                      "MOTIVECHECK_TIMEZONE": TZ, "MOTIVECHECK_DIGEST_CHANNEL": "CLEAD"},
                                 db_path=database)
        client = build_client(settings)

        async def twice() -> list[str]:
            return [await post_digest(client, store, settings, "T1", 2026, 47),
                    await post_digest(client, store, settings, "T1", 2026, 47)]

        assert asyncio.run(twice()) == ["posted", "already"]
        (post,) = slack.calls("chat.postMessage")
        assert post["channel"] == "CLEAD" and "2026-W47" in post["text"]
        assert slack.calls("files.getUploadURLExternal") and slack.calls("files.completeUploadExternal")


def test_due_week_follows_the_schedule():
    s = default_schedule(load_settings(env={"MOTIVECHECK_TIMEZONE": TZ, "MOTIVECHECK_DIGEST_DAY": "mon",
                                            "MOTIVECHECK_DIGEST_TIME": "09:00"}))
    assert due_week(s, local(2026, 11, 23, 8, 59)) is None
    assert due_week(s, local(2026, 11, 23, 9, 1)) == (2026, 47)
    assert due_week(s, local(2026, 11, 26, 15)) == (2026, 47)  # after downtime: the latest week, once


def test_agreement_over_time_and_what_a_retrain_changed(store):
    last_week = store.db.value("select id from checks where ts < ?", [local(2026, 11, 16, 0)])
    this_week = store.db.value("select id from checks where channel = 'C1' and label = 'mixed'")
    store.record_decision(last_week, "disputed", user="U1", ts=local(2026, 11, 11))
    store.record_decision(this_week, "disputed", user="U3", ts=local(2026, 11, 20))
    before = compute(store, "T1", 2026, 47, TZ)
    assert [t["share"] for t in before.disagree_trend[-2:]] == [pytest.approx(1.0), pytest.approx(0.25)]
    assert before.retrain_note == ""
    store.save_head("T1", "{}", {"labels": 60}, active=True, created=local(2026, 11, 19))
    after = compute(store, "T1", 2026, 47, TZ)
    # 1 draft last week, 4 this week: counts, not "100%" and "25%"
    assert "retrained on your team's labels this week (v1): disagreement 1 of 1 last week, 1 of 4 this week" \
        in after.retrain_note
    line = to_markdown(after)
    assert "disagreed with 1 of 4 verdicts (weeks before: W46 1 of 1)" in line and "retrained" in line


def _judged_by(store: Store, engine: str, ts: float, user: str, fallback: str | None = None) -> None:
    v = Verdict(label="inside-out", customer_ease=10, engine=engine, fallback=fallback,
                model="gpt-4o-mini" if engine == "openai" else None, playbook=PlaybookRef(name="outside-in", version="1"))
    store.record_check(v, "draft", source="channel", workspace="T2", channel="C1", channel_type="public", user=user,
                       ts=ts)


def test_the_digest_says_which_reader_judged_the_weeks_drafts(store):
    from bot.slack.blocks import build_digest

    d = compute(store, "T1", 2026, 47, TZ)  # every check of the fixture came from the rules engine
    assert d.readers == {"rules": 4} and d.fallbacks == 0
    line = ("*Who read them:* the offline quick read, all 4. On real writing it agrees with a careful reader about "
            "3 times in 10 (accuracy 0.29), so take the counts as a rough guide.")  # 4 drafts: counts, no shares
    assert line in to_markdown(d).splitlines()
    assert {"type": "section", "text": {"type": "mrkdwn", "text": line}} in build_digest(d)["blocks"]
    _judged_by(store, "openai", local(2026, 11, 16), "U1")
    _judged_by(store, "openai", local(2026, 11, 17), "U2")
    _judged_by(store, "trained", local(2026, 11, 18), "U3", fallback="timeout")  # the LLM failed: offline answered
    _judged_by(store, "trained", local(2026, 11, 19), "U3")
    d = compute(store, "T2", 2026, 47, TZ)
    assert d.readers == {"openai": 2, "trained": 2} and d.fallbacks == 1
    assert ("*Who read them:* the LLM 2, the offline quick read 2 (1 of them when the LLM did not answer). On real "
            "writing the quick read agrees with a careful reader about half the time (accuracy 0.47).") \
        in to_markdown(d)  # 4 drafts: counts, no percentages
    _judged_by(store, "openai", local(2026, 11, 20), "U4")
    d = compute(store, "T2", 2026, 47, TZ)
    assert ("*Who read them:* the LLM 3 (60%), the offline quick read 2 (40%, 1 of them when the LLM did not "
            "answer). On real writing the quick read agrees with a careful reader about half the time (accuracy "
            "0.47).") in to_markdown(d)
    assert json.loads(to_json(d))["readers"] == {"openai": 3, "trained": 2}


def test_an_offline_week_says_its_shares_or_its_counts_are_a_rough_guide(store):
    """A week of fewer than 5 proposals gives counts, not percentages: 'take the shares' named figures it did not show."""
    for n, user in enumerate(("U1", "U2", "U3", "U4", "U5")):
        _judged_by(store, "trained", local(2026, 11, 16 + n), user)
        text = to_markdown(compute(store, "T2", 2026, 47, TZ))
        figures = "shares" if n + 1 >= MIN_SHARE else "counts"
        assert f"so take the {figures} as a rough guide." in text, text
        assert ("% inside-out" in text) == (figures == "shares")  # as the headline gives them


def test_the_chart_leaves_out_a_group_line_that_hides_under_all_channels(tmp_path):
    """Every draft from channels too small to name: "other channels" equals "all channels" in every week, so it
    is neither drawn nor listed; a group that differs in some week is both."""
    from bot.chart import draw, group_lines

    store = Store(tmp_path / "g.db")
    for week_day, label in ((16, "outside-in"), (17, "inside-out"), (18, "mixed")):
        for user in ("U1", "U2", "U3"):  # three people, each in their own small channel: one "other" group
            add(store, label, local(2026, 11, week_day), channel=f"C{user}", user=user)
    d = compute(store, "T1", 2026, 47, TZ)
    assert d.trend[-1]["channels"] == {"other": d.trend[-1]["overall"]}
    assert group_lines(d) == []
    fig = draw(d)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["all channels"] and len(ax.get_lines()) == 1
    for user in ("U7", "U8", "U9"):  # a named channel this week: now both groups differ from all channels
        add(store, "outside-in", local(2026, 11, 19), channel="CPROP", user=user)
    d = compute(store, "T1", 2026, 47, TZ)
    assert [chan for chan, *_ in group_lines(d)] == ["CPROP", "other"]
    legend = [t.get_text() for t in draw(d, {"CPROP": "#proposals"}).axes[0].get_legend().get_texts()]
    # 3 drafts in #proposals and in "other": open markers, and the legend says what they are
    assert legend == ["all channels", "#proposals", "other channels (grouped)",
                      "open: fewer than 5 proposals,\ntoo few for a share"]
    import matplotlib.pyplot as plt

    plt.close("all")


def _week(week: int) -> float:
    """Tuesday noon of an ISO week of 2026, New York time."""
    return datetime.fromisocalendar(2026, week, 2).replace(hour=12, tzinfo=ZoneInfo(TZ)).timestamp()


def test_no_change_is_claimed_when_last_week_had_no_drafts(database):
    s = Store(database)
    add(s, "not-a-proposal", _week(44), user="U1")  # the coach was there before: not its first week
    for user in ("U1", "U2", "U3", "U4", "U5"):
        add(s, "outside-in", _week(47), user=user)
    d = compute(s, "T1", 2026, 47, TZ)  # W46 had no drafts at all
    assert d.previous_checked == 0
    line = to_markdown(d).splitlines()[1]
    assert line == "5 proposals checked: 100% outside-in, 0% mixed, 0% inside-out (no proposals last week).", line
    for user in ("U1", "U2", "U3", "U4", "U5"):
        add(s, "inside-out", _week(46), user=user)
    assert "(+100 pts outside-in vs last week)" in to_markdown(compute(s, "T1", 2026, 47, TZ))


def test_the_printed_shares_add_up_to_100(database):
    s = Store(database)
    for user, label in (("U1", "outside-in"), ("U2", "mixed"), ("U3", "inside-out")) * 2:
        add(s, label, _week(47), user=user)
    line = to_markdown(compute(s, "T1", 2026, 47, TZ)).splitlines()[1]
    assert "34% outside-in, 33% mixed, 33% inside-out" in line, line  # not 33/33/33: 99%


def test_read_it_as_a_proposal_is_not_a_disagreement_with_a_proposal_verdict(database):
    s = Store(database)
    add(s, "outside-in", _week(47), user="U1")  # the only proposal: nobody disputed it
    for user in ("U2", "U3"):  # two drafts the coach dismissed, whose authors pressed "Read it as a proposal"
        check = add(s, "not-a-proposal", _week(47), user=user)
        s.record_decision(check, "disputed", user=user, reason="It is a proposal: read it again as one.")
    d = compute(s, "T1", 2026, 47, TZ)
    assert d.disagree_share == 0.0 and d.disagree_trend[-1]["share"] == 0.0  # was 200%
    assert "people disagreed with 0 of 1 verdicts" in to_markdown(d)


def test_no_example_is_quoted_from_a_channel_too_small_to_be_named(database):
    s = Store(database)
    for user in ("U1", "U2", "U3"):
        add(s, "outside-in", _week(47), user=user, channel="CBIG")
    lone = add(s, "inside-out", _week(47), user="ULONE", channel="CTINY", text="Lone person's draft about ARR",
               reframe="Customers finish setup in a day.")
    s.record_decision(lone, "accepted", user="ULONE")
    d = compute(s, "T1", 2026, 47, TZ)
    assert "CTINY" not in d.adoption and d.examples == []  # its figures are hidden: so are its author's words
    assert "Lone person" not in to_markdown(d)
    for user in ("U4", "U5"):  # two more people post there: it is named, and its example may be quoted
        add(s, "mixed", _week(47), user=user, channel="CTINY")
    assert [ex["channel"] for ex in compute(s, "T1", 2026, 47, TZ).examples] == ["CTINY"]


@pytest.mark.parametrize("after", [
    # The offline engine's slot for what only the author knows, and the playbook templates' slots: unfilled.
    "[What gets easier or nicer for your customers — e.g. … ?] Let's cross-sell travel insurance at seat selection.",
    "Accounts get [name the task that gets easier for them — e.g. what they can now do in one step]. ARR follows.",
    "Pro customers can [e.g. see which reports their team reads ?] with Team Analytics.",
])
def test_an_example_whose_reframe_still_has_a_slot_to_fill_is_not_quoted(database, after):
    s = Store(database)
    for user in ("U1", "U2", "U3"):
        check = add(s, "inside-out", _week(47), user=user, text=f"We'll cross-sell insurance for revenue, {user}",
                    reframe=after if user == "U1" else REAL_REFRAME)
        s.record_decision(check, "accepted", user=user)
    examples = compute(s, "T1", 2026, 47, TZ).examples
    assert [ex["after"] for ex in examples] == [REAL_REFRAME, REAL_REFRAME]  # README: "only with a filled-in reframe"


def test_the_chart_folds_named_channels_past_its_colours_into_other_channels(tmp_path):
    """Eight channels with three people each: the six busiest are drawn, the two quietest are counted in "other
    channels" (they were dropped, alphabetically, from both the lines and "other")."""
    from bot.chart import draw, group_lines

    store = Store(tmp_path / "g.db")
    for i, chan in enumerate(("CA", "CB", "CC", "CD", "CE", "CF", "CG", "CH")):
        extra = 0 if chan in ("CA", "CB") else 2  # CA and CB are the quietest: 3 drafts each, 5 elsewhere
        for k in range(3 + extra):
            label = "outside-in" if chan in ("CA", "CB") or k == 0 else "inside-out"
            add(store, label, local(2026, 11, 17, 9 + k), channel=chan, user=f"U{i}{k % 3}")
    d = compute(store, "T1", 2026, 47, TZ)
    assert set(d.trend[-1]["channels"]) == {"CA", "CB", "CC", "CD", "CE", "CF", "CG", "CH"}
    lines = {chan: values for chan, values, _ in group_lines(d)}
    assert list(lines) == ["CC", "CD", "CE", "CF", "CG", "CH", "other"]
    assert lines["other"][-1] == pytest.approx(1.0)  # CA and CB: 6 drafts, all outside-in
    legend = [t.get_text() for t in draw(d).axes[0].get_legend().get_texts()]
    assert legend == ["all channels", "CC", "CD", "CE", "CF", "CG", "CH", "other channels (grouped)"]
    import matplotlib.pyplot as plt

    plt.close("all")


def test_points_at_0_and_100_percent_are_drawn_whole(tmp_path):
    from bot.chart import draw

    store = Store(tmp_path / "g.db")
    for user in ("U1", "U2", "U3"):
        add(store, "outside-in", _week(46), user=user)  # 100%
        add(store, "inside-out", _week(47), user=user)  # 0%
    fig = draw(compute(store, "T1", 2026, 47, TZ))
    fig.canvas.draw()
    ax = fig.axes[0]
    frame = ax.get_window_extent()
    for line in ax.get_lines():
        radius = line.get_markersize() / 2 * fig.dpi / 72
        for x, y in line.get_xydata():
            if y == y:  # not NaN
                px, py = ax.transData.transform((x, y))
                assert frame.y0 <= py - radius and py + radius <= frame.y1, (line.get_label(), y)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_a_week_with_few_drafts_gives_counts_and_no_change_or_trend_is_read_from_it(tmp_path):
    """A first week with one draft, then six: '1 drafts checked: 100% outside-in', then '-83 pts outside-in vs last
    week', and a chart line falling from 100% — all read from one draft."""
    from bot.chart import alt_text, draw

    store = Store(tmp_path / "few.db")
    add(store, "outside-in", _week(46), user="U1")
    d = compute(store, "T1", 2026, 46, TZ)
    text = to_markdown(d)
    assert text.splitlines()[1] == ("1 proposal checked: 1 outside-in, 0 mixed, 0 inside-out (too few for "
                                    "percentages; the coach's first week, nothing to compare with).")
    assert "*Who read them:* the offline quick read, the only one." in text
    assert "people disagreed with 0 of 1 verdicts." in text
    add(store, "outside-in", _week(47), user="U1")
    for user in ("U1", "U2", "U3", "U2", "U3"):
        add(store, "inside-out", _week(47), user=user)
    d = compute(store, "T1", 2026, 47, TZ)
    assert to_markdown(d).splitlines()[1] == ("6 proposals checked: 17% outside-in, 0% mixed, 83% inside-out (only "
                                              "1 proposal last week, too few to compare).")
    assert alt_text(d).endswith("2026-W46: 1 of 1, 2026-W47: 17%")
    ax = draw(d).axes[0]
    solid, open_ = ax.get_lines()[:2]  # all channels: its line, then its open markers
    assert [y for y in solid.get_ydata() if y == y] == [pytest.approx(100 / 6)]  # no line from the 1-draft week
    assert [y for y in open_.get_ydata() if y == y] == [100.0] and open_.get_markerfacecolor() == "white"
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize(("week", "days"), [("2026-W47", "Nov 16–22"), ("2026-W49", "Nov 30 – Dec 6"),
                                            ("2026-W53", "Dec 28 – Jan 3")])
def test_the_title_gives_the_weeks_days(week, days):
    from bot.digest import title

    assert title(Digest(workspace="T1", week=week, timezone=TZ)) == f"Motive Coach weekly digest — {week} ({days})"


def test_the_template_note_reads_no_pattern_from_a_draft_or_two_and_names_a_tie_whole():
    from bot.digest import template_note

    one = Digest(workspace="T1", week="2026-W49", timezone=TZ, checked=1, shares={"inside-out": 1.0},
                 motives=[("grow revenue or profit", 1), ("up-sell and cross-sell current customers", 1)])
    assert template_note(one).startswith("Too few proposals this week to see a pattern. Before posting, try asking")
    tie = Digest(**{**one.__dict__, "checked": 12,
                    "motives": [("grow revenue or profit", 4), ("win new customers", 4), ("cut costs", 1)]})
    assert template_note(tie).startswith("This week the most common leads were grow revenue or profit and win new "
                                         "customers. Before posting")
    top = Digest(**{**tie.__dict__, "motives": [("win new customers", 5), ("cut costs", 1)]})
    assert template_note(top).startswith("This week the most common lead was win new customers. Before posting")


def test_adoption_has_no_line_of_zeros_for_a_channel_where_nothing_was_suggested(database):
    """A "Why?" or "Share" click on an outside-in verdict listed its channel as '0 reframes suggested, 0 used, 0 kept
    the original', while a channel like it without the click was not listed."""
    s = Store(database)
    liked = [add(s, "outside-in", _week(47), channel="CPROP", user=user) for user in ("U1", "U2", "U3")]
    for user in ("U4", "U5", "U6"):
        add(s, "inside-out", _week(47), channel="CBIG", user=user)
    s.record_decision(liked[0], "why", user="U1")
    s.record_decision(liked[1], "shared", user="U2")
    d = compute(s, "T1", 2026, 47, TZ)
    assert d.adoption == {"CBIG": {"suggested": 3, "used": 0, "kept": 0, "reasons": []}}
    assert "CPROP" not in to_markdown(d)


def test_the_headline_counts_the_drafts_that_proposed_nothing_beside_the_proposals(database):
    """A week of 40 checks, 7 of them messages that proposed nothing, read '33 drafts checked': the shares are of
    the 33 proposals, and the 7 were checked too."""
    from bot.slack.blocks import build_digest

    s = Store(database)
    add(s, "not-a-proposal", _week(40), user="U1")  # not the coach's first week
    for i in range(33):
        add(s, ("outside-in", "mixed", "inside-out")[i % 3], _week(47), user=f"U{i % 4}")
    for i in range(7):
        add(s, "not-a-proposal", _week(47), user=f"U{i % 4}")
    d = compute(s, "T1", 2026, 47, TZ)
    assert (d.checked, d.not_proposals) == (33, 7)
    line = ("40 drafts checked, 33 of them proposals: 34% outside-in, 33% mixed, 33% inside-out (no proposals last "
            "week).")
    assert to_markdown(d).splitlines()[1] == line
    assert build_digest(d)["blocks"][1]["text"]["text"] == line
    from bot.chart import draw

    ticks = [t.get_text() for t in draw(d).axes[0].get_xticklabels()]
    assert ticks[-1] == "W47\n33"  # the chart counts what the shares are of, as the headline does
    import matplotlib.pyplot as plt

    plt.close("all")
    # A week of counts: one proposal beside one message that proposed nothing (week 45 of the same workspace).
    add(s, "inside-out", _week(45), user="U1")
    add(s, "not-a-proposal", _week(45), user="U2")
    assert to_markdown(compute(s, "T1", 2026, 45, TZ)).splitlines()[1] == (
        "2 drafts checked, 1 of them a proposal: 0 outside-in, 0 mixed, 1 inside-out (too few for percentages; "
        "no proposals last week).")


def test_a_week_of_drafts_that_proposed_nothing_says_so(database):
    from bot.slack.blocks import build_digest

    s = Store(database)
    for user in ("U1", "U2", "U3"):
        add(s, "not-a-proposal", _week(47), user=user)
    d = compute(s, "T1", 2026, 47, TZ)
    assert d.quiet and to_markdown(d).splitlines()[1] == "A quiet week: 3 drafts checked, none of them a proposal."
    assert build_digest(d)["text"].endswith(". A quiet week: 3 drafts checked, none of them a proposal.")
    assert to_markdown(compute(s, "T1", 2026, 46, TZ)).splitlines()[1] == "A quiet week: no drafts were checked."


def _styles(fig) -> dict[str, tuple[str, str]]:  # noqa: ANN001 - a matplotlib Figure
    """Legend label → (colour, marker) of the solid line drawn for it."""
    from matplotlib.colors import to_hex

    return {line.get_label(): (to_hex(line.get_color()), line.get_marker()) for line in fig.axes[0].get_lines()
            if not line.get_label().startswith(("_", "open:"))}


def test_a_channel_keeps_its_colour_whichever_channels_are_drawn_beside_it(tmp_path):
    """#sales was drawn in the second colour on a chart beside #eng, and in the first on a chart beside #team (the
    colours went to the channels drawn, in alphabetical order): a leader comparing two charts read another channel."""
    from bot.chart import ALL_COLOUR, draw

    store = Store(tmp_path / "c.db")
    for user in ("U1", "U2", "U3"):
        add(store, "outside-in", _week(38), channel="CENG", user=user)
        add(store, "inside-out", _week(38), channel="CSALES", user=user)
        add(store, "mixed", _week(47), channel="CSALES", user=user)  # 9 weeks on: CENG is off the chart, CTEAM on
        add(store, "outside-in", _week(47), channel="CTEAM", user=user)
    names = {"CENG": "#eng", "CSALES": "#sales", "CTEAM": "#team"}
    before = _styles(draw(compute(store, "T1", 2026, 38, TZ), names))
    after = _styles(draw(compute(store, "T1", 2026, 47, TZ), names))
    assert set(before) == {"all channels", "#eng", "#sales"} and set(after) == {"all channels", "#sales", "#team"}
    assert before["#sales"] == after["#sales"]
    assert before["all channels"][0] == ALL_COLOUR and after["all channels"][0] == ALL_COLOUR
    from bot.chart import CHANNEL_STYLES, OTHER_COLOUR, channel_styles

    assert before["#sales"] == channel_styles(["CSALES"])["CSALES"]  # its id's own style
    assert ALL_COLOUR not in {c for c, _ in CHANNEL_STYLES}
    assert OTHER_COLOUR not in {c for c, _ in CHANNEL_STYLES} and len(set(CHANNEL_STYLES)) == len(CHANNEL_STYLES)
    # Two channels whose ids ask for the same style, drawn together: the smaller id keeps it, the other differs.
    alone = {chan: channel_styles([chan])[chan] for chan in (f"C{i:04d}" for i in range(40))}
    first, second = next((a, b) for a in alone for b in alone if a < b and alone[a] == alone[b])
    both = channel_styles([second, first])
    assert both[first] == alone[first] and both[second] != alone[first]
    six = channel_styles(list(alone)[:6])
    assert len(set(six.values())) == 6
    import matplotlib.pyplot as plt

    plt.close("all")


def test_the_weeks_under_the_chart_do_not_run_into_each_other(tmp_path):
    """'23 proposals' under each of 8 weeks ran into the next week's ('23 proposals 25 proposals 26 …')."""
    from bot.chart import draw

    store = Store(tmp_path / "t.db")
    for week in range(40, 48):
        for k in range(10):
            add(store, ("outside-in", "mixed", "inside-out")[k % 3], _week(week), user=f"U{k % 3}")
    fig = draw(compute(store, "T1", 2026, 47, TZ))
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = ax.get_xticklabels()
    assert [t.get_text() for t in labels][-1] == "W47\n10"
    boxes = [t.get_window_extent() for t in labels]
    assert all(a.x1 < b.x0 for a, b in pairwise(boxes)), [(b.x0, b.x1) for b in boxes]
    assert "proposals" in ax.get_xlabel()  # what the number under each week counts
    import matplotlib.pyplot as plt

    plt.close("all")


def test_a_new_workspace_chart_starts_at_its_first_week_not_at_weeks_of_nothing(tmp_path):
    """A first week's chart showed the 7 weeks before it as '0 drafts', a team that wrote nothing rather than an app
    not yet installed; and the headline said 'no drafts last week'. The weeks start at the workspace's first check."""
    from bot.chart import alt_text, draw

    store = Store(tmp_path / "n.db")
    for user in ("U1", "U2", "U3", "U4", "U5"):
        add(store, "outside-in", _week(47), user=user)
    d = compute(store, "T1", 2026, 47, TZ)
    assert [t["week"] for t in d.trend] == [t["week"] for t in d.disagree_trend] == ["2026-W47"]
    assert d.first_week == "2026-W47"
    assert to_markdown(d).splitlines()[1].endswith("100% outside-in, 0% mixed, 0% inside-out (the coach's first "
                                                   "week, nothing to compare with).")
    ax = draw(d).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["W47\n5"]
    assert ax.get_title() == "Proposals led outside-in — 2026-W47, the coach's first week"
    assert alt_text(d) == "Weekly share of proposals led outside-in, 2026-W47, the coach's first week. 2026-W47: 100%"
    # A message that proposed nothing, checked two weeks before: the coach was there, and W46 had no proposal.
    add(store, "not-a-proposal", _week(45), user="U1")
    d = compute(store, "T1", 2026, 47, TZ)
    assert [t["week"] for t in d.trend] == ["2026-W45", "2026-W46", "2026-W47"] and d.first_week == "2026-W45"
    assert [t["n"] for t in d.trend] == [0, 0, 5] and "(no proposals last week)." in to_markdown(d)
    assert draw(d).axes[0].get_title() == ("Proposals led outside-in — 3 weeks to 2026-W47, since the "
                                                "coach's first week")
    # An established workspace (its first check 9 weeks back): all 8 weeks, the empty ones too.
    add(store, "inside-out", _week(38), user="U1")
    d = compute(store, "T1", 2026, 47, TZ)
    assert len(d.trend) == len(d.disagree_trend) == 8 and d.first_week == "" and d.trend[0]["week"] == "2026-W40"
    assert draw(d).axes[0].get_title() == "Proposals led outside-in — 8 weeks to 2026-W47"
    assert alt_text(d) == "Weekly share of proposals led outside-in, 8 weeks to 2026-W47. 2026-W47: 100%"
    import matplotlib.pyplot as plt

    plt.close("all")
