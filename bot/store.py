"""All SQL behind one class over ``sqlite_utils.Database``.

Each thread gets its own connection (sqlite3 connections are not shared across threads);
WAL mode plus a generous busy timeout lets many threads and processes write without
"database is locked".
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .errors import ConfigError, InputError
from .migrations import migrations
from .text import draft_hash
from .verdict import Usage, Verdict

BUSY_TIMEOUT_MS = 30_000
DECISION_ACTIONS = ("accepted", "kept-original", "disputed", "edited", "why", "shared")
CHOICES = ("accepted", "kept-original", "disputed")  # one per check and person; the latest wins


def _create_private(path: Path) -> None:
    """Create the database file owner-only before SQLite opens it (WAL files inherit the mode)."""
    if str(path) == ":memory:" or path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


class Store:
    """The Motive Coach database: checks, decisions, Slack state, cache and digests."""

    def __init__(self, path: str | Path, store_text: bool = True) -> None:
        self.path = Path(path)
        self.store_text = store_text
        self._local = threading.local()
        # Threads of this process queue here (instant hand-over) instead of in SQLite's busy handler,
        # which sleeps in growing steps; other processes still wait on the busy timeout.
        self._write_lock = threading.Lock()
        try:
            _create_private(self.path)
            db = self.db
            migrations.apply(db)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise ConfigError(f"MOTIVECHECK_DB: cannot open database {self.path}: {exc}") from None

    # -- connections -------------------------------------------------------------------------
    @property
    def db(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # Erased words must not linger in free pages of the file (forget, purge, retention).
            conn.execute("PRAGMA secure_delete = ON")
            db = Database(conn)
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    @contextmanager
    def write(self) -> Iterator[Database]:
        """A short IMMEDIATE transaction: takes the write lock up front, so it waits, never fails midway."""
        db = self.db
        with self._write_lock:
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.conn.execute("ROLLBACK")
                raise
            else:
                db.conn.execute("COMMIT")

    # -- checks ------------------------------------------------------------------------------
    def record_check(
        self,
        verdict: Verdict | None,
        draft: str,
        *,
        source: str,
        workspace: str = "",
        channel: str = "",
        channel_type: str = "",
        user: str = "",
        message_ts: str | None = None,
        external_id: str | None = None,
        ts: float | None = None,
        latency_ms: float = 0.0,
        usage: Usage | None = None,
        status: str = "done",
        reply_mode: str | None = None,
    ) -> int:
        """Insert one check (``verdict`` None records pending work) and return its id."""
        row = self._row(draft, source=source, status=status, ts=ts, workspace=workspace, channel=channel,
                        channel_type=channel_type, user=user, message_ts=message_ts, external_id=external_id,
                        latency_ms=latency_ms, reply_mode=reply_mode)
        row.update(self._verdict_columns(verdict, usage))
        with self.write() as db:
            return int(db["checks"].insert(row).last_pk)

    def _row(self, draft: str, *, source: str, status: str, ts: float | None = None, **context: Any) -> dict[str, Any]:
        """The columns every way of recording a check shares; the draft's text only if retention allows.

        A pending check always holds its text, so recovery after a crash can finish it; with
        MOTIVECHECK_STORE_TEXT=off the text is erased the moment the check completes or fails.
        """
        keep = self.store_text or status == "pending"
        row: dict[str, Any] = {"ts": time.time() if ts is None else ts, "source": source, "status": status,
                               "draft_hash": draft_hash(draft), "draft_text": draft if keep else None}
        row.update({k: v for k, v in context.items() if v is not None})
        return row

    def record_pending(self, items: list[dict[str, Any]]) -> list[int]:
        """Insert pending checks in one transaction; each item holds ``draft`` and record_check's fields.

        Plain parameterised INSERTs rather than sqlite-utils' per-row machinery: this runs on the ack
        path, where its Python time competes with the event loop for the GIL.
        """
        now = time.time()
        ids: list[int] = []
        with self.write() as db:
            for item in items:
                fields = dict(item)
                row = self._row(fields.pop("draft"), source=fields.pop("source"),
                                status=fields.pop("status", "pending"), ts=fields.pop("ts", None) or now, **fields)
                columns = ", ".join(f"[{c}]" for c in row)
                marks = ", ".join("?" * len(row))
                cursor = db.conn.execute(f"insert into checks ({columns}) values ({marks})", list(row.values()))
                ids.append(int(cursor.lastrowid))
        return ids

    def check_row(self, verdict: Verdict, draft: str, *, source: str, usage: Usage | None = None,
                  **context: Any) -> dict[str, Any]:
        """The row ``record_check`` would insert, for callers that insert many at once."""
        row = self._row(draft, source=source, status="done", **context)
        row.update(self._verdict_columns(verdict, usage))
        return row

    def insert_checks(self, rows: list[dict[str, Any]]) -> int:
        """Insert many check rows in one transaction (imports)."""
        if not rows:
            return 0
        with self.write() as db:
            db["checks"].insert_all(rows, batch_size=500)
        return len(rows)

    def existing_external_ids(self, source: str, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r["external_id"] for r in self.db.query(
                f"select external_id from checks where source = ? and external_id in ({marks})", [source, *chunk]))
        return found

    @staticmethod
    def _verdict_columns(verdict: Verdict | None, usage: Usage | None) -> dict[str, Any]:
        if verdict is None:
            return {}
        usage = usage or Usage()
        return {
            "label": verdict.label,
            "customer_ease": verdict.customer_ease,
            "motives": json.dumps(list(verdict.motives)),
            "engine": verdict.engine,
            "model": verdict.model,
            "fallback": verdict.fallback,
            "cached": int(verdict.cached),
            "playbook": verdict.playbook.name,
            "playbook_version": verdict.playbook.version,
            "verdict_json": verdict.model_dump_json(),
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cached_tokens": usage.cached_tokens,
        }

    def complete_check(self, check_id: int, verdict: Verdict, *, latency_ms: float = 0.0,
                       usage: Usage | None = None, draft: str | None = None) -> None:
        """Fill in the verdict of a pending check (or replace it after an edit)."""
        cols = self._verdict_columns(verdict, usage)
        cols.update({"status": "done", "latency_ms": latency_ms})
        if draft is not None:
            cols["draft_hash"] = draft_hash(draft)
            cols["draft_text"] = draft if self.store_text else None
        elif not self.store_text:
            cols["draft_text"] = None  # held only while the check was pending
        self.update_check(check_id, **cols)

    def fail_check(self, check_id: int) -> None:
        """Mark a check failed (its text goes too when texts are not stored)."""
        cols: dict[str, Any] = {"status": "failed"}
        if not self.store_text:
            cols["draft_text"] = None
        self.update_check(check_id, **cols)

    def update_check(self, check_id: int, **fields: Any) -> None:
        with self.write() as db:
            db["checks"].update(check_id, fields)

    def get_check(self, check_id: int) -> dict[str, Any] | None:
        rows = list(self.db.query("select * from checks where id = ?", [check_id]))
        return rows[0] if rows else None

    def find_check_by_message(self, workspace: str, channel: str, message_ts: str) -> dict[str, Any] | None:
        rows = list(self.db.query(
            "select * from checks where workspace = ? and channel = ? and message_ts = ? "
            "order by id desc limit 1", [workspace, channel, message_ts]))
        return rows[0] if rows else None

    def pending_checks(self) -> list[dict[str, Any]]:
        return list(self.db.query("select * from checks where status = 'pending' order by id"))

    def recent_checks(self, limit: int = 20, *, workspace: str | None = None,
                      user: str | None = None) -> list[dict[str, Any]]:
        where, args = ["1 = 1"], []
        if workspace is not None:
            where.append("workspace = ?")
            args.append(workspace)
        if user is not None:
            where.append("user = ?")
            args.append(user)
        sql = f"select * from checks where {' and '.join(where)} order by ts desc, id desc limit ?"
        return list(self.db.query(sql, [*args, limit]))

    def count(self, table: str) -> int:
        return self.db[table].count

    # -- decisions ---------------------------------------------------------------------------
    def record_decision(self, check_id: int, action: str, *, user: str = "", reason: str | None = None,
                        ts: float | None = None) -> int:
        if action not in DECISION_ACTIONS:
            raise ValueError(f"unknown decision action {action!r}")
        check = self.get_check(check_id)
        if check is None:
            raise KeyError(f"no check with id {check_id}")
        now = time.time() if ts is None else ts
        with self.write() as db:
            # One decision per check and person: Use / Keep / Disagree replace each other (the latest wins, a
            # double click changes nothing); Why? and Share are noted once.
            same = CHOICES if action in CHOICES else (action,)
            marks = ",".join("?" * len(same))
            row = db.execute(f"select id from decisions where check_id = ? and user = ? and action in ({marks}) "
                             "order by id desc limit 1", [check_id, user, *same]).fetchone()
            if row is not None:
                db.execute("update decisions set action = ?, ts = ?, reason = ? where id = ?",
                           [action, now, reason, row[0]])
                db.execute(f"delete from decisions where check_id = ? and user = ? and action in ({marks}) "
                           "and id != ?", [check_id, user, *same, row[0]])
                return int(row[0])
            return int(db["decisions"].insert({
                "check_id": check_id,
                "ts": now,
                "workspace": check["workspace"],
                "channel": check["channel"],
                "user": user,
                "action": action,
                "reason": reason,
            }).last_pk)

    def decisions_for(self, check_id: int) -> list[dict[str, Any]]:
        return list(self.db.query("select * from decisions where check_id = ? order by id", [check_id]))

    # -- Slack state -------------------------------------------------------------------------
    def claim_event(self, key: str, check_id: int | None = None) -> bool:
        """Record that we act on ``key``; False if it was already claimed (a retry or duplicate)."""
        with self.write() as db:
            cur = db.conn.execute(
                "insert or ignore into seen_events (key, ts, check_id) values (?, ?, ?)",
                [key, time.time(), check_id])
            return cur.rowcount == 1

    def release_event(self, key: str) -> None:
        """Forget a claim whose work failed, so a later attempt may act on ``key`` again."""
        with self.write() as db:
            db.conn.execute("delete from seen_events where key = ?", [key])

    def watch(self, workspace: str, channel: str, *, added_by: str = "", reply_mode: str = "thread",
              playbook: str | None = None) -> None:
        with self.write() as db:
            existing = list(db.query("select * from watched_channels where workspace=? and channel=?",
                                     [workspace, channel]))
            if existing:
                return
            db["watched_channels"].insert({"workspace": workspace, "channel": channel, "reply_mode": reply_mode,
                                           "playbook": playbook, "added_by": added_by, "added_at": time.time()})

    def unwatch(self, workspace: str, channel: str) -> bool:
        with self.write() as db:
            cur = db.conn.execute("delete from watched_channels where workspace=? and channel=?",
                                  [workspace, channel])
            return cur.rowcount > 0

    def watched_channels(self, workspace: str | None = None) -> list[dict[str, Any]]:
        if workspace is None:
            return list(self.db.query("select * from watched_channels order by added_at"))
        return list(self.db.query("select * from watched_channels where workspace=? order by added_at",
                                  [workspace]))

    def channel_settings(self, workspace: str, channel: str) -> dict[str, Any] | None:
        rows = list(self.db.query("select * from watched_channels where workspace=? and channel=?",
                                  [workspace, channel]))
        return rows[0] if rows else None

    def set_channel_option(self, workspace: str, channel: str, **options: Any) -> None:
        """Set reply_mode or playbook for a channel (watching it if needed)."""
        self.watch(workspace, channel)
        with self.write() as db:
            db["watched_channels"].update((workspace, channel), options)

    def set_optout(self, workspace: str, user: str, opted_out: bool) -> None:
        with self.write() as db:
            if opted_out:
                db.conn.execute("insert or ignore into optouts (workspace, user, ts) values (?, ?, ?)",
                                [workspace, user, time.time()])
            else:
                db.conn.execute("delete from optouts where workspace=? and user=?", [workspace, user])

    def optouts(self) -> set[tuple[str, str]]:
        """Every (workspace, user) that has opted out: small, so the Slack app keeps it in memory."""
        return {(r["workspace"], r["user"]) for r in self.db.query("select workspace, user from optouts")}

    def get_setting(self, workspace: str, key: str, default: str | None = None) -> str | None:
        rows = list(self.db.query("select value from workspace_settings where workspace=? and key=?",
                                  [workspace, key]))
        return rows[0]["value"] if rows else default

    def set_setting(self, workspace: str, key: str, value: str) -> None:
        with self.write() as db:
            db["workspace_settings"].upsert({"workspace": workspace, "key": key, "value": value},
                                            pk=("workspace", "key"))

    # -- verdict cache -----------------------------------------------------------------------
    def cache_get(self, key: str) -> str | None:
        rows = list(self.db.query("select verdict_json from verdict_cache where key = ?", [key]))
        return rows[0]["verdict_json"] if rows else None

    def cache_put(self, key: str, verdict_json: str, draft_hash: str | None = None) -> None:
        """Cache a verdict; ``draft_hash`` ties it to the drafts it quotes, so ``forget_user`` can find it."""
        with self.write() as db:
            db.conn.execute("insert or replace into verdict_cache (key, verdict_json, ts, draft_hash) "
                            "values (?, ?, ?, ?)", [key, verdict_json, time.time(), draft_hash])

    # -- figures -----------------------------------------------------------------------------
    def ping(self) -> None:
        """Raise if the database cannot be read (health checks)."""
        self.db.execute("select count(*) from checks").fetchone()

    def workspaces(self) -> list[str]:
        return [r["workspace"] for r in self.db.query("select distinct workspace from checks")]

    def user_label_counts(self, workspace: str, user: str) -> dict[str, int]:
        return {r["label"]: r["n"] for r in self.db.query(
            "select label, count(*) as n from checks where workspace = ? and user = ? and status = 'done' "
            "group by label", [workspace, user])}

    def user_decision_counts(self, workspace: str, user: str) -> dict[str, int]:
        return {r["action"]: r["n"] for r in self.db.query(
            "select action, count(*) as n from decisions where workspace = ? and user = ? group by action",
            [workspace, user])}

    def usage_by_engine(self) -> list[dict[str, Any]]:
        """Checks, cache hits, fallbacks, tokens and latency per (engine, model)."""
        return list(self.db.query(
            "select engine, coalesce(model, '') as model, count(*) as checks, sum(cached) as cached, "
            "sum(case when fallback is not null then 1 else 0 end) as fallbacks, "
            "sum(prompt_tokens) as prompt_tokens, sum(completion_tokens) as completion_tokens, "
            "sum(cached_tokens) as cached_tokens, avg(latency_ms) as avg_latency_ms "
            "from checks where status = 'done' group by engine, model order by checks desc"))

    def week_checks(self, workspace: str, start: float, end: float) -> list[dict[str, Any]]:
        """Labelled checks of a period: label, channel, user, channel type and motives."""
        return list(self.db.query(
            "select label, channel, user, channel_type, motives from checks "
            "where workspace = ? and ts >= ? and ts < ? and label is not null", [workspace, start, end]))

    def label_counts_by_channel(self, workspace: str, start: float, end: float,
                                labels: tuple[str, ...]) -> list[dict[str, Any]]:
        """(channel, label, n) for checks of a period with one of ``labels`` (counted in SQLite)."""
        marks = ",".join("?" * len(labels))
        return list(self.db.query(
            "select channel, label, count(*) as n from checks indexed by idx_checks_ws_ts_cover "
            f"where workspace = ? and ts >= ? and ts < ? and label in ({marks}) group by channel, label",
            [workspace, start, end, *labels]))

    def poster_counts(self, workspace: str, start: float, end: float,
                      labels: tuple[str, ...]) -> list[dict[str, Any]]:
        """(channel, channel_type, user, label, n) for checks of a period: who posted where (for the 3-poster rule)."""
        marks = ",".join("?" * len(labels))
        return list(self.db.query(
            "select channel, channel_type, user, label, count(*) as n from checks indexed by idx_checks_ws_ts_cover "
            f"where workspace = ? and ts >= ? and ts < ? and label in ({marks}) "
            "group by channel, channel_type, user, label", [workspace, start, end, *labels]))

    def week_decisions(self, workspace: str, start: float, end: float) -> list[dict[str, Any]]:
        """Decisions on the checks of a period (one per check and person), with each check's channel and type."""
        return list(self.db.query(
            "select d.check_id, d.user, d.action, d.reason, c.channel, c.channel_type from decisions d "
            "join checks c on c.id = d.check_id where c.workspace = ? and c.ts >= ? and c.ts < ?",
            [workspace, start, end]))

    def accepted_public_examples(self, workspace: str, start: float, end: float, limit: int = 3) -> list[dict]:
        """The latest accepted reframes of public drafts whose text is still stored (one row per check)."""
        return list(self.db.query(
            "select c.channel, c.message_ts, c.draft_text, c.verdict_json, c.user, max(d.ts) as decided from "
            "decisions d join checks c on c.id = d.check_id where c.workspace = ? and c.ts >= ? and c.ts < ? and "
            "d.action = 'accepted' and c.channel_type = 'public' and c.draft_text is not null "
            "group by c.id order by decided desc limit ?", [workspace, start, end, limit]))

    def set_decision_reason(self, decision_id: int, reason: str, *, user: str) -> bool:
        """Attach a reason to ``user``'s own decision; False when it is not theirs (or gone)."""
        with self.write() as db:
            cur = db.conn.execute("update decisions set reason = ? where id = ? and user = ?",
                                  [reason, decision_id, user])
            return cur.rowcount == 1

    # -- digests -----------------------------------------------------------------------------
    def claim_digest(self, workspace: str, channel: str, week: str, owner: str, stale_after: float = 900) -> bool:
        """Claim the right to post one digest; False when it was posted or another process holds a fresh claim."""
        now = time.time()
        with self.write() as db:
            row = db.execute("select status, claimed_at from digests where workspace=? and channel=? and week=?",
                             [workspace, channel, week]).fetchone()
            if row is None:
                db.execute("insert into digests (workspace, channel, week, status, claimed_by, claimed_at) "
                           "values (?, ?, ?, 'claimed', ?, ?)", [workspace, channel, week, owner, now])
                return True
            status, claimed_at = row
            if status == "claimed" and now - (claimed_at or 0) > stale_after:
                db.execute("update digests set claimed_by=?, claimed_at=? where workspace=? and channel=? and week=?",
                           [owner, now, workspace, channel, week])
                return True
            return False

    def mark_digest_posted(self, workspace: str, channel: str, week: str, message_ts: str = "") -> None:
        with self.write() as db:
            db.execute("update digests set status='posted', posted_at=?, message_ts=? where workspace=? "
                       "and channel=? and week=?", [time.time(), message_ts, workspace, channel, week])

    def block_digest(self, workspace: str, channel: str, week: str, problem: str) -> None:
        """Park a digest that cannot be posted (e.g. the bot is not in the channel): no retry every minute."""
        with self.write() as db:
            db.execute("update digests set status = 'blocked', claimed_by = ? where workspace=? and channel=? "
                       "and week=?", [problem, workspace, channel, week])

    def unblock_digests(self, workspace: str, channel: str) -> int:
        """Let parked digests for ``channel`` be tried again (an admin set the channel again after the fix)."""
        with self.write() as db:
            return db.execute("delete from digests where workspace=? and channel=? and status = 'blocked'",
                              [workspace, channel]).rowcount

    def release_digest(self, workspace: str, channel: str, week: str) -> None:
        """Give a claim back after a failed post, so the next run retries."""
        with self.write() as db:
            db.execute("delete from digests where workspace=? and channel=? and week=? and status='claimed'",
                       [workspace, channel, week])

    # -- data controls -----------------------------------------------------------------------
    def purge_texts(self, older_than: float) -> int:
        """Remove every copy of people's words older than ``older_than``: draft texts, the quotes, reframes,
        questions and measures in verdicts, the verdict cache and decision reasons. Returns checks purged."""
        rows = []
        for row in self.db.query("select id, draft_text, verdict_json from checks where ts < ?", [older_than]):
            stripped = strip_verdict(row["verdict_json"])
            if row["draft_text"] is not None or stripped != row["verdict_json"]:
                rows.append((row["id"], stripped))
        with self.write() as db:
            for check_id, stripped in rows:
                db.conn.execute("update checks set draft_text = null, verdict_json = ? where id = ?",
                                [stripped, check_id])
            db.conn.execute("delete from verdict_cache where ts < ?", [older_than])
            db.conn.execute("update decisions set reason = null where ts < ? and reason is not null", [older_than])
            # Labels from Slack decisions carry a draft's words, so they follow the retention setting too; labels
            # an admin loaded from a file (motivecheck label) were given on purpose and stay until forgotten.
            db.conn.execute("delete from labels where ts < ? and source like 'decision:%'", [older_than])
        self.checkpoint()
        return len(rows)

    def forget_user(self, user: str) -> dict[str, int]:
        """Erase a person's words everywhere (drafts, verdict quotes, cached verdicts of their drafts, decisions);
        counts stay, unattributed. Their opt-out is kept: forgetting someone must not start checking them."""
        checks = list(self.db.query("select id, verdict_json, draft_hash from checks where user = ?", [user]))
        hashes = sorted({r["draft_hash"] for r in checks if r["draft_hash"]})
        with self.write() as db:
            decisions = db.conn.execute(
                "delete from decisions where user = ? or check_id in (select id from checks where user = ?)",
                [user, user]).rowcount
            for row in checks:
                db.conn.execute("update checks set draft_text = null, verdict_json = ?, user = '', message_ts = null "
                                "where id = ?", [strip_verdict(row["verdict_json"]), row["id"]])
            cached = 0
            for i in range(0, len(hashes), 500):
                chunk = hashes[i:i + 500]
                cached += db.conn.execute(
                    f"delete from verdict_cache where draft_hash in ({','.join('?' * len(chunk))})", chunk).rowcount
            # Entries cached before draft hashes were recorded cannot be told apart: a cache, so drop them.
            cached += db.conn.execute("delete from verdict_cache where draft_hash is null").rowcount
            labels = db.conn.execute("delete from labels where user = ?", [user]).rowcount
        self.checkpoint()
        return {"checks_erased": len(checks), "decisions_deleted": decisions, "cache_entries_deleted": cached,
                "labels_deleted": labels}

    # -- labels and trained heads (per workspace) ---------------------------------------------
    def add_labels(self, rows: list[dict[str, Any]]) -> int:
        """Record labelled drafts (``workspace``, ``text``, ``label``, optional ``channel``, ``user``, ``source``,
        ``private``)."""
        now = time.time()
        with self.write() as db:
            db["labels"].insert_all([{"channel": "", "user": "", "source": "file", "private": 0, "ts": now, **r}
                                     for r in rows])
        return len(rows)

    def labels_for(self, workspace: str) -> list[dict[str, Any]]:
        """A workspace's labels, oldest first, without those of people who opted out."""
        return list(self.db.query(
            "select * from labels where workspace = ? and not exists (select 1 from optouts o where "
            "o.workspace = labels.workspace and o.user = labels.user and labels.user != '') order by id",
            [workspace]))

    def label_from_decision(self, decision_id: int, label: str, *, user: str) -> bool:
        """A person's own label for a check they decided on (Disagree: "what is it, in your view?"; Use this
        reframing: the verdict's label): kept on the decision and, when the draft's text is stored and the
        person has not opted out, as a training label of the workspace (private channels marked so)."""
        with self.write() as db:
            row = db.execute(
                "select d.id, c.workspace, c.channel, c.channel_type, c.draft_text from decisions d "
                "join checks c on c.id = d.check_id where d.id = ? and d.user = ?", [decision_id, user]).fetchone()
            if row is None:
                return False
            _id, workspace, channel, channel_type, text = row
            db.conn.execute("update decisions set label = ? where id = ?", [label, decision_id])
            opted_out = db.execute("select 1 from optouts where workspace = ? and user = ?",
                                   [workspace or "", user]).fetchone()
            if text and not opted_out:
                db.conn.execute("delete from labels where source = ? and user = ? and text = ? and workspace = ?",
                                [f"decision:{decision_id}", user, text, workspace or ""])
                db["labels"].insert({"workspace": workspace or "", "channel": channel or "", "user": user,
                                     "text": text, "label": label, "source": f"decision:{decision_id}",
                                     "private": int((channel_type or "") != "public"), "ts": time.time()})
        return True

    def save_head(self, workspace: str, head_json: str, metrics: dict[str, Any], *, active: bool,
                  created: float | None = None) -> int:
        """Store a trained head as the workspace's next version (made active when ``active``)."""
        with self.write() as db:
            row = db.conn.execute("select coalesce(max(version), 0) + 1 from heads where workspace = ?",
                                  [workspace]).fetchone()
            version = int(row[0])
            if active:
                db.conn.execute("update heads set active = 0 where workspace = ?", [workspace])
            db["heads"].insert({"workspace": workspace, "version": version,
                                "created": time.time() if created is None else created,
                                "head_json": head_json, "metrics_json": json.dumps(metrics), "active": int(active)})
        return version

    def heads(self, workspace: str | None = None) -> list[dict[str, Any]]:
        """Head versions (without their weights), newest first."""
        where, args = ("where workspace = ?", [workspace]) if workspace else ("", [])
        return list(self.db.query(f"select workspace, version, created, metrics_json, active from heads {where} "
                                  "order by workspace, version desc", args))

    def active_head(self, workspace: str) -> tuple[int, str] | None:
        row = next(self.db.query("select version, head_json from heads where workspace = ? and active = 1",
                                 [workspace]), None)
        return (row["version"], row["head_json"]) if row else None

    def activate_head(self, workspace: str, version: int | None) -> None:
        """Make ``version`` the workspace's head (None: back to the shipped head)."""
        with self.write() as db:
            if version is not None and not db.conn.execute(
                    "select 1 from heads where workspace = ? and version = ?", [workspace, version]).fetchone():
                raise InputError(f"workspace {workspace} has no head version {version}")
            db.conn.execute("update heads set active = (version = ?) where workspace = ?", [version, workspace])

    def checkpoint(self) -> None:
        """Move the WAL into the database file and truncate it, so erased pages leave no copy behind."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def export_checks(self, since: float = 0) -> Iterator[dict[str, Any]]:
        """Done checks since ``since`` with each one's latest decision, oldest first."""
        yield from self.db.query(
            "select c.*, (select action from decisions d where d.check_id = c.id order by d.id desc limit 1) "
            "as decision from checks c where c.status = 'done' and c.ts >= ? order by c.ts, c.id", [since])


def strip_verdict(raw: str | None) -> str | None:
    """Keep the judgement (label, score, motives), drop what quotes or paraphrases the draft."""
    if not raw:
        return raw
    data = json.loads(raw)
    stripped = {**data, "evidence": [], "reframe": None, "questions": [], "measures": []}
    return raw if stripped == data else json.dumps(stripped)
