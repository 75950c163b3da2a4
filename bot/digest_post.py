"""Deliver the digest: the coaching note (LLM or template), the chart upload and the once-only post."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable
from typing import Any

from .aio import run_sync
from .config import Settings
from .digest import (
    MIN_SHARE,
    Digest,
    change,
    claim,
    compute,
    counts,
    no_change,
    of,
    percents,
    shorten,
    template_note,
)
from .prompts import render
from .schedule import SETTING as SCHEDULE_SETTING
from .schedule import due_week, schedule_of, workspace_schedule
from .store import Store

log = logging.getLogger(__name__)


def coaching_note(settings: Settings, d: Digest) -> tuple[str, str]:
    """The note and where it came from: 'LLM' when configured and it answers, else 'template'."""
    if d.quiet or not settings.llm_configured:
        return template_note(d), "template"
    try:
        text = run_sync(_llm_note(settings, d))
        if text:
            return shorten(text, 600), f"written by the LLM ({settings.model})"  # at a word, with "…"
    except Exception as exc:  # noqa: BLE001 - any LLM failure: the template answers
        log.info("digest note fell back to the template: %s", type(exc).__name__)
    return template_note(d), "template (the LLM did not answer)"


async def _llm_note(settings: Settings, d: Digest) -> str:
    from .engines.llm import get_client

    prompt = render("digest_note.j2", week=d.week, checked=d.checked, not_proposals=d.not_proposals,
                    percents=percents(d.shares), change=change(d), few=d.checked < MIN_SHARE, counts=counts(d),
                    no_change=no_change(d), motives=d.motives, disagree=of(d.disagreed, d.checked))
    resp = await get_client(settings).chat.completions.create(
        model=settings.model, messages=[{"role": "user", "content": prompt}], timeout=settings.llm_timeout)
    return (resp.choices[0].message.content or "").strip()


def motive_titles(settings: Settings) -> dict[str, str]:
    """Motive ids → the playbook's titles, which is what a reader should see."""
    try:
        return dict(_titles(settings.playbook))
    except Exception:  # noqa: BLE001 - the digest still goes out, with readable ids (and tries again next time)
        return {}


@functools.lru_cache(maxsize=8)
def _titles(playbook: str) -> tuple[tuple[str, str], ...]:
    # Read once per process, as the checker reads its playbooks: parsing the YAML takes about 300 ms of Python, and it
    # was parsed again for every workspace's digest (minutes of it with hundreds of workspaces due at one time).
    from .playbook import load_playbook

    return tuple((mid, m.title) for mid, m in load_playbook(playbook).model.motives.items())


def build(store: Store, settings: Settings, workspace: str, year: int, week: int) -> Digest:
    """The week's digest, its days counted in the workspace's own timezone (its digest schedule's)."""
    tz = workspace_schedule(store, settings, workspace).timezone
    d = compute(store, workspace, year, week, tz, names=settings.digest_names,
                titles=motive_titles(settings))
    d.note, d.note_source = coaching_note(settings, d)
    return d


def digest_channel(store: Store, settings: Settings, workspace: str) -> str:
    return store.get_setting(workspace, "digest_channel", settings.digest_channel) or ""


# Slack errors that no retry can fix: the admin has to act (invite the bot, pick another channel).
NEEDS_ADMIN = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


