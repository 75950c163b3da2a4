"""Engines turn a prepared draft into a Verdict: the rules engine (default) and the LLM engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..text import Prepared
from ..verdict import Usage, Verdict

# How a check is asked: explicitly (/motivecheck, the CLI, the modal, the workflow step) or by a watched channel.
# PROPOSAL is an explicit check whose author says it is a proposal ("/motivecheck proposal: ..."): its motive is
# always judged, never dismissed. PREFILTER is the channel gate in front of an LLM: it keeps only obvious chatter
# away, so it lets nearly every proposal by.
EXPLICIT, CHANNEL, PROPOSAL, PREFILTER = "explicit", "channel", "proposal", "prefilter"


@dataclass
class EngineResult:
    verdict: Verdict
    usage: Usage = field(default_factory=Usage)


class Engine(Protocol):
    name: str

    def assess(self, prepared: Prepared) -> EngineResult:
        """Return a verdict for the draft; raise EngineError when it cannot."""
        ...
