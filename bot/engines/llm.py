"""The LLM engine: one structured Chat Completions call per check, validated, within a deadline.

Any OpenAI-compatible server works (OPENAI_BASE_URL), and Azure OpenAI (AZURE_OPENAI_ENDPOINT). A server
that refuses ``response_format: json_schema`` is asked again with ``json_object`` and the schema in the
prompt, then with no response_format at all; the mode that worked is remembered per (server, model). An
answer that is not JSON or does not match the schema gets one repair request. Failures raise EngineError
with a short reason; the checker then falls back to the offline engine and says so.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import email.utils
import functools
import json
import logging
import random
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..aio import run_sync
from ..config import JSON_MODES, Settings
from ..errors import EngineError
from ..playbook import Playbook
from ..prompts import boundary_examples, render
from ..redact import redact, restore
from ..text import Prepared, find_loosely, normalise_for_compare
from ..verdict import EASE_BANDS, Evidence, Label, MotiveId, Shows, Usage, Verdict
from . import EngineResult
from .recording import PURPOSE_HEADER
from .slots import Busy, FairSlots

log = logging.getLogger(__name__)

_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()
_json_modes: dict[tuple[str, str], str] = {}  # (server, model) -> the JSON mode that server took last
_json_modes_lock = threading.Lock()
_REPAIR_ECHO = 4000  # characters of an unusable answer sent back in the repair request
_LEAK_WINDOW = 60  # an answer sharing this many consecutive characters with the system prompt is a leak
_MAX_ANSWER = 64_000  # characters: a verdict is about 1,200; anything far longer is not one, and is not parsed
# The output cap of the one retry of a cut-off answer (a verdict is about 300 tokens). The first request sends no
# cap: the record hash covers it (bot/engines/recording.py), so adding one would make every recorded answer stale.
_TRUNCATED_RETRY_CAP = 2000


class AnswerEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quote: str = Field(description="3-15 contiguous words copied exactly from the draft")
    shows: Shows = Field(description="a company motive id, or customer-ease (the customer is never a motive)")


# The field order is the order the model writes in: quotes and the lead first, so the label is decided
# after the reasoning it rests on. The descriptions are sent with the schema: they are the per-field rules.
class Answer(BaseModel):
    """What the model returns, in the order it writes it: the quotes and the lead, then the judgement."""

    model_config = ConfigDict(extra="forbid")
    evidence: list[AnswerEvidence] = Field(
        description="2-5 phrases, the first from the opening sentence; include customer-ease phrases if any")
    lead: str = Field("", description=(
        "one sentence: who the customer is, the specific benefit to them if any, any company goal stated as a "
        "goal, and which leads"))
    label: Label = Field(description="by the four questions, from the lead")
    customer_ease: int = Field(description=(
        "0 no customer; 20 the customer only as a target or pretext (inside-out); 50 a real benefit that does not "
        "lead (mixed); 80+ leads with a specific ease (outside-in)"))
    motives: list[MotiveId] = Field(description="company motives the draft leads with or states as goals")
    reframe: str | None = Field(description="inside-out or mixed only, else null; by the reframe rules")
    questions: list[str] = Field(description="1-3 coaching questions about this draft")
    measures: list[str] = Field(description="1-2 customer-ease measures to sit beside its targets")


def _strict(node: Any) -> Any:
    """Make a pydantic JSON schema strict: every property required, no extra keys, no titles or defaults.

    Descriptions stay: they are the model's per-field instructions.
    """
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items() if k not in ("title", "default")}
        if out.get("type") == "object" and "properties" in out:
            out["required"] = list(out["properties"])
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


@functools.cache
def _answer_schema() -> dict[str, Any]:
    schema = _strict(Answer.model_json_schema())
    schema.pop("description", None)  # the class docstring is for readers of this code, not the model
    return schema


def answer_schema() -> dict[str, Any]:
    """The strict JSON schema sent as response_format, derived from the pydantic Answer model.

    Generated once (it costs about 2 ms) and copied per call, so no caller can change the original.
    """
    return copy.deepcopy(_answer_schema())


def response_format(json_mode: str = "json_schema") -> dict[str, Any] | None:
    """What to send as ``response_format`` in ``json_mode``: the strict schema, JSON mode, or nothing (text)."""
    if json_mode == "json_schema":
        return {"type": "json_schema",
                "json_schema": {"name": "motive_verdict", "strict": True, "schema": answer_schema()}}
    if json_mode == "json_object":
        return {"type": "json_object"}
    return None


@functools.cache
def schema_text() -> str:
    """The schema as compact JSON text, for the prompt when the server cannot take it as response_format."""
    return json.dumps(_answer_schema(), ensure_ascii=False)


def render_system(playbook: Playbook) -> str:
    """Render prompts/system.j2 for ``playbook`` (its boundary examples: see bot/prompts.py)."""
    m = playbook.model
    return render("system.j2", playbook=playbook, principle=m.principle.strip(),
                  motives=[(mid, mo.title) for mid, mo in m.motives.items()], exemplars=m.exemplars[:4],
                  examples=boundary_examples())


def system_prompt(playbook: Playbook) -> str:
    """The system prompt for ``playbook``: rendered once per loaded playbook, it never depends on a draft."""
    cached = _system_prompts.get(id(playbook))
    if cached is None or cached[0] is not playbook:
        cached = _system_prompts[id(playbook)] = (playbook, render_system(playbook))
    return cached[1]


_system_prompts: dict[int, tuple[Playbook, str]] = {}


# Anything a model might read as our delimiter: any case, spaces or a slash anywhere inside the brackets.
_DELIMITER = re.compile(r"<\s*/?\s*draft\s*/?\s*>", re.IGNORECASE)


def neutralise_delimiters(draft: str) -> str:
    """Make every look-alike of ``<draft>``/``</draft>`` in the draft harmless (brackets become parentheses)."""
    return _DELIMITER.sub(lambda m: "(" + m.group()[1:-1] + ")", draft)


def build_messages(playbook: Playbook, draft: str, mode: str = "explicit",
                   json_mode: str = "json_schema") -> list[dict[str, str]]:
    """System prompt from the playbook (static, first: cacheable), then the delimited draft.

    ``mode`` says how the draft came: ``explicit`` (someone asked: judge it unless it plainly decides nothing)
    or ``channel`` (a watched channel, where most messages are chat); it sits in the user message, so the
    system message stays the same for every call. Outside ``json_mode`` json_schema the schema heads the user
    message (prompts/schema.j2): the system message stays byte-identical in every JSON mode too, and the
    schema, being static, extends the cached prefix."""
    system = system_prompt(playbook)
    safe = neutralise_delimiters(draft)  # a draft cannot close our delimiter early
    user = render("user.j2", draft=safe, mode=mode)
    if json_mode != "json_schema":
        user = render("schema.j2", schema=schema_text()) + "\n\n" + user
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def with_repair(body: dict[str, Any], answer: str, error: str, json_mode: str) -> dict[str, Any]:
    """``body`` with the unusable ``answer`` and a request to correct it (prompts/repair.j2) appended.

    The conversation so far is kept as it was, so its prefix stays cached; in json_schema mode the schema was
    only in response_format, so the repair message carries it.
    """
    shown = answer if len(answer) <= _REPAIR_ECHO else answer[:_REPAIR_ECHO] + " [...]"
    repair = render("repair.j2", error=error, schema=schema_text() if json_mode == "json_schema" else "")
    return {**body, "messages": [*body["messages"], {"role": "assistant", "content": shown or "(empty)"},
                                 {"role": "user", "content": repair}]}


_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[ \t]*(?:json)?[ \t]*\n?(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_json(text: str) -> Any:
    """The JSON in a model's answer: the whole text, else a ```json fence, else the first ``{...}`` that parses.

    Local models often wrap JSON in a fence or a sentence, and reasoning models put ``<think>...</think>`` first.
    Raises ``json.JSONDecodeError`` when there is no JSON object. ValueError (an integer of more than 4,300 digits)
    and RecursionError (arrays nested thousands deep) count as no JSON: a hostile answer must not crash a check.
    """
    text = _THINKING.sub("", text or "").strip()
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    for fenced in _FENCE.findall(text):
        try:
            return json.loads(fenced)
        except (ValueError, RecursionError):
            continue
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        # A brace after [ , : or { sits inside JSON that did not parse (cut off): its inner object is no answer.
        if not text[:start].rstrip().endswith(("[", ",", ":", "{")):
            try:
                found, _end = decoder.raw_decode(text, start)
            except (ValueError, RecursionError):
                found = None
            if isinstance(found, dict):
                return found
        start = text.find("{", start + 1)
    raise json.JSONDecodeError("no JSON object in the answer", text, 0)


def server_of(settings: Settings) -> str:
    """The server the LLM engine talks to, as a key: the Azure endpoint, the base URL, or OpenAI's own."""
    return settings.azure_endpoint or settings.openai_base_url or "https://api.openai.com/v1"


