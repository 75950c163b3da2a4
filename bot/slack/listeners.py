"""Thin Bolt listeners: parse, acknowledge and hand the draft to the one road (bot/intake.py); blocks in blocks.py."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp

from .. import quickread
from ..errors import InputError
from ..intake import (
    DRAFT_SUBTYPES,
    EMPTY,
    NO_COACH,
    OPTED_OUT,
    SLASH_PROPOSAL,
    Draft,
    Outcome,
    marked_no_coach,
    slash_draft,
)
from ..logs import check_id_var
from ..schedule import workspace_schedule
from ..store import Store
from ..verdict import LABELS, Verdict
from . import blocks, mrkdwn
from .admin import ADMIN_COMMANDS, is_admin, run_admin_command
from .command import command_mistake, parse_subcommand
from .deps import Deps
from .replies import delete_reply, post_reply, quick_read_today, share_in_thread, withdrawal_key, withdrawn

log = logging.getLogger(__name__)
RESTARTING = "Motive Coach is restarting; please try again in a minute."  # draining: new checks wait for the next
NOT_YOURS = ("Thanks for looking! These buttons belong to the person who wrote the draft (or an admin), "
             "so I've left it as it is.")
_REFUSED = {  # what the author is told when the road refuses their draft
    OPTED_OUT: "You're opted out, so I won't check this. `/motivecheck optin` to resume.",
    NO_COACH: "That draft is marked `[no-coach]`, so I won't check it.",
    EMPTY: "The draft is empty: give the text of a proposal to check.",
}




def motive_titles(deps: Deps) -> dict[str, str]:
    """Motive ids → the default playbook's titles (what people read instead of ids)."""
    return {mid: m.title for mid, m in deps.checker.default_playbook.model.motives.items()}


# -- /motivecheck ------------------------------------------------------------------------------
async def handle_command(ack: Any, body: dict, client: Any, respond: Any, deps: Deps) -> None:
    text = mrkdwn.unescape(body.get("text") or "").strip()  # Slack escapes &, <, >: keep the text as written
    team, user, channel = body.get("team_id", ""), body.get("user_id", ""), body.get("channel_id", "")
    word, rest = parse_subcommand(text) or ("", text)  # a draft that starts with "Help …" is still a draft
    if not text:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=blocks.build_draft_modal(channel))
    elif word == "help":
        await ack(text=blocks.HELP)
    elif word in ("optout", "optin"):
        await deps.intake.set_optout(team, user, word == "optout")
        await ack(text="You're opted out: your messages won't be checked or stored." if word == "optout"
                  else "You're opted in again. Thanks!")
    elif word == "stats":
        counts = await asyncio.to_thread(deps.store.user_label_counts, team, user)
        used = await asyncio.to_thread(deps.store.user_decision_counts, team, user)
        await ack(text=blocks.build_stats(counts, used))
    elif word in ADMIN_COMMANDS:
        await ack()
        deps.spawn(run_admin_command(deps, client, respond, team, user, channel, word, rest))
    elif (mistake := command_mistake(text)) is not None:  # a typo is answered, not checked as a one-line draft
        await ack(text=f"{mistake} Nothing was checked or changed.\n{blocks.HELP}")
    elif not deps.accepting:
        await ack(text=RESTARTING)
    else:
        # Recorded before the ack, so a crash after the ack cannot lose it; the response_url lets whichever
        # instance finishes the check answer in place.
        draft, source = slash_draft(text)
        admitted = await deps.intake.admit(Draft(text=draft, source=source, workspace=team, channel=channel,
                                                 user=user), reply_url=body.get("response_url") or None)
        if admitted.refused:
            await ack(text=_REFUSED[admitted.refused])
            return
        await ack(text="Checking your draft…")
        deps.spawn(_answer_command(deps, respond, admitted))


