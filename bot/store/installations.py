"""Slack installs (OAuth): bots and their tokens, who installed, and the install flow's state values.

Plain rows in and out; ``bot/slack/oauth.py`` turns them into slack_sdk's ``Installation`` and ``Bot``. A bot
token lives in one row only (``slack_bots``), so deleting that row deletes the token. A missing org or team is
stored as '' (an org-wide install has team '').
"""

from __future__ import annotations

import time

from .database import Part, Row, Session

BOT_COLUMNS = ("enterprise_id", "team_id", "app_id", "enterprise_name", "enterprise_url", "team_name", "bot_token",
               "bot_id", "bot_user_id", "bot_scopes", "bot_refresh_token", "bot_token_expires_at",
               "is_enterprise_install", "installed_at")
INSTALLER_COLUMNS = ("enterprise_id", "team_id", "user_id", "app_id", "enterprise_name", "enterprise_url",
                     "team_name", "user_token", "user_scopes", "user_refresh_token", "user_token_expires_at",
                     "incoming_webhook_url", "incoming_webhook_channel", "incoming_webhook_channel_id",
                     "incoming_webhook_configuration_url", "is_enterprise_install", "token_type", "installed_at")
# What an installation read back takes from its bot (the token among them).
_BOT_FIELDS = ("bot_token", "bot_id", "bot_user_id", "bot_scopes", "bot_refresh_token", "bot_token_expires_at")
ENTERPRISE_KEY = "enterprise_id"  # workspace_settings: the org a workspace of an org-wide install belongs to


def _upsert(tx: Session, table: str, row: Row, keys: tuple[str, ...]) -> None:
    """Insert one row, or replace the one with the same key."""
    names = list(row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in keys)
    tx.execute(f"insert into {table} ({', '.join(names)}) values ({', '.join('?' * len(names))}) "
               f"on conflict ({', '.join(keys)}) do update set {updates}", [row[c] for c in names])


class InstallationStore(Part):
    def save_installation(self, installer: Row, bot: Row | None) -> None:
        """Record an install: the installer's row and, when it brought one, the workspace's (or org's) bot."""
        with self.db.write() as tx:
            _upsert(tx, "slack_installations", {c: installer.get(c) for c in INSTALLER_COLUMNS},
                    ("enterprise_id", "team_id", "user_id"))
            if bot is not None:
                _upsert(tx, "slack_bots", {c: bot.get(c) for c in BOT_COLUMNS}, ("enterprise_id", "team_id"))

    def save_bot(self, bot: Row) -> None:
        """Record a bot (a refreshed token after rotation, or a new install)."""
        with self.db.write() as tx:
            _upsert(tx, "slack_bots", {c: bot.get(c) for c in BOT_COLUMNS}, ("enterprise_id", "team_id"))

    def find_bot(self, enterprise_id: str, team_id: str) -> Row | None:
        return self.db.one("select * from slack_bots where enterprise_id = ? and team_id = ?",
                           [enterprise_id, team_id])

    def find_installation(self, enterprise_id: str, team_id: str, user_id: str | None = None) -> Row | None:
        """The latest install of a workspace or org (or of one installer), with its bot's token if it still has one."""
        sql, args = "select * from slack_installations where enterprise_id = ? and team_id = ?", [enterprise_id, team_id]
        if user_id is not None:
            sql, args = sql + " and user_id = ?", [*args, user_id]
        row = self.db.one(sql + " order by installed_at desc limit 1", args)
        if row is None:
            return None
        bot = self.find_bot(enterprise_id, team_id) or {}
        return {**row, **{f: bot.get(f) for f in _BOT_FIELDS}}

    def delete_bot(self, enterprise_id: str, team_id: str) -> int:
        """Delete a bot and so its token, gone from the file at once (no copy left outside the live tables)."""
        with self.db.write() as tx:
            n = tx.execute("delete from slack_bots where enterprise_id = ? and team_id = ?", [enterprise_id, team_id])
        self.db.checkpoint()
        return n

    def delete_installation(self, enterprise_id: str, team_id: str, user_id: str | None = None) -> int:
        """Delete the installer rows of a workspace or org (or of one installer), with any user tokens."""
        sql, args = "delete from slack_installations where enterprise_id = ? and team_id = ?", [enterprise_id, team_id]
        if user_id is not None:
            sql, args = sql + " and user_id = ?", [*args, user_id]
        with self.db.write() as tx:
            n = tx.execute(sql, args)
        self.db.checkpoint()
        return n

    def forget_installs(self, workspace: str) -> int:
        """Delete a workspace's bot and installer rows (or an org's org-wide install, and which of its workspaces
        it served); how many bots and installers went."""
        with self.db.write() as tx:
            n = 0
            for table in ("slack_bots", "slack_installations"):
                n += tx.execute(f"delete from {table} where team_id = ? or (enterprise_id = ? and team_id = '')",
                                [workspace, workspace])
            tx.execute("delete from workspace_settings where key = ? and value = ?", [ENTERPRISE_KEY, workspace])
        self.db.checkpoint()
        return n

    def bot_for_workspace(self, workspace: str) -> Row | None:
        """The bot that serves a workspace (as checks record it: a team id, or an org id for org-wide events) for
        work outside a request: the workspace's own install, else its org's org-wide install."""
        if not workspace:
            return None
        row = self.db.one("select * from slack_bots where team_id = ? order by installed_at desc limit 1",
                          [workspace])
        if row is None:
            org = self.db.value("select value from workspace_settings where workspace = ? and key = ?",
                                [workspace, ENTERPRISE_KEY])
            row = self.find_bot(org or workspace, "")
        return row

    def installed_workspaces(self) -> list[str]:
        """Teams (and orgs, for org-wide installs) that have a bot installed."""
        return [r["team_id"] or r["enterprise_id"] for r in self.db.query(
            "select enterprise_id, team_id from slack_bots order by installed_at")]

    # -- the install flow's state parameter ---------------------------------------------------------
    def issue_oauth_state(self, state: str, expires_at: float) -> None:
        with self.db.write() as tx:
            tx.execute("delete from oauth_states where expires_at < ?", [time.time()])  # old ones go as new come
            tx.execute("insert into oauth_states (state, expires_at) values (?, ?)", [state, expires_at])

    def consume_oauth_state(self, state: str) -> bool:
        """True once for a state issued here and not yet expired; it is gone afterwards either way."""
        with self.db.write() as tx:
            expires_at = tx.value("select expires_at from oauth_states where state = ?", [state])
            if expires_at is None:
                return False
            tx.execute("delete from oauth_states where state = ?", [state])
        return expires_at >= time.time()
