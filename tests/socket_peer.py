"""Slack's side of a Socket Mode connection, on loopback, for tests and benches."""

from __future__ import annotations

import asyncio
import json
import threading
import time

from aiohttp import WSMsgType, web


class SocketPeer:
    """Slack's side of a Socket Mode websocket, on loopback: hello, then envelopes; times each ack.

    Point FakeSlack.socket_url at ``url`` so apps.connections.open hands it to the app.
    """

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.sent_at: dict[str, float] = {}
        self.acked_at: dict[str, float] = {}
        self.connected = threading.Event()
        self.closed = threading.Event()  # the app closed the connection
        self._ws = None
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        assert ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def link(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
            self._ws = ws
            self.connected.set()
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.received.append(json.loads(msg.data))
                    envelope_id = self.received[-1].get("envelope_id")
                    if envelope_id and envelope_id not in self.acked_at:
                        self.acked_at[envelope_id] = time.perf_counter()
            self.closed.set()
            return ws

        app = web.Application()
        app.router.add_get("/link", link)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.url = f"ws://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/link"
        ready.set()
        self.loop.run_forever()

    def send_all(self, envelopes: list[dict]) -> None:
        """Send every envelope back to back, noting when each left."""

        async def go() -> None:
            for env in envelopes:
                self.sent_at[env["envelope_id"]] = time.perf_counter()
                await self._ws.send_json(env)

        asyncio.run_coroutine_threadsafe(go(), self.loop).result(30)

    def ack_ms(self) -> list[float]:
        return sorted((self.acked_at[k] - t) * 1000 for k, t in self.sent_at.items() if k in self.acked_at)