async def _answer_command(deps: Deps, respond: Any, admitted: Outcome) -> None:
    check_id_var.set(str(admitted.check_id))
    async with deps.intake.answering(admitted) as outcome:
        if outcome.lost:
            return  # another instance took the check over and answers it
        if outcome.verdict is None:
            await respond(text=f"I couldn't check that: {outcome.error}", response_type="ephemeral")
            return
        log.info("slash check done", extra={"label": outcome.verdict.label, "engine": outcome.verdict.engine})
        d = outcome.draft
        async with quick_read_today(deps, d.workspace, d.channel, outcome.verdict) as quick:
            await respond(response_type="ephemeral", replace_original=True,
                          **blocks.build_verdict_message(d.text, outcome.verdict, outcome.check_id, quick_read=quick))


# -- channel messages --------------------------------------------------------------------------
async def admit_message(body: dict, context: Any, next: Any, deps: Deps) -> BoltResponse | None:  # noqa: A002
    """Before Bolt acknowledges a message event: claim a new draft and record it as pending, or claim a deleted
    draft's withdrawal (or one its author edited to add ``[no-coach]``) and erase its words, each in one
    transaction.

    Bolt acks events before their listener runs, so this is a listener middleware: a crash before the ack makes
    Slack retry (to any instance), and after the ack the draft is already in the database for any instance to
    finish. A database error answers 500, so Slack retries later. The listener finds the result in
    ``context["admitted"]`` (or ``context["withdrawn"]``: the check as erased). While the app drains nothing is
    acknowledged, so Slack delivers the event again (to another instance, or to this one restarted): HTTP mode
    answers 503 before Bolt sees the request, and in Socket Mode an envelope answered 503 is never acked.
    """
    if not deps.accepting:
        return BoltResponse(status=503, body="draining")
    event = body.get("event") or {}
    ts = event.get("ts", "")
    team = body.get("team_id") or event.get("team") or ""
    channel = event.get("channel", "")
    new_draft = (event.get("subtype") in DRAFT_SUBTYPES and not event.get("bot_id") and not event.get("bot_profile")
                 and not (event.get("thread_ts") and event.get("thread_ts") != ts))
    gone = deleted_ts(event) or no_coach_ts(event)
    if gone and channel:
        context["withdrawn"] = await asyncio.to_thread(_withdraw, deps.store, team, channel, gone)
    elif new_draft and channel:
        draft = Draft(text=mrkdwn.unescape(event.get("text") or ""), source="channel", workspace=team,
                      channel=channel, channel_type=_channel_type(event), user=event.get("user", ""), message_ts=ts)
        # Watched or not, and how to reply, is read with the record; exactly once per message, across Slack's
        # retries, duplicate deliveries, restarts and instances.
        context["admitted"] = await deps.intake.admit(draft, claim=f"msg:{team}:{channel}:{ts}", watched_only=True,
                                                      env_watched=channel in deps.settings.watch_channels)
    await next()
    return None


def deleted_ts(event: dict) -> str | None:
    """The ts of a top-level human message this event says was deleted: a ``message_deleted``, or the
    ``message_changed`` to a tombstone that Slack sends instead when the message has thread replies (ours)."""
    previous = event.get("previous_message") or {}
    if event.get("subtype") == "message_deleted":
        ts = event.get("deleted_ts")
    elif event.get("subtype") == "message_changed" and (event.get("message") or {}).get("subtype") == "tombstone":
        ts = event["message"].get("ts")
    else:
        return None
    if previous.get("bot_id") or previous.get("thread_ts") not in (None, ts):
        return None  # a bot's message (our own replies among them) or a thread reply: never a draft we checked
    return ts or None


def no_coach_ts(event: dict) -> str | None:
    """The ts of a top-level human message its author edited to add ``[no-coach]``: taken out of coaching, it is
    withdrawn as a deleted draft is (the refused edit alone left our reply up and the draft's words stored)."""
    message = event.get("message") or {}
    if event.get("subtype") != "message_changed" or not is_edit(event) or message.get("bot_id"):
        return None
    if message.get("thread_ts") not in (None, message.get("ts")):
        return None  # a thread reply: never a draft we checked
    return message.get("ts") if marked_no_coach(mrkdwn.unescape(message.get("text") or "")) else None


