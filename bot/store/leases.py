"""Work in flight and who holds it: a lease on each check that still needs work, so any instance takes over a
crashed one's and no two instances ever answer one draft.

A check needs work while ``lease_until`` is set: its verdict, or delivering it. The instance that recorded it
holds the lease and keeps pushing ``lease_until`` forward while it works; it clears the lease once the answer is
delivered. An instance that dies stops renewing, and after the lease runs out exactly one other instance takes the
check over (``take_expired``: one statement each, so two takers cannot both win the same row).
"""

from __future__ import annotations

from .database import Part, Row


def _marks(n: int) -> str:
    return ",".join("?" * n)


class LeaseStore(Part):
    def renew_leases(self, owner: str, check_ids: list[int], until: float) -> set[int]:
        """Push ``owner``'s leases on ``check_ids`` to ``until``; the ids it still holds (another instance may have
        taken one over while this one was stalled)."""
        held: set[int] = set()
        with self.db.write() as tx:
            for i in range(0, len(check_ids), 500):
                chunk = check_ids[i:i + 500]
                held.update(r["id"] for r in tx.query(
                    f"update checks set lease_until = ? where lease_owner = ? and id in ({_marks(len(chunk))}) "
                    "returning id", [until, owner, *chunk]))
        return held

    def take_expired(self, owner: str, until: float, now: float, limit: int = 20) -> list[Row]:
        """Take over up to ``limit`` checks whose holder stopped renewing their lease; each goes to one taker.

        The outer ``lease_until < ?`` is checked again on each row as it is updated, so of two instances that chose
        the same rows, the second finds them taken (PostgreSQL re-reads a row a concurrent transaction changed;
        SQLite runs one writer at a time).
        """
        with self.db.write() as tx:
            return tx.query(
                "update checks set lease_owner = ?, lease_until = ?, attempts = coalesce(attempts, 0) + 1 "
                "where id in (select id from checks where lease_until < ? order by lease_until, id limit ?) "
                "and lease_until < ? returning *", [owner, until, now, limit, now])

    def release_lease(self, check_id: int, owner: str) -> bool:
        """The work is done (answered, or nothing to answer): nobody holds it any more. False if ``owner`` had lost it."""
        with self.db.write() as tx:
            return tx.execute("update checks set lease_owner = null, lease_until = null, reply_url = null "
                              "where id = ? and lease_owner = ?", [check_id, owner]) == 1

    def hand_back_leases(self, owner: str) -> int:
        """Stopping: let any instance take ``owner``'s unfinished work at once instead of waiting for expiry."""
        with self.db.write() as tx:
            return tx.execute("update checks set lease_until = 0 where lease_until > 0 and lease_owner = ?", [owner])

    def leased_checks(self) -> list[Row]:
        """Checks that still need work, held or not (for tests and operators)."""
        return self.db.query("select * from checks where lease_until is not null order by id")
