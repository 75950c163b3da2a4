"""The trained engine: the default offline judgment, learned from real writing.

It reads a draft in two ways and lets a small trained head weigh them:

* meaning: static word-piece embeddings distilled from all-MiniLM-L6-v2 (``bot/models/static-minilm.npz``,
  built once by ``scripts/build_embeddings.py``; numpy only at run time, no torch), averaged over the
  opening sentence and over the rest, because what leads is the primary motive;
* the playbook's cue hits, scored by the rules engine (``scan`` -> ``score``), opening and rest apart.

Two heads come from ``motivecheck train`` (``bot/models/head.json``): a four-label motive head with a
calibration temperature, and the channel gate (proposal or chatter), trained on real Slack messages. The
rules engine still quotes the evidence and writes the reframe, so verdicts quote the draft alike.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import EngineError
from ..playbook import Playbook
from ..text import Prepared
from ..verdict import EASE_BANDS, LABELS, Verdict
from . import CHANNEL, EXPLICIT, PREFILTER, PROPOSAL, EngineResult
from .rules import RulesEngine, Scan, Scores, decide, score

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
EMBEDDINGS = MODELS_DIR / "static-minilm.npz"
HEAD = MODELS_DIR / "head.json"

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Punctuation to spaces, then str.split: 4x faster than the regex on a long draft, same words on prose.
_PUNCT = str.maketrans({c: " " for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’–—…•·«»"})
_BROADCAST = re.compile(r"<!(?:channel|here|everyone)(?:\|[^>]*)?>")
_MIN_LEAD_WORDS = 4  # a heading ("## Summary") is not the opening sentence
_WORD_CACHE_MAX = 200_000


def words_of(text: str) -> list[str]:
    return text.translate(_PUNCT).split()


class StaticEmbeddings:
    """Word vectors from a word-piece table: greedy longest-match pieces, averaged (cached per word)."""

    def __init__(self, path: Path | None = None) -> None:
        path = path or EMBEDDINGS
        try:
            with np.load(path, allow_pickle=False) as data:
                self.table = data["table"].astype(np.float32)
                vocab = [str(v) for v in data["vocab"]]
        except (OSError, KeyError, ValueError) as exc:
            raise EngineError("model-missing", f"cannot read the embedding table {path}: {exc}") from exc
        self.dims = self.table.shape[1]
        self.index = {piece: i for i, piece in enumerate(vocab)}
        self._rows: dict[str, int] = {}
        self._matrix = np.zeros((4096, self.dims), dtype=np.float32)
        self._used = 1  # row 0 stays zero: words whose pieces are unknown

    def pieces(self, word: str) -> list[int]:
        """BERT's word-piece split of one lower-case word; [] when some part is unknown."""
        if len(word) > 60:
            return []
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.index.get(piece)
                if found is not None:
                    out.append(found)
                    break
                end -= 1
            else:
                return []
            start = end
        return out

    def _add(self, word: str) -> int:
        """Give a new word its row in the word matrix (row 0, all zeros, for words with unknown pieces)."""
        ids = self.pieces(word)
        if not ids:
            row = 0
        else:
            if self._used == len(self._matrix):
                grown = np.zeros((2 * len(self._matrix), self.dims), dtype=np.float32)
                grown[: self._used] = self._matrix
                self._matrix = grown
            row = self._used
            self._matrix[row] = self.table[ids].mean(axis=0)
            self._used += 1
        if len(self._rows) < _WORD_CACHE_MAX:
            self._rows[word] = row
        return row

    def rows(self, words: list[str]) -> list[int]:
        """Each word's row in the word matrix: one dict lookup per known word (in C, through map)."""
        rows = list(map(self._rows.get, words))
        if None in rows:
            rows = [r if r is not None else self._add(w) for r, w in zip(rows, words, strict=True)]
        return rows

    def mean(self, words: list[str]) -> np.ndarray:
        """Unit-length mean of the words' vectors (zeros when none is known)."""
        return self.means([words], np.empty((1, self.dims), dtype=np.float32))[0]

    def means(self, word_lists: list[list[str]], out: np.ndarray) -> np.ndarray:
        """Row i of ``out`` (shape (len(word_lists), dims)): the unit-length mean of list i's word vectors.

        Each word's vector is worked out once and kept as a row of a growing matrix, so a draft costs a
        dict lookup per word and one gather for all the lists (a check is a few dozen small numpy calls,
        each dearer than its arithmetic, so the calls are kept few)."""
        rows = [self.rows(words) for words in word_lists]
        flat = [r for part in rows for r in part]
        # The same rows, sums and norms as ``[rows]``, ``.sum(axis=0)`` and ``np.linalg.norm``, for less: the
        # index array built by fromiter (a list index is converted element by element), no Python wrappers.
        gathered = self._matrix.take(np.fromiter(flat, dtype=np.intp, count=len(flat)), axis=0)
        start = 0
        for i, part in enumerate(rows):
            if not part:
                out[i] = 0.0
                continue
            total = np.add.reduce(gathered[start:start + len(part)], axis=0)
            start += len(part)
            norm = float(np.sqrt(total.dot(total)))
            if norm > 0:
                np.divide(total, norm, out=out[i])
            else:
                out[i] = total
        return out


