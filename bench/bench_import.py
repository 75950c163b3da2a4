"""Import throughput: a generated Slack export (20 channels x 30 days) through the rules engine."""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.checker import Checker  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.importer import import_export  # noqa: E402
from bot.store import Store  # noqa: E402

TEXTS = [
    "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter.",
    "Customers keep telling us they can't find their invoices. Let's put a clear Billing link on the home page.",
    "anyone up for lunch at 12:30?",
    "To hit our Q4 bookings target we will simplify checkout so buyers finish faster.",
    "Thanks for the demo today, great work!",
    "Proposal: let patients reschedule from the reminder SMS instead of calling the front desk.",
]


def generate(root: Path, channels: int = 20, days: int = 30, per_day: int = 12) -> int:
    rnd = random.Random(7)
    (root / "channels.json").write_text(json.dumps([{"id": f"C{i:03d}", "name": f"team-{i}"} for i in range(channels)]))
    (root / "users.json").write_text("[]")
    n = 0
    for c in range(channels):
        folder = root / f"team-{c}"
        folder.mkdir()
        for d in range(days):
            msgs = []
            for k in range(per_day):
                ts = 1_790_000_000 + d * 86400 + k * 60 + c
                msgs.append({"type": "message", "user": f"U{rnd.randrange(40)}", "ts": f"{ts}.000{k:03d}",
                             "text": rnd.choice(TEXTS) + f" ({c}-{d}-{k})"})
                n += 1
            (folder / f"2026-10-{d + 1:02d}.json").write_text(json.dumps(msgs))
    return n


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "export"
        root.mkdir()
        n = generate(root)
        settings = load_settings(env={}, db_path=f"{tmp}/bench.db")
        checker = Checker(settings, Store(settings.db_path))
        started = time.perf_counter()
        summary = import_export(checker, root)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = import_export(checker, root)
        second = time.perf_counter() - started
        print(f"generated export: {n} messages in {summary.files} day files")
        print(f"import (rules engine, one process): {summary.checked} checked in {first:.2f} s = "
              f"{n / first:,.0f} messages/s; target >= 1,000")
        print(f"re-import of the same export: {again.checked} added, {again.already} already there, "
              f"{n / second:,.0f} messages/s")


if __name__ == "__main__":
    main()
