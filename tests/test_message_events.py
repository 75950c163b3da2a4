"""Message events that are not new drafts (edits, link unfurls, deletions) and mentions: real signed requests to the
app, the Web API calls the Slack stand-in recorded, and the store (SQLite, and PostgreSQL when one is given)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from openai_server import FakeOpenAI, answer, slow, verdict_answer
from test_slack import FIXTURES, PREMIUM, RunningApp, channel_message, settings_for
from test_slack_paths import OUTSIDE_IN, blocks_of, buttons_of, message_in

from bot.slack.listeners import MENTION_HINT
from bot.slack.recovery import recover_pending
from bot.slack.replies import delete_reply

TEAM = "T111"
DRAFT_TS = "1700000900.000100"
WORDS = b"Premium Plus"  # the draft's own words, which nothing but the draft and what quotes it holds


@pytest.fixture
def running(slack, tmp_path, database):
    app = RunningApp(settings_for(slack, tmp_path, database=database))
    yield app
    app.stop()


def draft_with_reply(running: RunningApp, slack, ts: str = DRAFT_TS) -> dict:
    """A draft in the watched channel C111 and our threaded reply; its check once the reply is on record."""
    assert running.event(channel_message(PREMIUM, ts=ts), f"Ev{ts}")[0] == 200
    store = running.deps.store
    assert slack.wait_for(lambda: (store.find_check_by_message(TEAM, "C111", ts) or {}).get("reply_ts"))
    return store.find_check_by_message(TEAM, "C111", ts)


def changed(message: dict, *, ts: str = DRAFT_TS, event_ts: str = "1700000950.000100", channel: str = "C111",
            previous: str = PREMIUM) -> dict:
    """A message_changed event as Slack sends it: the message as it is now, and as it was."""
    return {"type": "message", "subtype": "message_changed", "hidden": True, "channel": channel, "ts": event_ts,
            "event_ts": event_ts, "channel_type": "channel",
            "message": {"type": "message", "user": "U222", "ts": ts, **message},
            "previous_message": {"type": "message", "user": "U222", "ts": ts, "text": previous}}


def edit(text: str, edited_ts: str = "1700000960.000100") -> dict:
    return changed({"text": text, "edited": {"user": "U222", "ts": edited_ts}}, event_ts=edited_ts)


def tombstone(ts: str = DRAFT_TS, channel: str = "C111") -> dict:
    """What Slack sends when a message with thread replies is deleted: it stays as a tombstone holding the thread."""
    return changed({"subtype": "tombstone", "user": "USLACKBOT", "hidden": True, "text": "This message was deleted.",
                    "thread_ts": ts, "reply_count": 1}, ts=ts, channel=channel, event_ts="1700000990.000100")


def message_deleted(ts: str = DRAFT_TS, channel: str = "C111") -> dict:
    """What Slack sends when a message without thread replies is deleted."""
    return {"type": "message", "subtype": "message_deleted", "hidden": True, "channel": channel,
            "ts": "1700000991.000100", "event_ts": "1700000991.000100", "deleted_ts": ts, "channel_type": "channel",
            "previous_message": {"type": "message", "user": "U222", "ts": ts, "text": PREMIUM}}


DELETIONS = {"tombstone": tombstone, "message_deleted": message_deleted}


@contextlib.contextmanager
def app_behind_llm(slack, tmp_path, database, *answers: Any) -> Iterator[tuple[RunningApp, FakeOpenAI]]:
    """The app with its LLM on a fake server: the first answer takes 1 s (the draft is "being checked" meanwhile),
    then ``answers`` in turn; with none given, every request gets that slow answer."""
    first = slow(1.0, answer(verdict_answer()))
    with FakeOpenAI(default=None if answers else first) as llm:
        if answers:
            llm.script(first, *answers)
        app = RunningApp(settings_for(slack, tmp_path, database=database, OPENAI_API_KEY="sk-x",
                                      OPENAI_BASE_URL=llm.base_url, MOTIVECHECK_CHANNEL_TRIAGE="off"))
        try:
            yield app, llm
        finally:
            app.stop()


def file_bytes(store) -> bytes:
    """The SQLite file and its WAL: everything the store left on disk."""
    return b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))


# -- a draft posted with a file -------------------------------------------------------------------------------
def file_share(text: str, ts: str) -> dict:
    """A message posted with a file attached, as Slack sends it (subtype file_share, the file in ``files``)."""
    path = FIXTURES / "event_message_file_share.bolt.json"
    event = json.loads(path.read_text())["event"]
    event.pop("blocks", None)
    return {**event, "text": text, "ts": ts, "event_ts": ts, "user": "U222"}


def test_a_draft_posted_with_a_file_is_checked_like_any_other(running, slack):
    """A proposal with a screenshot or a spec attached comes as subtype file_share: it was taken for a join or a
    bot's post and never checked, with no word to anyone. A file with no text has nothing to check."""
    assert running.event(file_share(PREMIUM, DRAFT_TS), "EvF1")[0] == 200
    assert running.event(file_share("", "1700000901.000100"), "EvF2")[0] == 200
    store = running.deps.store
    assert slack.wait_for(lambda: (store.find_check_by_message(TEAM, "C111", DRAFT_TS) or {}).get("reply_ts"))
    (reply,) = slack.calls("chat.postMessage")
    assert reply["thread_ts"] == DRAFT_TS and "A possible opening" in json.dumps(blocks_of(reply))
    assert store.find_check_by_message(TEAM, "C111", "1700000901.000100") is None
    # Its edit is checked again, as any draft's is.
    edited = changed({"subtype": "file_share", "text": OUTSIDE_IN, "edited": {"user": "U222", "ts": "1700000960.1"},
                      "files": [{"id": "F111"}]})
    assert running.event(edited, "EvF3")[0] == 200
    assert slack.wait_for(lambda: slack.calls("chat.update"))


