"""Numbered, append-only schema migrations for both databases, applied on open. Never edit one that has shipped.

Each migration describes its tables once (``Schema``: SQLite makes them through sqlite-utils as it always has,
PostgreSQL from the same description). A run holds the database's write lock from reading which migrations are
applied to recording the new ones, so two processes starting at once on a fresh database both succeed: the
second waits, then finds nothing left to do.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from .database import Database
from .dialect import Schema

log = logging.getLogger("bot.store")
MIGRATION_SET = "motivecheck"
MIGRATIONS: list[tuple[str, Callable[[Schema], None]]] = []


def migration(fn: Callable[[Schema], None]) -> Callable[[Schema], None]:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def applied(db: Database) -> list[str]:
    """Names of the migrations applied to ``db``, in the order they were."""
    table = db.dialect.migrations_table
    if table not in db.tables():
        return []
    return [r["name"] for r in db.query(f"select name from {table} where migration_set = ? order by id",
                                        [MIGRATION_SET])]


def apply(db: Database) -> list[str]:
    """Apply the pending migrations in one transaction that waits for any other run; the names applied."""
    table = db.dialect.migrations_table
    with db.write() as tx:
        if db.dialect.migrations_lock:
            tx.execute(db.dialect.migrations_lock)
        schema = db.dialect.schema(tx.conn)
        if table not in {r["name"] for r in tx.query(db.dialect.tables_sql)}:
            schema.create_table(table, {"id": int, "migration_set": str, "name": str, "applied_at": str}, pk="id")
            schema.create_index(table, ["migration_set", "name"], f"idx_{table}_migration_set_name", unique=True)
        done = {r["name"] for r in tx.query(f"select name from {table} where migration_set = ?", [MIGRATION_SET])}
        pending = [(name, fn) for name, fn in MIGRATIONS if name not in done]
        if unknown := sorted(done - {name for name, _fn in MIGRATIONS}):
            # Left as they are (an older instance may run beside newer ones while a release rolls out or back),
            # but said once at start-up: what then fails on the newer tables points here.
            log.warning("%s has migrations this version does not know (%s): a newer version of Motive Coach "
                        "migrated it; run that version, as this one may fail on its tables", db.location,
                        ", ".join(unknown))
        for name, fn in pending:
            fn(schema)
            tx.insert(table, {"migration_set": MIGRATION_SET, "name": name,
                              "applied_at": str(datetime.datetime.now(datetime.UTC))})
    return [name for name, _fn in pending]


@migration
def m001_checks_and_decisions(db: Schema) -> None:
    db.create_table(
        "checks", {
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
        not_null=("ts", "source", "status"),
        defaults={"workspace": "", "channel": "", "channel_type": "", "user": "", "status": "done",
                  "cached": 0, "prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0},
    )
    # The digest reads by (workspace, time); covering columns keep it off the table rows.
    db.create_index("checks", ["workspace", "ts", "label", "channel", "user", "channel_type"], "idx_checks_ws_ts_cover")
    db.create_index("checks", ["workspace", "channel", "ts"], "idx_checks_ws_channel_ts")
    db.create_index("checks", ["user", "ts"], "idx_checks_user_ts")
    db.create_index("checks", ["draft_hash"], "idx_checks_hash")
    db.create_index("checks", ["source", "external_id"], "idx_checks_source_external")
    db.create_index("checks", ["workspace", "channel", "message_ts"], "idx_checks_message")
    db.create_index("checks", ["status"], "idx_checks_status")

    db.create_table(
        "decisions", {
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
        foreign_keys=(("check_id", "checks", "id"),),
        defaults={"workspace": "", "channel": "", "user": ""},
    )
    db.create_index("decisions", ["check_id"], "idx_decisions_check")
    db.create_index("decisions", ["workspace", "ts", "action"], "idx_decisions_ws_ts")
    db.create_index("decisions", ["user"], "idx_decisions_user")


@migration
def m002_slack_state(db: Schema) -> None:
    # One row per Slack delivery or message we acted on: the dedupe that survives restarts.
    db.create_table("seen_events", {"key": str, "ts": float, "check_id": int}, pk="key")
    db.create_table(
        "watched_channels",
        {"workspace": str, "channel": str, "reply_mode": str, "playbook": str, "added_by": str, "added_at": float},
        pk=("workspace", "channel"),
        defaults={"reply_mode": "thread"},
    )
    db.create_table("optouts", {"workspace": str, "user": str, "ts": float}, pk=("workspace", "user"))
    db.create_table("workspace_settings", {"workspace": str, "key": str, "value": str}, pk=("workspace", "key"))


@migration
def m003_cache_and_digests(db: Schema) -> None:
    db.create_table("verdict_cache", {"key": str, "verdict_json": str, "ts": float}, pk="key")
    db.create_table(
        "digests",
        {"workspace": str, "channel": str, "week": str, "status": str, "claimed_by": str, "claimed_at": float,
         "posted_at": float, "message_ts": str},
        pk=("workspace", "channel", "week"),
    )


@migration
def m004_cache_draft_hash(db: Schema) -> None:
    # Which draft a cached verdict quotes, so erasing a person's words reaches the cache too.
    db.add_column("verdict_cache", "draft_hash", str)
    db.create_index("verdict_cache", ["draft_hash"], "idx_verdict_cache_hash")


@migration
def m005_labels_and_heads(db: Schema) -> None:
    # Drafts a team labelled (a file, or a "Disagree" with a label) and the heads trained on them, per workspace.
    db.create_table(
        "labels",
        {"id": int, "workspace": str, "channel": str, "user": str, "text": str, "label": str, "source": str,
         "private": int, "ts": float},
        pk="id",
    )
    db.create_index("labels", ["workspace"], "idx_labels_workspace")
    db.create_index("labels", ["user"], "idx_labels_user")
    db.create_table(
        "heads",
        {"workspace": str, "version": int, "created": float, "head_json": str, "metrics_json": str, "active": int},
        pk=("workspace", "version"),
    )
    db.add_column("decisions", "label", str)  # "What is it, in your view?" on Disagree


@migration
def m006_installations(db: Schema) -> None:
    # OAuth installs (SLACK_CLIENT_ID): one bot per workspace or org holds the token; installer rows hold the rest
    # of each install. '' rather than NULL for a missing org or team, so the keys compare plainly.
    db.create_table(
        "slack_bots",
        {"enterprise_id": str, "team_id": str, "app_id": str, "enterprise_name": str, "enterprise_url": str,
         "team_name": str, "bot_token": str, "bot_id": str, "bot_user_id": str, "bot_scopes": str,
         "bot_refresh_token": str, "bot_token_expires_at": int, "is_enterprise_install": int, "installed_at": float},
        pk=("enterprise_id", "team_id"),
        not_null=("enterprise_id", "team_id"),
        defaults={"enterprise_id": "", "team_id": "", "is_enterprise_install": 0},
    )
    db.create_index("slack_bots", ["team_id"], "idx_slack_bots_team")
    db.create_table(
        "slack_installations",
        {"enterprise_id": str, "team_id": str, "user_id": str, "app_id": str, "enterprise_name": str,
         "enterprise_url": str, "team_name": str, "user_token": str, "user_scopes": str, "user_refresh_token": str,
         "user_token_expires_at": int, "incoming_webhook_url": str, "incoming_webhook_channel": str,
         "incoming_webhook_channel_id": str, "incoming_webhook_configuration_url": str, "is_enterprise_install": int,
         "token_type": str, "installed_at": float},
        pk=("enterprise_id", "team_id", "user_id"),
        not_null=("enterprise_id", "team_id", "user_id"),
        defaults={"enterprise_id": "", "team_id": "", "user_id": "", "is_enterprise_install": 0},
    )
    db.create_index("slack_installations", ["enterprise_id", "team_id", "installed_at"], "idx_installations_latest")
    # The OAuth flow's state parameter: issued by /slack/install, consumed once by /slack/oauth_redirect.
    db.create_table("oauth_states", {"state": str, "expires_at": float}, pk="state")


@migration
def m007_one_decision_per_person(db: Schema) -> None:
    # One decision per check, person and slot (Use / Keep / Disagree share "choice"; Why? and Share have their own),
    # held by a unique index: several instances may take clicks on one check at the same moment.
    db.add_column("decisions", "slot", str)
    db.execute("update decisions set slot = case when action in ('accepted', 'kept-original', 'disputed') "
               "then 'choice' else action end")
    db.execute('delete from decisions where id not in (select max(id) from decisions group by check_id, "user", slot)')
    db.create_index("decisions", ["check_id", "user", "slot"], "idx_decisions_one_per_person", unique=True)


@migration
def m008_leases(db: Schema) -> None:
    # Work in flight and who holds it, so any instance takes over a crashed one's: a check that still needs work (a
    # verdict, or its answer delivered) has a lease until a time its holder keeps pushing forward; NULL when done.
    db.add_column("checks", "lease_owner", str)
    db.add_column("checks", "lease_until", float)
    db.add_column("checks", "attempts", int)  # how many holders took it: a draft that crashes each one is given up
    db.add_column("checks", "reply_url", str)  # the slash command's response_url, kept only while the lease is held
    db.execute("update checks set lease_owner = '', lease_until = 0 where status = 'pending'")  # free to take now
    db.create_index("checks", ["lease_until"], "idx_checks_lease")


@migration
def m009_one_label_per_text(db: Schema) -> None:
    # One label per text and workspace, the latest winning (as add_labels now keeps it): a text labelled twice
    # counted twice, and could sit on both sides of a retrain's hold-out.
    db.execute("delete from labels where id not in (select max(id) from labels group by workspace, text)")


def _hash_label_texts(db: Schema) -> None:
    """Set every label's text_hash, then keep the latest (highest id) of rows that share one in a workspace."""
    last = 0
    while batch := db.query("select id, text from labels where id > ? order by id limit 500", [last]):
        db.executemany("update labels set text_hash = ? where id = ?",
                       [[db.text_hash(r["text"]), r["id"]] for r in batch if r["text"] is not None])
        last = batch[-1]["id"]
    db.execute("delete from labels where text_hash is not null and id not in "
               "(select max(id) from labels where text_hash is not null group by workspace, text_hash)")


