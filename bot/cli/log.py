"""``motivecheck log``: the most recent checks in the database."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from .common import add_common, at_least_one, store_from
from .render import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("log", help="list recent checks")
    p.add_argument("-n", "--limit", type=at_least_one, default=20, help="how many checks (default 20)")
    p.add_argument("--user", default=None, help="only this user's checks")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    add_common(p, engine=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = store_from(args)
    rows = store.recent_checks(args.limit, user=args.user)
    if args.json:
        for row in rows:
            row = dict(row)
            row["motives"] = json.loads(row["motives"] or "[]")
            row["verdict"] = json.loads(row.pop("verdict_json") or "null")
            print(json.dumps(row, ensure_ascii=False))
        return 0
    if not rows:
        print(f"No checks logged yet in {store.location}. Try: motivecheck check --log FILE")
        return 0
    print(f"{'id':>6}  {'time (UTC)':<16}  {'source':<8} {'label':<15}{'ease':>5}  {'engine':<7} draft")
    for row in rows:
        when = datetime.fromtimestamp(row["ts"], tz=UTC).strftime("%Y-%m-%d %H:%M")
        text = printable((row["draft_text"] or "(text not stored)").replace("\n", " "))
        if len(text) > 60:
            text = text[:57] + "..."
        where = f"#{printable(row['channel'])} " if row["channel"] else ""
        print(f"{row['id']:>6}  {when:<16}  {row['source']:<8} {row['label'] or row['status']:<15}"
              f"{row['customer_ease'] if row['customer_ease'] is not None else '-':>5}  "
              f"{row['engine'] or '-':<7} {where}{text}")
    return 0