# -- edits ----------------------------------------------------------------------------------------------------
NOT_EDITS = {
    # A link unfurled: the same text, an attachment, and no `edited`.
    "unfurl": {"text": PREMIUM, "attachments": [{"id": 1, "title": "Plan", "from_url": "https://example.com/plan"}]},
    # A reply joined the thread of a draft edited before: `edited` is the earlier edit's, the text unchanged.
    "reply-joined": {"text": PREMIUM, "edited": {"user": "U222", "ts": "1700000901.000100"}, "thread_ts": DRAFT_TS,
                     "reply_count": 2, "latest_reply": "1700000940.000100"},
}


@pytest.mark.parametrize("kind", sorted(NOT_EDITS))
def test_only_an_edit_is_checked_again(running, slack, kind):
    check = draft_with_reply(running, slack)
    assert running.event(changed(NOT_EDITS[kind]), "EvN1")[0] == 200
    assert running.event(edit(OUTSIDE_IN), "EvN2")[0] == 200
    assert slack.wait_for(lambda: slack.calls("chat.update"))
    time.sleep(0.3)
    (update,) = slack.calls("chat.update")  # the edit's; the unfurl or the reply changed nothing
    assert update["ts"] == check["reply_ts"] and "Updated for your edit" in json.dumps(blocks_of(update))
    assert running.deps.store.get_check(check["id"])["draft_text"] == OUTSIDE_IN


def test_an_edit_adding_no_coach_withdraws_the_draft_like_a_deletion(running, slack):
    """Adding ``[no-coach]`` by an edit takes the draft out of coaching: the refused edit used to return early,
    leaving our public reply up and the draft's words stored."""
    store = running.deps.store
    check = draft_with_reply(running, slack)
    assert running.event(edit(PREMIUM + " [No-Coach]"), "EvX1")[0] == 200
    assert store.get_check(check["id"])["draft_text"] is None  # erased before the ack, as a deletion is
    assert slack.wait_for(lambda: store.get_check(check["id"])["reply_ts"] is None)
    (gone,) = slack.calls("chat.delete")
    assert gone["channel"] == "C111" and gone["ts"] == check["reply_ts"]
    row = store.get_check(check["id"])
    verdict = json.loads(row["verdict_json"])
    assert verdict["evidence"] == [] and verdict["reframe"] is None and verdict["questions"] == []
    assert (row["label"], row["customer_ease"], row["status"]) == (check["label"], check["customer_ease"], "done")
    # Delivered again, or edited once more (the marker taken out): the draft stays withdrawn, nothing is said.
    assert running.event(edit(PREMIUM + " [No-Coach]"), "EvX1", headers={"X-Slack-Retry-Num": "1",
                                                                          "X-Slack-Retry-Reason": "timeout"})[0] == 200
    assert running.event(edit(OUTSIDE_IN, "1700000970.000100"), "EvX2")[0] == 200
    time.sleep(0.3)
    assert len(slack.calls("chat.delete")) == 1 and slack.calls("chat.update") == []
    assert len(slack.calls("chat.postMessage")) == 1 and store.get_check(check["id"])["draft_text"] is None
    if store.path:
        assert slack.wait_for(lambda: WORDS not in file_bytes(store), timeout=5)


