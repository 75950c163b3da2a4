"""Admin subcommands of /motivecheck, in one table: each parses its arguments and returns the admin's answer."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from .. import schedule
from ..config import PLAYBOOKS_DIR
from ..errors import InputError, PlaybookError
from ..playbook import resolve_path
from . import blocks
from .deps import Deps

log = logging.getLogger(__name__)
SOMETHING_WENT_WRONG = ("Sorry — something went wrong while changing that, so it may not have changed. Please try "
                        "again; if it keeps happening, ask whoever runs Motive Coach to look at its log.")
_PLAYBOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# A bare ID has a digit (C0123ABCD): a word in capitals (GENERAL) is a channel's name typed without #, not its ID.
_CHANNEL_REF = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>|([CG](?=[A-Z]*[0-9])[A-Z0-9]{2,})")


def channel_arg(text: str, default: str) -> str:
    """The channel an admin named (``<#C123|name>`` or ``C123``), the current one when none; else InputError."""
    text = text.strip()
    if not text and default.startswith("D"):  # Slack names the DM the command was typed in: no channel to watch
        raise InputError("this is a direct message, not a channel: name the channel (like #proposals), or run "
                         "the command in it.")
    if not text:
        return default
    m = _CHANNEL_REF.fullmatch(text)
    if m is None and text.startswith("#"):
        # What Slack sends when the command's escaping is off (an app set up from an older manifest).
        raise InputError(f"I couldn't read `{blocks.escape(text)}` as a channel: Slack sent it as plain text, not "
                         "as a link to the channel. Whoever manages the app can turn on \"Escape channels, "
                         "users, and links sent to your app\" for /motivecheck under Slash Commands in the app's "
                         "settings (`should_escape: true` in manifest.yml); until then, give the channel ID "
                         "(like C0123ABCD, from the channel's details) or run the command in that channel.")
    if m is None:
        raise InputError(f"I couldn't read `{blocks.escape(text)}` as a channel: mention it with # (like #proposals), "
                         "or leave it out for this channel.")
    return m.group(1) or m.group(2)


async def is_admin(deps: Deps, client: Any, user: str) -> bool:
    if user in deps.settings.admins:
        return True
    try:
        info = await client.users_info(user=user)
        u = info.get("user") or {}
        return bool(u.get("is_admin") or u.get("is_owner"))
    except Exception:  # noqa: BLE001 - unknown means no
        return False


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


# Admin subcommands: each takes (deps, team, user, channel, args) and returns the answer for the admin.
async def _watch(deps: Deps, team: str, user: str, channel: str, args: list[str]) -> str:
    target = channel_arg(" ".join(args), channel)
    await asyncio.to_thread(deps.store.watch, team, target, added_by=user)
    return f"Watching <#{target}>: new drafts there get a threaded reply. Invite me to the channel if I'm not in it."


async def _unwatch(deps: Deps, team: str, user: str, channel: str, args: list[str]) -> str:
    target = channel_arg(" ".join(args), channel)
    removed = await asyncio.to_thread(deps.store.unwatch, team, target)
    if target in deps.settings.watch_channels:  # set where the app runs: no command here can change it
        return (f"<#{target}> stays watched: MOTIVECHECK_WATCH_CHANNELS names it, and only whoever runs Motive Coach "
                "can take it out of that setting." + (" Its mode and playbook are back to the defaults." if removed
                                                      else ""))
    return f"Stopped watching <#{target}>." if removed else f"<#{target}> wasn't watched."


async def _set_option(deps: Deps, team: str, target: str, **option: str) -> str:
    """Set a channel's mode or playbook, which watches it if it wasn't: then the admin is told (the coach will
    answer every new draft there), in a sentence to add to the answer; '' when it was watched already."""
    was = await asyncio.to_thread(deps.store.channel_settings, team, target)
    await asyncio.to_thread(deps.store.set_channel_option, team, target, **option)
    if was is not None or target in deps.settings.watch_channels:
        return ""
    return (f" I'm watching <#{target}> now: new drafts there get a reply "
            f"(`/motivecheck unwatch <#{target}>` stops that).")


async def _mode(deps: Deps, team: str, user: str, channel: str, args: list[str]) -> str:
    if not args or args[0] not in ("thread", "private"):
        raise InputError("say `mode thread` or `mode private`, then the channel.")
    target = channel_arg(" ".join(args[1:]), channel)
    watching = await _set_option(deps, team, target, reply_mode=args[0])
    return (f"Replies in <#{target}> will be {'in thread' if args[0] == 'thread' else 'private to the author'}."
            + watching)


async def _playbook(deps: Deps, team: str, user: str, channel: str, args: list[str]) -> str:
    if not args:
        raise InputError("say which playbook, e.g. `playbook outside-in #channel`.")
    target = channel_arg(" ".join(args[1:]), channel)
    problem = _playbook_name_problem(args[0])
    if problem:
        return f"Can't use that playbook: {problem}"
    try:
        deps.checker.playbook(args[0])
    except Exception as exc:  # noqa: BLE001 - shown to the admin
        return f"Can't use that playbook: {exc}"
    watching = await _set_option(deps, team, target, playbook=args[0])
    return f"<#{target}> now uses the `{args[0]}` playbook." + watching


async def _digest(deps: Deps, team: str, user: str, channel: str, args: list[str]) -> str:
    if args and args[0].lower() == "time":
        return await _digest_time(deps, team, args[1:])
    if len(args) < 2 or args[0] != "channel":
        raise InputError("say `digest channel #channel`, or `digest time mon 09:00 Europe/Berlin`.")
    target = channel_arg(" ".join(args[1:]), channel)
    await asyncio.to_thread(deps.store.set_setting, team, "digest_channel", target)
    await asyncio.to_thread(deps.store.set_setting, team, "digest_channel_by", user)  # told if posting fails
    await asyncio.to_thread(deps.store.unblock_digests, team, target)
    return f"The weekly digest will go to <#{target}>. Invite me there (`/invite @Motive Coach`) if I'm not in it."


async def _digest_time(deps: Deps, team: str, args: list[str]) -> str:
    """``digest time DAY HH:MM [TIMEZONE]`` sets this workspace's schedule (the timezone kept if left out);
    ``digest time default`` goes back to the app's; ``digest time`` alone says what it is."""
    current = await asyncio.to_thread(schedule.workspace_schedule, deps.store, deps.settings, team)
    if not args:
        return f"The weekly digest goes out {_when(current)}. " + _DIGEST_TIME_HINT
    if len(args) == 1 and args[0].lower() == "default":
        await asyncio.to_thread(deps.store.set_setting, team, schedule.SETTING, "")
        return f"The weekly digest is back on the app's default schedule: {_when(schedule.default_schedule(deps.settings))}."
    if len(args) not in (2, 3):
        raise InputError(_DIGEST_TIME_HINT)
    day, hhmm = schedule.parse_day(args[0]), schedule.parse_time(args[1])
    tz = schedule.parse_timezone(args[2]) if len(args) == 3 else current.timezone
    new = schedule.Schedule(day, hhmm, tz, set_here=True)
    await asyncio.to_thread(deps.store.set_setting, team, schedule.SETTING, str(new))
    return (f"The weekly digest will go out {_when(new)}, with each week counted Monday to Sunday in {tz}. "
            "`/motivecheck digest time default` goes back to the app's schedule.")


_DIGEST_TIME_HINT = ("To change it, say `digest time DAY HH:MM TIMEZONE`, like `digest time mon 09:00 Europe/Berlin` "
                     "(the timezone is an IANA name; leave it out to keep the current one).")
_DAY_TITLES = dict(zip(schedule.DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
                       strict=True))


def _when(s: schedule.Schedule) -> str:
    return f"on {_DAY_TITLES[s.day]}s at {s.time} {s.timezone}" + ("" if s.set_here else " (the app's default)")


async def _retrain(deps: Deps, team: str, user: str, channel: str, args: list[str]) -> str:
    """Refit this workspace's head from its labels (Disagree labels, motivecheck label); kept only if it helps."""
    from ..train import retrain_workspace  # numpy training code, loaded only when an admin asks

    try:
        report, version = await asyncio.to_thread(retrain_workspace, deps.store, deps.checker.default_playbook, team)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    f = report.figures
    t, h = f["corpus_test_macro_f1"], f["held_back_accuracy"]
    outcome = f"kept as head v{version}" if version else "not kept — the old head stays"
    return (f"Retrained on {f['labels']} labels ({f['held_back']} held back): {outcome}.\n"
            f"• held-back accuracy {h[0]:.0%} → {h[1]:.0%}\n• corpus test macro-F1 {t[0]:.3f} → {t[1]:.3f}\n"
            f"{report.reason.capitalize()}.")


AdminCommand = Callable[["Deps", str, str, str, list[str]], Awaitable[str]]
ADMIN_COMMANDS: dict[str, AdminCommand] = {"watch": _watch, "unwatch": _unwatch, "mode": _mode,
                                           "playbook": _playbook, "digest": _digest, "retrain": _retrain}


async def run_admin_command(deps: Deps, client: Any, respond: Any, team: str, user: str, channel: str, word: str,
                         rest: str) -> None:
    if not await is_admin(deps, client, user):
        msg = "Sorry — only workspace admins (or people in MOTIVECHECK_ADMINS) can change that."
    else:
        try:
            msg = await ADMIN_COMMANDS[word](deps, team, user, channel, rest.split())
        except InputError as exc:
            msg = f"I didn't change anything: {exc}\n" + blocks.HELP
        except Exception as exc:  # noqa: BLE001 - the admin's command was acked empty: they must hear something
            log.error("admin command %s failed: %s", word, type(exc).__name__)  # the type only: no tokens, no text
            msg = SOMETHING_WENT_WRONG
    await respond(text=msg, response_type="ephemeral")
