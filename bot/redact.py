"""Replace e-mail addresses, phone numbers and Slack mentions with placeholders before an LLM sees them."""

from __future__ import annotations

import re

_PATTERNS = [
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("USER", re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")),
    ("PHONE", re.compile(r"(?<![\w/])\+?\d[\d\s().-]{7,}\d(?!\w)")),
]


def redact(text: str) -> tuple[str, dict[str, str]]:
    """Return the text with placeholders like [EMAIL_1] and the mapping to restore them."""
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for kind, rx in _PATTERNS:
        def swap(m: re.Match[str], kind: str = kind) -> str:
            value = m.group(0)
            if value not in seen:
                seen[value] = f"[{kind}_{sum(1 for k in mapping if k.startswith('[' + kind)) + 1}]"
                mapping[seen[value]] = value
            return seen[value]

        text = rx.sub(swap, text)
    return text, mapping


def restore(text: str | None, mapping: dict[str, str]) -> str | None:
    """Put the original values back where the placeholders appear."""
    if text is None:
        return None
    for placeholder, value in mapping.items():
        text = text.replace(placeholder, value)
    return text
