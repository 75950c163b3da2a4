"""Files the CLI writes that may hold people's words (exports, recorded LLM answers, requests for a reader)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO


def open_private(path: str | Path, *, append: bool = False) -> TextIO:
    """Open PATH for writing text; a new file is owner-only (0600), as the database is.

    The umask's usual 0644 let every account on the machine read the drafts such a file quotes. A file that already
    exists keeps its mode: its owner chose it. Raises ``OSError`` as ``open`` does."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    return open(fd, "a" if append else "w", newline="", encoding="utf-8")  # noqa: SIM115 - the caller closes it
