"""The one road every Slack draft takes: opt-out, the channel's playbook, a pending record, the check, the store.

The slash command, the draft modal, message edits, the workflow step, crash recovery and ``import`` all come
through ``Intake``; the Slack listeners only parse, acknowledge and dispatch, and never call the checker or
write a check themselves.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from .checker import Checker
from .engines.trained import CHANNEL, EXPLICIT, PROPOSAL
from .errors import InputError
from .pending import PendingWriter
from .store import Store
from .verdict import Usage, Verdict

OPT_OUT_MARKER = "[no-coach]"
# A person's own new message: none, or one posted with a file attached (a proposal with its screenshot or spec),
# live in Slack or in an export.
DRAFT_SUBTYPES = (None, "file_share")
SLASH_PROPOSAL = "slash-proposal"  # the source of an explicit check its author said is a proposal
_PROPOSAL_PREFIX = re.compile(r"\s*proposal\s*:\s*", re.IGNORECASE)
# A check answered just before a crash, delivered by the instance that took it over, from what was stored.
RECOVERED_WITHOUT_WORDS = ("This answer was recovered after a restart; the draft's words (quotes, suggested opening) "
                           "are not stored, so only the reading is shown.")
OPTOUT_TTL = 30.0  # seconds an in-memory opt-out list is trusted before it is read again

# Why a draft was not checked; each is told to the author in their own words by the edge.
OPTED_OUT = "opted-out"
NO_COACH = "no-coach"
EMPTY = "empty"
DUPLICATE = "duplicate"
UNWATCHED = "unwatched"  # a channel message from a channel nobody asked to watch (not told to anyone)
_REFUSALS = {"opted-out": OPTED_OUT, "unwatched": UNWATCHED, "duplicate": DUPLICATE}  # Store.admit_pending's words
DEFAULT_LEASE_SECONDS = 15.0  # MOTIVECHECK_LEASE_SECONDS
SETTLED_POLL = 0.2  # seconds between looks at a check another request (or instance) is still answering
MAX_ATTEMPTS = 3  # instances that may take over one check before it is given up (a draft that crashes each one)


@dataclass(frozen=True)
class Draft:
    """A draft as it arrived from Slack (or an export), with where it came from."""

    text: str
    source: str  # slash, slash-proposal ("/motivecheck proposal: ..."), channel, workflow, import (modal: slash)
    workspace: str = ""
    channel: str = ""
    user: str = ""
    channel_type: str = ""
    message_ts: str | None = None
    reply_mode: str | None = None
    external_id: str | None = None
    ts: float | None = None
    playbook: str | None = None  # filled in by the road from the channel's settings

    @property
    def mode(self) -> str:
        """How the draft is judged: messages seen in a watched channel (or imported from one) pass the
        channel gate; anything a person asked about (slash, modal, workflow) is an explicit check, and one its
        author said is a proposal (slash-proposal) has its motive judged whatever it reads like."""
        if self.source in ("channel", "import"):
            return CHANNEL
        return PROPOSAL if self.source == SLASH_PROPOSAL else EXPLICIT

    def record_fields(self) -> dict[str, Any]:
        """The columns of the check row this draft becomes."""
        return {"source": self.source, "workspace": self.workspace, "channel": self.channel,
                "channel_type": self.channel_type, "user": self.user, "message_ts": self.message_ts,
                "reply_mode": self.reply_mode, "external_id": self.external_id, "ts": self.ts}


@dataclass
class Outcome:
    """Where a draft ended up: refused (and why), failed (and why), or checked with its verdict."""

    draft: Draft
    check_id: int | None = None
    verdict: Verdict | None = None
    usage: Usage = field(default_factory=Usage)
    refused: str | None = None
    error: str | None = None
    latency_ms: float = 0.0
    owner: str | None = None  # the instance holding the check's lease while it is answered (None: no lease)
    lost: bool = False  # another instance took the work over (this one stalled): it answers, this one must not

    @property
    def checked(self) -> bool:
        return self.verdict is not None


def slash_draft(text: str) -> tuple[str, str]:
    """Pure: the draft and its source for text typed into /motivecheck or the draft box. A leading
    ``proposal:`` is the author saying it proposes something: it is taken off and the motive is always judged."""
    m = _PROPOSAL_PREFIX.match(text)
    return (text[m.end():], SLASH_PROPOSAL) if m else (text, "slash")


def marked_no_coach(text: str) -> bool:
    """Whether the author put the opt-out marker in ``text`` (any case)."""
    return OPT_OUT_MARKER in text.lower()


def refusal(draft: Draft, optouts: set[tuple[str, str]]) -> str | None:
    """Why ``draft`` must be neither checked nor stored, or None. Pure: the road's first step."""
    if marked_no_coach(draft.text):
        return NO_COACH
    if draft.user and ((draft.workspace, draft.user) in optouts
                       or (not draft.workspace and any(u == draft.user for _, u in optouts))):
        return OPTED_OUT  # an export imported without a workspace id still honours the person's opt-out
    if not draft.text.strip():
        return EMPTY
    return None