def is_edit(event: dict) -> bool:
    """Whether a ``message_changed`` is its author's edit. Slack sends one as well when a link unfurls or a reply
    joins the thread (the text unchanged, no new ``edited``) and when a message with replies is deleted (a
    tombstone): none of those is checked again."""
    message, previous = event.get("message") or {}, event.get("previous_message") or {}
    return ((message.get("subtype") or None) in DRAFT_SUBTYPES and bool(message.get("edited"))
            and message.get("text") != previous.get("text"))


def _withdraw(store: Store, team: str, channel: str, ts: str) -> dict | None:
    """Erase the check of a deleted draft, once however often the deletion is delivered; the check, or None."""
    check = store.find_check_by_message(team, channel, ts)
    return None if check is None else store.withdraw_check(check["id"], claim=withdrawal_key(team, channel, ts))


async def handle_message(body: dict, client: Any, deps: Deps, admitted: Outcome | None = None,
                         withdrawn_check: dict | None = None) -> None:
    event = body.get("event") or {}
    if withdrawn_check is not None:
        # The author withdrew the draft, deleting it or adding [no-coach] (its words were erased before the ack): our
        # public reply goes too.
        await delete_reply(deps, client, withdrawn_check)
        await asyncio.to_thread(deps.store.checkpoint)
        return
    if event.get("subtype") == "message_changed":
        if is_edit(event):
            team = body.get("team_id") or event.get("team") or ""
            await _handle_edit(deps, client, team, event.get("channel", ""), event)
        return
    # Joins, bots (ours included), broadcasts, thread replies and unwatched channels were never admitted.
    if admitted is not None and not admitted.refused:
        deps.spawn(_answer_message(deps, client, admitted))


def _channel_type(event: dict) -> str:
    kind = event.get("channel_type") or ""
    return {"channel": "public", "group": "private"}.get(kind, kind)


async def _answer_message(deps: Deps, client: Any, admitted: Outcome) -> None:
    check_id_var.set(str(admitted.check_id))
    async with deps.intake.answering(admitted) as outcome:
        if outcome.lost or outcome.verdict is None:
            return
        d = outcome.draft
        if await withdrawn(deps, client, outcome.check_id, d.workspace, d.channel, d.message_ts):
            return  # deleted while it was being checked: nothing to say about it
        if outcome.verdict.label == "not-a-proposal":
            return
        await post_reply(deps, client, outcome.check_id, d.text, outcome.verdict, d.channel, d.user,
                         d.message_ts or "", d.reply_mode, workspace=d.workspace)


async def _handle_edit(deps: Deps, client: Any, team: str, channel: str, event: dict) -> None:
    message = event.get("message") or {}
    if message.get("bot_id") or not message.get("ts"):
        return
    # Edited while the first check is still running (on any instance): wait for its answer, then check the new text.
    previous = await deps.intake.settled(team, channel, message["ts"])
    # Re-check only drafts that got a reply: a threaded (or shared) one, or, in private mode, an ephemeral.
    private = (previous or {}).get("reply_mode") == "private" and (previous or {}).get("label") not in (
        None, "not-a-proposal")
    if previous is None or not (previous.get("reply_ts") or private):
        return
    if await withdrawn(deps, client, previous["id"], team, channel, message["ts"]):
        return  # a late delivery of an edit to a draft since deleted
    edited = message.get("edited", {}).get("ts") or event.get("event_ts")
    draft = Draft(text=mrkdwn.unescape(message.get("text") or ""), source=previous["source"], workspace=team, channel=channel,
                  user=previous["user"] or message.get("user", ""), message_ts=message["ts"],
                  reply_mode=previous.get("reply_mode"))
    admitted = await deps.intake.admit(draft, check_id=previous["id"],
                                       claim=f"edit:{team}:{channel}:{message['ts']}:{edited}")
    if admitted.refused:
        return
    outcome = await deps.intake.finish(admitted, new_text=True)
    if outcome.verdict is None or await withdrawn(deps, client, previous["id"], team, channel, message["ts"]):
        return
    if previous.get("reply_ts"):
        names = await deps.names.of(client, team, outcome.verdict.reframe)
        msg = blocks.build_thread_note(outcome.verdict, previous["id"], edited=True, names=names)
        await client.chat_update(channel=previous["reply_channel"], ts=previous["reply_ts"], **msg)
        return
    # Private mode, not shared: an ephemeral cannot be updated, so the author gets a fresh one. Like the first,
    # it goes to the channel, not a thread: Slack shows ephemeral thread messages only in threads that exist.
    change = f"edited: score {previous.get('customer_ease') or 0} → {outcome.verdict.customer_ease}"
    msg = blocks.build_verdict_message(draft.text, outcome.verdict, previous["id"], share=deps.settings.store_text,
                                       change=change)
    await client.chat_postEphemeral(channel=channel, user=previous["user"], **msg)


