"""Erasure: people's words leave every table that holds a copy (retention, purge, forget), and the file too."""

from __future__ import annotations

import json
from collections.abc import Callable

from .database import Part, Row
from .events import claim as claim_key

PURGE_BATCH = 1000  # rows per write transaction of a purge: each a few tens of milliseconds (bench/bench_purge.py)


class ErasureStore(Part):
    def purge_texts(self, older_than: float, *, batch: int = PURGE_BATCH,
                    keep_going: Callable[[], bool] | None = None) -> int:
        """Remove every copy of people's words older than ``older_than``: draft texts, the quotes, reframes,
        questions and measures in verdicts, the verdict cache and decision reasons. Returns checks purged.

        Rows still holding words are found by index (m013), so a purge with nothing to do reads nothing; a big one
        goes ``batch`` rows per transaction (one transaction held SQLite's write lock for half a minute), asking
        ``keep_going`` between them (False: stop, the rest waits for the next run)."""
        purged = changed = 0
        for step in (self._purge_checks, self._purge_by_age):
            more = True
            while more:
                words, rows, more = step(older_than, batch)
                purged, changed = purged + words, changed + rows
                if more and keep_going is not None and not keep_going():
                    break
            if more:
                break
        if changed:
            self.db.checkpoint()
        return purged

    def _purge_checks(self, older_than: float, batch: int) -> tuple[int, int, bool]:
        """One batch of old checks that hold words: (checks that did, rows changed, whether there may be more)."""
        with self.db.write() as tx:
            found = tx.query("select id, draft_text, draft_hash, verdict_json from checks where ts < ? "
                             "and (draft_text is not null or verdict_words = 1) order by ts limit ?"
                             + self.db.dialect.for_update, [older_than, batch])
            rows = []
            for row in found:
                stripped = strip_verdict(row["verdict_json"])
                rows.append((row["id"], stripped, row["draft_text"] is not None or stripped != row["verdict_json"]))
            tx.executemany("update checks set draft_text = null, verdict_json = ?, verdict_words = null where id = ?",
                           [(stripped, check_id) for check_id, stripped, _words in rows])
            # A draft's cached verdict may be younger than the draft (an import checks old messages today; an edit
            # re-checks): it goes with the draft's words, not a retention period after its own time.
            tx.execute_in("delete from verdict_cache where draft_hash in ({})",
                          sorted({row["draft_hash"] for row in found if row["draft_hash"]}))
            # Labels from Slack decisions carry a draft's words, so they follow the retention setting too: they go
            # with the draft's text (however recently the label was given), or when older than the cut-off
            # themselves (_purge_by_age). Labels an admin loaded from a file (motivecheck label) were given on
            # purpose and stay until forgotten.
            decisions = tx.query_in("select id from decisions where check_id in ({})",
                                    [check_id for check_id, _stripped, words in rows if words])
            tx.execute_in("delete from labels where source in ({})", [f"decision:{d['id']}" for d in decisions])
        return sum(1 for _id, _stripped, had in rows if had), len(rows), len(found) == batch

    def _purge_by_age(self, older_than: float, batch: int) -> tuple[int, int, bool]:
        """One batch each of old cached verdicts, decision reasons and labels from decisions: (0, rows changed,
        whether there may be more)."""
        with self.db.write() as tx:
            changed = [
                tx.execute("delete from verdict_cache where key in "
                           "(select key from verdict_cache where ts < ? limit ?)", [older_than, batch]),
                tx.execute("update decisions set reason = null where id in "
                           "(select id from decisions where ts < ? and reason is not null limit ?)",
                           [older_than, batch]),
                tx.execute("delete from labels where id in (select id from labels where ts < ? "
                           "and substr(source, 1, 9) = 'decision:' limit ?)", [older_than, batch]),
            ]
        return 0, sum(changed), max(changed) == batch

    def withdraw_check(self, check_id: int, *, claim: str | None = None) -> Row | None:
        """Its author deleted the draft: erase its words from the check (the text; the verdict's quotes, reframe,
        questions and measures), the verdict cache, and the reasons and labels given on it. The judgement (label,
        score, motives) stays for the counts. With ``claim`` (a Slack delivery's key, claimed in the same
        transaction) it happens once: None when already claimed. The check as it now is, or None if there is none.
        """
        with self.db.write() as tx:
            if claim is not None and not claim_key(tx, claim, check_id):
                return None
            row = tx.one("select * from checks where id = ?", [check_id])
            if row is None:
                return None
            row.update(draft_text=None, verdict_json=strip_verdict(row["verdict_json"]))
            tx.execute("update checks set draft_text = null, verdict_json = ?, verdict_words = null where id = ?",
                       [row["verdict_json"], check_id])
            if row["draft_hash"]:
                tx.execute("delete from verdict_cache where draft_hash = ?", [row["draft_hash"]])
            decisions = [d["id"] for d in tx.query("select id from decisions where check_id = ?", [check_id])]
            if decisions:
                tx.execute("update decisions set reason = null where check_id = ?", [check_id])
                tx.execute_in("delete from labels where source in ({})", [f"decision:{d}" for d in decisions])
        return row

    def checkpoint(self) -> None:
        """Leave no copy of erased words outside the live tables, where the database allows it (after a
        withdrawal, off Slack's ack path: on SQLite this waits for readers)."""
        self.db.checkpoint()

    def forget_user(self, user: str) -> dict[str, int]:
        """Erase a person's words everywhere (drafts, verdict quotes, cached verdicts of their drafts, decisions);
        counts stay, unattributed. Their opt-out is kept: forgetting someone must not start checking them."""
        checks = self.db.query('select id, workspace, draft_text, verdict_json, draft_hash from checks '
                               'where "user" = ?', [user])
        hashes = sorted({r["draft_hash"] for r in checks if r["draft_hash"]})
        # Labels with a draft's words, by workspace and text_hash (a draft hash): the check's own, so they are found
        # when the check no longer holds the text too (MOTIVECHECK_STORE_TEXT=off, purged, withdrawn); and the stored
        # text's, as the database keeps it (PostgreSQL holds a NUL as U+FFFD).
        drafts = sorted({(r["workspace"] or "", h) for r in checks for h in (
            r["draft_hash"], r["draft_text"] and self.db.dialect.text_hash(r["draft_text"])) if h})
        with self.db.write() as tx:
            # A label given on their check by someone else (an admin's Disagree) holds their draft under the
            # labeller's id: found by the decision it came from (collected before the decisions go) or by its text.
            sources = [f"decision:{r['id']}" for r in tx.query(
                'select id from decisions where check_id in (select id from checks where "user" = ?)', [user])]
            decisions = tx.execute(
                'delete from decisions where "user" = ? or check_id in (select id from checks where "user" = ?)',
                [user, user])
            tx.executemany("update checks set draft_text = null, verdict_json = ?, verdict_words = null, \"user\" = '', "
                           "message_ts = null where id = ?", [(strip_verdict(r["verdict_json"]), r["id"]) for r in checks])
            cached = tx.execute_in("delete from verdict_cache where draft_hash in ({})", hashes)
            # Entries cached before draft hashes were recorded cannot be told apart: a cache, so drop them.
            cached += tx.execute("delete from verdict_cache where draft_hash is null")
            labels = tx.execute('delete from labels where "user" = ?', [user])
            labels += tx.execute_in("delete from labels where source in ({})", sources)
            for workspace, text_hash in drafts:
                labels += tx.execute("delete from labels where workspace = ? and text_hash = ?", [workspace, text_hash])
        self.db.checkpoint()
        return {"checks_erased": len(checks), "decisions_deleted": decisions, "cache_entries_deleted": cached,
                "labels_deleted": labels}

    def forget_workspace(self, workspace: str) -> dict[str, int]:
        """Erase everything a workspace left: its checks and decisions, labels and heads, cached verdicts of its
        drafts, settings and watched channels, digests, the deliveries it sent, and its installs (tokens).
        Opt-outs stay, as with ``forget_user``: if the workspace installs again, nobody who opted out is checked."""
        checks = self.db.query("select id, draft_hash from checks where workspace = ?", [workspace])
        hashes = sorted({r["draft_hash"] for r in checks if r["draft_hash"]})
        ids = [r["id"] for r in checks]
        counts: dict[str, int] = {}
        with self.db.write() as tx:
            counts["decisions"] = tx.execute("delete from decisions where workspace = ?", [workspace])
            counts["decisions"] += tx.execute_in("delete from decisions where check_id in ({})", ids)
            events = tx.execute_in("delete from seen_events where check_id in ({})", ids)
            # The keys Slack deliveries are claimed by (listeners.py, replies.py), and each channel's day of the
            # quick read note (replies.py).
            for prefix in (f"msg:{workspace}:", f"edit:{workspace}:", f"withdrawn:{workspace}:",
                           f"mention:{workspace}:", f"quickread:{workspace}:"):
                events += tx.execute("delete from seen_events where substr(key, 1, ?) = ?", [len(prefix), prefix])
            counts["seen_events"] = events
            counts["checks"] = tx.execute("delete from checks where workspace = ?", [workspace])
            cached = tx.execute_in("delete from verdict_cache where draft_hash in ({})", hashes)
            cached += tx.execute("delete from verdict_cache where draft_hash is null")  # can't tell whose: a cache
            counts["cache_entries"] = cached
            counts["labels"] = tx.execute("delete from labels where workspace = ?", [workspace])
            counts["heads"] = tx.execute("delete from heads where workspace = ?", [workspace])
            counts["settings"] = tx.execute("delete from workspace_settings where workspace = ?", [workspace])
            counts["watched_channels"] = tx.execute("delete from watched_channels where workspace = ?", [workspace])
            counts["digests"] = tx.execute("delete from digests where workspace = ?", [workspace])
        counts["installs"] = self.forget_installs(workspace)
        self.db.checkpoint()
        return counts


def strip_verdict(raw: str | None) -> str | None:
    """Keep the judgement (label, score, motives), drop what quotes or paraphrases the draft."""
    if not raw:
        return raw
    data = json.loads(raw)
    stripped = {**data, "evidence": [], "reframe": None, "questions": [], "measures": []}
    return raw if stripped == data else json.dumps(stripped)
