"""Two workspaces installed through OAuth in one app and one database: a request from one never reads or acts on
the other's checks, decisions, labels, heads, playbooks, settings or digest — tried through every route, with
really signed requests and the Slack stand-in answering per token. The same user id (U111) is in both, as in an
Enterprise Grid, so only the workspace can tell them apart."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from openai_server import FakeOpenAI
from slack_server import FakeSlack
from test_data import cli
from test_learning import dialect
from test_oauth import CLIENT_ID, CLIENT_SECRET, eventually, install, oauth_settings
from test_slack import PREMIUM, RunningApp

from bot.digest_post import run_digest_scheduler

A, B = "TAAA", "TBBB"
TOKENS = {A: "xoxb-aaa-token-1", B: "xoxb-bbb-token-1"}
DRAFT_A = "We'll launch Quokka Premium to upsell dormant accounts and lift ARR 15% this quarter."
SHIPPED_HEAD = (Path(__file__).resolve().parent.parent / "bot" / "models" / "head.json").read_text()


@pytest.fixture
def two(tmp_path, database):
    """The app with workspaces A and B installed through the OAuth flow (UADMIN and UBADMIN are admins)."""
    with FakeSlack(admins={"UADMIN", "UBADMIN"}) as slack:
        slack.client_id, slack.client_secret = CLIENT_ID, CLIENT_SECRET
        app = RunningApp(oauth_settings(slack, tmp_path, database=database))
        try:
            for team, token in TOKENS.items():
                install(app, slack, team, token)
            yield app, slack
        finally:
            app.stop()


def responses(slack: FakeSlack, name: str) -> list[dict]:
    return [msg for n, msg in slack.responses if n == name]


def check_in_a(app: RunningApp, slack: FakeSlack) -> int:
    """U111 of workspace A checks a draft with /motivecheck; the check's id, from its buttons."""
    assert app.command(DRAFT_A, team=A, channel="CAAA", response_url=slack.response_url("a1"))[0] == 200
    assert slack.wait_for(lambda: responses(slack, "a1"))
    actions = next(b for b in responses(slack, "a1")[0]["blocks"] if b["type"] == "actions")
    return int(actions["elements"][0]["value"])


def admin(app: RunningApp, slack: FakeSlack, text: str, team: str, user: str, name: str) -> str:
    assert app.command(text, team=team, user=user, response_url=slack.response_url(name))[0] == 200
    assert slack.wait_for(lambda: responses(slack, name), timeout=30)
    return responses(slack, name)[0]["text"]


def test_slash_command_stats_count_only_the_workspaces_own_checks(two):
    app, slack = two
    check_in_a(app, slack)
    code, body = app.command("stats", team=B, response_url=slack.response_url("sb"))
    assert code == 200 and "No proposals checked yet" in body
    code, body = app.command("stats", team=A, response_url=slack.response_url("sa"))
    assert code == 200 and "checked 1 proposal" in body
    assert [c["workspace"] for c in app.deps.store.recent_checks()] == [A]


@pytest.mark.parametrize("user", ["U111", "UBADMIN"])  # the same user id as the author; B's admin
def test_buttons_from_another_workspace_never_act_on_a_check(two, user):
    app, slack = two
    check_id = check_in_a(app, slack)
    posts = len(slack.calls("chat.postMessage"))
    for action in ("mc_accept", "mc_keep", "mc_disagree", "mc_why", "mc_share"):
        name = f"{user}-{action}"
        assert app.action(action, check_id, user=user, team=B, channel="CBBB",
                          response_url=slack.response_url(name))[0] == 200
        assert slack.wait_for(lambda n=name: responses(slack, n))
        assert responses(slack, name)[0]["text"] == "That check is no longer available."
    assert app.deps.store.decisions_for(check_id) == []
    assert not slack.calls("views.open") and len(slack.calls("chat.postMessage")) == posts
    # The same click in workspace A works (so the refusals above were the workspace's doing).
    assert app.action("mc_why", check_id, team=A, channel="CAAA", response_url=slack.response_url("why"))[0] == 200
    assert slack.wait_for(lambda: responses(slack, "why"))
    assert responses(slack, "why")[0]["text"] != "That check is no longer available."


def test_a_modal_submitted_in_another_workspace_changes_no_decision_or_label(two):
    app, slack = two
    check_id = check_in_a(app, slack)
    assert app.action("mc_disagree", check_id, team=A, channel="CAAA", response_url=slack.response_url("d"))[0] == 200
    assert slack.wait_for(lambda: slack.calls("views.open"))
    decision = slack.calls("views.open")[0]["view"]["private_metadata"]
    values = {"label": {"value": {"type": "static_select", "selected_option": {"value": "outside-in"}}},
              "reason": {"text": {"type": "plain_text_input", "value": "written in B"}}}
    assert app.submit_view("mc_reason_modal", values, decision, team=B)[0] == 200
    time.sleep(0.3)
    (row,) = app.deps.store.decisions_for(check_id)
    assert row["reason"] is None and row["label"] is None
    assert app.deps.store.labels_for(A) == [] and app.deps.store.labels_for(B) == []
    assert app.submit_view("mc_reason_modal", values, decision, team=A)[0] == 200  # in A it counts
    assert eventually(lambda: app.deps.store.decisions_for(check_id)[0]["label"] == "outside-in")
    assert [r["label"] for r in app.deps.store.labels_for(A)] == ["outside-in"]


