"""Explicit checks on the offline road: how many real proposals they dismiss, and what that choice costs.

    python scripts/dismissals.py              # both offline engines on the corpus dev and test splits
    python scripts/dismissals.py --threshold 0.39   # the trained engine at one other dismiss threshold
    python scripts/dismissals.py --choose     # re-choose the shipped heads' dismiss thresholds on the dev split
    python scripts/dismissals.py --json

An explicit check (/motivecheck, `motivecheck check`, the modal, the workflow step) should answer
not-a-proposal only when the draft is plainly not one (issue 21: at most 2 in 100 real proposals). Real
proposals are the rows of corpus/passages.jsonl and corpus/slack.jsonl whose label is not not-a-proposal; rows
whose text is not here are skipped (see bot/corpus.py). For each engine, split and file the report gives the
proposals dismissed, the recall of not-a-proposal and the macro-F1 and accuracy of explicit checks, then the
rules engine's ``explicit_dismiss_margin`` grid on dev (the playbook's number is the best dev macro-F1 among
margins that dismiss at most 2 in 100 dev proposals).

``--choose`` needs no corpus text: it reads bot/models/corpus-features.npz (the heads' inputs for every corpus
row), picks the two thresholds (short drafts, longer ones) with ``bot.train.choose_dismiss_thresholds`` on the
dev rows (as ``motivecheck train`` does) and writes them into bot/models/head.json, saying where they came from
under ``meta.dismiss``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bot.engines.rules import RulesEngine, decide, score  # noqa: E402
from bot.engines.trained import EXPLICIT, HEAD, Heads, TrainedEngine  # noqa: E402
from bot.evaluation import evaluate  # noqa: E402
from bot.playbook import load_playbook  # noqa: E402
from bot.text import prepare  # noqa: E402
from bot.train import (  # noqa: E402
    MAX_PROPOSALS_DISMISSED,
    Features,
    Row,
    choose_dismiss_thresholds,
    load_corpus_features,
    load_rows,
    measure,
)
from bot.verdict import LABELS  # noqa: E402

NOT = "not-a-proposal"
MARGINS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)


def figures(pairs: list[tuple[Row, str]]) -> dict:
    """Dismissed proposals, not-a-proposal recall, macro-F1 and accuracy of (row, predicted label) pairs."""
    m = evaluate((r.label, p) for r, p in pairs)
    proposals = [p for r, p in pairs if r.is_proposal]
    dismissed = sum(p == NOT for p in proposals)
    return {"rows": len(pairs), "proposals": len(proposals), "dismissed": dismissed,
            "dismissed_share": dismissed / len(proposals) if proposals else 0.0,
            "not_a_proposal_recall": m["per_label"][NOT]["recall"], "macro_f1": m["macro_f1"],
            "accuracy": m["accuracy"]}


def by_file(rows: list[Row], predicted: list[str]) -> dict:
    pairs = list(zip(rows, predicted, strict=True))
    return {"passages": figures([(r, p) for r, p in pairs if not r.slack]),
            "slack": figures([(r, p) for r, p in pairs if r.slack]), "both": figures(pairs)}


def measure_engines(threshold: float | None) -> dict:
    """Explicit checks by both offline engines on the dev and test rows that have text here."""
    playbook = load_playbook("outside-in")
    rules = RulesEngine(playbook)
    heads = Heads.load()
    if threshold is not None:
        heads = replace(heads, dismiss_threshold=threshold, dismiss_threshold_short=threshold)
    trained = TrainedEngine(playbook, rules, heads=heads)
    notes: list[str] = []
    rows = [r for r in load_rows(synthetic_weight=0, notes=notes) if r.split in ("dev", "test")]
    sc = playbook.model.scoring
    scores = [score(rules.scan(prepare(r.text)), playbook.model) for r in rows]
    out: dict = {"skipped": notes, "dismiss_thresholds": [heads.dismiss_at(False), heads.dismiss_at(True)],
                 "explicit_dismiss_margin": sc.explicit_dismiss_margin}
    for split in ("dev", "test"):
        keep = [i for i, r in enumerate(rows) if r.split == split]
        part = [rows[i] for i in keep]
        out[f"trained/{split}"] = by_file(part, [trained.assess(prepare(r.text), mode=EXPLICIT).verdict.label
                                                 for r in part])
        out[f"rules/{split}"] = by_file(part, [decide(scores[i], sc, explicit=True) for i in keep])
        out[f"rules, proposal gate/{split}"] = by_file(part, [decide(scores[i], sc) for i in keep])
    dev = [i for i, r in enumerate(rows) if r.split == "dev"]
    out["rules margin grid (dev)"] = {
        str(k): figures([(rows[i], decide(scores[i], sc.model_copy(update={"explicit_dismiss_margin": k}),
                                          explicit=True)) for i in dev]) for k in MARGINS}
    return out


def saved_features() -> tuple[list[Row], Features, str]:
    saved = load_corpus_features()
    rows = [Row("", LABELS[int(y)], str(s), "", bool(k)) for y, s, k in zip(saved.label, saved.split, saved.slack,
                                                                             strict=True)]
    return rows, saved.features(), saved.data_sha256


def choose(path: Path) -> dict:
    """Re-choose the shipped heads' dismiss thresholds on the dev rows of the saved corpus features; write them."""
    heads = Heads.load(path)
    rows, features, sha = saved_features()
    dev_mask = np.array([r.split == "dev" for r in rows])
    dev_rows = [r for r in rows if r.split == "dev"]
    dev = features.take(dev_mask)
    y_dev = np.array([LABELS.index(r.label) for r in dev_rows])
    long, short = choose_dismiss_thresholds(heads, dev, y_dev, MAX_PROPOSALS_DISMISSED)
    chosen = replace(heads, dismiss_threshold=long, dismiss_threshold_short=short)
    figures_dev = measure(chosen, dev_rows, dev)
    meta = dict(heads.meta)
    # The explicit checks' dev figures follow the threshold; the gate's stay those measured at training
    # (full precision: the saved features are float16, which can tip a row at the gate's exact threshold).
    explicit = ("explicit_macro_f1", "passages_macro_f1", "proposals_dismissed", "ece")
    meta["dev"] = {**meta.get("dev", {}), **{k: figures_dev[k] for k in explicit}}
    meta["dismiss"] = {
        "chosen_by": "scripts/dismissals.py --choose (bot.train.choose_dismiss_thresholds)",
        "on": "the dev rows of bot/models/corpus-features.npz", "corpus_features_sha256": sha,
        "max_proposals_dismissed": MAX_PROPOSALS_DISMISSED, "threshold": long, "threshold_short": short,
        "dev_proposals": int(sum(r.is_proposal for r in dev_rows)),
        "dev_proposals_dismissed": figures_dev["proposals_dismissed"],
        "note": "meta.dev's explicit-check figures are measured on the same saved features, with these thresholds",
    }
    replace(chosen, meta=meta).save(path)
    return {"previous": [heads.dismiss_at(False), heads.dismiss_at(True)], "chosen": [long, short],
            "dev": meta["dev"]}


