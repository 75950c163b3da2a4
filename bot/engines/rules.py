"""The rules engine: a playbook-driven, offline, fast reading of who a draft leads with.

All vocabulary lives in the playbook; this module knows only structure: cue phrases found
token by token, which sentence they are in, whether a company gain is introduced as a
consequence ("as a result ...") and whether the customer or the company comes first.
"""

from __future__ import annotations

import re
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate, compress, product
from operator import itemgetter
from typing import NamedTuple

from .. import reframe as reframing
from ..playbook import Cue, Playbook, PlaybookModel, Scoring
from ..templating import Renderable, compile_template
from ..text import Prepared
from ..verdict import CANNOT_TELL, CUSTOMER_EASE, Verdict
from . import EXPLICIT, EngineResult
from . import PROPOSAL as PROPOSAL_MODE  # rules.PROPOSAL is a cue bucket

# Characters that always separate words (mapped to a space, so offsets are kept) and the edge
# patterns whose connector is punctuation, not part of a word. Apostrophes are normalised.
_SEPARATORS = str.maketrans({**{c: " " for c in "\t\n\r\x0b\x0c\xa0!\"#()*/:;<=>?@[\\]^`{|}~“”„‟«»‹›–—―…•·¡¿、。，：；！？（）【】「」『』\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u3000"}, "’": "'"})
# An action phrase ends before a dangling link word ("we'll add exports to" -> "we'll add exports").
_ACTION_LINK = re.compile(r"\s+(?:to|so|in order to|which|because|and then)\s*$")
_ACTION_TAIL = re.compile(r"\s+(?:to|so that|so|in order to|and|which|that)$")
_CONNECTORS = re.compile(r"[-.,'+&$€£]+")
_EDGE_AFTER = re.compile(r"[-.,'+&$€£] ")
# Connectors opening a word; the text's very start is checked apart (_EDGE_START), because a "^|" branch
# keeps the regex engine from skipping ahead to the next space in C (5x slower).
_EDGE_BEFORE = re.compile(r" [-.,'+&]")
_EDGE_START = tuple("-.,'+&")


def _blank_edges(text: str) -> str:
    """Blank connector runs at a word's edge ("customers' ", " - item", "$ "); keep inner ones ("we'll", "$12")."""
    edges = [m.span() for m in _CONNECTORS.finditer(text)
             if text[m.end()] == " " or (text[m.start() - 1] == " " and text[m.start()] not in "$€£")]
    if not edges:
        return text
    out, last = [], 0
    for a, b in edges:
        out += (text[last:a], " " * (b - a))
        last = b
    out.append(text[last:])
    return "".join(out)


def sentence_ends(scan: str) -> list[int]:
    """Offsets just past each sentence end; the opening sentence is ``scan[:ends[0]]`` (or all of it).

    A sentence ends at . ! or ? followed by whitespace or the end of the text, or at a line break. Each
    mark is found with str.find (memchr): 3x faster than a regex, which tests every character."""
    ends: list[int] = []
    n = len(scan)
    for mark in ".!?\n":
        i = scan.find(mark)
        while i >= 0:
            if mark == "\n" or i + 1 == n or scan[i + 1].isspace():
                ends.append(i + 1)
            i = scan.find(mark, i + 1)
    ends.sort()
    return ends


def wrapped_at(draft: str, end: int) -> bool:
    """Whether the sentence end just before ``end`` is a line break inside a sentence: the line stops with no
    closing mark, is not a heading, table row or quote, and the next line goes on in lower case (after any
    opening of a markdown link or emphasis) or the line stops on a word no sentence ends on ("about the\n
    Prometheus monitoring system")."""
    if draft[end - 1] != "\n":
        return False
    line = draft[draft.rfind("\n", 0, end - 1) + 1:end - 1].rstrip()
    if not line or line[-1] in ".!?:" or line.lstrip().startswith(("#", "|", ">")):
        return False
    following = draft[end:end + 4].lstrip("[(*_`")[:1]
    return following.islower() or (following.isalnum() and line.rsplit(None, 1)[-1] in reframing.OPEN_ENDED)


_MAX_EVIDENCE = 8  # cue spans; they widen into fewer, longer phrases (3 are shown, all in JSON)
_DIGIT = re.compile(r"\d")
_CACHE_MAX = 50_000
_FACTS_WINDOW = 400  # the reframe rewrites the opening; facts come from it
# Slack quote markers ("> ", ">>> ") opening a line: layout, not words; with lines joined they would land mid-phrase.
_QUOTE_MARKS = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.M)


