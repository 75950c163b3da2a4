"""What every Slack listener is handed: settings, the checker, the store, and the background tasks after the acks.

A leaf of the Slack edge: the listeners, the admin commands and the replies all take a ``Deps``, and none of them
needs another to name it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from ..checker import Checker
from ..config import Settings
from ..intake import Intake
from ..store import Store
from .names import Names

ACK_QUIET = 0.02  # background work starts once no Slack request has arrived for this long...
ACK_PRIORITY_MAX = 1.0  # ...or after this long, so a steady stream of requests cannot starve it


@dataclass
class Deps:
    settings: Settings
    checker: Checker
    store: Store
    tasks: set[asyncio.Task] = field(default_factory=set)
    accepting: bool = True
    authorize: Any = None  # app.OneAuthTest (one bot token), or Bolt's installation-store authorize (OAuth)
    clients: Any = None  # oauth.WorkspaceClients: a workspace's Web API client for work outside a request
    intake: Intake | None = None
    names: Names = field(default_factory=Names)  # people's names for mentions quoted in public
    _last_request: float = 0.0

    def __post_init__(self) -> None:
        self.intake = self.intake or Intake(self.checker, self.store, lease_seconds=self.settings.lease_seconds)

    async def warm_up(self) -> None:
        """Start the pending writer (and its database connection) and read the opt-outs before serving."""
        self.intake.start()
        await self.intake.optouts()
        if self.settings.llm_configured:
            # The LLM client's first request imports anyio's asyncio backend: about 0.1 s of CPU on the event loop,
            # which the first burst of commands would otherwise wait behind (seen in a profile of 100 at once).
            import anyio

            anyio.Event()

    def spawn(self, coro: Any) -> None:
        """Run work after the ack; keep a reference so it is not collected and can be drained."""
        task = asyncio.get_running_loop().create_task(self._after_acks(coro))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def note_request(self) -> None:
        """Called as each command, message or click reaches its listener (HTTP and Socket Mode alike)."""
        self._last_request = time.monotonic()

    async def _after_acks(self, coro: Any) -> Any:
        """Acks first: background work waits for a quiet moment, at most ACK_PRIORITY_MAX seconds.

        Everything shares one event loop, and starting a check (building an LLM request) costs a few
        milliseconds of CPU; during a burst of commands that would push later acks past Slack's limit.
        """
        give_up = time.monotonic() + ACK_PRIORITY_MAX
        while (now := time.monotonic()) < give_up:
            quiet_for = now - self._last_request
            if quiet_for >= ACK_QUIET:
                break
            await asyncio.sleep(ACK_QUIET - quiet_for)
        return await coro
