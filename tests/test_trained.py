"""The trained engine: the default offline judgment, its two questions (explicit check, channel gate),
confidence, its fallback, and the training code."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot import corpus
from bot.checker import Checker
from bot.config import load_settings
from bot.engines.rules import RulesEngine
from bot.engines.trained import (
    CHANNEL,
    CUE_FEATURES,
    EXPLICIT,
    PROPOSAL,
    Heads,
    LinearHead,
    StaticEmbeddings,
    TrainedEngine,
    decide_trained,
    ease_score,
    load_embeddings,
)
from bot.evaluation import evaluate
from bot.playbook import load_playbook
from bot.text import prepare
from bot.train import (
    MAX_PROPOSALS_DISMISSED,
    SYNTHETIC,
    Features,
    Row,
    SavedFeatures,
    choose_dismiss_thresholds,
    corpus_set,
    decided,
    featurizer_for,
    fit_logistic,
    load_corpus_features,
    load_rows,
    read_texts,
    train,
)
from bot.verdict import LABELS

ROOT = Path(__file__).resolve().parents[1]


def settings_in(tmp_path: Path):
    return load_settings(env={}, db_path=str(tmp_path / "m.db"))
SUPPORT_REPLY = "We will check on this and get back to you soon."
LUNCH = "Anyone up for lunch at the taco place at 12:30? :taco:"
PLAIN_PROPOSAL = ("From next month, the help desk will answer the phone until 8pm on weekdays, so people "
                  "who work late can still reach someone the same day.")


@pytest.fixture(scope="module")
def engine() -> TrainedEngine:
    return TrainedEngine(load_playbook("outside-in"))


def test_the_trained_engine_is_the_offline_default(tmp_path):
    checker = Checker(settings_in(tmp_path))
    verdict, _ = checker.assess("We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter.")
    assert verdict.engine == "trained"
    assert verdict.label in ("inside-out", "mixed")
    assert 0 < verdict.confidence <= 1
    assert verdict.reframe and verdict.evidence  # quotes and the reframe still come from the playbook
    for e in verdict.evidence:
        assert "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."[e.start:e.end] == e.quote
    rules, _ = checker.assess("We'll launch Premium Plus to upsell existing accounts.", engine="rules")
    assert rules.engine == "rules" and rules.confidence is None


def test_the_channel_gate_keeps_a_support_reply_and_a_lunch_plan_quiet(engine):
    for text in (SUPPORT_REPLY, LUNCH):
        verdict = engine.assess(prepare(text), mode=CHANNEL).verdict
        assert verdict.label == "not-a-proposal", text
        assert verdict.evidence == [] and verdict.reframe is None


def test_an_explicit_check_judges_a_real_proposal_with_no_business_words(engine):
    verdict = engine.assess(prepare(PLAIN_PROPOSAL), mode=EXPLICIT).verdict
    assert verdict.label != "not-a-proposal"


def test_customer_ease_agrees_with_the_label(engine):
    drafts = [PLAIN_PROPOSAL, "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter.",
              "Invoices can now be exported in one click, which we expect to lift renewals 10% this year."]
    for text in drafts:
        v = engine.assess(prepare(text)).verdict
        lo, hi = {"outside-in": (60, 100), "mixed": (30, 59), "inside-out": (0, 29)}[v.label]
        assert lo <= v.customer_ease <= hi, (text, v.label, v.customer_ease)


def _heads(gate: float = 0.5, dismiss: float = 0.8) -> Heads:
    one = LinearHead(np.zeros(1, np.float32), np.ones(1, np.float32), np.zeros((1, 4), np.float32),
                     np.zeros(4, np.float32))
    return Heads(one, one, gate, dismiss, 0.55, "t", {})


def test_decide_channel_mode_speaks_only_past_the_gate():
    probs = np.array([0.7, 0.1, 0.1, 0.1])
    assert decide_trained(probs, 0.49, _heads(gate=0.5), CHANNEL)[0] == "not-a-proposal"
    label, conf = decide_trained(probs, 0.51, _heads(gate=0.5), CHANNEL)
    assert label == "outside-in" and conf == pytest.approx(0.7 / 0.9)


def test_decide_explicit_mode_dismisses_only_when_sure():
    unsure = np.array([0.1, 0.2, 0.0, 0.7])
    assert decide_trained(unsure, 0.0, _heads(dismiss=0.8), EXPLICIT)[0] == "inside-out"
    sure = np.array([0.02, 0.05, 0.03, 0.9])
    assert decide_trained(sure, 1.0, _heads(dismiss=0.8), EXPLICIT) == ("not-a-proposal", pytest.approx(0.9))
    assert decide_trained(sure, 1.0, _heads(dismiss=0.8), EXPLICIT, rules_proposal=True)[0] == "inside-out"
    # A short draft has its own threshold; heads saved before there were two use the one for both.
    two = replace(_heads(dismiss=0.5), dismiss_threshold_short=0.8)
    assert decide_trained(unsure, 1.0, two, EXPLICIT, short=False)[0] == "not-a-proposal"
    assert decide_trained(unsure, 1.0, two, EXPLICIT, short=True)[0] == "inside-out"
    assert decide_trained(unsure, 1.0, _heads(dismiss=0.5), EXPLICIT, short=True)[0] == "not-a-proposal"
    assert Heads.from_json(two.to_json()).dismiss_at(True) == 0.8
    old = json.loads(two.to_json())
    del old["dismiss_threshold_short"]
    assert Heads.from_json(json.dumps(old)).dismiss_at(True) == 0.5
    assert ease_score(np.array([0.0, 1.0, 0.0, 0.0]), "inside-out") == 0
    assert ease_score(np.array([0.1, 0.9, 0.0, 0.0]), "outside-in") == 60  # clamped into the label's band


def test_an_unsure_verdict_says_which_way_it_leans(engine):
    verdicts = [engine.assess(prepare(t)).verdict for t in (PLAIN_PROPOSAL, LUNCH, SUPPORT_REPLY,
                "We could maybe look at the onboarding emails again next quarter, thoughts?")]
    for v in verdicts:
        leans = [n for n in v.notes if "leans" in n]
        if v.label != "not-a-proposal" and v.confidence < engine.heads.unsure_below:
            assert leans and v.label in leans[0]
        else:
            assert not leans


def test_word_pieces_follow_bert(engine):
    emb = engine.featurizer.emb
    assert [emb.table.shape[1]] == [emb.dims] and emb.dims >= 64
    pieces = emb.pieces("unaffordable")
    assert len(pieces) >= 2
    vocab = {i: p for p, i in emb.index.items()}
    assert "".join(vocab[i].removeprefix("##") for i in pieces) == "unaffordable"
    assert emb.pieces("x" * 100) == []
    assert np.allclose(np.linalg.norm(emb.mean(["customers", "wait", "less"])), 1.0, atol=1e-3)
    assert not emb.mean([]).any()


def test_missing_model_files_fall_back_to_rules_and_say_so(tmp_path, monkeypatch):
    import bot.engines.trained as trained

    monkeypatch.setattr(trained, "HEAD", tmp_path / "nothing.json")
    checker = Checker(settings_in(tmp_path))
    verdict, _ = checker.assess("We'll launch Premium Plus to upsell existing accounts.")
    assert verdict.engine == "rules"
    assert any("trained engine is unavailable" in n for n in verdict.notes)


def test_bad_embedding_file_is_a_clear_engine_error(tmp_path):
    from bot.errors import EngineError

    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(EngineError, match="cannot read the embedding table"):
        StaticEmbeddings(bad)


def test_cli_as_channel_is_the_apps_gate(tmp_path):
    """`check --as channel` gives exactly what the app's channel path gets from the checker."""
    checker = Checker(settings_in(tmp_path))
    for text in (SUPPORT_REPLY, "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."):
        out = subprocess.run([sys.executable, "-m", "bot", "check", "--as", "channel", "--json", "--text", text],
                             capture_output=True, text=True, timeout=60, check=True, cwd=ROOT).stdout
        cli = json.loads(out)
        app, _ = checker.assess(text, mode=CHANNEL)
        assert (cli["label"], cli["confidence"]) == (app.label, app.confidence)