class _Entry(NamedTuple):
    """One cue phrase of the playbook, compiled."""

    words: tuple[str, ...]
    kind: str  # proposal, not, ease, motive, secondary
    motive: str | None
    weight: float
    phrase: str
    shows: str  # what a quote of it shows: the motive id, customer-ease, or the kind
    bucket: int  # PROPOSAL, NOT, SECONDARY or SCORED: scans sort hits into these


PROPOSAL, NOT, SECONDARY, SCORED = range(4)
_BUCKETS = {"proposal": PROPOSAL, "not": NOT, "secondary": SECONDARY, "ease": SCORED, "motive": SCORED}


# A cue found in a draft: (start, end, entry). A plain tuple: thousands are made per second.
_Hit = tuple[int, int, _Entry]


def _weight(hit: _Hit) -> float:
    return hit[2].weight


def pick_spans(hits: list[_Hit], limit: int) -> list[tuple[int, int, str]]:
    """Evidence: the heaviest hits that do not overlap a heavier (on ties, earlier) one, at most
    ``limit``, in text order, as (start, end, shows)."""
    chosen: list[tuple[int, int, str]] = []
    taken = bytearray(max(map(itemgetter(1), hits), default=0) + 1)  # 1 where a chosen span sits
    for _w, start, _order, end, shows in sorted((-e.weight, s, i, end, e.shows) for i, (s, end, e) in enumerate(hits)):
        if len(chosen) >= limit:
            break
        if taken.find(1, start, end) >= 0:
            continue
        taken[start:end] = b"\x01" * (end - start)
        chosen.append((start, end, shows))
    chosen.sort()
    return chosen


class Scan(NamedTuple):
    """What the cue scan found in a draft's scan text."""

    text: str
    proposal: list[_Hit]
    chatter: list[_Hit]
    markers: list[_Hit]  # secondary markers ("as a result")
    scored: list[_Hit]  # customer-ease and motive cues
    ends: list[int]  # sentence ends
    n_words: int
    n_common: int

    @property
    def lead_end(self) -> int:
        """Offset just past the opening sentence (past the end when there is one sentence)."""
        return self.ends[0] if self.ends else len(self.text) + 1


@dataclass(frozen=True, slots=True)
class Scores:
    """The numbers a label is decided from. ``score`` makes them; both engines read them."""

    proposal: float  # weight of proposal cues
    chatter: float  # weight of chat cues and question marks
    is_proposal: bool
    ease: float  # customer-ease weight (opening sentence weighted up)
    ease_lead: float  # of which in the opening sentence
    company: float  # company-motive weight after discounts
    company_lead: float  # of which in the opening sentence
    secondary: float  # company weight discounted as a consequence
    motive_weights: dict[str, float]
    company_first: bool  # a strong company cue comes before the first customer-ease cue
    share: float  # ease / (ease + company)
    customer_ease: int  # 0-100
    motives: list[str]
    foreign: bool
    question_end: bool
    question_lead: bool


def score(found: Scan, m: PlaybookModel) -> Scores:
    """Pure: weigh what the scan found by the playbook's numbers (``m.scoring``)."""
    sc = m.scoring
    text = found.text
    proposal = sum(map(_weight, found.proposal))
    chatter = sum(map(_weight, found.chatter))
    lead_end = found.lead_end
    stripped = text.rstrip()
    question_end = stripped.endswith("?")
    question_lead = "?" in text[:lead_end]
    if question_end:
        chatter += sc.question_penalty
    elif question_lead:
        chatter += sc.question_penalty / 2
    # A marker ("as a result ...") makes later motive cues in its sentence count less: sentence -> offset.
    marker_at: dict[int, int] = {}
    for start, _end, _e in found.markers:
        sentence = bisect_right(found.ends, start)
        if sentence not in marker_at or start < marker_at[sentence]:
            marker_at[sentence] = start
    ease = ease_lead = company_lead = secondary_w = 0.0
    weights: dict[str, float] = {}
    first_ease = first_motive = None
    for start, _end, e in found.scored:
        lead = start < lead_end
        if e.kind == "ease":
            w = e.weight * (sc.lead_weight if lead else 1.0)
            ease += w
            ease_lead += w if lead else 0.0
            if first_ease is None:
                first_ease = start
            continue
        # A gain introduced by a marker is a consequence, except in the opening sentence, where a
        # trailing marker can't undo what leads.
        sentence = bisect_right(found.ends, start) if marker_at else 0
        if sentence in marker_at and (start > marker_at[sentence] or sentence > 0):
            w = e.weight * sc.secondary_discount
            secondary_w += w
        else:
            w = e.weight * (sc.lead_weight if lead else 1.0)
            company_lead += w if lead else 0.0
            if first_motive is None and e.weight >= 1.0:
                first_motive = start
        weights[e.motive] = weights.get(e.motive, 0.0) + w
    company = sum(weights.values())
    is_proposal = proposal >= m.proposal.threshold and proposal > chatter
    if not is_proposal and company >= sc.motives_make_a_plan and chatter == 0:
        is_proposal = True  # a plan written without the usual verbs, but full of motives
    share = ease / (ease + company) if ease + company > 0 else 0.0
    strength = min(1.0, ease / sc.ease_saturation) if sc.ease_saturation else 1.0
    floor = sc.ease_strength_floor
    customer_ease = max(0, min(100, int(round(100 * share * (floor + (1 - floor) * strength)))))
    lang = m.language
    return Scores(
        proposal=proposal, chatter=chatter, is_proposal=is_proposal, ease=ease, ease_lead=ease_lead,
        company=company, company_lead=company_lead, secondary=secondary_w, motive_weights=weights,
        company_first=first_motive is not None and first_ease is not None and first_motive < first_ease,
        share=share, customer_ease=customer_ease,
        motives=[mid for mid, w in sorted(weights.items(), key=lambda kv: -kv[1]) if w >= sc.motive_min_weight],
        foreign=is_foreign(found, lang.min_words, lang.min_share),
        question_end=question_end, question_lead=question_lead,
    )


