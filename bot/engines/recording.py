"""Record LLM answers, and replay them later with no server (``motivecheck eval --record / --replay``).

A record line is ``{"id", "purpose", "request", "answer", "usage", "source", "model"}``: ``request`` is the sha256
of the request as sent (its messages and response format, not the model name), so a recorded answer is scored
only while the prompt that produced it is unchanged. Both wrappers stand where the OpenAI client stands: the
engine calls ``client.chat.completions.create(**kwargs)`` and cannot tell them apart, so replay takes exactly
the app's road (pre-filter, triage, full prompt, fallbacks).

Answers may also be written by a reader who sees only the rendered messages and the schema (the requests
``--missing`` writes); ``source`` says who answered. Records quote the drafts, so they belong beside the corpus
text, out of git, and both files are created owner-only.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EngineError, InputError
from ..files import open_private

PURPOSE_HEADER = "X-Motive-Prompt"  # which prompt a request carries (verdict, triage); sent, harmless


def request_body(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The part of a Chat Completions call that decides the answer: messages, response format, output cap."""
    extra = kwargs.get("extra_body") or {}
    return {"messages": kwargs.get("messages"),
            "response_format": kwargs.get("response_format") or extra.get("response_format"),
            "max_tokens": kwargs.get("max_tokens")}


def request_key(kwargs: dict[str, Any]) -> str:
    """The sha256 of the request as sent (see ``request_body``)."""
    canonical = json.dumps(request_body(kwargs), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def purpose_of(kwargs: dict[str, Any]) -> str:
    return (kwargs.get("extra_headers") or {}).get(PURPOSE_HEADER, "verdict")


def estimate_tokens(text: str) -> int:
    """About four characters a token: the figure for answers that came without usage (a reader's)."""
    return (len(text) + 3) // 4


def request_tokens(kwargs: dict[str, Any]) -> int:
    """Estimated prompt tokens of a request: its messages and schema, plus 4 a message."""
    body = request_body(kwargs)
    chars = "".join(m.get("content") or "" for m in body["messages"] or [])
    schema = json.dumps(body["response_format"], separators=(",", ":")) if body["response_format"] else ""
    return estimate_tokens(chars + schema) + 4 * len(body["messages"] or [])


@dataclass
class Tally:
    """What the wrappers saw: calls, tokens (real where the server said, else estimated) by purpose."""

    calls: dict[str, int] = field(default_factory=dict)
    prompt_tokens: dict[str, int] = field(default_factory=dict)
    estimated: bool = False

    def add(self, purpose: str, tokens: int) -> None:
        self.calls[purpose] = self.calls.get(purpose, 0) + 1
        self.prompt_tokens[purpose] = self.prompt_tokens.get(purpose, 0) + tokens


class _Completions:
    def __init__(self, owner: Any) -> None:
        self._owner = owner

    async def create(self, **kwargs: Any) -> Any:
        return await self._owner.complete(kwargs)


class _Chat:
    def __init__(self, owner: Any) -> None:
        self.completions = _Completions(owner)


class StandInClient:
    """The surface of ``openai.AsyncOpenAI`` the engine uses: ``chat.completions.create``, which calls
    ``complete(kwargs)``; a subclass says what a request does (record, replay, time it)."""

    def __init__(self) -> None:
        self.chat = _Chat(self)
        self.current_id: str | None = None  # the row being evaluated; records carry it
        self.tally = Tally()

    async def complete(self, kwargs: dict[str, Any]) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


class RecordingClient(StandInClient):
    """Calls the real client and appends each answer to a record file."""

    def __init__(self, client: Any, path: Path, *, source: str) -> None:
        super().__init__()
        self.client = client
        self.path = path
        self.source = source
        self._lock = threading.Lock()

    async def complete(self, kwargs: dict[str, Any]) -> Any:
        response = await self.client.chat.completions.create(**kwargs)
        choice = response.choices[0] if response.choices else None
        usage = response.usage.model_dump() if getattr(response, "usage", None) is not None else None
        record = {"id": self.current_id, "purpose": purpose_of(kwargs), "request": request_key(kwargs),
                  "answer": choice.message.content if choice else None,
                  "finish_reason": choice.finish_reason if choice else None,
                  "usage": usage, "source": self.source, "model": kwargs.get("model")}
        with self._lock, open_private(self.path, append=True) as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.tally.add(purpose_of(kwargs), (usage or {}).get("prompt_tokens") or request_tokens(kwargs))
        return response


class ReplayClient(StandInClient):
    """Answers from a record file; a request it has no answer for fails as ``stale`` or ``unanswered``.

    ``stale``: the row has recorded answers for this purpose, but for another request (the prompt changed).
    ``unanswered``: nothing was recorded for it. Both are kept in ``missing`` so a reader can answer them.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.records: dict[str, dict[str, Any]] = {}
        self.answered: set[tuple[str | None, str]] = set()
        self.missing: list[dict[str, Any]] = []
        self.sources: dict[str, int] = {}
        if path.exists():
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    key = rec["request"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise InputError(f"{path}:{n}: not a record line (needs at least \"request\" and \"answer\")") \
                        from None
                self.records[key] = rec
                self.answered.add((rec.get("id"), rec.get("purpose", "verdict")))

    async def complete(self, kwargs: dict[str, Any]) -> Any:
        from openai.types.chat import ChatCompletion

        key, purpose = request_key(kwargs), purpose_of(kwargs)
        rec = self.records.get(key)
        if rec is None:
            why = "stale" if (self.current_id, purpose) in self.answered else "unanswered"
            self.missing.append({"id": self.current_id, "purpose": purpose, "request": key, "why": why,
                                 **request_body(kwargs)})
            raise EngineError(why, f"no recorded answer for this request ({why})")
        source = str(rec.get("source") or "unknown")
        self.sources[source] = self.sources.get(source, 0) + 1
        usage = rec.get("usage")
        if usage is None:
            self.tally.estimated = True
            usage = {"prompt_tokens": request_tokens(kwargs),
                     "completion_tokens": estimate_tokens(rec.get("answer") or ""), "total_tokens": 0}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        self.tally.add(purpose, usage["prompt_tokens"])
        return ChatCompletion.model_validate({
            "id": "replay", "object": "chat.completion", "created": 0, "model": rec.get("model") or "replay",
            "choices": [{"index": 0, "finish_reason": rec.get("finish_reason") or "stop",
                         "message": {"role": "assistant", "content": rec.get("answer")}}],
            "usage": usage})


def write_missing(path: Path, missing: list[dict[str, Any]]) -> None:
    """The requests that had no recorded answer, one JSON line each, for a reader (or a server) to answer."""
    with open_private(path) as fh:
        for item in missing:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
