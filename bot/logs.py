"""Logging set-up: text or one JSON object per line, a check id on every record, secrets scrubbed."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time

check_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("check_id", default="")

# Slack tokens (xoxe-: refresh tokens), OpenAI-style keys and bearer headers: never let them reach a log line.
_SECRET = re.compile(r"(xox[abeposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|sk-[A-Za-z0-9_\-]{8,}|"
                     r"(?i:bearer)\s+[A-Za-z0-9._\-]{8,})")
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/@:\s]*):[^/@\s]+@")  # postgresql://user:password@host


def scrub(text: str) -> str:
    """Replace anything that looks like a token, key or a URL's password with a placeholder."""
    return _URL_PASSWORD.sub(r"\1:[secret]@", _SECRET.sub("[secret]", text))


# Libraries that log request and response bodies at DEBUG: slack_sdk logs every chat.postMessage with its text
# and blocks, its webhook client every response_url post, Bolt unhandled request bodies, openai its request options.
_PAYLOAD_LOGGERS = ("slack_sdk", "slack_bolt", "openai", "httpx", "httpx2", "httpcore", "httpcore2", "aiohttp")
_KNOWN = ("slack_sdk.web.async_base_client", "slack_sdk.web.base_client", "slack_sdk.webhook.async_client",
          "slack_sdk.webhook.client", "slack_sdk.socket_mode.aiohttp", "slack_sdk.socket_mode.builtin.client",
          "slack_bolt.AsyncApp", "slack_bolt.App", "openai", "openai._base_client", "httpx", "httpx2")
_PAYLOAD_START = re.compile(r"[{\[]|\bbody\b|\bpayload\b", re.IGNORECASE)


class PayloadFilter(logging.Filter):
    """Keep a library's log line, drop the payload it carries (drafts are never logged, at any level)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record: keep only its template
            message = str(record.msg)
        found = _PAYLOAD_START.search(message)
        if found is not None:
            record.msg = message[:found.start()].rstrip(" ,:=-(") + " [payload not logged]"
            record.args = ()
        return True


_payload_filter = PayloadFilter()


def filter_library_payloads() -> None:
    """Attach the payload filter to every library logger that exists now and to the known ones (created here,
    so the libraries' own ``getLogger(__name__)`` finds it). A logger's filter sees only its own records, so
    each one gets it; call again after importing a library late (Socket Mode, openai)."""
    names = set(_KNOWN) | {n for n in logging.root.manager.loggerDict if n.split(".")[0] in _PAYLOAD_LOGGERS}
    for name in names:
        logger = logging.getLogger(name)
        if _payload_filter not in logger.filters:
            logger.addFilter(_payload_filter)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.check_id = getattr(record, "check_id", "") or check_id_var.get()
        return True


class ScrubbingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if getattr(record, "check_id", ""):
            out["check_id"] = record.check_id
        for key in ("event", "source", "channel", "latency_ms", "engine", "label", "status"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return scrub(json.dumps(out, default=str, ensure_ascii=False))


def configure_logging(level: str = "info", fmt: str = "text", stream=None) -> None:
    """Install one handler on the root logger (idempotent)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_ContextFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s %(name)s %(check_id)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_motivecheck", False):
            root.removeHandler(old)
    handler._motivecheck = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    filter_library_payloads()
