"""When each workspace's weekly digest goes out: its day, time and timezone, set by an admin or the defaults."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .config import Settings
from .digest import last_full_week
from .errors import InputError
from .store import Store

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {d: d for d in DAYS} | {
    full: full[:3] for full in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}
SETTING = "digest_schedule"  # the workspace's setting: "mon 09:00 Europe/Berlin"; unset or "" means the defaults
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class Schedule:
    day: str  # mon … sun
    time: str  # HH:MM, local
    timezone: str  # IANA
    set_here: bool = False  # False: the defaults MOTIVECHECK_DIGEST_DAY / _TIME / MOTIVECHECK_TIMEZONE

    def __str__(self) -> str:
        return f"{self.day} {self.time} {self.timezone}"


def default_schedule(settings: Settings) -> Schedule:
    return Schedule(settings.digest_day, settings.digest_time, settings.timezone)


def workspace_schedule(store: Store, settings: Settings, workspace: str) -> Schedule:
    """The workspace's own schedule, or the defaults where its admins set none."""
    return schedule_of(store.get_setting(workspace, SETTING), settings)


def schedule_of(stored: str | None, settings: Settings) -> Schedule:
    """A workspace's stored schedule read, or the defaults where there is none (or what is stored no longer reads,
    e.g. a timezone a tzdata update renamed: the digest still goes out, at the default time)."""
    try:
        day, hhmm, tz = (stored or "").split()
        return Schedule(parse_day(day), parse_time(hhmm), parse_timezone(tz), set_here=True)
    except (ValueError, InputError):
        return default_schedule(settings)


def parse_day(raw: str) -> str:
    day = _DAY_NAMES.get(raw.lower().rstrip(".,"))
    if day is None:
        raise InputError(f"`{raw}` isn't a day: give one of mon, tue, wed, thu, fri, sat, sun.")
    return day


def parse_time(raw: str) -> str:
    m = _HHMM.fullmatch(raw)
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise InputError(f"`{raw}` isn't a time: give it as HH:MM on a 24-hour clock, like 09:00 or 16:30.")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


@cache
def _zones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def parse_timezone(raw: str) -> str:
    """An IANA timezone, matched whatever its case (``europe/berlin``); else InputError with the nearest names."""
    name = _zones().get(raw.lower())
    if name is None and raw.upper() == "UTC":
        name = "UTC"  # no tzdata on the machine: UTC still works
    if name is not None:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    close = difflib.get_close_matches(raw.lower(), _zones(), n=2, cutoff=0.6)
    guess = f" Did you mean {' or '.join(f'`{_zones()[c]}`' for c in close)}?" if close else ""
    raise InputError(f"`{raw}` isn't a timezone I know.{guess} Give an IANA timezone name, like Europe/Berlin, "
                     "America/Los_Angeles or Asia/Tokyo (the list: "
                     "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones).")


def due_week(schedule: Schedule, now: float) -> tuple[int, int] | None:
    """The week to post now, in the schedule's timezone, if its weekly slot has passed this (local) week."""
    local = datetime.fromtimestamp(now, ZoneInfo(schedule.timezone))
    hour, minute = (int(x) for x in schedule.time.split(":"))
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    weekday = DAYS.index(schedule.day)
    if local.weekday() < weekday or (local.weekday() == weekday and local < slot):
        return None
    return last_full_week(now, schedule.timezone)