def json_mode_for(settings: Settings) -> str:
    """The JSON mode to start in: the one forced by MOTIVECHECK_LLM_JSON_MODE, else the one this server
    took last (process memory), else json_schema."""
    if settings.llm_json_mode != "auto":
        return settings.llm_json_mode
    with _json_modes_lock:
        return _json_modes.get((server_of(settings), settings.model), JSON_MODES[0])


def remember_json_mode(settings: Settings, mode: str) -> None:
    if settings.llm_json_mode == "auto":
        with _json_modes_lock:
            _json_modes[(server_of(settings), settings.model)] = mode


def forget_json_modes() -> None:
    """Forget which JSON mode each server took (tests; a server that was upgraded)."""
    with _json_modes_lock:
        _json_modes.clear()


# Words a server's error uses when it cannot take our response_format (llama.cpp, Ollama, vLLM, LM Studio, Azure).
_FORMAT_ERROR = re.compile(r"response_format|json_schema|json_object|schema|structured output|grammar", re.IGNORECASE)


def refuses_format(exc: openai.APIStatusError, json_mode: str) -> bool:
    """True when ``exc`` says the server cannot take ``json_mode``'s response_format (not another failure).

    400 and 422 are the usual answers; older llama.cpp servers answer 500 ("response_format type must be one
    of text or json_object"), so a 500 that names the format counts too.
    """
    if json_mode == "text" or exc.status_code not in (400, 415, 422, 500, 501):
        return False
    text = f"{exc.message} {json.dumps(exc.body, default=str) if exc.body is not None else ''}"
    return bool(_FORMAT_ERROR.search(text))


