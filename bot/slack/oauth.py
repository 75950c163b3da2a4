"""Installs to many workspaces (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) through Bolt's own OAuth flow.

slack_sdk's installation-store and state-store interfaces over our database (``bot/store/installations.py``),
the flow with every Web API call (``oauth.v2.access`` included) on SLACK_API_URL, and Web API clients for work
that no Slack request carries a token for: the weekly digest and crash recovery.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import yaml
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from ..config import MANIFEST, Settings
from ..errors import ConfigError
from ..store import Store
from ..store.installations import BOT_COLUMNS, ENTERPRISE_KEY, INSTALLER_COLUMNS

log = logging.getLogger(__name__)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600  # how long an install link stays good (Bolt's default)
# Tokens that rotate are refreshed when they have less than this left (Bolt's default): a request never
# starts with a token about to expire.
ROTATE_MINUTES = 120
ROTATION_WAIT = 5.0  # seconds a refused refresh waits for another process's new token to be stored


def manifest_scopes() -> list[str]:
    """The bot scopes the install asks for: exactly those manifest.yml declares."""
    try:
        scopes = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["oauth_config"]["scopes"]["bot"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(f"SLACK_CLIENT_ID: cannot read the bot scopes from {MANIFEST} "
                          f"(oauth_config.scopes.bot): {type(exc).__name__}") from None
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
        raise ConfigError(f"SLACK_CLIENT_ID: {MANIFEST}: oauth_config.scopes.bot must be a list of scope names")
    return scopes


def _keys(enterprise_id: str | None, team_id: str | None, org_wide: bool | None = False) -> tuple[str, str]:
    """Store keys: '' for what is missing; an org-wide install belongs to its org, whatever team asks."""
    return enterprise_id or "", "" if org_wide or not team_id else team_id


def _bot_row(bot: Bot) -> dict[str, Any]:
    row = {c: getattr(bot, c, None) for c in BOT_COLUMNS}
    row["enterprise_id"], row["team_id"] = _keys(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
    row["bot_scopes"] = ",".join(bot.bot_scopes or [])
    row["is_enterprise_install"] = int(bool(bot.is_enterprise_install))
    return row


def _bot(row: dict[str, Any]) -> Bot:
    fields = {c: row[c] for c in BOT_COLUMNS if c not in ("enterprise_url",)}
    fields.update(enterprise_id=row["enterprise_id"] or None, team_id=row["team_id"] or None,
                  bot_scopes=row["bot_scopes"] or "", is_enterprise_install=bool(row["is_enterprise_install"]))
    return Bot(**fields)


def _expiring(bot: Bot) -> bool:
    return bot.bot_token_expires_at is not None and bot.bot_token_expires_at <= time.time() + ROTATE_MINUTES * 60


class StoreInstallations(AsyncInstallationStore):
    """slack_sdk's installation store over our database (one bot per workspace or org; installers beside it).

    A bot is found with a token fit to use: one that rotates and has less than ROTATE_MINUTES left is refreshed
    first, one request at a time per workspace. A refresh token works once, so a burst of requests must not each
    spend it; and when another process spent it first, its new token is in the database."""

    def __init__(self, store: Store, rotator: AsyncTokenRotator | None = None, *,
                 rotation_wait: float = ROTATION_WAIT) -> None:
        self.store = store
        self.rotator = rotator
        self.rotation_wait = rotation_wait
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def fresh(self, bot: Bot) -> Bot | None:
        """``bot`` with a token good for ROTATE_MINUTES more (None: it was deleted meanwhile)."""
        if self.rotator is None or not bot.bot_refresh_token or not _expiring(bot):
            return bot
        keys = _keys(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        async with self._locks.setdefault(keys, asyncio.Lock()):
            row = await asyncio.to_thread(self.store.find_bot, *keys)  # the request before may have refreshed it
            if row is None or not row["bot_token"]:
                return None
            current = _bot(row)
            if not _expiring(current):
                return current
            try:
                refreshed = await self.rotator.perform_bot_token_rotation(bot=current,
                                                                          minutes_before_expiration=ROTATE_MINUTES)
            except SlackTokenRotationError:
                # Slack spends a refresh token on first use: when another process refreshed first, its new token
                # reaches the database a moment after Slack answered it. Wait that moment, briefly.
                deadline = time.monotonic() + self.rotation_wait
                while True:
                    row = await asyncio.to_thread(self.store.find_bot, *keys)
                    if row and row["bot_token"] and row["bot_refresh_token"] != current.bot_refresh_token:
                        return _bot(row)
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
            if refreshed is None:
                return current
            await asyncio.to_thread(self.store.save_bot, _bot_row(refreshed))
            log.info("refreshed the bot token of %s", keys[1] or keys[0])
            return refreshed

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        installer = {c: getattr(installation, c, None) for c in INSTALLER_COLUMNS}
        installer["enterprise_id"], installer["team_id"] = _keys(
            installation.enterprise_id, installation.team_id, installation.is_enterprise_install)
        installer["user_id"] = installation.user_id or ""
        installer["user_scopes"] = ",".join(installation.user_scopes or [])
        installer["is_enterprise_install"] = int(bool(installation.is_enterprise_install))
        bot = _bot_row(installation.to_bot()) if installation.bot_token else None
        if bot is not None:
            bot["enterprise_url"] = installation.enterprise_url
        await asyncio.to_thread(self.store.save_installation, installer, bot)
        log.info("installed in %s", installer["team_id"] or installer["enterprise_id"])

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, _bot_row(bot))

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        row = await asyncio.to_thread(self.store.find_bot, *_keys(enterprise_id, team_id, is_enterprise_install))
        return await self.fresh(_bot(row)) if row and row["bot_token"] else None

    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None,
                                      is_enterprise_install: bool | None = False) -> Installation | None:
        row = await asyncio.to_thread(self.store.find_installation,
                                      *_keys(enterprise_id, team_id, is_enterprise_install), user_id)
        if row is None:
            return None
        fields = {k: v for k, v in row.items() if k in INSTALLER_COLUMNS or k in BOT_COLUMNS}
        fields.update(enterprise_id=row["enterprise_id"] or None, team_id=row["team_id"] or None,
                      bot_scopes=row["bot_scopes"] or "", user_scopes=row["user_scopes"] or "",
                      is_enterprise_install=bool(row["is_enterprise_install"]))
        return Installation(**fields)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.store.delete_bot, *_keys(enterprise_id, team_id))

    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        await asyncio.to_thread(self.store.delete_installation, *_keys(enterprise_id, team_id), user_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class StoreOAuthStates(AsyncOAuthStateStore):
    """The flow's state values in our database: issued by /slack/install, good once, for STATE_SECONDS."""

    def __init__(self, store: Store, expiration_seconds: int = STATE_SECONDS) -> None:
        self.store = store
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        await asyncio.to_thread(self.store.issue_oauth_state, state, time.time() + self.expiration_seconds)
        return state

    async def async_consume(self, state: str) -> bool:
        return bool(state) and await asyncio.to_thread(self.store.consume_oauth_state, state)


