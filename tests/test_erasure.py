"""Forget and purge reach every copy of a person's words: the whole database file is searched afterwards."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from openai_server import FakeOpenAI, answer, verdict_answer
from test_digest import add  # records a T1 check with a Verdict

from bot.checker import Checker
from bot.config import load_settings
from bot.datacontrols import apply_retention, forget_user, forget_workspace, purge_texts, run_retention
from bot.intake import Draft, Intake
from bot.store import Store
from bot.verdict import PlaybookRef, Verdict

DRAFT = "We'll launch Zanzibar Gold to upsell dormant accounts and lift ARR 15% this quarter."
WORDS = ("Zanzibar", "dormant accounts")  # only ever written by the author
REASON = "quokka reasons of my own"


def file_bytes(path: Path) -> bytes:
    """The database file and any WAL or journal beside it: everything SQLite left on disk."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


@pytest.fixture
def llm_checker(tmp_path):
    with FakeOpenAI() as server:
        server.script(answer(verdict_answer(
            quote="upsell dormant accounts", reframe="Zanzibar Gold lets dormant accounts schedule exports.",
            questions=["What gets easier for dormant accounts?"], measures=["Zanzibar Gold exports per week"])))  # the first draft only
        settings = load_settings(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url},
                                 db_path=str(tmp_path / "erase.db"))
        yield Checker(settings, Store(settings.db_path))


def test_forget_user_leaves_no_word_of_theirs_in_the_file_and_keeps_their_opt_out(llm_checker):
    store = llm_checker.store
    check_id = llm_checker.check(DRAFT, log=True, workspace="T1", user="U1").check_id
    llm_checker.check("Customers asked for faster exports, so let's add them.", log=True, workspace="T1", user="U2")
    store.record_decision(check_id, "kept-original", user="U1", reason=REASON)
    store.set_optout("T1", "U1", True)
    assert all(w.encode() in file_bytes(store.path) for w in WORDS)  # the cache and verdict hold them too

    result = forget_user(store, "U1")

    assert result["checks_erased"] == 1 and result["decisions_deleted"] == 1 and result["cache_entries_deleted"] >= 1
    data = file_bytes(store.path)
    for word in (*WORDS, REASON):
        assert word.encode() not in data, word
    assert ("T1", "U1") in store.optouts()  # forgetting someone never starts checking them again
    assert store.count("checks") == 2  # counts stay, unattributed


@pytest.mark.parametrize("forget", [lambda store: forget_user(store, "U1"), lambda store: forget_workspace(store, "T1")],
                         ids=["user", "workspace"])
def test_forgetting_a_draft_over_the_length_limit_erases_its_cached_verdict_too(llm_checker, forget):
    """Only the first MOTIVECHECK_MAX_CHARS of a long draft are checked: the cached verdict was tied to the hash of
    that part, the check to the hash of the whole draft, so erasure, which finds cache entries by the check's hash,
    left the quotes of a long draft in the cache."""
    store = llm_checker.store
    llm_checker.check(DRAFT + " And more of the plan, in detail." * 300, log=True, workspace="T1", user="U1")
    assert all(w.encode() in file_bytes(store.path) for w in WORDS)

    forget(store)

    assert [w for w in WORDS if w.encode() in file_bytes(store.path)] == []


@pytest.mark.parametrize("then", ["forget", "delete"])
def test_an_edited_draft_leaves_no_cached_verdict_of_its_words_before(llm_checker, then):
    """An edit re-checks the new words and replaces the check's text and hash; the cached verdict of the words
    before stayed under the old hash, which no check recorded any more: neither forget --user nor the author's
    deleting the draft could find it, and its quotes stayed in the file."""
    store = llm_checker.store
    road = Intake(llm_checker, store)
    check_id = llm_checker.check(DRAFT, log=True, workspace="T1", channel="C1", user="U1").check_id
    assert store.count("verdict_cache") == 1
    edited = Draft(text="Customers asked for faster exports, so let's add them.", source="channel", workspace="T1",
                   channel="C1", user="U1")

    async def edit() -> None:
        assert (await road.finish(await road.admit(edited, check_id=check_id), new_text=True)).verdict is not None

    asyncio.run(edit())
    assert store.get_check(check_id)["draft_text"] == edited.text
    if then == "forget":
        forget_user(store, "U1")
    else:  # as the Slack app withdraws a deleted draft
        store.withdraw_check(check_id)
        store.checkpoint()

    assert [w for w in WORDS if w.encode() in file_bytes(store.path)] == []


