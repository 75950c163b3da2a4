"""A small Chat Completions server on loopback for tests: scriptable answers, recorded requests.

    with FakeOpenAI() as server:
        server.script(answer({...}), status(429), slow(3.0, answer({...})))
        settings = load_settings(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.base_url})

Each request takes the next scripted behaviour; when the script is empty, ``default`` answers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from loopback import LoopbackServer

Behaviour = Callable[[dict[str, Any]], tuple[int, dict[str, str], bytes]]


def _completion(content: str | None, finish: str = "stop", refusal: str | None = None,
                usage: dict[str, Any] | None = None) -> bytes:
    return json.dumps({
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": "test-model",
        "choices": [{"index": 0, "finish_reason": finish,
                     "message": {"role": "assistant", "content": content, "refusal": refusal}}],
        "usage": usage or {"prompt_tokens": 900, "completion_tokens": 120, "total_tokens": 1020,
                           "prompt_tokens_details": {"cached_tokens": 512}},
    }).encode()


def answer(obj: dict[str, Any], delay: float = 0.0) -> Behaviour:
    """A valid completion whose content is ``obj`` as JSON."""
    def run(_req: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if delay:
            time.sleep(delay)
        return 200, {}, _completion(json.dumps(obj))
    return run


def raw(content: str, finish: str = "stop") -> Behaviour:
    """A completion with arbitrary content (invalid JSON, truncated text...)."""
    return lambda _req: (200, {}, _completion(content, finish))


def refusal(text: str = "I can't help with that.") -> Behaviour:
    return lambda _req: (200, {}, _completion(None, refusal=text))


def status(code: int, headers: dict[str, str] | None = None) -> Behaviour:
    body = json.dumps({"error": {"message": f"scripted {code}", "type": "test", "code": None}}).encode()
    return lambda _req: (code, headers or {}, body)


def fenced(obj: dict[str, Any], before: str = "Here is my assessment:", after: str = "") -> Behaviour:
    """A completion whose JSON sits in a ```json fence between sentences, as many local models answer."""
    return raw(f"{before}\n```json\n{json.dumps(obj, indent=2)}\n```\n{after}".strip())


def prose(obj: dict[str, Any], before: str = "Sure! The assessment follows.",
          after: str = "Let me know if you need more.") -> Behaviour:
    """A completion with sentences around bare JSON (no fence)."""
    return raw(f"{before} {json.dumps(obj)} {after}")


# What servers that cannot take a response_format answer, as their documentation and issue trackers show them.
LLAMA_CPP = (400, {"error": {"code": 400, "type": "invalid_request_error",
                             "message": 'response_format type must be one of "text" or "json_object", '
                                        "but got: json_schema"}})
LLAMA_CPP_OLD = (500, {"error": {"code": 500, "type": "server_error",
                                 "message": 'response_format type must be one of "text" or "json_object", '
                                            "but got: json_schema"}})
AZURE_OLD_API = (400, {"error": {"code": "BadRequest", "message": "response_format value as json_schema is "
                                 "enabled only for api versions 2024-08-01-preview and later"}})
FASTAPI_422 = (422, {"detail": [{"type": "literal_error", "loc": ["body", "response_format", "type"],
                                 "msg": "Input should be 'text' or 'json_object'", "input": "json_schema"}]})
LM_STUDIO = (400, {"error": "'response_format.type' must be 'json_schema' or 'text'"})
NO_FORMAT = (400, {"error": {"message": "Unrecognized request argument supplied: response_format",
                             "type": "invalid_request_error", "param": "response_format", "code": None}})


def refuse_formats(types: tuple[str, ...], then: Behaviour,
                   error: tuple[int, dict[str, Any]] = LLAMA_CPP) -> Behaviour:
    """A server that answers ``error`` to a request whose response_format type is one of ``types``, else ``then``.

    Use it as ``server.default`` (it looks at each request) to stand in for a server without that feature.
    """
    code, body = error

    def run(req: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if (req.get("response_format") or {}).get("type") in types:
            return code, {}, json.dumps(body).encode()
        return then(req)
    return run


def slow(seconds: float, then: Behaviour) -> Behaviour:
    def run(req: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        time.sleep(seconds)
        return then(req)
    return run


def verdict_answer(label: str = "inside-out", quote: str = "upsell existing accounts", **extra: Any) -> dict:
    base = {
        "evidence": [{"quote": quote, "shows": "upsell-crosssell"}],
        "lead": "The customer is existing accounts; the opening leads with the up-sell and an ARR target.",
        "label": label, "customer_ease": 15, "motives": ["upsell-crosssell", "revenue-profit"],
        "reframe": "Premium Plus lets existing accounts [e.g. schedule their exports ?]. If it does, we expect to "
                   "lift ARR 15% this quarter.",
        "questions": ["What gets easier for existing accounts?"],
        "measures": ["time to first scheduled export"],
    }
    base.update(extra)
    return base


class FakeOpenAI:
    """Threaded HTTP server speaking enough of the Chat Completions API for the real openai client."""

    def __init__(self, default: Behaviour | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []  # path and query of each request (Azure puts the deployment and version there)
        self._script: list[Behaviour] = []
        self._lock = threading.Lock()
        self.default = default or answer(verdict_answer())
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    server.paths.append(self.path)
                    behaviour = server._script.pop(0) if server._script else server.default
                try:
                    code, headers, payload = behaviour(body)
                except Exception as exc:  # noqa: BLE001 - report scripting bugs as 500s
                    code, headers, payload = 500, {}, str(exc).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self._httpd = LoopbackServer(("127.0.0.1", 0), Handler)
        self.root_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.base_url = f"{self.root_url}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def script(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._script.extend(behaviours)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
