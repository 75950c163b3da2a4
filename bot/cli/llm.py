"""``motivecheck stats`` (checks, tokens, estimated cost) and ``motivecheck prompt render``."""

from __future__ import annotations

import argparse
import json

from ..pricing import estimate_cost, price_table
from .common import add_common, make_checker, read_input, settings_from, store_from, text_arg


def register(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser("stats", help="checks, tokens and estimated LLM cost by engine and model")
    st.add_argument("--json", action="store_true", help="print a JSON array, one object per engine and model")
    add_common(st, engine=False)
    st.set_defaults(func=run_stats)
    pr = sub.add_parser("prompt", help="show the prompt the LLM engine would send")
    psub = pr.add_subparsers(dest="prompt_command", metavar="ACTION")
    rd = psub.add_parser("render", help="print exactly the messages that would be sent for a draft")
    rd.add_argument("file", nargs="?", default=None, metavar="FILE|-", help="draft file, or '-' for standard input")
    rd.add_argument("--text", help="the draft itself")
    rd.add_argument("--json", action="store_true", help="print the whole request body as JSON")
    add_common(rd)
    rd.set_defaults(func=run_render)
    pr.set_defaults(func=lambda args: (pr.print_help(), 0)[1])


def run_stats(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = store_from(args, settings)
    rows = store.usage_by_engine()
    table = price_table(settings.prices)
    for row in rows:
        cost = estimate_cost(row["model"], row["prompt_tokens"] or 0, row["cached_tokens"] or 0,
                             row["completion_tokens"] or 0, table) if row["model"] else 0.0
        row["estimated_cost_usd"] = None if cost is None else round(cost, 6)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"No checks logged yet in {store.location}.")
        return 0
    print(f"{'engine':<8}{'model':<16}{'checks':>8}{'cached':>8}{'fallbk':>8}{'prompt tok':>12}"
          f"{'compl tok':>11}{'cached tok':>12}{'est. USD':>10}{'avg ms':>9}")
    for r in rows:
        cost = "n/a" if r["estimated_cost_usd"] is None else f"{r['estimated_cost_usd']:.4f}"
        print(f"{r['engine'] or '-':<8}{r['model'] or '-':<16}{r['checks']:>8}{r['cached'] or 0:>8}"
              f"{r['fallbacks'] or 0:>8}{r['prompt_tokens'] or 0:>12}{r['completion_tokens'] or 0:>11}"
              f"{r['cached_tokens'] or 0:>12}{cost:>10}{r['avg_latency_ms'] or 0:>9.1f}")
    return 0


def run_render(args: argparse.Namespace) -> int:
    from ..engines.llm import LLMEngine

    draft, _notes = text_arg(args.text) if args.text is not None else read_input(args.file)
    checker = make_checker(args, with_store=False)
    book, prepared = checker._prepare(draft, args.playbook)
    body, _mapping, _system = LLMEngine(checker.settings, book).request(prepared)
    if args.json:
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    for message in body["messages"]:
        print(f"--- {message['role']} ---")
        print(message["content"])
    fmt = body.get("response_format")
    if fmt is None:
        sent = "none (the schema is in the prompt; JSON is read from the answer's text)"
    elif fmt["type"] == "json_schema":
        sent = f"strict JSON schema '{fmt['json_schema']['name']}'"
    else:
        sent = f"{fmt['type']} (the schema is in the prompt)"
    print(f"--- model: {body['model']}; response_format: {sent} ---")
    return 0