def table(out: dict) -> str:
    lines = [f"trained dismiss thresholds {out['dismiss_thresholds'][0]} (short drafts {out['dismiss_thresholds'][1]}), "
             "rules explicit_dismiss_margin "
             f"{out['explicit_dismiss_margin']}", *out["skipped"], "",
             f"{'engine/split':<28}{'file':<10}{'rows':>6}{'props':>7}{'dismissed':>11}{'not-prop recall':>17}"
             f"{'macro-F1':>10}{'accuracy':>10}"]
    for key, files in out.items():
        if "/" not in key:
            continue
        for name, f in files.items():
            lines.append(f"{key:<28}{name:<10}{f['rows']:>6}{f['proposals']:>7}"
                         f"{f['dismissed']:>4} {f['dismissed_share']:>6.1%}{f['not_a_proposal_recall']:>17.3f}"
                         f"{f['macro_f1']:>10.3f}{f['accuracy']:>10.3f}")
    lines += ["", "rules engine, explicit_dismiss_margin on dev (both files):"]
    for k, f in out["rules margin grid (dev)"].items():
        lines.append(f"  margin {k:<5} dismissed {f['dismissed']:>3} of {f['proposals']} ({f['dismissed_share']:.1%}), "
                     f"not-a-proposal recall {f['not_a_proposal_recall']:.3f}, macro-F1 {f['macro_f1']:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--choose", action="store_true", help="re-choose the dismiss thresholds; write head.json")
    parser.add_argument("--head", default=str(HEAD), help="the heads file --choose rewrites")
    parser.add_argument("--threshold", type=float, default=None, help="measure the trained engine at this threshold")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    out = choose(Path(args.head)) if args.choose else measure_engines(args.threshold)
    print(json.dumps(out, indent=2) if args.json or args.choose else table(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
