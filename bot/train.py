"""Train the trained engine's heads from the real-text corpus (``motivecheck train``).

Pure numpy, a few seconds on one core: the embedding table is fixed (``scripts/build_embeddings.py``);
only the heads are learned here.

* motive head: multinomial logistic regression over the four labels, on the train split of
  ``corpus/passages.jsonl`` and ``corpus/slack.jsonl`` (chatter counts as not-a-proposal), classes weighted
  to balance; its L2 strength is chosen by macro-F1 on the dev split, then a temperature is fitted on dev
  so its confidence is calibrated.
* channel gate: logistic regression, proposal vs chatter, on the Slack train rows and the typed synthetic
  drafts; its L2 and threshold catch the most Slack dev proposals while speaking on at most
  ``max_chatter_spoken`` (5%) of Slack dev chatter.
* dismiss thresholds for explicit checks (one for short drafts, one for longer): not-a-proposal only when the
  motive head is this sure (and the playbook finds no proposal cue); the best dev macro-F1 among pairs that
  dismiss at most ``MAX_PROPOSALS_DISMISSED`` (2 in 100) of dev proposals (``choose_dismiss_thresholds``).

``train`` never reads the test split. ``train_workspace`` does, as the issue asks: a workspace head is kept
only if the corpus test figure holds (from the saved features, not the text).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import corpus
from .engines.rules import RulesEngine
from .engines.trained import (
    CHANNEL,
    EXPLICIT,
    Featurizer,
    Heads,
    LinearHead,
    decide_trained,
    load_embeddings,
    short_of,
)
from .evaluation import evaluate, expected_calibration_error
from .playbook import Playbook
from .store import Store
from .text import draft_hash, prepare
from .verdict import LABELS

L2_GRID = (100.0, 300.0, 1000.0, 3000.0)
STEPS = 600  # full-batch Adam steps per fit
LEARNING_RATE = 0.05  # Adam's first step size; it decays to 0 (fit_logistic)
SEED = 0  # the weights' starting draw (the fit converges, so it hardly matters, but it is fixed)
# Explicit checks (/motivecheck, the CLI, the modal, the workflow step) may dismiss at most this share of the dev
# split's real proposals: someone who asked wants the draft read, not waved away (issue 21: at most 2 in 100).
MAX_PROPOSALS_DISMISSED = 0.02


@dataclass
class Row:
    text: str
    label: str
    split: str
    genre: str
    slack: bool
    weight: float = 1.0
    id: str = ""
    sha256: str = ""  # of the text; what ``data_hash`` reads, so a row read from the saved features counts alike

    @property
    def is_proposal(self) -> bool:
        return self.label != "not-a-proposal"


# Short drafts written for this project's regression tests. Real writing is mostly long; these teach the
# heads what a typed Slack draft looks like. They count for less than real rows and join the train split
# only; holdout3/holdout4 stay out, so they remain unseen.
SYNTHETIC = tuple(corpus.ROOT / "tests" / "data" / f for f in ("labelled.jsonl", "holdout.jsonl", "holdout2.jsonl"))
SYNTHETIC_WEIGHT = 2.0
MIN_PREFILTER_RECALL = 0.97  # in front of an LLM, the channel gate passes at least this share of dev proposals
UNSURE_BELOW = 0.55  # below this confidence a verdict says which way it leans


def load_rows(names: Iterable[str] = corpus.FILES, *, synthetic_weight: float = SYNTHETIC_WEIGHT,
              notes: list[str] | None = None) -> list[Row]:
    """The corpus rows (text joined in; see bot/corpus.py), plus the synthetic drafts in the train split.

    Rows whose text is not here are skipped; ``notes`` receives one line per file saying how many."""
    rows, has_text = all_rows(names, synthetic_weight=synthetic_weight, notes=notes)
    return [r for r, h in zip(rows, has_text, strict=True) if h]


def all_rows(names: Iterable[str] = corpus.FILES, *, synthetic_weight: float = SYNTHETIC_WEIGHT,
             notes: list[str] | None = None, labels_dir: Path = corpus.CORPUS_DIR) -> tuple[list[Row], list[bool]]:
    """Every labelled row in file order (corpus files, then the synthetic drafts), and which have their text here
    (a row without text has ``text`` "")."""
    rows, has_text = [], []
    for name in names:
        loaded = corpus.load(name, labels_dir=labels_dir, keep_missing=True)
        if notes is not None and (note := corpus.skipped_note(name, loaded)):
            notes.append(note)
        for d in loaded:
            rows.append(Row(d["text"] or "", d["label"], d["split"], d.get("genre", ""), d.get("genre") == "slack",
                            id=d["id"], sha256=d["sha256"]))
            has_text.append(d["text"] is not None)
    if synthetic_weight > 0:
        for path in SYNTHETIC:
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    d = json.loads(line)
                    rows.append(Row(d["text"], d["label"], "train", "synthetic", False, synthetic_weight,
                                    id=f"synthetic:{path.name}:{n}"))
                    has_text.append(True)
    return rows, has_text


def data_hash(rows: Sequence[Row]) -> str:
    """The sha256 of each row's split, label and text's sha256: the same for a row read from the saved features."""
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r.split}\t{r.label}\t{r.sha256 or hashlib.sha256(r.text.encode()).hexdigest()}\n".encode())
    return h.hexdigest()


def fit_logistic(x: np.ndarray, y: np.ndarray, k: int, *, l2: float, weights: np.ndarray,
                 steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Weighted multinomial (k > 1) or binary (k == 1) logistic regression by full-batch Adam.

    The step size falls from ``LEARNING_RATE`` to 0 along a half cosine, so the weights settle on the minimum of
    the (strictly convex) objective: at a constant step Adam kept circling it, and where it stopped after 600
    steps moved 10% when a few inputs moved by float16 rounding (the gradient was still 0.5; now below 1e-12)."""
    rng = np.random.default_rng(SEED)
    x = np.asarray(x, dtype=np.float64)  # once, not a float32 -> float64 conversion in every product
    w = rng.normal(0, 0.01, (x.shape[1], k))
    b = np.zeros(k)
    target = y[:, None].astype(float) if k == 1 else np.eye(k)[y]
    mw, vw, mb, vb = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    sw = weights / weights.sum()
    for t in range(1, steps + 1):
        z = x @ w + b
        if k == 1:
            p = 1 / (1 + np.exp(-z))
        else:
            z = z - z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
        g = (p - target) * sw[:, None]
        gw = x.T @ g + l2 * w / len(x)
        gb = g.sum(axis=0)
        rate = LEARNING_RATE * 0.5 * (1 + np.cos(np.pi * (t - 1) / steps))
        for param, grad, m, v in ((w, gw, mw, vw), (b, gb, mb, vb)):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= rate * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w, b


