"""Checks: one row per draft judged (or pending), with its verdict, usage and where it came from."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from ..text import draft_hash
from ..verdict import Usage, Verdict
from .database import Part, Row
from .erasure import strip_verdict


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
        row.update(_verdict_columns(verdict, usage, words=self.store_text))
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
        """Insert pending checks in one transaction (``admit_pending``); each one's id, None where refused."""
        return [result["id"] for result in self.admit_pending(items)]

    def admit_pending(self, items: list[dict[str, Any]]) -> list[Row]:
        """The ack path's one transaction: decide about each draft of a burst and record the admitted as pending.

        Each item holds ``draft`` and record_check's fields, and may ask more, answered in the same transaction:
        ``screen`` — is its author opted out (a refusal), and which playbook has its channel; ``watched_only`` — a
        channel message, refused unless its channel is watched (or ``env_watched``), whose reply mode comes from the
        channel's settings; ``claim`` — a Slack delivery or message key, refused when already claimed (a retry or
        duplicate, whichever instance it reached). Claim and record stand or fall together, so no crash can leave a
        message claimed but never answered. Each result: ``id`` (None when refused), ``refused`` (``opted-out``,
        ``unwatched``, ``duplicate`` or None), ``playbook`` and ``reply_mode``.

        A whole burst costs a handful of statements, whatever its size: one read of the channels and one of the
        opt-outs it names, one insert of its claims, and its rows (pipelined on PostgreSQL). This runs on the ack
        path, where its Python time competes with the event loop for the GIL.
        """
        now = time.time()
        results: list[Row] = [{"id": None, "refused": None, "playbook": None, "reply_mode": item.get("reply_mode")}
                              for item in items]
        with self.db.write() as tx:
            channels = _pairs(tx, "select workspace, channel, reply_mode, playbook from watched_channels where "
                                  "(workspace, channel) in ({})",
                              {(i.get("workspace", ""), i.get("channel", "")) for i in items
                               if i.get("screen") or i.get("watched_only")})
            opted_out = _pairs(tx, 'select workspace, "user" from optouts where (workspace, "user") in ({})',
                               {(i.get("workspace", ""), i["user"]) for i in items if i.get("screen") and i.get("user")})
            screened = []
            for item, result in zip(items, results, strict=True):
                fields = dict(item)
                claim, screen = fields.pop("claim", None), fields.pop("screen", False)
                watched_only, env_watched = fields.pop("watched_only", False), fields.pop("env_watched", False)
                channel = channels.get((fields.get("workspace", ""), fields.get("channel", "")))
                if watched_only and channel is None and not env_watched:
                    result["refused"] = "unwatched"
                    continue
                if screen or watched_only:
                    result["playbook"] = (channel or {}).get("playbook") or None
                if watched_only:
                    result["reply_mode"] = fields["reply_mode"] = (channel or {}).get("reply_mode") or "thread"
                if screen and (fields.get("workspace", ""), fields.get("user")) in opted_out:
                    result["refused"] = "opted-out"
                    continue
                screened.append((claim, fields, result))
            # Only what passed is claimed: a message refused now is not marked as acted on.
            claims = {claim for claim, _, _ in screened if claim is not None}
            won = {r["key"] for r in tx.query(
                f"insert into seen_events (key, ts) values {', '.join(['(?, ?)'] * len(claims))} "
                "on conflict do nothing returning key", [v for key in claims for v in (key, now)])} if claims else set()
            rows, admitted = [], []
            for claim, fields, result in screened:
                if claim is not None:
                    if claim not in won:  # claimed before, or by an earlier draft of this very burst
                        result["refused"] = "duplicate"
                        continue
                    won.discard(claim)
                rows.append(self._row(fields.pop("draft"), source=fields.pop("source"),
                                      status=fields.pop("status", "pending"), ts=fields.pop("ts", None) or now,
                                      **fields))
                admitted.append(result)
            for result, check_id in zip(admitted, tx.insert_each("checks", rows), strict=True):
                result["id"] = check_id
        return results

    def check_row(self, verdict: Verdict, draft: str, *, source: str, usage: Usage | None = None,
                  **context: Any) -> Row:
        """The row ``record_check`` would insert, for callers that insert many at once."""
        row = self._row(draft, source=source, status="done", **context)
        row.update(_verdict_columns(verdict, usage, words=self.store_text))
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
        """Fill in the verdict of a pending check (or replace it after an edit: ``draft``, the new text).

        ``owner``: only while that instance still holds the check's lease; False (and nothing written) when another
        instance has taken the work over, which then answers it.
        """
        cols = _verdict_columns(verdict, usage, words=self.store_text)
        cols.update({"status": "done", "latency_ms": latency_ms})
        if draft is None:
            if not self.store_text:
                cols["draft_text"] = None  # held only while the check was pending
            return self.update_check(check_id, owner=owner, **cols)
        cols["draft_hash"] = draft_hash(draft)
        cols["draft_text"] = draft if self.store_text else None
        with self.db.write() as tx:
            before = tx.value("select draft_hash from checks where id = ?", [check_id])
            if tx.update("checks", _leased(check_id, owner), cols) != 1:
                return False
            # The edit replaces the words: the cached verdict of the words before (its quotes, its reframe) is tied
            # to a hash no check records any more, where erasure and a deletion could never find it again.
            if before and before != cols["draft_hash"]:
                tx.execute("delete from verdict_cache where draft_hash = ?", [before])
        return True

    def fail_check(self, check_id: int, *, owner: str | None = None, erase: bool = False) -> bool:
        """Mark a check failed (its text goes too when texts are not stored, or with ``erase``: a draft that must not
        be stored, its author having opted out meanwhile); ``owner`` as for complete_check."""
        cols: Row = {"status": "failed"}
        if erase or not self.store_text:
            cols["draft_text"] = None
        return self.update_check(check_id, owner=owner, **cols)

    def update_check(self, check_id: int, *, owner: str | None = None, **fields: Any) -> bool:
        """Set ``fields`` on a check (with ``owner``: only while it holds the check's lease); whether it did."""
        with self.db.write() as tx:
            return tx.update("checks", _leased(check_id, owner), fields) == 1

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


def _pairs(tx: Any, sql: str, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], Row]:
    """Rows keyed by their first two columns, for every pair asked at once (``{}`` in ``sql`` takes the list)."""
    if not pairs:
        return {}
    rows = tx.query(sql.format(", ".join(["(?, ?)"] * len(pairs))), [v for pair in pairs for v in pair])
    return {tuple(list(r.values())[:2]): r for r in rows}


def _leased(check_id: int, owner: str | None) -> Row:
    """The row an update of a check may touch: with ``owner``, only while that instance holds its lease."""
    return {"id": check_id} if owner is None else {"id": check_id, "lease_owner": owner}


def _verdict_columns(verdict: Verdict | None, usage: Usage | None, *, words: bool) -> Row:
    """The verdict's columns; without ``words`` (MOTIVECHECK_STORE_TEXT=off) its JSON is stripped the way purge
    strips it, since quotes, the reframe, questions and measures repeat or paraphrase the draft."""
    if verdict is None:
        return {}
    usage = usage or Usage()
    raw = verdict.model_dump_json()
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
        "verdict_json": raw if words else strip_verdict(raw),
        # Found by retention's index until purged (m013): a verdict that repeats the draft's words.
        "verdict_words": 1 if words and strip_verdict(raw) != raw else None,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_tokens": usage.cached_tokens,
    }
