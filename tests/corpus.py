"""The labelled drafts in tests/data, for tests that run the engine over them."""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).parent / "data"


def rows(*names: str) -> list[dict]:
    """Every line of the named JSON-lines files (``{"text": ..., "label": ...}``), in order."""
    return [json.loads(line) for name in names for line in (DATA / name).read_text().splitlines() if line.strip()]


def texts(*names: str) -> list[str]:
    return [row["text"] for row in rows(*names)]