def balanced(y: np.ndarray) -> np.ndarray:
    counts = np.bincount(y)
    return (len(y) / (len(counts) * np.maximum(counts, 1)))[y]


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale < 1e-6, 1.0, scale)


def fit_temperature(head: LinearHead, x: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises dev negative log-likelihood (grid: calibration needs no more)."""
    logits = head.logits(x)
    best, best_t = np.inf, 1.0
    for t in np.arange(0.25, 8.01, 0.05):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        nll = -logp[np.arange(len(y)), y].mean()
        if nll < best:
            best, best_t = nll, float(t)
    return best_t


@dataclass(frozen=True)
class Features:
    """What the heads see of each row, and whether the playbook's proposal cues call it a proposal (the
    second key for dismissing): one reading per row, shared by training, measuring and the saved features."""

    x: np.ndarray
    rules_proposal: np.ndarray

    def take(self, mask: np.ndarray) -> Features:
        return Features(self.x[mask], self.rules_proposal[mask])


def at_saved_precision(x: np.ndarray) -> np.ndarray:
    """``x`` as ``save_corpus_features`` keeps it (float16), back in float32."""
    return np.asarray(x).astype(np.float16).astype(np.float32)


def read_texts(featurizer: Featurizer, texts: Sequence[str]) -> Features:
    readings = [featurizer.read(prepare(text)) for text in texts]
    if not readings:
        return Features(np.zeros((0, 0), np.float32), np.zeros(0, bool))
    return Features(np.stack([r.vector for r in readings]),
                    np.array([r.scores.is_proposal for r in readings], dtype=bool))


def featurizer_for(playbook: Playbook) -> Featurizer:
    return Featurizer(RulesEngine(playbook), load_embeddings())


@dataclass
class TrainReport:
    heads: Heads
    dev: dict
    text: str


def choose_dismiss_thresholds(heads: Heads, dev: Features, y_dev: np.ndarray,
                              max_proposals_dismissed: float = MAX_PROPOSALS_DISMISSED) -> tuple[float, float]:
    """The explicit checks' dismiss thresholds, for longer and for short drafts: the pair (each 0.30-0.99) with the
    best dev macro-F1 among those that call at most ``max_proposals_dismissed`` of the dev proposals
    not-a-proposal (ties: the lower thresholds). Two, because the motive head is sure a short message is chatter
    far more often than it is right (a third of the Slack dev proposals at 0.39), and rarely wrong on long text.

    ``train`` and ``scripts/dismissals.py --choose`` (which re-chooses them for the shipped heads from the saved
    corpus features) both call this, so the shipped numbers always have this one provenance."""
    gold = [LABELS[i] for i in y_dev]
    is_prop = y_dev != LABELS.index("not-a-proposal")
    probs = heads.motive.probs(dev.x)
    p_prop = heads.gate.probs(dev.x)[:, 0]
    short = short_of(dev.x)
    grid = [float(t) for t in np.round(np.arange(0.30, 0.991, 0.01), 2)]  # round: 0.76, not 0.7600000000000005

    def labels_at(t: float, part: np.ndarray) -> list[str]:
        trial = replace(heads, dismiss_threshold=t, dismiss_threshold_short=t)
        return [decide_trained(probs[i], float(p_prop[i]), trial, EXPLICIT, bool(dev.rules_proposal[i]),
                               bool(short[i]))[0] for i in np.flatnonzero(part)]

    # Short and long drafts never share a threshold, so each part's labels are worked out once per threshold.
    parts = {name: (part, [gold[i] for i in np.flatnonzero(part)], int((part & is_prop).sum()))
             for name, part in (("long", ~short), ("short", short))}
    labels = {name: {t: labels_at(t, part) for t in grid} for name, (part, _g, _n) in parts.items()}
    prop_of = {name: [bool(is_prop[i]) for i in np.flatnonzero(part)] for name, (part, _g, _n) in parts.items()}
    dismissed = {name: {t: sum(lab == "not-a-proposal" and p for lab, p in zip(labs, prop_of[name], strict=True))
                        for t, labs in by_t.items()} for name, by_t in labels.items()}
    allowed = max_proposals_dismissed * max(1, int(is_prop.sum()))
    best_key, best = (-1.0, -1.0, -1.0), (0.99, 0.99)
    gold_pair = parts["long"][1] + parts["short"][1]
    for t_long in grid:
        for t_short in grid:
            if dismissed["long"][t_long] + dismissed["short"][t_short] > allowed:
                continue
            f1 = evaluate(zip(gold_pair, labels["long"][t_long] + labels["short"][t_short], strict=True))["macro_f1"]
            if (f1, -t_long, -t_short) > best_key:
                best_key, best = (f1, -t_long, -t_short), (t_long, t_short)
    return best


def train(playbook: Playbook, rows: Sequence[Row], *, features: Features | None = None,
          max_chatter_spoken: float = 0.05, max_proposals_dismissed: float = MAX_PROPOSALS_DISMISSED,
          version: str = "corpus", provenance: dict | None = None) -> TrainReport:
    """Fit both heads on the train rows and choose every threshold on the dev rows (never the test rows).

    ``features``: the rows already read (``read_texts``, aligned with ``rows``), so a caller that also
    saves them reads each row once. Deterministic: the same rows and features give the same head. ``meta`` records
    the parameters, the playbook and the row counts; ``provenance`` (the code's commit, where the rows were read
    from) is recorded beside them as ``produced_by``."""
    if features is None:
        rows = [r for r in rows if r.split != "test"]
        features = read_texts(featurizer_for(playbook), [r.text for r in rows])
    # At the saved features' precision: a row read from its text and one read from the saved features (a machine
    # without that text) are then the same numbers, so both machines train the same head, bit for bit.
    features = Features(at_saved_precision(features.x), features.rules_proposal)
    splits = np.array([r.split for r in rows])
    train_rows = [r for r in rows if r.split == "train"]
    dev_rows = [r for r in rows if r.split == "dev"]
    if not train_rows or not dev_rows:
        raise ValueError("training needs rows in both the train and the dev split")
    dev_features = features.take(splits == "dev")
    x_tr, x_dev = features.x[splits == "train"], dev_features.x
    mean, scale = standardiser(x_tr)
    z_tr, z_dev = (x_tr - mean) / scale, (x_dev - mean) / scale
    y_tr = np.array([LABELS.index(r.label) for r in train_rows])
    y_dev = np.array([LABELS.index(r.label) for r in dev_rows])
    w_tr = balanced(y_tr) * np.array([r.weight for r in train_rows])

    # Motive head: L2 by dev macro-F1 (argmax over the four labels).
    scores = {}
    for l2 in L2_GRID:
        w, b = fit_logistic(z_tr, y_tr, len(LABELS), l2=l2, weights=w_tr)
        pred = np.argmax(z_dev @ w + b, axis=1)
        scores[l2] = (evaluate((LABELS[g], LABELS[p]) for g, p in zip(y_dev, pred, strict=True))["macro_f1"], w, b)
    best_l2 = max(scores, key=lambda k: scores[k][0])
    _, w, b = scores[best_l2]
    motive = LinearHead(mean, scale, w.astype(np.float32), b.astype(np.float32))
    motive = LinearHead(mean, scale, motive.weights, motive.bias, fit_temperature(motive, x_dev, y_dev))

    # Channel gate: Slack messages and the typed synthetic drafts (what a watched channel sees). Its L2 and
    # threshold: the most dev proposals caught while speaking on at most ``max_chatter_spoken`` of dev chatter.
    s_tr = np.array([r.slack or r.genre == "synthetic" for r in train_rows])
    s_dev = np.array([r.slack for r in dev_rows])
    if not any(r.slack for r in train_rows) or not s_dev.any():
        raise ValueError("training the channel gate needs Slack rows in both the train and the dev split")
    g_y = np.array([r.is_proposal for r in train_rows])[s_tr].astype(int)
    g_w = balanced(g_y) * np.array([r.weight for r in train_rows])[s_tr]
    dev_prop = np.array([r.is_proposal for r in dev_rows])
    best_gate: tuple[float, float, LinearHead] | None = None
    for l2 in L2_GRID:
        gw, gb = fit_logistic(z_tr[s_tr], g_y, 1, l2=l2, weights=g_w)
        trial_gate = LinearHead(mean, scale, gw.astype(np.float32), gb.astype(np.float32))
        p_dev = trial_gate.probs(x_dev)[:, 0]
        chatter_p = np.sort(p_dev[s_dev & ~dev_prop])
        allowed = int(np.floor(max_chatter_spoken * len(chatter_p)))
        threshold = float(chatter_p[len(chatter_p) - allowed - 1] + 1e-6) if len(chatter_p) > allowed else 0.5
        caught = float(np.mean(p_dev[s_dev & dev_prop] >= threshold)) if (s_dev & dev_prop).any() else 0.0
        if best_gate is None or caught > best_gate[0]:
            best_gate = (caught, threshold, trial_gate)
    assert best_gate is not None
    _, gate_threshold, gate = best_gate
    prefilter = prefilter_threshold(gate.probs(x_dev)[:, 0][s_dev & dev_prop])

    dismiss_threshold, dismiss_short = choose_dismiss_thresholds(
        Heads(motive, gate, gate_threshold, 0.99, UNSURE_BELOW, version, {}), dev_features, y_dev, max_proposals_dismissed)

    meta = {
        "trained_on": {"train": len(train_rows), "dev": len(dev_rows), "data_sha256": data_hash(train_rows + dev_rows),
                       "train_synthetic": sum(r.genre == "synthetic" for r in train_rows),
                       "train_slack": sum(r.slack for r in train_rows), "dev_slack": int(s_dev.sum())},
        "parameters": {"optimizer": "full-batch Adam, step size from learning_rate to 0 along a half cosine",
                       "steps": STEPS, "learning_rate": LEARNING_RATE, "seed": SEED, "l2_grid": list(L2_GRID),
                       "features": "float16, as saved", "class_weights": "balanced",
                       "synthetic_weight": max((r.weight for r in train_rows if r.genre == "synthetic"), default=0.0),
                       "max_chatter_spoken": max_chatter_spoken, "min_prefilter_recall": MIN_PREFILTER_RECALL,
                       "max_proposals_dismissed": max_proposals_dismissed, "unsure_below": UNSURE_BELOW},
        "playbook": {"name": playbook.name, "version": playbook.version, "sha256": playbook.digest},
        **({"produced_by": provenance} if provenance else {}),
        "l2": best_l2, "dev_macro_f1_by_l2": {str(k): round(v[0], 4) for k, v in scores.items()},
        "embeddings": "static-minilm.npz",
        "dismiss": {"chosen_by": "motivecheck train (bot.train.choose_dismiss_thresholds)", "on": "the dev split",
                    "max_proposals_dismissed": max_proposals_dismissed, "threshold": dismiss_threshold,
                    "threshold_short": dismiss_short},
    }
    heads = Heads(motive, gate, gate_threshold, dismiss_threshold, UNSURE_BELOW, version, meta, prefilter,
                  dismiss_threshold_short=dismiss_short)
    dev = measure(heads, dev_rows, dev_features)
    meta["dev"] = {k: v for k, v in dev.items() if k != "confusion"}
    lines = [f"trained on {len(train_rows)} rows (dev {len(dev_rows)}), data sha256 {meta['trained_on']['data_sha256'][:12]}",
             "dev macro-F1 by L2: " + ", ".join(f"{k}: {v[0]:.3f}" for k, v in scores.items()) + f" -> {best_l2}",
             f"temperature {motive.temperature:.2f}; gate threshold {gate_threshold:.3f}; "
             f"dismiss thresholds {dismiss_threshold:.2f} (short drafts {dismiss_short:.2f}); "
             f"prefilter threshold {prefilter:.3f}",
             f"dev: explicit macro-F1 {dev['explicit_macro_f1']:.3f}, passages {dev['passages_macro_f1']:.3f}; "
             f"Slack gate catches {dev['gate_recall']:.0%} of proposals, speaks on {dev['gate_false_alarm']:.0%} "
             f"of chatter; ECE {dev['ece']:.3f}"]
    return TrainReport(heads, dev, "\n".join(lines))


def prefilter_threshold(p_proposals: np.ndarray, min_recall: float = MIN_PREFILTER_RECALL) -> float:
    """The highest threshold on P(proposal) that passes at least ``min_recall`` of these (dev) proposals."""
    ps = np.sort(np.asarray(p_proposals, dtype=np.float64))
    if not len(ps):
        raise ValueError("choosing the prefilter threshold needs dev proposals")
    stopped = int(np.floor((1 - min_recall) * len(ps) + 1e-9))  # how many proposals it may keep from the LLM
    return float(ps[stopped] - 1e-6)


def shipped_prefilter(heads: Heads, path: Path | None = None) -> float:
    """The prefilter threshold for ``heads``, chosen on the dev Slack rows of the saved corpus features."""
    saved = load_corpus_features(path or CORPUS_FEATURES)
    dev = (saved.split == "dev") & saved.slack & (saved.label != LABELS.index("not-a-proposal"))
    return prefilter_threshold(heads.gate.probs(saved.features(dev).x)[:, 0])


def decided(heads: Heads, features: Features, mode: str) -> list[tuple[str, float]]:
    """Each row's (label, confidence) as the engine decides it in ``mode`` (bot/engines/trained.py)."""
    probs = heads.motive.probs(features.x)
    p_prop = heads.gate.probs(features.x)[:, 0]
    return [decide_trained(p, float(q), heads, mode, bool(r), bool(s))
            for p, q, r, s in zip(probs, p_prop, features.rules_proposal, short_of(features.x), strict=True)]


