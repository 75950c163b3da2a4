"""The coach learns a team's words: labels from a file, a workspace head kept only when it helps and the
corpus holds, versions, rollback, the head named on the verdict, and labels forgotten with their author."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bot.checker import Checker
from bot.cli import main
from bot.config import load_settings
from bot.engines.trained import Heads
from bot.playbook import load_playbook
from bot.store import Store
from bot.train import CORPUS_FEATURES, train_workspace

pytestmark = pytest.mark.skipif(not CORPUS_FEATURES.exists(), reason="bot/models/corpus-features.npz is missing")

# A hotel group's own words: guests, stays, RevPAR, ADR, comp nights, the PMS. None of it is corpus vocabulary.
_EASE = ["check in from their phone and skip the front-desk queue", "get late checkout without calling the desk",
         "see the folio before they leave instead of arguing at the desk", "book the spa in the app the night before",
         "swap rooms without re-keying at reception", "get their invoice by email the minute they check out"]
_GAIN = ["lift RevPAR 6% this season", "push ADR up $14 across the portfolio", "fill comp nights with upsold suites",
         "hit the owner's GOP target for Q3", "grow F&B covers 12% per occupied room", "cut front-office FTEs by two"]
_WHO = ["Guests", "Loyalty members", "Corporate travellers", "Families staying with us"]


def dialect(seed: int = 7, n: int = 60) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        ease, gain, who = rng.choice(_EASE), rng.choice(_GAIN), rng.choice(_WHO)
        kind = i % 3
        if kind == 0:
            text, label = f"From next month {who.lower()} can {ease}. Housekeeping keeps the board updated.", "outside-in"
        elif kind == 1:
            text, label = f"We roll the new rate plan out to every property to {gain} before the owners' review.", "inside-out"
        else:
            text, label = f"We need to {gain}, so {who.lower()} will also {ease}.", "mixed"
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