def get_client(settings: Settings) -> Any:
    """The one shared async OpenAI client per (base URL, key, event loop): explicit timeout, our own retries.

    Its connections belong to the loop that opened them, so each loop gets its own: the Slack app has one loop
    (one client); sync callers run the same async code on their thread's loop (``bot.aio.run_sync``).
    """
    try:
        loop = id(asyncio.get_running_loop())
    except RuntimeError:
        loop = None
    key = (loop, settings.openai_base_url, settings.azure_endpoint, settings.azure_api_version,
           settings.openai_api_key, settings.llm_timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if settings.azure_endpoint:  # the deployment is the request's model: /openai/deployments/{model}/...
                client = openai.AsyncAzureOpenAI(
                    api_key=settings.openai_api_key, azure_endpoint=settings.azure_endpoint,
                    api_version=settings.azure_api_version, timeout=settings.llm_timeout, max_retries=0)
            else:
                client = openai.AsyncOpenAI(api_key=settings.openai_api_key,
                                            base_url=settings.openai_base_url or None,
                                            timeout=settings.llm_timeout, max_retries=0)
            _clients[key] = client
        return client


def _call_args(body: dict[str, Any]) -> dict[str, Any]:
    """The request as keyword arguments for the client, with the JSON schema sent as-is.

    The client walks typed parameters recursively to transform them; for our deeply nested strict
    schema that walk cost about 4 ms of CPU per call, which a burst of checks pays on the event
    loop that also acknowledges Slack. ``extra_body`` puts the same JSON on the wire untouched.
    """
    args = dict(body)
    if "response_format" in args:
        args["extra_body"] = {"response_format": args.pop("response_format")}
    return args


def _reason(exc: Exception) -> str:
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.RateLimitError):
        return "rate-limited"
    if isinstance(exc, openai.APIStatusError):
        return "server-error" if exc.status_code >= 500 else f"http-{exc.status_code}"
    if isinstance(exc, EngineError):
        return exc.reason
    return "error"


# Worth the same request again. An unusable answer (invalid-json, invalid-answer) gets a repair request instead.
# A cut-off answer ("truncated") is asked once more with a larger output cap, never the same request again.
_RETRYABLE = {"timeout", "connection", "rate-limited", "server-error"}