def explicit_by_part(gold: Sequence[str], slack: Sequence[bool], explicit: Sequence[str]) -> dict[str, dict]:
    """``evaluate`` of explicit checks' labels on every row, the passages and the Slack rows of one split."""
    return {part: evaluate((g, p) for g, p, s in zip(gold, explicit, slack, strict=True) if keep(s))
            for part, keep in (("all", lambda s: True), ("passages", lambda s: not s), ("slack", bool))}


def gate_and_dismissal_counts(gold: Sequence[str], slack: Sequence[bool], explicit: Sequence[str],
                              channel: Sequence[str]) -> dict:
    """[how many, of how many]: real proposals an explicit check dismisses (every row), and on the Slack rows the
    channel gate's proposals caught and chatter spoken on."""
    proposal = [g != "not-a-proposal" for g in gold]

    def spoken(labels: Sequence[str], keep: Sequence[bool]) -> list[int]:
        picked = [lab != "not-a-proposal" for lab, k in zip(labels, keep, strict=True) if k]
        return [sum(picked), len(picked)]

    passed, of = spoken(explicit, proposal)
    return {"explicit_proposals_dismissed": [of - passed, of],
            "gate_proposals_caught": spoken(channel, [s and p for s, p in zip(slack, proposal, strict=True)]),
            "gate_chatter_spoken_on": spoken(channel, [s and not p for s, p in zip(slack, proposal, strict=True)])}


