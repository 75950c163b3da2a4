"""What a workspace teaches: its labelled drafts, and the heads trained on them (versioned, one active)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .database import Part, Row
from .dialect import quote


@dataclass(frozen=True)
class LabelsAdded:
    """What ``add_labels`` did: texts stored, rows that repeated an earlier row's text, stored labels replaced."""

    stored: int
    repeated: int
    replaced: int


# A label's columns; one row per (workspace, text_hash), a unique index (migration m010). A writer first deletes the
# row it replaces (so the new one is the latest, at the end), then inserts; the upsert is for another writer that
# stored the same text at the same moment: the later write wins, as it would one moment later.
_LABEL_COLUMNS = ("workspace", "channel", "user", "text", "text_hash", "label", "source", "private", "ts")
_UPSERT_LABEL = (f"insert into labels ({', '.join(map(quote, _LABEL_COLUMNS))}) "
                 f"values ({', '.join('?' * len(_LABEL_COLUMNS))}) on conflict (workspace, text_hash) do update set "
                 + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in _LABEL_COLUMNS
                             if c not in ("workspace", "text_hash")))


class LearningStore(Part):
    # -- labels ---------------------------------------------------------------------------------------
    def add_labels(self, rows: list[Row]) -> LabelsAdded:
        """Record labelled drafts (``workspace``, ``text``, ``label``, optional ``channel``, ``user``, ``source``,
        ``private``): one label per text and workspace, the latest winning (a later row over an earlier one, and
        over a label stored before), so no text counts twice or lands on both sides of a hold-out."""
        now = time.time()
        latest: dict[tuple[str, str], Row] = {}
        for r in rows:
            key = (r["workspace"], self.db.dialect.text_hash(r["text"]))
            latest[key] = {"channel": "", "user": "", "source": "file", "private": 0, "ts": now, **r,
                           "text_hash": key[1]}
        # Rows are locked and written in one order (by workspace and hash), so two imports at once on PostgreSQL
        # wait for each other instead of deadlocking.
        keys = sorted(latest)
        replaced = 0
        with self.db.write() as tx:
            for workspace in sorted({w for w, _ in keys}):
                ids = [r["id"] for r in tx.query_in(
                    f"select id from labels where workspace = ? and text_hash in ({{}}) order by text_hash"
                    f"{self.db.dialect.for_update}", [h for w, h in keys if w == workspace], before=[workspace])]
                replaced += tx.execute_in("delete from labels where id in ({})", ids)
            tx.executemany(_UPSERT_LABEL, ([latest[k][c] for c in _LABEL_COLUMNS] for k in keys))
        return LabelsAdded(len(latest), len(rows) - len(latest), replaced)

    def labels_for(self, workspace: str) -> list[Row]:
        """A workspace's labels, oldest first, without those of people who opted out: neither the labeller's nor,
        for a label given on a check (``decision:<id>``), those on the drafts of a check's author who opted out."""
        # The labels on opted-out authors' checks are found once, from the workspace's opt-outs (a label from a
        # decision is always in its check's workspace): looked for label by label, from the decisions' side, every
        # opted-out author's checks were read again for each label (seconds for a workspace's thousand labels).
        return self.db.query(
            'select * from labels where workspace = ? and not exists (select 1 from optouts o where '
            'o.workspace = labels.workspace and o."user" = labels."user" and labels."user" != \'\') '
            "and coalesce(source, '') not in (select 'decision:' || cast(d.id as text) from optouts o "
            'join checks c on c.workspace = o.workspace and c."user" = o."user" join decisions d on d.check_id = c.id '
            "where o.workspace = ? and o.\"user\" != '') order by id", [workspace, workspace])

    def label_from_decision(self, decision_id: int, label: str, *, user: str, workspace: str) -> bool:
        """A person's own label for a check they decided on (Disagree: "what is it, in your view?"; Use this
        reframing: the verdict's label): kept on the decision and, when the draft's text is stored and neither the
        person nor the draft's author has opted out, as a training label of the workspace (private channels marked
        so). Only their own decision, in the workspace the request came from: False otherwise."""
        with self.db.write() as tx:
            row = tx.one('select c.channel, c.channel_type, c.draft_text, c."user" as author from decisions d '
                         'join checks c on c.id = d.check_id where d.id = ? and d."user" = ? and c.workspace = ?',
                         [decision_id, user, workspace])
            if row is None:
                return False
            text = row["draft_text"]
            tx.execute("update decisions set label = ? where id = ?", [label, decision_id])
            # The words are the author's: an opted-out author's draft is never kept as a label, whoever gives it.
            opted_out = tx.one('select 1 from optouts where workspace = ? and "user" in (?, ?)',
                               [workspace, user, row["author"] or user])
            if text and not opted_out:
                source = f"decision:{decision_id}"
                # One label per text and workspace: this, the latest, replaces any other.
                text_hash = self.db.dialect.text_hash(text)
                tx.execute("delete from labels where workspace = ? and text_hash = ?", [workspace, text_hash])
                tx.execute(_UPSERT_LABEL, [workspace, row["channel"] or "", user, text, text_hash, label, source,
                                           int((row["channel_type"] or "") != "public"), time.time()])
        return True

    # -- heads ----------------------------------------------------------------------------------------
    def save_head(self, workspace: str, head_json: str, metrics: dict[str, Any], *, active: bool,
                  created: float | None = None) -> int:
        """Store a trained head as the workspace's next version (made active when ``active``)."""
        with self.db.write() as tx:
            version = int(tx.value("select coalesce(max(version), 0) + 1 from heads where workspace = ?",
                                   [workspace]))
            if active:
                tx.execute("update heads set active = 0 where workspace = ?", [workspace])
            tx.execute("insert into heads (workspace, version, created, head_json, metrics_json, active) "
                       "values (?, ?, ?, ?, ?, ?)",
                       [workspace, version, time.time() if created is None else created, head_json,
                        json.dumps(metrics), int(active)])
        return version

    def heads(self, workspace: str | None = None) -> list[Row]:
        """Head versions (without their weights), newest first."""
        where, args = ("where workspace = ?", [workspace]) if workspace else ("", [])
        return self.db.query(f"select workspace, version, created, metrics_json, active from heads {where} "
                             "order by workspace, version desc", args)

    def active_head(self, workspace: str) -> tuple[int, str] | None:
        row = self.db.one("select version, head_json from heads where workspace = ? and active = 1", [workspace])
        return (row["version"], row["head_json"]) if row else None

    def activate_head(self, workspace: str, version: int | None) -> None:
        """Make ``version`` the workspace's head (None: back to the shipped head)."""
        with self.db.write() as tx:
            if version is not None and not tx.one("select 1 from heads where workspace = ? and version = ?",
                                                  [workspace, version]):
                raise InputError(f"workspace {workspace} has no head version {version}")
            tx.execute("update heads set active = case when version = ? then 1 else 0 end where workspace = ?",
                       [version, workspace])
