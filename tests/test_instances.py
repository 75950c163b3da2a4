"""Several instances, one truth: every "exactly once" is the database's guarantee, not one process's memory."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_slack import PREMIUM, RunningApp, settings_for
from test_slack_paths import message_in

from bot.slack.recovery import recover_pending
from bot.store import Store, migrations
from bot.verdict import PlaybookRef, Verdict

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def target(database):
    """Where the instances' shared database lives: a SQLite file, and a PostgreSQL schema when one is given."""
    return database


def _verdict(label: str = "inside-out") -> Verdict:
    return Verdict(label=label, customer_ease=10, motives=["revenue-profit"], engine="rules",
                   playbook=PlaybookRef(name="outside-in", version="1"))


def test_processes_starting_at_once_migrate_once_and_all_start(target):
    """Found in issue 20: two `serve` processes on one fresh database, one died with "database is locked"."""
    start = time.time() + 1.5  # all of them open the store at this moment
    code = (f"import time; time.sleep(max(0, {start} - time.time()))\n"
            f"from bot.store import Store; s = Store({target!r}); print(s.db.value('select count(*) from checks'))")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(3)]
    results = [(p.wait(timeout=60), p.stdout.read().decode().strip(), p.stderr.read().decode()) for p in procs]
    assert [(rc, out) for rc, out, _ in results] == [(0, "0")] * 3, [err[-500:] for _, _, err in results]
    store = Store(target)
    names = migrations.applied(store.db)
    assert names == [name for name, _ in migrations.MIGRATIONS]  # each applied exactly once


