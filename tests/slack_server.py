"""A local Slack Web API stand-in: records every call, answers like Slack, scriptable errors.

    with FakeSlack(admins={"UADMIN"}) as slack:
        env SLACK_API_URL=slack.api_url; response_url = slack.response_url("r1")
        slack.fail("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
        slack.people["U123"] = {"display_name": "Dana", "real_name": "Dana Smith"}  # what users.info tells
        slack.slow("users.info", 3.0)  # each call answers after 3 s
        slack.calls("chat.postMessage") -> list of params dicts
        slack.calls_with_token("views.publish") -> list of (token, params)
        slack.rejected -> what Slack would have refused (tests/block_kit.py: invalid_blocks, msg_too_long, ...):
            answered with Slack's error, never recorded as shown (the ``slack`` fixture fails a test that has one)

OAuth: ``slack.grant(code, team_id, token)`` makes ``oauth.v2.access`` exchange that code (once) for a bot token of
that workspace, and auth.test answer for the token with its workspace; ``slack.expire(token)`` makes Slack refuse
a token (``token_expired``); a grant with ``refresh_token`` can be refreshed (``grant_type=refresh_token``) once
per refresh token, to the next token ``slack.rotate(...)`` names. Tokens nobody granted (the one-workspace tests'
``xoxb-test-token``) answer as workspace T111.
"""

from __future__ import annotations

import base64
import itertools
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from block_kit import message_problem, view_problem
from loopback import LoopbackServer


