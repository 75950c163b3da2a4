"""Thin Bolt listeners: acknowledge at once, hand the work to plain coroutines, build blocks in blocks.py."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp

from ..checker import Checker
from ..config import PLAYBOOKS_DIR, Settings
from ..errors import InputError, PlaybookError
from ..logs import check_id_var
from ..pending import PendingWriter
from ..playbook import resolve_path
from ..store import Store
from ..verdict import Verdict
from . import blocks

log = logging.getLogger(__name__)
OPT_OUT_MARKER = "[no-coach]"
OPTOUT_TTL = 30.0  # seconds an in-memory opt-out list is trusted before it is read again
ACK_QUIET = 0.02  # background work starts once no Slack request has arrived for this long...
ACK_PRIORITY_MAX = 1.0  # ...or after this long, so a steady stream of requests cannot starve it
_PLAYBOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_CHANNEL_REF = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>|^([CG][A-Z0-9]+)$")


@dataclass
class Deps:
    settings: Settings
    checker: Checker
    store: Store
    tasks: set[asyncio.Task] = field(default_factory=set)
    accepting: bool = True
    pending: PendingWriter | None = None
    authorize: Any = None  # app.OneAuthTest: the bot token's client and its one auth.test
    _optouts: set[tuple[str, str]] | None = None
    _optouts_loaded: float = 0.0
    _optouts_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _last_request: float = 0.0

    async def record_pending(self, draft: str, **fields: Any) -> int:
        """Record accepted work before the ack; a burst shares a few transactions (see bot/pending.py)."""
        return await self._pending_writer().record(draft, status="pending", **fields)

    def _pending_writer(self) -> PendingWriter:
        if self.pending is None:
            self.pending = PendingWriter(self.store)
        return self.pending

    async def warm_up(self) -> None:
        """Start the pending writer (and its database connection) and read the opt-outs before serving."""
        self._pending_writer()
        await self.opted_out("", "")

    async def opted_out(self, team: str, user: str) -> bool:
        """Opt-outs from memory, reloaded every OPTOUT_TTL seconds (other processes may change them)."""
        if self._optouts is None or time.monotonic() - self._optouts_loaded > OPTOUT_TTL:
            async with self._optouts_lock:
                if self._optouts is None or time.monotonic() - self._optouts_loaded > OPTOUT_TTL:
                    self._optouts = await asyncio.to_thread(self.store.optouts)
                    self._optouts_loaded = time.monotonic()
        return (team, user) in self._optouts

    async def set_optout(self, team: str, user: str, opted_out: bool) -> None:
        await asyncio.to_thread(self.store.set_optout, team, user, opted_out)
        if self._optouts is not None:
            (self._optouts.add if opted_out else self._optouts.discard)((team, user))

    def spawn(self, coro: Any) -> None:
        """Run work after the ack; keep a reference so it is not collected and can be drained."""
        task = asyncio.get_running_loop().create_task(self._after_acks(coro))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def note_request(self) -> None:
        """Called as each command, message or click reaches its listener (HTTP and Socket Mode alike)."""
        self._last_request = time.monotonic()

    async def _after_acks(self, coro: Any) -> Any:
        """Acks first: background work waits for a quiet moment, at most ACK_PRIORITY_MAX seconds.

        Everything shares one event loop, and starting a check (building an LLM request) costs a few
        milliseconds of CPU; during a burst of commands that would push later acks past Slack's limit.
        """
        give_up = time.monotonic() + ACK_PRIORITY_MAX
        while (now := time.monotonic()) < give_up:
            quiet_for = now - self._last_request
            if quiet_for >= ACK_QUIET:
                break
            await asyncio.sleep(ACK_QUIET - quiet_for)
        return await coro


def _channel_id(arg: str, default: str) -> str:
    m = _CHANNEL_REF.search(arg.strip()) if arg.strip() else None
    return (m.group(1) or m.group(2)) if m else default


async def _is_admin(deps: Deps, client: Any, user: str) -> bool:
    if user in deps.settings.admins:
        return True
    try:
        info = await client.users_info(user=user)
        u = info.get("user") or {}
        return bool(u.get("is_admin") or u.get("is_owner"))
    except Exception:  # noqa: BLE001 - unknown means no
        return False


def _watched(deps: Deps, team: str, channel: str) -> dict[str, Any] | None:
    row = deps.store.channel_settings(team, channel)
    if row is None and channel in deps.settings.watch_channels:
        row = {"workspace": team, "channel": channel, "reply_mode": "thread", "playbook": None}
    return row


# -- /motivecheck ------------------------------------------------------------------------------
async def handle_command(ack: Any, body: dict, client: Any, respond: Any, deps: Deps) -> None:
    text = (body.get("text") or "").strip()
    team, user, channel = body.get("team_id", ""), body.get("user_id", ""), body.get("channel_id", "")
    word, _, rest = text.partition(" ")
    word = word.lower()
    if not text:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=blocks.build_draft_modal(channel))
        return
    if word == "help":
        await ack(text=blocks.HELP)
        return
    if word in ("optout", "optin"):
        await deps.set_optout(team, user, word == "optout")
        await ack(text="You're opted out: your messages won't be checked or stored." if word == "optout"
                  else "You're opted in again. Thanks!")
        return
    if word == "stats":
        await ack(text=await asyncio.to_thread(_user_stats, deps.store, team, user))
        return
    if word in ("watch", "unwatch", "mode", "playbook", "digest"):
        await ack()
        deps.spawn(_admin_command(deps, client, respond, team, user, channel, word, rest))
        return
    if not deps.accepting:
        await ack(text="Motive Coach is restarting; please try again in a minute.")
        return
    if await deps.opted_out(team, user):
        await ack(text="You're opted out, so I won't check this. `/motivecheck optin` to resume.")
        return
    # Record the work before acknowledging, so a crash after the ack cannot lose it.
    check_id = await deps.record_pending(text, source="slash", workspace=team, channel=channel, user=user)
    await ack(text="Checking your draft…")
    deps.spawn(_answer_command(deps, respond, text, check_id, team, channel))


async def _answer_command(deps: Deps, respond: Any, draft: str, check_id: int, team: str, channel: str) -> None:
    check_id_var.set(str(check_id))
    try:
        verdict, usage = await deps.checker.aassess(draft, playbook=_playbook_for(deps, team, channel))
    except InputError as exc:
        await asyncio.to_thread(deps.store.update_check, check_id, status="failed")
        await respond(text=f"I couldn't check that: {exc}", response_type="ephemeral")
        return
    await asyncio.to_thread(deps.store.complete_check, check_id, verdict, usage=usage)
    log.info("slash check done", extra={"label": verdict.label, "engine": verdict.engine})
    await respond(response_type="ephemeral", replace_original=True,
                  **blocks.build_verdict_message(draft, verdict, check_id))


def _playbook_for(deps: Deps, team: str, channel: str) -> str | None:
    row = deps.store.channel_settings(team, channel)
    return (row or {}).get("playbook") or None


def _playbook_name_problem(name: str) -> str | None:
    """Why ``name`` can't be a channel's playbook, or None. Channels take names of playbooks in the playbook
    directory only, never file paths (the CLI's ``--playbook`` still takes paths: that is the server's owner)."""
    known = sorted(p.stem for p in PLAYBOOKS_DIR.glob("*.y*ml"))
    hint = "Give a playbook name: " + ", ".join(f"`{k}`" for k in known) + "."
    if any(bad in name for bad in ("/", "\\", "..")) or not _PLAYBOOK_NAME.fullmatch(name) \
            or name.lower().endswith((".yaml", ".yml")):
        return f"`{blocks.escape(name)}` is not a playbook name. {hint}"
    try:
        path = resolve_path(name)
    except PlaybookError:
        return f"there's no playbook named `{blocks.escape(name)}`. {hint}"
    if path.parent.resolve() != PLAYBOOKS_DIR.resolve():  # e.g. a same-named file in the working directory
        return f"`{blocks.escape(name)}` is not one of the installed playbooks. {hint}"
    return None


def _user_stats(store: Store, team: str, user: str) -> str:
    counts = store.user_label_counts(team, user)
    proposals = sum(n for label, n in counts.items() if label != "not-a-proposal")
    if not proposals:
        return "No proposals checked yet. Try `/motivecheck <your draft>`."
    share = counts.get("outside-in", 0) / proposals
    used = store.user_decision_counts(team, user)
    return (f"You've checked {proposals} proposal(s): {share:.0%} outside-in, {counts.get('mixed', 0)} mixed, "
            f"{counts.get('inside-out', 0)} inside-out. Reframes used: {used.get('accepted', 0)}, kept yours: "
            f"{used.get('kept-original', 0)}, disagreed: {used.get('disputed', 0)}.")


async def _admin_command(deps: Deps, client: Any, respond: Any, team: str, user: str, channel: str, word: str,
                         rest: str) -> None:
    if not await _is_admin(deps, client, user):
        await respond(text="Sorry — only workspace admins (or people in MOTIVECHECK_ADMINS) can change that.",
                      response_type="ephemeral")
        return
    args = rest.split()
    if word == "watch":
        target = _channel_id(rest, channel)
        await asyncio.to_thread(deps.store.watch, team, target, added_by=user)
        msg = f"Watching <#{target}>: new drafts there get a threaded reply. Invite me to the channel if I'm not in it."
    elif word == "unwatch":
        target = _channel_id(rest, channel)
        removed = await asyncio.to_thread(deps.store.unwatch, team, target)
        msg = f"Stopped watching <#{target}>." if removed else f"<#{target}> wasn't watched."
    elif word == "mode" and args and args[0] in ("thread", "private"):
        target = _channel_id(" ".join(args[1:]), channel)
        await asyncio.to_thread(deps.store.set_channel_option, team, target, reply_mode=args[0])
        msg = f"Replies in <#{target}> will be {'in thread' if args[0] == 'thread' else 'private to the author'}."
    elif word == "playbook" and args:
        target = _channel_id(" ".join(args[1:]), channel)
        problem = _playbook_name_problem(args[0])
        if problem:
            await respond(text=f"Can't use that playbook: {problem}", response_type="ephemeral")
            return
        try:
            deps.checker.playbook(args[0])
        except Exception as exc:  # noqa: BLE001 - shown to the admin
            await respond(text=f"Can't use that playbook: {exc}", response_type="ephemeral")
            return
        await asyncio.to_thread(deps.store.set_channel_option, team, target, playbook=args[0])
        msg = f"<#{target}> now uses the `{args[0]}` playbook."
    elif word == "digest" and len(args) >= 2 and args[0] == "channel":
        target = _channel_id(" ".join(args[1:]), channel)
        await asyncio.to_thread(deps.store.set_setting, team, "digest_channel", target)
        msg = f"The weekly digest will go to <#{target}>."
    else:
        msg = "I didn't understand that. " + blocks.HELP
    await respond(text=msg, response_type="ephemeral")


# -- channel messages --------------------------------------------------------------------------
async def handle_message(body: dict, client: Any, deps: Deps) -> None:
    event = body.get("event") or {}
    subtype = event.get("subtype")
    team = body.get("team_id") or event.get("team") or ""
    channel = event.get("channel", "")
    if subtype == "message_changed":
        await _handle_edit(deps, client, team, channel, event)
        return
    if subtype is not None or event.get("bot_id") or event.get("bot_profile"):
        return  # joins, bots (ours included), deletions, broadcasts...
    ts = event.get("ts", "")
    if event.get("thread_ts") and event.get("thread_ts") != ts:
        return  # thread replies are conversation, not drafts
    settings_row = await asyncio.to_thread(_watched, deps, team, channel)
    if settings_row is None or not deps.accepting:
        return
    text = event.get("text") or ""
    user = event.get("user", "")
    if OPT_OUT_MARKER in text.lower() or await deps.opted_out(team, user):
        return  # opted out: neither checked nor stored
    # Exactly once per message, across Slack's retries, duplicate deliveries and restarts.
    if not await asyncio.to_thread(deps.store.claim_event, f"msg:{team}:{channel}:{ts}"):
        return
    if not text.strip():
        return
    check_id = await deps.record_pending(text, source="channel", workspace=team, channel=channel,
                                        channel_type=_channel_type(event), user=user, message_ts=ts,
                                        reply_mode=settings_row.get("reply_mode") or "thread")
    deps.spawn(_answer_message(deps, client, check_id, text, team, channel, user, ts, settings_row))


def _channel_type(event: dict) -> str:
    kind = event.get("channel_type") or ""
    return {"channel": "public", "group": "private"}.get(kind, kind)


async def _answer_message(deps: Deps, client: Any, check_id: int, text: str, team: str, channel: str, user: str,
                          ts: str, settings_row: dict) -> None:
    check_id_var.set(str(check_id))
    try:
        verdict, usage = await deps.checker.aassess(text, playbook=settings_row.get("playbook") or None)
    except InputError:
        await asyncio.to_thread(deps.store.update_check, check_id, status="failed")
        return
    await asyncio.to_thread(deps.store.complete_check, check_id, verdict, usage=usage)
    if verdict.label == "not-a-proposal":
        return
    await _post_reply(deps, client, check_id, text, verdict, channel, user, ts, settings_row.get("reply_mode"))


async def _post_reply(deps: Deps, client: Any, check_id: int, text: str, verdict: Verdict, channel: str, user: str,
                      ts: str, mode: str | None) -> None:
    try:
        if mode == "private":
            msg = blocks.build_verdict_message(text, verdict, check_id, share=True)
            await client.chat_postEphemeral(channel=channel, user=user, thread_ts=ts, **msg)
            return
        msg = blocks.build_verdict_message(text, verdict, check_id)
        resp = await client.chat_postMessage(channel=channel, thread_ts=ts, **msg)
        await asyncio.to_thread(deps.store.update_check, check_id, reply_channel=channel, reply_ts=resp["ts"])
    except Exception as exc:  # noqa: BLE001 - reported, never a crash loop
        error = getattr(getattr(exc, "response", None), "get", lambda _k: None)("error") or type(exc).__name__
        log.warning("could not reply in %s: %s", channel, error)
        # Admins see the last delivery problem on App Home (e.g. not_in_channel: invite the bot).
        team = (await asyncio.to_thread(deps.store.get_check, check_id) or {}).get("workspace", "")
        await asyncio.to_thread(deps.store.set_setting, team, "last_delivery_error",
                                f"{time.strftime('%Y-%m-%d %H:%M')} UTC, <#{channel}>: {error}")


async def _handle_edit(deps: Deps, client: Any, team: str, channel: str, event: dict) -> None:
    message = event.get("message") or {}
    if message.get("bot_id") or not message.get("ts"):
        return
    previous = await asyncio.to_thread(deps.store.find_check_by_message, team, channel, message["ts"])
    # Re-check only drafts that got a reply: a threaded (or shared) one, or, in private mode, an ephemeral.
    private = (previous or {}).get("reply_mode") == "private" and (previous or {}).get("label") not in (
        None, "not-a-proposal")
    if previous is None or not (previous.get("reply_ts") or private):
        return
    text = message.get("text") or ""
    if not text.strip() or OPT_OUT_MARKER in text.lower():
        return
    edit_key = f"edit:{team}:{channel}:{message['ts']}:{message.get('edited', {}).get('ts') or event.get('event_ts')}"
    if not await asyncio.to_thread(deps.store.claim_event, edit_key):
        return
    settings_row = _watched(deps, team, channel) or {}
    verdict, usage = await deps.checker.aassess(text, playbook=settings_row.get("playbook") or None)
    before = previous.get("customer_ease") or 0
    await asyncio.to_thread(deps.store.complete_check, previous["id"], verdict, usage=usage, draft=text)
    change = f"edited: score {before} → {verdict.customer_ease}"
    if previous.get("reply_ts"):
        msg = blocks.build_verdict_message(text, verdict, previous["id"], change=change)
        await client.chat_update(channel=previous["reply_channel"], ts=previous["reply_ts"], **msg)
        return
    # Private mode, not shared: an ephemeral cannot be updated, so the author gets a fresh one.
    msg = blocks.build_verdict_message(text, verdict, previous["id"], share=True, change=change)
    await client.chat_postEphemeral(channel=channel, user=previous["user"], thread_ts=message["ts"], **msg)


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
        return
    user = (body.get("user") or {}).get("id", "")
    check = await asyncio.to_thread(deps.store.get_check, check_id)
    if kind is None or check is None:
        await respond(text="That check is no longer available.", response_type="ephemeral", replace_original=False)
        return
    verdict = Verdict.model_validate_json(check["verdict_json"]) if check.get("verdict_json") else None
    if kind == "shared":
        if verdict is not None:
            await _share(deps, client, respond, check, verdict, user)
        return
    decision_id = await asyncio.to_thread(deps.store.record_decision, check_id, kind, user=user)
    if kind in ("kept-original", "disputed") and body.get("trigger_id"):
        await client.views_open(trigger_id=body["trigger_id"], view=blocks.build_reason_modal(decision_id, kind))
    elif kind == "why" and verdict is not None:
        await respond(text=blocks.build_why(verdict), response_type="ephemeral", replace_original=False)
    elif kind == "accepted" and verdict is not None and verdict.reframe:
        await respond(text=f"Here's the reframing to paste into your draft:\n```{verdict.reframe}```",
                      response_type="ephemeral", replace_original=False)


async def _share(deps: Deps, client: Any, respond: Any, check: dict, verdict: Verdict, user: str) -> None:
    """Post a private verdict as a public threaded reply, once per check however often Share is clicked."""
    key = f"share:{check['id']}"
    if check.get("reply_ts") or not await asyncio.to_thread(deps.store.claim_event, key, check["id"]):
        await respond(text="Already shared in the thread.", response_type="ephemeral", replace_original=False)
        return
    msg = blocks.build_verdict_message(check.get("draft_text") or "", verdict, check["id"])
    try:
        resp = await client.chat_postMessage(channel=check["channel"], thread_ts=check["message_ts"], **msg)
    except Exception as exc:  # noqa: BLE001 - told to the author; the claim is released so they can retry
        await asyncio.to_thread(deps.store.release_event, key)
        error = getattr(getattr(exc, "response", None), "get", lambda _k: None)("error") or type(exc).__name__
        log.warning("could not share in %s: %s", check["channel"], error)
        await respond(text=f"I couldn't share that in the thread ({error}).", response_type="ephemeral",
                      replace_original=False)
        return
    # Remember the shared reply: a second click is refused and an edit of the draft updates this reply.
    await asyncio.to_thread(deps.store.update_check, check["id"], reply_channel=check["channel"], reply_ts=resp["ts"])
    await asyncio.to_thread(deps.store.record_decision, check["id"], "shared", user=user)


async def handle_reason_submission(ack: Any, body: dict, view: dict, deps: Deps) -> None:
    await ack()
    reason = (((view.get("state") or {}).get("values") or {}).get("reason") or {}).get("text", {}).get("value")
    if reason:
        await asyncio.to_thread(deps.store.set_decision_reason, int(view.get("private_metadata") or 0),
                                reason[:1000])


async def handle_draft_submission(ack: Any, body: dict, view: dict, client: Any, deps: Deps) -> None:
    text = (((view.get("state") or {}).get("values") or {}).get("draft") or {}).get("text", {}).get("value") or ""
    if not text.strip():
        await ack(response_action="errors", errors={"draft": "Paste a draft to check."})
        return
    await ack()
    user = (body.get("user") or {}).get("id", "")
    team = (body.get("team") or {}).get("id", "")
    channel = view.get("private_metadata") or user
    deps.spawn(_answer_modal(deps, client, text, team, channel, user))


async def _answer_modal(deps: Deps, client: Any, text: str, team: str, channel: str, user: str) -> None:
    result = await deps.checker.acheck(text, log=True, source="slash", workspace=team, channel=channel, user=user)
    msg = blocks.build_verdict_message(text, result.verdict, result.check_id)
    try:
        await client.chat_postEphemeral(channel=channel, user=user, **msg)
    except Exception:  # noqa: BLE001 - e.g. not in channel: fall back to a DM
        await client.chat_postMessage(channel=user, **msg)


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
    if await _is_admin(deps, client, user):
        watched = await asyncio.to_thread(deps.store.watched_channels, team)
        names = [f"<#{w['channel']}> ({w.get('reply_mode') or 'thread'})" for w in watched]
        names += [f"<#{c}> (from MOTIVECHECK_WATCH_CHANNELS)" for c in deps.settings.watch_channels]
        digest = await asyncio.to_thread(deps.store.get_setting, team, "digest_channel", deps.settings.digest_channel)
        problem = await asyncio.to_thread(deps.store.get_setting, team, "last_delivery_error")
        admin_lines = [f"Watched channels: {', '.join(names) or 'none yet'}",
                       f"Digest channel: {('<#' + digest + '>') if digest else 'not set'}; "
                       f"{deps.settings.digest_day} {deps.settings.digest_time} {deps.settings.timezone}"]
        if problem:
            admin_lines.append(f"Last delivery problem: {problem}")
    view = blocks.build_home(proposals, share, deps.checker.default_playbook.name, admin_lines)
    await client.views_publish(user_id=user, view=view)


def _team_of(body: dict) -> str:
    """The workspace an event belongs to: its team id, else its authorization's, else the enterprise (org-wide)."""
    auth = (body.get("authorizations") or [{}])[0] or {}
    return body.get("team_id") or auth.get("team_id") or body.get("enterprise_id") or auth.get("enterprise_id") or ""