def measure(heads: Heads, rows: Sequence[Row], features: Features) -> dict:
    """The figures ``train`` reports for one split."""
    explicit = decided(heads, features, EXPLICIT)
    gold, slack, labels = [r.label for r in rows], [r.slack for r in rows], [e[0] for e in explicit]
    parts = explicit_by_part(gold, slack, labels)
    n = gate_and_dismissal_counts(gold, slack, labels, [c[0] for c in decided(heads, features, CHANNEL)])

    def share(key: str) -> float:
        return n[key][0] / n[key][1] if n[key][1] else 0.0

    return {
        "explicit_macro_f1": parts["all"]["macro_f1"],
        "passages_macro_f1": parts["passages"]["macro_f1"],
        "gate_recall": share("gate_proposals_caught"),
        "gate_false_alarm": share("gate_chatter_spoken_on"),
        "proposals_dismissed": share("explicit_proposals_dismissed"),
        "ece": expected_calibration_error([float(e[1]) for e in explicit],
                                          [g == p for g, p in zip(gold, labels, strict=True)]),
        "confusion": parts["all"]["confusion"],
    }


# -- the corpus as features, and heads that learn a workspace's words ----------------------------------
CORPUS_FEATURES = corpus.ROOT / "bot" / "models" / "corpus-features.npz"
WORKSPACE_WEIGHT = 3.0  # a workspace label counts as three corpus rows: few, but in the team's own words
MAX_TEST_DROP = 0.02


