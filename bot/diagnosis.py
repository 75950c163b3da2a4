"""A diagnosis a person reads in five seconds: pure functions from a Verdict to plain words.

The CLI and Slack both show: one line that says why, at most three highlighted phrases with a short
reason each, motives in plain words, the score explained once, and the reframe as a ready replacement
for the opening. Ids stay in JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from .verdict import CANNOT_TELL, CUSTOMER_EASE, Verdict

OUTSIDE_IN_FROM = 60  # customer_ease bands: outside-in 60-100, mixed 30-59, inside-out 0-29
MAX_HIGHLIGHTS = 3

# Plain words for each motive, short enough for a sentence ("leads with the up-sell").
MOTIVE_WORDS = {
    "new-product": "launching a product",
    "acquisition": "winning new customers",
    "upsell-crosssell": "the up-sell",
    "revenue-profit": "a revenue goal",
    "internal-metrics-bonuses": "an internal target",
    "cost-efficiency": "cutting our costs",
}


@dataclass(frozen=True)
class Highlight:
    quote: str
    reason: str


def motive_words(motive: str) -> str:
    return MOTIVE_WORDS.get(motive, motive.replace("-", " "))


def _and(items: list[str]) -> str:
    items = list(dict.fromkeys(items))
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def why(verdict: Verdict) -> str:
    """One line that says why, built from the top evidence."""
    company = [e for e in verdict.evidence if e.shows != CUSTOMER_EASE]
    ease = [e for e in verdict.evidence if e.shows == CUSTOMER_EASE]
    first = verdict.evidence[0] if verdict.evidence else None
    goals = _and([motive_words(m) for m in (verdict.motives or [e.shows for e in company])][:2])
    if verdict.label == "not-a-proposal":
        if any(CANNOT_TELL in note for note in verdict.notes):
            return "The offline engine could not read this draft's language, so it could not tell whether it proposes anything."
        return "Nothing here proposes, plans or announces a change, so there is nothing to coach."
    if verdict.label == "outside-in":
        if ease:
            return f"Your opening leads with what gets easier for the customer: “{ease[0].quote}”."
        return "Your opening leads with the customer, and any company gain comes after it."
    if verdict.label == "mixed":
        if first is not None and first.shows != CUSTOMER_EASE and ease:
            return f"There is a real customer benefit here, but {goals or 'a company goal'} comes first."
        return f"There is a real customer benefit here, but {goals or 'a company goal'} carries as much weight."
    if goals:
        return f"Your opening leads with {goals}; it doesn't yet say what gets easier for the customer."
    return "Your opening leads with what the company does, not with what gets easier for the customer."


def highlights(verdict: Verdict, limit: int = MAX_HIGHLIGHTS) -> list[Highlight]:
    """At most ``limit`` evidence phrases with a short reason; the customer is never called a company motive."""
    out = []
    for e in verdict.evidence[:limit]:
        reason = "customer ease" if e.shows == CUSTOMER_EASE else f"company motive: {motive_words(e.shows)}"
        out.append(Highlight(e.quote, reason))
    return out


def score_line(verdict: Verdict) -> str | None:
    """The score explained once; a not-a-proposal verdict shows none."""
    if verdict.label == "not-a-proposal":
        return None
    sure = ""
    if verdict.confidence is not None:
        sure = f" · confidence {verdict.confidence:.0%}"
    return f"Customer ease {verdict.customer_ease}/100 — outside-in starts at {OUTSIDE_IN_FROM}{sure}."


def plain_motives(verdict: Verdict) -> str | None:
    if not verdict.motives or verdict.label == "not-a-proposal":
        return None
    return "Company goals in it: " + _and([motive_words(m) for m in verdict.motives]) + "."
