"""Helpers shared by CLI commands: settings, store, input reading."""

from __future__ import annotations

import argparse
import codecs
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ..checker import Checker
from ..config import ENGINE_NAMES, Settings, load_settings, parse_database
from ..errors import InputError
from ..files import open_private
from ..store import Store, open_store

MAX_INPUT_BYTES = 5_000_000
DB_HELP = "SQLite file or postgresql:// URL (default: DATABASE_URL, else MOTIVECHECK_DB or ./motivecheck.db)"


def settings_from(args: argparse.Namespace) -> Settings:
    """Load settings, letting --db / --engine / --playbook flags override the environment."""
    db = getattr(args, "db", None)
    if db is not None:
        parse_database("--db", db)
    overrides = {
        "db_path": db,
        "database_url": "" if db else None,  # --db names the database (a file or a URL) over DATABASE_URL
        "playbook": getattr(args, "playbook", None),
    }
    return load_settings(**overrides)


def store_from(args: argparse.Namespace, settings: Settings | None = None) -> Store:
    """The database the settings (or --db) name; its errors say --db when the flag named it."""
    return open_store(settings or settings_from(args), "--db" if getattr(args, "db", None) else None)


def make_checker(args: argparse.Namespace, *, with_store: bool) -> Checker:
    settings = settings_from(args)
    return Checker(settings, store_from(args, settings) if with_store else None)


def add_common(parser: argparse.ArgumentParser, *, engine: bool = True) -> None:
    if engine:
        parser.add_argument("--engine", choices=ENGINE_NAMES, default=None,
                            help="engine to use (default: MOTIVECHECK_ENGINE or auto)")
        parser.add_argument("--playbook", default=None, help="playbook name or path (default: MOTIVECHECK_PLAYBOOK or outside-in)")
    parser.add_argument("--db", default=None, help=DB_HELP)


# Byte-order marks, longest first: the UTF-32 little-endian mark begins with the UTF-16 one.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
         (codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))
# Characters that are not text: replacement characters and control characters other than tab and line breaks.
_NOT_TEXT = re.compile("[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NOT_TEXT_SHARE = 0.3  # of the non-blank characters; a Latin-1 or cp1252 draft has a few percent, random bytes most


def decode(data: bytes, where: str) -> tuple[str, list[str]]:
    """Decode bytes as UTF-8, or as UTF-16/UTF-32 when a byte-order mark says so; replace invalid bytes and
    say so instead of failing. Raise InputError when the result does not look like text at all."""
    codec, name = "utf-8", "UTF-8"
    for bom, bom_codec, bom_name in _BOMS:
        if data.startswith(bom):
            data, codec, name = data[len(bom):], bom_codec, bom_name
            break
    try:
        text, notes = data.decode(codec), []
    except UnicodeDecodeError:
        text = data.decode(codec, errors="replace")
        bad = text.count("\ufffd")
        notes = [f"{where} is not valid {name}: {bad} undecodable byte(s) were replaced with \ufffd."]
    if not looks_like_text(text):
        raise InputError(f"{where} does not look like text: most of it is undecodable or control bytes. "
                         "Give the draft as plain text, saved as UTF-8.")
    return text, notes


def looks_like_text(text: str) -> bool:
    """Pure: whether at most NOT_TEXT_SHARE of the non-blank characters are replacement or control characters."""
    bad = len(_NOT_TEXT.findall(text))
    return not bad or bad <= NOT_TEXT_SHARE * (len(text) - sum(map(str.isspace, text)))


def text_arg(value: str) -> tuple[str, list[str]]:
    """The draft given with --text: the shell passes bytes that are not UTF-8 as lone surrogates; decode them
    as a file's bytes are, so they get the same note."""
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # surrogates that did not come from undecodable bytes
        data = value.encode("utf-8", "replace")
    return decode(data, "--text")


def read_input(path: str | None) -> tuple[str, list[str]]:
    """Read a draft from FILE or '-' (stdin); return text and notes about its encoding."""
    if path is None or path == "-":
        if path is None and sys.stdin.isatty():
            raise InputError("give a FILE to check, '-' to read standard input, or pipe a draft in")
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        where = "standard input"
    else:
        p = Path(path)
        if not p.exists():
            raise InputError(f"no such file: {path}")
        if p.is_dir():
            raise InputError(f"{path} is a directory, not a draft file")
        try:
            with p.open("rb") as fh:
                data = fh.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from None
        where = path
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{where} is larger than {MAX_INPUT_BYTES // 1_000_000} MB; a draft should be much shorter")
    return decode(data, where)


def open_output(path: str, flag: str) -> TextIO:
    """Open FILE for writing ('-' is standard output); a file that cannot be written is one line, not a traceback.

    A new file is owner-only (0600), as the database is: an export may hold people's drafts (``--with-text``)."""
    if path == "-":
        return sys.stdout
    try:
        return open_private(path)
    except OSError as exc:
        raise InputError(f"{flag}: cannot write {path}: {exc.strerror}") from None


class BadLines:
    """Counts a file's bad lines and reports the first few on stderr: a wrong file (a README given as JSON lines)
    would otherwise print a thousand of them before the one line that says what happened."""

    SHOWN = 20

    def __init__(self, path: str) -> None:
        self.path, self.count = path, 0

    def skip(self, lineno: int, why: str) -> None:
        self.count += 1
        if self.count <= self.SHOWN:
            print(f"{self.path}:{lineno}: {why}; skipped", file=sys.stderr)

    def close(self) -> None:
        if self.count > self.SHOWN:
            print(f"{self.path}: … and {self.count - self.SHOWN} more bad line(s) not shown", file=sys.stderr)


def at_least_one(raw: str) -> int:
    """An argparse type: a whole number of 1 or more (a count of runs or rows)."""
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def parse_iso_ts(value: str) -> float:
    """Parse an ISO-8601 time (naive means UTC) or epoch seconds into epoch seconds."""
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"not an ISO-8601 time: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