class UnusableAnswer(EngineError):
    """An answer that is not JSON or does not match the schema: the model gets one chance to repair it."""


class LLMEngine:
    """Assess drafts with an OpenAI-compatible chat model."""

    name = "openai"

    def __init__(self, settings: Settings, playbook: Playbook) -> None:
        self.settings = settings
        self.playbook = playbook
        self.model = settings.model
        self.transport: Any = None  # bot.engines.recording wrappers stand here in eval --record / --replay
        self.slots: FairSlots | None = None  # the process's bound on requests in flight (the checker's)

    # -- request and answer (pure) -------------------------------------------------------
    def client(self) -> Any:
        """Where requests go: the shared OpenAI client, or a recording or replaying stand-in (eval)."""
        return self.transport if self.transport is not None else get_client(self.settings)

    def request(self, prepared: Prepared, mode: str = "explicit", json_mode: str | None = None,
                max_tokens: int | None = None) -> tuple[dict[str, Any], dict[str, str], str]:
        """The request body for ``prepared`` (see ``build_messages`` for ``mode``) in ``json_mode`` (default:
        the one this server takes), the redaction mapping and the system prompt. ``max_tokens`` only on the
        retry of a cut-off answer (see ``_TRUNCATED_RETRY_CAP``)."""
        text, mapping = redact(prepared.draft) if self.settings.redact else (prepared.draft, {})
        json_mode = json_mode or json_mode_for(self.settings)
        messages = build_messages(self.playbook, text, mode, json_mode)
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0}
        fmt = response_format(json_mode)
        if fmt is not None:
            body["response_format"] = fmt
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        return body, mapping, messages[0]["content"]

    def interpret(self, response: Any, prepared: Prepared, mapping: dict[str, str], system: str) -> EngineResult:
        """Turn a completion into a validated Verdict, or raise EngineError (UnusableAnswer when a repair may help)."""
        return EngineResult(self._read(answer_text(response), prepared, mapping, system), usage_of(response))

    def _verdict(self, answer: Answer, prepared: Prepared, mapping: dict[str, str], system: str) -> Verdict:
        draft = prepared.draft
        produced = " ".join([answer.reframe or "", *answer.questions, *answer.measures])
        if _leaks(produced, system, draft):
            raise EngineError("invalid-answer", "the answer repeated the system prompt")
        evidence: list[Evidence] = []
        taken: set[tuple[int, int]] = set()
        for ev in answer.evidence:
            quote = restore(ev.quote, mapping) or ""
            start = draft.find(quote) if quote.strip() else -1
            if start < 0 and (span := find_loosely(draft, quote)) is not None:
                # Models often re-space a quote that runs over a line break: keep the draft's own text.
                start, quote = span[0], draft[span[0]:span[1]]
            if start < 0:  # the model paraphrased: a quote that is not in the draft is dropped
                continue
            while (start, start + len(quote)) in taken:
                nxt = draft.find(quote, start + 1)
                if nxt < 0:
                    break
                start = nxt
            taken.add((start, start + len(quote)))
            evidence.append(Evidence(quote=quote, start=start, end=start + len(quote), shows=ev.shows))
        label = answer.label
        reframe = restore(answer.reframe, mapping) if label in ("inside-out", "mixed") else None
        if label in ("inside-out", "mixed") and not (reframe or "").strip():
            raise UnusableAnswer("invalid-answer", f"the label {label} needs a reframe, and the reframe is empty")
        return Verdict(
            label=label,
            customer_ease=ease_for(label, answer.customer_ease),
            motives=list(dict.fromkeys(answer.motives)) if label != "not-a-proposal" else [],
            evidence=evidence if label != "not-a-proposal" else [],
            reframe=reframe,
            questions=[restore(q, mapping) or "" for q in answer.questions if q.strip()][:3],
            measures=[restore(q, mapping) or "" for q in answer.measures if q.strip()][:2],
            engine=self.name,
            model=self.model,
            playbook=self.playbook.ref,
            notes=list(prepared.notes),
        )

    # -- the calls -----------------------------------------------------------------------
    def assess(self, prepared: Prepared) -> EngineResult:
        """Sync wrapper of ``aassess``."""
        return run_sync(self.aassess(prepared))

    async def aassess(self, prepared: Prepared, mode: str = "explicit", workspace: str | None = None) -> EngineResult:
        """Ask the model within one deadline: retries for passing faults, a step down the JSON modes when the
        server refuses one, one repair request for an unusable answer. Every request counts against the deadline."""
        json_mode = json_mode_for(self.settings)
        forced = self.settings.llm_json_mode != "auto"
        body, mapping, system = self.request(prepared, mode, json_mode)
        client = self.client()
        attempts = _Attempts(self.settings)
        usage = Usage()
        repaired = False
        cap: int | None = None  # set once a cut-off answer was asked again with a larger output cap
        for timeout in attempts:
            content = ""
            after: float | None = None
            try:
                response = await _create(client, _call_args(body), timeout, attempts, self.slots, workspace)
                usage = usage + usage_of(response)
                content = answer_text(response)
                verdict = self._read(content, prepared, mapping, system)
                remember_json_mode(self.settings, json_mode)
                return EngineResult(verdict, usage)
            except UnusableAnswer as exc:
                if repaired:  # one repair only: then the offline engine answers
                    attempts.failed(exc.reason)
                    break
                repaired = True
                attempts.moved_on(f"{exc.reason}: asking for a repair")
                body = with_repair(body, content, str(exc), json_mode)
                continue
            except openai.APIStatusError as exc:
                lower = _lower(json_mode)
                if not refuses_format(exc, json_mode):
                    reason, after = _reason(exc), _retry_after(exc)
                elif forced or lower is None:
                    reason = "format-refused"
                else:
                    attempts.moved_on(f"the server refused response_format {json_mode}; trying {lower}")
                    json_mode = lower
                    remember_json_mode(self.settings, json_mode)  # later checks start here, without the refused try
                    body, mapping, system = self.request(prepared, mode, json_mode, cap)
                    continue
            except (TimeoutError, openai.OpenAIError, EngineError) as exc:
                reason = _reason(exc)
                if reason == "truncated" and cap is None:
                    # The same request would be cut off at the same place: ask once more with room to finish.
                    cap = _TRUNCATED_RETRY_CAP
                    attempts.moved_on(f"the answer was cut off: asking again with max_tokens {cap}")
                    body = {**body, "max_tokens": cap}
                    continue
            if not await attempts.retry(reason, after):
                break
        raise attempts.error(usage)

    def _read(self, content: str, prepared: Prepared, mapping: dict[str, str], system: str) -> Verdict:
        """The verdict in an answer's text; EngineError (never anything else) when it is unusable.

        An answer is untrusted input: whatever it makes the parser or the checks raise is an engine error, so the
        check falls back instead of crashing. Only the exception's type is logged: the answer quotes the draft.
        """
        try:
            return self._verdict(parse_answer(content), prepared, mapping, system)
        except EngineError:
            raise
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.warning("the LLM's answer could not be read: %s", type(exc).__name__)
            raise EngineError("unreadable-answer", "the answer could not be read") from None

    async def atriage(self, prepared: Prepared, workspace: str | None = None) -> tuple[bool, Usage]:
        """The short first pass of the channel road: is this message a proposal? (a few hundred tokens in, a
        word out). Raises EngineError when the model does not answer within the deadline."""
        text, _ = redact(prepared.draft) if self.settings.redact else (prepared.draft, {})
        body = {"model": self.model, "messages": triage_messages(text), "temperature": 0, "max_tokens": 5,
                "extra_headers": {PURPOSE_HEADER: "triage"}}
        client = self.client()
        attempts = _Attempts(self.settings)
        usage = Usage()
        for timeout in attempts:
            try:
                response = await _create(client, body, timeout, attempts, self.slots, workspace)
                usage = usage + usage_of(response)
                word = _first_word(response)
                # Recall first: only a plain "chatter" keeps the message from the full prompt.
                return not word.startswith("chatter"), usage
            except (TimeoutError, openai.OpenAIError, EngineError) as exc:
                if not await attempts.retry(_reason(exc), _retry_after(exc)):
                    break
        raise attempts.error(usage)

    def quiet(self, prepared: Prepared, usage: Usage) -> Verdict:
        """The verdict of a message the first pass read as chat: not a proposal, so the app stays quiet."""
        return Verdict(label="not-a-proposal", customer_ease=0, motives=[], evidence=[], reframe=None,
                       questions=[], measures=[], engine=self.name, model=self.model, playbook=self.playbook.ref,
                       notes=[*prepared.notes, "The LLM's first pass read this message as chat."])


