"""The weekly digest: pure figures from the store, rendered as markdown, JSON or Block Kit. No Slack here."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import quickread
from .errors import InputError
from .slack.mrkdwn import outside_atoms  # pure text rules, as bot/reframe.py uses them
from .store import Store

MIN_POSTERS = 3  # a channel's own figures appear only with at least this many different people
# Fewer proposals than this in a week and one draft moves a share by more than 20 points: the digest gives counts
# ("1 of 3") instead of percentages, and reads no change on last week and no trend from such a week.
MIN_SHARE = 5
PROPOSALS = ("outside-in", "mixed", "inside-out")
LLM_ENGINES = ("openai",)  # the careful reader; every other engine is the offline quick read


def parse_week(value: str) -> tuple[int, int]:
    """'2026-W47' → (2026, 47)."""
    try:
        year, week = value.upper().split("-W")
        d = date.fromisocalendar(int(year), int(week), 1)
        return d.isocalendar()[0], d.isocalendar()[1]
    except (ValueError, TypeError):
        raise InputError(f"not an ISO week: {value!r} (use e.g. 2026-W47)") from None


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


def week_bounds(year: int, week: int, tz: str) -> tuple[float, float]:
    """Epoch seconds of Monday 00:00 and the next Monday 00:00, in the workspace timezone."""
    zone = ZoneInfo(tz)
    start = datetime.combine(date.fromisocalendar(year, week, 1), datetime.min.time(), tzinfo=zone)
    return start.timestamp(), (start + timedelta(days=7)).timestamp()


def last_full_week(now: float, tz: str) -> tuple[int, int]:
    today = datetime.fromtimestamp(now, ZoneInfo(tz)).date()
    d = today - timedelta(days=7)
    return d.isocalendar()[0], d.isocalendar()[1]


@dataclass
class Digest:
    workspace: str
    week: str
    timezone: str
    checked: int = 0  # the week's proposals (outside-in, mixed, inside-out): every share is of these
    not_proposals: int = 0  # drafts checked that proposed nothing: counted beside the proposals, in no share
    shares: dict[str, float] = field(default_factory=dict)
    previous_shares: dict[str, float] = field(default_factory=dict)
    previous_checked: int = 0  # last week's proposals: with none, there is no change to report
    # The workspace's first week with a check when it is one of the 8 weeks to this one ("" when it is earlier): the
    # weeks drawn start there, as no week before it is compared with (the coach was not there yet; those weeks read
    # as "0 drafts", a team that wrote nothing).
    first_week: str = ""
    # Up to 8 weeks (from first_week): {week, n, overall, channels: {channel or "other": share}, sizes: {the same:
    # drafts}} (only groups with MIN_POSTERS people)
    trend: list[dict[str, Any]] = field(default_factory=list)
    motives: list[tuple[str, int]] = field(default_factory=list)  # (motive title, count)
    # Who judged the week's proposals: drafts per engine (openai, trained, rules), and how many of the offline
    # verdicts stood in for an LLM that did not answer.
    readers: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0
    adoption: dict[str, dict[str, Any]] = field(default_factory=dict)
    disagree_share: float = 0.0
    disagreed: int = 0  # the proposals someone disagreed with, which disagree_share is of ``checked``
    # Agreement over time: [{week, share, n, against}] for the weeks drawn (share None where nothing was checked),
    # and what a retrain this week changed.
    disagree_trend: list[dict[str, Any]] = field(default_factory=list)
    retrain_note: str = ""
    examples: list[dict[str, str]] = field(default_factory=list)  # before, after, channel, message_ts, link
    note: str = ""
    note_source: str = "template"

    @property
    def quiet(self) -> bool:
        return self.checked == 0


def _shares(counts: Counter) -> dict[str, float]:
    total = sum(counts[label] for label in PROPOSALS)
    return {label: (counts[label] / total if total else 0.0) for label in PROPOSALS}


def groups(rows: list[dict[str, Any]]) -> tuple[set[str], bool]:
    """Who may be shown for one week: the public channels with MIN_POSTERS different people, and whether the rest
    ("other") has MIN_POSTERS people too. Private channels are never named; they count in "other"."""
    posters: dict[str, set[str]] = {}
    for r in rows:
        posters.setdefault(r["channel"] or "", set()).add(r["user"] or "")
    named = {c for c, people in posters.items() if c and len(people) >= MIN_POSTERS
             and all(r["channel_type"] == "public" for r in rows if r["channel"] == c)}
    rest = set().union(*(people for c, people in posters.items() if c not in named)) if posters else set()
    return named, len(rest) >= MIN_POSTERS


# A reframe that still shows its template: "{{ offering }}", "<offering>", or any "[...]": square brackets are where
# the coach leaves what only the author knows ("[What gets easier or nicer for customers — e.g. … ?]", the
# playbook's "[name the task that gets easier for them — e.g. …]"), whatever words they hold.
UNFILLED = re.compile(r"\[[^\[\]\n]*\]|\{\{|\}\}|\{%|<(?:offering|customer|goal)>", re.I)


def real_reframe(before: str, after: str | None) -> bool:
    """A before/after example is worth showing only with a filled-in reframe that says something new."""
    if not after or UNFILLED.search(after):
        return False
    return " ".join(after.split()).lower() != " ".join(before.split()).lower()


def compute(store: Store, workspace: str, year: int, week: int, tz: str, *, names: bool = False,
            titles: dict[str, str] | None = None) -> Digest:
    """Every figure of one week's digest, with the privacy rules applied to every group shown."""
    titles = titles or {}
    start, end = week_bounds(year, week, tz)
    digest = Digest(workspace=workspace, week=week_label(year, week), timezone=tz)
    rows = store.week_checks(workspace, start, end)
    proposals = [r for r in rows if r["label"] in PROPOSALS]
    digest.checked = len(proposals)
    digest.not_proposals = len(rows) - len(proposals)
    digest.shares = _shares(Counter(r["label"] for r in proposals))
    digest.readers = dict(Counter(r["engine"] or "unknown" for r in proposals).most_common())
    digest.fallbacks = sum(1 for r in proposals if r["fallback"] and r["engine"] not in LLM_ENGINES)
    ps, pe = week_bounds(*_weeks_back(year, week, 1), tz)
    prev: Counter = Counter()
    for r in store.label_counts_by_channel(workspace, ps, pe, PROPOSALS):
        prev[r["label"]] += r["n"]
    digest.previous_shares = _shares(prev)
    digest.previous_checked = sum(prev.values())
    visible, other_shown = groups(proposals)
    first = store.first_check_ts(workspace)
    weeks = drawn_weeks(first, year, week, tz)
    oldest = week_bounds(*weeks[0], tz)
    if first is not None and oldest[0] <= first < oldest[1]:
        digest.first_week = week_label(*weeks[0])

    # Trend: up to 8 weeks of outside-in share, overall and per group; the 3-poster rule is applied to each week.
    for y, w in weeks:
        ws, we = week_bounds(y, w, tz)
        counted = store.poster_counts(workspace, ws, we, PROPOSALS)
        named, rest = groups(counted)
        per: dict[str, Counter] = {}
        for r in counted:
            per.setdefault(r["channel"] if r["channel"] in named else "other", Counter())[r["label"]] += r["n"]
        overall: Counter = sum(per.values(), Counter())
        n = sum(overall.values())
        digest.trend.append({
            "week": week_label(y, w), "n": n,
            "overall": overall["outside-in"] / n if n else None,
            "channels": {c: cnt["outside-in"] / sum(cnt.values()) for c, cnt in per.items()
                         if c != "other" or rest},
            "sizes": {c: sum(cnt.values()) for c, cnt in per.items() if c != "other" or rest},  # drafts behind each
        })

    counter: Counter = Counter()
    for r in rows:
        if r["label"] in ("inside-out", "mixed"):
            counter.update(json.loads(r["motives"] or "[]"))
    digest.motives = [(titles.get(m, m.replace("-", " ")), n) for m, n in counter.most_common(5)]

    def group(channel: str) -> str:
        return channel if channel in visible else "other"

    decisions = store.week_decisions(workspace, start, end)
    suggested = Counter(group(r["channel"]) for r in proposals if r["label"] in ("inside-out", "mixed"))
    for chan in sorted(set(suggested) | {group(r["channel"]) for r in decisions}):
        if chan == "other" and not other_shown:
            continue  # fewer than MIN_POSTERS people: their figures count in the totals only
        mine = [d for d in decisions if group(d["channel"]) == chan]
        # Only reasons given on public drafts are ever quoted (never a private channel's, never a DM's).
        reasons = Counter(d["reason"].strip().lower() for d in mine
                          if d["action"] == "kept-original" and d["reason"] and d["channel_type"] == "public")
        figures = {
            "suggested": suggested.get(chan, 0),
            "used": len({d["check_id"] for d in mine if d["action"] == "accepted"}),
            "kept": len({d["check_id"] for d in mine if d["action"] == "kept-original"}),
            "reasons": [r for r, _ in reasons.most_common(3)],
        }
        if figures["suggested"] or figures["used"] or figures["kept"]:  # not a line of zeros for a "Why?" click
            digest.adoption[chan] = figures
    digest.disagreed = _disputed(decisions)
    digest.disagree_share = digest.disagreed / digest.checked if digest.checked else 0.0
    for y, w in weeks:
        ws, we = week_bounds(y, w, tz)
        n = sum(1 for r in store.week_checks(workspace, ws, we) if r["label"] in PROPOSALS)
        against = _disputed(store.week_decisions(workspace, ws, we))
        digest.disagree_trend.append({"week": week_label(y, w), "share": against / n if n else None, "n": n,
                                      "against": against})
    retrained = [h for h in store.heads(workspace) if start <= h["created"] < end]
    if retrained and len(digest.disagree_trend) >= 2:
        before, now = digest.disagree_trend[-2], digest.disagree_trend[-1]
        if before["share"] is not None and now["share"] is not None:
            digest.retrain_note = (f"The coach retrained on your team's labels this week (v{retrained[0]['version']}): "
                                   f"disagreement {of(before['against'], before['n'])} last week, "
                                   f"{of(now['against'], now['n'])} this week.")

    # Quoted only from the channels named this week (MIN_POSTERS people): a smaller channel's figures are folded
    # into "other", and its few authors' words must not be shown either.
    for r in store.accepted_public_examples(workspace, start, end, 12):
        after = json.loads(r["verdict_json"] or "{}").get("reframe")
        if r["channel"] not in visible or not real_reframe(r["draft_text"], after) or len(digest.examples) == 3:
            continue
        example = {"before": r["draft_text"], "after": after, "channel": r["channel"] or "",
                   "message_ts": r["message_ts"] or "", "link": ""}
        if names and r["user"]:
            example["author"] = r["user"]
        digest.examples.append(example)
    return digest


