"""Agreement between the two labelling passes: the ceiling any engine can be held to.

    python scripts/agreement.py            # prints the table; --json for machines

Pass A is the label in corpus/*.jsonl (the collector's, by corpus/LABELLING.md). Pass B is
corpus/second_pass.jsonl: independent labellers who saw only the guide and the text, on every row of
the test split. Reports Cohen's kappa, raw agreement and the 4-label macro-F1 of one pass against the other.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bot.evaluation import evaluate  # noqa: E402


def kappa(pairs: list[tuple[str, str]]) -> float:
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    ca, cb = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(ca[k] * cb[k] for k in ca.keys() | cb.keys()) / (n * n)
    return (observed - expected) / (1 - expected)


def measure() -> dict:
    second = {d["id"]: d for d in map(json.loads, (ROOT / "corpus" / "second_pass.jsonl").read_text().splitlines())}
    first = {d["id"]: d for name in ("passages.jsonl", "slack.jsonl")
             for d in map(json.loads, (ROOT / "corpus" / name).read_text().splitlines())}
    out = {}
    groups = {"passages": lambda r: r["genre"] != "slack", "slack": lambda r: r["genre"] == "slack",
              "all": lambda r: True}
    for name, keep in groups.items():
        pairs = [(first[i]["label"], b["label"]) for i, b in second.items() if keep(first[i])]
        out[name] = {"n": len(pairs), "kappa": kappa(pairs), "agreement": sum(a == b for a, b in pairs) / len(pairs),
                     "macro_f1": evaluate(pairs)["macro_f1"]}
    kinds = [(first[i]["kind"], "chatter" if b["label"] == "not-a-proposal" else "proposal")
             for i, b in second.items() if first[i]["genre"] == "slack"]
    out["slack_kind"] = {"n": len(kinds), "kappa": kappa(kinds), "agreement": sum(a == b for a, b in kinds) / len(kinds)}
    return out


if __name__ == "__main__":
    figures = measure()
    if "--json" in sys.argv:
        print(json.dumps(figures, indent=2))
    else:
        print(f"{'rows':<12}{'n':>5}{'kappa':>8}{'agree':>8}{'macro-F1':>10}")
        for name, f in figures.items():
            print(f"{name:<12}{f['n']:>5}{f['kappa']:>8.3f}{f['agreement']:>8.3f}"
                  + (f"{f['macro_f1']:>10.3f}" if "macro_f1" in f else ""))