def test_purge_removes_measures_reasons_and_cached_quotes_from_the_file(llm_checker):
    store = llm_checker.store
    check_id = llm_checker.check(DRAFT, log=True, workspace="T1", user="U1", ts=1_000_000.0).check_id
    store.record_decision(check_id, "kept-original", user="U1", reason=REASON, ts=1_000_000.0)
    with store.db.write() as tx:  # the cache entry is as old as the check
        tx.execute("update verdict_cache set ts = 1000000")

    assert purge_texts(store, 2_000_000.0) == 1

    data = file_bytes(store.path)
    for word in (*WORDS, REASON):
        assert word.encode() not in data, word
    row = store.get_check(check_id)
    assert row["label"] == "inside-out" and row["draft_text"] is None  # the judgement stays


def test_purge_takes_the_cached_verdict_of_an_old_draft_checked_recently(llm_checker):
    """An import checks messages written long ago: the check has the message's time, its cached verdict today's.
    The purge cleared the old draft's text and verdict but left the cached quotes for a whole retention period
    more, until the cache entry itself was old."""
    store = llm_checker.store
    check_id = llm_checker.check(DRAFT, log=True, source="import", workspace="T1", user="U1", ts=1_000_000.0).check_id

    assert purge_texts(store, 2_000_000.0) == 1

    assert store.get_check(check_id)["draft_text"] is None
    assert store.count("verdict_cache") == 0
    assert [w for w in WORDS if w.encode() in file_bytes(store.path)] == []


def test_forget_user_erases_their_draft_from_a_label_an_admin_gave_on_their_check(database):
    store = Store(database)
    check_id = add(store, "inside-out", 1_000_000.0, user="UALICE", text="Alice's quokka plan to cut the Acme deal",
                   reframe="Customers get X")
    # An admin may press Disagree on anyone's check and pick a label: the label holds Alice's draft under the
    # admin's id. A second copy of the same text, loaded from a file under nobody's id, is hers too.
    decision = store.record_decision(check_id, "disputed", user="UADMIN")
    assert store.label_from_decision(decision, "outside-in", user="UADMIN", workspace="T1")
    store.add_labels([{"workspace": "T2", "text": "Alice's quokka plan to cut the Acme deal", "label": "mixed"},
                      {"workspace": "T1", "text": "Someone else's words", "label": "mixed"}])

    result = forget_user(store, "UALICE")

    assert result["labels_deleted"] == 1
    texts = [r["text"] for r in store.db.query("select text from labels order by text")]
    # Another workspace's label of the same words is that workspace's (an admin loaded it there).
    assert texts == ["Alice's quokka plan to cut the Acme deal", "Someone else's words"]
    assert store.db.query("select workspace from labels where text like 'Alice%'") == [{"workspace": "T2"}]


@pytest.mark.parametrize("kept", ["never stored", "purged"])
def test_forget_user_erases_a_loaded_label_of_their_draft_whose_text_the_check_no_longer_holds(database, kept):
    """A label loaded from a file with the same text as someone's draft is theirs too (README): it was found only by
    the text the check still held, so with MOTIVECHECK_STORE_TEXT=off, or after retention, it stayed."""
    text = "Alice's quokka plan to cut the Acme deal"
    store = Store(database, store_text=kept != "never stored")
    add(store, "inside-out", 1_000_000.0, user="UALICE", text=text)
    if kept == "purged":
        assert purge_texts(store, 2_000_000.0) == 1
    store.add_labels([{"workspace": "T1", "text": text.upper(), "label": "inside-out"},
                      {"workspace": "T1", "text": "Bob's own words", "label": "mixed"}])

    assert forget_user(store, "UALICE")["labels_deleted"] == 1

    assert [r["text"] for r in store.db.query("select text from labels")] == ["Bob's own words"]