def triage_messages(draft: str) -> list[dict[str, str]]:
    """The first-pass prompt (prompts/triage.j2, static, first) and the delimited message."""
    safe = _MESSAGE_DELIMITER.sub(lambda m: "(" + m.group()[1:-1] + ")", draft)
    return [{"role": "system", "content": _triage_system()},
            {"role": "user", "content": render("triage_user.j2", draft=safe)}]


_MESSAGE_DELIMITER = re.compile(r"<\s*/?\s*message\s*/?\s*>", re.IGNORECASE)


@functools.cache
def _triage_system() -> str:
    return render("triage.j2")


def answer_text(response: Any) -> str:
    """The text of a completion's first choice; EngineError when there is none, it was refused, filtered or cut
    off. A filtered answer is final: the provider's content filter would stop a repair the same way."""
    choice = response.choices[0] if response.choices else None
    if choice is None:
        raise EngineError("invalid-answer", "no choices in the answer")
    if getattr(choice.message, "refusal", None):
        raise EngineError("refusal", "the model refused")
    if choice.finish_reason == "content_filter":
        raise EngineError("content-filter", "the provider's content filter stopped the answer")
    if choice.finish_reason == "length":
        raise EngineError("truncated", "the answer was cut off")
    return choice.message.content or ""


def parse_answer(content: str) -> Answer:
    """The model's answer validated by the Answer model; UnusableAnswer says what is wrong, for the repair.

    An answer over ``_MAX_ANSWER`` characters is refused unread (and not repaired: it would be echoed back)."""
    if len(content) > _MAX_ANSWER:
        raise EngineError("oversized-answer", f"the answer was over {_MAX_ANSWER:,} characters")
    try:
        found = extract_json(content)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise UnusableAnswer("invalid-json", "it was not a JSON object") from None
    try:
        return Answer.model_validate(found)
    except ValidationError as exc:
        raise UnusableAnswer("invalid-answer", f"it did not match the schema: {_first_errors(exc)}") from None


