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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bot.engines.trained import CHANNEL, EXPLICIT, PREFILTER, Heads  # noqa: E402
from bot.train import (  # noqa: E402
    CORPUS_FEATURES,
    SavedFeatures,
    decided,
    explicit_by_part,
    gate_and_dismissal_counts,
    load_corpus_features,
)
from bot.verdict import LABELS  # noqa: E402


def compare(heads: Heads, saved: SavedFeatures, split: str) -> dict:
    """One head's figures on one split of the saved corpus features."""
    rows = saved.split == split
    features = saved.features(rows)
    gold = [LABELS[i] for i in saved.label[rows]]
    slack = saved.slack[rows]
    explicit, channel, prefilter = ([lab for lab, _ in decided(heads, features, mode)]
                                    for mode in (EXPLICIT, CHANNEL, PREFILTER))
    out: dict = {part: {"rows": m["n"], "macro_f1": round(m["macro_f1"], 4), "accuracy": round(m["accuracy"], 4)}
                 for part, m in explicit_by_part(gold, slack, explicit).items()}
    out.update(gate_and_dismissal_counts(gold, slack, explicit, channel))
    # The prefilter's share of Slack proposals passed, as the gate's proposals caught are counted.
    out["prefilter_proposals_passed"] = gate_and_dismissal_counts(gold, slack, explicit, prefilter)[
        "gate_proposals_caught"]
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