@dataclass(frozen=True)
class SavedFeatures:
    """A saved features file (``save_corpus_features``), read whole: each row's inputs as saved (float16), label
    index, split, Slack flag, weight and playbook proposal call, its id (None in files saved before ids were
    kept), and the sha256 of the data the rows came from."""

    x: np.ndarray
    label: np.ndarray
    split: np.ndarray
    slack: np.ndarray
    weight: np.ndarray
    rules_proposal: np.ndarray
    data_sha256: str
    id: np.ndarray | None

    def __len__(self) -> int:
        return len(self.label)

    def features(self, rows: np.ndarray | None = None) -> Features:
        """The heads' inputs of ``rows`` (a mask or positions; every row when None), as training reads them."""
        keep = slice(None) if rows is None else rows
        return Features(self.x[keep].astype(np.float32), self.rules_proposal[keep].astype(bool))


def load_corpus_features(path: Path = CORPUS_FEATURES) -> SavedFeatures:
    """The one reader of a saved features file; OSError when it cannot be read."""
    with np.load(path, allow_pickle=False) as data:
        return SavedFeatures(data["x"], data["label"], data["split"], data["slack"].astype(bool), data["weight"],
                             data["rules_proposal"].astype(bool), str(data["data_sha256"]),
                             data["id"] if "id" in data.files else None)


