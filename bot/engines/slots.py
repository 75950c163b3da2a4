"""LLM requests in flight, shared fairly between workspaces (``MOTIVECHECK_LLM_CONCURRENCY``).

A provider's rate limit is per key, not per workspace: without a bound, a burst from one workspace sends every
request at once, the provider refuses most of them (429), and every workspace's checks fall back together. With
a bound, at most ``limit`` requests of this process are in flight; when all are taken, the next free one goes to
the waiting workspace with the fewest requests in flight (ties: whoever waited longest), so ten checks from one
team are not queued behind a thousand from another. A request that cannot get a slot before its check's
deadline is not sent: the check falls back to the offline engine and says the LLM was busy.

Thread-safe and loop-agnostic: the Slack app has one event loop, but sync callers run checks on loops of their
own threads (``bot.aio.run_sync``), so waiters are woken with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

_NOBODY = ""  # checks with no workspace (the CLI) share one queue


@dataclass
class _Waiter:
    workspace: str
    seq: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    granted: bool = False
    gone: bool = False  # gave up waiting: never grant to it


class Busy(Exception):
    """No slot came free before the deadline."""


class FairSlots:
    """At most ``limit`` holders at once (``limit`` 0: no bound, nothing is counted)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._held = 0
        self._by_workspace: Counter[str] = Counter()
        self._queues: dict[str, deque[_Waiter]] = {}
        self._seq = itertools.count()

    @property
    def in_flight(self) -> int:
        return self._held

    def waiting(self) -> int:
        with self._lock:
            return sum(1 for _ in self._waiters())

    def _waiters(self) -> Iterator[_Waiter]:
        """Those still waiting (the lock held)."""
        return (w for q in self._queues.values() for w in q if not w.gone)

    @asynccontextmanager
    async def slot(self, workspace: str | None, timeout: float) -> AsyncIterator[None]:
        """Hold a slot for the body; raise Busy when none comes free within ``timeout`` seconds."""
        if self.limit <= 0:
            yield
            return
        ws = workspace or _NOBODY
        await self._acquire(ws, timeout)
        try:
            yield
        finally:
            self._release(ws)

    async def _acquire(self, ws: str, timeout: float) -> None:
        with self._lock:
            if self._held < self.limit and next(self._waiters(), None) is None:
                self._take(ws)
                return
            loop = asyncio.get_running_loop()
            waiter = _Waiter(ws, next(self._seq), loop, loop.create_future())
            self._queues.setdefault(ws, deque()).append(waiter)
        # asyncio.wait, not wait_for: on Python 3.11 wait_for returns a result that arrived as the task was
        # cancelled, swallowing the cancellation; asyncio.wait never does, and leaves the future alone on a timeout.
        try:
            await asyncio.wait({waiter.future}, timeout=max(timeout, 0.0))
        except BaseException:  # the check itself cancelled: stop waiting
            with self._lock:
                waiter.gone = True
                granted = waiter.granted
            if granted:  # the slot arrived as the wait ended: hand it on rather than lose it
                self._release(ws)
            raise
        with self._lock:
            if waiter.granted:  # granted, perhaps as the time ran out: it is this check's (its wake-up may lag)
                return
            waiter.gone = True
        raise Busy(f"all {self.limit} LLM request slots stayed taken")

    def _take(self, ws: str) -> None:
        self._held += 1
        self._by_workspace[ws] += 1

    def _release(self, ws: str) -> None:
        with self._lock:
            self._held -= 1
            self._by_workspace[ws] -= 1
            if self._by_workspace[ws] <= 0:
                del self._by_workspace[ws]
            while self._held < self.limit:
                waiter = self._next()
                if waiter is None:
                    return
                waiter.granted = True
                self._take(waiter.workspace)
                waiter.loop.call_soon_threadsafe(_wake, waiter.future)

    def _next(self) -> _Waiter | None:
        """The waiting workspace with the fewest requests in flight; ties go to the longest wait."""
        best: _Waiter | None = None
        for ws, queue in list(self._queues.items()):
            while queue and queue[0].gone:
                queue.popleft()
            if not queue:
                del self._queues[ws]
                continue
            head = queue[0]
            if best is None or (self._by_workspace[ws], head.seq) < (self._by_workspace[best.workspace], best.seq):
                best = head
        if best is not None:
            self._queues[best.workspace].popleft()
        return best


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
