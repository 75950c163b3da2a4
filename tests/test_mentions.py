"""People mentioned in a draft are not mentioned again by the coach's public posts: they are named as plain text.

The public note quotes the draft's words (the reframe reuses them), and a mention quoted is a mention made: the
person got a second notification, from the coach. Slack has no mention that does not notify, so public posts name
people ("@Dana Smith", from users.info), and "@someone" when Slack won't say in time. The draft is stored, and sent to
the LLM, as written.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest
from openai_server import FakeOpenAI, answer, verdict_answer
from test_slack import RunningApp, channel_message, settings_for

from bot.redact import redact
from bot.slack import blocks, mrkdwn
from bot.slack.app import build_client
from bot.slack.names import Names, name_of

DANA, LEE = "U0DANA1", "W0LEE2"
MENTION = re.compile(r"<@[UW]")
# The trained engine's reframe keeps this sentence whole, the mention inside it.
DRAFT = "We'll launch Premium Plus so {who} can upsell accounts to lift ARR 15% this quarter."


def public_of(params: dict) -> str:
    return params["text"] + json.dumps(params["blocks"], ensure_ascii=False)


@pytest.fixture
def people(slack):
    slack.people[DANA] = {"display_name": "", "real_name": "Dana Smith"}
    slack.people[LEE] = {"display_name": "Lee", "real_name": "Lee Wong"}
    return slack


# -- mrkdwn.quiet: pure --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,names,shown", [
    ("so <@U0DANA1> can", {DANA: "Dana Smith"}, "so @Dana Smith can"),
    ("so <@W0LEE2> can", {LEE: "Lee"}, "so @Lee can"),  # Enterprise Grid ids
    ("so <@U0DANA1|dana> can", {}, "so @dana can"),  # the mention's own label when Slack gave no name
    ("so <@U0DANA1|dana> can", {DANA: "Dana Smith"}, "so @Dana Smith can"),
    ("so <@U0DANA1> can", {}, "so @someone can"),
    ("so <@U0DANA1> can", {DANA: "A&B <x> \u202eevil\n"}, "so @A&amp;B &lt;x&gt; evil can"),  # someone's own text
    # Slack has no escape for *bold*, _italic_, ~strike~ or `code`: a name's own marks become look-alikes that format
    # nothing (a name is text its owner chose, and "*CEO*" would shout in the coach's voice).
    ("so <@U0DANA1> can", {DANA: "*Dana* _the_ ~great~ `x`"}, "so @\u2217Dana\u2217 \u02cdthe\u02cd \u223cgreat\u223c \u02cbx\u02cb can"),
    ("so <@U0DANA1> can", {DANA: "\uff0aDana\uff3f\uff40"}, "so @\ufe61Dana\u2e0f\u02cb can"),  # full-width ones too
    ("so <@U0DANA1|*dana*> can", {}, "so @\u2217dana\u2217 can"),  # and the mention's own label
    ("*so* <@U0DANA1> _can_", {DANA: "Dana"}, "*so* @Dana _can_"),  # the draft's own marks are the draft's
    ("<@U0DANA1> and <!here> in <#C1|sales>, see <https://x.io|plan>", {DANA: "Dana"},
     "@Dana and @here in <#C1|sales>, see <https://x.io|plan>"),  # channels and links are no notice: kept
])
def test_quiet_names_people_and_notifies_nobody(text, names, shown):
    assert mrkdwn.quiet(text, names) == shown


def test_the_public_note_names_people_in_its_blocks_and_its_text():
    verdict = blocks_verdict("Premium Plus lets <@U0DANA1> and <@W0LEE2> [do what?]. As a result, ARR grows.")
    msg = blocks.build_thread_note(verdict, 7, names={DANA: "Dana Smith"})
    assert not MENTION.search(public_of(msg))
    assert "@Dana Smith and @someone" in msg["text"] and "@Dana Smith and @someone" in json.dumps(msg["blocks"])
    # Private answers to the author keep the mention as written: only the author sees them, so no one else is told.
    private = blocks.build_verdict_message("We'll grow ARR with <@U0DANA1>.", verdict, 7)
    assert "<@U0DANA1>" in private["text"]


def blocks_verdict(reframe: str):
    from bot.verdict import Verdict

    return Verdict.model_validate({"label": "inside-out", "customer_ease": 10, "motives": ["revenue-profit"],
                                   "evidence": [], "reframe": reframe, "questions": [], "measures": [],
                                   "engine": "rules", "playbook": {"name": "outside-in", "version": "1"}})


# -- Names: users.info, cached, bounded, never slow ---------------------------------------------------------------
def names_of(slack, names: Names, *texts: str, workspace: str = "T111") -> dict[str, str]:
    async def run() -> dict[str, str]:
        return await names.of(build_client(settings_for(slack, Path("/nonexistent"))), workspace, *texts)
    return asyncio.run(run())


def test_names_come_from_users_info_once_per_workspace(people):
    names = Names()
    assert names_of(people, names, "ask <@U0DANA1>", "and <@W0LEE2>, <@U0DANA1>") == {DANA: "Dana Smith", LEE: "Lee"}
    assert names_of(people, names, "<@U0DANA1> again") == {DANA: "Dana Smith"}
    assert names_of(people, names, "no one here", None) == {}
    assert sorted(p["user"] for p in people.calls("users.info")) == [DANA, LEE]  # cached
    names_of(people, names, "<@U0DANA1>", workspace="T222")  # another workspace asks its own Slack
    assert len(people.calls("users.info")) == 3


def test_the_name_cache_is_bounded_and_forgets_old_names(people):
    clock = [0.0]
    names = Names(size=2, keep=100, clock=lambda: clock[0])
    people.people.update({f"U{i}": {"real_name": f"Person {i}"} for i in range(3)})
    names_of(people, names, "<@U0> <@U1> <@U2>")
    assert len(names._cache) == 2  # the least recently used went
    clock[0] = 101  # and a name is asked again once it is old
    names_of(people, names, "<@U2>")
    assert [p["user"] for p in people.calls("users.info")].count("U2") == 2


def test_a_failed_lookup_leaves_the_name_out_and_is_not_asked_again_at_once(people):
    people.fail("users.info", 200, {"ok": False, "error": "user_not_found"})
    names = Names()
    assert names_of(people, names, "<@U0DANA1>") == {}
    assert names_of(people, names, "<@U0DANA1>") == {}
    assert names_of(people, names, "<@W0LEE2>") == {LEE: "Lee"}  # others still are
    assert [p["user"] for p in people.calls("users.info")] == [DANA, LEE]


@pytest.mark.parametrize("slowness", ["slow", "rate-limited", "rate-limited-briefly"])
def test_a_slow_or_rate_limited_slack_holds_a_reply_up_at_most_briefly(people, slowness):
    """The app's client waits out a 429 (Retry-After) before it gives up: that wait is cut short like a slow answer,
    and the workspace gets no lookups for a while, so the next replies do not wait too."""
    if slowness == "slow":
        people.slow("users.info", 3.0)
    else:
        after = "1" if slowness == "rate-limited" else "0"
        people.fail("users.info", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": after}, times=3)
    names = Names(wait=0.5)
    started = time.monotonic()
    assert names_of(people, names, "<@U0DANA1>") == {}
    assert time.monotonic() - started < 2.0
    asked = len(people.calls("users.info"))
    assert names_of(people, names, "<@W0LEE2>") == {}
    assert len(people.calls("users.info")) == asked
    names_of(people, names, "<@W0LEE2>", workspace="T222")  # another workspace has its own limits
    assert len(people.calls("users.info")) > asked


def test_name_of_prefers_the_name_slack_shows():
    assert name_of({"profile": {"display_name": "dana", "real_name": "Dana Smith"}}) == "dana"
    assert name_of({"profile": {"display_name": " ", "real_name": "Dana Smith"}}) == "Dana Smith"
    assert name_of({"name": "dsmith"}) == "dsmith" and name_of({}) == ""


# -- through Slack: signed requests in, Web API calls out ----------------------------------------------------------
@pytest.mark.parametrize("sent", [f"<@{DANA}>", f"&lt;@{DANA}&gt;", f"<@{DANA}|dana>"],
                         ids=["mention", "typed-as-text", "labelled"])
def test_the_public_note_names_the_person_without_mentioning_them(people, tmp_path, sent):
    app = RunningApp(settings_for(people, tmp_path))
    try:
        app.event(channel_message(DRAFT.format(who=sent)))
        assert people.wait_for(lambda: people.calls("chat.postMessage"))
        (note,) = people.calls("chat.postMessage")
        public = public_of(note)
        assert "Premium Plus so @Dana Smith can upsell" in public and not MENTION.search(public), public
        # The draft is stored as written (Slack's escapes undone): only what the coach posts changed.
        (row,) = app.deps.store.recent_checks(1)
        assert row["draft_text"] == mrkdwn.unescape(DRAFT.format(who=sent))
    finally:
        app.stop()


def test_without_a_name_the_note_says_someone_and_is_not_held_up(people, tmp_path):
    people.fail("users.info", 200, {"ok": False, "error": "user_not_found"})
    people.slow("users.info", 10.0)
    app = RunningApp(settings_for(people, tmp_path))
    try:
        app.event(channel_message(DRAFT.format(who=f"<@{DANA}>")))
        assert people.wait_for(lambda: people.calls("chat.postMessage"), timeout=8)
        public = public_of(people.calls("chat.postMessage")[0])
        assert "so @someone can upsell" in public and not MENTION.search(public)
    finally:
        app.stop()


def test_the_llm_reads_the_draft_as_before_and_the_note_names_who_it_mentions(people, tmp_path):
    """The LLM sees [USER_1] for the mention (redaction, unchanged) and its reframe gets the mention back; the
    public note then names the person. The request is the one built from the draft as written."""
    draft = DRAFT.format(who=f"<@{DANA}>")
    reframe = "[USER_1] can help existing accounts [do what?]. As a result, we expect to lift ARR 15% this quarter."
    with FakeOpenAI(default=answer(verdict_answer(reframe=reframe))) as llm:
        app = RunningApp(settings_for(people, tmp_path, OPENAI_API_KEY="sk-x", OPENAI_BASE_URL=llm.base_url,
                                      MOTIVECHECK_CHANNEL_TRIAGE="off"))
        try:
            app.event(channel_message(draft))
            assert people.wait_for(lambda: people.calls("chat.postMessage"), timeout=8)
            public = public_of(people.calls("chat.postMessage")[0])
            assert "@Dana Smith can help existing accounts" in public and not MENTION.search(public)
            (request,) = llm.requests
            sent = json.dumps(request["messages"], ensure_ascii=False)
            assert json.dumps(redact(draft)[0], ensure_ascii=False)[1:-1] in sent and "Dana" not in sent
            (row,) = app.deps.store.recent_checks(1)
            assert json.loads(row["verdict_json"])["reframe"].startswith(f"<@{DANA}> can help")  # stored as answered
        finally:
            app.stop()


def test_an_edit_updates_the_note_without_mentioning_anyone(people, tmp_path):
    app = RunningApp(settings_for(people, tmp_path))
    try:
        ts = "1700000300.000100"
        app.event(channel_message(DRAFT.format(who="the team"), ts=ts), "EvE1")
        assert people.wait_for(lambda: people.calls("chat.postMessage"))
        edited = DRAFT.format(who=f"<@{LEE}>")
        app.event({"type": "message", "subtype": "message_changed", "channel": "C111", "channel_type": "channel",
                   "message": {"type": "message", "user": "U222", "ts": ts, "text": edited,
                               "edited": {"user": "U222", "ts": "1700000400.000100"}},
                   "previous_message": {"type": "message", "user": "U222", "ts": ts,
                                        "text": DRAFT.format(who="the team")}}, "EvE2")
        assert people.wait_for(lambda: people.calls("chat.update"))
        public = public_of(people.calls("chat.update")[0])
        assert "so @Lee can upsell" in public and not MENTION.search(public)
    finally:
        app.stop()


def test_sharing_a_private_answer_in_the_thread_names_people(people, tmp_path):
    app = RunningApp(settings_for(people, tmp_path))
    try:
        app.deps.store.watch("T111", "C222", reply_mode="private")
        app.event(channel_message(DRAFT.format(who=f"<@{DANA}>"), channel="C222"), "EvS1")
        assert people.wait_for(lambda: people.calls("chat.postEphemeral"))
        private = people.calls("chat.postEphemeral")[0]
        assert f"<@{DANA}>" in public_of(private)  # the author's own view keeps the mention as they wrote it
        share = [e for b in private["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == "mc_share"]
        app.action("mc_share", int(share[0]["value"]), user="U222", channel="C222",
                   response_url=people.response_url("s"))
        assert people.wait_for(lambda: people.calls("chat.postMessage"))
        public = public_of(people.calls("chat.postMessage")[0])
        assert "so @Dana Smith can upsell" in public and not MENTION.search(public)
    finally:
        app.stop()


def test_the_digest_s_examples_name_people_and_call_no_one(people, tmp_path):
    """The weekly digest quotes a used reframe and its draft in the digest channel: the people (and the @here) they
    mention were notified from there too."""
    from datetime import datetime

    from test_digest import add

    from bot.config import load_settings
    from bot.digest_post import post_digest
    from bot.store import Store

    store = Store(str(tmp_path / "digest.db"))
    ts = datetime(2026, 11, 18, 12).timestamp()
    for user in ("U1", "U2", "U3"):  # three people posted in CPROP: it may be named and quoted
        add(store, "mixed", ts, channel="CPROP", user=user)
    check = add(store, "inside-out", ts, channel="CPROP", user="U1", text=f"<!here> <@{DANA}> will upsell for ARR",
                reframe=f"Accounts get reports sooner; <@{DANA}> and <@{LEE}> ship them. As a result, ARR grows.")
    store.record_decision(check, "accepted", user="U1")
    settings = load_settings(env={"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": people.api_url,
                                  "MOTIVECHECK_TIMEZONE": "UTC", "MOTIVECHECK_DIGEST_CHANNEL": "CLEAD"},
                             db_path=str(tmp_path / "digest.db"))
    assert asyncio.run(post_digest(build_client(settings), store, settings, "T1", 2026, 47)) == "posted"
    public = public_of(people.calls("chat.postMessage")[0])
    assert "*Before:* @here @Dana Smith will upsell" in public and "@Dana Smith and @Lee ship them" in public
    assert not MENTION.search(public) and "<!here>" not in public, public


def test_the_workflow_steps_reframe_names_people_without_mentioning_them(people, tmp_path):
    """The step's outputs go wherever the workflow's next steps put them, a channel message among them: a reframe
    that kept "<@U0DANA1>" notified Dana again when a "Send a message" step posted it. The draft is stored as
    written."""
    from test_slack_paths import function_executed

    app = RunningApp(settings_for(people, tmp_path))
    draft = DRAFT.format(who=f"<@{DANA}> and <!here>")
    try:
        assert app.event(function_executed(draft), "EvW1")[0] == 200
        assert people.wait_for(lambda: people.calls("functions.completeSuccess"))
        (done,) = people.calls("functions.completeSuccess")
        outputs = json.loads(done["outputs"]) if isinstance(done["outputs"], str) else done["outputs"]
        assert "Premium Plus so @Dana Smith and @here can upsell" in outputs["reframe"], outputs
        assert not MENTION.search(outputs["reframe"]) and "<!" not in outputs["reframe"]
        (row,) = app.deps.store.recent_checks(1)
        assert row["draft_text"] == draft and f"<@{DANA}>" in json.loads(row["verdict_json"])["reframe"]
    finally:
        app.stop()
