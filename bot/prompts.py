"""Prompts live in prompts/*.j2 and render through the one sandboxed environment in templating.py."""

from __future__ import annotations

import re
from functools import lru_cache

import yaml

from . import corpus
from .config import PROMPTS_DIR
from .templating import environment, render

__all__ = ["boundary_examples", "environment", "render"]

_HEADING = re.compile(r"^#+ [^\n]*\n")


@lru_cache(maxsize=1)
def _corpus_openings() -> dict[str, str]:
    """Corpus text by id, when the corpus text is here (see bot/corpus.py); otherwise empty."""
    if not corpus.has_text():
        return {}
    return {row["id"]: row["text"] for name in corpus.FILES for row in corpus.load(name)}  # hashes checked


def boundary_examples(fallback: list[dict[str, str]] | None = None) -> list[dict[str, str]]:
    """The prompt's boundary examples: real openings from the corpus train split (prompts/examples.yaml
    names them by id), quoted from the corpus text when it is here; else ``fallback`` (the playbook's own
    exemplars), so an install without the corpus still sends well-formed examples."""
    chosen = yaml.safe_load((PROMPTS_DIR / "examples.yaml").read_text(encoding="utf-8")) or []
    texts = _corpus_openings()
    if not all(item["id"] in texts for item in chosen):
        return list(fallback or [])
    out = []
    for item in chosen:
        words = " ".join(_HEADING.sub("", texts[item["id"]].lstrip()).split()).split(" ")
        out.append({"label": item["label"], "text": " ".join(words[: item["words"]]), "why": item.get("why", "")})
    return out
