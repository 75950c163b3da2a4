"""Build and run the Bolt app: AsyncApp on aiohttp (HTTP mode) or Socket Mode."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from ..checker import Checker
from ..config import Settings
from ..errors import ConfigError
from ..logs import filter_library_payloads
from ..store import Store, open_store
from .deps import Deps
from .listeners import register
from .oauth import (
    WorkspaceClients,
    build_oauth_flow,
    handle_tokens_revoked,
    handle_uninstalled,
    note_org_workspaces,
)
from .recovery import run_leases

log = logging.getLogger(__name__)
DRAIN_SECONDS = 10.0


def validate_slack_settings(settings: Settings) -> None:
    """Stop start-up with one line naming the variable when Slack settings are missing or malformed."""
    if settings.slack_api_url and not settings.slack_api_url.startswith(("http://", "https://")):
        raise ConfigError("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/")
    if settings.oauth:
        _validate_oauth_settings(settings)
        return
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) from your app's "
                          "OAuth & Permissions page")
    if not settings.slack_bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if settings.slack_app_token:
        if not settings.slack_app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp- (or unset it for "
                              "HTTP mode)")
    elif not settings.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP mode needs it (Basic Information → Signing "
                          "Secret), or set SLACK_APP_TOKEN for Socket Mode")


def _validate_oauth_settings(settings: Settings) -> None:
    """Installs to many workspaces: both OAuth credentials, over HTTP, and no setting that names one workspace."""
    for var, value in (("SLACK_CLIENT_ID", settings.slack_client_id),
                       ("SLACK_CLIENT_SECRET", settings.slack_client_secret)):
        if not value:
            raise ConfigError(f"{var} is not set: OAuth installs need both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
                              "(Basic Information → App Credentials)")
    if settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is set as well as SLACK_CLIENT_ID: set the bot token for one workspace, "
                          "or the client ID and secret to install in many, not both")
    if settings.slack_app_token:
        raise ConfigError("SLACK_APP_TOKEN: OAuth installs are served over HTTP (/slack/install, "
                          "/slack/oauth_redirect); unset SLACK_APP_TOKEN and turn Socket Mode off")
    if not settings.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: OAuth installs are served over HTTP, which needs it "
                          "(Basic Information → Signing Secret)")
    # Channel ids of one workspace: with many, each workspace's admin chooses with /motivecheck instead.
    for var, value in (("MOTIVECHECK_WATCH_CHANNELS", settings.watch_channels),
                       ("MOTIVECHECK_DIGEST_CHANNEL", settings.digest_channel)):
        if value:
            raise ConfigError(f"{var} names channels of one workspace; with OAuth installs each workspace's admin "
                              "sets them with /motivecheck watch and /motivecheck digest channel: unset it")
    if settings.slack_redirect_uri and not settings.slack_redirect_uri.startswith("https://"):
        raise ConfigError("SLACK_REDIRECT_URI must be the https:// URL of /slack/oauth_redirect that the app's "
                          "OAuth & Permissions page lists")


def build_client(settings: Settings, *, token: str | None = "") -> AsyncWebClient:
    """A Web API client with retry handlers; ``token=None`` builds Bolt's base client (tokens come per request)."""
    base = settings.slack_api_url or "https://slack.com/api/"
    client = AsyncWebClient(token=settings.slack_bot_token if token == "" else token, base_url=base.rstrip("/") + "/")
    client.retry_handlers.extend([AsyncRateLimitErrorRetryHandler(max_retry_count=2),
                                  AsyncConnectionErrorRetryHandler(max_retry_count=2)])
    return client


