"""Compare trained heads on the dev split before one replaces the shipped head (no corpus text needed).

    motivecheck train --out /tmp/new.json                          # a retrain, written beside the shipped head
    python scripts/compare_heads.py bot/models/head.json /tmp/new.json
    python scripts/compare_heads.py bot/models/head.json /tmp/new.json --json

Every head is measured on the same inputs, the dev rows of bot/models/corpus-features.npz (the heads' inputs
for every corpus row), so the figures do not depend on which texts this machine has: explicit checks' macro-F1
and accuracy (all dev rows, passages, Slack messages), real proposals an explicit check dismisses, and on the
Slack rows the channel gate's proposals caught and chatter spoken on and the LLM prefilter's share of proposals
passed. A replacement should match or beat the shipped head on these, then pass the test suite (which holds
the shipped head to its promises); ``--split test`` is for reporting once at the end, never for choosing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bot.engines.trained import CHANNEL, EXPLICIT, PREFILTER, Heads  # noqa: E402
from bot.evaluation import evaluate  # noqa: E402
from bot.train import CORPUS_FEATURES, SavedFeatures, decided, load_corpus_features  # noqa: E402
from bot.verdict import LABELS  # noqa: E402

NOT = "not-a-proposal"


def compare(heads: Heads, saved: SavedFeatures, split: str) -> dict:
    """One head's figures on one split of the saved corpus features."""
    rows = saved.split == split
    features = saved.features(rows)
    gold = [LABELS[i] for i in saved.label[rows]]
    slack = saved.slack[rows]
    explicit, channel, prefilter = ([lab for lab, _ in decided(heads, features, mode)]
                                    for mode in (EXPLICIT, CHANNEL, PREFILTER))
    out: dict = {}
    for part, keep in (("all", np.ones(len(gold), bool)), ("passages", ~slack), ("slack", slack)):
        m = evaluate((g, p) for g, p, k in zip(gold, explicit, keep, strict=True) if k)
        out[part] = {"rows": int(keep.sum()), "macro_f1": round(m["macro_f1"], 4), "accuracy": round(m["accuracy"], 4)}
    proposal = np.array([g != NOT for g in gold])
    out["explicit_proposals_dismissed"] = [sum(p == NOT for p, q in zip(explicit, proposal, strict=True) if q),
                                           int(proposal.sum())]
    for name, labels, of in (("gate_proposals_caught", channel, proposal), ("gate_chatter_spoken_on", channel, ~proposal),
                             ("prefilter_proposals_passed", prefilter, proposal)):
        picked = [p != NOT for p, s, q in zip(labels, slack, of, strict=True) if s and q]
        out[name] = [sum(picked), len(picked)]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("heads", nargs="+", metavar="HEAD.json")
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--features", default=str(CORPUS_FEATURES), metavar="FILE.npz")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    saved = load_corpus_features(Path(args.features))
    results = {path: compare(Heads.load(Path(path)), saved, args.split) for path in args.heads}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for path, r in results.items():
        d, c, s, p = (r["explicit_proposals_dismissed"], r["gate_proposals_caught"], r["gate_chatter_spoken_on"],
                      r["prefilter_proposals_passed"])
        print(f"{path} ({args.split}):")
        for part in ("all", "passages", "slack"):
            print(f"  explicit, {part} ({r[part]['rows']}): macro-F1 {r[part]['macro_f1']:.3f}, "
                  f"accuracy {r[part]['accuracy']:.3f}")
        print(f"  explicit checks dismiss {d[0]} of {d[1]} real proposals ({d[0] / max(1, d[1]):.1%})")
        print(f"  channel gate: catches {c[0]} of {c[1]} Slack proposals, speaks on {s[0]} of {s[1]} chatter")
        print(f"  prefilter passes {p[0]} of {p[1]} Slack proposals ({p[0] / max(1, p[1]):.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
