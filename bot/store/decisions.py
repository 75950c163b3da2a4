"""Decisions: what a person did with a verdict (Use, Keep, Disagree, Why?, Share, an edit) and why."""

from __future__ import annotations

import time

from .database import Part, Row

DECISION_ACTIONS = ("accepted", "kept-original", "disputed", "edited", "why", "shared")
CHOICES = ("accepted", "kept-original", "disputed")  # one per check and person; the latest wins


class DecisionStore(Part):
    def record_decision(self, check_id: int, action: str, *, user: str = "", reason: str | None = None,
                        ts: float | None = None) -> int:
        if action not in DECISION_ACTIONS:
            raise ValueError(f"unknown decision action {action!r}")
        now = time.time() if ts is None else ts
        with self.db.write() as tx:
            # The check's row is held until commit, so two clicks at once on one check take turns.
            check = tx.one(f"select workspace, channel from checks where id = ?{self.db.dialect.for_update}",
                           [check_id])
            if check is None:
                raise KeyError(f"no check with id {check_id}")
            # One decision per check and person: Use / Keep / Disagree replace each other (the latest wins, a
            # double click changes nothing); Why? and Share are noted once.
            same = CHOICES if action in CHOICES else (action,)
            marks = ",".join("?" * len(same))
            row = tx.one(f'select id from decisions where check_id = ? and "user" = ? and action in ({marks}) '
                         "order by id desc limit 1", [check_id, user, *same])
            if row is not None:
                tx.execute("update decisions set action = ?, ts = ?, reason = ? where id = ?",
                           [action, now, reason, row["id"]])
                tx.execute(f'delete from decisions where check_id = ? and "user" = ? and action in ({marks}) '
                           "and id != ?", [check_id, user, *same, row["id"]])
                return int(row["id"])
            return tx.insert("decisions", {"check_id": check_id, "ts": now, "workspace": check["workspace"],
                                           "channel": check["channel"], "user": user, "action": action,
                                           "reason": reason})

    def decisions_for(self, check_id: int) -> list[Row]:
        return self.db.query("select * from decisions where check_id = ? order by id", [check_id])

    def set_decision_reason(self, decision_id: int, reason: str, *, user: str, workspace: str) -> bool:
        """Attach a reason to ``user``'s own decision in ``workspace``; False when it is not theirs (or gone)."""
        with self.db.write() as tx:
            return tx.execute('update decisions set reason = ? where id = ? and "user" = ? and workspace = ?',
                              [reason, decision_id, user, workspace]) == 1