@lru_cache(maxsize=2)
def load_embeddings(path: Path | None = None) -> StaticEmbeddings:
    return StaticEmbeddings(path)


CUE_FEATURES = (
    "proposal", "chatter", "is_proposal", "ease", "ease_lead", "company", "company_lead", "secondary",
    "share", "customer_ease", "company_first", "question_end", "question_lead", "foreign", "log_words",
    "broadcast", "lines", "rules_outside_in", "rules_inside_out", "rules_mixed", "rules_not",
    "short", "short_rules_outside_in", "short_rules_inside_out", "short_rules_mixed", "short_rules_not",
)
_SHORT_WORDS = 60  # a typed Slack draft; the rules engine was tuned on drafts like these
_SHORT_AT = CUE_FEATURES.index("short")


def short_of(x: np.ndarray) -> np.ndarray:
    """Whether each row of the heads' input (``Featurizer.read``'s vectors) is a short draft: its "short" feature."""
    return x[..., x.shape[-1] - len(CUE_FEATURES) + _SHORT_AT] > 0.5


def cue_features(found: Scan, s: Scores, draft: str, rules_label: str) -> list[float]:
    """The rules engine's reading as numbers (weights squashed with log1p: a few cues already say a lot)."""
    l1p = math.log1p
    short = float(found.n_words < _SHORT_WORDS)
    rules = [float(rules_label == lab) for lab in LABELS]
    return [
        l1p(s.proposal), l1p(s.chatter), float(s.is_proposal), l1p(s.ease), l1p(s.ease_lead), l1p(s.company),
        l1p(s.company_lead), l1p(s.secondary), s.share, s.customer_ease / 100, float(s.company_first),
        float(s.question_end), float(s.question_lead), float(s.foreign), l1p(found.n_words),
        float(bool(_BROADCAST.search(draft))), l1p(draft.count("\n")),
        *rules, short, *(short * r for r in rules),
    ]


def split_lead(found: Scan) -> tuple[str, str]:
    """The opening sentence (the first with a few words: headings are skipped) and the rest."""
    text, start = found.text, 0
    for end in [*found.ends, len(text)]:
        if len(_WORD.findall(text[start:end])) >= _MIN_LEAD_WORDS:
            return text[start:end], text[end:]
        start = end
    return text, ""


def text_features(emb: StaticEmbeddings, found: Scan, common: frozenset[str], out: np.ndarray | None = None
                  ) -> np.ndarray:
    """The opening's mean word vector, then the rest's: ``out[:2 * emb.dims]`` when ``out`` is given."""
    lead, rest = split_lead(found)
    lead_words = [w for w in words_of(lead) if w not in common]
    rest_words = [w for w in words_of(rest) if w not in common][:400]
    if out is None:
        out = np.empty(2 * emb.dims, dtype=np.float32)
    emb.means([lead_words, rest_words], out[:2 * emb.dims].reshape(2, emb.dims))
    return out


@dataclass(frozen=True)
class Reading:
    """Everything the heads see of one draft, and the rules engine's own reading of it."""

    found: Scan
    scores: Scores
    rules_label: str
    vector: np.ndarray


class Featurizer:
    """Turns a prepared draft into the heads' input. Training and the engine share this one function."""

    def __init__(self, rules: RulesEngine, emb: StaticEmbeddings) -> None:
        self.rules = rules
        self.emb = emb
        self.common = frozenset(rules.playbook.model.language.common_words)
        self.width = 2 * emb.dims + len(CUE_FEATURES)

    def read(self, prepared: Prepared) -> Reading:
        found = self.rules.scan(prepared)
        scores = score(found, self.rules.playbook.model)
        label = decide(scores, self.rules.playbook.model.scoring)
        # One float32 vector filled in place: no concatenations or casts of the parts.
        vec = text_features(self.emb, found, self.common, out=np.empty(self.width, dtype=np.float32))
        vec[2 * self.emb.dims:] = cue_features(found, scores, prepared.draft, label)
        return Reading(found, scores, label, vec)


