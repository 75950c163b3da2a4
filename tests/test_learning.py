"""The coach learns a team's words: labels from a file, a workspace head kept only when it helps and the
corpus holds, versions, rollback, the head named on the verdict, and labels forgotten with their author."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from test_digest import add  # records a T1 check with a Verdict

from bot.checker import Checker
from bot.cli import main
from bot.config import load_settings
from bot.engines.trained import Heads
from bot.playbook import load_playbook
from bot.store import Store
from bot.train import CORPUS_FEATURES, held_back, train_workspace

pytestmark = pytest.mark.skipif(not CORPUS_FEATURES.exists(), reason="bot/models/corpus-features.npz is missing")

# A hotel group's own words: guests, stays, RevPAR, ADR, comp nights, the PMS. None of it is corpus vocabulary.
_EASE = ["check in from their phone and skip the front-desk queue", "get late checkout without calling the desk",
         "see the folio before they leave instead of arguing at the desk", "book the spa in the app the night before",
         "swap rooms without re-keying at reception", "get their invoice by email the minute they check out"]
_GAIN = ["lift RevPAR 6% this season", "push ADR up $14 across the portfolio", "fill comp nights with upsold suites",
         "hit the owner's GOP target for Q3", "grow F&B covers 12% per occupied room", "cut front-office FTEs by two"]
_WHO = ["Guests", "Loyalty members", "Corporate travellers", "Families staying with us"]


_HOTELS = ["the Harbour", "Old Town", "the Airport hotel", "Riverside", "Lakeside", "Central", "the Beach resort",
           "the Lodge", "Station Square", "the Garden inn"]


def dialect(seed: int = 7, n: int = 60) -> list[dict[str, str]]:
    """``n`` distinct drafts (a text labelled twice is stored once), a third of each label."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    while len(rows) < n:
        i = len(rows)
        ease, gain, who, hotel = rng.choice(_EASE), rng.choice(_GAIN), rng.choice(_WHO), rng.choice(_HOTELS)
        kind = i % 3
        if kind == 0:
            text, label = (f"From next month {who.lower()} at {hotel} can {ease}. Housekeeping keeps the board "
                           "updated."), "outside-in"
        elif kind == 1:
            text, label = f"We roll the new rate plan out to {hotel} to {gain} before the owners' review.", "inside-out"
        else:
            text, label = f"We need to {gain} at {hotel}, so {who.lower()} will also {ease}.", "mixed"
        if text not in seen:
            seen.add(text)
            rows.append({"text": text, "label": label, "user": f"U{i % 4}"})
    return rows


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "m.db")


