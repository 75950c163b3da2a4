"""A small exception tree; every error carries a message a user can act on."""

from __future__ import annotations

from typing import Any


class MotiveCoachError(Exception):
    """Base for errors shown to users as one clear line."""


class ConfigError(MotiveCoachError):
    """A setting is missing or malformed; the message names the variable."""


class InputError(MotiveCoachError):
    """The user's input (a draft, a file, an argument) cannot be used."""


class PlaybookError(MotiveCoachError):
    """A playbook file is invalid; carries the file and line of the problem."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.detail = message
        where = path or ("<playbook>" if line is not None else "")  # no file (a name not found): the message alone
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class EngineError(MotiveCoachError):
    """An engine could not produce a verdict; `reason` is a short machine tag (timeout, 429, ...)."""

    def __init__(self, reason: str, message: str = "", usage: Any = None) -> None:
        self.reason = reason
        self.usage = usage  # the tokens the failed requests were billed (a bot.verdict.Usage), or None
        super().__init__(message or reason)
