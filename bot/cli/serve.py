"""``motivecheck serve``: run the Slack app (Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT)."""

from __future__ import annotations

import argparse
import asyncio

from ..logs import configure_logging
from .common import DB_HELP, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the Slack app (Socket Mode or HTTP on PORT)")
    p.add_argument("--port", type=int, default=None, help="HTTP port (default: PORT or 3000)")
    p.add_argument("--host", default="0.0.0.0", help="HTTP host (default 0.0.0.0)")
    p.add_argument("--log-format", choices=("text", "json"), default=None,
                   help="text or one JSON object per line (default: MOTIVECHECK_LOG_FORMAT)")
    p.add_argument("--db", default=None, help=DB_HELP)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..slack.app import serve_async, validate_slack_settings

    settings = settings_from(args)
    if args.port is not None:
        settings = replace(settings, port=args.port)
    if args.log_format:
        settings = replace(settings, log_format=args.log_format)
    validate_slack_settings(settings)
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve_async(settings, host=args.host))
    return 0