@migration
def m010_labels_unique_by_text_hash(db: Schema) -> None:
    # One label per text and workspace held by the database, not only by one write transaction: a unique index on
    # the text's sha256 (``Dialect.text_hash``: texts the database holds as equal, as m009 grouped them), which
    # fits texts of any length where an index on the text does not. Rows that repeat a text (two writers at once
    # before this) go as m009 made them go: the latest (highest id) stays.
    db.add_column("labels", "text_hash", str)
    _hash_label_texts(db)
    db.create_index("labels", ["workspace", "text_hash"], "idx_labels_one_per_text", unique=True)


@migration
def m011_one_label_per_draft(db: Schema) -> None:
    # One label per draft, as the verdict cache and a retrain's hold-out already count drafts: text_hash becomes
    # ``draft_hash`` (case, spacing and invisible characters folded), so "Foo bar" labelled again as "foo  bar"
    # replaces it, the latest (highest id) staying, instead of counting twice with two labels. (m010 hashes the
    # same way today, so on a database migrated in one run this finds nothing to change.) The index goes while the
    # hashes change: two rows' new hashes may be equal until the older is dropped.
    db.execute("drop index idx_labels_one_per_text")
    _hash_label_texts(db)
    db.create_index("labels", ["workspace", "text_hash"], "idx_labels_one_per_text", unique=True)


