"""Set the shipped head's channel prefilter threshold (bot/models/head.json) from the saved corpus features.

`motivecheck train` chooses it the same way when it refits the heads; this sets it on the shipped heads
without refitting them: the highest P(proposal) threshold that passes at least 97% of the dev split's Slack
proposals (bot.train.MIN_PREFILTER_RECALL), read from bot/models/corpus-features.npz (no corpus text needed).

    python scripts/choose_prefilter.py
"""

from __future__ import annotations

import dataclasses

from bot.engines.trained import HEAD, Heads
from bot.train import shipped_prefilter


def main() -> None:
    heads = Heads.load()
    threshold = shipped_prefilter(heads)
    dataclasses.replace(heads, prefilter_threshold=threshold).save(HEAD)
    print(f"prefilter threshold {threshold:.4f} (gate threshold {heads.gate_threshold:.4f}) written to {HEAD}")


if __name__ == "__main__":
    main()