# -- buttons and modals ------------------------------------------------------------------------
_ACTIONS = {"mc_accept": "accepted", "mc_keep": "kept-original", "mc_disagree": "disputed", "mc_why": "why",
            "mc_share": "shared"}


async def handle_action(ack: Any, body: dict, client: Any, respond: Any, deps: Deps) -> None:
    await ack()
    action = body["actions"][0]
    kind = _ACTIONS.get(action.get("action_id", ""))
    try:
        check_id = int(action.get("value") or 0)
    except ValueError:
        check_id = 0
    user, team = (body.get("user") or {}).get("id", ""), payload_team(body)
    check = await asyncio.to_thread(deps.store.get_check, check_id) if check_id > 0 else None
    # A check of another workspace is not there for this one: same answer as a check that is gone.
    if kind is None or check is None or check.get("workspace") != team:
        await respond(text="That check is no longer available.", response_type="ephemeral", replace_original=False)
        return
    # Every button acts on one person's check: its author may use it, and admins; nobody else.
    if user != check.get("user") and not await is_admin(deps, client, user):
        log.info("refused a %s click on another person's check", kind)
        await respond(text=NOT_YOURS, response_type="ephemeral", replace_original=False)
        return
    verdict = Verdict.model_validate_json(check["verdict_json"]) if check.get("verdict_json") else None
    words = check.get("draft_text") is not None  # else stored stripped: text off, retention or forget
    if kind == "shared":
        if verdict is not None:
            await share_in_thread(deps, client, respond, check, verdict, user)
        return
    # One decision per check and person: a second click (or a change of mind) replaces the first.
    decision_id = await asyncio.to_thread(deps.store.record_decision, check_id, kind, user=user)
    if kind in ("kept-original", "disputed") and body.get("trigger_id"):
        public = check.get("channel_type") == "public"
        await client.views_open(trigger_id=body["trigger_id"],
                                view=blocks.build_reason_modal(decision_id, kind, public=public))
    elif kind == "why" and verdict is not None:
        await respond(text=blocks.build_why(verdict, motive_titles(deps), words=words), response_type="ephemeral",
                      replace_original=False)
    elif kind == "accepted" and verdict is not None:
        if verdict.label in ("inside-out", "mixed"):  # using the reframing agrees with the verdict's reading
            await asyncio.to_thread(deps.store.label_from_decision, decision_id, verdict.label, user=user,
                                    workspace=team)
        await respond(text=blocks.build_answer(kind, verdict.reframe, words=words), response_type="ephemeral",
                      replace_original=False)


async def handle_as_proposal(ack: Any, body: dict, respond: Any, deps: Deps) -> None:
    """*Read it as a proposal*, under a draft an explicit check dismissed: the same draft (carried by the button)
    is checked again as one its author calls a proposal, and the answer replaces the dismissal in place."""
    await ack()
    action = (body.get("actions") or [{}])[0]
    draft = action.get("value") or ""
    user, team = (body.get("user") or {}).get("id", ""), payload_team(body)
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or user
    if not deps.accepting:
        await respond(text=RESTARTING, response_type="ephemeral", replace_original=False)
        return
    # The press disagrees with the dismissal: logged on that check like Disagree, with what it says.
    _, _, dismissed = (action.get("block_id") or "").rpartition("_")
    check = await asyncio.to_thread(deps.store.get_check, int(dismissed)) if dismissed.isdigit() else None
    if check is not None and check.get("workspace") == team and check.get("user") == user:
        await asyncio.to_thread(deps.store.record_decision, check["id"], "disputed", user=user,
                                reason=blocks.AS_PROPOSAL_REASON)
    admitted = await deps.intake.admit(Draft(text=draft, source=SLASH_PROPOSAL, workspace=team, channel=channel,
                                             user=user), reply_url=body.get("response_url") or None)
    if admitted.refused:
        await respond(text=_REFUSED[admitted.refused], response_type="ephemeral", replace_original=False)
        return
    deps.spawn(_answer_command(deps, respond, admitted))