@migration
def m012_drop_labels_workspace_index(db: Schema) -> None:
    # idx_labels_one_per_text leads with workspace, so it serves every query by workspace alone too (query plans
    # checked on both databases; SQLite then sorts a workspace's labels by id for a retrain, a few milliseconds at
    # 2,000 labels): the single-column index was only one more to write on every label.
    db.execute("drop index idx_labels_workspace")


# A verdict stripped of the draft's words (strip_verdict: json.dumps' spacing; or a verdict that never had any, in
# pydantic's), told apart in SQL. Only a hint: the purge strips in Python whatever it then finds.
_STRIPPED = " and ".join(f"(verdict_json like '%\"{key}\": {empty}%' or verdict_json like '%\"{key}\":{empty}%')"
                         for key, empty in (("evidence", "[]"), ("reframe", "null"), ("questions", "[]"),
                                            ("measures", "[]")))


@migration
def m013_words_index(db: Schema) -> None:
    # Retention ran every minute on every instance and read every old check to find none left holding words (3.6-5.5
    # s with 200,000 on PostgreSQL). Rows that still hold words are now found by an index of only those: a draft
    # text, or ``verdict_words`` = 1, a verdict that quotes or paraphrases the draft (set where one is written; here
    # on rows from before whose verdict may, their text gone). Decision reasons, cached verdicts and labels from
    # decisions, which retention clears by age, are found by their time.
    db.add_column("checks", "verdict_words", int)
    db.execute(f"update checks set verdict_words = 1 where draft_text is null and verdict_json is not null "
               f"and not ({_STRIPPED})")
    db.execute("create index idx_checks_words on checks (ts) where draft_text is not null or verdict_words = 1")
    db.execute("create index idx_decisions_reason_ts on decisions (ts) where reason is not null")
    db.execute("create index idx_verdict_cache_ts on verdict_cache (ts)")
    db.execute("create index idx_labels_decision_ts on labels (ts) where substr(source, 1, 9) = 'decision:'")


@migration
def m014_slack_workspaces_index(db: Schema) -> None:
    # The digest scheduler asks every minute, on every instance, which workspaces have a check from Slack, and read
    # every check to answer (1,000,000 checks in 500 workspaces: 190-410 ms on PostgreSQL, 16-105 ms on SQLite, on a
    # loaded 2-core machine: bench/bench_scheduler.py). An index of only those checks' workspaces answers it a step
    # per workspace (store/digests.py). The predicate is the query's, word for word: a database uses a partial index
    # only for a query whose where clause implies it.
    db.execute("create index idx_checks_slack_workspace on checks (workspace) "
               "where workspace != '' and source not in ('cli', 'import')")


@migration
def m015_labels_source_index(db: Schema) -> None:
    # A deleted draft's labels are found by their source (``decision:<id>``) in the transaction that claims its
    # deletion, before Slack's ack; retention and forget --user delete by source too. Each read every label (on
    # SQLite holding the one write lock meanwhile): bench/bench_labels.py.
    db.create_index("labels", ["source"], "idx_labels_source")