def _step_id(inputs: dict, event: dict, name: str) -> str:
    for value in (inputs.get(name), inputs.get(f"{name}_id"), event.get(name)):
        if isinstance(value, str) and value:
            return value
    return ""


async def handle_check_function(body: dict, inputs: dict, complete: Any, fail: Any, deps: Deps) -> None:
    """The Workflow Builder step ``check_draft``: complete with label, score and reframe, or fail; never hang.

    The check is stored with the workspace (see ``_team_of``) and with the user and channel when the step's inputs
    (``user``/``user_id``, ``channel``/``channel_id``) or the event name them. If that user has opted out, the
    draft is neither checked nor stored and the step *fails* saying so: completing would need a made-up label and
    score that later steps would act on. Any unexpected error is logged (by type, never the draft) and fails the
    step with a short message.
    """
    event = body.get("event") or {}
    draft = inputs.get("draft") or ""
    team, user, channel = _team_of(body), _step_id(inputs, event, "user"), _step_id(inputs, event, "channel")
    try:
        if user and await deps.opted_out(team, user):
            await fail(error="Not checked: the author has opted out of Motive Coach (`/motivecheck optin` resumes).")
            return
        result = await deps.checker.acheck(draft, log=True, source="workflow", workspace=team, user=user,
                                           channel=channel)
        v = result.verdict
        await complete(outputs={"label": v.label, "score": v.customer_ease, "reframe": v.reframe or ""})
    except InputError as exc:
        await fail(error=str(exc))
    except Exception as exc:  # noqa: BLE001 - the step must end; the message may quote the draft, so log the type
        log.error("workflow check failed: %s", type(exc).__name__)
        await fail(error="Motive Coach couldn't check this draft (an internal error). Please try again later.")


