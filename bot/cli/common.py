"""Helpers shared by CLI commands: settings, store, input reading."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..checker import Checker
from ..config import ENGINE_NAMES, Settings, load_settings
from ..errors import InputError
from ..store import open_store

MAX_INPUT_BYTES = 5_000_000
DB_HELP = "SQLite file or postgresql:// URL (default: DATABASE_URL, else MOTIVECHECK_DB or ./motivecheck.db)"


def settings_from(args: argparse.Namespace) -> Settings:
    """Load settings, letting --db / --engine / --playbook flags override the environment."""
    db = getattr(args, "db", None)
    overrides = {
        "db_path": db,
        "database_url": "" if db else None,  # --db names the database (a file or a URL) over DATABASE_URL
        "playbook": getattr(args, "playbook", None),
    }
    return load_settings(**overrides)


def make_checker(args: argparse.Namespace, *, with_store: bool) -> Checker:
    settings = settings_from(args)
    return Checker(settings, open_store(settings) if with_store else None)


def add_common(parser: argparse.ArgumentParser, *, engine: bool = True) -> None:
    if engine:
        parser.add_argument("--engine", choices=ENGINE_NAMES, default=None,
                            help="engine to use (default: MOTIVECHECK_ENGINE or auto)")
        parser.add_argument("--playbook", default=None, help="playbook name or path (default: outside-in)")
    parser.add_argument("--db", default=None, help=DB_HELP)


def decode(data: bytes, where: str) -> tuple[str, list[str]]:
    """Decode bytes as UTF-8; replace invalid bytes and say so instead of failing."""
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        return text, [f"{where} is not valid UTF-8: {bad} undecodable byte(s) were replaced with \ufffd."]


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
