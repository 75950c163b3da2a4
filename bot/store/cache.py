"""The verdict cache: a verdict per (engine, model, playbook, draft) key, shared by every process."""

from __future__ import annotations

import time

from .database import Part


class CacheStore(Part):
    def cache_get(self, key: str) -> str | None:
        return self.db.value("select verdict_json from verdict_cache where key = ?", [key])

    def cache_put(self, key: str, verdict_json: str, draft_hash: str | None = None) -> None:
        """Cache a verdict; ``draft_hash`` ties it to the drafts it quotes, so ``forget_user`` can find it.

        Not when draft texts are not stored (MOTIVECHECK_STORE_TEXT=off): a cached verdict quotes its draft, and one
        stripped of the quotes and reframe would answer the next identical draft with less."""
        if not self.store_text:
            return
        with self.db.write() as tx:
            tx.execute("insert into verdict_cache (key, verdict_json, ts, draft_hash) values (?, ?, ?, ?) "
                       "on conflict (key) do update set verdict_json = excluded.verdict_json, ts = excluded.ts, "
                       "draft_hash = excluded.draft_hash", [key, verdict_json, time.time(), draft_hash])
