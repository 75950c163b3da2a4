"""``motivecheck playbook``: validate and show playbooks."""

from __future__ import annotations

import argparse
import json

from ..config import PLAYBOOKS_DIR
from ..playbook import load_playbook


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("playbook", help="validate or show playbooks")
    psub = p.add_subparsers(dest="playbook_command", metavar="ACTION")
    v = psub.add_parser("validate", help="check a playbook file; errors name file, line and field")
    v.add_argument("file", metavar="FILE|NAME", help="a playbook file, or the name of a shipped one")
    v.set_defaults(func=run_validate)
    s = psub.add_parser("show", help="summarise a playbook (default: outside-in)")
    s.add_argument("name", nargs="?", default="outside-in", metavar="NAME|FILE",
                   help="a shipped playbook's name or a file (default: outside-in)")
    s.add_argument("--json", action="store_true", help="print the merged playbook as JSON")
    s.set_defaults(func=run_show)
    ls = psub.add_parser("list", help="list the playbooks shipped in playbooks/")
    ls.add_argument("--json", action="store_true", help="one JSON object per playbook (name, version, path)")
    ls.set_defaults(func=run_list)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def run_validate(args: argparse.Namespace) -> int:
    book = load_playbook(args.file)
    m = book.model
    cues = len(m.proposal.cues) + len(m.proposal.not_cues) + len(m.customer_ease.cues)
    cues += sum(len(mo.cues) for mo in m.motives.values())
    parent = f", extends {m.extends}" if m.extends else ""
    print(f"{book.path}: OK — {book.name} {book.version}{parent}: {cues} cues, {len(m.motives)} motives, "
          f"{sum(len(t) for t in m.reframes.values())} reframe templates")
    return 0


def run_show(args: argparse.Namespace) -> int:
    book = load_playbook(args.name)
    m = book.model
    if args.json:
        print(json.dumps(m.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return 0
    print(f"{book.name} {book.version} ({book.path})")
    if m.description:
        print(m.description.strip())
    print()
    print(m.principle.strip())
    print("\nCompany-first motives it recognises:")
    for mid, mo in m.motives.items():
        print(f"  {mid:<26} {mo.title} ({len(mo.cues)} cues)")
    print(f"\nCustomer-ease cues: {len(m.customer_ease.cues)}; proposal cues: {len(m.proposal.cues)}; "
          f"chat cues: {len(m.proposal.not_cues)}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    for path in sorted(PLAYBOOKS_DIR.glob("*.y*ml")):
        book = load_playbook(str(path))
        if args.json:
            print(json.dumps({"name": book.name, "version": book.version, "path": str(path)}))
        else:
            print(f"{book.name:<20} {book.version:<6} {path}")
    return 0