def test_training_fits_heads_that_learn_and_thresholds_from_dev(tmp_path):
    """Train on two synthetic sets (no corpus text needed): the heads must beat chance on the other."""
    rows = []
    for name, split in (("labelled.jsonl", "train"), ("holdout2.jsonl", "dev")):
        for line in (ROOT / "tests" / "data" / name).read_text().splitlines():
            d = json.loads(line)
            rows.append(Row(d["text"], d["label"], split, "synthetic", True))
    with pytest.raises(ValueError, match="needs Slack rows"):
        train(load_playbook("outside-in"), [Row(r.text, r.label, r.split, r.genre, False) for r in rows])
    report = train(load_playbook("outside-in"), rows)
    heads = report.heads
    assert 0 < heads.gate_threshold <= 1 and 0.3 <= heads.dismiss_threshold <= 1
    assert heads.dismiss_threshold_short is not None and 0.3 <= heads.dismiss_threshold_short <= 1
    assert heads.meta["trained_on"]["train"] == 129 and len(heads.meta["trained_on"]["data_sha256"]) == 64
    path = tmp_path / "head.json"
    heads.save(path)
    engine = TrainedEngine(load_playbook("outside-in"), heads=Heads.load(path))
    dev = [r for r in rows if r.split == "dev"]
    metrics = evaluate((r.label, engine.assess(prepare(r.text)).verdict.label) for r in dev)
    assert metrics["accuracy"] > 0.5  # four labels: chance is 0.25