def test_app_home_shows_a_workspace_only_its_own_checks_channels_settings_labels_and_head(two):
    app, slack = two
    check_in_a(app, slack)
    store = app.deps.store
    store.watch(A, "CAAAWATCH", added_by="UADMIN")
    store.set_setting(A, "digest_channel", "CAAADIGEST")
    store.set_setting(A, "last_delivery_error", "CAAA trouble")
    store.add_labels([{"workspace": A, **r} for r in dialect(n=12)])
    store.save_head(A, SHIPPED_HEAD, {}, active=True)
    for team, user, event_id in ((B, "UBADMIN", "EvB1"), (B, "U111", "EvB2"), (A, "UADMIN", "EvA1")):
        assert app.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"},
                         event_id=event_id, team=team)[0] == 200
    assert slack.wait_for(lambda: len(slack.calls("views.publish")) == 3)
    views = {(t, p["user_id"]): json.dumps(p["view"]) for t, p in slack.calls_with_token("views.publish")}
    b_admin, b_user, a_admin = views[(TOKENS[B], "UBADMIN")], views[(TOKENS[B], "U111")], views[(TOKENS[A], "UADMIN")]
    for leaked in ("CAAAWATCH", "CAAADIGEST", "CAAA trouble", "own (v1)", "12 label", "Quokka"):
        assert leaked not in b_admin and leaked not in b_user, leaked
    assert "none yet" in b_admin and "not set" in b_admin and "0 label(s)" in b_admin
    assert "CAAAWATCH" in a_admin and "own (v1)" in a_admin and "12 label(s)" in a_admin  # A sees its own


def test_the_digest_of_each_workspace_has_its_figures_only_and_goes_out_through_its_own_bot(two):
    app, slack = two
    store = app.deps.store
    last_week = time.time() - 7 * 86400
    for team, n in ((A, 3), (B, 5)):
        store.set_setting(team, "digest_channel", f"C{team}DIGEST")
        for i in range(n):
            store.record_check(None, f"{team} draft {i}", source="slash", workspace=team, channel=f"C{team}",
                               user=f"U{i}", ts=last_week)
            store.update_check(store.recent_checks(1, workspace=team)[0]["id"], label="inside-out", customer_ease=10,
                               motives='["revenue-profit"]')
    today = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[datetime.datetime.now(datetime.UTC).weekday()]
    settings = replace(app.deps.settings, digest_day=today, digest_time="00:00", timezone="UTC")
    stop = asyncio.Event()
    task = asyncio.run_coroutine_threadsafe(run_digest_scheduler(app.deps.clients, store, settings, stop,
                                                                 interval=30), app.loop)
    try:
        assert slack.wait_for(lambda: len(slack.calls("chat.postMessage")) >= 2, timeout=30)
    finally:
        app.loop.call_soon_threadsafe(stop.set)
        task.result(30)
    posts = {p["channel"]: (t, p["text"]) for t, p in slack.calls_with_token("chat.postMessage")}
    assert posts[f"C{A}DIGEST"][0] == TOKENS[A] and "3 proposals checked" in posts[f"C{A}DIGEST"][1]
    assert posts[f"C{B}DIGEST"][0] == TOKENS[B] and "5 proposals checked" in posts[f"C{B}DIGEST"][1]
    assert set(posts) == {f"C{A}DIGEST", f"C{B}DIGEST"}


def test_export_for_one_workspace_holds_only_its_checks(two, database):
    app, slack = two
    check_in_a(app, slack)
    app.deps.store.record_check(None, "B's draft", source="slash", workspace=B, user="U111")
    out = cli("export", "--format", "jsonl", "--workspace", B, db=database)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["workspace"] for r in rows] == [B]


def test_retrain_learns_only_from_the_workspaces_own_labels(two):
    app, slack = two
    store = app.deps.store
    store.add_labels([{"workspace": A, **r} for r in dialect()])  # 60 in A: plenty
    store.add_labels([{"workspace": B, **r} for r in dialect(seed=3, n=5)])
    text = admin(app, slack, "retrain", B, "UBADMIN", "rb")
    assert "at least 10 labelled drafts; this workspace has 5" in text
    assert store.heads() == []