class Intake:
    """The road: ``admit`` (refuse, or record as pending and leased to this instance), then ``finish`` (check and
    store); ``answering`` holds the lease around ``finish`` and the delivery, ``take_over`` and ``resuming`` finish
    another instance's work when its lease runs out."""

    def __init__(self, checker: Checker, store: Store, *, owner: str | None = None,
                 lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.checker = checker
        self.store = store
        self.pending: PendingWriter | None = None
        # This instance, as the holder of leases on work in flight (bot/store/leases.py).
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.lease_seconds = lease_seconds
        self.held: set[int] = set()  # checks this instance holds and is working on
        self._optouts: set[tuple[str, str]] | None = None
        self._optouts_loaded = 0.0
        self._optouts_lock: asyncio.Lock | None = None

    # -- opt-outs ----------------------------------------------------------------------------
    async def optouts(self) -> set[tuple[str, str]]:
        """Opt-outs from memory, reloaded every OPTOUT_TTL seconds: refuses at once what this instance knows of;
        ``screen`` asks the database about the rest (other instances may have been told)."""
        if self._optouts is None or time.monotonic() - self._optouts_loaded > OPTOUT_TTL:
            self._optouts_lock = self._optouts_lock or asyncio.Lock()
            async with self._optouts_lock:
                if self._optouts is None or time.monotonic() - self._optouts_loaded > OPTOUT_TTL:
                    self._optouts = await asyncio.to_thread(self.store.optouts)
                    self._optouts_loaded = time.monotonic()
        return self._optouts

    async def opted_out(self, workspace: str, user: str) -> bool:
        return (workspace, user) in await self.optouts()

    async def set_optout(self, workspace: str, user: str, opted_out: bool) -> None:
        await asyncio.to_thread(self.store.set_optout, workspace, user, opted_out)
        if self._optouts is not None:
            (self._optouts.add if opted_out else self._optouts.discard)((workspace, user))

    # -- the road ----------------------------------------------------------------------------
    def playbook_for(self, workspace: str, channel: str) -> str | None:
        """The channel's playbook, when an admin chose one; else None (the default)."""
        row = self.store.channel_settings(workspace, channel) if channel else None
        return (row or {}).get("playbook") or None

    def _look_up(self, draft: Draft) -> tuple[bool, str | None]:
        """Whether the author has opted out, by the database (they may have told another instance since this one last
        read the list), and the channel's playbook: one thread hop on the ack path."""
        opted_out = bool(draft.user) and self.store.is_opted_out(draft.workspace, draft.user)
        return opted_out, self.playbook_for(draft.workspace, draft.channel)

    async def screen(self, draft: Draft) -> Outcome | Draft:
        """Refuse a draft that must not be checked, else return it with its channel's playbook."""
        why = refusal(draft, await self.optouts())
        if why is not None:
            return Outcome(draft=draft, refused=why)
        opted_out, playbook = await asyncio.to_thread(self._look_up, draft)
        if opted_out:
            return Outcome(draft=draft, refused=OPTED_OUT)
        return replace(draft, playbook=playbook)

    def start(self) -> PendingWriter:
        """The pending writer (its thread and database connection), started once."""
        if self.pending is None:
            self.pending = PendingWriter(self.store)
        return self.pending

    async def admit(self, draft: Draft, *, check_id: int | None = None, claim: str | None = None,
                    reply_url: str | None = None, owner: str | None = None, watched_only: bool = False,
                    env_watched: bool = False) -> Outcome:
        """Screen the draft and record it as pending before anyone is told it was accepted.

        A new pending check is leased to this instance until it is answered (``reply_url``: where the answer goes,
        kept only that long). What the database must answer first — has the author opted out (on any instance),
        the channel's playbook, and for a channel message (``watched_only``) whether and how its channel is watched
        (``env_watched``: by MOTIVECHECK_WATCH_CHANNELS) — is read in the same transaction as the record, one per
        burst (``Store.admit_pending``). ``claim`` is a key acted on once only, claimed there too (Slack's retries
        and duplicate deliveries are refused as ``DUPLICATE``, whichever instance they reach). ``check_id`` names an
        existing check instead (an edited message, or work taken over, whose lease ``owner`` holds).
        """
        if check_id is not None:
            screened = await self.screen(draft)
            if isinstance(screened, Outcome):
                return screened
            if claim is not None and not await asyncio.to_thread(self.store.claim_event, claim):
                return Outcome(draft=screened, refused=DUPLICATE)
            return Outcome(draft=screened, check_id=check_id, owner=owner)
        why = refusal(draft, await self.optouts())  # what this instance already knows, without the database
        if why is not None:
            return Outcome(draft=draft, refused=why)
        fields = {**draft.record_fields(), "lease_owner": self.owner, "lease_until": time.time() + self.lease_seconds,
                  "reply_url": reply_url, "claim": claim, "screen": True, "watched_only": watched_only,
                  "env_watched": env_watched}
        answer = await self.start().admit(draft.text, status="pending", **fields)
        admitted = replace(draft, playbook=answer["playbook"], reply_mode=answer["reply_mode"])
        if answer["id"] is None:
            return Outcome(draft=admitted, refused=_REFUSALS[answer["refused"]])
        self.held.add(answer["id"])
        return Outcome(draft=admitted, check_id=answer["id"], owner=self.owner)

    async def assess(self, draft: Draft, *, engine: str | None = None) -> Outcome:
        """Check an admitted (screened) draft without storing anything (``import`` stores its rows in batches)."""
        started = time.perf_counter()
        try:
            verdict, usage = await self.checker.aassess(draft.text, engine=engine, playbook=draft.playbook,
                                                         mode=draft.mode, workspace=draft.workspace or None)
        except InputError as exc:
            return Outcome(draft=draft, error=str(exc))
        return Outcome(draft=draft, verdict=verdict, usage=usage, latency_ms=(time.perf_counter() - started) * 1000)

    async def finish(self, admitted: Outcome, *, new_text: bool = False) -> Outcome:
        """Check an admitted draft and complete its check (``new_text``: the draft replaces the stored one).

        A leased check is completed only while this instance still holds it; otherwise the outcome is ``lost``.
        """
        if admitted.refused or admitted.check_id is None:
            return admitted
        outcome = await self.assess(admitted.draft)
        outcome.check_id, outcome.owner = admitted.check_id, admitted.owner
        if outcome.verdict is None:
            kept = await asyncio.to_thread(self.store.fail_check, admitted.check_id, owner=admitted.owner)
        else:
            kept = await asyncio.to_thread(self.store.complete_check, admitted.check_id, outcome.verdict,
                                           usage=outcome.usage, latency_ms=outcome.latency_ms,
                                           draft=admitted.draft.text if new_text else None, owner=admitted.owner)
        if not kept and admitted.owner is not None:
            outcome.lost = True
            self.held.discard(admitted.check_id)
        return outcome

    @asynccontextmanager
    async def answering(self, admitted: Outcome, *, new_text: bool = False) -> AsyncIterator[Outcome]:
        """Finish the check, then hold its lease while the caller delivers the answer; let it go afterwards."""
        async with self._holding(admitted.check_id, self.finish(admitted, new_text=new_text)) as outcome:
            yield outcome

    @asynccontextmanager
    async def resuming(self, row: dict[str, Any]) -> AsyncIterator[Outcome]:
        """``answering`` for a check taken over from another instance (``take_over``)."""
        async with self._holding(row["id"], self.resume(row)) as outcome:
            yield outcome

    @asynccontextmanager
    async def _holding(self, check_id: int | None, work: Awaitable[Outcome]) -> AsyncIterator[Outcome]:
        """The lease is let go once the caller has delivered (a delivery that raised is not tried again). It stays
        if the work is cancelled (the instance is stopping) or fails unexpectedly, as if this instance had crashed:
        another instance, or this one restarted, then takes the check over (MAX_ATTEMPTS times at most)."""
        try:
            outcome = await work
        except BaseException:
            self.held.discard(check_id or 0)
            raise
        stopping = False
        try:
            yield outcome
        except asyncio.CancelledError:
            stopping = True
            raise
        finally:
            if not stopping:
                await self.release(outcome)

    async def release(self, outcome: Outcome) -> None:
        """The answer is delivered (or nothing is to be delivered): the check needs no more work."""
        if outcome.owner is None or outcome.check_id is None or outcome.lost:
            return
        self.held.discard(outcome.check_id)
        await asyncio.to_thread(self.store.release_lease, outcome.check_id, outcome.owner)

    # -- work in flight, across instances ---------------------------------------------------------
    async def renew(self) -> None:
        """Push this instance's leases forward; a check another instance took over meanwhile is no longer ours."""
        if not self.held:
            return
        ids = sorted(self.held)
        still = await asyncio.to_thread(self.store.renew_leases, self.owner, ids, time.time() + self.lease_seconds)
        self.held.difference_update(set(ids) - still)

    async def settled(self, workspace: str, channel: str, message_ts: str) -> dict[str, Any] | None:
        """The check of a channel message once no instance is working on it (answered, or given up), or None.

        An edit made while the first check runs waits here, so it re-checks the latest text once the reply is out
        (it found no reply to update and was dropped). Bounded: a check is taken over at most MAX_ATTEMPTS times.
        """
        deadline = time.monotonic() + self.lease_seconds * (MAX_ATTEMPTS + 1)
        while True:
            row = await asyncio.to_thread(self.store.find_check_by_message, workspace, channel, message_ts)
            if row is None or row.get("lease_until") is None or time.monotonic() > deadline:
                return row
            await asyncio.sleep(SETTLED_POLL)

    async def take_over(self, limit: int = 20) -> list[dict[str, Any]]:
        """Checks whose holder stopped renewing their lease (it crashed, or stopped), now held by this instance."""
        now = time.time()
        rows = await asyncio.to_thread(self.store.take_expired, self.owner, now + self.lease_seconds, now, limit)
        self.held.update(r["id"] for r in rows)
        return rows

    async def resume(self, row: dict[str, Any]) -> Outcome:
        """A check taken over: a pending one takes the rest of the road; a finished one keeps its result.

        The pending row holds the draft's text until it is answered, even with MOTIVECHECK_STORE_TEXT=off
        (``Store.record_pending``), so this works either way. A draft whose author opted out meanwhile is
        failed and its text erased, never checked.
        """
        draft = Draft(text=row["draft_text"] or "", source=row["source"], workspace=row["workspace"] or "",
                      channel=row["channel"] or "", user=row["user"] or "", channel_type=row.get("channel_type") or "",
                      message_ts=row["message_ts"], reply_mode=row.get("reply_mode"))
        if row["status"] == "done" and row.get("verdict_json"):
            verdict = Verdict.model_validate_json(row["verdict_json"])
            if row["draft_text"] is None:  # stored without its words (MOTIVECHECK_STORE_TEXT=off): say why
                verdict.notes.append(RECOVERED_WITHOUT_WORDS)
            return Outcome(draft=draft, check_id=row["id"], owner=self.owner, verdict=verdict)
        if row["status"] != "pending" or (row.get("attempts") or 0) > MAX_ATTEMPTS:
            # Failed before the crash, or a draft that every instance taking it has died on: give it up.
            await asyncio.to_thread(self.store.fail_check, row["id"], owner=self.owner)
            return Outcome(draft=draft, check_id=row["id"], owner=self.owner, error="gave up")
        try:
            admitted = await self.admit(draft, check_id=row["id"], owner=self.owner)
            if admitted.refused:  # refused now (its author opted out meanwhile): never stored, whatever the setting
                admitted.check_id, admitted.owner = row["id"], self.owner
                await asyncio.to_thread(self.store.fail_check, row["id"], owner=self.owner, erase=True)
                await asyncio.to_thread(self.store.checkpoint)  # nor a copy in SQLite's write-ahead log (rare: no cost)
                return admitted
            return await self.finish(admitted)
        except Exception as exc:  # noqa: BLE001 - a failed recovery is recorded, never a crash loop
            await asyncio.to_thread(self.store.fail_check, row["id"], owner=self.owner)
            return Outcome(draft=draft, check_id=row["id"], owner=self.owner, error=type(exc).__name__)

    async def hand_back(self) -> None:
        """Stopping: unfinished work goes to whichever instance looks next, without waiting for the lease to run out."""
        self.held.clear()
        await asyncio.to_thread(self.store.hand_back_leases, self.owner)

    def close(self) -> None:
        if self.pending is not None:
            self.pending.close()
