"""Playbook templates: jinja2, with a fast path for templates that only substitute variables.

Most playbook questions and measures are plain text with ``{{ customer }}``-style holes. Rendering
those through jinja2 costs a fresh context per call (about 8 µs); the rules engine renders several
per check, so such templates are split once into text and names and joined directly. Anything
else (tags, filters, expressions) goes through jinja2 unchanged, with the same strict undefineds.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import jinja2

_HOLE = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)\s*\}\}")
_JINJA_SYNTAX = ("{%", "{#", "{{", "}}")


class Renderable(Protocol):
    def render(self, *args: Any, **context: Any) -> str: ...


class _Substitution:
    """A template of literal text and ``{{ name }}`` / ``{{ name.key }}`` holes."""

    __slots__ = ("_parts", "_names", "source")

    def __init__(self, source: str, parts: list[str], names: list[tuple[str, str | None]]) -> None:
        self.source = source
        self._parts = parts  # len(parts) == len(names) + 1
        self._names = names

    def render(self, mapping: dict[str, Any] | None = None, /, **kwargs: Any) -> str:
        """Like jinja2's ``render``: a mapping, keyword arguments, or both."""
        context = kwargs if mapping is None else ({**mapping, **kwargs} if kwargs else mapping)
        out = [self._parts[0]]
        for (name, key), text in zip(self._names, self._parts[1:], strict=True):
            if name not in context:
                raise jinja2.UndefinedError(f"'{name}' is undefined")
            value = context[name]
            if key is not None:
                if not isinstance(value, dict) or key not in value:
                    raise jinja2.UndefinedError(f"'{name}' has no attribute '{key}'")
                value = value[key]
            out.append(str(value))
            out.append(text)
        return "".join(out)


def compile_template(env: jinja2.Environment, source: str) -> Renderable:
    """Return an object with ``render(mapping, **context)`` that renders ``source`` as ``env`` would."""
    parts: list[str] = []
    names: list[tuple[str, str | None]] = []
    last = 0
    for m in _HOLE.finditer(source):
        parts.append(source[last:m.start()])
        name, _, key = m.group(1).partition(".")
        if key and hasattr(dict, key):
            return env.from_string(source)  # jinja2 would find the dict method, not the item
        names.append((name, key or None))
        last = m.end()
    parts.append(source[last:])
    if any(marker in part for part in parts for marker in _JINJA_SYNTAX):
        return env.from_string(source)  # tags, filters or expressions: jinja2 proper
    if parts[-1].endswith("\n") and not env.keep_trailing_newline:
        parts[-1] = parts[-1][:-1]  # jinja2 drops one trailing newline by default
    return _Substitution(source, parts, names)
