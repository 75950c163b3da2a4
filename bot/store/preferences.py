"""What a workspace chose: the channels watched (reply mode, playbook), who opted out, and workspace settings."""

from __future__ import annotations

import time
from typing import Any

from .database import Part, Row


class PreferenceStore(Part):
    def watch(self, workspace: str, channel: str, *, added_by: str = "", reply_mode: str = "thread",
              playbook: str | None = None) -> None:
        """Watch a channel; one already watched keeps its options."""
        with self.db.write() as tx:
            tx.execute("insert into watched_channels (workspace, channel, reply_mode, playbook, added_by, added_at) "
                       "values (?, ?, ?, ?, ?, ?) on conflict do nothing",
                       [workspace, channel, reply_mode, playbook, added_by, time.time()])

    def unwatch(self, workspace: str, channel: str) -> bool:
        with self.db.write() as tx:
            return tx.execute("delete from watched_channels where workspace = ? and channel = ?",
                              [workspace, channel]) > 0

    def watched_channels(self, workspace: str | None = None) -> list[Row]:
        if workspace is None:
            return self.db.query("select * from watched_channels order by added_at")
        return self.db.query("select * from watched_channels where workspace = ? order by added_at", [workspace])

    def channel_settings(self, workspace: str, channel: str) -> Row | None:
        return self.db.one("select * from watched_channels where workspace = ? and channel = ?", [workspace, channel])

    def set_channel_option(self, workspace: str, channel: str, **options: Any) -> None:
        """Set reply_mode or playbook for a channel (watching it if needed)."""
        self.watch(workspace, channel)
        with self.db.write() as tx:
            tx.update("watched_channels", {"workspace": workspace, "channel": channel}, options)

    def set_optout(self, workspace: str, user: str, opted_out: bool) -> None:
        with self.db.write() as tx:
            if opted_out:
                tx.execute('insert into optouts (workspace, "user", ts) values (?, ?, ?) on conflict do nothing',
                           [workspace, user, time.time()])
            else:
                tx.execute('delete from optouts where workspace = ? and "user" = ?', [workspace, user])

    def is_opted_out(self, workspace: str, user: str) -> bool:
        return self.db.one('select 1 as yes from optouts where workspace = ? and "user" = ?', [workspace, user]) is not None

    def optouts(self) -> set[tuple[str, str]]:
        """Every (workspace, user) that has opted out: small, so the Slack app keeps it in memory."""
        return {(r["workspace"], r["user"]) for r in self.db.query('select workspace, "user" from optouts')}

    def get_setting(self, workspace: str, key: str, default: str | None = None) -> str | None:
        row = self.db.one("select value from workspace_settings where workspace = ? and key = ?", [workspace, key])
        return row["value"] if row else default

    def setting_by_workspace(self, key: str) -> dict[str, str]:
        """``key``'s value in every workspace that set it: one read where a loop over workspaces would make many."""
        return {r["workspace"]: r["value"] for r in self.db.query(
            "select workspace, value from workspace_settings where key = ?", [key])}

    def set_setting(self, workspace: str, key: str, value: str) -> None:
        with self.db.write() as tx:
            tx.execute("insert into workspace_settings (workspace, key, value) values (?, ?, ?) "
                       "on conflict (workspace, key) do update set value = excluded.value", [workspace, key, value])
