"""Prompts live in prompts/*.j2 and render through the one sandboxed environment in templating.py."""

from __future__ import annotations

from .templating import environment, render

__all__ = ["environment", "render"]