@dataclass(frozen=True)
class LinearHead:
    """Standardise, then a linear map and softmax (or sigmoid for one output)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # (inputs, outputs)
    bias: np.ndarray
    temperature: float = 1.0

    def standardise(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.scale

    def logits(self, x: np.ndarray, *, standardised: bool = False) -> np.ndarray:
        """``standardised``: x went through ``standardise`` already (heads trained together share it)."""
        return (x if standardised else self.standardise(x)) @ self.weights + self.bias

    def probs(self, x: np.ndarray, *, standardised: bool = False) -> np.ndarray:
        z = self.logits(x, standardised=standardised)
        if self.temperature != 1.0:  # dividing by 1 changes no bit: skip the call
            z = z / self.temperature
        if z.shape[-1] == 1:
            return 1 / (1 + np.exp(-z))
        # ufunc reductions, as ``.max`` and ``.sum`` do, without their Python wrappers (one check = tiny arrays).
        z = z - np.maximum.reduce(z, axis=-1, keepdims=True)
        e = np.exp(z)
        return e / np.add.reduce(e, axis=-1, keepdims=True)

    def to_json(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(), "weights": self.weights.tolist(),
                "bias": self.bias.tolist(), "temperature": self.temperature}

    @classmethod
    def from_json(cls, d: dict) -> LinearHead:
        return cls(np.asarray(d["mean"], np.float32), np.asarray(d["scale"], np.float32),
                   np.asarray(d["weights"], np.float32), np.asarray(d["bias"], np.float32),
                   float(d.get("temperature", 1.0)))


@dataclass(frozen=True)
class Heads:
    """The trained heads and the thresholds chosen on the dev split (``bot/models/head.json``)."""

    motive: LinearHead  # outputs in LABELS order
    gate: LinearHead  # one output: P(proposal)
    gate_threshold: float  # channel: speak when P(proposal) >= this
    dismiss_threshold: float  # explicit: not-a-proposal only when P(not) >= this (drafts of _SHORT_WORDS or more)
    unsure_below: float  # say "leans ..." below this confidence
    version: str
    meta: dict
    # prefilter (channel, LLM configured): pass to the LLM when P(proposal) >= this; None: the gate's threshold
    prefilter_threshold: float | None = None
    # The dismiss threshold for shorter drafts (a typed Slack draft), where the head is sure of "not a proposal"
    # more often than it should be; None: as for longer drafts (heads saved before there were two).
    dismiss_threshold_short: float | None = None

    def dismiss_at(self, short: bool) -> float:
        """The explicit checks' dismiss threshold for a draft of under _SHORT_WORDS words (``short``) or more."""
        if short and self.dismiss_threshold_short is not None:
            return self.dismiss_threshold_short
        return self.dismiss_threshold

    @classmethod
    def load(cls, path: Path | None = None) -> Heads:
        path = path or HEAD
        try:
            return cls.from_json(Path(path).read_text())
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise EngineError("model-missing", f"cannot read the trained head {path}: {exc}") from exc

    def to_json(self) -> str:
        return json.dumps({
            "version": self.version, "gate_threshold": self.gate_threshold,
            "dismiss_threshold": self.dismiss_threshold, "unsure_below": self.unsure_below,
            **({"prefilter_threshold": self.prefilter_threshold} if self.prefilter_threshold is not None else {}),
            **({"dismiss_threshold_short": self.dismiss_threshold_short}
               if self.dismiss_threshold_short is not None else {}),
            "meta": self.meta, "motive": self.motive.to_json(), "gate": self.gate.to_json()})

    @classmethod
    def from_json(cls, raw: str) -> Heads:
        d = json.loads(raw)
        return cls(LinearHead.from_json(d["motive"]), LinearHead.from_json(d["gate"]), float(d["gate_threshold"]),
                   float(d["dismiss_threshold"]), float(d["unsure_below"]), str(d["version"]), d.get("meta", {}),
                   float(d["prefilter_threshold"]) if d.get("prefilter_threshold") is not None else None,
                   float(d["dismiss_threshold_short"]) if d.get("dismiss_threshold_short") is not None else None)

    def save(self, path: Path | None = None) -> None:
        Path(path or HEAD).write_text(self.to_json() + "\n")


_JUDGED = [i for i, lab in enumerate(LABELS) if lab != "not-a-proposal"]
_NOT = LABELS.index("not-a-proposal")
# Where the judged labels sit in the heads' output: a slice (a view, no gather) when they are side by side.
_JUDGED_AT: slice | list[int] = (slice(_JUDGED[0], _JUDGED[-1] + 1)
                                 if _JUDGED == list(range(_JUDGED[0], _JUDGED[-1] + 1)) else _JUDGED)


