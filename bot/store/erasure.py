"""Erasure: people's words leave every table that holds a copy (retention, purge, forget), and the file too."""

from __future__ import annotations

import json

from .database import Part


class ErasureStore(Part):
    def purge_texts(self, older_than: float) -> int:
        """Remove every copy of people's words older than ``older_than``: draft texts, the quotes, reframes,
        questions and measures in verdicts, the verdict cache and decision reasons. Returns checks purged."""
        rows = []
        for row in self.db.query("select id, draft_text, verdict_json from checks where ts < ?", [older_than]):
            stripped = strip_verdict(row["verdict_json"])
            if row["draft_text"] is not None or stripped != row["verdict_json"]:
                rows.append((row["id"], stripped))
        with self.db.write() as tx:
            tx.executemany("update checks set draft_text = null, verdict_json = ? where id = ?",
                           [(stripped, check_id) for check_id, stripped in rows])
            tx.execute("delete from verdict_cache where ts < ?", [older_than])
            tx.execute("update decisions set reason = null where ts < ? and reason is not null", [older_than])
            # Labels from Slack decisions carry a draft's words, so they follow the retention setting too; labels
            # an admin loaded from a file (motivecheck label) were given on purpose and stay until forgotten.
            tx.execute("delete from labels where ts < ? and source like 'decision:%'", [older_than])
        self.db.checkpoint()
        return len(rows)

    def forget_user(self, user: str) -> dict[str, int]:
        """Erase a person's words everywhere (drafts, verdict quotes, cached verdicts of their drafts, decisions);
        counts stay, unattributed. Their opt-out is kept: forgetting someone must not start checking them."""
        checks = self.db.query('select id, verdict_json, draft_hash from checks where "user" = ?', [user])
        hashes = sorted({r["draft_hash"] for r in checks if r["draft_hash"]})
        with self.db.write() as tx:
            decisions = tx.execute(
                'delete from decisions where "user" = ? or check_id in (select id from checks where "user" = ?)',
                [user, user])
            tx.executemany("update checks set draft_text = null, verdict_json = ?, \"user\" = '', message_ts = null "
                           "where id = ?", [(strip_verdict(r["verdict_json"]), r["id"]) for r in checks])
            cached = 0
            for i in range(0, len(hashes), 500):
                chunk = hashes[i:i + 500]
                cached += tx.execute(f"delete from verdict_cache where draft_hash in ({','.join('?' * len(chunk))})",
                                     chunk)
            # Entries cached before draft hashes were recorded cannot be told apart: a cache, so drop them.
            cached += tx.execute("delete from verdict_cache where draft_hash is null")
            labels = tx.execute('delete from labels where "user" = ?', [user])
        self.db.checkpoint()
        return {"checks_erased": len(checks), "decisions_deleted": decisions, "cache_entries_deleted": cached,
                "labels_deleted": labels}


def strip_verdict(raw: str | None) -> str | None:
    """Keep the judgement (label, score, motives), drop what quotes or paraphrases the draft."""
    if not raw:
        return raw
    data = json.loads(raw)
    stripped = {**data, "evidence": [], "reframe": None, "questions": [], "measures": []}
    return raw if stripped == data else json.dumps(stripped)