def test_one_decision_per_person_and_check_when_clicks_reach_two_instances(target):
    first, second = Store(target), Store(target)  # two instances' connections to one database
    cid = first.record_check(_verdict(), "draft", source="slash", user="U1")
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def click(store: Store, action: str) -> None:
        try:
            barrier.wait()
            for _ in range(10):
                store.record_decision(cid, action, user="U1")
                store.record_decision(cid, "why", user="U1")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    actions = ["accepted", "kept-original", "disputed", "accepted"]
    threads = [threading.Thread(target=click, args=(store, action)) for store in (first, second) for action in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = first.decisions_for(cid)
    assert sorted(r["slot"] for r in rows) == ["choice", "why"]  # one choice (the latest), Why? noted once
    assert next(r for r in rows if r["slot"] == "choice")["action"] in {"accepted", "kept-original", "disputed"}


def test_the_database_itself_refuses_a_second_choice(target):
    store = Store(target)
    cid = store.record_check(_verdict(), "draft", source="slash", user="U1")
    store.record_decision(cid, "accepted", user="U1")
    with pytest.raises(Exception, match="(?i)unique"), store.db.write() as tx:  # noqa: PT012 - the write is the point
        tx.insert("decisions", {"check_id": cid, "ts": time.time(), "user": "U1", "action": "disputed",
                                "slot": "choice"})
    again = store.record_decision(cid, "disputed", user="U1", reason="changed my mind")
    assert [(r["id"], r["action"], r["reason"]) for r in store.decisions_for(cid)] == [
        (again, "disputed", "changed my mind")]
    assert store.record_decision(cid, "accepted", user="U2") != again  # another person has a decision of their own


# -- work in flight: leases ------------------------------------------------------------------------------------
def _pending(store: Store, n: int, *, owner: str = "dead", until: float = 0.0) -> list[int]:
    return store.record_pending([{"draft": f"draft {i}", "source": "channel", "workspace": "T1", "channel": "C1",
                                  "user": "U1", "message_ts": f"1700000000.{i:06d}", "lease_owner": owner,
                                  "lease_until": until} for i in range(n)])


def test_expired_work_goes_to_exactly_one_taker(target):
    stores = [Store(target) for _ in range(4)]
    ids = _pending(stores[0], 60)
    barrier = threading.Barrier(4)
    taken: dict[str, list[int]] = {}

    def take(store: Store, owner: str) -> None:
        barrier.wait()
        mine: list[int] = []
        while rows := store.take_expired(owner, time.time() + 30, time.time(), limit=7):
            mine += [r["id"] for r in rows]
        taken[owner] = mine

    threads = [threading.Thread(target=take, args=(s, f"i{n}")) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for mine in taken.values() for i in mine]
    assert sorted(everything) == ids  # each taken once, none left behind
    rows = {r["id"]: r for r in stores[0].leased_checks()}
    assert all(rows[i]["lease_owner"] == owner and rows[i]["attempts"] == 1 for owner, m in taken.items() for i in m)


def test_a_live_lease_is_not_taken_and_a_lost_one_cannot_be_completed(target):
    alive, other = Store(target), Store(target)
    (held,) = _pending(alive, 1, owner="alive", until=time.time() + 30)
    assert other.take_expired("other", time.time() + 30, time.time()) == []
    assert alive.renew_leases("alive", [held], time.time() - 1) == {held}  # renewed (here: into the past)
    assert [r["id"] for r in other.take_expired("other", time.time() + 30, time.time())] == [held]
    # The first holder comes back from a stall: its lease is gone, so it neither renews nor completes the check.
    assert alive.renew_leases("alive", [held], time.time() + 30) == set()
    assert alive.complete_check(held, _verdict(), owner="alive") is False
    assert other.complete_check(held, _verdict(), owner="other") is True
    assert alive.release_lease(held, "alive") is False and other.release_lease(held, "other") is True
    assert other.leased_checks() == [] and other.get_check(held)["status"] == "done"


def test_a_claimed_message_is_recorded_in_the_same_transaction(target):
    first, second = Store(target), Store(target)
    item = {"draft": "We will launch X", "source": "channel", "workspace": "T1", "channel": "C1", "user": "U1",
            "message_ts": "1.1", "claim": "msg:T1:C1:1.1"}
    (a,) = first.record_pending([item])
    assert second.record_pending([item, dict(item)]) == [None, None]  # a retry on another instance, twice
    assert a is not None and second.count("checks") == 1 and second.count("seen_events") == 1
    assert second.leased_checks()[0]["lease_until"] == 0  # recorded without a holder: free to take at once


# -- two app instances on one database --------------------------------------------------------------------------
@pytest.fixture
def two(slack, tmp_path, target):
    settings = settings_for(slack, tmp_path, database=target)  # one database for both
    apps = [RunningApp(settings), RunningApp(settings)]
    yield apps
    for app in apps:
        app.stop()


def _thread_replies(slack, ts: str) -> list[dict]:
    return [c for c in slack.calls("chat.postMessage") if c.get("thread_ts") == ts]


def test_a_retry_reaching_the_other_instance_gets_no_second_reply(two, slack):
    a, b = two
    ts = "1700000700.000100"
    assert a.event(message_in("C111", PREMIUM, ts), "EvX1")[0] == 200
    assert a.deps.store.count("checks") == 1  # claimed and recorded before Slack was acknowledged
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert b.event(message_in("C111", PREMIUM, ts), "EvX1", headers=retry)[0] == 200
    assert b.event(message_in("C111", PREMIUM, ts), "EvX2")[0] == 200  # a duplicate delivery, new event id
    assert slack.wait_for(lambda: _thread_replies(slack, ts))
    assert slack.wait_for(lambda: not a.deps.store.leased_checks())
    time.sleep(0.3)
    assert len(_thread_replies(slack, ts)) == 1
    assert a.deps.store.count("checks") == 1


@pytest.mark.parametrize("delivered", [True, False])
def test_a_finished_check_taken_over_is_answered_once(two, slack, delivered):
    """The holder finished the check and then died, before or after posting the reply: the thread says which."""
    a, b = two
    ts = "1700000800.000100"
    if delivered:
        assert a.event(message_in("C111", PREMIUM, ts), "EvY1")[0] == 200
        assert slack.wait_for(lambda: not a.deps.store.leased_checks() and _thread_replies(slack, ts))
        (row,) = a.deps.store.recent_checks(1)
        # As if it had died just after posting: the reply is in the thread, not yet on record, the lease still held.
        a.deps.store.update_check(row["id"], reply_ts=None, reply_channel=None, lease_owner="dead", lease_until=0.0)
    else:
        (cid,) = a.deps.store.record_pending([{"draft": PREMIUM, "source": "channel", "workspace": "T111",
                                               "channel": "C111", "user": "U222", "message_ts": ts,
                                               "reply_mode": "thread", "lease_owner": "dead", "lease_until": 0.0}])
        verdict, _ = a.deps.checker.assess(PREMIUM)
        assert a.deps.store.complete_check(cid, verdict, owner="dead")
    assert asyncio.run_coroutine_threadsafe(recover_pending(b.deps), b.loop).result(20) == 1
    assert len(_thread_replies(slack, ts)) == 1
    (row,) = b.deps.store.recent_checks(1)
    (posted,) = [m for m in slack.messages["C111"] if m.get("thread_ts") == ts]
    assert row["reply_ts"] == posted["ts"] and row["lease_until"] is None  # found in the thread, or posted now
    assert b.deps.store.leased_checks() == []


# -- one digest per channel and week ----------------------------------------------------------------------------
def _digest_settings(slack, target):
    from bot.config import load_settings

    return load_settings(env={"SLACK_BOT_TOKEN": "xoxb-t", "SLACK_API_URL": slack.api_url,
                              "MOTIVECHECK_DIGEST_CHANNEL": "CLEAD"}, db_path=target)


def test_instances_posting_the_digest_at_once_post_it_once(slack, target):
    from bot.digest_post import post_digest
    from bot.slack.app import build_client

    settings = _digest_settings(slack, target)
    results: list[str] = []

    def instance() -> None:  # its own store, client and event loop, as another process would have
        results.append(asyncio.run(post_digest(build_client(settings), Store(target), settings, "T1", 2026, 47)))

    threads = [threading.Thread(target=instance) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results)[-1] == "posted" and set(sorted(results)[:-1]) <= {"already", "held"}
    assert len(slack.calls("chat.postMessage")) == 1


def test_a_digest_whose_chart_fails_is_not_posted_again(slack, target):
    from bot.digest_post import post_digest
    from bot.slack.app import build_client

    settings, store = _digest_settings(slack, target), Store(target)
    store.record_check(_verdict(), "draft", source="slash", workspace="T1", channel="C1", user="U1",
                       ts=time.mktime((2026, 11, 17, 12, 0, 0, 0, 0, 0)))  # in week 47, so the digest has a chart
    slack.fail("files.getUploadURLExternal", 500, {"ok": False, "error": "internal_error"}, times=10)
    client = build_client(settings)
    assert asyncio.run(post_digest(client, store, settings, "T1", 2026, 47)) == "posted"
    assert asyncio.run(post_digest(client, store, settings, "T1", 2026, 47)) == "already"  # the next tick
    assert len(slack.calls("chat.postMessage")) == 1
    assert "digest chart" in store.get_setting("T1", "last_delivery_error")


@pytest.mark.parametrize("it_had_posted", [True, False])
def test_a_digest_claim_left_by_a_dead_instance_is_taken_over_once(slack, target, it_had_posted):
    from bot.digest_post import digest_metadata, post_digest
    from bot.slack.app import build_client

    settings, store = _digest_settings(slack, target), Store(target)
    assert store.claim_digest("T1", "CLEAD", "2026-W47", "dead")
    client = build_client(settings)
    if it_had_posted:  # it died after posting, before it could record that
        asyncio.run(client.chat_postMessage(channel="CLEAD", text="digest", metadata=digest_metadata("T1", "2026-W47")))
    assert asyncio.run(post_digest(client, store, settings, "T1", 2026, 47)) == "held"  # its claim is fresh
    with store.db.write() as tx:  # it stopped renewing its claim
        tx.execute("update digests set claimed_at = 0")
    assert asyncio.run(post_digest(client, store, settings, "T1", 2026, 47)) == ("already" if it_had_posted else "posted")
    assert len(slack.calls("chat.postMessage")) == 1
    assert store.digest_state("T1", "CLEAD", "2026-W47")["status"] == "posted"


def test_the_verdict_cache_is_shared_by_every_instance(target):
    from openai_server import FakeOpenAI

    from bot.checker import Checker
    from bot.config import load_settings

    with FakeOpenAI() as llm:
        settings = load_settings(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": llm.base_url,
                                      "MOTIVECHECK_LLM_TIMEOUT": "5"}, db_path=target)
        first, second = Checker(settings, Store(target)), Checker(settings, Store(target))
        asked, _ = first.assess(PREMIUM, workspace="T1")
        again, _ = second.assess(PREMIUM, workspace="T1")  # another instance: answered from the database
        elsewhere, _ = second.assess(PREMIUM, workspace="T2")  # another workspace: never from T1's entry
    assert (asked.cached, again.cached, elsewhere.cached) == (False, True, False)
    assert len(llm.requests) == 2 and again.label == asked.label


