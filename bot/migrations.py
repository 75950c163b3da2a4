"""Numbered, append-only schema migrations, applied on open. Never edit one that has shipped."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("motivecheck")


@migrations(name="m001_checks_and_decisions")
def m001_checks_and_decisions(db: Database) -> None:
    db["checks"].create(
        {
            "id": int,
            "ts": float,  # epoch seconds, UTC: when the draft was written (or checked)
            "source": str,  # cli, slash, channel, import, workflow
            "workspace": str,
            "channel": str,
            "channel_type": str,  # public, private, im, mpim or ""
            "user": str,
            "message_ts": str,  # Slack ts of the draft message, when there is one
            "external_id": str,  # e.g. a JSONL id or an import key, for idempotency
            "draft_hash": str,
            "draft_text": str,  # NULL when not stored or purged
            "label": str,
            "customer_ease": int,
            "motives": str,  # JSON list
            "engine": str,
            "model": str,
            "fallback": str,
            "cached": int,
            "playbook": str,
            "playbook_version": str,
            "latency_ms": float,
            "prompt_tokens": int,
            "completion_tokens": int,
            "cached_tokens": int,
            "verdict_json": str,
            "status": str,  # done, pending, failed
            "reply_channel": str,
            "reply_ts": str,
            "reply_mode": str,
        },
        pk="id",
        not_null={"ts", "source", "status"},
        defaults={"workspace": "", "channel": "", "channel_type": "", "user": "", "status": "done",
                  "cached": 0, "prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0},
    )
    # The digest reads by (workspace, time); covering columns keep it off the table rows.
    db["checks"].create_index(["workspace", "ts", "label", "channel", "user", "channel_type"],
                              index_name="idx_checks_ws_ts_cover")
    db["checks"].create_index(["workspace", "channel", "ts"], index_name="idx_checks_ws_channel_ts")
    db["checks"].create_index(["user", "ts"], index_name="idx_checks_user_ts")
    db["checks"].create_index(["draft_hash"], index_name="idx_checks_hash")
    db["checks"].create_index(["source", "external_id"], index_name="idx_checks_source_external")
    db["checks"].create_index(["workspace", "channel", "message_ts"], index_name="idx_checks_message")
    db["checks"].create_index(["status"], index_name="idx_checks_status")

    db["decisions"].create(
        {
            "id": int,
            "check_id": int,
            "ts": float,
            "workspace": str,
            "channel": str,
            "user": str,
            "action": str,  # accepted, kept-original, disputed, edited, why, shared
            "reason": str,
        },
        pk="id",
        foreign_keys=[("check_id", "checks", "id")],
        defaults={"workspace": "", "channel": "", "user": ""},
    )
    db["decisions"].create_index(["check_id"], index_name="idx_decisions_check")
    db["decisions"].create_index(["workspace", "ts", "action"], index_name="idx_decisions_ws_ts")
    db["decisions"].create_index(["user"], index_name="idx_decisions_user")


@migrations(name="m002_slack_state")
def m002_slack_state(db: Database) -> None:
    # One row per Slack delivery or message we acted on: the dedupe that survives restarts.
    db["seen_events"].create({"key": str, "ts": float, "check_id": int}, pk="key")
    db["watched_channels"].create(
        {"workspace": str, "channel": str, "reply_mode": str, "playbook": str, "added_by": str,
         "added_at": float},
        pk=("workspace", "channel"),
        defaults={"reply_mode": "thread"},
    )
    db["optouts"].create({"workspace": str, "user": str, "ts": float}, pk=("workspace", "user"))
    db["workspace_settings"].create({"workspace": str, "key": str, "value": str}, pk=("workspace", "key"))


@migrations(name="m003_cache_and_digests")
def m003_cache_and_digests(db: Database) -> None:
    db["verdict_cache"].create({"key": str, "verdict_json": str, "ts": float}, pk="key")
    db["digests"].create(
        {"workspace": str, "channel": str, "week": str, "status": str, "claimed_by": str,
         "claimed_at": float, "posted_at": float, "message_ts": str},
        pk=("workspace", "channel", "week"),
    )


@migrations(name="m004_cache_draft_hash")
def m004_cache_draft_hash(db: Database) -> None:
    # Which draft a cached verdict quotes, so erasing a person's words reaches the cache too.
    db["verdict_cache"].add_column("draft_hash", str)
    db["verdict_cache"].create_index(["draft_hash"], index_name="idx_verdict_cache_hash")


@migrations(name="m005_labels_and_heads")
def m005_labels_and_heads(db: Database) -> None:
    # Drafts a team labelled (a file, or a "Disagree" with a label) and the heads trained on them, per workspace.
    db["labels"].create(
        {"id": int, "workspace": str, "channel": str, "user": str, "text": str, "label": str, "source": str,
         "private": int, "ts": float},
        pk="id",
    )
    db["labels"].create_index(["workspace"], index_name="idx_labels_workspace")
    db["labels"].create_index(["user"], index_name="idx_labels_user")
    db["heads"].create(
        {"workspace": str, "version": int, "created": float, "head_json": str, "metrics_json": str,
         "active": int},
        pk=("workspace", "version"),
    )
    db["decisions"].add_column("label", str)  # "What is it, in your view?" on Disagree
