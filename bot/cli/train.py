"""``motivecheck train``: refit the trained engine's heads from the real-text corpus."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..engines.trained import HEAD
from ..playbook import load_playbook
from ..train import load_rows, train


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="refit the trained engine from the corpus (train split; dev for thresholds)",
                       description="Fit the motive head and the channel gate on corpus/*.jsonl (train split), "
                                   "choose L2, temperature and thresholds on the dev split, and write the heads. "
                                   "The test split is never read.")
    p.add_argument("--out", default=str(HEAD), help=f"where to write the heads (default: {HEAD})")
    p.add_argument("--playbook", default="outside-in", help="playbook whose cues feed the heads")
    p.add_argument("--json", action="store_true", help="print the dev figures as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    report = train(load_playbook(args.playbook), load_rows())
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    report.heads.save(Path(args.out))
    if args.json:
        print(json.dumps({"out": args.out, "seconds": round(time.perf_counter() - started, 1),
                          **report.heads.meta}, indent=2))
    else:
        print(report.text)
        print(f"wrote {args.out} in {time.perf_counter() - started:.1f} s")
    return 0
