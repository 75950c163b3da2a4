"""Pending work, recorded before the ack: many requests share one SQLite transaction.

Slack gives an app 3 seconds to acknowledge, and Motive Coach records each accepted draft as
pending *before* acknowledging, so a crash after the ack cannot lose it. When a hundred
commands arrive at once, one transaction each (plus a thread hop each) queues the acks behind
each other. Here a single writer thread takes whatever is waiting and writes it in one
transaction (group commit), then wakes every waiting request; a burst costs a few commits.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any

from .store import Store

log = logging.getLogger(__name__)
_MAX_BATCH = 500


class PendingWriter:
    """``await writer.admit(draft, **fields)`` returns ``Store.admit_pending``'s answer once it is committed;
    ``await writer.record(draft, **fields)`` the new check's id."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: queue.SimpleQueue[tuple[dict[str, Any], asyncio.AbstractEventLoop, asyncio.Future] | None]
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="pending-writer", daemon=True)
        self._thread.start()
        self.batches = 0  # commits made, for tests and benches

    async def record(self, draft: str, **fields: Any) -> int | None:
        return (await self.admit(draft, **fields))["id"]

    async def admit(self, draft: str, **fields: Any) -> dict[str, Any]:
        item = {"draft": draft, **fields}
        if not self._thread.is_alive():  # the writer died (it logs why): write this one directly
            return (await asyncio.to_thread(self.store.admit_pending, [item]))[0]
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._queue.put((item, loop, future))
        return await future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5)

    def _run(self) -> None:
        try:
            self.store.ping()  # open this thread's connection now, not under the first burst
        except Exception as exc:  # noqa: BLE001 - each write will open it again and report its own error
            log.error("pending writer could not open the database: %s", type(exc).__name__)
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < _MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(more)
            try:
                results: list[dict[str, Any]] | BaseException = self.store.admit_pending([f for f, _, _ in batch])
                self.batches += 1
            except Exception as exc:  # noqa: BLE001 - every waiter gets the error; the writer keeps going
                log.error("could not record pending checks: %s", type(exc).__name__)
                results = exc
            for index, (_, loop, future) in enumerate(batch):
                result = results if isinstance(results, BaseException) else results[index]
                try:
                    loop.call_soon_threadsafe(_settle, future, result)
                except RuntimeError:
                    pass  # that request's loop is gone (shutdown): nobody is waiting


def _settle(future: asyncio.Future, result: dict[str, Any] | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
