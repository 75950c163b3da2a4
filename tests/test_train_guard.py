"""``motivecheck train`` never quietly replaces shipped model files from less data: the saved corpus features keep
every row, rows without text are read from them (only when they read today's rows alike), and the shipped head is
replaced from a partial corpus only when asked (--allow-partial)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from bot import corpus
from bot.cli import main
from bot.engines.trained import HEAD
from bot.playbook import load_playbook
from bot.train import CORPUS_FEATURES, SYNTHETIC, corpus_set, load_corpus_features, save_corpus_features

pytestmark = pytest.mark.skipif(not CORPUS_FEATURES.exists(), reason="bot/models/corpus-features.npz is missing")

_TEXTS = {
    "p1": ("We should let customers reset their password from the login page.", "outside-in", "train"),
    "p2": ("We will raise prices 8% in Q3 to hit the revenue target.", "inside-out", "dev"),
    "p3": ("This page describes how the billing service stores invoices.", "not-a-proposal", "test"),
    "s1": ("Who has the key to the storage room?", "not-a-proposal", "train"),
    "s2": ("From Monday guests can check in from their phone and skip the queue.", "outside-in", "dev"),
}


def _small_corpus(tmp_path: Path, with_text: set[str]) -> tuple[Path, Path]:
    """A corpus folder (labels) and a text folder holding the text of ``with_text`` only."""
    labels, texts = tmp_path / "labels", tmp_path / "texts"
    labels.mkdir(exist_ok=True)
    texts.mkdir(exist_ok=True)
    for name, prefix in (("passages.jsonl", "p"), ("slack.jsonl", "s")):
        ids = [i for i in _TEXTS if i.startswith(prefix)]
        (labels / name).write_text("".join(json.dumps(
            {"id": i, "label": _TEXTS[i][1], "split": _TEXTS[i][2], "genre": "slack" if prefix == "s" else "rfc",
             "sha256": hashlib.sha256(_TEXTS[i][0].encode()).hexdigest()}) + "\n" for i in ids))
        (texts / name).write_text("".join(json.dumps({"id": i, "text": _TEXTS[i][0]}) + "\n"
                                          for i in ids if i in with_text))
    return labels, texts


def test_rows_without_text_take_the_saved_features_when_those_read_todays_rows_alike(tmp_path, monkeypatch):
    labels, texts = _small_corpus(tmp_path, set(_TEXTS))
    monkeypatch.setenv("MOTIVECHECK_CORPUS_TEXT", str(texts))
    playbook = load_playbook("outside-in")
    full = corpus_set(playbook, saved_path=tmp_path / "none.npz", labels_dir=labels)
    assert full.total == 5 and full.without_text == 0 and full.left_out == 0
    saved = tmp_path / "features.npz"
    save_corpus_features(full.rows, full.features, saved)

    _small_corpus(tmp_path, {"p1", "s1"})  # p2, p3 and s2 lose their text
    notes: list[str] = []
    part = corpus_set(playbook, saved_path=saved, labels_dir=labels, notes=notes)
    assert (part.without_text, part.filled, part.left_out, part.why) == (3, 3, 0, "")
    assert [r.id for r in part.rows] == [r.id for r in full.rows]
    np.testing.assert_allclose(part.features.x, full.features.x, atol=2e-3, rtol=2e-3)
    assert any(n.startswith("2 of 3 rows of passages.jsonl have no text") for n in notes), notes

    # Read with another playbook, today's rows differ from the saved ones: nothing is filled, and it says why.
    other = tmp_path / "other.yaml"
    other.write_text("extends: outside-in\nname: other\nproposal:\n  threshold: 9\n")
    refused = corpus_set(load_playbook(str(other)), saved_path=saved, labels_dir=labels)
    assert (refused.without_text, refused.filled, refused.left_out) == (3, 0, 3)
    assert "read" in refused.why and "differently" in refused.why
    assert len(refused.rows) == 2 + sum(1 for p in SYNTHETIC for line in p.read_text().splitlines() if line.strip())


def test_the_saved_corpus_features_are_never_replaced_by_fewer_rows(tmp_path, monkeypatch):
    labels, texts = _small_corpus(tmp_path, set(_TEXTS))
    monkeypatch.setenv("MOTIVECHECK_CORPUS_TEXT", str(texts))
    full = corpus_set(load_playbook("outside-in"), saved_path=tmp_path / "none.npz", labels_dir=labels)
    saved = tmp_path / "features.npz"
    save_corpus_features(full.rows, full.features, saved)
    before = saved.read_bytes()
    with pytest.raises(ValueError, match="not replacing it"):
        save_corpus_features(full.rows[1:], full.features.take(np.arange(len(full.rows)) > 0), saved)
    assert saved.read_bytes() == before
    ids = load_corpus_features(saved).id
    assert ids is not None and list(ids[:5]) == ["p1", "p2", "p3", "s1", "s2"]


def test_train_refuses_to_replace_the_shipped_head_from_a_partial_corpus(tmp_path, monkeypatch, capsys):
    """Every corpus row lacks text, and another playbook reads rows unlike the saved features: one clear line, and
    neither the shipped head nor the saved features change."""
    _labels, texts = _small_corpus(tmp_path, set())
    monkeypatch.setenv("MOTIVECHECK_CORPUS_TEXT", str(texts))
    other = tmp_path / "other.yaml"
    other.write_text("extends: outside-in\nname: other\nproposal:\n  threshold: 9\n")
    head, features = HEAD.read_bytes(), CORPUS_FEATURES.read_bytes()
    assert main(["train", "--playbook", str(other)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("motivecheck: error") or "--allow-partial" in line]
    assert len(lines) == 1, err
    n = sum(1 for name in corpus.FILES for line in (corpus.CORPUS_DIR / name).read_text().splitlines() if line.strip())
    assert f"{n} of {n} corpus rows have no text in {texts}" in lines[0]
    assert "the shipped head stays" in lines[0] and "--allow-partial" in lines[0]
    assert HEAD.read_bytes() == head and CORPUS_FEATURES.read_bytes() == features
