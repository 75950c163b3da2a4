"""Offline reframes built from the draft's own sentences: pure functions, no I/O.

The reframe reorders what the author wrote instead of filling a template: the sentence that carries a
customer benefit leads; the company goal follows as a consequence ("As a result, …"). Nothing is cut
inside a word or a sentence, and what is left of a sentence once its goal clause is lifted out is kept only
when it is still a sentence ("We will grow ARR 20%" leaves "We": dropped). When the draft states no benefit,
one bracket asks the author for it, naming the customer the draft names, and the draft's action follows it.
Every number, name and date of the goal sentences is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple

from .slack.mrkdwn import MARKUP, start_around, unescape  # Slack's &amp; &lt; &gt;, decoded as everywhere else

# Markdown and Slack markup that must not reach a reframe half-converted.
_LINK = re.compile(r"<(https?://[^|>\s]+)\|([^>]+)>|<(https?://[^>\s]+)>")
_MD_LINK = re.compile(r"!?\[([^\]\n]+)\]\([^)\s]+\)")
_EMPHASIS = re.compile(r"(\*\*|__|~~|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_LEADER = re.compile(r"^\s*(?:#{1,6}\s+|[-*•]\s+|\d+[.)]\s+|>\s*)+")
_STRAY_STAR = re.compile(r"(?:(?<=\s)|^)\*+(?=\S)|(?<=\S)\*+(?=\s|$|[.,;:!?])")
_EMOJI = re.compile(r":[a-z0-9_+\-']+:")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_CODE_BLOCK = re.compile(r"```.*?```", re.S)  # closed: Slack shows a fence never closed, and what follows, as text
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_CODE_MARK = re.compile("\ue000(\\d+)\ue001")  # where an inline code span waits while the prose around it is cleaned
# Mentions, channel links and specials (<!here>) that open a sentence: who it is addressed to, not what it says.
_LEADING_MENTIONS = re.compile(r"^(?:<[@#!][^<>\n]*>[\s,:;—–-]*)+")
# A label that opens a sentence ("Proposal:", "Next steps:"): one or two words, no digits (a "Q3 plan:" is kept).
_LABEL = re.compile(r"^[A-Z][A-Za-z'’/-]*(?: [A-Za-z][A-Za-z'’/-]*)?:\s+(?=\S)")
_I = re.compile(r"I(?:['’](?:d|m|ll|ve))?$")  # "I", "I'd", "I'm": never lower-cased, whatever the common words say
_ENUMERATOR = re.compile(r"^(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|finally|lastly|also|plus|additionally|moreover"
                         r"|on top of that)\s*,\s*(?:and\s+|but\s+)?", re.I)
_LEADING_CONNECTOR = re.compile(r"^(?:and\s+)?(?:so(?:\s+that)?|then)\s+|^and\s+", re.I)
_TRAILING_CONNECTOR = re.compile(r"[\s,;:—–-]*(?:\b(?:and|so|to|which|that|because|while|but))?[\s,;:—–-]*$", re.I)

AS_A_RESULT = "As a result,"
OPENING_SENTENCES = 5  # the reframe replaces the opening; later sentences stay as the author wrote them
MIN_WORDS = 4  # shorter lines are headings and labels ("Trademark Usage Policy"), not sentences to move
GOAL_WEIGHT = 1.5  # a sentence is a goal sentence when its company-motive cues weigh this much
STRONG_GOAL = 3.0  # ... and states a goal clause, unless its cues weigh this much
BRACKET = "[What gets easier or nicer for {customer} — e.g. … ?]"
MIN_SENTENCE_WORDS = 3  # what is left of a sentence once its goal is lifted out: fewer words is a fragment
# Words no sentence ends on: a line of prose that stops on one goes on below (rules.wrapped_at), and a sentence
# of the draft that ends on one was cut short ("… which can be summed up as:") and is not moved.
OPEN_ENDED = frozenset("the a an of to for with by from about into onto and or nor than as at via e.g i.e our their its my "
                       "your".split())
# ... and what is left of a sentence once its goal is lifted out must not end on these either: "Our plan is
# [to …]", "We need [to …]", "Team, we [will …]".
_HANGING = OPEN_ENDED | frozenset("""is are was were be been am will shall would should can could must may might
need needs want wants plan plans aim aims hope hopes going have has had do does in on over under after before
but so that which who because while if we i you they it us""".split())
# ... and the words a fragment may consist of to be dropped: it only framed the goal ("Our plan is", "Hi team,
# we"). A fragment with any other word ("Next quarter, we") is kept whole with its goal.
_FRAMING = _HANGING | frozenset("""goal goals objective target aim plan proposal idea priority team folks everyone
all hi hey hello ok okay so now well also then this""".split())
_WORD = re.compile(r"[^\W_][\w'’.-]*")


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
    shown by their label, Slack's &amp; &lt; &gt; decoded, mentions that open it and a label ("Proposal:")
    dropped, mentions inside it kept as Slack markup, inline code kept as written, whitespace collapsed.
    Words are never cut."""
    text = _CODE_BLOCK.sub(" ", text)
    code: list[str] = []
    if "`" in text:  # inline code is words of the draft: set aside so no markup rule touches it
        def keep(m: re.Match[str]) -> str:
            code.append(m.group())
            return f"\ue000{len(code) - 1}\ue001"
        text = _INLINE_CODE.sub(keep, text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(3), text)
    text = _MD_LINK.sub(r"\1", text)
    previous = None
    while previous != text:  # nested emphasis (***x***) unwraps layer by layer
        previous = text
        text = _EMPHASIS.sub(r"\2", text)
    text = text.replace("**", "").replace("__", "").replace("`", "")
    text = _STRAY_STAR.sub("", text)  # emphasis cut open by a sentence end ("*Discussion of …")
    text = "\n".join(_LEADER.sub("", line) for line in text.splitlines())
    text = _EMOJI.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    text = _LABEL.sub("", _LEADING_MENTIONS.sub("", text))
    if "&" in text or code:  # decoded last, so an escaped "&lt;@U1&gt;" stays text, never a mention
        text = _CODE_MARK.sub(lambda m: code[int(m.group(1))], text)
        text = unescape(text)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def without_code_blocks(draft: str) -> str:
    """``draft`` with each fenced code block blanked to spaces (its line breaks kept, so every offset still holds):
    sentences are cut at line breaks, and a block's lines would otherwise read as sentences a reframe may move."""
    if "```" not in draft:
        return draft
    return _CODE_BLOCK.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), draft)