def _tiny_corpus() -> list[Row]:
    rows = []
    for name, split in (("labelled.jsonl", "train"), ("holdout2.jsonl", "dev")):
        for line in (ROOT / "tests" / "data" / name).read_text().splitlines():
            d = json.loads(line)
            rows.append(Row(d["text"], d["label"], split, "synthetic", True))
    return rows


def test_training_is_deterministic_and_a_row_from_the_saved_features_trains_like_one_from_its_text():
    """Two runs on the same rows give the same head, bit for bit, whether the rows were read from their text or
    taken from saved (float16) features, as on a machine without the corpus text; and the head says what made it."""
    playbook = load_playbook("outside-in")
    rows = _tiny_corpus()
    read = read_texts(featurizer_for(playbook), [r.text for r in rows])
    saved = Features(read.x.astype(np.float16), read.rules_proposal)
    runs = [train(playbook, rows), train(playbook, rows, features=read),
            train(playbook, rows, features=saved, provenance={"commit": "abc"})]
    assert runs[0].heads.to_json() == runs[1].heads.to_json()
    assert replace(runs[2].heads, meta={}).to_json() == replace(runs[0].heads, meta={}).to_json()
    meta = runs[2].heads.meta
    assert meta["produced_by"] == {"commit": "abc"}
    assert meta["parameters"]["steps"] == 600 and meta["parameters"]["l2_grid"] == [100.0, 300.0, 1000.0, 3000.0]
    assert meta["playbook"] == {"name": "outside-in", "version": playbook.version, "sha256": playbook.digest}
    assert meta["trained_on"]["train"] == sum(r.split == "train" for r in rows)


def test_a_fit_settles_on_the_minimum_not_where_it_stopped():
    """Twice the steps, or inputs moved by float16 rounding, barely move the weights: the head is a function of
    the data (at a constant step size Adam kept circling, and tiny input changes moved the head by 10%)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 20)).astype(np.float32)
    y = np.argmax(x[:, :4] + rng.normal(scale=2.0, size=(300, 4)), axis=1)
    weights = np.ones(300)
    w, b = fit_logistic(x, y, 4, l2=30.0, weights=weights)
    w2, b2 = fit_logistic(x, y, 4, l2=30.0, weights=weights, steps=1200)
    w16, _ = fit_logistic(x.astype(np.float16).astype(np.float32), y, 4, l2=30.0, weights=weights)
    np.testing.assert_allclose(w2, w, atol=1e-6)
    np.testing.assert_allclose(b2, b, atol=1e-6)
    assert np.linalg.norm(w16 - w) < 1e-2 * np.linalg.norm(w)


def test_the_saved_corpus_features_are_what_todays_featurizer_reads():
    """The saved features stand in for the corpus text in CI, so they must be today's reading: the synthetic
    rows (whose text is in the repo) are read again and must match, and the shipped heads' input fits."""
    saved = load_corpus_features()
    synthetic = [json.loads(line) for path in SYNTHETIC for line in path.read_text().splitlines() if line.strip()]
    again = read_texts(featurizer_for(load_playbook("outside-in")), [d["text"] for d in synthetic]).x
    tail = saved.features(np.arange(len(saved) - len(synthetic), len(saved))).x
    assert tail.shape == again.shape
    np.testing.assert_allclose(tail, again, atol=2e-3, rtol=2e-3)  # float16 on disk
    assert Heads.load().motive.mean.shape[0] == saved.x.shape[1]


