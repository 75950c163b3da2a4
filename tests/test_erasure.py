"""Forget and purge reach every copy of a person's words: the whole database file is searched afterwards."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from openai_server import FakeOpenAI, answer, verdict_answer
from test_digest import add  # records a T1 check with a Verdict

from bot.checker import Checker
from bot.config import load_settings
from bot.datacontrols import apply_retention, forget_user, purge_texts
from bot.store import Store

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
