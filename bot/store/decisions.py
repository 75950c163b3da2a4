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
        # One decision per check, person and slot: Use / Keep / Disagree share the slot "choice" and replace each
        # other (the latest wins, a double click changes nothing); Why? and Share each have their own. The unique
        # index makes it the database's rule, so clicks reaching two instances at once still leave one row.
        slot = "choice" if action in CHOICES else action
        with self.db.write() as tx:
            row = tx.one(
                'insert into decisions (check_id, ts, workspace, channel, "user", action, reason, slot) '
                "select id, ?, workspace, channel, ?, ?, ?, ? from checks where id = ? "
                'on conflict (check_id, "user", slot) do update set action = excluded.action, ts = excluded.ts, '
                "reason = excluded.reason returning id", [now, user, action, reason, slot, check_id])
            if row is None:
                raise KeyError(f"no check with id {check_id}")
            return int(row["id"])

    def decisions_for(self, check_id: int) -> list[Row]:
        return self.db.query("select * from decisions where check_id = ? order by id", [check_id])

    def set_decision_reason(self, decision_id: int, reason: str, *, user: str, workspace: str) -> bool:
        """Attach a reason to ``user``'s own decision in ``workspace``; False when it is not theirs (or gone)."""
        with self.db.write() as tx:
            return tx.execute('update decisions set reason = ? where id = ? and "user" = ? and workspace = ?',
                              [reason, decision_id, user, workspace]) == 1