def save_corpus_features(rows: Sequence[Row], features: Features, path: Path = CORPUS_FEATURES) -> None:
    """The heads' inputs for every corpus row (not its text): a workspace head can then be refitted on a
    machine without the corpus text. float16 keeps it small; ids, labels, splits and weights ride along.

    Refuses (ValueError) to replace a saved set with one of fewer rows: the file is for every row."""
    if path.exists() and (saved := len(load_corpus_features(path))) > len(rows):
        raise ValueError(f"{path} holds {saved} rows; not replacing it with {len(rows)}")
    np.savez_compressed(path, x=features.x.astype(np.float16),
                        label=np.array([LABELS.index(r.label) for r in rows]),
                        split=np.array([r.split for r in rows]), slack=np.array([r.slack for r in rows]),
                        weight=np.array([r.weight for r in rows], dtype=np.float32),
                        rules_proposal=features.rules_proposal, data_sha256=np.array(data_hash(rows)),
                        id=np.array([r.id for r in rows]))


@dataclass
class CorpusSet:
    """What ``motivecheck train`` learns from: the rows and their features, and how many rows had no text here
    (``without_text``), of which ``filled`` were read from the saved features; ``why`` says why not, if not."""

    rows: list[Row]
    features: Features
    total: int
    without_text: int
    filled: int
    why: str = ""

    @property
    def left_out(self) -> int:
        return self.without_text - self.filled


