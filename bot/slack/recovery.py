"""Work in flight outlives its instance: this instance's leases are renewed while it works, and checks whose holder
stopped renewing (it crashed, was killed, or stopped while busy) are taken over and answered once.

Answering once: a check taken over while still pending cannot have been answered, so it is checked and answered
as usual. One that was already finished may or may not have been delivered before its holder stopped: a threaded
reply is looked for in the thread first (it carries the check's id as message metadata); a slash command's answer
replaces the "Checking your draft…" message through its response_url, which is the same message however often it
is sent; a private answer with no such handle (an ephemeral, a DM) is sent again — at least once rather than never.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slack_sdk.webhook.async_client import AsyncWebhookClient

from ..intake import Outcome
from ..logs import check_id_var
from . import blocks
from .deps import Deps
from .replies import find_reply, post_reply, withdrawn

log = logging.getLogger(__name__)
TAKE_AT_ONCE = 50
RESPONSE_URL_LIFETIME = 30 * 60  # Slack accepts posts to a response_url for 30 minutes


async def run_leases(deps: Deps, stop: asyncio.Event) -> None:
    """Every third of a lease: renew this instance's leases, then take over and answer work whose lease ran out."""
    period = deps.settings.lease_seconds / 3
    while not stop.is_set():
        try:
            await deps.intake.renew()
            await take_over(deps)
        except Exception as exc:  # noqa: BLE001 - never a crash loop; the next tick tries again
            log.warning("leases: %s", type(exc).__name__)
        try:
            await asyncio.wait_for(stop.wait(), timeout=period)
        except TimeoutError:
            pass


async def take_over(deps: Deps) -> int:
    """Take every check whose lease has run out and answer each in the background; how many were taken."""
    taken = 0
    while deps.accepting:
        rows = await deps.intake.take_over(TAKE_AT_ONCE)
        for row in rows:
            deps.spawn(answer_taken(deps, row))
        taken += len(rows)
        if len(rows) < TAKE_AT_ONCE:
            break
    if taken:
        log.info("took over %d check(s) from an instance that stopped", taken)
    return taken


async def recover_pending(deps: Deps) -> int:
    """Take over every check whose lease has run out and wait until each is answered; how many there were."""
    total = 0
    while rows := await deps.intake.take_over(TAKE_AT_ONCE):
        await asyncio.gather(*(answer_taken(deps, row) for row in rows))
        total += len(rows)
    return total


async def answer_taken(deps: Deps, row: dict[str, Any]) -> None:
    """Finish a check taken over and deliver its answer, through the workspace's bot."""
    check_id_var.set(str(row["id"]))
    maybe_sent = row["status"] == "done"  # finished before its holder stopped: it may have been delivered
    try:
        async with deps.intake.resuming(row) as outcome:
            if outcome.lost or outcome.refused is not None:
                return  # taken by yet another instance; or opted out meanwhile (failed and erased, never answered)
            client = await deps.clients(outcome.draft.workspace)
            if client is None:
                log.info("check %s: its workspace has no installed bot to answer", row["id"])
                return
            await _deliver(deps, client, row, outcome, maybe_sent)
    except Exception as exc:  # noqa: BLE001 - telling the author is best effort, never a crash loop
        log.warning("could not answer check %s taken over: %s", row["id"], type(exc).__name__)


async def _deliver(deps: Deps, client: Any, row: dict[str, Any], outcome: Outcome, maybe_sent: bool) -> None:
    d, verdict, check_id = outcome.draft, outcome.verdict, row["id"]
    if d.source == "channel" and d.message_ts:
        if verdict is None or verdict.label == "not-a-proposal" or row.get("reply_ts"):
            return  # nothing to say in the channel, or the reply is on record already
        if maybe_sent and d.reply_mode != "private":
            found = await find_reply(client, d.channel, d.message_ts, check_id)
            if found:
                await asyncio.to_thread(deps.store.update_check, check_id, reply_channel=d.channel, reply_ts=found)
                await withdrawn(deps, client, check_id, d.workspace, d.channel, d.message_ts)  # then take it back
                return
        if await withdrawn(deps, client, check_id, d.workspace, d.channel, d.message_ts):
            return  # its author deleted it meanwhile
        await post_reply(deps, client, check_id, d.text, verdict, d.channel, d.user, d.message_ts, d.reply_mode,
                         workspace=d.workspace)
        return
    url = row.get("reply_url")
    if url and time.time() - (row.get("ts") or 0) < RESPONSE_URL_LIFETIME:
        msg = (blocks.build_verdict_message(d.text, verdict, check_id) if verdict is not None else
               {"text": "Sorry — Motive Coach could not finish checking this draft. Please try again."})
        try:
            sent = await AsyncWebhookClient(url).send(response_type="ephemeral", replace_original=True, **msg)
            problem = "" if sent.status_code == 200 else f"HTTP {sent.status_code}"
        except Exception as exc:  # noqa: BLE001 - the URL may have expired: a DM instead
            problem = type(exc).__name__
        if not problem:
            return
        log.info("check %s: response_url refused the answer (%s); sending a DM", check_id, problem)
    if not d.user:
        return
    if verdict is not None:
        await client.chat_postMessage(channel=d.user, text=(
            "Sorry — Motive Coach restarted while checking your draft. Here is the result: "
            f"{verdict.label}, customer ease {verdict.customer_ease}/100."))
    else:
        log.warning("could not finish check %s: %s", check_id, outcome.error)
        await client.chat_postMessage(channel=d.user, text=(
            "Sorry — Motive Coach could not finish checking one of your drafts. Please try again."))