# Scripts written without spaces between words (Chinese, Japanese kana, Thai, Lao, Khmer, Myanmar): a draft in
# them splits into a few long "words" by spaces, so each of their letters counts as one word here.
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                       "\uf900-\ufaff\uff66-\uff9f]")


def is_foreign(found: Scan, min_words: int, min_share: float) -> bool:
    """Pure: whether the draft looks written in another language than the playbook's: too few of its words are
    the language's common words. Letters of scripts written without spaces each count as a word, so a Chinese
    or Japanese draft is as long here as it is to its reader."""
    words = found.n_words
    if not found.text.isascii():  # the cheap test first: most drafts are ASCII
        words += len(_UNSPACED.findall(found.text))
    return words >= min_words and found.n_common / max(words, 1) < min_share


def foreign_note(language: str, label: str) -> str:
    """The note on a draft in another language than the playbook's; a dismissal says it could not tell, since
    the offline engine cannot read the draft to know it is not a proposal."""
    if label == "not-a-proposal":
        return (f"The offline engine reads {language}; this draft looks like another language, so it {CANNOT_TELL}. "
                f"Write it in {language}, or have the LLM engine check it.")
    return (f"The offline engine reads {language}; this draft looks like another language, so treat the verdict "
            "with care.")


def plainly_not_a_proposal(s: Scores, sc: Scoring) -> bool:
    """Pure: chat cues (and a closing question) outweigh the proposal cues by the playbook's
    ``explicit_dismiss_margin``: what an explicit check may still dismiss."""
    return not s.is_proposal and s.chatter - s.proposal >= sc.explicit_dismiss_margin


def decide(s: Scores, sc: Scoring, *, explicit: bool = False, judge: bool = False) -> str:
    """Pure: the rules engine's label from the scores and the playbook's thresholds.

    ``explicit`` (someone asked for this check): not-a-proposal only when the draft is plainly not one;
    otherwise the playbook's proposal gate decides, as in a watched channel. ``judge`` (the author says it is a
    proposal): never not-a-proposal."""
    if not judge and (plainly_not_a_proposal(s, sc) if explicit else not s.is_proposal):
        return "not-a-proposal"
    if s.ease == 0:
        return "inside-out"
    if s.share >= sc.outside_in_min_share:
        return "mixed" if s.company_first and s.company >= sc.company_leads_min else "outside-in"
    if s.share >= sc.mixed_min_share:
        return "mixed"
    return "inside-out"