def request_workspace(body: dict) -> str:
    """The workspace a request comes from as the listeners record it (an org-wide install's events name the
    workspace in the body, not in their authorization)."""
    team = body.get("team")
    return (body.get("team_id") or (team.get("id") if isinstance(team, dict) else team)
            or (body.get("user") or {}).get("team_id") or "")


def note_org_workspaces(store: Store) -> Callable[..., Awaitable[Any]]:
    """A Bolt middleware, after authorization: remember which org a workspace of an org-wide install belongs to,
    so work outside requests (digest, recovery) finds the org's bot for that workspace."""
    noted: set[str] = set()

    async def note(body: dict, context: Any, next: Callable[[], Awaitable[Any]]) -> Any:  # noqa: A002 - Bolt's name
        org = context.enterprise_id
        if context.is_enterprise_install and org:
            team = request_workspace(body)
            if team and team != org and team not in noted:
                await asyncio.to_thread(store.set_setting, team, ENTERPRISE_KEY, org)
                noted.add(team)
        return await next()

    return note


def build_oauth_flow(settings: Settings, store: Store, client: AsyncWebClient) -> AsyncOAuthFlow:
    """Bolt's OAuth flow with our stores; ``client`` (on SLACK_API_URL) makes every call, refreshes included."""
    installations = StoreInstallations(store, AsyncTokenRotator(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret, client=client))
    bolt_log = logging.getLogger("slack_bolt.oauth")
    oauth_settings = AsyncOAuthSettings(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret, scopes=manifest_scopes(),
        user_scopes=[], redirect_uri=settings.slack_redirect_uri or None, install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH, installation_store=installations, installation_store_bot_only=True,
        token_rotation_expiration_minutes=ROTATE_MINUTES, state_store=StoreOAuthStates(store),
        state_expiration_seconds=STATE_SECONDS, logger=bolt_log)
    # The settings build a token rotator on a default client (slack.com); this one goes where SLACK_API_URL says
    # (our store refreshes first, so Bolt's own rotation finds nothing left to do). The cache keys on the token,
    # so a refreshed token is checked once and a deleted one is never found.
    oauth_settings.authorize = AsyncInstallationStoreAuthorize(
        logger=bolt_log, installation_store=installations, client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret, token_rotation_expiration_minutes=ROTATE_MINUTES,
        bot_only=True, cache_enabled=True, client=client)
    return AsyncOAuthFlow(client=client, settings=oauth_settings)


ClientFor = Callable[[str], Awaitable[Any]]


class WorkspaceClients:
    """A Web API client for a workspace, outside any request: the one bot token's, or (OAuth) the workspace's
    installed bot's, refreshed first when its token rotates and is near expiry; None when it is not installed."""

    def __init__(self, store: Store, make_client: Callable[[str | None], AsyncWebClient], *,
                 installations: StoreInstallations | None = None, single: AsyncWebClient | None = None) -> None:
        self.store = store
        self.make_client = make_client
        self.installations = installations
        self.single = single

    async def __call__(self, workspace: str) -> AsyncWebClient | None:
        if self.single is not None:
            return self.single
        row = await asyncio.to_thread(self.store.bot_for_workspace, workspace)
        bot = await self.installations.fresh(_bot(row)) if row and row["bot_token"] and self.installations else None
        return self.make_client(bot.bot_token) if bot is not None else None


async def handle_uninstalled(context: Any, installations: AsyncInstallationStore) -> None:
    """app_uninstalled: every token of the workspace (or org) is deleted now; its drafts follow retention."""
    org_wide = bool(context.is_enterprise_install)
    await installations.async_delete_all(enterprise_id=context.enterprise_id,
                                         team_id=None if org_wide else context.team_id)
    log.info("uninstalled from %s: tokens deleted", context.team_id or context.enterprise_id)


async def handle_tokens_revoked(event: dict, context: Any, installations: AsyncInstallationStore) -> None:
    """tokens_revoked: the bot's token (and any revoked installer's) are deleted now."""
    tokens = event.get("tokens") or {}
    team = None if context.is_enterprise_install else context.team_id
    for user in tokens.get("oauth") or []:
        await installations.async_delete_installation(enterprise_id=context.enterprise_id, team_id=team,
                                                      user_id=user)
    if tokens.get("bot"):
        await installations.async_delete_bot(enterprise_id=context.enterprise_id, team_id=team)
    log.info("tokens revoked in %s: deleted", context.team_id or context.enterprise_id)
