"""What is kept and for how long: retention, purge, erasure and export."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from .config import Settings
from .errors import InputError
from .store import Store

_AGE = re.compile(r"^(\d+)\s*([dwmy])$")
_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def parse_cutoff(value: str, now: float | None = None) -> float:
    """'90d', '12w', '6m', '1y' or a date (2026-01-01) → epoch seconds; older than that is affected."""
    now = time.time() if now is None else now
    value = value.strip().lower()
    m = _AGE.match(value)
    if m:
        return now - int(m.group(1)) * _DAYS[m.group(2)] * 86400
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"not an age or date: {value!r} (use 90d, 12w, 6m, 1y or 2026-01-01)") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def purge_texts(store: Store, older_than: float) -> int:
    """Remove draft texts (and everything quoting them) of checks older than ``older_than``."""
    return store.purge_texts(older_than)


def apply_retention(store: Store, settings: Settings, now: float | None = None) -> int:
    """Purge per MOTIVECHECK_RETENTION_DAYS (0 keeps everything)."""
    if settings.retention_days <= 0:
        return 0
    now = time.time() if now is None else now
    return purge_texts(store, now - settings.retention_days * 86400)


# The claim row (workspace, channel, week) in the digests table that serves retention as its lease, the way each
# digest's row does for posting it: one instance purges at a time, not every instance every minute.
RETENTION_CLAIM = ("", "", "retention")


def run_retention(store: Store, settings: Settings, owner: str, every: float, now: float | None = None) -> int | None:
    """The app's retention every ``every`` seconds: purge as apply_retention does unless another instance (a
    different ``owner``) did within half of that or is at it now (None then). A long first purge keeps its claim.

    With MOTIVECHECK_STORE_TEXT=off a draft's text is written only while its check is in flight and erased when it
    is answered; SQLite keeps the erased text in its write-ahead log until a checkpoint, so each run takes one."""
    if not settings.store_text:
        store.checkpoint()
    if settings.retention_days <= 0:
        return 0
    if not store.claim_digest(*RETENTION_CLAIM, owner, stale_after=every / 2):
        return None
    now = time.time() if now is None else now
    return store.purge_texts(now - settings.retention_days * 86400,
                             keep_going=lambda: store.renew_digest_claim(*RETENTION_CLAIM, owner))


def forget_user(store: Store, user: str) -> dict[str, int]:
    """Right to erasure: drop a person's words everywhere; counts stay, unattributed; their opt-out stays."""
    if not user.strip():
        raise InputError("give a user ID, e.g. --user U123ABC")
    return store.forget_user(user)


def forget_workspace(store: Store, workspace: str) -> dict[str, int]:
    """Erase all a workspace left behind (checks, decisions, labels, heads, cache, settings, digests, installs)."""
    if not workspace.strip():
        raise InputError("give a workspace ID, e.g. --workspace T0123ABC")
    return store.forget_workspace(workspace.strip())


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...) sends data away).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a leading single quote (OWASP's
    advice for CSV injection). Numbers and other values pass unchanged."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


EXPORT_FIELDS = ("id", "time", "source", "workspace", "channel", "user", "label", "motives", "score", "engine",
                 "decision")


def export_rows(store: Store, since: float | None = None, with_text: bool = False,
                workspace: str | None = None) -> Iterator[dict[str, Any]]:
    """One row per check (of one workspace, if given) with its latest decision; draft text only when asked."""
    for row in store.export_checks(since or 0, workspace):
        out = {
            "id": row["id"],
            "time": datetime.fromtimestamp(row["ts"], tz=UTC).isoformat(),
            "source": row["source"], "workspace": row["workspace"], "channel": row["channel"], "user": row["user"],
            "label": row["label"], "motives": ",".join(json.loads(row["motives"] or "[]")),
            "score": row["customer_ease"], "engine": row["engine"], "decision": row["decision"] or "",
        }
        if with_text:
            out["text"] = row["draft_text"] or ""
        yield out