# Punctuation, or markup blanked to spaces (two or more): written as one leading character set so the
# engine skips prose in C; the lookbehind takes a punctuation mark alone, a space needs another after it.
_CLAUSE_EDGE = re.compile(r"[.;:!?,()\n\u2014\s](?:(?<=[.;:!?,()\n\u2014])|\s+)")
_CLAUSE_MARKS = ".;:!?,()\n\u2014"
# Whitespace (str.isspace, as the regex's \s) other than the space and the line break.
_ODD_SPACE = ("\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
              "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_NOT_BLANK = re.compile(r"[^ \n]")
_PHRASE_MAX_WORDS, _REACH = 15, 6
_DANGLING = frozenset("to and or we will we'll so the a an of this that our for with by in on &".split())
_MARKS = "*_~"  # emphasis marks: a quote keeps a pair it holds whole, never one left over at either end


def _without_stray_marks(draft: str, left: int, right: int) -> tuple[int, int]:
    """The span without emphasis marks at its ends that close or open nothing inside it ("* launch …" from
    "*Proposal:* launch …"), nor the spaces they leave."""
    while left < right and draft[left] in _MARKS:
        mark = draft[left]
        if not draft[left + 1:left + 2].isspace() and draft.count(mark, left + 1, right) % 2:
            break  # opens a pair the quote closes ("*Premium Plus* lets …")
        left += 1
        while left < right and draft[left].isspace():
            left += 1
    while right > left and draft[right - 1] in _MARKS:
        mark = draft[right - 1]
        if not draft[right - 2:right - 1].isspace() and draft.count(mark, left, right - 1) % 2:
            break
        right -= 1
        while right > left and draft[right - 1].isspace():
            right -= 1
    return left, right


def clause_edges(text: str) -> list[tuple[int, int]]:
    """The (start, end) of every clause edge in ``text``, as ``_CLAUSE_EDGE.finditer`` finds them.

    The regex stops at every space of the prose; when the only whitespace is spaces and line breaks,
    str.find (memchr) finds the same edges in half the time: each punctuation mark is one edge, and a
    run of two or more blanks (from "  " or " \n" on) is one edge that takes in the line breaks in it."""
    if any(map(text.__contains__, _ODD_SPACE)):
        return [m.span() for m in _CLAUSE_EDGE.finditer(text)]
    marks: list[int] = []
    for mark in _CLAUSE_MARKS:
        i = text.find(mark)
        while i >= 0:
            marks.append(i)
            i = text.find(mark, i + 1)
    marks.sort()
    runs: list[tuple[int, int]] = []
    spaces, line = text.find("  "), text.find(" \n")
    while spaces >= 0 or line >= 0:
        start = spaces if line < 0 or 0 <= spaces < line else line
        blank = _NOT_BLANK.search(text, start)
        end = blank.start() if blank else len(text)
        runs.append((start, end))
        if 0 <= spaces < end:
            spaces = text.find("  ", end)
        if 0 <= line < end:
            line = text.find(" \n", end)
    if not runs:
        return [(p, p + 1) for p in marks]
    edges: list[tuple[int, int]] = []
    r = 0
    for p in marks:
        while r < len(runs) and runs[r][1] <= p:
            edges.append(runs[r])
            r += 1
        if r < len(runs) and runs[r][0] < p:  # a line break inside a run of blanks
            continue
        edges.append((p, p + 1))
    edges.extend(runs[r:])
    return edges


def phrases(draft: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Evidence as phrases a person reads: cues of the same side (customer ease, or company motives) that
    sit a few words apart in one clause join into one phrase, then each phrase widens up to ``_REACH``
    words either side without crossing a clause edge or a neighbour; 3-15 words where the text allows."""
    groups: list[list] = []  # [start, end, shows]: the first cue's ``shows`` names the phrase
    for start, end, shows in sorted(spans):
        if groups:
            g = groups[-1]
            gap = draft[g[1]:start]
            same_side = (g[2] == CUSTOMER_EASE) == (shows == CUSTOMER_EASE)
            # At most three words apart (split no further than it takes to tell), then no clause edge between.
            if same_side and len(gap.split(None, 3)) <= 3 and not _CLAUSE_EDGE.search(gap):
                g[1] = max(g[1], end)
                continue
        groups.append([start, end, shows])
    out: list[tuple[int, int, str]] = []
    edges = clause_edges(draft) if groups else []
    edge_starts = [e[0] for e in edges]
    for i, (start, end, shows) in enumerate(groups):
        # The clause around the phrase: from the last edge before it to the next edge after it.
        k = bisect_right(edge_starts, start) - 1
        while k >= 0 and edges[k][1] > start:  # an edge inside the cue itself does not bound it
            k -= 1
        # Six words either side fit well within 120 characters.
        lo = max(out[-1][1] if out else 0, edges[k][1] if k >= 0 else 0, start - 120)
        k = bisect_right(edge_starts, end - 1)
        hi = min(groups[i + 1][0] if i + 1 < len(groups) else len(draft),
                 edges[k][0] if k < len(edges) else len(draft), end + 120)
        room = max(0, _PHRASE_MAX_WORDS - len(draft[start:end].split()))
        # Widen by n words: just past the n-th space back from the cue (the one next to it does not
        # count), or the clause start when there are fewer; one rsplit in C instead of n rfinds.
        left = start
        if n := min(_REACH, room, len(draft[lo:start].split())):
            before = draft[lo:max(lo, start - 1)].rsplit(" ", n)
            left = lo + len(before[0]) + 1 if len(before) > n else lo
        room -= len(draft[left:start].split())
        right = end
        if n := min(_REACH, max(0, room), len(draft[end:hi].split())):
            after = draft[end + 1:hi].split(" ", n)
            right = hi - len(after[-1]) - 1 if len(after) > n else hi
        quote = draft[left:right]
        left += len(quote) - len(quote.lstrip())
        right -= len(quote) - len(quote.rstrip())
        left, right = _without_stray_marks(draft, left, right)
        # A phrase does not end on a link word ("... to", "... and we will").
        while True:
            head, _, last = draft[left:right].rpartition(" ")
            if not head.strip() or last.lower() not in _DANGLING:
                break
            right = left + len(head.rstrip())
        out.append((left, right, shows))
    return out


class RulesEngine:
    """Assess drafts with one playbook; build once, call ``assess`` many times."""

    name = "rules"

    def __init__(self, playbook: Playbook) -> None:
        self.playbook = playbook
        self._ref = playbook.ref  # frozen, so every verdict can share it
        m = playbook.model
        self._exact: dict[str, list[_Entry]] = {}
        self._prefix: dict[str, list[_Entry]] = {}
        self._class_first: dict[str, list[_Entry]] = {}
        self._prefix_lengths: list[int] = []
        self._classes = [(name, re.compile(p)) for name, p in m.token_classes.items()]
        for cue in m.proposal.cues:
            self._add(cue, "proposal", None)
        for cue in m.proposal.not_cues:
            self._add(cue, "not", None)
        for cue in m.customer_ease.cues:
            self._add(cue, "ease", None)
        for motive_id, motive in m.motives.items():
            for cue in motive.cues:
                self._add(cue, "motive", motive_id)
        for cue in m.secondary_markers:
            self._add(cue, "secondary", None)
        self._prefix_lengths = sorted({len(k) for k in self._prefix})
        # A cue opening with a common word ("the board", "we expect") is looked for at its rarer second
        # word, so common words ("the", "we") need not be visited wherever they appear.
        self._common = set(m.language.common_words)
        self._common_frozen = frozenset(self._common)
        self._back: dict[str, list[_Entry]] = {}
        for entries in self._exact.values():
            for entry in entries:
                if (len(entry.words) > 1 and entry.words[0] in self._common and entry.words[1] not in self._common
                        and entry.words[1][-1] not in "*>" and entry.words[1][:1] != "<"):
                    self._back.setdefault(entry.words[1], []).append(entry)
        self._anchored = {id(entry) for entries in self._back.values() for entry in entries}
        self._starters: set[str] = set()  # words at which some cue is tried
        self._seen: set[str] = set()  # words already sorted into starters or not
        self._cand_cache: dict[str, tuple[_Entry, ...]] = {}
        self._class_cache: dict[str, tuple[str, ...]] = {}
        self._group_cache: dict[str, tuple] = {}
        env = None  # templates compile in the one sandboxed environment (bot/templating.py)
        self._reframes = {kind: [compile_template(env, t) for t in ts] for kind, ts in m.reframes.items()}
        self._motive_questions = {mid: [compile_template(env, q) for q in mo.questions]
                                  for mid, mo in m.motives.items()}
        self._motive_measures = {mid: [compile_template(env, q) for q in mo.measures]
                                 for mid, mo in m.motives.items()}
        self._ease_questions = [compile_template(env, q) for q in m.customer_ease.questions]
        self._ease_measures = [compile_template(env, q) for q in m.customer_ease.measures]
        # The playbook guarantees each pattern has the named group for its fact.
        self._extract = {k: [re.compile(p) for p in getattr(m.extract, k)]
                         for k in ("offering", "customer", "goal", "action")}
        self._titles = {mid: mo.title for mid, mo in m.motives.items()}
        self._goal_rewrites = [(re.compile(r["pattern"], re.I), compile_template(env, r["template"]))
                               for r in m.goal_rewrites]

    # -- compilation -------------------------------------------------------------------------
    def _add(self, cue: Cue, kind: str, motive: str | None) -> None:
        words = tuple(cue.phrase.lower().replace("’", "'").split())
        # A word set ("so <customer>") becomes one literal cue per member, so matching stays a lookup.
        sets = self.playbook.model.word_sets
        for expanded in product(*[sets.get(w, [w]) for w in words]):
            self._add_words(tuple(expanded), kind, motive, cue.weight, cue.phrase)

    def _add_words(self, words: tuple[str, ...], kind: str, motive: str | None, weight: float, phrase: str) -> None:
        entry = _Entry(words, kind, motive, float(weight), phrase,
                       motive or (CUSTOMER_EASE if kind == "ease" else kind), _BUCKETS[kind])
        first = words[0]
        if first.startswith("<") and first.endswith(">"):
            self._class_first.setdefault(first, []).append(entry)
        elif first.endswith("*"):
            self._prefix.setdefault(first[:-1], []).append(entry)
        else:
            self._exact.setdefault(first, []).append(entry)

    def _classes_of(self, token: str) -> tuple[str, ...]:
        cached = self._class_cache.get(token)
        if cached is None:
            cached = tuple(name for name, rx in self._classes if rx.match(token)) if _DIGIT.search(token) else ()
            if len(self._class_cache) < _CACHE_MAX:
                self._class_cache[token] = cached
        return cached

    def _candidates(self, tok: str) -> tuple[_Entry, ...]:
        """Cue entries whose first word matches ``tok`` (memoised: drafts share most words)."""
        cached = self._cand_cache.get(tok)
        if cached is None:
            found = list(self._exact.get(tok, ()))
            for length in self._prefix_lengths:
                if length > len(tok):
                    break
                found.extend(self._prefix.get(tok[:length], ()))
            for cls in self._classes_of(tok):
                found.extend(self._class_first.get(cls, ()))
            cached = tuple(found)
            if len(self._cand_cache) < _CACHE_MAX:
                self._cand_cache[tok] = cached
        return cached

    def _grouped(self, tok: str) -> tuple[tuple[_Entry, ...], dict[str, tuple[_Entry, ...]], tuple[_Entry, ...],
                                          tuple[_Entry, ...]]:
        """Cues to try at a word: single-word ones, multi-word ones by literal second word, ones with a
        wildcard second word, and ones whose (common) first word comes just before this word."""
        cached = self._group_cache.get(tok)
        if cached is None:
            singles, wild = [], []
            by_second: dict[str, list[_Entry]] = {}
            for entry in self._candidates(tok):
                if len(entry.words) == 1:
                    singles.append(entry)
                elif id(entry) in self._anchored:
                    continue  # found from its second word instead
                elif entry.words[1][-1] in "*>":
                    wild.append(entry)
                else:
                    by_second.setdefault(entry.words[1], []).append(entry)
            cached = (tuple(singles), {k: tuple(v) for k, v in by_second.items()}, tuple(wild),
                      tuple(self._back.get(tok, ())))
            if len(self._group_cache) < _CACHE_MAX:
                self._group_cache[tok] = cached
        return cached

    def _walk(self, patterns: tuple[str, ...], chunks: list[str], j: int, last: int) -> int:
        """Match ``patterns`` against the words after chunk j: the chunk of the last one, or 0 if any differs.

        (0 is never a real answer: the walk starts after chunk j >= 0.)
        """
        jk = j
        for pattern in patterns:
            jk += 1
            while jk < last and not chunks[jk]:
                jk += 1
            if jk >= last or not self._word_matches(pattern, chunks[jk]):
                return 0
        return jk

    def _word_matches(self, pattern: str, token: str) -> bool:
        if pattern.endswith("*"):
            return token.startswith(pattern[:-1])
        if pattern.startswith("<") and pattern.endswith(">"):
            return pattern in self._classes_of(token)
        return pattern == token

    # -- scanning ----------------------------------------------------------------------------
    def scan(self, prepared: Prepared) -> Scan:
        """Find every cue in the draft and where its sentences end (no judgment yet)."""
        text = prepared.scan
        hits, n, n_common = self._find(text)
        buckets: tuple[list[_Hit], ...] = ([], [], [], [])
        for hit in hits:
            buckets[hit[2].bucket].append(hit)
        return Scan(text, buckets[PROPOSAL], buckets[NOT], buckets[SECONDARY], buckets[SCORED],
                    sentence_ends(text), n, n_common)

    def _find(self, scan: str) -> tuple[list[_Hit], int, int]:
        """Cue hits in text order, the number of words and of common words.

        Words come from C-level string methods (translate, replace, split) rather than a regex
        per word, and only words that can start a cue (found with set operations) reach Python.
        """
        text = (scan + " ").translate(_SEPARATORS)
        text = text.replace(". ", "  ").replace(", ", "  ")
        if _EDGE_AFTER.search(text) or text.startswith(_EDGE_START) or _EDGE_BEFORE.search(text):
            text = _blank_edges(text)
        chunks = text.split(" ")
        words = list(filter(None, chunks))
        n = len(words)
        n_common = sum(map(self._common.__contains__, words))
        distinct = set(words)
        for w in distinct - self._seen:
            if any(self._grouped(w)):
                self._starters.add(w)
            if len(self._seen) < _CACHE_MAX:
                self._seen.add(w)
        look = distinct & self._starters
        if not look:
            return [], n, n_common
        # Work in chunk space (empty chunks are runs of spaces), so chunk j ends at offset cum[j] + j.
        positions = list(compress(range(len(chunks)), map(look.__contains__, chunks)))
        cum = list(accumulate(map(len, chunks)))
        last = len(chunks)
        hits: list[_Hit] = []
        append = hits.append
        grouped = self._group_cache
        for j in positions:
            word = chunks[j]
            end = cum[j] + j
            start = end - len(word)
            singles, by_second, wild, back = grouped.get(word) or self._grouped(word)
            for entry in singles:
                append((start, end, entry))
            if back:
                jp = j - 1
                while jp >= 0 and not chunks[jp]:
                    jp -= 1
                if jp >= 0:
                    for entry in back:
                        if chunks[jp] == entry.words[0] and (jk := self._walk(entry.words[2:], chunks, j, last)):
                            append((cum[jp] + jp - len(chunks[jp]), cum[jk] + jk, entry))
            if not by_second and not wild:
                continue
            j2 = j + 1
            while j2 < last and not chunks[j2]:
                j2 += 1
            if j2 >= last:
                continue
            # Multi-word cues ("we should") are indexed by their second word: one dict lookup rejects most.
            candidates = by_second.get(chunks[j2], ())
            if wild:
                candidates = candidates + wild
            for entry in candidates:
                k = len(entry.words)
                if k == 2 and entry.words[1] == chunks[j2]:
                    append((start, cum[j2] + j2, entry))
                    continue
                # Longer or wildcard cues: walk the following words.
                jk = self._walk(entry.words[1:], chunks, j, last)
                if jk:
                    append((start, cum[jk] + jk, entry))
        return hits, n, n_common

    # -- the verdict -------------------------------------------------------------------------
    def assess(self, prepared: Prepared, *, mode: str = EXPLICIT) -> EngineResult:
        """``mode``: explicit (someone asked: dismissed only when plainly not a proposal), channel, or proposal
        (the author says it is one: never dismissed)."""
        found = self.scan(prepared)
        scores = score(found, self.playbook.model)
        label = decide(scores, self.playbook.model.scoring, explicit=mode == EXPLICIT, judge=mode == PROPOSAL_MODE)
        return EngineResult(self.compose(prepared, found, scores, label))

    def compose(self, prepared: Prepared, found: Scan, scores: Scores, label: str, *,
                confidence: float | None = None, engine: str | None = None,
                notes: list[str] | None = None, customer_ease: int | None = None, head: str | None = None) -> Verdict:
        """The verdict for ``label``: evidence quoted from the draft, reframe, questions and measures.

        The trained engine decides the label (and ``customer_ease``, in place of the scores' own) its own way
        and then calls this, so both engines quote, reframe and coach alike."""
        m = self.playbook.model
        all_notes = list(prepared.notes) + list(notes or ())
        if scores.foreign:
            all_notes.append(foreign_note(m.language.name, label))
        motives = scores.motives
        reframe: str | None = None
        questions: list[str] = []
        measures: list[str] = []
        if label in ("inside-out", "mixed"):
            facts = self._facts(prepared.masked or prepared.draft, motives)
            reframe = self._reframe_from_sentences(prepared, found, facts) or self._reframe(prepared.draft, facts)
            questions = self._render_list(
                [q for mid in motives[:1] for q in self._motive_questions.get(mid, [])] + self._ease_questions,
                facts, 3)
            measures = self._render_list(
                [q for mid in motives[:1] for q in self._motive_measures.get(mid, [])[:1]] + self._ease_measures,
                facts, 2)
        elif label == "outside-in":
            facts = self._facts(prepared.masked or prepared.draft, motives)
            questions = self._render_list(self._ease_questions, facts, 1)
            measures = self._render_list(self._ease_measures, facts, 1)
        judged = label != "not-a-proposal"
        # One validation of the whole verdict (pydantic-core) is cheaper than building parts one by one.
        return Verdict.model_validate({
            "label": label,
            "customer_ease": scores.customer_ease if customer_ease is None else customer_ease,
            "confidence": confidence,
            "motives": motives if judged else [],
            "evidence": [{"quote": prepared.draft[s:e], "start": s, "end": e, "shows": shows}
                         for s, e, shows in phrases(prepared.masked or prepared.draft,
                                                     pick_spans(found.scored, _MAX_EVIDENCE))]
            if judged else [],
            "reframe": reframe,
            "questions": questions,
            "measures": measures,
            "engine": engine or self.name,
            "head": head,
            "playbook": self._ref,
            "notes": all_notes,
        })

    # -- reframing ---------------------------------------------------------------------------
    def _first(self, kind: str, text: str) -> str | None:
        for rx in self._extract[kind]:
            found = rx.search(text)
            if found and (value := found.group(kind)):
                return value.strip(" ,:;-")
        return None

    def _facts(self, masked: str, motives: list[str]) -> dict[str, object]:
        # One space in front: extract patterns may open with " " to match at word starts only (faster).
        text = " " + " ".join(_QUOTE_MARKS.sub("", masked[:_FACTS_WINDOW]).split())
        offering = self._first("offering", text)
        customer = self._first("customer", text) or "customers"
        if customer and customer.lower().startswith("our "):
            customer = customer[4:]
        goal = self._first("goal", text)
        action = self._first("action", text)
        if action and goal and goal in action:
            action = action[: action.find(goal)]
        if action:
            action = _ACTION_TAIL.sub("", _ACTION_LINK.split(action.strip())[0].strip(" ,"))
        outcome = self._outcome(goal) if goal else None
        titles = [self._titles[mid] for mid in motives if mid in self._titles]
        return {
            "offering": offering or "this",
            "customer": customer.lower() if customer and not customer[:1].isupper() else customer,
            "goal": goal or "",
            "goal_short": (goal or "business goal").split(" by ")[0][:60],
            "outcome": outcome or "",
            "action": action or "",
            "motive_titles": titles,
            "has_offering": bool(offering),
            "has_goal": bool(goal),
            "has_action": bool(action),
        }

    def _reframe_from_sentences(self, prepared: Prepared, found: Scan, facts: dict[str, object]) -> str | None:
        """The draft's own sentences reordered: benefit first, goal as the result (bot/reframe.py)."""
        sentences = self.sentences(prepared, found)
        customer = str(facts["customer"]) if facts["customer"] != "customers" else None
        return reframing.reframe(reframing.without_code_blocks(prepared.draft), sentences, customer=customer,
                                 goal_in=self._goal_in, common=self._common_frozen, action_in=self._action_in)

    @staticmethod
    def sentences(prepared: Prepared, found: Scan) -> list[reframing.Sentence]:
        """The draft's sentences with the weight of the customer-ease and company-motive cues in each.

        A reframe moves whole sentences, so here a line break that hard-wrapped prose put inside a sentence
        does not end it (scoring keeps every line break as an end: in Slack a line is a thought)."""
        draft = prepared.draft
        bounds = [0, *(end for end in found.ends if not wrapped_at(draft, end))]
        if bounds[-1] < len(draft):
            bounds.append(len(draft))
        n = len(bounds) - 1
        ease = [0.0] * n
        company = [0.0] * n
        for start, _end, e in found.scored:  # each scored hit falls in one sentence (the last, at the latest)
            i = bisect_right(bounds, start, 0, n) - 1
            if e.kind == "ease":
                ease[i] += e.weight
            else:
                company[i] += e.weight
        return list(map(reframing.Sentence, bounds, bounds[1:], ease, company))

    def _goal_in(self, text: str) -> tuple[tuple[int, int], str] | None:
        """The company-goal clause of one sentence (connector included) and the goal's own words."""
        spaced = " " + text
        for rx in self._extract["goal"]:
            found = rx.search(spaced)
            if found and found.group("goal"):
                start = found.start("goal")
                goal = spaced[start:reframing.outside_markup(spaced, found.end())].rstrip()  # no half mention
                if goal:
                    return (max(0, found.start() - 1), start + len(goal) - 1), goal
        return None

    def _action_in(self, text: str) -> bool:
        """Whether one sentence proposes an action the playbook's ``extract.action`` patterns recognise."""
        spaced = " " + text
        return any(rx.search(spaced) for rx in self._extract["action"])

    def _outcome(self, goal: str) -> str:
        goal = goal.strip().rstrip(",")
        for rx, template in self._goal_rewrites:
            found = rx.match(goal)
            if found:
                return template.render(m={k: (v or "") for k, v in found.groupdict().items()}).strip()
        return goal

    def _reframe(self, draft: str, facts: dict[str, object]) -> str:
        if facts["has_offering"] and facts["has_goal"]:
            kind = "offering_goal"
        elif facts["has_offering"]:
            kind = "offering_only"
        elif facts["has_action"] and facts["has_goal"]:
            kind = "action_goal"
        elif facts["has_action"]:
            kind = "action_only"
        elif facts["has_goal"]:
            kind = "goal_only"
        else:
            kind = "fallback"
        options = self._reframes.get(kind) or self._reframes.get("fallback") or []
        if not options:
            return "[Open with what gets easier or nicer for the customer; keep the business goal as a result.]"
        template = options[zlib.crc32(draft.encode("utf-8", "replace")) % len(options)]
        text = template.render(facts)
        text = " ".join(text.split())
        return text[0].upper() + text[1:] if text else text

    @staticmethod
    def _render_list(templates: list[Renderable], facts: dict[str, object], limit: int) -> list[str]:
        out: list[str] = []
        for t in templates:
            text = " ".join(t.render(facts).split())
            if text:
                text = text[0].upper() + text[1:]
                if text not in out:
                    out.append(text)
                    if len(out) >= limit:
                        break
        return out