@pytest.mark.skipif(not corpus.has_text(), reason="the corpus text is not here (see corpus/README.md)")
def test_the_saved_corpus_features_read_every_row_that_has_text_as_today():
    """Every corpus row with text here must be read by today's featurizer as the saved features hold it, or
    ``motivecheck train`` cannot fill the rows without text from them and learns from ~300 fewer rows. A change to
    how drafts are read (2cb0eff: an unclosed code fence) went stale on 8 rows; re-read the features then."""
    data = corpus_set(load_playbook("outside-in"))
    assert data.why == "" and data.filled == data.without_text > 0 and data.left_out == 0, data.why


def test_trained_engine_beats_the_rules_engine_on_the_dev_split_from_saved_features():
    """Runs without the corpus text: the engine's own decision on each dev passage's saved reading, against
    the rules engine's label recorded in the same reading (its one-hot columns)."""
    saved = load_corpus_features()
    dev = (saved.split == "dev") & ~saved.slack
    assert dev.sum() >= 150
    x = saved.features(dev).x
    labels = [LABELS[i] for i in saved.label[dev]]
    trained = [lab for lab, _ in decided(Heads.load(), saved.features(dev), EXPLICIT)]
    first = x.shape[1] - len(CUE_FEATURES) + CUE_FEATURES.index("rules_outside_in")
    rules = [LABELS[i] for i in np.argmax(x[:, first:first + len(LABELS)], axis=1)]
    f_trained = evaluate(zip(labels, trained, strict=True))["macro_f1"]
    f_rules = evaluate(zip(labels, rules, strict=True))["macro_f1"]
    assert f_trained > f_rules + 0.03, (f_trained, f_rules)


def _explicit_dismissals(heads: Heads, saved: SavedFeatures, split: str) -> tuple[int, int]:
    """(real proposals dismissed, real proposals) by explicit checks on one split of the saved corpus rows."""
    rows = saved.split == split
    labels = [lab for lab, _ in decided(heads, saved.features(rows), EXPLICIT)]
    proposals = saved.label[rows] != LABELS.index("not-a-proposal")
    return sum(lab == "not-a-proposal" for lab, p in zip(labels, proposals, strict=True) if p), int(proposals.sum())


def test_decide_proposal_mode_judges_even_what_it_is_sure_is_chatter():
    sure = np.array([0.02, 0.05, 0.03, 0.9])
    assert decide_trained(sure, 1.0, _heads(dismiss=0.8), EXPLICIT)[0] == "not-a-proposal"
    label, conf = decide_trained(sure, 0.0, _heads(dismiss=0.8), PROPOSAL)
    assert label == "inside-out" and conf == pytest.approx(0.05 / 0.1)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_explicit_checks_dismiss_at_most_2_in_100_real_proposals(split):
    """Issue 21: someone who asked wants the draft read. Every corpus row (passages and Slack), from its saved
    reading, so it holds without the corpus text; the old single threshold (0.39) dismissed 20 and 13."""
    saved = load_corpus_features()
    dismissed, proposals = _explicit_dismissals(Heads.load(), saved, split)
    assert proposals > 200
    assert dismissed / proposals <= 0.02, (split, dismissed, proposals)
    before, _ = _explicit_dismissals(replace(Heads.load(), dismiss_threshold=0.39, dismiss_threshold_short=None),
                                     saved, split)
    assert before > dismissed  # the test can fail: the old threshold does not pass it


def test_the_shipped_dismiss_thresholds_are_the_ones_chosen_on_dev():
    """Provenance: head.json's thresholds are what ``choose_dismiss_thresholds`` picks on the dev rows (as
    ``motivecheck train`` and ``scripts/dismissals.py --choose`` do), not a number typed in by hand."""
    saved = load_corpus_features()
    dev = saved.split == "dev"
    heads = Heads.load()
    chosen = choose_dismiss_thresholds(heads, saved.features(dev), saved.label[dev], MAX_PROPOSALS_DISMISSED)
    # After `motivecheck train` (full precision) a float16 reading could tip a tie: then run that script.
    assert chosen == (heads.dismiss_threshold, heads.dismiss_threshold_short), "python scripts/dismissals.py --choose"
    assert heads.meta["dismiss"]["max_proposals_dismissed"] == MAX_PROPOSALS_DISMISSED == 0.02


# Short requests in the manner of real Slack proposals: the motive head alone is fairly sure each is chatter
# (0.5-0.7), so the old single dismiss threshold (0.39) waved them away, and so did the rules engine's proposal gate.
ASKED = ["Side request: can we add a short changelog entry for the token rename before Friday's release?",
         "I think the CLI should have an official Docker image built as part of the release.",
         "Could we document the retirement of the old export format more clearly? People keep asking support about it.",
         "Can you tell your teams about the user conference? Early-bird tickets close on Friday."]
