"""Who a mention names: user ids → names (``users.info``), cached per workspace, never holding up a reply for long.

What the coach posts in public quotes the draft, and a mention quoted is a mention made: the person would hear from
the coach a second time. Slack has no mention that does not notify, so public posts show "@Name" as plain text
(``mrkdwn.quiet``), and this is where the names come from. A lookup that fails, is rate limited or is slow leaves
the id out: the post then says "@someone". Nothing here raises.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from . import mrkdwn

log = logging.getLogger(__name__)

WAIT = 1.0  # seconds a reply waits for names at most (a users.info answer usually takes a fraction of it)
KEEP = 3600.0  # seconds a name is kept: a renamed person shows their new name within the hour
KEEP_MISS = 60.0  # seconds a failed lookup is not tried again, nor any in a workspace where Slack was too slow
SIZE = 5000  # names kept across workspaces, least recently used dropped first
RETRY_AFTER_MAX = 300.0  # the longest a rate-limited workspace goes without lookups
LOOKUPS_MAX = 20  # users.info calls for one post at most (Tier 4: 100+ a minute); more people are "@someone"


def name_of(user: dict[str, Any]) -> str:
    """The name Slack shows for a person: their display name, else their full name, else their handle."""
    profile = user.get("profile") or {}
    for value in (profile.get("display_name"), profile.get("real_name"), user.get("real_name"), user.get("name")):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def retry_after(response: Any) -> float:
    """How long Slack asked to wait after a 429 (its Retry-After), within 1 s and RETRY_AFTER_MAX."""
    headers = getattr(response, "headers", None) or {}
    try:
        after = float(next((v for k, v in headers.items() if k.lower() == "retry-after"), None) or 30)
    except (TypeError, ValueError):
        after = 30.0
    return min(max(after, 1.0), RETRY_AFTER_MAX)


class Names:
    """A bounded cache of people's names per workspace, filled from ``users.info`` at most ``wait`` seconds a call."""

    def __init__(self, *, wait: float = WAIT, keep: float = KEEP, keep_miss: float = KEEP_MISS, size: int = SIZE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.wait, self.keep, self.keep_miss, self.size, self.clock = wait, keep, keep_miss, size, clock
        self._cache: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()  # → (until, name or "")
        self._paused: dict[str, float] = {}  # workspace → no lookups until (Slack was too slow, or said 429)

    async def of(self, client: Any, workspace: str, *texts: str | None) -> dict[str, str]:
        """The names of the people ``texts`` mention that could be had within ``wait`` seconds: user id → name."""
        ids = mrkdwn.mentioned("\n".join(t for t in texts if t))
        if not ids:
            return {}
        now = self.clock()
        names: dict[str, str] = {}
        missing = []
        for uid in ids:
            hit = self._get(workspace, uid, now)
            if hit is None:
                missing.append(uid)
            elif hit:
                names[uid] = hit
        if self._paused.get(workspace, 0.0) <= now:
            self._paused.pop(workspace, None)
        elif missing:
            return names
        if missing:
            tasks = {asyncio.ensure_future(self._lookup(client, workspace, uid)): uid for uid in missing[:LOOKUPS_MAX]}
            done, pending = await asyncio.wait(list(tasks), timeout=self.wait)
            for task in pending:
                task.cancel()
            if pending:  # Slack is slow, or its client waits out a 429: the next replies should not wait as well
                self._pause(workspace, self.keep_miss)
                log.info("users.info took over %.1f s for %d name(s): shown as %s", self.wait, len(pending),
                         mrkdwn.SOMEONE)
            for task in done:
                if not task.cancelled() and task.exception() is None and task.result():
                    names[tasks[task]] = task.result()
        return names

    async def _lookup(self, client: Any, workspace: str, uid: str) -> str:
        try:
            resp = await client.users_info(user=uid)
            name = name_of(resp.get("user") or {})
        except Exception as exc:  # noqa: BLE001 - a name is a nicety: never a failed reply
            response = getattr(exc, "response", None)
            if getattr(response, "status_code", None) == 429:
                self._pause(workspace, retry_after(response))
            log.info("users.info failed: %s", getattr(response, "get", lambda _k: None)("error") or type(exc).__name__)
            name = ""
        self._put(workspace, uid, name, self.keep if name else self.keep_miss)
        return name

    def _pause(self, workspace: str, seconds: float) -> None:
        self._paused[workspace] = max(self._paused.get(workspace, 0.0), self.clock() + seconds)

    def _get(self, workspace: str, uid: str, now: float) -> str | None:
        """The cached name ("" for a recent failure), or None when it is not known or too old."""
        entry = self._cache.get((workspace, uid))
        if entry is None or entry[0] <= now:
            return None
        self._cache.move_to_end((workspace, uid))
        return entry[1]

    def _put(self, workspace: str, uid: str, name: str, keep: float) -> None:
        self._cache[(workspace, uid)] = (self.clock() + keep, name)
        self._cache.move_to_end((workspace, uid))
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