def test_an_edit_made_while_the_draft_is_checked_gets_the_reply(slack, tmp_path, database):
    """The author edits while the LLM is still reading the draft: the edit found no reply to update and was dropped,
    so the reply showed the verdict on the old words and the old words were stored. The reply the author ends up
    with is for the edited text, checked once."""
    edited = answer(verdict_answer(label="outside-in", customer_ease=80, quote="exports are painful", motives=[],
                                   reframe=None))
    with app_behind_llm(slack, tmp_path, database, edited) as (app, llm):
        store = app.deps.store
        assert app.event(channel_message(PREMIUM, ts=DRAFT_TS), "EvE1")[0] == 200
        assert slack.wait_for(lambda: llm.requests)  # the LLM is reading the first text
        assert app.event(edit(OUTSIDE_IN), "EvE2")[0] == 200
        assert slack.wait_for(lambda: (store.find_check_by_message(TEAM, "C111", DRAFT_TS) or {}).get("label")
                              == "outside-in", timeout=10)
        assert slack.wait_for(lambda: not store.leased_checks() and slack.calls("chat.update"), timeout=10)
        time.sleep(0.3)
        check = store.find_check_by_message(TEAM, "C111", DRAFT_TS)
        assert check["draft_text"] == OUTSIDE_IN
        assert len(llm.requests) == 2 and OUTSIDE_IN in json.dumps(llm.requests[1])
        (reply,) = slack.calls("chat.postMessage")  # one reply, then brought up to date for the edit
        (update,) = slack.calls("chat.update")
        assert update["ts"] == check["reply_ts"] and "Updated for your edit" in json.dumps(blocks_of(update))
        assert "Premium Plus" not in json.dumps(blocks_of(update))


def test_an_edit_adding_no_coach_while_the_draft_is_checked_gets_no_reply(slack, tmp_path, database):
    with app_behind_llm(slack, tmp_path, database) as (app, llm):
        store = app.deps.store
        assert app.event(channel_message(PREMIUM, ts=DRAFT_TS), "EvE3")[0] == 200
        assert slack.wait_for(lambda: llm.requests)
        assert app.event(edit(PREMIUM + " [no-coach]"), "EvE4")[0] == 200
        assert store.find_check_by_message(TEAM, "C111", DRAFT_TS)["draft_text"] is None  # erased before the ack
        assert slack.wait_for(lambda: not store.leased_checks(), timeout=10)
        time.sleep(0.3)
        assert slack.calls("chat.postMessage") == [] and slack.calls("chat.update") == []
        assert len(llm.requests) == 1
        assert store.find_check_by_message(TEAM, "C111", DRAFT_TS)["draft_text"] is None


# -- deletions ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(DELETIONS))
def test_a_deleted_draft_takes_our_reply_and_its_words_with_it(running, slack, kind):
    store = running.deps.store
    check = draft_with_reply(running, slack)
    # The author disagreed, with a label and a reason in their own words: both copy the draft's words.
    assert running.action("mc_disagree", check["id"], user="U222", response_url=slack.response_url("d"))[0] == 200
    assert slack.wait_for(lambda: slack.calls("views.open"))
    values = {"label": {"value": {"type": "static_select", "selected_option": {"value": "mixed"}}},
              "reason": {"text": {"type": "plain_text_input", "value": "Premium Plus is what customers asked for"}}}
    modal = slack.calls("views.open")[0]["view"]
    assert running.submit_view("mc_reason_modal", values, modal["private_metadata"], user="U222")[0] == 200
    assert slack.wait_for(lambda: store.labels_for(TEAM))

    assert running.event(DELETIONS[kind](), "EvD1")[0] == 200
    assert slack.wait_for(lambda: store.get_check(check["id"])["reply_ts"] is None)  # deleted, and so on record
    (gone,) = slack.calls("chat.delete")
    assert gone["channel"] == "C111" and gone["ts"] == check["reply_ts"]
    assert [m for m in slack.messages["C111"] if m.get("thread_ts") == DRAFT_TS] == []
    row = store.get_check(check["id"])
    verdict = json.loads(row["verdict_json"])
    assert row["draft_text"] is None and verdict["evidence"] == [] and verdict["reframe"] is None
    assert verdict["questions"] == [] and verdict["measures"] == []
    # The judgement stays for the counts (stats, digest): the deletion was not read as a draft.
    assert (row["label"], row["customer_ease"], row["status"]) == (check["label"], check["customer_ease"], "done")
    assert slack.calls("chat.update") == []
    assert [d["reason"] for d in store.decisions_for(check["id"])] == [None] and store.labels_for(TEAM) == []

    # Delivered again (Slack's retry), and as the other event (Slack deletes the tombstone once its thread is
    # empty): nothing more happens.
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert running.event(DELETIONS[kind](), "EvD1", headers=retry)[0] == 200
    assert running.event(message_deleted(), "EvD2")[0] == 200
    time.sleep(0.3)
    assert len(slack.calls("chat.delete")) == 1 and slack.calls("chat.update") == []
    if store.path:  # on SQLite the file and its WAL keep no copy (the checkpoint runs after the ack)
        assert slack.wait_for(lambda: WORDS not in file_bytes(store), timeout=5)


