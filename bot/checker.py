"""The one service every edge calls: choose the engine, use the cache, fall back, log."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field, replace
from typing import Any

from .aio import run_sync
from .config import ENGINE_NAMES, Settings
from .engines.rules import RulesEngine
from .engines.slots import FairSlots
from .engines.trained import CHANNEL, EXPLICIT, PREFILTER, PROPOSAL, Heads, TrainedEngine
from .errors import EngineError, InputError
from .playbook import Playbook, load_playbook
from .store import Store
from .text import Prepared, blank_reason, draft_hash, find_loosely, fix_surrogates, prepare
from .verdict import CUSTOMER_EASE, Evidence, Usage, Verdict

ENGINES = ENGINE_NAMES
MODES = (EXPLICIT, CHANNEL, PROPOSAL)  # how a check is asked; PREFILTER is the channel road's own first step
# How far apart two labels are on the outside-in scale; two steps (outside-in vs inside-out) is a contradiction.
_SCALE = {"outside-in": 0, "mixed": 1, "inside-out": 2}


@dataclass
class CheckResult:
    verdict: Verdict
    check_id: int | None = None
    latency_ms: float = 0.0
    usage: Usage = field(default_factory=Usage)


_WARM_UP_DRAFT = "We'll launch Premium Plus to upsell existing accounts, so admins can schedule exports easily."


class Checker:
    """Check drafts with the configured engine and record them in the store."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store
        self._playbooks: dict[str, Playbook] = {}
        self._rules: dict[str, RulesEngine] = {}
        self._trained: dict[str, TrainedEngine | EngineError] = {}
        self._workspace_heads: dict[str, tuple[float, TrainedEngine | None]] = {}
        self.default_playbook = self.playbook(settings.playbook)
        self.llm_transport: Any = None  # eval --record / --replay: bot.engines.recording stands for the client
        # The bound on LLM requests in flight: the process's, as the app builds one checker per process.
        self.llm_slots = FairSlots(settings.llm_concurrency)

    # -- playbooks and engines ---------------------------------------------------------------
    def playbook(self, name_or_path: str | None = None) -> Playbook:
        key = name_or_path or self.settings.playbook
        if key not in self._playbooks:
            self._playbooks[key] = load_playbook(key)
        return self._playbooks[key]

    def rules_engine(self, playbook: Playbook) -> RulesEngine:
        key = _engine_key(playbook)
        if key not in self._rules:
            self._rules[key] = RulesEngine(playbook)
        return self._rules[key]

    def trained_engine(self, playbook: Playbook) -> TrainedEngine:
        """The trained engine for ``playbook``; raises EngineError (remembered) when its model is missing."""
        key = _engine_key(playbook)
        if key not in self._trained:
            try:
                self._trained[key] = TrainedEngine(playbook, self.rules_engine(playbook))
            except EngineError as exc:
                self._trained[key] = exc
        found = self._trained[key]
        if isinstance(found, EngineError):
            raise found
        return found

    def workspace_engine(self, playbook: Playbook, workspace: str | None) -> TrainedEngine | None:
        """The trained engine with a workspace's own active head (motivecheck train --workspace), if it has
        one; looked up in the store at most every 30 s, so a retrain or rollback takes effect without a restart."""
        if not workspace or self.store is None:
            return None
        now = time.monotonic()
        key = f"{workspace}|{_engine_key(playbook)}"
        cached = self._workspace_heads.get(key)
        if cached is not None and now - cached[0] < 30:
            return cached[1]
        found = self.store.active_head(workspace)
        engine = None
        if found is not None:
            version, raw = found
            base = self.trained_engine(playbook)
            # A workspace head learns the team's words; when explicit checks dismiss stays the shipped head's
            # choice, also for heads saved before it changed.
            heads = replace(Heads.from_json(raw), dismiss_threshold=base.heads.dismiss_threshold,
                            dismiss_threshold_short=base.heads.dismiss_threshold_short)
            engine = TrainedEngine(playbook, base.rules, heads=heads, embeddings=base.featurizer.emb,
                                   head_name=f"{workspace} v{version}")
        self._workspace_heads[key] = (now, engine)
        return engine

    def offline(self, book: Playbook, prepared: Prepared, engine: str = "trained", mode: str = EXPLICIT,
                workspace: str | None = None) -> Verdict:
        """The offline verdict: the trained engine (with the workspace's own head when it has one), or the
        rules engine when asked (or when the trained engine's model files are missing, which the verdict says)."""
        if mode not in (*MODES, PREFILTER):
            raise InputError(f"unknown mode {mode!r}: use {' or '.join(MODES)}")
        if engine == "rules":
            return self.rules_engine(book).assess(prepared, mode=mode).verdict
        try:
            own = self.workspace_engine(book, workspace)
            return (own or self.trained_engine(book)).assess(prepared, mode=mode).verdict
        except EngineError as exc:
            verdict = self.rules_engine(book).assess(prepared, mode=mode).verdict
            verdict.notes.append(f"The trained engine is unavailable ({exc}); the rules engine answered.")
            return verdict

    def warm_up(self) -> None:
        """Do the one-off work (imports, compiled patterns, prompts) before the first draft arrives.

        The Slack app calls this before it accepts requests, so the first burst of commands is
        acknowledged as fast as the rest instead of waiting behind the set-up.
        """
        book = self.default_playbook
        self.offline(book, prepare(_WARM_UP_DRAFT))
        if self.settings.llm_configured:
            self._llm_engine(book).request(prepare(_WARM_UP_DRAFT))  # renders the system prompt, builds the schema

    async def awarm_up(self) -> None:
        """``warm_up`` off the loop, then build the LLM client on this loop (clients belong to a loop)."""
        await asyncio.to_thread(self.warm_up)
        if self.settings.llm_configured:
            from .engines.llm import get_client

            get_client(self.settings)

    def resolve_engine(self, engine: str | None) -> str:
        engine = engine or self.settings.engine
        if engine not in ENGINES:
            raise InputError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
        if engine == "auto":
            return "openai" if self.settings.llm_configured else "trained"
        if engine == "openai" and not self.settings.llm_configured:
            raise InputError("the openai engine needs OPENAI_API_KEY (or use --engine trained, the better offline "
                             "engine)")
        return engine

    def _llm_engine(self, playbook: Playbook):  # noqa: ANN202 - the engine type lives in engines.llm
        from .engines.llm import llm_engine_for  # imported lazily: the rules path never loads openai

        engine = llm_engine_for(self.settings, playbook)
        engine.transport = self.llm_transport
        engine.slots = self.llm_slots
        return engine

    def _prepare(self, draft: str, playbook: str | Playbook | None) -> tuple[Playbook, Prepared]:
        if draft is None or not isinstance(draft, str):
            raise InputError("the draft must be text")
        book = playbook if isinstance(playbook, Playbook) else self.playbook(playbook)
        prepared = prepare(fix_surrogates(draft), self.settings.max_chars)
        if prepared.is_blank:
            raise InputError(blank_reason(prepared.draft))
        return book, prepared

    def _cache_key(self, whole: str, book: Playbook, mode: str, workspace: str | None = None) -> str:
        # The mode is part of the question: a channel may read as chat what an explicit check judges. Each
        # workspace has its own entries: a hit must never tell one workspace what another one checked. The server,
        # the playbook's content and redaction change the answer too (a changed key only misses: it is a cache).
        # ``whole`` is the draft's hash as its check records it (the whole draft, not the part checked): two long
        # drafts that differ after the cut have an entry each, each erased with its own check.
        s = self.settings
        server = s.azure_endpoint or s.openai_base_url or ""
        raw = (f"{whole}|{book.name}|{book.version}|{s.model}|{mode}|{server}|{book.digest}"
               f"|redact={'on' if s.redact else 'off'}")
        raw += f"|{workspace}" if workspace else ""
        return hashlib.sha256(raw.encode()).hexdigest()

    def _cached(self, key: str, prepared: Prepared) -> Verdict | None:
        if self.store is None:
            return None
        raw = self.store.cache_get(key)
        if raw is None:
            return None
        verdict = Verdict.model_validate_json(raw)
        verdict.cached = True
        # The key ignores case and spacing, so the cached quotes may sit elsewhere in this draft: find them again.
        verdict.evidence = _respan(verdict.evidence, prepared.draft)
        return verdict

    def _remember(self, key: str, verdict: Verdict, whole: str) -> None:
        # Tied to the hash the draft's check records (``Store.record_check``), by which erasure finds the entry: the
        # hash of the part checked missed it for a draft over MOTIVECHECK_MAX_CHARS.
        if self.store is not None:
            self.store.cache_put(key, verdict.model_dump_json(), whole)

    def _fallback(self, book: Playbook, prepared: Prepared, reason: str, mode: str) -> Verdict:
        verdict = self.offline(book, prepared, mode=mode)
        verdict.fallback = reason
        # "busy": the last request got no slot, the bound on requests in flight (MOTIVECHECK_LLM_CONCURRENCY) was met
        why = "The LLM was busy with other checks" if reason == "busy" else f"The LLM did not answer ({reason})"
        verdict.notes.append(f"{why}; the offline {verdict.engine} engine answered instead.")
        return verdict

    def _cross_check(self, verdict: Verdict, book: Playbook, prepared: Prepared) -> Verdict:
        """Say so when the LLM and the offline engine are two steps apart (a sign of an obeyed injection)."""
        offline = self.offline(book, prepared)
        if abs(_SCALE.get(verdict.label, 1) - _SCALE.get(offline.label, 1)) < 2:
            return verdict
        verdict.notes.append(
            f"The LLM said {verdict.label} but the offline {offline.engine} engine says {offline.label} "
            f"(customer ease {offline.customer_ease}); read this verdict with care.")
        # Keep the LLM's evidence honest: a quote the offline engine reads the other way round (a company motive
        # presented as customer ease, or the reverse) does not support the label, so it goes.
        kept = [ev for ev in verdict.evidence if not _contradicted(ev, offline.evidence)]
        if len(kept) < len(verdict.evidence):
            verdict.notes.append(f"{len(verdict.evidence) - len(kept)} quote(s) the offline engine reads the other "
                                 "way were left out.")
            verdict.evidence = kept
        return verdict

    # -- the check: one async core, thin sync wrappers -------------------------------------------
    async def aassess(self, draft: str, *, engine: str | None = None, playbook: str | Playbook | None = None,
                      mode: str = EXPLICIT, workspace: str | None = None) -> tuple[Verdict, Usage]:
        """Return a verdict for ``draft`` without logging it; the LLM call never blocks the event loop.

        ``mode``: ``explicit`` (someone asked: the motive is judged unless it is plain chatter) or
        ``channel`` (a watched channel: speak only on proposals). The channel road with an LLM: the offline
        prefilter keeps only obvious chatter away (it passes 97% of dev proposals); then, with
        ``MOTIVECHECK_CHANNEL_TRIAGE``, the LLM's short first pass says proposal or chat and the full prompt
        judges the motive of proposals; without it, the full prompt is told it reads a channel and its own
        not-a-proposal decides."""
        book, prepared = self._prepare(draft, playbook)
        name = self.resolve_engine(engine)
        if name != "openai":
            return self.offline(book, prepared, name, mode, workspace), Usage()
        llm = self._llm_engine(book)
        usage = Usage()
        if mode == CHANNEL:
            gate = self.offline(book, prepared, mode=PREFILTER, workspace=workspace)
            if gate.label == "not-a-proposal":
                return gate, usage
        whole = draft_hash(draft)
        key = self._cache_key(whole, book, mode, workspace)
        cached = await asyncio.to_thread(self._cached, key, prepared)
        if cached is not None:
            return cached, usage
        asked = mode
        if mode == CHANNEL and self.settings.channel_triage:
            try:
                proposal, usage = await llm.atriage(prepared, workspace)
            except EngineError as exc:
                usage = usage + (exc.usage or Usage())  # the failed first pass was billed too
                if exc.reason == "busy":  # no slot came free in its deadline: the full prompt would wait as long again
                    return self._fallback(book, prepared, exc.reason, mode), usage
                proposal = True  # recall first: the full prompt (or its fallback, the offline gate) decides
            if not proposal:
                return llm.quiet(prepared, usage), usage
            asked = EXPLICIT  # the first pass found a proposal: the full prompt judges its motive
        try:
            result = await llm.aassess(prepared, asked, workspace)
        except EngineError as exc:  # the tokens of the failed requests count: the check is logged with them
            return self._fallback(book, prepared, exc.reason, mode), usage + (exc.usage or Usage())
        if mode == PROPOSAL and result.verdict.label == "not-a-proposal":
            # The author says it proposes something: never wave it away; the offline reading judges its motive.
            verdict = self.offline(book, prepared, mode=PROPOSAL, workspace=workspace)
            verdict.notes.append("Asked to read it as a proposal, the LLM still found nothing proposed in it; this "
                                 f"is the offline {verdict.engine} engine's reading of its motive.")
        else:
            verdict = self._cross_check(result.verdict, book, prepared)
        await asyncio.to_thread(self._remember, key, verdict, whole)
        return verdict, usage + result.usage

    def assess(self, draft: str, *, engine: str | None = None, playbook: str | Playbook | None = None,
               mode: str = EXPLICIT, workspace: str | None = None) -> tuple[Verdict, Usage]:
        """Sync wrapper of ``aassess``."""
        return run_sync(self.aassess(draft, engine=engine, playbook=playbook, mode=mode, workspace=workspace))

    async def acheck(self, draft: str, *, engine: str | None = None, playbook: str | Playbook | None = None,
                     log: bool = False, source: str = "cli", mode: str = EXPLICIT, **context: Any) -> CheckResult:
        """Assess ``draft`` and, when ``log`` is set, record the check with its ``context``."""
        started = time.perf_counter()
        draft = fix_surrogates(draft) if isinstance(draft, str) else draft
        verdict, usage = await self.aassess(draft, engine=engine, playbook=playbook, mode=mode,
                                            workspace=context.get("workspace"))
        latency_ms = (time.perf_counter() - started) * 1000
        check_id = None
        if log and self.store is not None:
            check_id = await asyncio.to_thread(self.store.record_check, verdict, draft, source=source,
                                               latency_ms=latency_ms, usage=usage, **context)
        return CheckResult(verdict=verdict, check_id=check_id, latency_ms=latency_ms, usage=usage)

    def check(self, draft: str, *, engine: str | None = None, playbook: str | Playbook | None = None,
              log: bool = False, source: str = "cli", mode: str = EXPLICIT, **context: Any) -> CheckResult:
        """Sync wrapper of ``acheck``."""
        return run_sync(self.acheck(draft, engine=engine, playbook=playbook, log=log, source=source, mode=mode,
                                    **context))


def _engine_key(playbook: Playbook) -> str:
    """Engines are built once per loaded playbook (name, version and file)."""
    return f"{playbook.name}@{playbook.version}:{playbook.path}"


def _contradicted(ev: Evidence, offline: list[Evidence]) -> bool:
    """True when an offline quote overlapping ``ev`` says the opposite (customer ease vs a company motive)."""
    ease = ev.shows == CUSTOMER_EASE
    return any(o.start < ev.end and ev.start < o.end and (o.shows == CUSTOMER_EASE) != ease for o in offline)


def _respan(evidence: list[Evidence], draft: str) -> list[Evidence]:
    """Evidence re-anchored in ``draft`` (ignoring case and spacing); quotes it no longer contains are dropped."""
    out: list[Evidence] = []
    for ev in evidence:
        if draft[ev.start:ev.end] == ev.quote:
            out.append(ev)
            continue
        span = find_loosely(draft, ev.quote)
        if span is not None:
            out.append(Evidence(quote=draft[span[0]:span[1]], start=span[0], end=span[1], shows=ev.shows))
    return out