def _saved_positions(saved: SavedFeatures, rows: Sequence[Row]) -> np.ndarray:
    """Each row's index in the saved features (-1: not there). By id; a file saved before ids were kept is in
    file order, so by position, when its labels and splits line up row for row."""
    labels = np.array([LABELS.index(r.label) for r in rows])
    splits = np.array([r.split for r in rows])
    if saved.id is not None:
        index = {str(i): n for n, i in enumerate(saved.id)}
        pos = np.array([index.get(r.id, -1) for r in rows])
    elif len(saved) == len(rows):
        pos = np.arange(len(rows))
    else:
        return np.full(len(rows), -1)
    found = pos >= 0
    same = np.zeros(len(rows), bool)
    same[found] = (saved.label[pos[found]] == labels[found]) & (saved.split[pos[found]] == splits[found])
    if saved.id is None and not same.all():
        return np.full(len(rows), -1)
    return np.where(same, pos, -1)


def corpus_set(playbook: Playbook, *, saved_path: Path = CORPUS_FEATURES, notes: list[str] | None = None,
               labels_dir: Path = corpus.CORPUS_DIR) -> CorpusSet:
    """Every corpus row read with ``playbook``; a row with no text here takes its features from the saved file,
    but only when that file reads every row that has text here the same way (same playbook and featurizer)."""
    rows, has = all_rows(notes=notes, labels_dir=labels_dir)
    has_text = np.array(has, dtype=bool)
    read = read_texts(featurizer_for(playbook), [r.text for r, h in zip(rows, has, strict=True) if h])
    width = read.x.shape[1] if len(read.x) else featurizer_for(playbook).width
    x = np.zeros((len(rows), width), np.float32)
    rules = np.zeros(len(rows), bool)
    x[has_text], rules[has_text] = read.x, read.rules_proposal
    missing = ~has_text
    fill = np.zeros(len(rows), bool)
    why = ""
    if missing.any():
        saved: SavedFeatures | None
        try:
            saved = load_corpus_features(saved_path)
        except OSError:
            saved = None
            why = f"there are no saved features ({saved_path})"
        if saved is not None:
            pos = _saved_positions(saved, rows)
            both = has_text & (pos >= 0)
            sx = saved.features(pos[both]).x
            if saved.x.shape[1] != width:
                why = f"the saved features ({saved_path}) have {saved.x.shape[1]} columns, today's reading {width}"
            elif not both.any():
                why = f"no row with text here is in the saved features ({saved_path}) to check them against"
            else:
                # float16 on disk: a row read the same way agrees to about 1e-3.
                differ = ~np.isclose(sx, x[both], atol=2e-3, rtol=2e-3).all(axis=1)
                differ |= saved.rules_proposal[pos[both]] != rules[both]
                if differ.any():
                    why = (f"the saved features ({saved_path}) read {int(differ.sum())} of {int(both.sum())} rows "
                           "that have text differently (another playbook, or a changed featurizer)")
                else:
                    fill = missing & (pos >= 0)
                    filled = saved.features(pos[fill])
                    x[fill], rules[fill] = filled.x, filled.rules_proposal
                    if (missing & ~fill).any():
                        why = f"{int((missing & ~fill).sum())} of them are not in the saved features ({saved_path})"
    keep = has_text | fill
    return CorpusSet([r for r, k in zip(rows, keep, strict=True) if k], Features(x[keep], rules[keep]),
                     total=sum(r.genre != "synthetic" for r in rows), without_text=int(missing.sum()), filled=int(fill.sum()), why=why)


@dataclass
class WorkspaceReport:
    kept: bool
    reason: str
    figures: dict
    heads: Heads | None


def held_back(texts: Sequence[str], share: float = 0.2) -> np.ndarray:
    """Which labels a workspace retrain holds back: the texts whose ``draft_hash`` (the store's one-label-per-text
    key) is among the lowest ``share`` of the distinct texts' hashes. By text, not position: copies of a text fall
    on one side, so a held-back label is never also trained on; deterministic, and the same text stays on its side
    as labels come."""
    keys = [draft_hash(t) for t in texts]
    distinct = sorted(set(keys))
    cut = max(1, round(share * len(distinct))) if len(distinct) > 1 else 0
    held = set(distinct[:cut])
    return np.array([k in held for k in keys], dtype=bool)