def drawn_weeks(first: float | None, year: int, week: int, tz: str) -> list[tuple[int, int]]:
    """The weeks of the trend, oldest first: the 8 to (year, week), from the week of the workspace's first check
    (``first``) when that is later; the report week alone when there is no check yet."""
    weeks = [_weeks_back(year, week, k) for k in range(7, -1, -1)]
    return [(y, w) for y, w in weeks if first is not None and week_bounds(y, w, tz)[1] > first] or [(year, week)]


def _weeks_back(year: int, week: int, k: int) -> tuple[int, int]:
    """The ISO week ``k`` weeks before (year, week)."""
    d = date.fromisocalendar(year, week, 1) - timedelta(days=7 * k)
    return d.isocalendar()[0], d.isocalendar()[1]


def _disputed(decisions: list[dict[str, Any]]) -> int:
    """Checks whose proposal verdict someone disputed. "Read it as a proposal" on a draft the coach dismissed is
    recorded as disputed too, yet that draft is not among the proposals a share is of."""
    return len({d["check_id"] for d in decisions if d["action"] == "disputed" and d["label"] in PROPOSALS})


def template_note(d: Digest) -> str:
    """The coaching note when no LLM is configured."""
    if d.quiet:
        return quiet_line(d)
    ask = ("Before posting, try asking: what gets easier for the customer, and could that be the first sentence — "
           "with the business goal as the result?")
    if d.motives and d.checked < MIN_SHARE:  # one or two drafts show no "most common" anything
        return f"Too few proposals this week to see a pattern. {ask}"
    if d.motives:
        most = d.motives[0][1]
        tied = [m.replace("-", " ") for m, n in d.motives if n == most]  # never one picked at random from a tie
        top = tied[0] if len(tied) == 1 else ", ".join(tied[:-1]) + " and " + tied[-1]
        leads = "lead was" if len(tied) == 1 else "leads were"
        return f"This week the most common {leads} {top}. {ask}"
    return "Keep leading with what gets easier for customers; the business results can follow in the second line."