def _first_errors(exc: ValidationError, most: int = 3) -> str:
    """The first few validation errors in words, e.g. ``label: Input should be 'outside-in', ...``."""
    parts = []
    for err in exc.errors()[:most]:
        where = ".".join(str(p) for p in err["loc"]) or "the answer"
        parts.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - most
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def usage_of(response: Any) -> Usage:
    if getattr(response, "usage", None) is None:
        return Usage()
    details = getattr(response.usage, "prompt_tokens_details", None)
    return Usage(prompt_tokens=response.usage.prompt_tokens or 0,
                 completion_tokens=response.usage.completion_tokens or 0,
                 cached_tokens=(getattr(details, "cached_tokens", 0) or 0) if details else 0)


def _first_word(response: Any) -> str:
    """The first pass's answer, lower-cased; an answer cut at its few tokens still has its first word."""
    try:
        text = answer_text(response)
    except EngineError as exc:
        if exc.reason != "truncated":
            raise
        text = response.choices[0].message.content or ""
    return text.strip().strip('"').lower()


async def _create(client: Any, kwargs: dict[str, Any], timeout: float, attempts: _Attempts,
                  slots: FairSlots | None = None, workspace: str | None = None) -> Any:
    """One request: the client's own timeout covers it; wait_for guards the whole deadline. With a bound on
    requests in flight, waiting for a slot counts against the deadline, and a check that gets none sends nothing."""
    def send(timeout: float) -> Any:
        return asyncio.wait_for(client.chat.completions.create(**kwargs, timeout=timeout),
                                timeout=max(timeout, attempts.remaining()))

    if slots is None or slots.limit <= 0:
        return await send(timeout)
    try:
        async with slots.slot(workspace, attempts.remaining()):
            timeout = min(timeout, attempts.remaining())
            if timeout <= 0.05:
                raise Busy("no time left after the wait")
            return await send(timeout)
    except Busy:
        raise EngineError("busy", f"the LLM was busy: all {slots.limit} request slots of this process "
                          "(MOTIVECHECK_LLM_CONCURRENCY) stayed taken") from None


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, else ``retry-after`` in seconds or as an HTTP date),
    if it said. A wait of any length counts, however long (past the deadline: the check gives up at once)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale  # a number too large for a float is inf: an excessive wait
        except ValueError:
            seconds = _http_date_wait(value) if name == "retry-after" else None
        if seconds is not None and seconds >= 0:  # NaN and a negative wait name none
            return seconds
    return None


