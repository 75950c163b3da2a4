"""Slack paths beyond the basics: the Workflow Builder step, private reply mode with "Share in thread", and
per-channel playbooks. Real signed HTTP requests to the app; assertions on the Web API calls FakeSlack recorded
and on the SQLite store."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import urlencode

import pytest
from test_slack import PREMIUM, RunningApp, settings_for

from bot.config import PLAYBOOKS_DIR

BOSS = "UBOSS"  # an admin through MOTIVECHECK_ADMINS only (FakeSlack's users.info says "not an admin")
TEAM = "T111"


@pytest.fixture
def running(slack, tmp_path, database):
    app = RunningApp(settings_for(slack, tmp_path, database=database, MOTIVECHECK_ADMINS=BOSS))
    yield app
    app.stop()


def blocks_of(params: dict) -> list[dict]:
    blocks = params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def buttons_of(params: dict) -> list[dict]:
    return [e for b in blocks_of(params) if b["type"] == "actions" for e in b["elements"]]


def admin(running: RunningApp, slack, text: str, name: str, user: str = BOSS) -> str:
    """Run an admin command and return the private answer it posts to its response_url."""
    code, _ = running.command(text, user=user, response_url=slack.response_url(name))
    assert code == 200
    assert slack.wait_for(lambda: any(n == name for n, _ in slack.responses)), f"no answer to {text!r}"
    return next(m for n, m in slack.responses if n == name)["text"]


def message_in(channel: str, text: str, ts: str, user: str = "U222") -> dict:
    return {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts, "channel_type": "channel"}


# -- Workflow Builder custom step ------------------------------------------------------------------
def function_executed(draft: object, execution_id: str = "Fx123", callback_id: str = "check_draft") -> dict:
    """A function_executed event as Slack sends it (shape as in bolt-python's scenario tests)."""
    inputs = {} if draft is None else {"draft": draft}
    return {
        "type": "function_executed",
        "function": {
            "id": "Fn123", "callback_id": callback_id, "title": "Check a draft",
            "description": "Say whether a draft leads with customer ease", "type": "app", "app_id": "A111",
            "input_parameters": [{"type": "string", "name": "draft", "title": "Draft", "is_required": True}],
            "output_parameters": [{"type": "string", "name": "label", "title": "Verdict", "is_required": True},
                                  {"type": "integer", "name": "score", "title": "Customer ease score",
                                   "is_required": True},
                                  {"type": "string", "name": "reframe", "title": "Reframed opening",
                                   "is_required": False}],
            "date_updated": 1700000000,
        },
        "inputs": inputs,
        "function_execution_id": execution_id,
        "workflow_execution_id": "Wx1",
        "event_ts": "1700000300.000100",
        "bot_access_token": "xwfp-workflow-token",
    }


def test_workflow_step_completes_with_label_score_and_reframe(running, slack):
    code, _ = running.event(function_executed(PREMIUM), "EvF1")
    assert code == 200
    assert slack.wait_for(lambda: slack.calls("functions.completeSuccess"))
    (done,) = slack.calls("functions.completeSuccess")
    assert done["function_execution_id"] == "Fx123"
    outputs = json.loads(done["outputs"]) if isinstance(done["outputs"], str) else done["outputs"]
    assert set(outputs) == {"label", "score", "reframe"}  # exactly the manifest's output_parameters
    assert outputs["label"] == "inside-out"
    assert isinstance(outputs["score"], int) and 0 <= outputs["score"] < 50
    assert isinstance(outputs["reframe"], str) and len(outputs["reframe"]) > 20
    assert slack.calls("functions.completeError") == []
    (row,) = running.deps.store.recent_checks(5)
    assert row["source"] == "workflow" and row["label"] == "inside-out" and row["status"] == "done"
    assert row["customer_ease"] == outputs["score"]


@pytest.mark.parametrize("draft", ["   ", "", None], ids=["blank", "empty", "missing"])
def test_workflow_step_with_no_draft_fails_the_step_instead_of_crashing(running, slack, draft):
    code, _ = running.event(function_executed(draft, execution_id="FxEmpty"), "EvF2")
    assert code == 200
    assert slack.wait_for(lambda: slack.calls("functions.completeError"))
    (failed,) = slack.calls("functions.completeError")
    assert failed["function_execution_id"] == "FxEmpty" and "empty" in failed["error"]
    assert slack.calls("functions.completeSuccess") == []
    assert running.deps.store.count("checks") == 0


def run_step(running, event: dict, event_id: str, **body) -> int:
    """Deliver a function_executed event; ``body`` replaces the envelope's team fields (e.g. authorizations)."""
    envelope = {"token": "x", "team_id": TEAM, "api_app_id": "A111", "type": "event_callback", "event_id": event_id,
                "event_time": int(time.time()), "event": event, **body}
    return running.post(json.dumps({k: v for k, v in envelope.items() if v is not None}), "application/json")[0]


@pytest.mark.parametrize("envelope,workspace", [
    ({}, TEAM),
    ({"team_id": None, "authorizations": [{"team_id": "T999", "enterprise_id": None, "is_bot": True}]}, "T999"),
    ({"team_id": None, "enterprise_id": "E111",
      "authorizations": [{"team_id": None, "enterprise_id": "E111", "is_enterprise_install": True}]}, "E111"),
], ids=["team_id", "authorizations", "enterprise"])
def test_workflow_check_is_stored_with_workspace_user_and_channel(running, slack, envelope, workspace):
    event = function_executed(PREMIUM, execution_id="FxCtx")
    event["inputs"].update(user_context={"id": "U222", "secret": "c2VjcmV0"}, channel="C222")
    assert run_step(running, event, "EvF4", **envelope) == 200
    assert slack.wait_for(lambda: slack.calls("functions.completeSuccess"))
    (row,) = running.deps.store.recent_checks(5)
    assert (row["source"], row["workspace"], row["user"], row["channel"]) == ("workflow", workspace, "U222", "C222")


def test_workflow_step_never_takes_the_author_from_a_free_input(running, slack):
    """A builder could type anyone's id into a free input; only Slack's user_context names the author."""
    event = function_executed(PREMIUM, execution_id="FxForged")
    event["inputs"].update(user="UVICTIM", user_id="UVICTIM", channel="C222")
    assert run_step(running, event, "EvF7") == 200
    assert slack.wait_for(lambda: slack.calls("functions.completeSuccess"))
    time.sleep(0.2)  # let the step's own call return before the app stops
    (row,) = running.deps.store.recent_checks(5)
    assert row["user"] == "" and running.deps.store.recent_checks(5, user="UVICTIM") == []


def test_workflow_step_uses_the_channels_playbook_and_honours_no_coach(running, slack):
    admin(running, slack, "playbook example-team <#C333|payments>", "p")
    event = function_executed(PAYMENTS_DRAFT, execution_id="FxPb")
    event["inputs"]["channel"] = "C333"
    assert run_step(running, event, "EvF8") == 200
    assert slack.wait_for(lambda: slack.calls("functions.completeSuccess"))
    (row,) = running.deps.store.recent_checks(5)
    assert row["playbook"] == "example-team"
    marked = function_executed("[no-coach] " + PREMIUM, execution_id="FxNo")
    assert run_step(running, marked, "EvF9") == 200
    assert slack.wait_for(lambda: slack.calls("functions.completeError"))
    time.sleep(0.2)  # let the step's own call return before the app stops
    (failed,) = slack.calls("functions.completeError")
    assert failed["function_execution_id"] == "FxNo" and "no-coach" in failed["error"]
    assert running.deps.store.count("checks") == 1


def test_workflow_step_respects_the_authors_opt_out(running, slack):
    assert "opted out" in running.command("optout", user="U222", response_url=slack.response_url("o"))[1]
    event = function_executed(PREMIUM, execution_id="FxOpt")
    event["inputs"]["user_context"] = {"id": "U222", "secret": "c2VjcmV0"}
    assert run_step(running, event, "EvF5") == 200
    assert slack.wait_for(lambda: slack.calls("functions.completeError"))
    (failed,) = slack.calls("functions.completeError")
    assert failed["function_execution_id"] == "FxOpt" and "opted out" in failed["error"]
    assert slack.calls("functions.completeSuccess") == [] and running.deps.store.count("checks") == 0


def test_workflow_step_fails_on_an_unexpected_error_instead_of_hanging(running, slack, monkeypatch, caplog):
    async def broken(draft, **kw):  # noqa: ANN001, ANN003
        raise RuntimeError(f"engine exploded on {draft!r}")

    monkeypatch.setattr(running.deps.checker, "aassess", broken)
    assert running.event(function_executed(PREMIUM, execution_id="FxBoom"), "EvF6")[0] == 200
    assert slack.wait_for(lambda: slack.calls("functions.completeError"))
    (failed,) = slack.calls("functions.completeError")
    assert failed["function_execution_id"] == "FxBoom" and "couldn't check" in failed["error"]
    assert PREMIUM not in failed["error"] and "exploded" not in failed["error"]
    assert slack.calls("functions.completeSuccess") == []
    assert "RuntimeError" in caplog.text and "Premium Plus" not in caplog.text  # logged, without the draft


def test_other_functions_are_not_ours(running, slack):
    code, _ = running.event(function_executed(PREMIUM, callback_id="someone_elses_step"), "EvF3")
    assert code == 404  # Bolt: no listener matched
    time.sleep(0.3)
    assert slack.calls("functions.completeSuccess") == [] and slack.calls("functions.completeError") == []


# -- private reply mode ----------------------------------------------------------------------------
def test_private_mode_answers_the_author_only_until_they_share(running, slack):
    assert "Watching <#C222>" in admin(running, slack, "watch <#C222|proposals>", "w")
    assert "private to the author" in admin(running, slack, "mode private <#C222|proposals>", "m")
    assert running.deps.store.channel_settings(TEAM, "C222")["reply_mode"] == "private"

    draft_ts = "1700000200.000100"
    assert running.event(message_in("C222", PREMIUM, draft_ts), "EvP1")[0] == 200
    assert slack.wait_for(lambda: slack.calls("chat.postEphemeral"))
    time.sleep(0.3)
    assert slack.calls("chat.postMessage") == []  # nothing in the channel for everyone to see
    (eph,) = slack.calls("chat.postEphemeral")
    # No thread_ts: Slack shows ephemeral thread messages only in a thread that already exists.
    assert eph["channel"] == "C222" and eph["user"] == "U222" and "thread_ts" not in eph
    assert "inside-out" in eph["text"]
    share = [b for b in buttons_of(eph) if b["action_id"] == "mc_share"]
    assert len(share) == 1 and share[0]["text"]["text"] == "Share in thread"
    check_id = int(share[0]["value"])
    row = running.deps.store.get_check(check_id)
    assert row["channel"] == "C222" and row["message_ts"] == draft_ts and row["reply_mode"] == "private"
    assert row["status"] == "done" and row["label"] == "inside-out"

    assert running.action("mc_share", check_id, response_url=slack.response_url("s"), user="U222")[0] == 200
    assert slack.wait_for(lambda: slack.calls("chat.postMessage"))
    (shared,) = slack.calls("chat.postMessage")
    assert shared["channel"] == "C222" and shared["thread_ts"] == draft_ts
    assert "inside-out" not in shared["text"] and "/100" not in json.dumps(blocks_of(shared))  # coaching, no grade
    assert "mc_share" not in [b["action_id"] for b in buttons_of(shared)]  # the public copy has no Share button
    assert slack.wait_for(lambda: running.deps.store.decisions_for(check_id))
    (decision,) = running.deps.store.decisions_for(check_id)
    assert decision["action"] == "shared" and decision["user"] == "U222" and decision["channel"] == "C222"


def private_draft(running, slack, draft_ts: str = "1700000200.000100", event_id: str = "EvP1") -> int:
    """Watch C222 in private mode, post PREMIUM there and return the check id from the author's ephemeral."""
    admin(running, slack, "watch <#C222|proposals>", "w")
    admin(running, slack, "mode private <#C222|proposals>", "m")
    assert running.event(message_in("C222", PREMIUM, draft_ts), event_id)[0] == 200
    assert slack.wait_for(lambda: slack.calls("chat.postEphemeral"))
    share = [b for b in buttons_of(slack.calls("chat.postEphemeral")[0]) if b["action_id"] == "mc_share"]
    return int(share[0]["value"])


def test_share_is_idempotent_even_on_a_double_click(running, slack):
    draft_ts = "1700000210.000100"
    check_id = private_draft(running, slack, draft_ts)
    clicks = [threading.Thread(target=running.action, args=("mc_share", check_id),
                               kwargs={"response_url": slack.response_url(f"s{i}"), "user": "U222"}) for i in (1, 2)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join(10)
    assert slack.wait_for(lambda: any("Already shared" in m.get("text", "") for _, m in slack.responses))
    running.action("mc_share", check_id, response_url=slack.response_url("s3"), user="U222")  # a later third click
    assert slack.wait_for(lambda: any(n == "s3" for n, _ in slack.responses))
    time.sleep(0.2)
    (shared,) = slack.calls("chat.postMessage")  # one public reply, not two
    assert shared["channel"] == "C222" and shared["thread_ts"] == draft_ts
    notes = [m for _, m in slack.responses if "Already shared" in m.get("text", "")]
    assert len(notes) == 2 and all(m["response_type"] == "ephemeral" for m in notes)
    assert [d["action"] for d in running.deps.store.decisions_for(check_id)] == ["shared"]
    row = running.deps.store.get_check(check_id)
    assert row["reply_channel"] == "C222" and row["reply_ts"] == slack.messages["C222"][0]["ts"]  # the shared reply


OUTSIDE_IN = ("Customers tell us exports are painful. Let's add scheduled exports so they don't have to do it by "
              "hand; if it works we expect ARR to grow as a result.")


def edit_of(channel: str, draft_ts: str, text: str, edited_ts: str, user: str = "U222") -> dict:
    return {"type": "message", "subtype": "message_changed", "channel": channel, "hidden": True, "ts": edited_ts,
            "message": {"type": "message", "user": user, "ts": draft_ts, "edited": {"user": user, "ts": edited_ts},
                        "text": text},
            "previous_message": {"type": "message", "user": user, "ts": draft_ts, "text": PREMIUM}}


def test_private_mode_edit_before_sharing_sends_the_author_a_fresh_verdict(running, slack):
    draft_ts = "1700000220.000100"
    check_id = private_draft(running, slack, draft_ts)
    before = running.deps.store.get_check(check_id)["customer_ease"]
    assert running.event(edit_of("C222", draft_ts, OUTSIDE_IN, "1700000221.000100"), "EvE1")[0] == 200
    assert slack.wait_for(lambda: len(slack.calls("chat.postEphemeral")) == 2)
    time.sleep(0.2)
    fresh = slack.calls("chat.postEphemeral")[1]
    assert fresh["channel"] == "C222" and fresh["user"] == "U222" and "thread_ts" not in fresh
    row = running.deps.store.get_check(check_id)
    assert row["customer_ease"] > before and row["draft_text"] == OUTSIDE_IN
    assert f"score {before} → {row['customer_ease']}" in json.dumps(blocks_of(fresh), ensure_ascii=False)
    assert slack.calls("chat.postMessage") == [] and slack.calls("chat.update") == []  # still private


def test_private_mode_edit_after_sharing_updates_the_shared_reply(running, slack):
    draft_ts = "1700000230.000100"
    check_id = private_draft(running, slack, draft_ts)
    before = running.deps.store.get_check(check_id)["customer_ease"]
    running.action("mc_share", check_id, response_url=slack.response_url("s"), user="U222")
    assert slack.wait_for(lambda: running.deps.store.get_check(check_id)["reply_ts"])
    shared_ts = running.deps.store.get_check(check_id)["reply_ts"]
    assert running.event(edit_of("C222", draft_ts, OUTSIDE_IN, "1700000231.000100"), "EvE2")[0] == 200
    assert slack.wait_for(lambda: slack.calls("chat.update"))
    time.sleep(0.2)
    (update,) = slack.calls("chat.update")
    assert update["channel"] == "C222" and update["ts"] == shared_ts
    after = running.deps.store.get_check(check_id)["customer_ease"]
    public = json.dumps(blocks_of(update), ensure_ascii=False)
    assert after > before and "Updated for your edit" in public and "/100" not in public  # no score in public
    assert "mc_share" not in [b["action_id"] for b in buttons_of(update)]  # the public copy has no Share button
    assert len(slack.calls("chat.postEphemeral")) == 1 and len(slack.calls("chat.postMessage")) == 1


def test_thread_mode_channel_never_posts_ephemerals(running, slack):
    admin(running, slack, "watch <#C222|proposals>", "w")
    admin(running, slack, "mode private <#C222|proposals>", "m1")
    assert "in thread" in admin(running, slack, "mode thread <#C222|proposals>", "m2")
    running.event(message_in("C222", PREMIUM, "1700000201.000100"), "EvP2")
    assert slack.wait_for(lambda: slack.calls("chat.postMessage"))
    time.sleep(0.2)
    assert slack.calls("chat.postEphemeral") == []
    assert "mc_share" not in [b["action_id"] for b in buttons_of(slack.calls("chat.postMessage")[0])]


# -- per-channel playbooks -------------------------------------------------------------------------
# example-team adds "fewer declined payments" (weight 3) to outside-in's customer-ease cues.
PAYMENTS_DRAFT = "We should add smart retries and see fewer declined payments from next month."


def test_channel_playbook_changes_the_verdict_there_only(running, slack):
    assert "now uses the `example-team` playbook" in admin(running, slack, "playbook example-team <#C333|payments>",
                                                           "p")
    settings = running.deps.store.channel_settings(TEAM, "C333")
    assert settings["playbook"] == "example-team" and settings["reply_mode"] == "thread"

    running.event(message_in("C333", PAYMENTS_DRAFT, "1700000400.000100"), "EvT1")  # example-team
    running.event(message_in("C111", PAYMENTS_DRAFT, "1700000401.000100"), "EvT2")  # default playbook
    assert slack.wait_for(lambda: len(slack.calls("chat.postMessage")) == 2)
    team = running.deps.store.find_check_by_message(TEAM, "C333", "1700000400.000100")
    default = running.deps.store.find_check_by_message(TEAM, "C111", "1700000401.000100")
    assert team["playbook"] == "example-team" and json.loads(team["verdict_json"])["playbook"]["name"] == "example-team"
    assert default["playbook"] == "outside-in"
    assert team["customer_ease"] > default["customer_ease"]  # the team's own words for customer ease count
    replies = {p["channel"]: json.dumps(blocks_of(p)) for p in slack.calls("chat.postMessage")}
    assert "playbook example-team" in replies["C333"] and "playbook outside-in" in replies["C111"]


def test_slash_command_in_a_playbook_channel_uses_that_playbook(running, slack):
    admin(running, slack, "playbook example-team <#C333|payments>", "p")
    form = {"token": "x", "team_id": TEAM, "team_domain": "example", "channel_id": "C333", "channel_name": "payments",
            "user_id": "U111", "user_name": "ana", "command": "/motivecheck", "text": PAYMENTS_DRAFT,
            "api_app_id": "A111", "response_url": slack.response_url("c"), "trigger_id": "1.2.3"}
    assert running.post(urlencode(form), "application/x-www-form-urlencoded")[0] == 200
    assert slack.wait_for(lambda: any(n == "c" for n, _ in slack.responses))
    answer = next(m for n, m in slack.responses if n == "c")
    assert "playbook example-team" in json.dumps(answer["blocks"])


def test_unknown_playbook_is_refused_politely_and_changes_nothing(running, slack):
    admin(running, slack, "playbook example-team <#C333|payments>", "p1")
    answer = admin(running, slack, "playbook no-such-playbook <#C333|payments>", "p2")
    assert answer.startswith("Can't use that playbook") and "no-such-playbook" in answer
    assert "Traceback" not in answer
    assert running.deps.store.channel_settings(TEAM, "C333")["playbook"] == "example-team"
    admin(running, slack, "playbook no-such-playbook <#C444|other>", "p3")
    assert running.deps.store.channel_settings(TEAM, "C444") is None  # not watched as a side effect
    assert [w["channel"] for w in running.deps.store.watched_channels(TEAM)] == ["C333"]


def test_playbook_takes_names_only_never_file_paths(running, slack, tmp_path):
    evil = tmp_path / "evil.yaml"  # a valid playbook, but outside the playbook directory
    evil.write_text((PLAYBOOKS_DIR / "example-team.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    attempts = [str(evil), str(PLAYBOOKS_DIR / "example-team.yaml"), "playbooks/example-team.yaml",
                "example-team.yaml", "../playbooks/example-team", "..\\playbooks\\example-team", "..", "."]
    for i, attempt in enumerate(attempts):
        answer = admin(running, slack, f"playbook {attempt} <#C333|payments>", f"x{i}")
        assert answer.startswith("Can't use that playbook"), attempt
        assert "`outside-in`" in answer and "Traceback" not in answer  # names the playbooks to choose from
    assert running.deps.store.watched_channels(TEAM) == []  # nothing changed, nothing watched
    assert "now uses the `outside-in` playbook" in admin(running, slack, "playbook outside-in <#C333|payments>", "ok")


def test_non_admins_cannot_change_mode_or_playbook(running, slack):
    assert "only workspace admins" in admin(running, slack, "mode private <#C111|proposals>", "n1", user="U111")
    assert "only workspace admins" in admin(running, slack, "playbook example-team <#C111|proposals>", "n2",
                                            user="U111")
    assert running.deps.store.watched_channels(TEAM) == []


def test_a_burst_right_after_start_makes_one_auth_test(running, slack):
    """Bolt's own single-workspace authorization calls auth.test per request until one answer is back."""
    from concurrent.futures import ThreadPoolExecutor

    assert not slack.calls("auth.test")
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(lambda i: running.command(f"we will upsell {i}", user=f"U{i:03d}",
                                                        response_url=slack.response_url(f"a{i}"))[0], range(20)))
    assert codes == [200] * 20
    assert slack.wait_for(lambda: len(slack.responses) >= 20, timeout=15)
    assert len(slack.calls("auth.test")) == 1


# -- MOTIVECHECK_STORE_TEXT=off: the buttons work from the stripped verdict and say what is not kept -----------
def test_without_stored_texts_no_words_are_kept_and_the_buttons_say_so(slack, tmp_path, database):
    from bot.slack import blocks

    running = RunningApp(settings_for(slack, tmp_path, database=database, MOTIVECHECK_ADMINS=BOSS,
                                      MOTIVECHECK_STORE_TEXT="off"))
    try:
        assert running.command(PREMIUM, response_url=slack.response_url("r1"))[0] == 200
        assert slack.wait_for(lambda: slack.responses)
        (_, msg), = slack.responses
        assert "Try opening with" in msg["text"] and "existing accounts" in msg["text"]  # the answer has it all
        check_id = int(buttons_of(msg)[0]["value"])
        row = running.deps.store.get_check(check_id)
        assert row["draft_text"] is None and row["label"] == "inside-out"
        assert "existing accounts" not in repr(row) and "Premium Plus" not in repr(row)

        assert running.action("mc_accept", check_id, response_url=slack.response_url("use"))[0] == 200
        assert running.action("mc_why", check_id, response_url=slack.response_url("why"))[0] == 200
        assert slack.wait_for(lambda: {"use", "why"} <= {n for n, _ in slack.responses})
        answers = {n: m["text"] for n, m in slack.responses}
        assert answers["use"] == blocks.USE_WITHOUT_WORDS
        assert "inside-out" in answers["why"].lower() and blocks.WHY_WITHOUT_WORDS in answers["why"]
        assert "accepted" in [d["action"] for d in running.deps.store.decisions_for(check_id)]  # still recorded

        # Private mode: no Share button, since sharing later needs the words; a Share click from an older message
        # is told why, and nothing is posted in the channel.
        admin(running, slack, "watch <#C222|proposals>", "w")
        admin(running, slack, "mode private <#C222|proposals>", "m")
        assert running.event(message_in("C222", PREMIUM, "1700000200.000100"), "EvP1")[0] == 200
        assert slack.wait_for(lambda: slack.calls("chat.postEphemeral"))
        (eph,) = slack.calls("chat.postEphemeral")
        assert "existing accounts" in eph["text"]
        assert [b["action_id"] for b in buttons_of(eph)] == ["mc_accept", "mc_keep", "mc_disagree", "mc_why"]
        private = int(buttons_of(eph)[0]["value"])
        assert running.action("mc_share", private, response_url=slack.response_url("s"), user="U222")[0] == 200
        assert slack.wait_for(lambda: any(n == "s" for n, _ in slack.responses))
        assert dict(slack.responses)["s"]["text"] == blocks.SHARE_WITHOUT_WORDS
        time.sleep(0.2)
        assert slack.calls("chat.postMessage") == []
        rows = running.deps.store.db.query("select * from checks")
        assert len(rows) == 2 and not [r for r in rows if "existing accounts" in repr(r)]
    finally:
        running.stop()
