"""Normalise Slack-flavoured draft text without moving a single character.

The scan text has the same length as the draft, so any span found in it is a valid
offset into the draft the user wrote: markup, mentions, emoji codes and code are
blanked out with spaces instead of removed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

# Control and zero-width characters (never meant to be read; blanked to spaces).
_CONTROL_CHARS = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x200B, 0x2010),
                                  *range(0x202A, 0x202F), *range(0x2060, 0x2065), 0xFEFF]))
_CONTROL = re.compile("[" + re.escape(_CONTROL_CHARS) + "]")
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Prepared:
    """A draft ready for an engine."""

    draft: str  # what the engine assesses (possibly cut); offsets refer to it
    scan: str  # same length as draft: lower-cased, markup blanked
    masked: str = ""  # same length as draft: markup blanked, case kept (for quoting names back)
    truncated: bool = False
    original_length: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def is_blank(self) -> bool:
        return not self.scan.strip()


_MARKUP = re.compile(
    # Every alternative opens with a literal character (control characters are listed one by one), so
    # the regex engine can skip ordinary prose with a fast character-set scan in C (3x faster than
    # a leading lookahead).
    r"```.*?```"  # code block
    r"|```"  # a fence never closed: Slack shows it, and what follows, as text, so only the fence is blanked
    r"|`[^`\n]*`"  # inline code
    r"|<([^<>\s][^<>\n]*)>"  # 1: mention, channel, link, special (<!here>) or HTML tag; not "a < b > c"
    r"|:[a-z0-9_+\-']+:"  # emoji code
    r"|" + "|".join(map(re.escape, _CONTROL_CHARS)),  # control and zero-width characters
    re.S,
)
_NOT_NEWLINE = re.compile(r"[^\n]")


def _mask_one(m: re.Match[str]) -> str:
    inner = m.group(1)
    if inner is not None:
        bar = inner.find("|")
        if bar >= 0 and not inner.startswith(("@", "#", "!")):
            # <https://x|label>: keep the label, blank the URL and brackets
            return " " * (bar + 2) + inner[bar + 1:] + " "
        return " " * len(m.group())
    found = m.group()
    # Code keeps its line breaks: they still end sentences.
    return _NOT_NEWLINE.sub(" ", found) if "\n" in found else " " * len(found)


def mask_markup(draft: str) -> str:
    """Return ``draft`` with code, mentions, link targets and emoji codes replaced by spaces.

    One left-to-right pass: at each position the first construct that starts there wins, so a
    mention inside a code block is blanked with the code, and nothing changes length.
    """
    masked = _MARKUP.sub(_mask_one, draft)
    if "&" in masked:
        # Slack escapes: &amp; &lt; &gt; keep their length; make them spaces except the symbol
        masked = masked.replace("&amp;", "&    ").replace("&lt;", "<   ").replace("&gt;", ">   ")
    return masked


_MARKUP_KINDS = (("emoji codes", re.compile(r":[a-z0-9_+\-']+:")), ("code", re.compile("`")),
                 ("links or mentions", re.compile(r"<[^<>\s][^<>\n]*>")))


def blank_reason(draft: str) -> str:
    """Why a draft with nothing to read is refused: it is empty, or holds only markup (named, so its author
    sees why ":rocket: :tada:" is not checked)."""
    kinds = [name for name, pattern in _MARKUP_KINDS if pattern.search(draft)]
    if not kinds:
        return "the draft is empty: give the text of a proposal to check"
    return f"the draft has no words to check, only {' and '.join(kinds)}: give the text of a proposal to check"


def _lower_same_length(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    # A few characters (e.g. 'İ') grow when lower-cased: fold one by one, keeping length.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def prepare(draft: str, max_chars: int = 8000) -> Prepared:
    """Cut an over-long draft at a word boundary and build its scan text."""
    original_length = len(draft)
    notes: list[str] = []
    truncated = False
    if original_length > max_chars:
        cut = draft.rfind(" ", int(max_chars * 0.9), max_chars)
        draft = draft[: cut if cut > 0 else max_chars]
        truncated = True
        notes.append(
            f"The draft is {original_length:,} characters; only the first {len(draft):,} were checked."
        )
    masked = mask_markup(draft)
    return Prepared(draft=draft, scan=_lower_same_length(masked), masked=masked, truncated=truncated,
                    original_length=original_length, notes=notes)


def normalise_for_hash(draft: str) -> str:
    """Collapse case, Unicode form and whitespace so trivially different copies hash alike."""
    text = unicodedata.normalize("NFKC", draft)
    text = _CONTROL.sub("", text)
    return _WS.sub(" ", text).strip().lower()


def draft_hash(draft: str) -> str:
    """Return a stable SHA-256 of the normalised draft."""
    return hashlib.sha256(normalise_for_hash(draft).encode("utf-8", "surrogatepass")).hexdigest()


def find_loosely(text: str, quote: str) -> tuple[int, int] | None:
    """The span of ``quote`` in ``text`` ignoring case and how words are spaced, or None."""
    words = quote.split()
    if not words:
        return None
    found = re.search(r"\s+".join(map(re.escape, words)), text, re.IGNORECASE)
    return found.span() if found else None


def normalise_for_compare(text: str) -> str:
    """Case and whitespace folded, for comparisons a re-cased or re-spaced copy must not dodge."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def fix_surrogates(draft: str) -> str:
    """Replace lone surrogates (from broken decoders) with U+FFFD so the text can be stored and sent."""
    return _SURROGATE.sub("\ufffd", draft) if _SURROGATE.search(draft) else draft
