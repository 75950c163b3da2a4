"""One settings table read once from the environment into a frozen object.

Nothing else in the package reads ``os.environ``; edges call ``load_settings()`` once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .logs import scrub

ROOT = Path(__file__).resolve().parent.parent


def _data_dir(name: str) -> Path:
    """The repository's folder (a checkout or an editable install), else the copy that a wheel
    carries inside the package (setup.py puts it in ``bot/_data``)."""
    folder = ROOT / name
    return folder if folder.is_dir() else Path(__file__).resolve().parent / "_data" / name


def _data_file(name: str) -> Path:
    """A file at the repository's root, else the copy a wheel carries in ``bot/_data``."""
    path = ROOT / name
    return path if path.is_file() else Path(__file__).resolve().parent / "_data" / name


PROMPTS_DIR = _data_dir("prompts")
PLAYBOOKS_DIR = _data_dir("playbooks")
MANIFEST = _data_file("manifest.yml")  # the Slack app manifest: the OAuth flow asks for its bot scopes
DEFAULT_PLAYBOOK = "outside-in"
ENGINE_NAMES = ("auto", "trained", "rules", "openai")  # the engine vocabulary: settings, CLI and checker use this
# How the LLM is asked for JSON, strongest first; auto starts at the first and steps down when a server refuses one.
JSON_MODES = ("json_schema", "json_object", "text")
AZURE_API_VERSION = "2024-10-21"  # the first GA Azure OpenAI API version with json_schema structured outputs


