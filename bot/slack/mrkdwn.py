"""Slack's text rules in one place: unescape on the way in, escape exactly once on the way out, cut cleanly.

Slack sends message and slash-command text with ``&``, ``<`` and ``>`` escaped as ``&amp;``, ``&lt;`` and
``&gt;``, and mentions, channels and links as markup (``<@U123>``, ``<#C123|name>``, ``<https://x|label>``).
A draft is stored as written: the three escapes undone, the markup kept. Going out, the same draft is escaped
once, the markup passed through untouched, and Markdown that Slack doesn't speak (``**bold**``) turned into
Slack's own (``*bold*``) or dropped, never left half-converted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

ELLIPSIS = "…"

# Slack markup that must reach Slack as is: mentions, channels, user groups, specials and links (with a label).
MARKUP = re.compile(r"<(?:[@#!][A-Za-z0-9^|:._ -][^<>\n]*|(?:https?|mailto|tel|slack):[^<>\s|]+(?:\|[^<>\n]*)?)>")
# What a cut must not split: markup, an escape code, an emoji code.
_ATOM = re.compile(MARKUP.pattern + r"|&(?:amp|lt|gt);|:[a-z0-9_+\-']+:")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")


def unescape(text: str) -> str:
    """Text as Slack sent it → text as written (mentions and links stay Slack markup)."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# Characters no one reads that can still act on what Slack shows: control characters (C0 but newline and tab, DEL,
# C1) and bidi overrides and isolates, which reorder the text after them. Dropped from what the coach posts only: the
# draft itself is stored and checked as written.
_UNSEEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """Text as written → mrkdwn: ``&``, ``<``, ``>`` escaped once; mentions, channels and links kept as markup;
    control characters and bidi overrides dropped."""
    text = _UNSEEN.sub("", text)
    out, pos = [], 0
    for m in MARKUP.finditer(text):
        out.append(_escape_plain(text[pos:m.start()]))
        out.append(m.group().replace("&", "&amp;"))  # Slack escapes & inside links too
        pos = m.end()
    out.append(_escape_plain(text[pos:]))
    return "".join(out)


_BROADCAST = re.compile(r"<!(here|channel|everyone)(?:\|[^<>\n]*)?>|<!subteam\^[A-Za-z0-9]+(?:\|([^<>\n]*))?>")
# A person's mention: U… ids, W… on Enterprise Grid; a label after | is what older clients (or a typed one) carry.
USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^<>\n]*))?>")
SOMEONE = "@someone"  # a person whose name Slack would not give in time
NAME_MAX = 80  # characters of a name shown


def mentioned(text: str | None) -> list[str]:
    """The user ids ``text`` mentions, each once, in order."""
    return list(dict.fromkeys(m.group(1) for m in USER_MENTION.finditer(text or "")))


# Slack has no escape for its emphasis marks (it reads the full-width ones too): in a name, each becomes a look-alike
# that formats nothing, so "*Dana*" is not bold in the coach's voice.
_MARKS = str.maketrans({"*": "\u2217", "\uff0a": "\ufe61", "_": "\u02cd", "\uff3f": "\u2e0f", "~": "\u223c",
                        "`": "\u02cb", "\uff40": "\u02cb"})


def _as_name(name: str) -> str:
    """A name as plain mrkdwn on one line: what Slack returned is someone's own text, so it is escaped like it."""
    name = " ".join(_UNSEEN.sub("", name).split())[:NAME_MAX].lstrip("@")
    return _escape_plain(name).translate(_MARKS)


def quiet(text: str, names: Mapping[str, str] | None = None) -> str:
    """Mrkdwn that notifies nobody, for what the coach posts in public, which quotes the draft (where markup may even
    have been typed as text): @here, @channel, @everyone and user groups named as text, and each person mentioned as
    "@Name", from ``names`` (user id → name, looked up at the Slack edge), else the mention's own label, else
    "@someone". Slack has no mention that does not notify."""
    def person(m: re.Match[str]) -> str:
        label = (names or {}).get(m.group(1)) or ""
        if label:
            name = _as_name(label)
        else:  # a label inside markup is already mrkdwn (escape() passed it through): only its marks are not
            name = " ".join((m.group(2) or "").split()).lstrip("@").translate(_MARKS)
        return f"@{name}" if name else SOMEONE

    text = _BROADCAST.sub(lambda m: f"@{m.group(1)}" if m.group(1) else (m.group(2) or "@a user group"), text)
    return USER_MENTION.sub(person, text)


def markdown_to_mrkdwn(text: str) -> str:
    """``**bold**`` / ``__bold__`` → ``*bold*``; stray ``**`` left over are dropped rather than shown half-done."""
    def one(m: re.Match[str]) -> str:
        inner = (m.group(1) or m.group(2)).replace("*", "")
        return f"*{inner}*"

    return _BOLD.sub(one, text).replace("**", "")


def plain_markup(text: str) -> str:
    """Mrkdwn emphasis stripped (for text that is itself bolded or quoted inside emphasis)."""
    return text.replace("**", "").replace("*", "")


def to_mrkdwn(text: str) -> str:
    """User or engine text, as written → safe mrkdwn for a block or a fallback ``text``."""
    return escape(markdown_to_mrkdwn(text))


def start_around(pattern: re.Pattern[str], text: str, end: int, since: int = 0) -> int:
    """``end``, or the start of the match of ``pattern`` (looked for from ``since``) that it falls inside."""
    for m in pattern.finditer(text, since):
        if m.start() < end < m.end():
            return m.start()
        if m.start() >= end:
            break
    return end


def outside_atoms(text: str, end: int) -> int:
    """``end``, or the start of the markup, escape code or emoji code it falls inside: a cut there would show
    half of it (":rocke", "&am", "<https://exa")."""
    return start_around(_ATOM, text, end, max(0, end - 400))


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, ending with "…" when cut, never inside a word, an escape code or a
    link/mention; a bold mark left unpaired by the cut is dropped."""
    if len(text) <= limit:
        return text
    room = max(limit - len(ELLIPSIS), 0)
    end = outside_atoms(text, room)
    space = max(text.rfind(" ", 0, end + 1), text.rfind("\n", 0, end + 1))
    if space > room // 2:
        end = space
    head = text[:end].rstrip()
    if head.count("*") % 2:
        head = head[::-1].replace("*", "", 1)[::-1]
    return head + ELLIPSIS
