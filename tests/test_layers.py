"""All SQL lives in the store package (bot/store/): no other module runs a statement or opens a transaction."""

from __future__ import annotations

import re
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
SQL = re.compile(r"\.execute\(|\.query\(|\.conn\b|\bstore\.db\b|\.write\(\) as|\b(?:select|insert|update|delete)\s+"
                 r"(?:\w+\s+)?(?:from|into|or|\w+\s+set)\b", re.IGNORECASE)


def test_no_sql_outside_the_store():
    offenders = {}
    for path in sorted(BOT.rglob("*.py")):
        if path.relative_to(BOT).parts[0] == "store":
            continue
        found = [m.group() for m in SQL.finditer(path.read_text(encoding="utf-8"))]
        if found:
            offenders[str(path.relative_to(BOT))] = found
    assert offenders == {}