async def handle_reason_submission(ack: Any, body: dict, view: dict, deps: Deps) -> None:
    await ack()
    reason = (((view.get("state") or {}).get("values") or {}).get("reason") or {}).get("text", {}).get("value")
    try:
        decision_id = int(view.get("private_metadata") or 0)
    except ValueError:
        return
    user, team = (body.get("user") or {}).get("id", ""), payload_team(body)
    if reason:
        await asyncio.to_thread(deps.store.set_decision_reason, decision_id, reason[:1000], user=user, workspace=team)
    chosen = ((((view.get("state") or {}).get("values") or {}).get("label") or {}).get("value") or {})
    label = (chosen.get("selected_option") or {}).get("value")
    if label in LABELS:
        await asyncio.to_thread(deps.store.label_from_decision, decision_id, label, user=user, workspace=team)


async def handle_draft_submission(ack: Any, body: dict, view: dict, client: Any, deps: Deps) -> None:
    text = (((view.get("state") or {}).get("values") or {}).get("draft") or {}).get("text", {}).get("value") or ""
    if not text.strip():
        await ack(response_action="errors", errors={"draft": "Paste a draft to check."})
        return
    user, team = (body.get("user") or {}).get("id", ""), payload_team(body)
    channel = view.get("private_metadata") or user
    draft, source = slash_draft(text)
    # Recorded before the ack, as the slash command's draft is (one small write, shared by a burst), so a crash
    # after the ack cannot lose it: whichever instance finishes the check answers.
    admitted = await deps.intake.admit(Draft(text=draft, source=source, workspace=team, channel=channel, user=user))
    await ack()
    deps.spawn(_answer_modal(deps, client, admitted))


async def _answer_modal(deps: Deps, client: Any, admitted: Outcome) -> None:
    draft = admitted.draft
    async with deps.intake.answering(admitted) as outcome:
        if outcome.lost:
            return
        if outcome.verdict is None:
            reason = _REFUSED.get(outcome.refused or "") or f"I couldn't check that: {outcome.error}"
            await _post_privately(client, draft, {"text": reason})
            return
        async with quick_read_today(deps, draft.workspace, draft.channel, outcome.verdict) as quick:
            await _post_privately(client, draft, blocks.build_verdict_message(draft.text, outcome.verdict,
                                                                               outcome.check_id, quick_read=quick))


async def _post_privately(client: Any, draft: Draft, msg: dict[str, Any]) -> None:
    try:
        await client.chat_postEphemeral(channel=draft.channel, user=draft.user, **msg)
    except Exception:  # noqa: BLE001 - e.g. not in channel: fall back to a DM (the app's Messages tab)
        await client.chat_postMessage(channel=draft.user, **msg)


