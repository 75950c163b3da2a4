"""Import a standard Slack workspace export (zip or folder) as a baseline of checked drafts."""

from __future__ import annotations

import json
import sys
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from .aio import run_sync
from .checker import Checker
from .errors import InputError
from .intake import DRAFT_SUBTYPES, DUPLICATE, Draft, Intake, Outcome
from .slack import mrkdwn

SOURCE = "import"


@dataclass
class ImportSummary:
    files: int = 0
    read: int = 0
    checked: int = 0
    already: int = 0
    labels: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"files": self.files, "messages_read": self.read, "checked": self.checked,
                "already_imported": self.already, "labels": dict(self.labels), "skipped": dict(self.skipped),
                "problems": self.problems, "seconds": round(self.seconds, 3)}


class _Source:
    """Uniform access to an unpacked export folder or a .zip."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise InputError(f"no such export: {path}")
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path) if path.is_file() else None
        except zipfile.BadZipFile:
            raise InputError(f"{path} is not a zip file or a folder: give a Slack export (its .zip, or the folder "
                             "it unzips to)") from None
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from None
        names = self.zip.namelist() if self.zip else [str(p.relative_to(path)) for p in path.rglob("*.json")]
        # Exports are sometimes zipped with a top folder: find where channels.json lives.
        roots = [str(PurePosixPath(n).parent) for n in names if PurePosixPath(n).name == "channels.json"]
        if not roots:
            raise InputError(f"{path} does not look like a Slack export (no channels.json)")
        self.root = "" if roots[0] == "." else roots[0] + "/"
        self.names = [n for n in names if n.startswith(self.root)]

    def read(self, name: str) -> Any:
        data = self.zip.read(self.root + name) if self.zip else (self.path / self.root / name).read_bytes()
        return json.loads(data.decode("utf-8"))

    def day_files(self, folder: str) -> list[str]:
        prefix = f"{self.root}{folder}/"
        return sorted(n[len(self.root):] for n in self.names if n.startswith(prefix) and n.endswith(".json"))


def _progress(done: int, total: int, summary: ImportSummary) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\rimporting: {done}/{total} files, {summary.read} messages read, "
                         f"{summary.checked} checked")
        sys.stderr.flush()


def import_export(checker: Checker, path: str | Path, *, channels: list[str] | None = None,
                  since: date | None = None, until: date | None = None, workspace: str = "",
                  engine: str | None = None) -> ImportSummary:
    """Check every top-level human message; idempotent (a message already imported is skipped)."""
    if checker.store is None:
        raise InputError("import needs a database")
    started = time.perf_counter()
    src = _Source(Path(path))
    summary = ImportSummary()
    intake = Intake(checker, checker.store)  # the road every draft takes: opt-outs, [no-coach], channel playbook
    try:
        channel_list = src.read("channels.json")
    except (ValueError, KeyError, OSError) as exc:
        raise InputError(f"{path}: channels.json is unreadable: {exc}") from None
    kinds = [(c, "public") for c in channel_list if isinstance(c, dict)]
    for extra, kind in (("groups.json", "private"),):
        if any(n == src.root + extra for n in src.names):
            try:
                kinds += [(c, kind) for c in src.read(extra) if isinstance(c, dict)]
            except (ValueError, KeyError, OSError) as exc:
                summary.problems.append(f"{extra}: unreadable ({exc}); skipped")
    wanted = {c.lstrip("#") for c in channels} if channels else None
    unknown = sorted((wanted or set()) - {str(c.get(k)) for c, _ in kinds for k in ("name", "id") if c.get(k)})
    if unknown:  # a typo would otherwise import nothing and look like success
        names = sorted(str(c.get("name") or c.get("id")) for c, _ in kinds)
        known = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "") or "none"
        raise InputError(f"{path}: no channel {', '.join(unknown)} in this export (its channels: {known})")
    plan = [(c, kind) for c, kind in kinds if not wanted or c.get("name") in wanted or c.get("id") in wanted]
    files = [(c, kind, f) for c, kind in plan for f in src.day_files(c.get("name") or c.get("id", ""))]
    for n, (chan, kind, fname) in enumerate(files, 1):
        try:
            day = date.fromisoformat(PurePosixPath(fname).stem)
        except ValueError:
            summary.skipped["not a day file"] += 1
            continue
        if (since and day < since) or (until and day > until):
            continue
        summary.files += 1
        try:
            messages = src.read(fname)
            if not isinstance(messages, list):
                raise ValueError("expected a list of messages")
        except (ValueError, UnicodeDecodeError, KeyError, OSError) as exc:
            summary.problems.append(f"{fname}: {exc}; skipped")
            continue
        run_sync(_import_day(intake, messages, chan, kind, fname, workspace, engine, summary))
        _progress(n, len(files), summary)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    summary.seconds = time.perf_counter() - started
    return summary


async def _import_day(intake: Intake, messages: list, chan: dict, kind: str, fname: str, workspace: str,
                      engine: str | None, summary: ImportSummary) -> None:
    channel_id = chan.get("id") or chan.get("name", "")
    candidates = []
    for i, msg in enumerate(messages):
        summary.read += 1
        if not isinstance(msg, dict) or not isinstance(msg.get("ts"), str):
            summary.problems.append(f"{fname}[{i}]: not a message; skipped")
            continue
        if (msg.get("subtype") or None) not in DRAFT_SUBTYPES:  # a file_share with text is a draft, as in Slack
            summary.skipped[f"subtype {msg['subtype']}"] += 1
        elif msg.get("bot_id"):
            summary.skipped["bot message"] += 1
        elif msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            summary.skipped["thread reply"] += 1
        elif not (msg.get("text") or "").strip():
            summary.skipped["empty"] += 1
        else:
            candidates.append(msg)
    store = intake.store
    keys = [f"{channel_id}:{m['ts']}" for m in candidates]
    done = store.existing_external_ids(SOURCE, keys)
    rows = []
    for msg, key in zip(candidates, keys, strict=True):
        if key in done:
            summary.already += 1
            continue
        try:
            ts = float(msg["ts"])
        except ValueError:
            summary.problems.append(f"{fname}: bad ts {msg['ts']!r}; skipped")
            continue
        # An export holds text as Slack sends it (&amp;, &lt;, &gt;): stored as written, like a live message.
        draft = Draft(text=mrkdwn.unescape(msg["text"]), source=SOURCE, workspace=workspace, channel=channel_id,
                      channel_type=kind, user=msg.get("user", ""), message_ts=msg["ts"], external_id=key, ts=ts)
        screened = await intake.screen(draft)
        outcome = screened if isinstance(screened, Outcome) else await intake.assess(screened, engine=engine)
        if outcome.refused:  # [no-coach] or an opted-out author: neither checked nor stored
            summary.skipped[_SKIPPED.get(outcome.refused, outcome.refused)] += 1
            continue
        if outcome.verdict is None:
            summary.problems.append(f"{fname}: {msg['ts']}: {outcome.error}; skipped")
            continue
        fields = draft.record_fields()
        fields.pop("source")
        fields.pop("reply_mode")
        rows.append(store.check_row(outcome.verdict, draft.text, source=SOURCE, usage=outcome.usage, **fields))
        summary.labels[outcome.verdict.label] += 1
    summary.checked += store.insert_checks(rows)


_SKIPPED = {"no-coach": "marked [no-coach]", "opted-out": "author opted out", DUPLICATE: "duplicate"}
