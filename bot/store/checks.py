"""Checks: one row per draft judged (or pending), with its verdict, usage and where it came from."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from ..text import draft_hash
from ..verdict import Usage, Verdict
from .database import Part, Row


class CheckStore(Part):
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
        row.update(_verdict_columns(verdict, usage))
        with self.db.write() as tx:
            return tx.insert("checks", row)

    def _row(self, draft: str, *, source: str, status: str, ts: float | None = None, **context: Any) -> Row:
        """The columns every way of recording a check shares; the draft's text only if retention allows.

        A pending check always holds its text, so recovery after a crash can finish it; with
        MOTIVECHECK_STORE_TEXT=off the text is erased the moment the check completes or fails.
        """
        keep = self.store_text or status == "pending"
        row: Row = {"ts": time.time() if ts is None else ts, "source": source, "status": status,
                    "draft_hash": draft_hash(draft), "draft_text": draft if keep else None}
        if status == "pending":
            row["lease_until"] = 0.0  # pending work nobody holds is free to take (store/leases.py)
        row.update({k: v for k, v in context.items() if v is not None})
        return row

    def record_pending(self, items: list[dict[str, Any]]) -> list[int | None]:
        """Insert pending checks in one transaction; each item holds ``draft`` and record_check's fields.

        An item's ``claim`` (a Slack delivery or message key) is claimed in the same transaction: an item whose key
        was already claimed — a retry or duplicate, whichever instance it reached — records nothing and gets None.
        Claim and record stand or fall together, so no crash can leave a message claimed but never answered.

        Plain parameterised INSERTs: this runs on the ack path, where its Python time competes with the
        event loop for the GIL.
        """
        now = time.time()
        with self.db.write() as tx:
            ids: list[int | None] = []
            for item in items:
                fields = dict(item)
                claim = fields.pop("claim", None)
                if claim is not None and not tx.execute(
                        "insert into seen_events (key, ts) values (?, ?) on conflict do nothing", [claim, now]):
                    ids.append(None)
                    continue
                ids.append(tx.insert("checks", self._row(
                    fields.pop("draft"), source=fields.pop("source"), status=fields.pop("status", "pending"),
                    ts=fields.pop("ts", None) or now, **fields)))
            return ids

    def check_row(self, verdict: Verdict, draft: str, *, source: str, usage: Usage | None = None,
                  **context: Any) -> Row:
        """The row ``record_check`` would insert, for callers that insert many at once."""
        row = self._row(draft, source=source, status="done", **context)
        row.update(_verdict_columns(verdict, usage))
        return row

    def insert_checks(self, rows: list[Row]) -> int:
        """Insert many check rows in one transaction (imports)."""
        if rows:
            with self.db.write() as tx:
                tx.insert_many("checks", rows)
        return len(rows)

    def existing_external_ids(self, source: str, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r["external_id"] for r in self.db.query(
                f"select external_id from checks where source = ? and external_id in ({marks})", [source, *chunk]))
        return found

    def complete_check(self, check_id: int, verdict: Verdict, *, latency_ms: float = 0.0,
                       usage: Usage | None = None, draft: str | None = None, owner: str | None = None) -> bool:
        """Fill in the verdict of a pending check (or replace it after an edit).

        ``owner``: only while that instance still holds the check's lease; False (and nothing written) when another
        instance has taken the work over, which then answers it.
        """
        cols = _verdict_columns(verdict, usage)
        cols.update({"status": "done", "latency_ms": latency_ms})
        if draft is not None:
            cols["draft_hash"] = draft_hash(draft)
            cols["draft_text"] = draft if self.store_text else None
        elif not self.store_text:
            cols["draft_text"] = None  # held only while the check was pending
        return self.update_check(check_id, owner=owner, **cols)

    def fail_check(self, check_id: int, *, owner: str | None = None) -> bool:
        """Mark a check failed (its text goes too when texts are not stored); ``owner`` as for complete_check."""
        cols: Row = {"status": "failed"}
        if not self.store_text:
            cols["draft_text"] = None
        return self.update_check(check_id, owner=owner, **cols)

    def update_check(self, check_id: int, *, owner: str | None = None, **fields: Any) -> bool:
        """Set ``fields`` on a check (with ``owner``: only while it holds the check's lease); whether it did."""
        key: Row = {"id": check_id} if owner is None else {"id": check_id, "lease_owner": owner}
        with self.db.write() as tx:
            return tx.update("checks", key, fields) == 1

    def get_check(self, check_id: int) -> Row | None:
        return self.db.one("select * from checks where id = ?", [check_id])

    def find_check_by_message(self, workspace: str, channel: str, message_ts: str) -> Row | None:
        return self.db.one("select * from checks where workspace = ? and channel = ? and message_ts = ? "
                           "order by id desc limit 1", [workspace, channel, message_ts])

    def pending_checks(self) -> list[Row]:
        return self.db.query("select * from checks where status = 'pending' order by id")

    def recent_checks(self, limit: int = 20, *, workspace: str | None = None, user: str | None = None) -> list[Row]:
        where, args = ["1 = 1"], []
        if workspace is not None:
            where.append("workspace = ?")
            args.append(workspace)
        if user is not None:
            where.append('"user" = ?')
            args.append(user)
        sql = f"select * from checks where {' and '.join(where)} order by ts desc, id desc limit ?"
        return self.db.query(sql, [*args, limit])

    def export_checks(self, since: float = 0, workspace: str | None = None) -> Iterator[Row]:
        """Done checks since ``since`` (of one workspace, if given) with each one's latest decision, oldest first."""
        where, args = ("and c.workspace = ? ", [since, workspace]) if workspace is not None else ("", [since])
        yield from self.db.stream(
            "select c.*, (select action from decisions d where d.check_id = c.id order by d.id desc limit 1) "
            f"as decision from checks c where c.status = 'done' and c.ts >= ? {where}order by c.ts, c.id", args)


def _verdict_columns(verdict: Verdict | None, usage: Usage | None) -> Row:
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