def _http_date_wait(value: str) -> float | None:
    """Seconds until an HTTP date (``Retry-After: Wed, 21 Oct 2026 07:28:00 GMT``), 0 for one past; None if none."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; '-0000' parses without a zone
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


def _lower(json_mode: str) -> str | None:
    """The next JSON mode down the chain, or None after plain text."""
    at = JSON_MODES.index(json_mode)
    return JSON_MODES[at + 1] if at + 1 < len(JSON_MODES) else None


class _Attempts:
    """The retry schedule of the LLM call, with no I/O of its own.

    Iterating yields the timeout for each request while the deadline (``MOTIVECHECK_LLM_DEADLINE``) allows
    one and retries (``MOTIVECHECK_LLM_RETRIES``) are left. ``failed`` records why a request failed and says
    how long to wait before the same request again, or None when no retry follows; ``moved_on`` records a
    request the next one answers differently (a refused JSON mode, a repair), which uses no retry but the same
    deadline; ``error`` is what to raise in the end.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.deadline = time.monotonic() + settings.llm_deadline
        self.attempt = 0  # requests sent so far
        self.retries = 0  # retries used so far
        self.reason = "timeout"

    def __iter__(self) -> Iterator[float]:
        while self.retries <= self.settings.llm_retries:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0.05:
                return
            yield min(self.settings.llm_timeout, remaining)
            self.attempt += 1

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def failed(self, reason: str, after: float | None = None) -> float | None:
        self.reason = reason
        log.info("llm request %d failed: %s", self.attempt + 1, reason)
        if reason not in _RETRYABLE or self.retries >= self.settings.llm_retries:
            return None
        backoff = 0.2 * (2 ** self.retries) * (0.5 + random.random())
        if after is not None:
            if after >= self.remaining():
                # The server asks for a wait the deadline cannot give: asking sooner would only be refused again.
                log.info("llm: the server asks to wait %.1f s, past this check's deadline; giving up", after)
                return None
            backoff = max(backoff, after)
        self.retries += 1
        return min(self.remaining(), backoff)

    async def retry(self, reason: str, after: float | None = None) -> bool:
        """Record a failed request; wait before the same request again and say True, or say False (give up).
        ``after``: the server's Retry-After, honoured when the deadline allows it."""
        wait = self.failed(reason, after)
        if wait is None:
            return False
        await asyncio.sleep(wait)
        return True

    def moved_on(self, why: str) -> None:
        log.info("llm request %d: %s", self.attempt + 1, why)

    def error(self, usage: Usage | None = None) -> EngineError:
        """What to raise in the end, carrying the tokens every failed request was billed."""
        return EngineError(self.reason, f"the LLM failed: {self.reason}", usage=usage)


def ease_for(label: str, ease: int) -> int:
    """The model's customer_ease moved into its label's band (a not-a-proposal verdict scores 0, as offline)."""
    if label == "not-a-proposal":
        return 0
    lo, hi = EASE_BANDS[label]
    return max(lo, min(hi, ease))


def _leaks(produced: str, system: str, draft: str = "") -> bool:
    """True when ``produced`` repeats a long stretch of the system prompt, however re-cased or re-spaced.

    A stretch the draft itself contains is not a leak: the reframe reuses the draft's sentences, and a
    draft may quote one of the prompt's examples.
    """
    produced, system, draft = (normalise_for_compare(t) for t in (produced, system, draft))
    if len(produced) < _LEAK_WINDOW:
        return False
    chunks = {system[i:i + _LEAK_WINDOW] for i in range(0, max(1, len(system) - _LEAK_WINDOW), 20)}
    return any(chunk in produced and chunk not in draft for chunk in chunks if chunk.strip())


_engines: dict[tuple, LLMEngine] = {}


def llm_engine_for(settings: Settings, playbook: Playbook) -> LLMEngine:
    """One engine per (settings, playbook); they share the client."""
    key = (id(settings), playbook.name, playbook.version, str(playbook.path))
    engine = _engines.get(key)
    if engine is None:
        engine = _engines[key] = LLMEngine(settings, playbook)
    return engine