def build_app(settings: Settings, store: Store | None = None) -> tuple[AsyncApp, Deps]:
    """The Bolt app with every listener registered, and its dependencies."""
    validate_slack_settings(settings)
    store = store or open_store(settings)
    deps = Deps(settings=settings, checker=Checker(settings, store), store=store)
    flow = None
    if settings.oauth:
        flow = build_oauth_flow(settings, store, build_client(settings, token=None))
        deps.authorize = flow.settings.authorize
        deps.clients = WorkspaceClients(store, lambda token: build_client(settings, token=token),
                                        installations=flow.settings.installation_store)
    else:
        deps.authorize = OneAuthTest(build_client(settings))
        deps.clients = WorkspaceClients(store, lambda token: build_client(settings, token=token),
                                        single=deps.authorize.client)
    # Bolt reads SLACK_BOT_TOKEN from the environment on its own and warns that it is unused because we
    # pass a client; the token is used (by OneAuthTest), so that start-up warning would only mislead.
    bolt_log = logging.getLogger("slack_bolt.AsyncApp")
    quiet = _BelowError()
    bolt_log.addFilter(quiet)  # a filter, not a level: Bolt copies the root logger's level onto its logger
    try:
        app = AsyncApp(
            # Bolt's own single-workspace authorization calls auth.test until the first answer arrives, so a
            # burst right after start-up makes one call per request; OneAuthTest makes exactly one.
            client=build_client(settings, token=None),
            authorize=deps.authorize,
            # Given both, Bolt takes the flow and builds no default settings of its own (a file store under ~).
            oauth_flow=flow,
            oauth_settings=flow.settings if flow else None,
            installation_store=flow.settings.installation_store if flow else None,
            signing_secret=settings.slack_signing_secret or None,
            process_before_response=False,
            request_verification_enabled=not settings.slack_app_token or bool(settings.slack_signing_secret),
        )
    finally:
        bolt_log.removeFilter(quiet)
    if flow is not None:
        app.use(note_org_workspaces(store))
    register(app, deps)
    register_uninstall(app, flow.settings.installation_store if flow else None)
    filter_library_payloads()  # slack_sdk and Bolt log message payloads (drafts, verdicts) at DEBUG
    return app, deps


class _BelowError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


