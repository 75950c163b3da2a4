"""What the text of /motivecheck asks for: a subcommand only when the whole text fits its grammar, else a draft."""

from __future__ import annotations

# Each subcommand and the most argument tokens it takes. A draft often starts with one of these words ("Help
# customers finish setup…", "Retrain the support team…"), so the word alone decides nothing: longer text is a draft.
SUBCOMMANDS: dict[str, int] = {
    "help": 0, "stats": 0, "optout": 0, "optin": 0, "retrain": 0,
    "watch": 1, "unwatch": 1,  # [channel]
    "mode": 2,  # thread|private [channel]
    "playbook": 2,  # NAME [channel]
    "digest": 2,  # channel [channel]
}


def parse_subcommand(text: str) -> tuple[str, str] | None:
    """The subcommand (lower-cased) and its arguments when ``text`` is one, else None: ``text`` is a draft."""
    words = text.split()
    if not words:
        return None
    word, args = words[0].lower(), words[1:]
    if len(args) > SUBCOMMANDS.get(word, -1):
        return None
    return word, " ".join(args)