# -- App Home and the workflow step ------------------------------------------------------------
async def handle_home(body: dict, client: Any, deps: Deps) -> None:
    event = body.get("event") or {}
    if event.get("tab") not in (None, "home"):
        return
    user, team = event.get("user", ""), body.get("team_id", "")
    checks = await asyncio.to_thread(deps.store.recent_checks, 20, workspace=team, user=user)
    proposals = [c for c in checks if c.get("label") not in (None, "not-a-proposal")]
    share = sum(c["label"] == "outside-in" for c in proposals) / len(proposals) if proposals else None
    admin_lines: list[str] = []
    if await is_admin(deps, client, user):
        watched = await asyncio.to_thread(deps.store.watched_channels, team)
        env = deps.settings.watch_channels
        # A channel the setting names may also have options set here: one line for it, saying both.
        names = [f"<#{w['channel']}> ({w.get('reply_mode') or 'thread'}"
                 + (", from MOTIVECHECK_WATCH_CHANNELS)" if w["channel"] in env else ")") for w in watched]
        listed = {w["channel"] for w in watched}
        names += [f"<#{c}> (from MOTIVECHECK_WATCH_CHANNELS)" for c in env if c not in listed]
        digest = await asyncio.to_thread(deps.store.get_setting, team, "digest_channel", deps.settings.digest_channel)
        problem = await asyncio.to_thread(deps.store.get_setting, team, "last_delivery_error")
        when = await asyncio.to_thread(workspace_schedule, deps.store, deps.settings, team)
        admin_lines = [f"Watched channels: {', '.join(names) or 'none yet'}",
                       f"Digest channel: {('<#' + digest + '>') if digest else 'not set'}; {when} "
                       + ("(set here; `/motivecheck digest time default` goes back to the app's default)" if when.set_here
                          else "(the app's default; `/motivecheck digest time mon 09:00 Europe/Berlin` sets yours)")]
        if problem:
            admin_lines.append(f"Last delivery problem: {problem}")
        head = await asyncio.to_thread(deps.store.active_head, team)
        labels = await asyncio.to_thread(deps.store.labels_for, team)
        admin_lines.append(f"Coach's head: {f'this workspace’s own (v{head[0]})' if head else 'the shipped one'}; "
                           f"{len(labels)} label(s) from your team to learn from (`/motivecheck retrain`).")
    try:
        engine = deps.checker.resolve_engine(None)
    except InputError:
        engine = ""
    view = blocks.build_home(proposals, share, deps.checker.default_playbook.name, admin_lines,
                             quickread.note(engine, deps.settings.llm_configured))
    await client.views_publish(user_id=user, view=view)


MENTION_HINT = ("Hi! I coach drafts privately: type `/motivecheck` and your draft (or nothing, for a bigger box). "
                "`/motivecheck help` lists everything I can do.")


async def handle_mention(body: dict, client: Any, deps: Deps) -> None:
    """Someone @-mentioned the app: tell them, privately, how to use it (no thread: it may not exist yet), once
    however often Slack delivers the mention."""
    event = body.get("event") or {}
    if not event.get("user") or not event.get("channel") or event.get("bot_id"):
        return
    key = f"mention:{_team_of(body)}:{event['channel']}:{event.get('ts') or event.get('event_ts') or ''}"
    if not await asyncio.to_thread(deps.store.claim_event, key):
        return  # a retry, or a duplicate delivery
    try:
        await client.chat_postEphemeral(channel=event["channel"], user=event["user"], text=MENTION_HINT)
    except Exception as exc:  # noqa: BLE001 - a hint is best effort; a later delivery may try again
        log.info("could not answer a mention: %s", type(exc).__name__)
        await asyncio.to_thread(deps.store.release_event, key)


