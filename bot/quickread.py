"""The offline quick read says what it is: one honest line, shown once where people see a verdict, when no LLM
is configured. The CLI footer, App Home, the day's first reply in a Slack channel and the digest use it."""

from __future__ import annotations

# Accuracy of explicit checks on real writing, the one place these figures live: the 230 passages of the corpus
# test split, labelled by careful readers (`motivecheck eval corpus/passages.jsonl --split test [--engine rules]`;
# README, "Figures on the test split": trained engine accuracy 0.474, macro-F1 0.375; rules engine 0.287 and
# 0.224). Update them here when the engines or the corpus are measured again.
ACCURACY = {"trained": 0.474, "rules": 0.287}


def how_often(accuracy: float) -> str:
    """Accuracy as a person would say it: "about half the time", "about 3 times in 10"."""
    tenths = round(accuracy * 10)
    return "about half the time" if tenths == 5 else f"about {tenths} times in 10"


def agreement(engine: str) -> str | None:
    """How often the offline ``engine`` agrees with a careful reader on real writing, in words and figure ("agrees
    with a careful reader about half the time (accuracy 0.47)"); None for the LLM."""
    accuracy = ACCURACY.get(engine)
    if accuracy is None:
        return None
    return f"agrees with a careful reader {how_often(accuracy)} (accuracy {accuracy:.2f})"


def note(engine: str, llm_configured: bool) -> str | None:
    """The line that says a verdict is the offline quick read; None when an LLM is configured (a fallback
    verdict says so in its own notes) or the engine is not an offline one."""
    said = None if llm_configured else agreement(engine)
    if said is None:
        return None
    return (f"Offline quick read (no LLM configured): on real writing it {said}. Configure an LLM (OPENAI_API_KEY) "
            "for a careful read.")
