"""Slack deliveries and messages acted on: the dedupe that survives restarts and reaches every process."""

from __future__ import annotations

import time

from .database import Part, Session


def claim(tx: Session, key: str, check_id: int | None = None) -> bool:
    """Claim ``key`` inside ``tx``: False if it was already claimed (a retry or duplicate)."""
    return tx.execute("insert into seen_events (key, ts, check_id) values (?, ?, ?) on conflict do nothing",
                      [key, time.time(), check_id]) == 1


class EventStore(Part):
    def claim_event(self, key: str, check_id: int | None = None) -> bool:
        """Record that we act on ``key``; False if it was already claimed (a retry or duplicate)."""
        with self.db.write() as tx:
            return claim(tx, key, check_id)

    def is_claimed(self, key: str) -> bool:
        """Whether ``key`` was claimed (by any instance)."""
        return self.db.value("select 1 from seen_events where key = ?", [key]) is not None

    def release_event(self, key: str) -> None:
        """Forget a claim whose work failed, so a later attempt may act on ``key`` again."""
        with self.db.write() as tx:
            tx.execute("delete from seen_events where key = ?", [key])