def register(app: AsyncApp, deps: Deps) -> None:
    """Wire every listener in one table. Bolt injects arguments by name, so each wrapper names its own."""

    async def on_command(ack, body, client, respond):  # noqa: ANN001
        deps.note_request()
        await handle_command(ack, body, client, respond, deps)

    async def on_message(body, client):  # noqa: ANN001
        deps.note_request()
        await handle_message(body, client, deps)

    async def on_home(body, client):  # noqa: ANN001
        await handle_home(body, client, deps)

    async def on_action(ack, body, client, respond):  # noqa: ANN001
        deps.note_request()
        await handle_action(ack, body, client, respond, deps)

    async def on_reason(ack, body, view):  # noqa: ANN001
        await handle_reason_submission(ack, body, view, deps)

    async def on_draft(ack, body, view, client):  # noqa: ANN001
        await handle_draft_submission(ack, body, view, client, deps)

    async def on_function(body, inputs, complete, fail):  # noqa: ANN001
        await handle_check_function(body, inputs, complete, fail, deps)

    async def on_ignored(ack=None):  # noqa: ANN001
        return None

    app.command("/motivecheck")(on_command)
    app.event("message")(on_message)
    app.event("app_home_opened")(on_home)
    for action_id in _ACTIONS:
        app.action(action_id)(on_action)
    app.view("mc_reason_modal")(on_reason)
    app.view("mc_draft_modal")(on_draft)
    app.function("check_draft")(on_function)
    app.event("app_mention")(on_ignored)