def outside_markup(text: str, end: int) -> int:
    """``end``, or the start of the Slack markup (a mention, a channel, a link) it falls inside: a clause cut there
    would leave half a mention on each side ("… accounts!here>", "… 15% <")."""
    return start_around(MARKUP, text, end)


def cut_short(text: str) -> bool:
    """True when ``text`` ends on a word no sentence ends on ("… the first-ever conference about the")."""
    words = _WORD.findall(text)
    return bool(words) and words[-1].rstrip(".").lower() in OPEN_ENDED


def is_fragment(text: str) -> bool:
    """True when ``text`` is not a sentence: fewer than three words, or it ends on a word that leaves it
    hanging ("We", "Our plan is", "Team, we", "launch it for")."""
    words = _WORD.findall(text)
    return len(words) < MIN_SENTENCE_WORDS or words[-1].rstrip(".").lower() in _HANGING


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
    if first.lower() in common and not first.isupper() and not _I.match(first):
        return first.lower() + text[len(first):]
    return text


def as_result(text: str, common: frozenset[str]) -> str:
    """A goal sentence as the clause after "As a result,": without the enumerator that ordered it among the
    draft's points ("Second, …", "Also, …"), which reads as nonsense there, and with a common first word
    lower-cased."""
    return lower_first(_ENUMERATOR.sub("", text) or text, common).rstrip(".!? ")


def without_span(sentence: str, span: tuple[int, int]) -> str:
    """The sentence with one clause removed, tidied at the seam (no dangling "and" or comma)."""
    head = _TRAILING_CONNECTOR.sub("", sentence[: span[0]])
    tail = sentence[span[1]:].lstrip()
    if head and tail[:1] == "," and all(w.lower() in _FRAMING for w in _WORD.findall(head)):
        # "We need [to hit our quota], so I propose …": the head only framed the goal, and the clause after the
        # comma is the sentence; its "so" pointed back at the goal, which now comes after it as a result.
        head = ""
        tail = _LEADING_CONNECTOR.sub("", tail.lstrip(" ,"))
    if not head:
        return tail.lstrip(" ,;:")
    if tail[:1] in (",", ";", ":") and tail.strip(" ,;:.!?"):
        return (head + tail).strip()  # the clause sat between two others: keep their separator
    tail = tail.lstrip(" ,;:")
    return (head + (" " + tail if tail and tail[0] not in ".!?" else tail)).strip()


