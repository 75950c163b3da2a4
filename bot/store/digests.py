"""The weekly digest: the figures of a period, read where they are counted, and the claim to post it once."""

from __future__ import annotations

import time

from .database import Part, Row

# The checks that start a workspace's digest, in the words of idx_checks_slack_workspace (m014): a query that says
# it otherwise does not use that index and reads every check.
SLACK_CHECK = "workspace != '' and source not in ('cli', 'import')"
# One index step per workspace, from each to the next: a plain "select distinct" reads the whole index on PostgreSQL
# (no skip scan; SQLite skips ahead on its own): 3-11 ms there instead of 190-410 ms at 1,000,000 checks in 500
# workspaces, 1-14 ms on SQLite instead of 16-105 ms (bench/bench_scheduler.py).
DIGEST_WORKSPACES = (
    f"with recursive w (workspace) as (select min(workspace) from checks where {SLACK_CHECK} union all "
    f"select (select min(workspace) from checks where workspace > w.workspace and {SLACK_CHECK}) from w "
    "where w.workspace is not null) "
    "select workspace from w where workspace is not null "
    "union select workspace from workspace_settings where key = 'digest_channel' and workspace != '' "
    "order by workspace")


class DigestStore(Part):
    # -- the figures of a period ------------------------------------------------------------------
    def digest_workspaces(self) -> list[str]:
        """The workspaces the app posts a weekly digest for: the Slack teams it has been shown, by a draft checked
        in Slack (any source but the CLI's and an export's import) or a digest channel set there. Checks logged
        from the CLI or imported count in their workspace's digest but never start one: with one bot token, the
        workspace-less ones ('') would otherwise be a second digest in the same channel every week. Asked every
        minute on every instance, so it reads an index entry per workspace, not the checks."""
        return [r["workspace"] for r in self.db.query(DIGEST_WORKSPACES)]

    def week_checks(self, workspace: str, start: float, end: float) -> list[Row]:
        """Labelled checks of a period: label, channel, user, channel type, motives, and the engine that judged
        (with the LLM's failure, when the offline engine answered in its place)."""
        return self.db.query(
            'select label, channel, "user", channel_type, motives, engine, fallback from checks '
            "where workspace = ? and ts >= ? and ts < ? and label is not null", [workspace, start, end])

    def first_check_ts(self, workspace: str) -> float | None:
        """When the workspace's first check was made (any source or label); None before any. One index step."""
        return self.db.value("select min(ts) from checks where workspace = ?", [workspace])

    def label_counts_by_channel(self, workspace: str, start: float, end: float, labels: tuple[str, ...]) -> list[Row]:
        """(channel, label, n) for checks of a period with one of ``labels`` (counted in the database)."""
        marks = ",".join("?" * len(labels))
        return self.db.query(
            f"select channel, label, count(*) as n from checks{self.db.dialect.indexed_by('idx_checks_ws_ts_cover')} "
            f"where workspace = ? and ts >= ? and ts < ? and label in ({marks}) group by channel, label",
            [workspace, start, end, *labels])

    def poster_counts(self, workspace: str, start: float, end: float, labels: tuple[str, ...]) -> list[Row]:
        """(channel, channel_type, user, label, n) for checks of a period: who posted where (for the 3-poster rule)."""
        marks = ",".join("?" * len(labels))
        return self.db.query(
            'select channel, channel_type, "user", label, count(*) as n '
            f"from checks{self.db.dialect.indexed_by('idx_checks_ws_ts_cover')} "
            f"where workspace = ? and ts >= ? and ts < ? and label in ({marks}) "
            'group by channel, channel_type, "user", label', [workspace, start, end, *labels])

    def week_decisions(self, workspace: str, start: float, end: float) -> list[Row]:
        """Decisions on the checks of a period (one per check and person), with each check's label, channel and
        type."""
        return self.db.query(
            'select d.check_id, d."user", d.action, d.reason, c.label, c.channel, c.channel_type from decisions d '
            "join checks c on c.id = d.check_id where c.workspace = ? and c.ts >= ? and c.ts < ?",
            [workspace, start, end])

    def accepted_public_examples(self, workspace: str, start: float, end: float, limit: int = 3) -> list[Row]:
        """The latest accepted reframes of public drafts whose text is still stored (one row per check), of authors
        who have not opted out since: an opt-out takes their words out of use, as it does their labels."""
        return self.db.query(
            'select c.channel, c.message_ts, c.draft_text, c.verdict_json, c."user", max(d.ts) as decided from '
            "decisions d join checks c on c.id = d.check_id where c.workspace = ? and c.ts >= ? and c.ts < ? and "
            "d.action = 'accepted' and c.channel_type = 'public' and c.draft_text is not null and not exists "
            '(select 1 from optouts o where o.workspace = c.workspace and o."user" = c."user") '
            "group by c.id order by decided desc limit ?", [workspace, start, end, limit])

    # -- posting each digest once ---------------------------------------------------------------------
    def claim_digest(self, workspace: str, channel: str, week: str, owner: str, stale_after: float = 900) -> bool:
        """Claim the right to post one digest; False when it was posted or another process holds a fresh claim.

        Each step is one statement, so two processes (or instances) racing for the same week cannot both win.
        """
        now = time.time()
        with self.db.write() as tx:
            if tx.execute("insert into digests (workspace, channel, week, status, claimed_by, claimed_at) "
                          "values (?, ?, ?, 'claimed', ?, ?) on conflict do nothing",
                          [workspace, channel, week, owner, now]):
                return True
            # A claim left by a process that died mid-post goes to whoever asks after it has gone stale.
            return tx.execute("update digests set claimed_by = ?, claimed_at = ? where workspace = ? and channel = ? "
                              "and week = ? and status = 'claimed' and coalesce(claimed_at, 0) < ?",
                              [owner, now, workspace, channel, week, now - stale_after]) == 1

    def renew_digest_claim(self, workspace: str, channel: str, week: str, owner: str) -> bool:
        """Keep ``owner``'s claim fresh while it posts; False when it no longer holds it."""
        with self.db.write() as tx:
            return tx.execute("update digests set claimed_at = ? where workspace = ? and channel = ? and week = ? "
                              "and status = 'claimed' and claimed_by = ?",
                              [time.time(), workspace, channel, week, owner]) == 1

    def digest_state(self, workspace: str, channel: str, week: str) -> Row | None:
        """The digest's row (status, who claimed it and when), or None before anyone claimed it."""
        return self.db.one("select * from digests where workspace = ? and channel = ? and week = ?",
                           [workspace, channel, week])

    def mark_digest_posted(self, workspace: str, channel: str, week: str, message_ts: str = "") -> None:
        with self.db.write() as tx:
            tx.update("digests", {"workspace": workspace, "channel": channel, "week": week},
                      {"status": "posted", "posted_at": time.time(), "message_ts": message_ts})

    def block_digest(self, workspace: str, channel: str, week: str, problem: str) -> None:
        """Park a digest that cannot be posted (e.g. the bot is not in the channel): no retry every minute."""
        with self.db.write() as tx:
            tx.update("digests", {"workspace": workspace, "channel": channel, "week": week},
                      {"status": "blocked", "claimed_by": problem})

    def unblock_digests(self, workspace: str, channel: str) -> int:
        """Let parked digests for ``channel`` be tried again (an admin set the channel again after the fix)."""
        with self.db.write() as tx:
            return tx.execute("delete from digests where workspace = ? and channel = ? and status = 'blocked'",
                              [workspace, channel])

    def release_digest(self, workspace: str, channel: str, week: str) -> None:
        """Give a claim back after a failed post, so the next run retries."""
        with self.db.write() as tx:
            tx.execute("delete from digests where workspace = ? and channel = ? and week = ? and status = 'claimed'",
                       [workspace, channel, week])