def _slack_error(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("error") if response is not None and hasattr(response, "get") else None


async def channel_names(client: Any, channels: set[str]) -> dict[str, str]:
    """Channel ids → names for the chart (``conversations.info``); an id stays an id when Slack won't say."""
    names = {}
    for chan in sorted(channels):
        try:
            info = await client.conversations_info(channel=chan)
            names[chan] = "#" + ((info.get("channel") or {}).get("name") or chan)
        except Exception:  # noqa: BLE001 - the name is a nicety
            names[chan] = chan
    return names


async def add_permalinks(client: Any, d: Digest) -> None:
    """Each example links to its thread with the permalink Slack gives (``chat.getPermalink``), or not at all."""
    for ex in d.examples:
        if ex.get("channel") and ex.get("message_ts"):
            try:
                ex["link"] = (await client.chat_getPermalink(channel=ex["channel"],
                                                             message_ts=ex["message_ts"])).get("permalink") or ""
            except Exception:  # noqa: BLE001 - an example without a link is still an example
                ex["link"] = ""


async def tell_admin(client: Any, store: Store, workspace: str, channel: str, error: str) -> None:
    """Say once, to the admin who chose the channel, why the digest could not be posted and how to fix it."""
    problem = f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, digest to <#{channel}>: {error}"
    await asyncio.to_thread(store.set_setting, workspace, "last_delivery_error", problem)
    admin = await asyncio.to_thread(store.get_setting, workspace, "digest_channel_by")
    if not admin:
        log.warning("digest not posted to %s: %s (no admin to tell; see App Home)", channel, error)
        return
    fix = ("type `/invite @Motive Coach` in that channel" if error == "not_in_channel"
           else "pick a channel I can post in")
    try:
        await client.chat_postMessage(channel=admin, text=(
            f"I couldn't post the weekly digest to <#{channel}> ({error}). To fix it, {fix}, then run "
            f"`/motivecheck digest channel <#{channel}>` again. I won't keep retrying until then."))
    except Exception as exc:  # noqa: BLE001 - App Home shows the problem as well
        log.warning("could not tell the admin about the digest: %s", type(exc).__name__)


async def post_digest(client: Any, store: Store, settings: Settings, workspace: str, year: int, week: int,
                      channel: str | None = None) -> str:
    """Post one week's digest exactly once; returns 'posted', 'already', 'held' (another process is posting it
    now), 'no-channel' or 'blocked'."""
    channel = channel or await asyncio.to_thread(digest_channel, store, settings, workspace)
    if not channel:
        return "no-channel"
    label = f"{year}-W{week:02d}"
    owner = f"{socket.gethostname()}:{os.getpid()}:{id(asyncio.current_task())}"
    earlier = await asyncio.to_thread(store.digest_state, workspace, channel, label)
    # The claim is a lease like a draft's: renewed while this process posts, taken over soon after it dies.
    if not await asyncio.to_thread(claim, store, workspace, channel, label, owner, settings.lease_seconds):
        now = await asyncio.to_thread(store.digest_state, workspace, channel, label)
        return "held" if now is not None and now["status"] == "claimed" else "already"
    renewing = asyncio.create_task(_keep_claim(store, workspace, channel, label, owner, settings.lease_seconds / 3))
    try:
        return await _post_claimed(client, store, settings, workspace, channel, year, week, label, earlier)
    finally:
        renewing.cancel()


async def _keep_claim(store: Store, workspace: str, channel: str, week: str, owner: str, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(store.renew_digest_claim, workspace, channel, week, owner)
        except Exception as exc:  # noqa: BLE001 - the claim may then go stale and be taken over
            log.warning("could not renew the digest claim: %s", type(exc).__name__)


async def _post_claimed(client: Any, store: Store, settings: Settings, workspace: str, channel: str, year: int,
                        week: int, label: str, earlier: dict | None) -> str:
    from .chart import alt_text, render_chart, span
    from .slack.blocks import build_digest
    from .slack.names import Names

    try:
        # A claim taken over from a process that stopped midway: it may have posted before it stopped.
        posted = earlier is not None and await find_digest(client, channel, workspace, label,
                                                           (earlier.get("claimed_at") or 0) - 60)
        if posted:
            await asyncio.to_thread(store.mark_digest_posted, workspace, channel, label, posted)
            return "already"
        d = await asyncio.to_thread(build, store, settings, workspace, year, week)
        await add_permalinks(client, d)
        # The examples quote drafts and reframes: the people they mention are named, not mentioned again.
        names = await Names().of(client, workspace, *(ex.get(k) for ex in d.examples for k in ("before", "after")))
        resp = await client.chat_postMessage(channel=channel, metadata=digest_metadata(workspace, label),
                                             **build_digest(d, names))
    except Exception as exc:
        error = _slack_error(exc)
        if error in NEEDS_ADMIN:
            await asyncio.to_thread(store.block_digest, workspace, channel, label, error)
            await tell_admin(client, store, workspace, channel, error)
            return "blocked"
        await asyncio.to_thread(store.release_digest, workspace, channel, label)
        raise
    # Posted: on record at once, so nothing after this (the chart) can make the digest go out twice.
    await asyncio.to_thread(store.mark_digest_posted, workspace, channel, label, resp.get("ts") or "")
    if not d.quiet:
        try:
            names = await channel_names(client, {c for t in d.trend for c in t["channels"] if c != "other"})
            with tempfile.TemporaryDirectory() as tmp:
                path = await asyncio.to_thread(render_chart, d, f"{tmp}/trend-{label}.png", names)
                # In the channel, beside the digest (not hidden in its thread).
                await client.files_upload_v2(channel=channel, file=str(path), filename=path.name,
                                             title=f"Outside-in share, {span(d)}", alt_txt=alt_text(d))
        except Exception as exc:  # noqa: BLE001 - the digest is out; its chart is not worth a second digest
            error = _slack_error(exc) or type(exc).__name__
            log.warning("digest %s posted without its chart: %s", label, error)
            await asyncio.to_thread(store.set_setting, workspace, "last_delivery_error",
                                    f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, digest chart to <#{channel}>: {error}")
    return "posted"


DIGEST_EVENT = "motivecheck_digest"


def digest_metadata(workspace: str, week: str) -> dict[str, Any]:
    return {"event_type": DIGEST_EVENT, "event_payload": {"workspace": workspace, "week": week}}


async def find_digest(client: Any, channel: str, workspace: str, week: str, since: float) -> str:
    """The ts of this week's digest if the channel shows it was posted after ``since`` (message metadata); "" if not.
    If Slack won't say, "" too: the digest is posted (a second copy is better than none)."""
    try:
        resp = await client.conversations_history(channel=channel, oldest=f"{max(since, 0):.6f}",
                                                  include_all_metadata=True, limit=200)
    except Exception as exc:  # noqa: BLE001 - see above
        log.info("could not read the digest channel's history: %s", type(exc).__name__)
        return ""
    for message in resp.get("messages") or []:
        meta = message.get("metadata") or {}
        if meta.get("event_type") == DIGEST_EVENT and meta.get("event_payload") == {"workspace": workspace,
                                                                                    "week": week}:
            return message.get("ts") or ""
    return ""


async def run_digest_scheduler(clients: Any, store: Store, settings: Settings, stop: asyncio.Event,
                               interval: float = 60.0, clock: Callable[[], float] = time.time) -> None:
    """Inside the app: once a workspace's weekly slot passes (its day, time and timezone), post its latest finished
    week (never a backlog). Each workspace's digest goes out through its own bot (``clients``: workspace → client,
    None if not installed). The week is the workspace's own, so the claim (workspace, channel, week) keeps every
    instance to one post of it."""
    from .datacontrols import run_retention

    owner = f"{socket.gethostname()}:{os.getpid()}:{id(stop)}"  # this instance's scheduler
    while not stop.is_set():
        held = False
        try:
            await asyncio.to_thread(run_retention, store, settings, owner, interval)
            now = clock()
            workspaces = await asyncio.to_thread(store.digest_workspaces)
            stored = await asyncio.to_thread(store.setting_by_workspace, SCHEDULE_SETTING)  # every tick: one read
            for ws in workspaces:
                try:  # one workspace's failure must not hold back the others' digests
                    due = due_week(schedule_of(stored.get(ws), settings), now)
                    if due:
                        client = await clients(ws)
                        if client is not None:  # uninstalled: its figures stay until retention, unposted
                            held |= await post_digest(client, store, settings, ws, *due) == "held"
                except Exception as exc:  # noqa: BLE001 - retried next tick
                    log.warning("digest scheduler, workspace %s: %s", ws, type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - never a crash loop; try again next tick
            log.warning("digest scheduler: %s", type(exc).__name__)
        try:
            # Another instance is posting a digest: look again once its claim could have run out, in case it died.
            await asyncio.wait_for(stop.wait(), timeout=min(interval, settings.lease_seconds * 1.5) if held else interval)
        except TimeoutError:
            pass
