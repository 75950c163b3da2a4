"""The HTTP server the test fakes (Slack, OpenAI) run on loopback."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from http.server import ThreadingHTTPServer
from typing import Any


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float) -> bool:
    """Wait for a `motivecheck serve` process on ``port`` to answer /healthz; False when it exits or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            if proc.poll() is not None:
                return False
            time.sleep(0.1)
    return False


class LoopbackServer(ThreadingHTTPServer):
    request_queue_size = 256  # load tests open many connections at once
    daemon_threads = True

    def serve_forever(self, poll_interval: float = 0.02) -> None:
        # shutdown() waits for the serve loop's next poll: at the default 0.5 s, every test with a stand-in
        # spent half a second just stopping it.
        super().serve_forever(poll_interval)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up (the app closing its keep-alive connections as it stops) is normal here. Printing
        # its traceback would also run ast.parse in this thread (3.11 marks error columns that way), and
        # CPython 3.11's parser state is shared between threads: a parse on the main thread at that moment
        # (pytest importing a plugin at the end of a run) failed with "AST constructor recursion depth
        # mismatch". Other errors are still printed.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)