def free_port() -> int:
    """A loopback port that is free right now (for servers started as child processes)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_MESSAGES = ("chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage")
_VIEWS = ("views.open", "views.publish", "views.update", "views.push")


class FakeSlack:
    def __init__(self, admins: set[str] | None = None) -> None:
        self.admins = admins or set()
        self.log: list[tuple[str, dict[str, Any], str]] = []  # (method, params, the token it came with)
        self.client_id, self.client_secret = "", ""  # checked by oauth.v2.access when set
        self.identities: dict[str, dict[str, Any]] = {}  # token -> auth.test answer
        self.expired: set[str] = set()
        self._grants: dict[str, dict[str, Any]] = {}  # code -> oauth.v2.access answer
        self._refreshes: dict[str, dict[str, Any]] = {}  # refresh token -> oauth.v2.access answer
        self.responses: list[tuple[str, dict[str, Any]]] = []
        # What Slack would refuse (tests/block_kit.py): (method or response name, error, why, params); never shown
        self.rejected: list[tuple[str, str, str, dict[str, Any]]] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel -> messages posted, for conversations.replies
        self.uploads: list[tuple[str, bytes]] = []
        self.socket_url = ""  # set by a Socket Mode test to its local websocket server
        self._failures: dict[str, list[tuple[int, dict, dict]]] = {}
        self.people: dict[str, dict[str, str]] = {}  # user id -> profile fields users.info answers with
        self._slow: dict[str, float] = {}  # method -> seconds each call takes
        self._ts = itertools.count(1)
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - some Web API methods (users.info) are GETs
                path, _, query = self.path.partition("?")
                self._reply(path, {k: v[0] for k, v in parse_qs(query).items()})

            def _token(self, params: dict[str, Any]) -> str:
                """The bearer token, or for oauth.v2.access the app's credentials (HTTP Basic) as 'id:secret'."""
                auth = self.headers.get("Authorization") or ""
                if auth.startswith("Basic "):
                    return base64.b64decode(auth[6:]).decode()
                return auth[7:] if auth.startswith("Bearer ") else str(params.get("token") or "")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length)
                if self.path.startswith("/upload/"):  # files_upload_v2 sends the bytes here
                    with fake._lock:
                        fake.uploads.append((self.path, data))
                    self._reply("/upload/ok", {})
                    return
                raw = data.decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks", "view"):
                        if isinstance(params.get(key), str):
                            try:
                                params[key] = json.loads(params[key])
                            except ValueError:
                                pass
                # slack_sdk's async client sends some methods' arguments (functions.complete*) in the query string
                query = parse_qs(self.path.partition("?")[2])
                self._reply(self.path, {**{k: v[0] for k, v in query.items()}, **params})

            def _reply(self, path: str, params: dict[str, Any]) -> None:
                code, body, headers = fake._handle(path.partition("?")[0], params, self._token(params))
                payload = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = LoopbackServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.api_url = self.base + "/api/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def response_url(self, name: str) -> str:
        return f"{self.base}/response/{name}"

    def fail(self, method: str, status: int, body: dict, headers: dict | None = None, times: int = 1) -> None:
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, body, headers or {})] * times)

    def slow(self, method: str, seconds: float) -> None:
        with self._lock:
            self._slow[method] = seconds

    def grant(self, code: str, team_id: str, token: str, *, enterprise_id: str | None = None, org_wide: bool = False,
              installer: str = "UINSTALLER", bot_user: str | None = None, refresh_token: str | None = None,
              expires_in: int | None = None, scope: str = "commands,chat:write") -> None:
        """Let ``oauth.v2.access`` exchange ``code`` (once) for ``token``, a bot token of ``team_id``."""
        bot_user = bot_user or f"UBOT{team_id}"
        answer: dict[str, Any] = {
            "ok": True, "app_id": "A111", "authed_user": {"id": installer}, "scope": scope, "token_type": "bot",
            "access_token": token, "bot_user_id": bot_user,
            "team": None if org_wide else {"id": team_id, "name": f"Team {team_id}"},
            "enterprise": {"id": enterprise_id, "name": f"Org {enterprise_id}"} if enterprise_id else None,
            "is_enterprise_install": org_wide}
        if refresh_token:
            answer.update(refresh_token=refresh_token, expires_in=expires_in or 43200)
        with self._lock:
            self._grants[code] = answer
            self.identities[token] = self._identity(team_id, bot_user, enterprise_id)

    def rotate(self, refresh_token: str, team_id: str, new_token: str, new_refresh: str,
               expires_in: int = 43200) -> None:
        """Let ``oauth.v2.access`` (grant_type=refresh_token) turn ``refresh_token`` into ``new_token`` (once)."""
        bot_user = f"UBOT{team_id}"
        with self._lock:
            self._refreshes[refresh_token] = {
                "ok": True, "app_id": "A111", "token_type": "bot", "access_token": new_token,
                "refresh_token": new_refresh, "expires_in": expires_in, "bot_user_id": bot_user,
                "team": {"id": team_id, "name": f"Team {team_id}"}, "enterprise": None}
            self.identities[new_token] = self._identity(team_id, bot_user, None)

    def expire(self, token: str) -> None:
        with self._lock:
            self.expired.add(token)

    @staticmethod
    def _identity(team_id: str, bot_user: str, enterprise_id: str | None) -> dict[str, Any]:
        return {"ok": True, "url": f"https://{team_id.lower()}.slack.com/", "team": f"Team {team_id}",
                "user": "coach", "team_id": team_id, "user_id": bot_user, "bot_id": f"B{team_id}",
                "enterprise_id": enterprise_id, "is_enterprise_install": False}

    def _oauth_access(self, params: dict[str, Any], credentials: str) -> tuple[int, dict, dict]:
        with self._lock:
            if self.client_id and credentials != f"{self.client_id}:{self.client_secret}":
                return 200, {"ok": False, "error": "invalid_client_id"}, {}
            if params.get("grant_type") == "refresh_token":
                answer = self._refreshes.pop(str(params.get("refresh_token")), None)
                return 200, answer or {"ok": False, "error": "invalid_refresh_token"}, {}
            answer = self._grants.pop(str(params.get("code")), None)  # a code works once
            return 200, answer or {"ok": False, "error": "invalid_code"}, {}

    def _handle(self, path: str, params: dict[str, Any], token: str = "") -> tuple[int, dict, dict]:
        with self._cond:
            if path == "/upload/ok":
                return 200, {"ok": True}, {}
            if path.startswith("/response/"):
                refused = message_problem(params)
                if refused:  # a webhook answers 400 with the error, and the person sees nothing
                    self.rejected.append((path.rsplit("/", 1)[1], *refused, params))
                    self._cond.notify_all()
                    return 400, {"ok": False, "error": refused[0]}, {}
                self.responses.append((path.rsplit("/", 1)[1], params))
                self._cond.notify_all()
                return 200, {"ok": True}, {}
            method = path.rsplit("/", 1)[1]
            self.log.append((method, params, token))
            self._cond.notify_all()
            until = time.monotonic() + self._slow.get(method, 0.0)
            while (left := until - time.monotonic()) > 0:
                self._cond.wait(left)  # releases the lock meanwhile: other calls are answered
            if self._failures.get(method):
                return self._failures[method].pop(0)
            refused = (message_problem(params) if method in _MESSAGES else
                       view_problem(params.get("view")) if method in _VIEWS else None)
            if refused:
                self.rejected.append((method, *refused, params))
                return 200, {"ok": False, "error": refused[0], "response_metadata": {"messages": [refused[1]]}}, {}
            if token in self.expired:
                return 200, {"ok": False, "error": "token_expired"}, {}
            identity = self.identities.get(token)
        if method == "oauth.v2.access":
            return self._oauth_access(params, token)
        if method == "auth.test" and identity is not None:
            return 200, identity, {}
        if method == "auth.test":
            return 200, {"ok": True, "url": "https://example.slack.com/", "team": "Example", "user": "coach",
                         "team_id": "T111", "user_id": "UBOT", "bot_id": "BBOT"}, {}
        if method == "chat.postMessage":
            message = {"ts": f"{int(time.time())}.{next(self._ts):06d}", "text": params.get("text"), "bot_id": "BBOT"}
            if params.get("thread_ts"):
                message["thread_ts"] = params["thread_ts"]
            if isinstance(params.get("metadata"), dict):
                message["metadata"] = params["metadata"]
            with self._lock:
                self.messages.setdefault(str(params.get("channel")), []).append(message)
            return 200, {"ok": True, "channel": params.get("channel"), "ts": message["ts"],
                         "message": {"text": params.get("text")}}, {}
        if method == "chat.delete":
            with self._lock:
                posted = self.messages.get(str(params.get("channel")), [])
                gone = [m for m in posted if m["ts"] == params.get("ts")]
                posted[:] = [m for m in posted if m["ts"] != params.get("ts")]
            if not gone:
                return 200, {"ok": False, "error": "message_not_found"}, {}
            return 200, {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}, {}
        if method == "conversations.history":
            oldest = float(params.get("oldest") or 0)
            with self._lock:
                top = [m for m in self.messages.get(str(params.get("channel")), [])
                       if not m.get("thread_ts") and float(m["ts"]) > oldest]
            if str(params.get("include_all_metadata")).lower() not in ("1", "true"):
                top = [{k: v for k, v in m.items() if k != "metadata"} for m in top]
            return 200, {"ok": True, "messages": top[::-1], "has_more": False}, {}
        if method == "conversations.replies":
            with self._lock:
                thread = [m for m in self.messages.get(str(params.get("channel")), [])
                          if m.get("thread_ts") == params.get("ts")]
            if str(params.get("include_all_metadata")).lower() not in ("1", "true"):
                thread = [{k: v for k, v in m.items() if k != "metadata"} for m in thread]
            return 200, {"ok": True, "messages": [{"ts": params.get("ts"), "text": "(the draft)"}, *thread],
                         "has_more": False}, {}
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}, {}
        if method == "apps.connections.open":
            return 200, {"ok": True, "url": self.socket_url}, {}
        if method == "files.getUploadURLExternal":
            return 200, {"ok": True, "upload_url": f"{self.base}/upload/F123", "file_id": "F123"}, {}
        if method == "files.completeUploadExternal":
            return 200, {"ok": True, "files": [{"id": "F123", "title": "chart"}]}, {}
        if method == "chat.getPermalink":
            ts = str(params.get("message_ts", "")).replace(".", "")
            return 200, {"ok": True, "channel": params.get("channel"),
                         "permalink": f"https://example.slack.com/archives/{params.get('channel')}/p{ts}"}, {}
        if method == "conversations.info":
            chan = params.get("channel", "")
            return 200, {"ok": True, "channel": {"id": chan, "name": f"team-{chan.lower()}"}}, {}
        if method == "users.info":
            uid = params.get("user", "")
            with self._lock:
                profile = dict(self.people.get(uid, {}))
            return 200, {"ok": True, "user": {"id": uid, "is_admin": uid in self.admins, "is_owner": False,
                                              "real_name": profile.get("real_name", ""), "profile": profile}}, {}
        return 200, {"ok": True}, {}

    def calls(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for m, p, _token in self.log if m == method]

    def calls_with_token(self, method: str) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return [(t, p) for m, p, t in self.log if m == method]

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        """Wait until predicate() is true (checked whenever a call arrives)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
            return True

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
