"""The one jinja2 environment (sandboxed, strict) for prompts and playbook templates.

Playbooks are data a stranger may write, so every template compiles in a ``SandboxedEnvironment``:
attribute tricks such as ``cycler.__init__.__globals__`` raise ``SecurityError`` instead of running.

Most playbook questions and measures are plain text with ``{{ customer }}``-style holes. Rendering
those through jinja2 costs a fresh context per call (about 8 µs); the rules engine renders several
per check, so such templates are split once into text and names and joined directly. Anything
else (tags, filters, expressions) goes through jinja2 unchanged, with the same strict undefineds.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Protocol

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from .config import PROMPTS_DIR

_HOLE = re.compile(r"\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)\s*\}\}")
_JINJA_SYNTAX = ("{%", "{#", "{{", "}}")


# Values a playbook template may use, as the rules engine fills them; validation renders every template with these.
SAMPLE_FACTS: dict[str, Any] = {
    "offering": "scheduled exports", "customer": "admins", "goal": "grow ARR 15%", "goal_short": "grow ARR 15%",
    "outcome": "ARR grows 15%", "action": "add scheduled exports", "motive_titles": ["Upsell or cross-sell"],
    "has_offering": True, "has_goal": True, "has_action": True,
}


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """The only jinja2 environment: sandboxed, undefined names are errors, prompts load from prompts/."""
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(PROMPTS_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context: Any) -> str:
    """Render ``prompts/<name>`` with ``context``; a missing variable is an error, not a blank."""
    return environment().get_template(name).render(**context).strip()


def private_names(source: str) -> list[str]:
    """Attributes or items starting with ``_`` that a template reaches for (never needed; a sandbox escape try).

    Raises ``jinja2.TemplateSyntaxError`` when ``source`` does not parse.
    """
    tree = environment().parse(source)
    found = [n.attr for n in tree.find_all(nodes.Getattr) if n.attr.startswith("_")]
    found += [n.arg.value for n in tree.find_all(nodes.Getitem)
              if isinstance(n.arg, nodes.Const) and isinstance(n.arg.value, str) and n.arg.value.startswith("_")]
    return found


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


def compile_template(env: jinja2.Environment | None, source: str) -> Renderable:
    """Return an object with ``render(mapping, **context)`` that renders ``source`` in the sandbox.

    ``env`` is accepted for callers that still build their own environment; it is never used to compile
    (only its trailing-newline rule applies): anything beyond plain holes compiles in ``environment()``.
    """
    sandbox = environment()
    keep_newline = env.keep_trailing_newline if env is not None else sandbox.keep_trailing_newline
    parts: list[str] = []
    names: list[tuple[str, str | None]] = []
    last = 0
    for m in _HOLE.finditer(source):
        parts.append(source[last:m.start()])
        name, _, key = m.group(1).partition(".")
        if key and hasattr(dict, key):
            return sandbox.from_string(source)  # jinja2 would find the dict method, not the item
        names.append((name, key or None))
        last = m.end()
    parts.append(source[last:])
    if any(marker in part for part in parts for marker in _JINJA_SYNTAX):
        return sandbox.from_string(source)  # tags, filters or expressions: jinja2 proper, sandboxed
    if parts[-1].endswith("\n") and not keep_newline:
        parts[-1] = parts[-1][:-1]  # jinja2 drops one trailing newline by default
    return _Substitution(source, parts, names)