PLAINLY_NOT = [LUNCH, "Thanks!", "Can you send me the link to the doc?", "Is the build broken for anyone else?",
               "Happy birthday Marco! :birthday:"]


@pytest.mark.parametrize("engine_name", ["trained", "rules"])
def test_an_explicit_check_reads_a_short_request_and_still_sets_plain_chatter_aside(tmp_path, engine, engine_name):
    checker = Checker(settings_in(tmp_path))
    for text in ASKED:
        assert engine.read(prepare(text))[1][LABELS.index("not-a-proposal")] >= 0.39, text  # the old threshold's
        assert checker.assess(text, engine=engine_name, mode=CHANNEL)[0].label == "not-a-proposal", text
        assert checker.assess(text, engine=engine_name)[0].label != "not-a-proposal", text
    for text in PLAINLY_NOT:
        assert checker.assess(text, engine=engine_name)[0].label == "not-a-proposal", text


@pytest.mark.skipif(not corpus.has_text(), reason="the corpus text is not here (see corpus/README.md)")
def test_both_engines_dismiss_at_most_2_in_100_real_proposals_on_the_corpus_text():
    """The same promise read from the text itself, by the engines as the checker calls them (rows with text)."""
    playbook = load_playbook("outside-in")
    trained, rules = TrainedEngine(playbook), RulesEngine(playbook)
    rows = [r for r in load_rows(synthetic_weight=0) if r.split in ("dev", "test") and r.is_proposal]
    assert len(rows) > 400
    for name, eng in (("trained", trained), ("rules", rules)):
        for split in ("dev", "test"):
            part = [r for r in rows if r.split == split]
            dismissed = sum(eng.assess(prepare(r.text), mode=EXPLICIT).verdict.label == "not-a-proposal" for r in part)
            assert dismissed / len(part) <= 0.02, (name, split, dismissed, len(part))


@pytest.mark.skipif(not corpus.has_text(), reason="the corpus text is not here (see corpus/README.md)")
def test_trained_engine_beats_the_rules_engine_on_the_dev_split():
    playbook = load_playbook("outside-in")
    trained, rules = TrainedEngine(playbook), RulesEngine(playbook)
    dev = [r for r in load_rows(synthetic_weight=0) if r.split == "dev" and not r.slack]
    assert len(dev) >= 150
    f_trained = evaluate((r.label, trained.assess(prepare(r.text)).verdict.label) for r in dev)["macro_f1"]
    f_rules = evaluate((r.label, rules.assess(prepare(r.text)).verdict.label) for r in dev)["macro_f1"]
    assert f_trained > f_rules + 0.03, (f_trained, f_rules)


def test_corpus_files_carry_provenance_and_splits_by_source():
    for name in corpus.FILES:
        rows = [json.loads(line) for line in (corpus.CORPUS_DIR / name).read_text().splitlines() if line.strip()]
        assert len(rows) >= (1000 if name == "passages.jsonl" else 500)
        assert all(r["label"] in LABELS and r["source"] and len(r["sha256"]) == 64 and "text" not in r for r in rows)
        splits_of: dict[str, set[str]] = {}
        for r in rows:
            splits_of.setdefault(r["family"], set()).add(r["split"])
        assert all(len(s) == 1 for s in splits_of.values()), "a source family sits in two splits"
        assert {r["split"] for r in rows} == {"train", "dev", "test"}


def test_load_refuses_text_that_is_not_the_labelled_one(tmp_path, monkeypatch):
    from bot.errors import InputError

    labels = tmp_path / "labels"
    texts = tmp_path / "texts"
    labels.mkdir()
    texts.mkdir()
    import hashlib

    (labels / "passages.jsonl").write_text(json.dumps({"id": "x1", "label": "mixed", "split": "dev",
                                                       "sha256": hashlib.sha256(b"original").hexdigest()}) + "\n")
    (texts / "passages.jsonl").write_text(json.dumps({"id": "x1", "text": "edited"}) + "\n")
    (texts / "slack.jsonl").write_text("")
    monkeypatch.setenv("MOTIVECHECK_CORPUS_TEXT", str(texts))
    with pytest.raises(InputError, match="passages.jsonl:1: the text for x1 differs"):
        corpus.load("passages.jsonl", labels_dir=labels)
    (texts / "passages.jsonl").write_text(json.dumps({"id": "x1", "text": "original"}) + "\n")
    assert corpus.load("passages.jsonl", labels_dir=labels)[0]["text"] == "original"


