"""Engines turn a prepared draft into a Verdict: the rules engine (default) and the LLM engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..text import Prepared
from ..verdict import Usage, Verdict


@dataclass
class EngineResult:
    verdict: Verdict
    usage: Usage = field(default_factory=Usage)


class Engine(Protocol):
    name: str

    def assess(self, prepared: Prepared) -> EngineResult:
        """Return a verdict for the draft; raise EngineError when it cannot."""
        ...
