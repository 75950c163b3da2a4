"""The one service every edge calls: choose the engine, use the cache, fall back, log."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .config import Settings
from .engines import EngineResult
from .engines.rules import RulesEngine
from .errors import EngineError, InputError
from .playbook import Playbook, load_playbook
from .store import Store
from .text import Prepared, fix_surrogates, prepare
from .verdict import Usage, Verdict

ENGINES = ("auto", "rules", "openai")


@dataclass
class CheckResult:
    verdict: Verdict
    check_id: int | None = None
    latency_ms: float = 0.0
    usage: Usage = field(default_factory=Usage)


class Checker:
    """Check drafts with the configured engine and record them in the store."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store
        self._playbooks: dict[str, Playbook] = {}
        self._rules: dict[str, RulesEngine] = {}
        self.default_playbook = self.playbook(settings.playbook)

    # -- playbooks and engines ---------------------------------------------------------------
    def playbook(self, name_or_path: str | None = None) -> Playbook:
        key = name_or_path or self.settings.playbook
        if key not in self._playbooks:
            self._playbooks[key] = load_playbook(key)
        return self._playbooks[key]

    def rules_engine(self, playbook: Playbook) -> RulesEngine:
        key = f"{playbook.name}@{playbook.version}:{playbook.path}"
        if key not in self._rules:
            self._rules[key] = RulesEngine(playbook)
        return self._rules[key]

    def resolve_engine(self, engine: str | None) -> str:
        engine = engine or self.settings.engine
        if engine not in ENGINES:
            raise InputError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
        if engine == "auto":
            return "openai" if self.settings.llm_configured else "rules"
        if engine == "openai" and not self.settings.llm_configured:
            raise InputError("the openai engine needs OPENAI_API_KEY (or use --engine rules)")
        return engine

    def _llm_assess(self, prepared: Prepared, playbook: Playbook) -> EngineResult:
        from .engines.llm import llm_engine_for  # imported lazily: the rules path never loads openai

        return llm_engine_for(self.settings, playbook).assess(prepared)

    # -- the check ---------------------------------------------------------------------------
    def assess(self, draft: str, *, engine: str | None = None,
               playbook: str | Playbook | None = None) -> tuple[Verdict, Usage]:
        """Return a verdict for ``draft`` without logging it."""
        if draft is None or not isinstance(draft, str):
            raise InputError("the draft must be text")
        book = playbook if isinstance(playbook, Playbook) else self.playbook(playbook)
        prepared = prepare(fix_surrogates(draft), self.settings.max_chars)
        if prepared.is_blank:
            raise InputError("the draft is empty: give the text of a proposal to check")
        chosen = self.resolve_engine(engine)
        if chosen == "openai":
            try:
                result = self._llm_assess(prepared, book)
                return result.verdict, result.usage
            except EngineError as exc:
                verdict = self.rules_engine(book).assess(prepared).verdict
                verdict.fallback = exc.reason
                verdict.notes.append(f"The LLM did not answer ({exc.reason}); the rules engine answered instead.")
                return verdict, Usage()
        return self.rules_engine(book).assess(prepared).verdict, Usage()

    def check(self, draft: str, *, engine: str | None = None, playbook: str | Playbook | None = None,
              log: bool = False, source: str = "cli", **context: Any) -> CheckResult:
        """Assess ``draft`` and, when ``log`` is set, record the check with its ``context``."""
        started = time.perf_counter()
        draft = fix_surrogates(draft) if isinstance(draft, str) else draft
        verdict, usage = self.assess(draft, engine=engine, playbook=playbook)
        latency_ms = (time.perf_counter() - started) * 1000
        check_id = None
        if log and self.store is not None:
            check_id = self.store.record_check(verdict, draft, source=source, latency_ms=latency_ms,
                                               usage=usage, **context)
        return CheckResult(verdict=verdict, check_id=check_id, latency_ms=latency_ms, usage=usage)
