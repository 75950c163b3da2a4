"""The real-text corpus: labels and provenance in ``corpus/*.jsonl`` (committed), text kept apart.

The verbatim passages and Slack messages were copied out of public repositories and stored pages; they are
kept out of this repository's commits. ``corpus/*.jsonl`` holds each row's id, source, label, split and the
sha256 of its text; the text itself lives in a folder of the same file names with ``{"id", "text"}`` lines:
``MOTIVECHECK_CORPUS_TEXT`` if set, else ``../shared/corpus-text`` beside the checkout (rebuilt there from each
row's public source), else ``corpus/text``. ``load`` joins the two and checks every hash, so a label never
meets the wrong text; a row whose text could not be rebuilt is skipped and counted, never guessed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import InputError
from .verdict import LABELS

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus"
FILES = ("passages.jsonl", "slack.jsonl")
SECOND_PASS = "second_pass.jsonl"  # a second, independent labelling of the test split (corpus/README.md)


class Rows(list):
    """Corpus rows with their text, and how many labelled rows had no text here, per split (``missing_by_split``)
    and in all (``missing``)."""

    def __init__(self, *rows: object) -> None:
        super().__init__(*rows)
        self.missing_by_split: dict[str, int] = {}

    @property
    def missing(self) -> int:
        return sum(self.missing_by_split.values())


def candidates() -> list[Path]:
    """Where the corpus text is looked for, in order."""
    env = os.environ.get("MOTIVECHECK_CORPUS_TEXT")
    if env:
        return [Path(env)]
    return [ROOT.parent / "shared" / "corpus-text", CORPUS_DIR / "text"]


def text_dir(*, create: bool = False) -> Path:
    """Where the corpus text is: the first candidate that has it (or, with ``create``, the local one)."""
    found = candidates()
    for path in found:
        if (path / FILES[0]).exists():
            return path
    if create:
        found[-1].mkdir(parents=True, exist_ok=True)
    return found[-1]


def has_text() -> bool:
    return all((text_dir() / name).exists() for name in FILES)


def load(name: str, *, labels_dir: Path = CORPUS_DIR, keep_missing: bool = False) -> Rows:
    """Rows of ``corpus/<name>`` with their ``text`` joined in.

    A row with no text in the folder is skipped (kept with ``text`` None when ``keep_missing``) and counted in
    ``Rows.missing``; a text whose hash differs from
    the one labelled is refused (``InputError`` with the file and line), since it is not the text the label is for.
    A row the second labelling pass covers gets its label as ``second_label``.
    """
    texts_path = text_dir() / name
    if not texts_path.exists():
        raise InputError(f"the corpus text for {name} is not here (looked in "
                         f"{', '.join(str(p) for p in candidates())}); set MOTIVECHECK_CORPUS_TEXT to the folder "
                         "that has it (see corpus/README.md)")
    texts = {}
    for line in texts_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            texts[d["id"]] = d["text"]
    second = second_pass(labels_dir)
    rows = Rows()
    for n, line in enumerate((labels_dir / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        text = texts.get(row["id"])
        if text is None:
            split = str(row.get("split"))
            rows.missing_by_split[split] = rows.missing_by_split.get(split, 0) + 1
            if keep_missing:
                rows.append({**row, "text": None})
            continue
        if hashlib.sha256(text.encode()).hexdigest() != row["sha256"]:
            raise InputError(f"{labels_dir / name}:{n}: the text for {row['id']} differs from the one labelled")
        row["text"] = text
        if row["id"] in second:
            row["second_label"] = second[row["id"]]
        rows.append(row)
    return rows


def second_pass(labels_dir: Path = CORPUS_DIR) -> dict[str, str]:
    """Row id -> the second labelling pass's label, from ``labels_dir/second_pass.jsonl`` (empty if absent)."""
    path = labels_dir / SECOND_PASS
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or row.get("label") not in LABELS:
            raise InputError(f"{path}:{n}: expected an object with an id and a label ({', '.join(LABELS)})")
        out[row["id"]] = row["label"]
    return out


def skipped_note(name: str, rows: Rows, split: str | None = None) -> str | None:
    """One line saying how many rows of ``name`` (of one ``split``, if given) were skipped for want of text,
    or None."""
    with_text = [r for r in rows if r.get("text") is not None]  # ``keep_missing`` rows are among the missing
    if split is None:
        missing, total, which = rows.missing, rows.missing + len(with_text), ""
    else:
        missing = rows.missing_by_split.get(split, 0)
        total, which = missing + sum(r.get("split") == split for r in with_text), f" (split {split})"
    if not missing:
        return None
    return f"{missing} of {total} rows of {name}{which} have no text in {text_dir()} and were skipped"
