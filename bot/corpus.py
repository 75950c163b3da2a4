"""The real-text corpus: labels and provenance in ``corpus/*.jsonl`` (committed), text kept apart.

The verbatim passages and Slack messages were copied out of public repositories and stored pages; they are
kept out of this repository's commits. ``corpus/*.jsonl`` holds each row's id, source, label, split and the
sha256 of its text; the text itself lives in a folder of the same file names with ``{"id", "text"}`` lines:
``MOTIVECHECK_CORPUS_TEXT`` if set, else ``../shared/corpus`` beside the checkout, else ``corpus/text``.
``load`` joins the two and checks every hash, so a label never meets the wrong text.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import InputError

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus"
FILES = ("passages.jsonl", "slack.jsonl")


def text_dir(*, create: bool = False) -> Path:
    """Where the corpus text is: the first candidate that has it (or, with ``create``, the local one)."""
    env = os.environ.get("MOTIVECHECK_CORPUS_TEXT")
    candidates = [Path(env)] if env else [ROOT.parent / "shared" / "corpus", CORPUS_DIR / "text"]
    for path in candidates:
        if (path / FILES[0]).exists():
            return path
    if create:
        candidates[-1].mkdir(parents=True, exist_ok=True)
        return candidates[-1]
    return candidates[-1]


def has_text() -> bool:
    return all((text_dir() / name).exists() for name in FILES)


def load(name: str, *, labels_dir: Path = CORPUS_DIR) -> list[dict]:
    """Rows of ``corpus/<name>`` with their ``text`` joined in; refuses a text whose hash differs."""
    texts_path = text_dir() / name
    if not texts_path.exists():
        raise InputError(f"the corpus text for {name} is not here ({texts_path}); set MOTIVECHECK_CORPUS_TEXT "
                         "to the folder that has it (see corpus/README.md)")
    texts = {}
    for line in texts_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            texts[d["id"]] = d["text"]
    rows = []
    for n, line in enumerate((labels_dir / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        text = texts.get(row["id"])
        if text is None or hashlib.sha256(text.encode()).hexdigest() != row["sha256"]:
            raise InputError(f"{labels_dir / name}:{n}: the text for {row['id']} is missing or differs from "
                             "the one labelled")
        row["text"] = text
        rows.append(row)
    return rows
