"""``motivecheck check``: one draft, or a JSONL file of drafts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .. import quickread
from ..checker import Checker
from ..errors import InputError
from .common import (
    BadLines,
    add_common,
    decode,
    make_checker,
    parse_iso_ts,
    read_input,
    settings_from,
    text_arg,
)
from .render import format_verdict


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check a draft (FILE, '-' for stdin, or --jsonl FILE)",
                       description="Check a draft and print the verdict, evidence and an outside-in reframe.")
    p.add_argument("file", nargs="?", metavar="FILE|-", help="draft file, or '-' for standard input")
    p.add_argument("--text", help="the draft itself, instead of a file")
    p.add_argument("--jsonl", metavar="FILE", help='check each line {"id": ..., "text": ...} of FILE')
    p.add_argument("--json", action="store_true", help="print the Verdict as JSON")
    p.add_argument("--log", action="store_true", help="record the check(s) in the database")
    p.add_argument("--as", dest="mode", choices=("explicit", "channel", "proposal"), default="explicit",
                   help="explicit (default): judge the motive as /motivecheck does; channel: apply the watched-"
                        "channel gate (not-a-proposal where the app would stay quiet); proposal: the author says "
                        "it is a proposal, so its motive is always judged (/motivecheck proposal: ...)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour the report (default auto: only on a terminal)")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sources = [x for x in (args.file, args.text, args.jsonl) if x is not None]
    if len(sources) > 1:
        raise InputError("give one of FILE, --text or --jsonl")
    # With an LLM configured the store also holds the verdict cache, so open it even without --log.
    checker = make_checker(args, with_store=args.log or settings_from(args).llm_configured)
    if args.jsonl:
        return run_jsonl(checker, args)
    if args.text is not None:
        draft, notes = text_arg(args.text)
    else:
        draft, notes = read_input(args.file)
    result = checker.check(draft, engine=args.engine, log=args.log, source="cli", mode=args.mode)
    verdict = result.verdict
    verdict.notes.extend(notes)
    if args.json:
        print(verdict.model_dump_json(indent=2))
    else:
        colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
        # Once, under the report: what an offline verdict is and how far to trust it (none with an LLM).
        print(format_verdict(draft, verdict, colour=colour,
                             footer=quickread.note(verdict.engine, checker.settings.llm_configured)))
        if verdict.fallback == "timeout":
            print("\n" + timeout_hint(checker.settings.llm_timeout, checker.settings.llm_deadline))
        if verdict.label == "not-a-proposal" and args.mode == "explicit":
            print("\nIf it does propose something: add --as proposal and its motive is judged.")
        if result.check_id is not None:
            print(f"\nLogged as check #{result.check_id}.")
    return 0


def timeout_hint(timeout: float, deadline: float) -> str:
    """What to change when the LLM ran out of time: the person at the CLI is the one who sets it. A local model on
    a CPU takes 20 s to 3 min a check (README, *Use a local model*), far beyond defaults made for a hosted API."""
    return (f"The LLM had {timeout:g} s a request (MOTIVECHECK_LLM_TIMEOUT) and {deadline:g} s a check "
            "(MOTIVECHECK_LLM_DEADLINE). A local model on a CPU needs more: see README, \"Use a local model\".")


def _context(obj: dict[str, Any]) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    for key in ("channel", "user", "workspace", "channel_type"):
        if obj.get(key) is not None:
            ctx[key] = str(obj[key])
    if obj.get("ts") is not None:
        ctx["ts"] = parse_iso_ts(obj["ts"])
    return ctx


def run_jsonl(checker: Checker, args: argparse.Namespace) -> int:
    """Check every line; report bad lines by number on stderr and carry on."""
    path = Path(args.jsonl)
    if args.jsonl != "-" and not path.is_file():
        raise InputError(f"no such file: {args.jsonl}")
    data = sys.stdin.buffer.read() if args.jsonl == "-" else path.read_bytes()
    text, notes = decode(data, args.jsonl)
    for note in notes:
        print(f"motivecheck: warning: {note}", file=sys.stderr)
    ok = 0
    bad = BadLines(args.jsonl)
    out = sys.stdout
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise InputError("expected a JSON object")
            draft = obj.get("text")
            if not isinstance(draft, str):
                raise InputError('missing "text" (a string)')
            result = checker.check(draft, engine=args.engine, log=args.log, source="cli", mode=args.mode,
                                   external_id=str(obj["id"]) if obj.get("id") is not None else None,
                                   **_context(obj))
        except json.JSONDecodeError as exc:
            bad.skip(lineno, f"invalid JSON ({exc.msg})")
            continue
        except InputError as exc:
            bad.skip(lineno, str(exc))
            continue
        record = {"id": obj.get("id"), **json.loads(result.verdict.model_dump_json())}
        if result.check_id is not None:
            record["check_id"] = result.check_id
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        ok += 1
    bad.close()
    print(f"checked {ok} draft(s), skipped {bad.count} bad line(s)", file=sys.stderr)
    if not ok:  # nothing checked is a failure a script must see, not a quiet success
        raise InputError(f"nothing was checked: {args.jsonl} has no line with a draft"
                         + (f" ({bad.count} bad line(s), above)" if bad.count else ""))
    return 0
