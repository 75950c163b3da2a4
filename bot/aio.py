"""Run the async core from sync callers (the CLI, the importer): one implementation, a thin wrapper."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_local = threading.local()


def _thread_loop() -> asyncio.AbstractEventLoop:
    """One event loop per thread, kept: the async OpenAI client it uses stays bound to a live loop."""
    loop = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = _local.loop = asyncio.new_event_loop()
    return loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion and return its result, from any thread, inside a running loop or not."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _thread_loop().run_until_complete(coro)
    # Called from async code that did not await: run on a helper thread rather than block this loop's re-entry.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run_sync, coro).result()