def _int(name: str, lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = (f"between {lo} and {hi}" if lo is not None and hi is not None
                      else f"{lo} or more" if lo is not None else f"{hi} or less")
            raise ConfigError(f"{name} must be {bounds}, got {value}")
        return value

    return parse


def _float(name: str, lo: float = 0.0) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        if value < lo:
            raise ConfigError(f"{name} must be at least {lo}, got {value}")
        return value

    return parse


def _bool(name: str) -> Callable[[str], bool]:
    def parse(raw: str) -> bool:
        v = raw.strip().lower()
        if v in {"1", "on", "true", "yes"}:
            return True
        if v in {"0", "off", "false", "no", ""}:
            return False
        raise ConfigError(f"{name} must be on or off, got {raw!r}")

    return parse


def _choice(name: str, options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        v = raw.strip().lower()
        if v not in options:
            raise ConfigError(f"{name} must be one of {', '.join(options)}, got {raw!r}")
        return v

    return parse


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def _tz(name: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        try:
            ZoneInfo(raw.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{name} must be an IANA timezone such as Europe/Berlin, got {raw!r}") from None
        return raw.strip()

    return parse


def _str(raw: str) -> str:
    return raw.strip()


POSTGRES_SCHEMES = ("postgresql", "postgres")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def parse_database(name: str, raw: str, *, url_only: bool = False) -> str:
    """A SQLite file path or a postgresql:// URL (``url_only``: the URL alone); any other scheme is refused, so a
    ``mysql://`` URL never becomes a SQLite file of that name. The message names only the scheme (URLs hold
    passwords)."""
    value = raw.strip()
    scheme = _URL_SCHEME.match(value)
    if scheme and scheme.group(1) == "sqlite" and not url_only:
        raise ConfigError(f"{name}: give the SQLite file's path itself, without sqlite://")
    if scheme and scheme.group(1) not in POSTGRES_SCHEMES:
        raise ConfigError(f"{name}: {scheme.group(1)}:// databases are not supported; use a postgresql:// URL"
                          + ("" if url_only else " or a SQLite file path"))
    if url_only and value and not scheme:
        raise ConfigError(f"{name} must be a postgresql:// URL (a SQLite file goes in MOTIVECHECK_DB)")
    return value


def _database(name: str, *, url_only: bool = False) -> Callable[[str], str]:
    return lambda raw: parse_database(name, raw, url_only=url_only)


def _prices(raw: str) -> str:
    from .pricing import price_table  # the table's own reader: what it refuses here, `stats` would refuse later

    price_table(raw)
    return raw.strip()


def _hhmm(name: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        hour, sep, minute = raw.strip().partition(":")
        if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2 and int(hour) < 24
                and int(minute) < 60):
            raise ConfigError(f"{name} must be a 24-hour time HH:MM such as 09:00, got {raw!r}")
        return f"{int(hour):02d}:{minute}"

    return parse


# (attribute, environment variable, default, parser, help). README documents each row.
SETTINGS: list[tuple[str, str, str, Callable[[str], object], str]] = [
    ("db_path", "MOTIVECHECK_DB", "motivecheck.db", _database("MOTIVECHECK_DB"),
     "SQLite database file (a `postgresql://` URL works too; other `scheme://` values are refused)"),
    ("database_url", "DATABASE_URL", "", _database("DATABASE_URL", url_only=True),
     "PostgreSQL URL (postgresql://...): the app and the CLI use it instead of the SQLite file; any other scheme "
     "(`mysql://`, a bare path) is refused"),
    ("playbook", "MOTIVECHECK_PLAYBOOK", DEFAULT_PLAYBOOK, _str, "default playbook name or path"),
    ("engine", "MOTIVECHECK_ENGINE", "auto", _choice("MOTIVECHECK_ENGINE", ENGINE_NAMES),
     "auto uses OpenAI when OPENAI_API_KEY is set, else the trained offline engine"),
    ("store_text", "MOTIVECHECK_STORE_TEXT", "on", _bool("MOTIVECHECK_STORE_TEXT"),
     "store full draft text (off: only a hash and the verdict's label, score and motives, no quotes or reframe)"),
    ("retention_days", "MOTIVECHECK_RETENTION_DAYS", "0", _int("MOTIVECHECK_RETENTION_DAYS", 0),
     "remove draft texts older than this many days (0 keeps them)"),
    ("max_chars", "MOTIVECHECK_MAX_CHARS", "8000", _int("MOTIVECHECK_MAX_CHARS", 100, 100000),
     "drafts longer than this are cut (and the verdict says so)"),
    ("openai_api_key", "OPENAI_API_KEY", "", _str, "OpenAI (or compatible) API key; enables the LLM engine"),
    ("openai_base_url", "OPENAI_BASE_URL", "", _str, "OpenAI-compatible server base URL"),
    ("model", "MOTIVECHECK_MODEL", "gpt-4o-mini", _str, "chat model used by the LLM engine (on Azure: the deployment)"),
    ("llm_json_mode", "MOTIVECHECK_LLM_JSON_MODE", "auto",
     _choice("MOTIVECHECK_LLM_JSON_MODE", ("auto", *JSON_MODES)),
     "how the LLM is asked for JSON: auto steps down json_schema, json_object, text when a server refuses one"),
    ("azure_endpoint", "AZURE_OPENAI_ENDPOINT", "", _str,
     "Azure OpenAI resource endpoint (https://NAME.openai.azure.com); used instead of OPENAI_BASE_URL"),
    ("azure_api_version", "OPENAI_API_VERSION", AZURE_API_VERSION, _str, "Azure OpenAI API version"),
    ("llm_timeout", "MOTIVECHECK_LLM_TIMEOUT", "8", _float("MOTIVECHECK_LLM_TIMEOUT", 0.1),
     "seconds per LLM request"),
    ("llm_retries", "MOTIVECHECK_LLM_RETRIES", "2", _int("MOTIVECHECK_LLM_RETRIES", 0, 10),
     "retries per check after a failed LLM request"),
    ("llm_deadline", "MOTIVECHECK_LLM_DEADLINE", "20", _float("MOTIVECHECK_LLM_DEADLINE", 0.1),
     "total seconds for a check, retries included, before falling back to the offline engine"),
    ("llm_concurrency", "MOTIVECHECK_LLM_CONCURRENCY", "0", _int("MOTIVECHECK_LLM_CONCURRENCY", 0, 10000),
     "most LLM requests in flight per process, shared fairly between workspaces (0: no bound)"),
    ("channel_triage", "MOTIVECHECK_CHANNEL_TRIAGE", "on", _bool("MOTIVECHECK_CHANNEL_TRIAGE"),
     "with an LLM, ask a short first-pass prompt (proposal or chat?) before the full prompt in watched channels"),
    ("redact", "MOTIVECHECK_REDACT", "on", _bool("MOTIVECHECK_REDACT"),
     "replace e-mails, phone numbers, Slack mentions and API keys/tokens before sending to the LLM"),
    ("prices", "MOTIVECHECK_PRICES", "", _prices,
     "price overrides, e.g. 'my-model=0.15/0.60' (USD per 1M input/output tokens)"),
    ("slack_bot_token", "SLACK_BOT_TOKEN", "", _str, "bot token (xoxb-...)"),
    ("slack_signing_secret", "SLACK_SIGNING_SECRET", "", _str, "signing secret (HTTP mode)"),
    ("slack_app_token", "SLACK_APP_TOKEN", "", _str, "app-level token (xapp-...); turns on Socket Mode"),
    ("slack_api_url", "SLACK_API_URL", "", _str, "Web API base URL override (proxies, tests)"),
    ("slack_client_id", "SLACK_CLIENT_ID", "", _str,
     "app's Client ID; with SLACK_CLIENT_SECRET (instead of SLACK_BOT_TOKEN) serves many workspaces through OAuth"),
    ("slack_client_secret", "SLACK_CLIENT_SECRET", "", _str, "app's Client Secret (OAuth installs)"),
    ("slack_redirect_uri", "SLACK_REDIRECT_URI", "", _str,
     "public URL of /slack/oauth_redirect (OAuth; needed when the app lists several redirect URLs)"),
    ("port", "PORT", "3000", _int("PORT", 0, 65535), "HTTP port"),
    ("admins", "MOTIVECHECK_ADMINS", "", _csv, "user IDs allowed to run admin commands"),
    ("watch_channels", "MOTIVECHECK_WATCH_CHANNELS", "", _csv, "channel IDs watched for drafts"),
    ("digest_channel", "MOTIVECHECK_DIGEST_CHANNEL", "", _str, "channel ID for the weekly digest"),
    ("digest_names", "MOTIVECHECK_DIGEST_NAMES", "off", _bool("MOTIVECHECK_DIGEST_NAMES"),
     "allow people's names in the digest"),
    ("digest_day", "MOTIVECHECK_DIGEST_DAY", "mon",
     _choice("MOTIVECHECK_DIGEST_DAY", ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
     "weekday the digest is posted (default; a workspace admin can set its own: `/motivecheck digest time`)"),
    ("digest_time", "MOTIVECHECK_DIGEST_TIME", "09:00", _hhmm("MOTIVECHECK_DIGEST_TIME"),
     "local time the digest is posted (HH:MM; default, as above)"),
    ("timezone", "MOTIVECHECK_TIMEZONE", "UTC", _tz("MOTIVECHECK_TIMEZONE"),
     "workspace timezone (IANA): the digest's default, and the day of the quick-read note"),
    ("workers", "MOTIVECHECK_WORKERS", "64", _int("MOTIVECHECK_WORKERS", 1, 1024),
     "threads for the Slack app's database calls (not a cap on checks or LLM calls in flight)"),
    ("lease_seconds", "MOTIVECHECK_LEASE_SECONDS", "15", _float("MOTIVECHECK_LEASE_SECONDS", 1),
     "seconds a draft in flight stays with an instance that stopped renewing its claim; then another takes it over"),
    ("log_format", "MOTIVECHECK_LOG_FORMAT", "text", _choice("MOTIVECHECK_LOG_FORMAT", ("text", "json")),
     "log output format"),
    ("log_level", "MOTIVECHECK_LOG_LEVEL", "INFO",
     _choice("MOTIVECHECK_LOG_LEVEL", ("debug", "info", "warning", "error")), "log level"),
]


@dataclass(frozen=True)
class Settings:
    """Every setting, typed; the defaults live in SETTINGS only (``load_settings`` fills each field)."""

    db_path: str
    database_url: str
    playbook: str
    engine: str
    store_text: bool
    retention_days: int
    max_chars: int
    openai_api_key: str
    openai_base_url: str
    model: str
    llm_json_mode: str
    azure_endpoint: str
    azure_api_version: str
    llm_timeout: float
    llm_retries: int
    llm_deadline: float
    llm_concurrency: int
    channel_triage: bool
    redact: bool
    prices: str
    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str
    slack_api_url: str
    slack_client_id: str
    slack_client_secret: str
    slack_redirect_uri: str
    port: int
    admins: tuple[str, ...]
    watch_channels: tuple[str, ...]
    digest_channel: str
    digest_names: bool
    digest_day: str
    digest_time: str
    timezone: str
    workers: int
    lease_seconds: float
    log_format: str
    log_level: str

    def __repr__(self) -> str:  # never print secrets
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in {"openai_api_key", "slack_bot_token", "slack_signing_secret", "slack_app_token",
                          "slack_client_secret", "database_url"} or (f.name == "db_path" and _URL_SCHEME.match(value)):
                value = "***" if value else ""  # MOTIVECHECK_DB may hold a postgresql:// URL, password and all
            elif isinstance(value, str):
                value = scrub(value)  # a proxy's or gateway's URL with user:password@ (OPENAI_BASE_URL, SLACK_API_URL)
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_api_key)

    @property
    def oauth(self) -> bool:
        """Installs to many workspaces through Slack's OAuth flow (tokens in the database), not one bot token."""
        return bool(self.slack_client_id or self.slack_client_secret)


VARIABLES: tuple[str, ...] = tuple(var for _attr, var, _default, _parse, _help in SETTINGS)


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Read every setting from ``env`` (default ``os.environ``); raise ConfigError naming a bad one."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for attr, var, default, parse, _help in SETTINGS:
        raw = env.get(var)
        values[attr] = parse(default if raw is None else raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)  # type: ignore[arg-type]
