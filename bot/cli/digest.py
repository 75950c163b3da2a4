"""``motivecheck digest``: preview (markdown, json, blocks), write the chart, or post now."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from ..config import Settings
from ..errors import ConfigError, InputError
from ..store import Store
from .common import add_common, settings_from, store_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("digest", help="preview or post the weekly leadership digest")
    p.add_argument("--week", default=None, help="ISO week, e.g. 2026-W47 (default: the last full week)")
    p.add_argument("--workspace", default="", help="workspace ID (default: checks logged without one)")
    p.add_argument("--format", choices=("markdown", "json", "blocks"), default="markdown",
                   help="markdown (the default), the figures as JSON, or the Slack message as Block Kit JSON")
    p.add_argument("--chart", default=None, metavar="FILE.png", help="also write the trend chart")
    p.add_argument("--post", action="store_true",
                   help="post it to Slack now (with SLACK_BOT_TOKEN, or the workspace's installed bot)")
    p.add_argument("--channel", default=None, help="channel to post to (default: the digest channel setting)")
    add_common(p, engine=False)
    p.set_defaults(func=run)


async def _post(settings: Settings, store: Store, workspace: str, year: int, week: int, channel: str | None) -> str:
    """Post through the one bot token, or (OAuth installs) through the workspace's installed bot."""
    from ..digest_post import post_digest
    from ..slack.app import build_client

    if settings.oauth:
        from ..slack.oauth import WorkspaceClients, build_oauth_flow

        flow = build_oauth_flow(settings, store, build_client(settings, token=None))
        client = await WorkspaceClients(store, lambda token: build_client(settings, token=token),
                                        installations=flow.settings.installation_store)(workspace)
        if client is None:
            raise ConfigError(f"--workspace {workspace or '(none)'}: no installed bot serves that workspace; give the "
                              "team ID of a workspace that installed the app")
    elif not settings.slack_bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be set (xoxb-...) to --post the digest")
    else:
        client = build_client(settings)
    return await post_digest(client, store, settings, workspace, year, week, channel)


def _post_or_say_why(settings: Settings, store: Store, workspace: str, year: int, week: int,
                     channel: str | None) -> str:
    """Post; Slack out of reach or refusing the call is one line (the claim on the week is released by then)."""
    import aiohttp
    from slack_sdk.errors import SlackApiError

    where = settings.slack_api_url or "https://slack.com/api/"
    try:
        return asyncio.run(_post(settings, store, workspace, year, week, channel))
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise ConfigError(f"could not reach Slack at {where} ({type(exc).__name__}); nothing was posted. Check the "
                          "network, or SLACK_API_URL") from None
    except SlackApiError as exc:
        error = exc.response.get("error") if hasattr(exc.response, "get") else None
        raise ConfigError(f"Slack refused the digest ({error or 'no reason given'}); nothing was posted"
                          + (": check SLACK_BOT_TOKEN" if error in {"invalid_auth", "not_authed",
                                                                   "account_inactive", "token_revoked"} else "")
                          ) from None


def run(args: argparse.Namespace) -> int:
    from ..chart import alt_text, render_chart
    from ..digest import last_full_week, parse_week, to_json, to_markdown
    from ..digest_post import build
    from ..schedule import workspace_schedule

    settings = settings_from(args)
    store = store_from(args, settings)
    tz = workspace_schedule(store, settings, args.workspace).timezone  # the workspace's week, as the app posts it
    year, week = parse_week(args.week) if args.week else last_full_week(time.time(), tz)
    if args.post:
        result = _post_or_say_why(settings, store, args.workspace, year, week, args.channel)
        print({"posted": f"Posted the {year}-W{week:02d} digest.",
               "already": f"The {year}-W{week:02d} digest was already posted there; nothing sent.",
               "held": f"Another process is posting the {year}-W{week:02d} digest there right now; nothing sent.",
               "no-channel": "No digest channel: set MOTIVECHECK_DIGEST_CHANNEL or pass --channel.",
               "blocked": "Slack refused the digest channel (is the bot in it? `/invite @Motive Coach`)."}[result])
        return 0 if result in ("posted", "already", "held") else 2
    d = build(store, settings, args.workspace, year, week)
    if args.format == "json":
        print(to_json(d))
    elif args.format == "blocks":
        from ..slack.blocks import build_digest

        print(json.dumps(build_digest(d), indent=2, ensure_ascii=False))
    else:
        print(to_markdown(d))
    if args.chart:
        try:
            path = render_chart(d, args.chart)
        except OSError as exc:
            raise InputError(f"--chart: cannot write {args.chart}: {exc.strerror or exc}") from None
        print(f"\nChart written to {path} (alt text: {alt_text(d)})")
    return 0