def change(d: Digest) -> float | None:
    """The outside-in share's change on last week; None when either week had too few proposals to compare."""
    if d.previous_checked < MIN_SHARE or d.checked < MIN_SHARE:
        return None
    return d.shares.get("outside-in", 0.0) - d.previous_shares.get("outside-in", 0.0)


def no_change(d: Digest) -> str:
    """Why there is no change on last week to report ("" when there is one)."""
    if change(d) is not None:
        return ""
    if not d.previous_checked:
        return "the coach's first week, nothing to compare with" if d.first_week == d.week else "no proposals last week"
    if d.checked < MIN_SHARE:
        return "too few proposals this week to compare with last week"
    return f"only {proposals(d.previous_checked)} last week, too few to compare"


def counted(n: int, noun: str) -> str:
    """'1 draft', '3 drafts'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def drafts(n: int) -> str:
    return counted(n, "draft")


def proposals(n: int) -> str:
    return counted(n, "proposal")


def checked_line(d: Digest) -> str:
    """How many drafts were checked and how many of them were proposals, which every figure after it is of: '33
    proposals checked', or '40 drafts checked, 33 of them proposals' when 7 proposed nothing (they read '33 drafts
    checked', as if the 7 had not been)."""
    if not d.not_proposals:
        return f"{proposals(d.checked)} checked"
    total = drafts(d.checked + d.not_proposals)
    if not d.checked:
        return f"{total} checked, none of them a proposal"
    return f"{total} checked, {d.checked} of them {'a proposal' if d.checked == 1 else 'proposals'}"


