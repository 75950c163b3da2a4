"""The jinja2 environment for prompts; the text itself lives in prompts/*.j2."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2

from .config import PROMPTS_DIR


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
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
