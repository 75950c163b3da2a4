"""What the text of /motivecheck asks for: a subcommand only when the whole text fits its grammar, else a draft."""

from __future__ import annotations

import difflib
import re

# Each subcommand and the most argument tokens it takes. A draft often starts with one of these words ("Help
# customers finish setup…", "Retrain the support team…"), so the word alone decides nothing: longer text is a draft.
SUBCOMMANDS: dict[str, int] = {
    "help": 0, "stats": 0, "optout": 0, "optin": 0, "retrain": 0,
    "watch": 1, "unwatch": 1,  # [channel]
    "mode": 2,  # thread|private [channel]
    "playbook": 2,  # NAME [channel]
    "digest": 2,  # channel [channel] | time [default]
}
# Longer forms a subcommand takes only after its keyword and a word of that form: `digest time mon 09:00
# Europe/Berlin` (4 arguments) is a command, `Digest time is precious…` stays a draft.
_DAY = r"(?:mon|tue|wed|thu|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?"
LONG_FORMS: dict[str, tuple[re.Pattern[str], int]] = {
    "digest": (re.compile(rf"time {_DAY} \d\S*( \S+)?", re.IGNORECASE), 4),  # time DAY HH:MM [TIMEZONE]
}


def parse_subcommand(text: str) -> tuple[str, str] | None:
    """The subcommand (lower-cased) and its arguments when ``text`` is one, else None: ``text`` is a draft."""
    words = text.split()
    if not words:
        return None
    word, args = words[0].lower(), words[1:]
    form = LONG_FORMS.get(word)
    if form is not None and form[0].fullmatch(" ".join(args)) and len(args) <= form[1]:
        return word, " ".join(args)
    if len(args) > SUBCOMMANDS.get(word, -1):
        return None
    return word, " ".join(args)


_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+(?:\|[^>]*)?>|#\S+|[CG][A-Z0-9]{2,}")
_ARG_WORDS = {"thread", "private", "channel"}
_WORD = re.compile(r"[a-z][a-z-]*")
_TYPO_MAX = 20  # characters: a longer word is no misspelt command


def command_mistake(text: str) -> str | None:
    """Why ``text`` is a command gone wrong rather than a draft, for the person who typed it; None when it is a
    draft. Caught: one bare word that is no subcommand (``hlep``; no draft is one word), a subcommand split or
    hyphenated (``opt out``), a misspelt subcommand followed only by channels and option words (``wacth #ideas``),
    and a subcommand given more channels than it takes."""
    words = text.split()
    if not words or parse_subcommand(text) is not None:
        return None
    first, rest = words[0].lower().rstrip(".!?"), words[1:]
    joined = "".join(words).lower().replace("-", "").rstrip(".!?")
    if len(words) <= 2 and joined in SUBCOMMANDS and not SUBCOMMANDS[joined]:
        return _unknown(" ".join(words), joined)
    if not all(_CHANNEL.fullmatch(w) or w.lower() in _ARG_WORDS for w in rest):
        return None  # words of a draft follow
    if first in SUBCOMMANDS:  # only channels and option words, but more than it takes
        return f"`{first}` takes one channel at a time."
    if not _WORD.fullmatch(first) or len(first) > _TYPO_MAX:
        return None  # not a word, or far longer than any command: the draft road says what it makes of it
    close = difflib.get_close_matches(first.replace("-", ""), SUBCOMMANDS, n=1, cutoff=0.7)
    if not rest or close:
        return _unknown(words[0], close[0] if close else None)
    return None


def _unknown(typed: str, meant: str | None) -> str:
    guess = f": did you mean `{meant}`?" if meant else "."
    return f"`/motivecheck {typed}` isn't a command I know{guess}"