def quiet_line(d: Digest) -> str:
    """A week without a proposal, in one line: 'A quiet week: 3 drafts checked, none of them a proposal.'"""
    return f"A quiet week: {checked_line(d)}." if d.not_proposals else "A quiet week: no drafts were checked."


def of(k: int, n: int) -> str:
    """A share as a reader can trust it: a percentage from MIN_SHARE drafts on, else the counts ("1 of 3")."""
    return f"{k / n:.0%}" if n >= MIN_SHARE else f"{k} of {n}"


def counts(d: Digest) -> dict[str, int]:
    """The week's proposals by label."""
    return {label: round(d.shares.get(label, 0.0) * d.checked) for label in PROPOSALS}


def percents(shares: dict[str, float]) -> dict[str, int]:
    """Shares as whole percents that add up to 100 (largest remainder: 1/3 each is 34/33/33, not 33/33/33)."""
    if not any(shares.get(label) for label in PROPOSALS):
        return dict.fromkeys(PROPOSALS, 0)
    exact = {label: shares.get(label, 0.0) * 100 for label in PROPOSALS}
    whole = {label: int(v) for label, v in exact.items()}
    # Ties go to the order of PROPOSALS, so the same shares always print the same way.
    by_remainder = sorted(PROPOSALS, key=lambda label: (-round(exact[label] - whole[label], 9), PROPOSALS.index(label)))
    for label in by_remainder[:max(0, 100 - sum(whole.values()))]:
        whole[label] += 1
    return whole


def headline(d: Digest) -> str:
    """The week's figures in one line: drafts and proposals checked, the shares (counts, in a week with too few for a share), and
    the change on last week when both weeks have enough drafts to compare."""
    delta = change(d)
    versus = no_change(d) if delta is None else f"{points(delta)} outside-in vs last week"
    if d.checked < MIN_SHARE:
        c = counts(d)
        return (f"{checked_line(d)}: {c['outside-in']} outside-in, {c['mixed']} mixed, {c['inside-out']} "
                f"inside-out (too few for percentages; {versus}).")
    p = percents(d.shares)
    return (f"{checked_line(d)}: {p['outside-in']}% outside-in, {p['mixed']}% mixed, "
            f"{p['inside-out']}% inside-out ({versus}).")


def shorten(text: str, limit: int = 300) -> str:
    """At most ``limit`` characters, cut at a word (never inside an emoji code or a link) and ending with "…"."""
    if len(text) <= limit:
        return text
    head = text[: outside_atoms(text, limit - 1)]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip() + "…"


def points(delta: float) -> str:
    """A change of share in percentage points: +12 pts, -3 pts, ±0 pts."""
    pts = round(delta * 100)
    return f"{pts:+d} pts" if pts else "±0 pts"


def title(d: Digest) -> str:
    """'Motive Coach weekly digest — 2026-W49 (Nov 30 – Dec 6)': the ISO week, and its days for those who don't
    count in ISO weeks (Monday to Sunday in the workspace's timezone)."""
    monday = date.fromisocalendar(*parse_week(d.week), 1)
    sunday = monday + timedelta(days=6)
    days = (f"{monday:%b} {monday.day}–{sunday.day}" if monday.month == sunday.month
            else f"{monday:%b} {monday.day} – {sunday:%b} {sunday.day}")
    return f"Motive Coach weekly digest — {d.week} ({days})"