def payload_team(body: dict) -> str:
    """The workspace a click or a form comes from: its team, else (an org-wide install may send no team) the
    clicking person's team, else the org."""
    return ((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
            or (body.get("enterprise") or {}).get("id") or "")


def _team_of(body: dict) -> str:
    """The workspace an event belongs to: its team id, else its authorization's, else the enterprise (org-wide)."""
    auth = (body.get("authorizations") or [{}])[0] or {}
    return body.get("team_id") or auth.get("team_id") or body.get("enterprise_id") or auth.get("enterprise_id") or ""


def _step_channel(inputs: dict, event: dict) -> str:
    for value in (inputs.get("channel"), inputs.get("channel_id"), event.get("channel")):
        if isinstance(value, str) and value:
            return value
    return ""


def step_user(inputs: dict) -> str:
    """The person who ran the workflow, from Slack's ``user_context`` input: Workflow Builder sets it and a
    builder cannot type it, unlike a free ``user`` input, which is never trusted."""
    context = inputs.get("user_context")
    return context.get("id", "") if isinstance(context, dict) and isinstance(context.get("id"), str) else ""


_STEP_REFUSED = {
    OPTED_OUT: "Not checked: the author has opted out of Motive Coach (`/motivecheck optin` resumes).",
    NO_COACH: "Not checked: the draft is marked [no-coach].",
    EMPTY: "the draft is empty: give the text of a proposal to check",
}


async def handle_check_function(body: dict, inputs: dict, complete: Any, fail: Any, client: Any, deps: Deps) -> None:
    """The Workflow Builder step ``check_draft``: complete with label, score and reframe, or fail; never hang.

    The draft takes the one road, stored with the workspace (see ``_team_of``), the person from Slack's
    ``user_context`` and the channel input. A refused draft (opted-out author, ``[no-coach]``, empty) *fails* the
    step saying why: completing would need a made-up label and score that later steps would act on. Any unexpected
    error is logged (by type, never the draft) and fails the step with a short message.

    The reframe output names the people it mentions as text ("@Dana Smith", ``mrkdwn.quiet``): a later step may post
    it in a channel, and a mention posted is a mention made. The stored verdict keeps the mentions as written.
    """
    event = body.get("event") or {}
    draft = Draft(text=inputs.get("draft") or "", source="workflow", workspace=_team_of(body),
                  channel=_step_channel(inputs, event), user=step_user(inputs))
    try:
        async with deps.intake.answering(await deps.intake.admit(draft)) as outcome:
            if outcome.lost:
                return
            if outcome.refused:
                await fail(error=_STEP_REFUSED[outcome.refused])
            elif outcome.verdict is None:
                await fail(error=outcome.error or "the draft could not be checked")
            else:
                v = outcome.verdict
                reframe = mrkdwn.quiet(v.reframe or "", await deps.names.of(client, draft.workspace, v.reframe))
                await complete(outputs={"label": v.label, "score": v.customer_ease, "reframe": reframe})
    except Exception as exc:  # noqa: BLE001 - the step must end; the message may quote the draft, so log the type
        log.error("workflow check failed: %s", type(exc).__name__)
        await fail(error="Motive Coach couldn't check this draft (an internal error). Please try again later.")


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire every listener in one table. Bolt injects arguments by name, so each wrapper names its own."""

    async def on_command(ack, body, client, respond):  # noqa: ANN001
        deps.note_request()
        await handle_command(ack, body, client, respond, deps)

    async def on_message(body, client, context):  # noqa: ANN001
        deps.note_request()
        await handle_message(body, client, deps, context.get("admitted"), context.get("withdrawn"))

    async def before_message_ack(body, context, next):  # noqa: ANN001, A002
        return await admit_message(body, context, next, deps)

    async def on_home(body, client):  # noqa: ANN001
        await handle_home(body, client, deps)

    async def on_action(ack, body, client, respond):  # noqa: ANN001
        deps.note_request()
        await handle_action(ack, body, client, respond, deps)

    async def on_as_proposal(ack, body, respond):  # noqa: ANN001
        deps.note_request()
        await handle_as_proposal(ack, body, respond, deps)

    async def on_reason(ack, body, view):  # noqa: ANN001
        await handle_reason_submission(ack, body, view, deps)

    async def on_draft(ack, body, view, client):  # noqa: ANN001
        await handle_draft_submission(ack, body, view, client, deps)

    async def on_function(body, inputs, complete, fail, client):  # noqa: ANN001
        await handle_check_function(body, inputs, complete, fail, client, deps)

    async def on_mention(body, client):  # noqa: ANN001
        await handle_mention(body, client, deps)

    app.command("/motivecheck")(on_command)
    app.event("message", middleware=[before_message_ack])(on_message)
    app.event("app_home_opened")(on_home)
    for action_id in _ACTIONS:
        app.action(action_id)(on_action)
    app.action(blocks.AS_PROPOSAL)(on_as_proposal)
    app.view("mc_reason_modal")(on_reason)
    app.view("mc_draft_modal")(on_draft)
    app.function("check_draft")(on_function)
    app.event("app_mention")(on_mention)