def train_workspace(playbook: Playbook, base: Heads, labelled: Sequence[tuple[str, str]], *,
                    features_path: Path = CORPUS_FEATURES, weight: float = WORKSPACE_WEIGHT) -> WorkspaceReport:
    """Refit the motive head on the corpus train split plus four fifths of a workspace's labels (``held_back``).

    The new head is kept only if macro-F1 on the corpus test split falls by at most 0.02 and accuracy on
    the held-back fifth of the workspace's labels rises; otherwise the report says why. The gate and the
    thresholds stay those of ``base`` (the workspace labels say nothing about chatter in channels)."""
    if len(labelled) < 10:
        raise ValueError(f"a workspace head needs at least 10 labelled drafts; this workspace has {len(labelled)}")
    try:
        data = load_corpus_features(features_path)
    except OSError as exc:
        raise ValueError(f"cannot read the corpus features {features_path}: {exc}") from exc
    corpus_rows = data.features()
    x_c, y_c, split, w_c = corpus_rows.x, data.label, data.split, data.weight
    workspace_rows = read_texts(featurizer_for(playbook), [text for text, _ in labelled])
    x_w = workspace_rows.x
    y_w = np.array([LABELS.index(label) for _, label in labelled])
    held = held_back([text for text, _ in labelled])
    train_mask = split == "train"
    x_tr = np.concatenate([x_c[train_mask], x_w[~held]])
    y_tr = np.concatenate([y_c[train_mask], y_w[~held]])
    w_tr = balanced(y_tr) * np.concatenate([w_c[train_mask], np.full((~held).sum(), weight)])
    m = base.motive
    w, b = fit_logistic(m.standardise(x_tr), y_tr, len(LABELS), l2=float(base.meta.get("l2", 300.0)), weights=w_tr)
    motive = LinearHead(m.mean, m.scale, w.astype(np.float32), b.astype(np.float32), m.temperature)
    new = replace(base, motive=motive, version=f"{base.version}+workspace",
                  meta={**base.meta, "workspace_labels": int((~held).sum())})
    test = split == "test"
    gold_test = [LABELS[i] for i in y_c[test]]

    def test_f1(heads: Heads) -> float:
        pred = [lab for lab, _conf in decided(heads, corpus_rows.take(test), EXPLICIT)]
        return evaluate(zip(gold_test, pred, strict=True))["macro_f1"]

    def held_acc(heads: Heads) -> float:
        pred = [lab for lab, _conf in decided(heads, workspace_rows.take(held), EXPLICIT)]
        return float(np.mean([p == LABELS[g] for p, g in zip(pred, y_w[held], strict=True)]))

    figures = {"corpus_test_macro_f1": [test_f1(base), test_f1(new)],
               "held_back_accuracy": [held_acc(base), held_acc(new)],
               "labels": len(labelled), "held_back": int(held.sum())}
    drop = figures["corpus_test_macro_f1"][0] - figures["corpus_test_macro_f1"][1]
    gain = figures["held_back_accuracy"][1] - figures["held_back_accuracy"][0]
    if drop > MAX_TEST_DROP:
        return WorkspaceReport(False, f"corpus test macro-F1 would fall {drop:.3f} (more than {MAX_TEST_DROP})",
                               figures, None)
    if gain <= 0:
        return WorkspaceReport(False, "accuracy on the held-back labels would not rise", figures, None)
    return WorkspaceReport(True, "kept: the held-back labels gain and the corpus holds", figures, new)


def retrain_workspace(store: Store, playbook: Playbook, workspace: str) -> tuple[WorkspaceReport, int | None]:
    """``train_workspace`` on the labels the store holds for ``workspace`` (opt-outs left out), measured
    against the shipped head; a kept head becomes the workspace's new active version, whose number is returned.
    Raises ValueError when it cannot train (too few labels, no corpus features)."""
    labelled = [(r["text"], r["label"]) for r in store.labels_for(workspace)]
    report = train_workspace(playbook, Heads.load(), labelled)
    version = None
    if report.kept and report.heads is not None:
        version = store.save_head(workspace, report.heads.to_json(), report.figures, active=True)
    return report, version
