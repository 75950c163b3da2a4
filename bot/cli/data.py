"""Data commands: import a Slack export, purge old texts, forget a person, export checks."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date

from ..errors import InputError
from .common import add_common, make_checker, open_output, store_from


def register(sub: argparse._SubParsersAction) -> None:
    im = sub.add_parser("import", help="check a Slack workspace export (zip or folder) as a baseline")
    im.add_argument("path", metavar="PATH", help="the export: a .zip, or the folder it unpacks to")
    im.add_argument("--channels", default=None, help="comma-separated channel names or IDs")
    im.add_argument("--since", default=None, help="first day (YYYY-MM-DD)")
    im.add_argument("--until", default=None, help="last day (YYYY-MM-DD)")
    im.add_argument("--workspace", default="", help="workspace ID to record (default: none)")
    im.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_common(im)
    im.set_defaults(func=run_import)

    pu = sub.add_parser("purge", help="remove draft texts older than an age or date (verdicts stay)")
    pu.add_argument("--older-than", required=True, metavar="AGE", help="90d, 12w, 6m, 1y or 2026-01-01")
    add_common(pu, engine=False)
    pu.set_defaults(func=run_purge)

    fo = sub.add_parser("forget", help="erase one person's drafts and decisions, or all of a workspace's data")
    who = fo.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", metavar="USER_ID", help="a person: their words go, counts stay unattributed")
    who.add_argument("--workspace", metavar="TEAM_ID", help="a workspace: everything, its installation included")
    add_common(fo, engine=False)
    fo.set_defaults(func=run_forget)

    ex = sub.add_parser("export", help="one row per check, as CSV or JSON lines")
    ex.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="CSV (the default) or JSON lines")
    ex.add_argument("--since", default=None, help="only checks since this date or age (2026-01-01, 30d)")
    ex.add_argument("--with-text", action="store_true", help="include draft text (where it is still stored)")
    ex.add_argument("--workspace", default=None, metavar="TEAM_ID", help="only this workspace's checks")
    ex.add_argument("--output", default="-", metavar="FILE", help="write here (default: standard output)")
    add_common(ex, engine=False)
    ex.set_defaults(func=run_export)


def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{flag} must be a date like 2026-11-01, got {value!r}") from None


def run_import(args: argparse.Namespace) -> int:
    from ..importer import import_export

    checker = make_checker(args, with_store=True)
    summary = import_export(checker, args.path, channels=args.channels.split(",") if args.channels else None,
                            since=_day(args.since, "--since"), until=_day(args.until, "--until"),
                            workspace=args.workspace, engine=args.engine)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
        return 0
    rate = summary.read / summary.seconds if summary.seconds else 0
    print(f"Read {summary.read} messages in {summary.files} day files ({rate:,.0f} messages/s).")
    print(f"Checked {summary.checked}; already imported {summary.already}.")
    if summary.labels:
        print("Labels: " + ", ".join(f"{k} {v}" for k, v in summary.labels.most_common()))
    if summary.skipped:
        print("Skipped: " + ", ".join(f"{k} {v}" for k, v in summary.skipped.most_common()))
    for problem in summary.problems[:20]:
        print(f"Problem: {problem}", file=sys.stderr)
    return 0


def run_purge(args: argparse.Namespace) -> int:
    from ..datacontrols import parse_cutoff, purge_texts

    store = store_from(args)
    n = purge_texts(store, parse_cutoff(args.older_than))
    print(f"Removed the draft text of {n} check(s) older than {args.older_than}; verdicts and counts are kept.")
    return 0


def run_forget(args: argparse.Namespace) -> int:
    from ..datacontrols import forget_user, forget_workspace

    if args.workspace is not None:
        done = forget_workspace(store_from(args), args.workspace)
        print(f"Forgot workspace {args.workspace}: deleted {done['checks']} check(s), {done['decisions']} "
              f"decision(s), {done['labels']} label(s), {done['heads']} head(s), {done['cache_entries']} cached "
              f"verdict(s), {done['settings']} setting(s), {done['watched_channels']} watched channel(s), "
              f"{done['digests']} digest(s) and {done['installs']} install record(s) with their tokens; "
              "opt-outs stay in force.")
        return 0
    result = forget_user(store_from(args), args.user)
    print(f"Forgot {args.user}: erased the drafts of {result['checks_erased']} check(s), deleted "
          f"{result['decisions_deleted']} decision(s), {result['cache_entries_deleted']} cached verdict(s) and "
          f"{result['labels_deleted']} label(s) holding their words; an opt-out stays in force.")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ..datacontrols import EXPORT_FIELDS, export_rows, parse_cutoff, spreadsheet_safe

    store = store_from(args)
    since = parse_cutoff(args.since) if args.since else None
    out = open_output(args.output, "--output")
    try:
        fields = list(EXPORT_FIELDS) + (["text"] if args.with_text else [])
        writer = csv.DictWriter(out, fieldnames=fields) if args.format == "csv" else None
        if writer:
            writer.writeheader()
        for row in export_rows(store, since, args.with_text, args.workspace):
            if writer:
                writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})  # JSON lines stay exact
            else:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0
