"""Figures across checks and decisions: per person (App Home), per engine (usage and cost), and health."""

from __future__ import annotations

from .database import Part, Row


class FigureStore(Part):
    def ping(self) -> None:
        """Raise if the database cannot be read (health checks; on PostgreSQL within POOL_WAIT). One row at most:
        every instance's /healthz runs it, and count(*) reads the whole table on PostgreSQL, which keeps no row
        count."""
        self.db.value("select id from checks limit 1")

    def count(self, table: str) -> int:
        return int(self.db.value(f"select count(*) from {table}"))

    def workspaces(self) -> list[str]:
        return [r["workspace"] for r in self.db.query("select distinct workspace from checks")]

    def user_label_counts(self, workspace: str, user: str) -> dict[str, int]:
        return {r["label"]: r["n"] for r in self.db.query(
            'select label, count(*) as n from checks where workspace = ? and "user" = ? and status = \'done\' '
            "group by label", [workspace, user])}

    def user_decision_counts(self, workspace: str, user: str) -> dict[str, int]:
        return {r["action"]: r["n"] for r in self.db.query(
            'select action, count(*) as n from decisions where workspace = ? and "user" = ? group by action',
            [workspace, user])}

    def usage_by_engine(self) -> list[Row]:
        """Checks, cache hits, fallbacks, tokens and latency per (engine, model)."""
        return self.db.query(
            "select engine, coalesce(model, '') as model, count(*) as checks, sum(cached) as cached, "
            "sum(case when fallback is not null then 1 else 0 end) as fallbacks, "
            "sum(prompt_tokens) as prompt_tokens, sum(completion_tokens) as completion_tokens, "
            "sum(cached_tokens) as cached_tokens, avg(latency_ms) as avg_latency_ms "
            "from checks where status = 'done' group by engine, model order by checks desc")