class OneAuthTest(AsyncAuthorize):
    """Single-workspace authorization from one auth.test per process, however many requests arrive at once."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._answer: Any = None
        self._lock: asyncio.Lock | None = None

    async def warm_up(self) -> None:
        try:
            await self(context=None, enterprise_id=None, team_id=None, user_id=None)
        except Exception as exc:  # noqa: BLE001 - a network blip at start-up: requests will try again
            log.warning("auth.test failed at start-up (%s); will retry on the first request", type(exc).__name__)

    async def __call__(self, *, context: Any, enterprise_id: str | None, team_id: str | None,
                       user_id: str | None) -> AuthorizeResult:
        if self._answer is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._answer is None:
                    self._answer = await self.client.auth_test()
        return AuthorizeResult.from_auth_test_response(auth_test_response=self._answer, bot_token=self.client.token)


def register_uninstall(app: AsyncApp, installations: Any) -> None:
    """app_uninstalled and tokens_revoked: with OAuth installs the tokens are deleted at once; with one bot token
    there is nothing stored to delete, so the app says so (and answers, or Slack would retry)."""

    async def on_uninstalled(context):  # noqa: ANN001 - Bolt injects by name
        if installations is None:
            log.warning("the app was uninstalled: SLACK_BOT_TOKEN no longer works")
            return
        await handle_uninstalled(context, installations)

    async def on_revoked(event, context):  # noqa: ANN001
        if installations is None:
            log.warning("Slack revoked the app's tokens: SLACK_BOT_TOKEN may no longer work")
            return
        await handle_tokens_revoked(event, context, installations)

    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_revoked)


def build_web_app(app: AsyncApp, deps: Deps) -> web.Application:
    """aiohttp application: Bolt's /slack/events plus /healthz, and with OAuth /slack/install and its redirect."""

    async def events(request: web.Request) -> web.Response:
        if not deps.accepting:
            return web.Response(status=503, text="draining")
        bolt_req = await to_bolt_request(request)
        return await to_aiohttp_response(await app.async_dispatch(bolt_req))

    async def healthz(_request: web.Request) -> web.Response:
        status = {"database": "ok", "config": "ok", "accepting": deps.accepting}
        try:
            await asyncio.to_thread(deps.store.ping)  # bounded by the store's POOL_WAIT
        except Exception as exc:  # noqa: BLE001 - report, don't raise
            status["database"] = f"error: {type(exc).__name__}"
        ok = status["database"] == "ok" and deps.accepting
        return web.json_response(status, status=200 if ok else 503)

    async def install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.oauth_flow.handle_installation(await to_bolt_request(request)))

    async def redirect(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.oauth_flow.handle_callback(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    web_app.router.add_get("/healthz", healthz)
    if app.oauth_flow is not None:
        web_app.router.add_get(app.oauth_flow.install_path, install)
        web_app.router.add_get(app.oauth_flow.redirect_uri_path, redirect)
    return web_app


def use_executor(loop: asyncio.AbstractEventLoop, settings: Settings) -> None:
    """SQLite work runs in threads; size the pool so a burst of commands never queues behind six threads."""
    from concurrent.futures import ThreadPoolExecutor

    loop.set_default_executor(ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="mc"))


async def drain(deps: Deps, leases: asyncio.Task | None = None, timeout: float = DRAIN_SECONDS) -> None:
    """Stop taking new work and wait (bounded) for in-flight checks, renewing their leases meanwhile; then hand
    back what is left, so another instance (or this one restarted) takes it over at once."""
    deps.accepting = False
    if deps.tasks:
        await asyncio.wait(list(deps.tasks), timeout=timeout)
    if leases is not None:
        leases.cancel()
        await asyncio.wait([leases], timeout=5)
    try:
        await deps.intake.hand_back()
    except Exception as exc:  # noqa: BLE001 - the leases then simply run out
        log.warning("could not hand back unfinished work: %s", type(exc).__name__)
    await asyncio.to_thread(deps.intake.close)


async def serve_async(settings: Settings, *, host: str = "0.0.0.0", ready: asyncio.Event | None = None,
                      stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or ``stop``): HTTP mode on PORT, or Socket Mode when SLACK_APP_TOKEN is set."""
    app, deps = build_app(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    use_executor(loop, settings)
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    await deps.checker.awarm_up()
    await deps.warm_up()
    if not settings.oauth:
        await deps.authorize.warm_up()
    runner = None
    handler = None
    if settings.slack_app_token:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(app, settings.slack_app_token)
        filter_library_payloads()
        await handler.connect_async()
        log.info("Motive Coach connected in Socket Mode")
    else:
        runner = web.AppRunner(build_web_app(app, deps))
        await runner.setup()
        site = web.TCPSite(runner, host, settings.port)
        await site.start()
        log.info("Motive Coach listening on %s:%s/slack/events%s", host, settings.port,
                 " (installs at /slack/install)" if settings.oauth else "")
    from ..digest_post import run_digest_scheduler

    scheduler = asyncio.create_task(run_digest_scheduler(deps.clients, deps.store, settings, stop))
    # Renews this instance's leases and takes over work whose holder stopped (this instance before it restarted,
    # or another on the same database): its first round runs now, its last when draining is over.
    leases = asyncio.create_task(run_leases(deps, asyncio.Event()))
    if ready is not None:
        ready.set()
    await stop.wait()
    await asyncio.wait([scheduler], timeout=5)
    log.info("draining")
    if handler is not None:
        # Socket Mode: disconnect first, so nothing more arrives; an envelope in flight that is not acknowledged by
        # now is delivered again (to another connection of the app, or to this one restarted). HTTP mode answers
        # 503 while draining instead, so Slack retries there too.
        await handler.close_async()
    await drain(deps, leases)
    if runner is not None:
        await runner.cleanup()
    log.info("stopped")