def test_load_embeddings_is_shared():
    assert load_embeddings() is load_embeddings()


def test_the_cue_features_are_the_named_ones(engine):
    """CUE_FEATURES names every number the heads read beside the embeddings, in order."""
    from bot.engines.trained import CUE_FEATURES

    reading = engine.featurizer.read(prepare(PLAIN_PROPOSAL))
    assert len(reading.vector) == 2 * engine.featurizer.emb.dims + len(CUE_FEATURES)
    assert len(reading.vector) == len(engine.heads.motive.mean)


def test_load_skips_rows_without_text_and_counts_them(tmp_path, monkeypatch):
    import hashlib

    labels, texts = tmp_path / "labels", tmp_path / "texts"
    labels.mkdir()
    texts.mkdir()
    rows = [{"id": f"x{i}", "label": "mixed", "split": "dev", "sha256": hashlib.sha256(f"t{i}".encode()).hexdigest()}
            for i in range(3)]
    (labels / "passages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (texts / "passages.jsonl").write_text(json.dumps({"id": "x1", "text": "t1"}) + "\n")
    monkeypatch.setenv("MOTIVECHECK_CORPUS_TEXT", str(texts))
    loaded = corpus.load("passages.jsonl", labels_dir=labels)
    assert [r["id"] for r in loaded] == ["x1"] and loaded.missing == 2
    assert corpus.skipped_note("passages.jsonl", loaded).startswith("2 of 3 rows of passages.jsonl have no text")


def test_load_joins_the_second_labelling_pass_and_eval_sets_the_engine_beside_it(tmp_path, monkeypatch):
    import hashlib

    from bot.errors import InputError

    labels, texts = tmp_path / "labels", tmp_path / "texts"
    labels.mkdir()
    texts.mkdir()
    drafts = {"x1": "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter.",
              "x2": "Exports now run on a schedule, so admins no longer send them by hand every week."}
    rows = [{"id": i, "label": "inside-out", "split": "test", "genre": "announcement",
             "sha256": hashlib.sha256(t.encode()).hexdigest()} for i, t in drafts.items()]
    (labels / "passages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (texts / "passages.jsonl").write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in drafts.items()))
    (labels / "second_pass.jsonl").write_text(json.dumps({"id": "x2", "label": "outside-in"}) + "\n")
    monkeypatch.setenv("MOTIVECHECK_CORPUS_TEXT", str(texts))
    loaded = corpus.load("passages.jsonl", labels_dir=labels)
    assert [r.get("second_label") for r in loaded] == [None, "outside-in"]

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MOTIVECHECK_DB": str(tmp_path / "e.db"),
           "MOTIVECHECK_CORPUS_TEXT": str(texts)}
    done = subprocess.run([sys.executable, "-m", "bot", "eval", str(labels / "passages.jsonl"), "--engine", "rules"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "beside a second careful person (1 rows the second labelling pass covers)" in done.stdout
    assert "the first pass (a careful person)" in done.stdout

    (labels / "second_pass.jsonl").write_text(json.dumps({"id": "x2", "label": "outside-in"}) + "\n{oops\n")
    with pytest.raises(InputError, match=r"second_pass.jsonl:2: invalid JSON"):
        corpus.load("passages.jsonl", labels_dir=labels)


def test_the_shared_corpus_text_is_found_beside_the_checkout(monkeypatch):
    monkeypatch.delenv("MOTIVECHECK_CORPUS_TEXT", raising=False)
    assert corpus.candidates()[0] == corpus.ROOT.parent / "shared" / "corpus-text"


def test_compare_heads_reads_the_shipped_heads_dev_promises_from_the_saved_features():
    """scripts/compare_heads.py, what README says to run before replacing the shipped head: on dev the shipped head
    passes at least 97% of Slack proposals to the LLM and dismisses at most 2 in 100 real proposals."""
    script, shipped = ROOT / "scripts" / "compare_heads.py", ROOT / "bot" / "models" / "head.json"
    out = subprocess.run([sys.executable, str(script), str(shipped), "--json"], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    figures = next(iter(json.loads(out).values()))
    passed, proposals = figures["prefilter_proposals_passed"]
    dismissed, real = figures["explicit_proposals_dismissed"]
    assert proposals == 53 and passed / proposals >= 0.97
    assert real == 225 and dismissed / real <= 0.02
    assert figures["all"]["rows"] == 388 and figures["all"]["macro_f1"] > 0.4
