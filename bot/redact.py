"""Replace secrets, e-mail addresses, phone numbers and Slack mentions with placeholders before an LLM sees them."""

from __future__ import annotations

import re

# API keys and tokens people paste into drafts: OpenAI (sk-, sk-proj-), Stripe, GitHub, Slack, AWS access key
# ids, Google API keys, and JWTs. First, so no other pattern takes a part of one (a Slack token's digits).
_SECRET = re.compile(
    r"(?<![\w-])(?:"
    r"sk-[A-Za-z0-9_-]{20,}"
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}"
    r"|xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}"
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"
    r"|AIza[A-Za-z0-9_-]{35}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r")(?![\w-])")
# A run of digits and phone separators; _phone decides whether it is shaped like a phone number.
_PHONE_RUN = re.compile(r"(?<![\w/])\+?\d[\d\s().-]{6,}\d(?!\w)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?!\d)")
_THOUSANDS = re.compile(r"\d{1,3}(?:[ ,.]\d{3})+")
_GROUPS = re.compile(r"\d+")
_PATTERNS = [
    ("SECRET", _SECRET),
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("USER", re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")),
    ("PHONE", _PHONE_RUN),
]
_KEPT_SECRET = "SECRET"  # never restored: a secret must not come back in what the app posts


def _is_phone(run: str) -> bool:
    """A leading + and 8-15 digits, or 10-15 digits in two or more groups of at most 7 (not a decimal number);
    never an ISO date or thousands grouped by spaces, commas or dots."""
    run = run.strip()
    groups = _GROUPS.findall(run)
    digits = sum(len(g) for g in groups)
    if _ISO_DATE.search(run) or _THOUSANDS.fullmatch(run):
        return False
    if run.startswith("+"):
        return 8 <= digits <= 15
    return 10 <= digits <= 15 and len(groups) >= 2 and max(len(g) for g in groups) <= 7


def _phones(text: str, swap) -> str:  # noqa: ANN001 - swap is redact's placeholder maker
    """Replace the phone-shaped runs of digits; a run that is not one (a date, an amount) may still hold one."""
    def one(m: re.Match[str]) -> str:
        run = m.group(0)
        if _is_phone(run):
            return swap(run)
        # Keep the run's first group (a whole ISO date when it starts with one) and look again after it.
        head = _ISO_DATE.match(run) or re.match(r"\+?\d+", run)
        return run[:head.end()] + _PHONE_RUN.sub(one, run[head.end():])
    return _PHONE_RUN.sub(one, text)


def redact(text: str) -> tuple[str, dict[str, str]]:
    """Return the text with placeholders like [EMAIL_1] and the mapping to restore them.

    Secrets become [SECRET_1] and are left out of the mapping: they are never put back into an answer.
    """
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    counts: dict[str, int] = {}
    for kind, rx in _PATTERNS:
        def swap(value: str, kind: str = kind) -> str:
            if value not in seen:
                counts[kind] = counts.get(kind, 0) + 1
                seen[value] = f"[{kind}_{counts[kind]}]"
                if kind != _KEPT_SECRET:
                    mapping[seen[value]] = value
            return seen[value]

        text = _phones(text, swap) if kind == "PHONE" else rx.sub(lambda m, swap=swap: swap(m.group(0)), text)
    return text, mapping


def restore(text: str | None, mapping: dict[str, str]) -> str | None:
    """Put the original values back where the placeholders appear (secrets stay placeholders)."""
    if text is None:
        return None
    for placeholder, value in mapping.items():
        text = text.replace(placeholder, value)
    return text