def decide_trained(probs: np.ndarray, p_proposal: float, heads: Heads, mode: str,
                   rules_proposal: bool = False, short: bool = False) -> tuple[str, float]:
    """Pure: the label and its confidence from the heads' outputs.

    Explicit checks always judge the motive unless the motive head is sure it is plain chatter and the
    playbook's proposal cues agree (``rules_proposal`` False): two keys, so a real proposal is never
    dismissed on the head's word alone; how sure depends on whether the draft is ``short`` (under _SHORT_WORDS
    words). A watched channel speaks only when the gate says proposal; in front of an
    LLM (``PREFILTER``) the gate's lower threshold lets nearly every proposal through and the LLM decides. When
    the author says it is a proposal (``PROPOSAL``), the motive is always judged."""
    if mode in (CHANNEL, PREFILTER):
        threshold = heads.gate_threshold
        if mode == PREFILTER and heads.prefilter_threshold is not None:
            threshold = heads.prefilter_threshold
        if p_proposal < threshold:
            return "not-a-proposal", 1 - p_proposal
        dismiss = False
    else:  # an explicit check; one its author calls a proposal is never dismissed
        dismiss = mode != PROPOSAL and not rules_proposal and probs[_NOT] >= heads.dismiss_at(short)  # cheap keys first
    if dismiss:
        return "not-a-proposal", float(probs[_NOT])
    judged = _judged(probs).tolist()  # exact Python floats: the pick and the confidence need no numpy scalars
    best = judged.index(max(judged))  # the first of equals, as np.argmax
    return LABELS[_JUDGED[best]], judged[best]


def _judged(probs: np.ndarray) -> np.ndarray:
    """The three judged labels' probabilities, renormalised: what is left once "not a proposal" is set aside."""
    judged = probs[_JUDGED_AT]
    return judged / max(float(np.add.reduce(judged)), 1e-9)


_OUTSIDE_IN, _MIXED = _JUDGED.index(LABELS.index("outside-in")), _JUDGED.index(LABELS.index("mixed"))


def ease_score(probs: np.ndarray, label: str) -> int:
    p = _judged(probs)
    raw = float(100 * (p[_OUTSIDE_IN] + 0.5 * p[_MIXED]))  # worked out in the probabilities' precision
    lo, hi = EASE_BANDS[label]
    return int(round(min(hi, max(lo, raw))))


class TrainedEngine:
    """The default offline engine: rules engine's cues + static embeddings -> trained heads."""

    name = "trained"

    def __init__(self, playbook: Playbook, rules: RulesEngine | None = None, *, heads: Heads | None = None,
                 embeddings: StaticEmbeddings | None = None, head_name: str = "shipped") -> None:
        self.rules = rules or RulesEngine(playbook)
        self.heads = heads or Heads.load()
        self.head_name = head_name
        self.featurizer = Featurizer(self.rules, embeddings or load_embeddings())
        motive, gate = self.heads.motive, self.heads.gate
        # Heads trained on the same features scale them alike: then the input is standardised once.
        self._shared_scaling = bool(np.array_equal(motive.mean, gate.mean) and np.array_equal(motive.scale, gate.scale))

    def read(self, prepared: Prepared) -> tuple[Reading, np.ndarray, float]:
        reading = self.featurizer.read(prepared)
        x = reading.vector[None, :]
        motive, gate = self.heads.motive, self.heads.gate
        if self._shared_scaling:
            x = motive.standardise(x)
        probs = motive.probs(x, standardised=self._shared_scaling)[0]
        p_proposal = float(gate.probs(x, standardised=self._shared_scaling)[0, 0])
        return reading, probs, p_proposal

    def assess(self, prepared: Prepared, *, mode: str = EXPLICIT) -> EngineResult:
        reading, probs, p_proposal = self.read(prepared)
        label, confidence = decide_trained(probs, p_proposal, self.heads, mode, reading.scores.is_proposal,
                                           reading.found.n_words < _SHORT_WORDS)
        notes = []
        if label != "not-a-proposal" and confidence < self.heads.unsure_below:
            runner_up = max((LABELS[i] for i in _JUDGED if LABELS[i] != label), key=lambda lab: probs[LABELS.index(lab)])
            notes.append(f"Not a clear case: it leans {label} (confidence {confidence:.0%}); "
                         f"{runner_up} is close behind.")
        verdict: Verdict = self.rules.compose(
            prepared, reading.found, reading.scores, label, confidence=round(confidence, 3), engine=self.name,
            notes=notes, customer_ease=ease_score(probs, label) if label != "not-a-proposal" else 0,
            head=self.head_name)
        return EngineResult(verdict)
