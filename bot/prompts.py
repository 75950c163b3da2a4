"""Prompts live in prompts/*.j2 and render through the one sandboxed environment in templating.py."""

from __future__ import annotations

from functools import lru_cache

import yaml

from .config import PROMPTS_DIR
from .errors import ConfigError
from .templating import environment, render

__all__ = ["boundary_examples", "environment", "render"]


@lru_cache(maxsize=1)
def boundary_examples() -> tuple[dict[str, str], ...]:
    """The prompt's boundary examples (prompts/examples.yaml): label, text and why, in our own words."""
    path = PROMPTS_DIR / "examples.yaml"
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("label", "text", "why")):
            raise ConfigError(f"{path}: example {n} needs a label, a text and a why")
    return tuple(items)
