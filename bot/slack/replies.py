"""Delivering verdicts to Slack: threaded or private replies, and "Share in thread" once per check."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .. import quickread
from ..verdict import Verdict
from . import blocks
from .deps import Deps

log = logging.getLogger(__name__)


@asynccontextmanager
async def quick_read_today(deps: Deps, workspace: str, channel: str, verdict: Verdict) -> AsyncIterator[str | None]:
    """The offline quick read's note for the day's first offline verdict shown in ``channel``, else None (and
    always None with an LLM). The day (MOTIVECHECK_TIMEZONE) is claimed in the store, not in this process, so
    every app instance sharing the database shows it once; a reply that fails gives the claim back."""
    note = quickread.note(verdict.engine, deps.settings.llm_configured)
    day = datetime.now(ZoneInfo(deps.settings.timezone)).date().isoformat()
    key = f"quickread:{workspace}:{channel}:{day}"
    if note is None or not await asyncio.to_thread(deps.store.claim_event, key):
        yield None
        return
    try:
        yield note
    except BaseException:
        await asyncio.to_thread(deps.store.release_event, key)
        raise


async def post_reply(deps: Deps, client: Any, check_id: int, text: str, verdict: Verdict, channel: str, user: str,
                      ts: str, mode: str | None, *, workspace: str = "") -> None:
    try:
        async with quick_read_today(deps, workspace, channel, verdict) as quick:
            if mode == "private":
                # No thread_ts: Slack shows an ephemeral thread message only where a thread already exists, and a
                # brand-new post has none, so the author would never see it.
                # Sharing needs the verdict's words later, which are not kept when drafts are not stored.
                msg = blocks.build_verdict_message(text, verdict, check_id, share=deps.settings.store_text,
                                                   quick_read=quick)
                await client.chat_postEphemeral(channel=channel, user=user, **msg)
                return
            names = await deps.names.of(client, workspace, verdict.reframe)
            msg = blocks.build_thread_note(verdict, check_id, quick_read=quick, names=names)
            # The check's id rides along as message metadata, so an instance taking over this check after a
            # crash can tell from the thread itself whether this reply went out (find_reply).
            resp = await client.chat_postMessage(channel=channel, thread_ts=ts, metadata=reply_metadata(check_id),
                                                 **msg)
        await asyncio.to_thread(deps.store.update_check, check_id, reply_channel=channel, reply_ts=resp["ts"])
    except Exception as exc:  # noqa: BLE001 - reported, never a crash loop
        error = slack_error(exc)
        log.warning("could not reply in %s: %s", channel, error)
        # Admins see the last delivery problem on App Home (e.g. not_in_channel: invite the bot).
        team = (await asyncio.to_thread(deps.store.get_check, check_id) or {}).get("workspace", "")
        await asyncio.to_thread(deps.store.set_setting, team, "last_delivery_error",
                                f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, <#{channel}>: {error}")
        return
    await withdrawn(deps, client, check_id, workspace, channel, ts)  # deleted while we replied: take it back


def slack_error(exc: Exception) -> str:
    """Slack's error code for a failed Web API call (``not_in_channel``), else the exception's type."""
    return getattr(getattr(exc, "response", None), "get", lambda _k: None)("error") or type(exc).__name__


# -- drafts their authors deleted ----------------------------------------------------------------------------
def withdrawal_key(workspace: str, channel: str, message_ts: str) -> str:
    """The claim a deleted draft (or one edited to add ``[no-coach]``) is withdrawn by, once
    (listeners.admit_message); it stays as the sign that the draft is gone, so work on it still in flight says
    nothing more."""
    return f"withdrawn:{workspace}:{channel}:{message_ts}"


async def delete_reply(deps: Deps, client: Any, check: dict) -> None:
    """Take back our public reply (threaded, or shared from private mode) to a draft its author deleted. A private
    reply has nothing to take back: Slack offers no way to delete an ephemeral, and only its author saw it."""
    if not check.get("reply_ts"):
        return
    channel = check.get("reply_channel") or check["channel"]
    # Once: a check finishing as the author withdraws the draft takes its reply back too, and both read the reply
    # before either cleared it (any instance: the claim is in the database).
    key = f"unreply:{channel}:{check['reply_ts']}"
    if not await asyncio.to_thread(deps.store.claim_event, key, check["id"]):
        return
    try:
        await client.chat_delete(channel=channel, ts=check["reply_ts"])
    except Exception as exc:  # noqa: BLE001 - e.g. message_not_found: already gone
        error = slack_error(exc)
        log.info("could not delete the reply to a deleted draft: %s", error)
        if error != "message_not_found":  # a passing fault: a later withdrawal may try again
            await asyncio.to_thread(deps.store.release_event, key)
        return
    await asyncio.to_thread(deps.store.update_check, check["id"], reply_channel=None, reply_ts=None)


async def withdrawn(deps: Deps, client: Any, check_id: int, workspace: str, channel: str,
                    message_ts: str | None) -> bool:
    """Whether the author deleted this channel draft. If so, its words are erased again (a check or an edit
    finished after the deletion wrote them back) and a reply posted meanwhile is taken back."""
    if not message_ts or not await asyncio.to_thread(deps.store.is_claimed,
                                                      withdrawal_key(workspace, channel, message_ts)):
        return False
    check = await asyncio.to_thread(deps.store.withdraw_check, check_id)
    if check is not None:
        await delete_reply(deps, client, check)
        # As after the first erasure (listeners.handle_message): the words written back must not stay in the WAL.
        await asyncio.to_thread(deps.store.checkpoint)
    return True


REPLY_EVENT = "motivecheck_reply"


def reply_metadata(check_id: int) -> dict[str, Any]:
    return {"event_type": REPLY_EVENT, "event_payload": {"check_id": check_id}}


async def find_reply(client: Any, channel: str, thread_ts: str, check_id: int) -> str | None:
    """The ts of our threaded reply to ``check_id`` if the thread holds one; None if not (or Slack won't say)."""
    try:
        resp = await client.conversations_replies(channel=channel, ts=thread_ts, include_all_metadata=True, limit=200)
    except Exception as exc:  # noqa: BLE001 - unknown: the caller posts (at least once beats never)
        log.info("could not read the thread in %s: %s", channel, type(exc).__name__)
        return None
    for message in resp.get("messages") or []:
        meta = message.get("metadata") or {}
        if meta.get("event_type") == REPLY_EVENT and str((meta.get("event_payload") or {}).get("check_id")) == str(
                check_id):
            return message.get("ts")
    return None


async def share_in_thread(deps: Deps, client: Any, respond: Any, check: dict, verdict: Verdict, user: str) -> None:
    """Post a private verdict as a public threaded reply, once per check however often Share is clicked."""
    if await withdrawn(deps, client, check["id"], check.get("workspace") or "", check.get("channel") or "",
                       check.get("message_ts")):
        await respond(text="That draft was deleted, so there is nothing to share.", response_type="ephemeral",
                      replace_original=False)
        return
    if check.get("draft_text") is None and not verdict.reframe:  # its words are gone: nothing worth sharing
        await respond(text=blocks.SHARE_WITHOUT_WORDS, response_type="ephemeral", replace_original=False)
        return
    key = f"share:{check['id']}"
    if check.get("reply_ts") or not await asyncio.to_thread(deps.store.claim_event, key, check["id"]):
        await respond(text="Already shared in the thread.", response_type="ephemeral", replace_original=False)
        return
    names = await deps.names.of(client, check.get("workspace") or "", verdict.reframe)
    msg = blocks.build_thread_note(verdict, check["id"], names=names)
    try:
        resp = await client.chat_postMessage(channel=check["channel"], thread_ts=check["message_ts"],
                                             metadata=reply_metadata(check["id"]), **msg)
    except Exception as exc:  # noqa: BLE001 - told to the author; the claim is released so they can retry
        await asyncio.to_thread(deps.store.release_event, key)
        error = slack_error(exc)
        log.warning("could not share in %s: %s", check["channel"], error)
        await respond(text=f"I couldn't share that in the thread ({error}).", response_type="ephemeral",
                      replace_original=False)
        return
    # Remember the shared reply: a second click is refused and an edit of the draft updates this reply.
    await asyncio.to_thread(deps.store.update_check, check["id"], reply_channel=check["channel"], reply_ts=resp["ts"])
    await asyncio.to_thread(deps.store.record_decision, check["id"], "shared", user=user)