def test_retention_takes_a_drafts_words_from_a_label_given_on_it_later(database):
    """A label from a Slack decision holds the draft's words: they went with the draft's text only once the label
    itself was older than the retention period, so a draft labelled 29 days after it was written kept its words
    for 29 days more than the setting allows."""
    store = Store(database)
    now = time.time()
    old = add(store, "inside-out", now - 40 * 86400, user="UALICE", text="Alice's quokka plan to upsell Acme")
    recent = add(store, "inside-out", now - 5 * 86400, user="UBOB", text="Bob's wombat plan to upsell Acme")
    for check_id, user in ((old, "UALICE"), (recent, "UBOB")):  # labelled today, by their authors
        assert store.label_from_decision(store.record_decision(check_id, "disputed", user=user), "mixed",
                                         user=user, workspace="T1")

    assert apply_retention(store, load_settings(env={"MOTIVECHECK_RETENTION_DAYS": "30"}), now=now) == 1

    assert store.get_check(old)["draft_text"] is None
    assert [r["text"] for r in store.db.query("select text from labels")] == ["Bob's wombat plan to upsell Acme"]


def old_checks(store: Store, n: int, ts: float) -> None:
    """``n`` checks written at ``ts`` (a second apart), each with its words in the text and the verdict."""
    v = Verdict(label="inside-out", customer_ease=40, motives=[], engine="rules", reframe="a quokka reframe",
                playbook=PlaybookRef(name="outside-in", version="1"))
    store.insert_checks([store.check_row(v, f"quokka draft {i}", source="import", ts=ts + i, workspace="T1")
                         for i in range(n)])


def test_a_big_purge_goes_in_short_batches_and_stops_when_told(database):
    """The first purge of a long history ran as one write transaction (34 s with 200,000 checks on PostgreSQL; on
    SQLite every other write waited that long): it goes a batch at a time, and may stop between batches."""
    store = Store(database)
    now = time.time()
    old_checks(store, 250, now - 40 * 86400)
    recent = add(store, "mixed", now - 86400, text="recent quokka words")
    asked: list[int] = []

    def keep_going() -> bool:
        asked.append(1)
        return len(asked) < 2

    assert store.purge_texts(now - 30 * 86400, batch=100, keep_going=keep_going) == 200
    assert store.db.value("select count(*) from checks where draft_text is not null") == 51
    assert store.purge_texts(now - 30 * 86400, batch=100) == 50
    assert store.purge_texts(now - 30 * 86400, batch=100) == 0
    assert [r["id"] for r in store.db.query("select id from checks where draft_text is not null")] == [recent]
    assert store.db.value("select count(*) from checks where verdict_json like '%quokka%'") == 0


def test_a_purge_with_nothing_left_to_do_reads_none_of_the_old_checks(tmp_path):
    """Every instance purged every minute, reading every old check to find none left with words (3.6-5.5 s each
    time with 200,000 on PostgreSQL): rows that still hold words are found by an index of only them. Counted in
    SQLite's virtual machine instructions, which grow with every row a statement reads."""
    store = Store(tmp_path / "idle.db")
    now = time.time()
    old_checks(store, 3000, now - 40 * 86400)
    with store.db.write() as tx:  # labels an admin loaded: they stay, however old
        tx.insert_many("labels", [{"workspace": "T1", "text": f"label {i}", "label": "mixed", "source": "file",
                                   "ts": now - 40 * 86400, "text_hash": f"h{i}"} for i in range(3000)])
    assert store.purge_texts(now - 30 * 86400) == 3000
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn = store.db._thread_connection()
    conn.set_progress_handler(count, 100)
    try:
        assert store.purge_texts(now - 30 * 86400) == 0
    finally:
        conn.set_progress_handler(None, 0)
    assert steps * 100 < 3000, steps  # fewer instructions than old rows


def test_retention_runs_on_one_instance_at_a_time(database):
    """Every instance ran the same purge every minute: the digest's claim now hands it to one of them at a time."""
    first, second = Store(database), Store(database)
    now = time.time()
    old = add(first, "inside-out", now - 40 * 86400, text="old quokka words")
    settings = load_settings(env={"MOTIVECHECK_RETENTION_DAYS": "30"})
    assert run_retention(first, settings, "instance-a", every=0.4, now=now) == 1
    add(first, "inside-out", now - 41 * 86400, text="older quokka words")
    assert run_retention(second, settings, "instance-b", every=0.4, now=now) is None  # instance-a just did
    time.sleep(0.25)
    assert run_retention(second, settings, "instance-b", every=0.4, now=now) == 1
    assert first.get_check(old)["draft_text"] is None
    assert run_retention(first, load_settings(env={}), "instance-a", every=0.4) == 0  # retention off: no claim
    second.close()
