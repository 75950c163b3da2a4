"""Deliver the digest: the coaching note (LLM or template), the chart upload and the once-only post."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import tempfile
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .aio import run_sync
from .config import Settings
from .digest import Digest, change, claim, compute, last_full_week, template_note, to_blocks
from .prompts import render
from .store import Store

log = logging.getLogger(__name__)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def coaching_note(settings: Settings, d: Digest) -> tuple[str, str]:
    """The note and where it came from: 'LLM' when configured and it answers, else 'template'."""
    if d.quiet or not settings.llm_configured:
        return template_note(d), "template"
    try:
        text = run_sync(_llm_note(settings, d))
        if text:
            return text[:600], f"written by the LLM ({settings.model})"
    except Exception as exc:  # noqa: BLE001 - any LLM failure: the template answers
        log.info("digest note fell back to the template: %s", type(exc).__name__)
    return template_note(d), "template (the LLM did not answer)"


async def _llm_note(settings: Settings, d: Digest) -> str:
    from .engines.llm import get_client

    prompt = render("digest_note.j2", week=d.week, checked=d.checked, shares=d.shares, change=change(d),
                    motives=d.motives, disagree=d.disagree_share)
    resp = await get_client(settings).chat.completions.create(
        model=settings.model, messages=[{"role": "user", "content": prompt}], timeout=settings.llm_timeout)
    return (resp.choices[0].message.content or "").strip()


def build(store: Store, settings: Settings, workspace: str, year: int, week: int) -> Digest:
    d = compute(store, workspace, year, week, settings.timezone, names=settings.digest_names)
    d.note, d.note_source = coaching_note(settings, d)
    return d


def digest_channel(store: Store, settings: Settings, workspace: str) -> str:
    return store.get_setting(workspace, "digest_channel", settings.digest_channel) or ""


async def post_digest(client: Any, store: Store, settings: Settings, workspace: str, year: int, week: int,
                      channel: str | None = None) -> str:
    """Post one week's digest exactly once; returns 'posted', 'already' or 'no-channel'."""
    from .chart import alt_text, render_chart

    channel = channel or await asyncio.to_thread(digest_channel, store, settings, workspace)
    if not channel:
        return "no-channel"
    label = f"{year}-W{week:02d}"
    owner = f"{socket.gethostname()}:{os.getpid()}"
    if not await asyncio.to_thread(claim, store, workspace, channel, label, owner):
        return "already"
    try:
        d = await asyncio.to_thread(build, store, settings, workspace, year, week)
        msg = to_blocks(d)
        resp = await client.chat_postMessage(channel=channel, **msg)
        if not d.quiet:
            with tempfile.TemporaryDirectory() as tmp:
                path = await asyncio.to_thread(render_chart, d, f"{tmp}/trend-{label}.png")
                await client.files_upload_v2(channel=channel, file=str(path), filename=path.name,
                                             title=f"Outside-in share, 8 weeks to {label}", alt_txt=alt_text(d),
                                             thread_ts=resp.get("ts"))
        await asyncio.to_thread(store.mark_digest_posted, workspace, channel, label, resp.get("ts") or "")
        return "posted"
    except Exception:
        await asyncio.to_thread(store.release_digest, workspace, channel, label)
        raise


def due_week(settings: Settings, now: float) -> tuple[int, int] | None:
    """The week to post now, if the weekly slot (day, time, timezone) has passed this week."""
    local = datetime.fromtimestamp(now, ZoneInfo(settings.timezone))
    hour, minute = (int(x) for x in settings.digest_time.split(":"))
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    weekday = _DAYS.index(settings.digest_day)
    if local.weekday() < weekday or (local.weekday() == weekday and local < slot):
        return None
    return last_full_week(now, settings.timezone)


async def run_digest_scheduler(client: Any, store: Store, settings: Settings, stop: asyncio.Event,
                               interval: float = 60.0) -> None:
    """Inside the app: once the weekly slot passes, post the latest finished week (never a backlog)."""
    from .datacontrols import apply_retention

    while not stop.is_set():
        try:
            await asyncio.to_thread(apply_retention, store, settings)
            due = due_week(settings, time.time())
            if due:
                workspaces = await asyncio.to_thread(store.workspaces)
                for ws in workspaces:
                    await post_digest(client, store, settings, ws, *due)
        except Exception as exc:  # noqa: BLE001 - never a crash loop; try again next tick
            log.warning("digest scheduler: %s", type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
