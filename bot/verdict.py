"""The domain types: a draft goes in, a ``Verdict`` comes out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LABELS: tuple[str, ...] = ("outside-in", "inside-out", "mixed", "not-a-proposal")
MOTIVE_IDS: tuple[str, ...] = (
    "new-product",
    "acquisition",
    "upsell-crosssell",
    "revenue-profit",
    "internal-metrics-bonuses",
    "cost-efficiency",
)
CUSTOMER_EASE = "customer-ease"
# In the note on a draft an offline engine dismissed but could not read (another language): the why line says so.
CANNOT_TELL = "cannot tell whether it is a proposal"
# customer_ease is kept consistent with the label: each judged label owns a band of the 0-100 scale.
EASE_BANDS: dict[str, tuple[int, int]] = {"outside-in": (60, 100), "mixed": (30, 59), "inside-out": (0, 29),
                                          "not-a-proposal": (0, 100)}

Label = Literal["outside-in", "inside-out", "mixed", "not-a-proposal"]
MotiveId = Literal[MOTIVE_IDS]  # one list of motive ids: MOTIVE_IDS above
Shows = Literal[(*MOTIVE_IDS, "customer-ease")]


class Evidence(BaseModel):
    """A quoted span of the draft: ``draft[start:end] == quote``."""

    model_config = ConfigDict(extra="forbid")

    quote: str = Field(description="exact text copied from the draft")
    start: int = Field(ge=0, description="character offset of the quote in the draft")
    end: int = Field(ge=0, description="offset just past the quote")
    shows: Shows = Field(description="a motive id, or customer-ease")


class PlaybookRef(BaseModel):
    # Frozen: the rules engine shares one instance among all the verdicts it makes.
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str


class Verdict(BaseModel):
    """What Motive Coach says about one draft. JSON schema: ``Verdict.model_json_schema()``."""

    model_config = ConfigDict(extra="forbid")

    label: Label
    customer_ease: int = Field(ge=0, le=100, description="how strongly the draft leads with customer ease")
    confidence: float | None = Field(
        default=None, ge=0, le=1, description="calibrated probability that the label is right (trained engine)"
    )
    motives: list[MotiveId] = Field(default_factory=list, description="inside-out motives found")
    evidence: list[Evidence] = Field(default_factory=list)
    reframe: str | None = Field(
        default=None, description="an outside-in opening for inside-out or mixed drafts, else null"
    )
    questions: list[str] = Field(default_factory=list, max_length=3)
    measures: list[str] = Field(default_factory=list, max_length=2)
    engine: str = Field(description="engine that produced the verdict: rules or openai")
    model: str | None = Field(default=None, description="LLM model, when the LLM answered")
    head: str | None = Field(default=None, description="the trained head that judged: shipped, or a workspace's own")
    playbook: PlaybookRef
    notes: list[str] = Field(
        default_factory=list, description="things the reader should know (draft cut, language, ...)"
    )
    fallback: str | None = Field(
        default=None, description="why the LLM was not used although configured (timeout, 429, ...)"
    )
    cached: bool = Field(default=False, description="served from the verdict cache without a call")

    @property
    def is_proposal(self) -> bool:
        return self.label != "not-a-proposal"


class Usage(BaseModel):
    """Token counts of one LLM call (zero for the rules engine)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        """The tokens of two calls of one check (the channel road's first pass and its full prompt)."""
        return Usage(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens,
                     cached_tokens=self.cached_tokens + other.cached_tokens)