def _lift_goal(sentence: str, goal_in: GoalFinder) -> tuple[str | None, str | None]:
    """The sentence without its goal clause, and that goal as a result ("we expect to lift ARR 15%").

    What is left is None when it is no sentence and only framed the goal ("We", "Our plan is", "Team, we"):
    the result says it all. When it is no sentence but says something of its own ("Next quarter, we", "Our
    goal for Q3 is"), or the sentence states no goal clause, the sentence comes back whole with no result."""
    found = goal_in(sentence)
    if not found:
        return sentence, None
    span, goal = found
    result = f"we expect to {goal.strip()}"
    rest = without_span(sentence, span)
    if not is_fragment(rest):
        return rest, result
    if all(w.rstrip(".").lower() in _FRAMING for w in _WORD.findall(rest)):
        return None, result
    return sentence, None


def opening(draft: str, sentences: Sequence[Sentence]) -> list[Sentence]:
    """The sentences a reframe may move: the first few real ones (headings, labels, questions and sentences cut
    short skipped)."""
    kept: list[Sentence] = []
    for s in sentences:
        text = draft[s.start:s.end]
        cleaned = clean(text)
        if (len(cleaned.split()) >= MIN_WORDS and not text.lstrip().startswith("#") and not cut_short(cleaned)
                and not cleaned.endswith("?")):
            kept.append(s)
            if len(kept) == OPENING_SENTENCES:
                break
    return kept


def goal_sentences(draft: str, kept: Sequence[Sentence], goal_in: GoalFinder) -> list[Sentence]:
    """Sentences that state a company gain: a goal clause the playbook recognises, or strong motive cues."""
    return [s for s in kept if s.company >= GOAL_WEIGHT
            and (s.company >= STRONG_GOAL or goal_in(clean(draft[s.start:s.end])))]


def reframe(draft: str, sentences: Sequence[Sentence], *, customer: str | None,
            goal_in: GoalFinder, common: frozenset[str], action_in: Callable[[str], bool] | None = None) -> str | None:
    """The reframe, or None when the draft gives nothing to reorder.

    ``goal_in(text)`` returns the (start, end) of a company-goal clause in ``text`` and the goal's words
    ("lift ARR 15% this quarter"), or None; it comes from the playbook's ``extract.goal`` patterns.
    ``action_in(text)`` says whether a sentence proposes an action ("Let's launch a premium tier."; the
    playbook's ``extract.action`` patterns): with no benefit in the draft, such a sentence follows the bracket
    when no goal sentence keeps an action of its own once its goal is lifted out."""
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
            rest, result = _lift_goal(lead, goal_in)
            if rest is not None and result:  # lifting out the goal must leave the benefit a sentence
                lead = rest
                consequence.append(result)
        parts.append(finish(lead))
    else:
        parts.append(BRACKET.format(customer=customer or "your customers"))
    # Each goal sentence: its goal clause becomes a result; the first action left standing (or, with no
    # benefit, the first sentence that proposes one) follows the lead; the rest follow whole, as results.
    action: str | None = None
    for s in goals:
        text = clean(draft[s.start:s.end])
        rest, result = _lift_goal(text, goal_in)
        if result:
            if rest is not None:
                # What is left leads only where it is the draft's action: lifting a goal out of the middle of a
                # description leaves words that read as no sentence ("startups are looking, more competition").
                if action is None and (benefit is None and s is goals[0] or action_in is None or action_in(rest)):
                    action = rest
                else:
                    consequence.append(as_result(text, common))
                    continue
            consequence.append(result)
        elif action is None and benefit is None and action_in is not None and action_in(text) \
                and not goal_in(text):  # a goal kept whole ("Next quarter, we will cut …") is a result
            action = text
        else:
            consequence.append(as_result(text, common))
    if action is not None:
        parts.append(finish(action))
    elif benefit is None and not goals:  # no goal stated either: the bracket, then the opening as written
        parts.append(finish(clean(draft[kept[0].start:kept[0].end])))
    if consequence:
        tail = "; ".join(consequence)
        parts.append(f"{AS_A_RESULT} {tail}" + ("" if tail[-1:] in ".!?" else "."))
    text = " ".join(p for p in parts if p)
    return text or None