def _label_file(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_a_workspace_head_learns_its_dialect_and_the_corpus_holds(tmp_path, db, capsys):
    path = _label_file(tmp_path, dialect())
    with path.open("a") as f:
        f.write('{"text": "no label here"}\nnot json\n{"text": "x", "label": "great"}\n')
    assert main(["label", str(path), "--workspace", "T1", "--db", db]) == 0
    out = capsys.readouterr()
    assert "recorded 60 label(s) for T1, skipped 3 bad line(s)" in out.out
    assert "labels.jsonl:61:" in out.err and "labels.jsonl:62:" in out.err and "labels.jsonl:63:" in out.err

    assert main(["train", "--workspace", "T1", "--db", db, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    before, after = report["held_back_accuracy"]
    t_before, t_after = report["corpus_test_macro_f1"]
    assert report["kept"] and report["version"] == 1, report
    assert after > before
    assert t_after >= t_before - 0.02

    settings = load_settings(env={}, db_path=db)
    checker = Checker(settings, Store(db))
    text = "Starting Monday loyalty members can get late checkout without calling the desk."
    own, _ = checker.assess(text, workspace="T1")
    other, _ = checker.assess(text, workspace="T2")
    assert own.head == "T1 v1" and other.head == "shipped"

    assert main(["model", "list", "--db", db]) == 0
    assert "T1 v1 (active)" in capsys.readouterr().out
    assert main(["model", "rollback", "--workspace", "T1", "--db", db]) == 0
    assert "shipped head" in capsys.readouterr().out
    assert Store(db).active_head("T1") is None
    assert main(["model", "rollback", "--workspace", "T1", "--to", "1", "--db", db]) == 0
    assert Store(db).active_head("T1")[0] == 1
    assert main(["model", "rollback", "--workspace", "T1", "--to", "9", "--db", db]) == 2


def test_a_retrain_that_would_hurt_is_refused_with_the_figures(tmp_path, db, capsys):
    rng = random.Random(3)
    noise = [{**r, "label": rng.choice(["outside-in", "inside-out", "mixed", "not-a-proposal"])} for r in dialect(11)]
    assert main(["label", str(_label_file(tmp_path, noise)), "--workspace", "T9", "--db", db]) == 0
    capsys.readouterr()
    assert main(["train", "--workspace", "T9", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "the old head stays" in out and "held-back accuracy" in out and "corpus test macro-F1" in out
    assert Store(db).heads("T9") == []


def test_too_few_labels_is_a_clear_error(tmp_path, db, capsys):
    assert main(["label", str(_label_file(tmp_path, dialect(n=5))), "--workspace", "T3", "--db", db]) == 0
    assert main(["train", "--workspace", "T3", "--db", db]) == 2
    assert "at least 10 labelled drafts" in capsys.readouterr().err


def test_model_list_json_gives_each_heads_metrics_once_parsed(db, capsys):
    """--json printed the stored metrics twice: parsed as ``metrics`` and again as the raw ``metrics_json`` string."""
    Store(db).save_head("T1", "{}", {"labels": 60, "held_back_accuracy": [0.5, 1.0]}, active=True)
    assert main(["model", "list", "--db", db, "--json"]) == 0
    (head,) = json.loads(capsys.readouterr().out)
    assert head["metrics"] == {"labels": 60, "held_back_accuracy": [0.5, 1.0]} and "metrics_json" not in head
    assert (head["workspace"], head["version"], head["active"]) == ("T1", 1, 1)


def test_labels_of_people_who_opted_out_or_were_forgotten_are_not_used(db):
    store = Store(db)
    store.add_labels([{"workspace": "T1", **r} for r in dialect(n=8)])
    assert len(store.labels_for("T1")) == 8
    store.set_optout("T1", "U0", True)
    kept = store.labels_for("T1")
    assert all(r["user"] != "U0" for r in kept) and len(kept) == 6
    result = store.forget_user("U1")
    assert result["labels_deleted"] == 2
    assert all(r["user"] != "U1" for r in store.labels_for("T1"))
    forgotten = [r["text"] for r in dialect(n=8) if r["user"] == "U1"]
    data = Path(db).read_bytes()
    left = {r["text"] for r in store.labels_for("T1")} | {r["text"] for r in dialect(n=8) if r["user"] == "U0"}
    for text in forgotten:
        assert text in left or text.encode() not in data  # gone from the file unless another label has it


def test_train_workspace_is_pure_over_its_inputs():
    rows = [(r["text"], r["label"]) for r in dialect()]
    one = train_workspace(load_playbook("outside-in"), Heads.load(), rows)
    two = train_workspace(load_playbook("outside-in"), Heads.load(), rows)
    assert one.figures == two.figures and one.kept == two.kept


def test_the_disagree_label_reaches_the_store_through_signed_slack_requests(slack, tmp_path):
    from test_slack import PREMIUM, RunningApp, settings_for

    app = RunningApp(settings_for(slack, tmp_path))
    try:
        assert app.command(PREMIUM, response_url=slack.response_url("r1"))[0] == 200
        assert slack.wait_for(lambda: slack.responses)
        actions = [b for b in slack.responses[0][1]["blocks"] if b["type"] == "actions"][0]
        check_id = int(actions["elements"][0]["value"])
        assert app.action("mc_disagree", check_id, response_url=slack.response_url("r2"))[0] == 200
        assert slack.wait_for(lambda: slack.calls("views.open"))
        modal = slack.calls("views.open")[0]["view"]
        select = next(b for b in modal["blocks"] if b["block_id"] == "label")
        assert select["label"]["text"] == "What is it, in your view?"
        assert [o["value"] for o in select["element"]["options"]] == ["outside-in", "mixed", "inside-out",
                                                                     "not-a-proposal"]
        values = {"label": {"value": {"type": "static_select", "selected_option": {"value": "mixed"}}},
                  "reason": {"text": {"type": "plain_text_input", "value": "the benefit is real"}}}
        assert app.submit_view("mc_reason_modal", values, modal["private_metadata"])[0] == 200
        store = app.deps.store
        assert slack.wait_for(lambda: store.labels_for("T111"))
        (label,) = store.labels_for("T111")
        assert (label["label"], label["text"], label["user"], label["source"]) == (
            "mixed", PREMIUM, "U111", f"decision:{modal['private_metadata']}")
        assert store.decisions_for(check_id)[-1]["label"] == "mixed"
        # Keep mine with a reason is shown to admins but never used as a label.
        assert app.action("mc_keep", check_id, response_url=slack.response_url("r3"))[0] == 200
        assert slack.wait_for(lambda: len(slack.calls("views.open")) == 2)
        keep = slack.calls("views.open")[1]["view"]
        assert all(b.get("block_id") != "label" for b in keep["blocks"])
    finally:
        app.stop()


def test_an_admin_retrains_from_slack_and_app_home_shows_the_head(slack, tmp_path):
    from test_slack import RunningApp, settings_for

    app = RunningApp(settings_for(slack, tmp_path, MOTIVECHECK_ADMINS="U111"))
    try:
        app.deps.store.add_labels([{"workspace": "T111", **r} for r in dialect()])
        assert app.command("retrain", response_url=slack.response_url("rt"))[0] == 200
        assert slack.wait_for(lambda: slack.responses, timeout=60)
        text = slack.responses[0][1]["text"]
        assert "Retrained on 60 labels (12 held back): kept as head v1" in text, text
        assert "held-back accuracy" in text and "corpus test macro-F1" in text
        body = {"type": "event_callback", "team_id": "T111", "api_app_id": "A111", "event_id": "EvHome",
                "event_time": 1, "event": {"type": "app_home_opened", "user": "U111", "tab": "home",
                                           "channel": "D111", "event_ts": "1.0"}}
        assert app.post(json.dumps(body), "application/json")[0] == 200
        assert slack.wait_for(lambda: slack.calls("views.publish"))
        home = json.dumps(slack.calls("views.publish")[-1]["view"], ensure_ascii=False)
        assert "own (v1)" in home and "60 label(s)" in home
    finally:
        app.stop()


def test_a_head_saved_before_the_dismiss_thresholds_changed_uses_the_shipped_ones(db):
    """Workspace heads keep their own weights; when an explicit check may dismiss is the shipped head's choice."""
    shipped = Heads.load()
    old = json.loads(shipped.to_json())
    old["dismiss_threshold"] = 0.2
    del old["dismiss_threshold_short"]  # as heads were saved before there were two thresholds
    store = Store(db)
    store.save_head("T9", json.dumps(old), {}, active=True)
    checker = Checker(load_settings(env={}, db_path=db), store)
    engine = checker.workspace_engine(checker.default_playbook, "T9")
    assert engine is not None and engine.head_name == "T9 v1"
    assert (engine.heads.dismiss_at(False), engine.heads.dismiss_at(True)) == (shipped.dismiss_threshold,
                                                                               shipped.dismiss_threshold_short)


def test_a_text_labelled_again_is_stored_once_with_the_latest_label(database):
    store = Store(database)
    first = store.add_labels([{"workspace": "T1", "text": "Guests skip the queue.", "label": "outside-in"},
                              {"workspace": "T1", "text": "Lift ADR by $14.", "label": "mixed"},
                              {"workspace": "T1", "text": "Lift ADR by $14.", "label": "inside-out"},
                              {"workspace": "T2", "text": "Guests skip the queue.", "label": "mixed"}])
    assert (first.stored, first.repeated, first.replaced) == (3, 1, 0)
    again = store.add_labels([{"workspace": "T1", "text": "Guests skip the queue.", "label": "mixed", "user": "U2"}])
    assert (again.stored, again.repeated, again.replaced) == (1, 0, 1)
    assert sorted((r["text"], r["label"]) for r in store.labels_for("T1")) == [
        ("Guests skip the queue.", "mixed"), ("Lift ADR by $14.", "inside-out")]
    assert [r["label"] for r in store.labels_for("T2")] == ["mixed"]  # another workspace's label is its own


def test_a_draft_labelled_again_re_cased_or_re_spaced_replaces_its_label(database):
    """One draft, whatever its case and spacing: the verdict cache answers such copies as one and a retrain holds
    them back together, so the store keeps one label for them, the latest (it kept two, which both trained)."""
    store = Store(database)
    store.add_labels([{"workspace": "T1", "text": "Lift ADR by $14 at the Harbour.", "label": "inside-out"},
                      {"workspace": "T2", "text": "Lift ADR by $14 at the Harbour.", "label": "mixed"}])
    again = store.add_labels([{"workspace": "T1", "text": "lift ADR by  $14 at the harbour.", "label": "mixed"},
                              {"workspace": "T1", "text": " LIFT ADR BY $14\nAT THE HARBOUR.\u200b", "label": "mixed"}])
    assert (again.stored, again.repeated, again.replaced) == (1, 1, 1)
    assert [(r["text"], r["label"]) for r in store.labels_for("T1")] == [
        (" LIFT ADR BY $14\nAT THE HARBOUR.\u200b", "mixed")]
    assert [r["label"] for r in store.labels_for("T2")] == ["mixed"]
    texts = [r["text"] for r in dialect()[:30]]
    variants = [" ".join(t.upper().split(" ")) + "  " for t in texts[:10]]
    store.add_labels([{"workspace": "T3", "text": t, "label": "mixed"} for t in texts + variants])
    kept = [r["text"] for r in store.labels_for("T3")]
    # The store and the hold-out count the same drafts: 30 rows, and each variant on its original's side.
    assert len(kept) == 30 and list(held_back(texts + variants)[30:]) == list(held_back(texts)[:10])


def test_the_held_back_labels_are_chosen_by_text_so_no_text_is_on_both_sides():
    texts = [r["text"] for r in dialect()]
    held = held_back(texts + texts[:20] + ["  " + texts[3].upper() + " "])
    assert 10 <= held[:60].sum() <= 14  # about a fifth of the distinct texts
    assert list(held[60:80]) == list(held[:20]) and held[-1] == held[3]  # a copy is on its text's side
    shuffled = texts[::-1]
    assert {t for t, h in zip(shuffled, held_back(shuffled), strict=True) if h} == {
        t for t, h in zip(texts, held, strict=False) if h}  # by text, not position


def test_labelling_a_file_twice_changes_nothing_a_retrain_measures(tmp_path, capsys):
    """The same file labelled twice once put copies of held-back drafts into training, and a worse head was kept."""
    holdout = str(Path(__file__).parent / "data" / "holdout3.jsonl")
    reports = []
    for times, db in ((1, str(tmp_path / "once.db")), (2, str(tmp_path / "twice.db"))):
        for _ in range(times):
            assert main(["label", holdout, "--workspace", "T1", "--db", db]) == 0
        out = capsys.readouterr().out
        assert ("40 replaced a label stored before" in out) == (times == 2), out
        assert main(["train", "--workspace", "T1", "--db", db, "--json"]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    once, twice = reports
    assert twice["labels"] == once["labels"] == 40 and twice["held_back"] == once["held_back"] == 8
    assert twice == once


def test_an_opted_out_authors_draft_is_never_stored_as_a_label_whoever_gives_it(database):
    store = Store(database)
    check_id = add(store, "inside-out", 1_000_000.0, user="UALICE", text="Alice's draft about the Acme renewal")
    store.set_optout("T1", "UALICE", True)
    decision = store.record_decision(check_id, "disputed", user="UADMIN")
    assert store.label_from_decision(decision, "outside-in", user="UADMIN", workspace="T1")
    assert store.decisions_for(check_id)[0]["label"] == "outside-in"  # the admin's view stays on the decision
    assert store.count("labels") == 0  # but Alice's words are not kept as a label


def test_a_label_given_on_someone_elses_check_is_not_trained_on_once_its_author_opts_out(database):
    store = Store(database)
    check_id = add(store, "inside-out", 1_000_000.0, user="UALICE", text="Alice's draft about the Acme renewal")
    decision = store.record_decision(check_id, "disputed", user="UADMIN")  # an admin's Disagree, on Alice's check
    assert store.label_from_decision(decision, "outside-in", user="UADMIN", workspace="T1")
    assert [r["text"] for r in store.labels_for("T1")] == ["Alice's draft about the Acme renewal"]
    store.set_optout("T1", "UALICE", True)
    assert store.labels_for("T1") == []  # her opt-out covers her words, whoever labelled them
    store.set_optout("T1", "UALICE", False)
    assert len(store.labels_for("T1")) == 1


def test_only_the_labels_on_an_opted_out_authors_checks_in_that_workspace_are_left_out(database):
    """labels_for finds the labels on opted-out authors' checks once, from the workspace's opt-outs: a label with no
    source (written by an early version), one on another author's check, and one given where the author did not opt
    out stay."""
    store = Store(database)
    for author in ("UALICE", "UBOB"):
        check_id = add(store, "inside-out", 1_000_000.0, user=author, text=f"{author}'s draft about the renewal")
        decision = store.record_decision(check_id, "disputed", user="UADMIN")
        assert store.label_from_decision(decision, "outside-in", user="UADMIN", workspace="T1")
    with store.db.write() as tx:
        tx.insert("labels", {"workspace": "T1", "text": "An early label.", "text_hash": "h", "label": "mixed",
                             "ts": 1.0})
    store.set_optout("T2", "UALICE", True)  # elsewhere: not here
    assert len(store.labels_for("T1")) == 3
    store.set_optout("T1", "UALICE", True)
    assert sorted(r["text"] for r in store.labels_for("T1")) == ["An early label.", "UBOB's draft about the renewal"]