def test_a_deleted_private_draft_is_erased_and_cannot_be_shared(running, slack):
    store = running.deps.store
    store.watch(TEAM, "C222", reply_mode="private")
    ts = "1700000920.000100"
    assert running.event(message_in("C222", PREMIUM, ts), "EvQ1")[0] == 200
    assert slack.wait_for(lambda: slack.calls("chat.postEphemeral"))
    (share,) = [b for b in buttons_of(slack.calls("chat.postEphemeral")[0]) if b["action_id"] == "mc_share"]
    check_id = int(share["value"])

    assert running.event(message_deleted(ts, channel="C222"), "EvQ2")[0] == 200
    assert slack.wait_for(lambda: store.get_check(check_id)["draft_text"] is None)
    assert json.loads(store.get_check(check_id)["verdict_json"])["evidence"] == []
    # The author's private answer still shows Share in thread: a press now posts nothing under a deleted draft.
    assert running.action("mc_share", check_id, user="U222", response_url=slack.response_url("s"))[0] == 200
    assert slack.wait_for(lambda: slack.responses)
    assert "deleted" in slack.responses[0][1]["text"] and slack.responses[0][1]["response_type"] == "ephemeral"
    assert slack.calls("chat.postMessage") == [] and slack.calls("chat.delete") == []  # nothing public to delete


def test_a_reply_is_taken_back_once_when_two_withdrawals_race(running, slack):
    """A check that finishes as its author withdraws the draft takes the reply back too: both read the check
    before either cleared its reply, and each called chat.delete (seen in CI under load)."""
    check = draft_with_reply(running, slack)

    async def both() -> None:
        await asyncio.gather(delete_reply(running.deps, running.app.client, check),
                             delete_reply(running.deps, running.app.client, check))

    asyncio.run_coroutine_threadsafe(both(), running.loop).result(10)
    (gone,) = slack.calls("chat.delete")
    assert gone["ts"] == check["reply_ts"]
    assert running.deps.store.get_check(check["id"])["reply_ts"] is None


def test_a_draft_deleted_while_it_is_checked_gets_no_reply(slack, tmp_path, database):
    with app_behind_llm(slack, tmp_path, database) as (app, llm):
        store = app.deps.store
        assert app.event(channel_message(PREMIUM, ts=DRAFT_TS), "EvW1")[0] == 200
        assert slack.wait_for(lambda: llm.requests)  # the LLM is reading it
        assert app.event(message_deleted(), "EvW2")[0] == 200
        (row,) = store.recent_checks(1)
        assert row["status"] == "pending" and row["draft_text"] is None  # erased before the ack
        assert slack.wait_for(lambda: not store.leased_checks(), timeout=10)  # the check finished, and
        time.sleep(0.2)
        assert slack.calls("chat.postMessage") == []  # nothing was said under the deleted draft
        row = store.get_check(row["id"])
        verdict = json.loads(row["verdict_json"])
        assert row["label"] == "inside-out" and row["draft_text"] is None and verdict["evidence"] == []
        assert verdict["reframe"] is None and len(llm.requests) == 1
        if store.path:  # the finished check wrote the words back before they were erased again: no copy on disk
            assert slack.wait_for(lambda: WORDS not in file_bytes(store), timeout=5)


def test_a_deleted_draft_whose_instance_died_is_not_answered_by_the_one_taking_it_over(running, slack):
    store = running.deps.store
    (check_id,) = store.record_pending([{"draft": PREMIUM, "source": "channel", "workspace": TEAM, "channel": "C111",
                                         "user": "U222", "message_ts": DRAFT_TS, "reply_mode": "thread",
                                         "lease_owner": "dead", "lease_until": 0.0}])
    verdict, _ = running.deps.checker.assess(PREMIUM)
    assert store.complete_check(check_id, verdict, owner="dead")  # checked; its instance died before replying
    assert running.event(message_deleted(), "EvR1")[0] == 200
    assert store.get_check(check_id)["draft_text"] is None  # erased before the ack
    assert asyncio.run_coroutine_threadsafe(recover_pending(running.deps), running.loop).result(20) == 1
    assert slack.calls("chat.postMessage") == [] and store.leased_checks() == []


# -- mentions -------------------------------------------------------------------------------------------------
def test_a_mention_delivered_again_gets_one_hint(running, slack):
    mention = {"type": "app_mention", "user": "U222", "text": "<@UBOT> how does this work?", "ts": "1700000930.000100",
               "channel": "C111", "event_ts": "1700000930.000100"}
    assert running.event(mention, "EvM1")[0] == 200
    assert running.event(mention, "EvM1", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})[0] == 200
    assert running.event(mention, "EvM2")[0] == 200  # the same mention delivered twice
    assert slack.wait_for(lambda: slack.calls("chat.postEphemeral"))
    time.sleep(0.3)
    (hint,) = slack.calls("chat.postEphemeral")
    assert hint["user"] == "U222" and hint["text"] == MENTION_HINT