def to_markdown(d: Digest) -> str:
    if d.quiet:
        return f"*{title(d)}*\n{quiet_line(d)}"
    lines = [
        f"*{title(d)}*",
        headline(d),
        who_read(d),
    ]
    if d.motives:
        lines.append("*What led instead of customer ease:* " + ", ".join(f"{m} ({n})" for m, n in d.motives))
    if d.adoption:
        lines.append("*Adoption:*")
        for chan, a in d.adoption.items():
            name = "other channels" if chan == "other" else f"<#{chan}>"
            reasons = f"; kept because: {', '.join(a['reasons'])}" if a["reasons"] else ""
            lines.append(f"• {name}: {adoption(a)}{reasons}")
    lines.append(how_the_coach_did(d))
    for ex in d.examples:
        author = f" ({ex['author']})" if ex.get("author") else ""
        link = f" <{ex['link']}|thread>" if ex["link"] else ""
        lines.append(f"*Before:* {shorten(ex['before'])}\n*After:* {shorten(ex['after'])}{author}{link}")
    lines.append(f"*Note for the coming week* ({d.note_source}): {d.note}")
    return "\n".join(lines)


def adoption(a: dict[str, Any]) -> str:
    """One group's adoption figures: '1 reframe suggested, 0 used, 1 kept the original'."""
    return f"{counted(a['suggested'], 'reframe')} suggested, {a['used']} used, {a['kept']} kept the original"


def to_json(d: Digest) -> str:
    data = asdict(d)
    data["quiet"] = d.quiet
    return json.dumps(data, indent=2, ensure_ascii=False)


def claim(store: Store, workspace: str, channel: str, week: str, owner: str, stale_after: float = 900) -> bool:
    """Claim the right to post one digest; False when it was posted or another process holds a fresh claim."""
    return store.claim_digest(workspace, channel, week, owner, stale_after)


def who_read(d: Digest) -> str:
    """Which reader judged the week's proposals, so leadership knows what the trend rests on: the LLM's and the
    offline quick read's shares, fallbacks counted, and how far the quick read agrees with a careful reader."""
    llm = sum(n for engine, n in d.readers.items() if engine in LLM_ENGINES)
    offline = {engine: n for engine, n in d.readers.items() if engine not in LLM_ENGINES}
    quick = sum(offline.values())
    total = llm + quick
    if not total:
        return "*Who read them:* nobody this week."
    every = f"all {total}" if total > 1 else "the only one"
    if not quick:
        return f"*Who read them:* the LLM, {every}."
    agrees = quickread.agreement(max(offline, key=lambda e: offline[e])) or "is a rough reading"
    fell_back = f"{d.fallbacks} of them when the LLM did not answer" if d.fallbacks else ""
    enough = total >= MIN_SHARE  # percentages of 4 drafts say less than the counts
    if not llm:  # the figures named are the ones the headline gives (see headline)
        return (f"*Who read them:* the offline quick read, {every}{', ' + fell_back if fell_back else ''}. On real "
                f"writing it {agrees}, so take the {'shares' if enough else 'counts'} as a rough guide.")
    detail = ", ".join(x for x in (f"{quick / total:.0%}" if enough else "", fell_back) if x)
    return (f"*Who read them:* the LLM {llm}{f' ({llm / total:.0%})' if enough else ''}, the offline quick read "
            f"{quick}{f' ({detail})' if detail else ''}. On real writing the quick read {agrees}.")


def how_the_coach_did(d: Digest) -> str:
    """Agreement over time, in one line: this week's share of verdicts people disagreed with, the trend, and
    what a retrain changed."""
    weeks = [f"{t['week'][-3:]} {of(t['against'], t['n'])}" for t in d.disagree_trend if t["share"] is not None]
    trend = f" (weeks before: {', '.join(weeks[-5:-1])})" if len(weeks) > 1 else ""
    share = of(d.disagreed, d.checked) + (" of" if d.checked >= MIN_SHARE else "")  # "20% of verdicts", "1 of 4 verdicts"
    line = f"*How the coach did:* people disagreed with {share} verdicts{trend}."
    return line + (f" {d.retrain_note}" if d.retrain_note else "")