def test_playbooks_and_channel_settings_are_per_workspace(two):
    app, slack = two
    store = app.deps.store
    store.watch(A, "CAAA", added_by="UADMIN")
    for i, command in enumerate(("playbook example-team <#CAAA>", "mode private <#CAAA>", "unwatch <#CAAA>")):
        admin(app, slack, command, B, "UBADMIN", f"b{i}")
    row = store.channel_settings(A, "CAAA")
    assert row is not None and row["reply_mode"] == "thread" and row["playbook"] is None
    message = {"type": "message", "channel": "CAAA", "user": "U222", "text": PREMIUM, "ts": "1700000100.000100",
               "channel_type": "channel"}
    assert app.event(message, event_id="EvMsg", team=A)[0] == 200
    assert slack.wait_for(lambda: slack.calls("chat.postMessage"))
    (token, reply), = slack.calls_with_token("chat.postMessage")
    assert token == TOKENS[A] and reply["thread_ts"] == "1700000100.000100"
    assert store.recent_checks(1, workspace=A)[0]["playbook"] == "outside-in"


def test_a_workspaces_head_judges_only_its_own_drafts(two):
    app, slack = two
    app.deps.store.save_head(A, SHIPPED_HEAD, {}, active=True)
    check_in_a(app, slack)
    assert app.command(PREMIUM, team=B, response_url=slack.response_url("b1"))[0] == 200
    assert slack.wait_for(lambda: responses(slack, "b1"))
    heads = {c["workspace"]: json.loads(c["verdict_json"])["head"] for c in app.deps.store.recent_checks()}
    assert heads == {A: f"{A} v1", B: "shipped"}


def test_the_verdict_cache_is_never_shared_between_workspaces(tmp_path):
    with FakeSlack() as slack, FakeOpenAI() as llm:
        slack.client_id, slack.client_secret = CLIENT_ID, CLIENT_SECRET
        app = RunningApp(oauth_settings(slack, tmp_path, OPENAI_API_KEY="sk-x", OPENAI_BASE_URL=llm.base_url))
        try:
            for team, token in TOKENS.items():
                install(app, slack, team, token)
            for i, team in enumerate((A, B, A)):
                assert app.command(PREMIUM, team=team, response_url=slack.response_url(f"r{i}"))[0] == 200
                assert slack.wait_for(lambda i=i: responses(slack, f"r{i}"), timeout=10)
            cached = [json.loads(c["verdict_json"])["cached"] for c in reversed(app.deps.store.recent_checks())]
            assert cached == [False, False, True]  # B asked the LLM itself; A's second check hit A's own entry
        finally:
            app.stop()


def test_forget_workspace_erases_all_of_it_and_nothing_of_the_other(two, database):
    app, slack = two
    store = app.deps.store
    check_id = check_in_a(app, slack)
    assert app.action("mc_disagree", check_id, team=A, channel="CAAA", response_url=slack.response_url("d"))[0] == 200
    assert slack.wait_for(lambda: slack.calls("views.open"))
    for team in (A, B):
        store.record_check(None, f"Quokka{team} plan", source="slash", workspace=team, user="U111")
        store.add_labels([{"workspace": team, "text": f"Quokka{team} label", "label": "mixed"}])
        store.save_head(team, SHIPPED_HEAD, {}, active=True)
        store.set_setting(team, "digest_channel", f"C{team}")
        store.watch(team, f"C{team}W")
        store.claim_digest(team, f"C{team}", "2026-W01", "me")
        store.cache_put(f"key-{team}", "{}", store.recent_checks(1, workspace=team)[0]["draft_hash"])
    assert store.claim_event(f"msg:{A}:CAAA:1.0") and store.claim_event(f"msg:{B}:CBBB:1.0")
    out = cli("forget", "--workspace", A, db=database)
    assert out.returncode == 0, out.stderr
    assert f"Forgot workspace {A}: deleted 2 check(s), 1 decision(s), 1 label(s), 1 head(s)" in out.stdout
    everything = {t: store.db.query(f"select * from {t}") for t in (
        "checks", "decisions", "labels", "heads", "workspace_settings", "watched_channels", "digests",
        "verdict_cache", "seen_events", "slack_bots", "slack_installations")}
    blob = json.dumps(everything)
    assert A not in blob and "QuokkaTAAA" not in blob and "Quokka Premium" not in blob
    assert {r["workspace"] for t in ("checks", "labels", "heads", "digests") for r in everything[t]} == {B}
    assert [r["key"] for r in everything["verdict_cache"]] == [f"key-{B}"]
    assert [r["team_id"] for r in everything["slack_bots"]] == [B]
    if store.path:  # the SQLite file and its WAL keep no copy either (PostgreSQL: see the README on VACUUM)
        data = b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))
        assert TOKENS[A].encode() not in data and b"Quokka Premium" not in data and TOKENS[B].encode() in data
    # The app no longer serves A: it is not installed any more.
    assert app.event({"type": "app_home_opened", "user": "U111", "channel": "D1", "tab": "home"},
                     event_id="EvGone", team=A)[0] == 200
    time.sleep(0.3)
    assert not slack.calls("views.publish")
