"""Offline reframes built from the draft's own sentences: pure functions, no I/O.

The reframe reorders what the author wrote instead of filling a template: the sentence that carries a
customer benefit leads; the company goal follows as a consequence ("As a result, …"). Nothing is cut
inside a word or a sentence. When the draft states no benefit, one bracket asks the author for it,
naming the customer the draft names. Every number, name and date of the goal sentences is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple

# Markdown and Slack markup that must not reach a reframe half-converted.
_LINK = re.compile(r"<(https?://[^|>\s]+)\|([^>]+)>|<(https?://[^>\s]+)>")
_MD_LINK = re.compile(r"!?\[([^\]\n]+)\]\([^)\s]+\)")
_EMPHASIS = re.compile(r"(\*\*|__|~~|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_LEADER = re.compile(r"^\s*(?:#{1,6}\s+|[-*•]\s+|\d+[.)]\s+|>\s*)+")
_STRAY_STAR = re.compile(r"(?:(?<=\s)|^)\*+(?=\S)|(?<=\S)\*+(?=\s|$|[.,;:!?])")
_EMOJI = re.compile(r":[a-z0-9_+\-']+:")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.S)
_TRAILING_CONNECTOR = re.compile(r"[\s,;:—–-]*(?:\b(?:and|so|to|which|that|because|while|but))?[\s,;:—–-]*$", re.I)

AS_A_RESULT = "As a result,"
OPENING_SENTENCES = 5  # the reframe replaces the opening; later sentences stay as the author wrote them
MIN_WORDS = 4  # shorter lines are headings and labels ("Trademark Usage Policy"), not sentences to move
GOAL_WEIGHT = 1.5  # a sentence is a goal sentence when its company-motive cues weigh this much
STRONG_GOAL = 3.0  # ... and states a goal clause, unless its cues weigh this much
BRACKET = "[What gets easier or nicer for {customer} — e.g. … ?]"


# The playbook's goal finder: the (start, end) of a company-goal clause in a sentence and the goal's words.
GoalFinder = Callable[[str], "tuple[tuple[int, int], str] | None"]


class Sentence(NamedTuple):
    """One sentence of the draft: where it is, and the weight of the cues in it (a tuple: every sentence of
    every reframed draft makes one, at half the cost of a frozen dataclass)."""

    start: int
    end: int
    ease: float
    company: float


@lru_cache(maxsize=4096)
def clean(text: str) -> str:
    """A sentence as plain prose: markdown emphasis, headings, bullets and emoji codes removed, Slack links
    shown by their label, mentions kept as Slack markup, whitespace collapsed. Words are never cut."""
    text = _CODE.sub(" ", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(3), text)
    text = _MD_LINK.sub(r"\1", text)
    previous = None
    while previous != text:  # nested emphasis (***x***) unwraps layer by layer
        previous = text
        text = _EMPHASIS.sub(r"\2", text)
    text = text.replace("**", "").replace("__", "")
    text = _STRAY_STAR.sub("", text)  # emphasis cut open by a sentence end ("*Discussion of …")
    text = "\n".join(_LEADER.sub("", line) for line in text.splitlines())
    text = _EMOJI.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def finish(text: str) -> str:
    """Capitalise the first letter and end with one full stop (or the sentence's own ! or ?), in place of a
    colon, semicolon or comma a list's lead-in ends on ("three categories of software:")."""
    text = text.strip().rstrip(":;,").rstrip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def lower_first(text: str, common: frozenset[str]) -> str:
    """Lower-case the first word only when it is a common word ("We", "Our", "This"), never a name or
    an acronym, so "As a result, we …" reads right and "GOV.UK" stays as written."""
    first = text.split(" ", 1)[0]
    if first.lower() in common and not first.isupper():
        return first.lower() + text[len(first):]
    return text


def without_span(sentence: str, span: tuple[int, int]) -> str:
    """The sentence with one clause removed, tidied at the seam (no dangling "and" or comma)."""
    head = _TRAILING_CONNECTOR.sub("", sentence[: span[0]])
    tail = sentence[span[1]:].lstrip()
    if not head:
        return tail.lstrip(" ,;:")
    if tail[:1] in (",", ";", ":") and tail.strip(" ,;:.!?"):
        return (head + tail).strip()  # the clause sat between two others: keep their separator
    tail = tail.lstrip(" ,;:")
    return (head + (" " + tail if tail and tail[0] not in ".!?" else tail)).strip()


def _lift_goal(sentence: str, goal_in: GoalFinder) -> tuple[str, str | None]:
    """The sentence without its goal clause, and that goal as a result ("we expect to lift ARR 15%");
    the sentence unchanged and None when it states no goal clause."""
    found = goal_in(sentence)
    if not found:
        return sentence, None
    span, goal = found
    return without_span(sentence, span), f"we expect to {goal.strip()}"


def opening(draft: str, sentences: Sequence[Sentence]) -> list[Sentence]:
    """The sentences a reframe may move: the first few real ones (headings and labels skipped)."""
    kept: list[Sentence] = []
    for s in sentences:
        text = draft[s.start:s.end]
        if len(clean(text).split()) >= MIN_WORDS and not text.lstrip().startswith("#"):
            kept.append(s)
            if len(kept) == OPENING_SENTENCES:
                break
    return kept


def goal_sentences(draft: str, kept: Sequence[Sentence], goal_in: GoalFinder) -> list[Sentence]:
    """Sentences that state a company gain: a goal clause the playbook recognises, or strong motive cues."""
    return [s for s in kept if s.company >= GOAL_WEIGHT
            and (s.company >= STRONG_GOAL or goal_in(clean(draft[s.start:s.end])))]


def reframe(draft: str, sentences: Sequence[Sentence], *, customer: str | None,
            goal_in: GoalFinder, common: frozenset[str]) -> str | None:
    """The reframe, or None when the draft gives nothing to reorder.

    ``goal_in(text)`` returns the (start, end) of a company-goal clause in ``text`` and the goal's words
    ("lift ARR 15% this quarter"), or None; it comes from the playbook's ``extract.goal`` patterns."""
    kept = opening(draft, sentences)
    if not kept:
        return None
    benefit = max((s for s in kept if s.ease > 0), key=lambda s: (s.ease - s.company, -s.start), default=None)
    goals = [s for s in goal_sentences(draft, kept, goal_in) if s is not benefit]
    parts: list[str] = []
    consequence: list[str] = []
    if benefit is not None:
        lead = clean(draft[benefit.start:benefit.end])
        if benefit.company > 0:  # the goal shares the benefit's sentence: lift it out whole, put it after
            lead, result = _lift_goal(lead, goal_in)
            consequence += [result] if result else []
        parts.append(finish(lead))
    else:
        who = customer or "your customers"
        parts.append(BRACKET.format(customer=who))
        if goals:  # the first goal sentence: its action stays, its goal clause becomes the result
            first = goals.pop(0)
            text = clean(draft[first.start:first.end])
            action, result = _lift_goal(text, goal_in)
            if result:
                parts.append(finish(action))
                consequence.append(result)
            else:
                consequence.append(lower_first(text, common).rstrip(".!? "))
        else:  # no goal stated either: the bracket, then the opening as the author wrote it
            parts.append(finish(clean(draft[kept[0].start:kept[0].end])))
    consequence += [lower_first(clean(draft[s.start:s.end]), common).rstrip(".!? ") for s in goals]
    if consequence:
        tail = "; ".join(consequence)
        parts.append(f"{AS_A_RESULT} {tail}" + ("" if tail[-1:] in ".!?" else "."))
    text = " ".join(p for p in parts if p)
    return text or None