def test_an_opt_out_told_to_one_instance_holds_at_once_on_the_other(two, slack):
    a, b = two
    assert b.event(message_in("C111", PREMIUM, "1700000900.000100", user="U333"), "EvO1")[0] == 200  # b reads opt-outs
    assert slack.wait_for(lambda: _thread_replies(slack, "1700000900.000100"))
    a.command("optout", user="U333", response_url=slack.response_url("o"))
    assert b.event(message_in("C111", PREMIUM, "1700000901.000100", user="U333"), "EvO2")[0] == 200
    time.sleep(0.5)
    assert not _thread_replies(slack, "1700000901.000100")
    assert [r["message_ts"] for r in b.deps.store.recent_checks(5)] == ["1700000900.000100"]  # not even stored


def test_a_burst_is_screened_claimed_and_recorded_in_one_transaction(target):
    store = Store(target)
    store.set_channel_option("T1", "C1", reply_mode="private", playbook="example-team")
    store.set_optout("T1", "UOUT", True)
    base = {"source": "channel", "workspace": "T1", "status": "pending", "screen": True, "watched_only": True}
    answers = store.admit_pending([
        {**base, "draft": "a", "channel": "C1", "user": "U1", "message_ts": "1.1", "claim": "msg:1.1"},
        {**base, "draft": "a", "channel": "C1", "user": "U1", "message_ts": "1.1", "claim": "msg:1.1"},  # duplicate
        {**base, "draft": "b", "channel": "C1", "user": "UOUT", "message_ts": "1.2", "claim": "msg:1.2"},
        {**base, "draft": "c", "channel": "C9", "user": "U1", "message_ts": "1.3", "claim": "msg:1.3"},  # unwatched
        {**base, "draft": "d", "channel": "C8", "user": "U1", "message_ts": "1.4", "claim": "msg:1.4",
         "env_watched": True},
        {"draft": "e", "source": "slash", "workspace": "T1", "channel": "C1", "user": "U2", "status": "pending",
         "screen": True},
    ])
    assert [(a["refused"], a["playbook"], a["reply_mode"]) for a in answers] == [
        (None, "example-team", "private"), ("duplicate", "example-team", "private"),
        ("opted-out", "example-team", "private"), ("unwatched", None, None), (None, None, "thread"),
        (None, "example-team", None)]
    ids = [a["id"] for a in answers if a["id"] is not None]
    assert len(ids) == 3 and [store.get_check(i)["draft_text"] for i in ids] == ["a", "d", "e"]
    assert store.get_check(ids[0])["reply_mode"] == "private"
    assert store.count("seen_events") == 2  # the refused never claimed theirs: a retry after opting in is checked
