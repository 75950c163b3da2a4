"""Offline throughput on one core: checks per second for short, typical and long drafts.

Prints, in one run, the trained engine (the default) beside the rules engine it builds on, and two
baselines on the same machine: the cost of just preparing the text and a naive engine that runs one
regex search per cue phrase. The trained engine caches word vectors, as it does in a running app.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.engines.rules import RulesEngine  # noqa: E402
from bot.engines.trained import TrainedEngine  # noqa: E402
from bot.playbook import load_playbook  # noqa: E402
from bot.text import prepare  # noqa: E402

SHORT = "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."
TYPICAL = (
    "Proposal for Q3: <@U024BE7LH> and I want to launch the Premium Plus tier for existing accounts. "
    "Today many admins tell us they export reports by hand every Monday and paste them into slides, which "
    "takes them about two hours and they often get stuck on the filters. Premium Plus would add scheduled "
    "exports, a shared dashboard link and single sign-on. We'll start with a pilot of 40 accounts in "
    "September, then roll out to everyone on the Business plan in October. Pricing would be $12 per seat per "
    "month on top of Business. Our goal is to lift ARR 15% this quarter and hit the expansion target that "
    "the board approved, and the sales team will get a spiff for every upgrade. Support will need a short "
    "training, and we should update the help centre so customers can find the new settings without "
    "waiting for an answer from us. If it works, we expect fewer tickets about exports as a result. "
    "Risks: some customers may feel pushed to upgrade, and the migration of saved filters could fail for "
    "very large workspaces, so we will test with the three biggest accounts first. :rocket: "
    "Let me know what you think by Friday."
)
LONG = " ".join([TYPICAL] * 4)
_SENTENCES = TYPICAL.split(". ")
TYPICAL_100 = ". ".join(_SENTENCES[:6]) + "."
TYPICAL_300 = TYPICAL + " " + ". ".join(_SENTENCES[:4]) + "."


def window(fn, text: str, seconds: float) -> float:
    """Calls per second of fn(text) over one short timed window."""
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(10):
            fn(text)
        n += 10
    return n / (time.perf_counter() - started)


def best_rates(cases: dict[str, tuple], rounds: int, seconds: float) -> dict[str, float]:
    """The best window of each case, with the cases' windows interleaved round by round.

    Other load on a shared machine only ever slows a window, and it comes in bursts of seconds:
    interleaving spreads every case's windows over the whole run, so a burst cannot spoil one case
    (or one column of the table) while sparing the next, and the best window is the closest to the
    code's own speed.
    """
    best = dict.fromkeys(cases, 0.0)
    for _ in range(rounds):
        for key, (fn, text) in cases.items():
            best[key] = max(best[key], window(fn, text, seconds))
    return best


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    playbook = load_playbook("outside-in")
    engine = RulesEngine(playbook)
    trained = TrainedEngine(playbook, engine)
    m = playbook.model
    phrases = [c.phrase for c in m.proposal.cues + m.proposal.not_cues + m.customer_ease.cues]
    phrases += [c.phrase for mo in m.motives.values() for c in mo.cues]
    naive = [re.compile(r"\b" + re.escape(p.rstrip("*")), re.I) for p in phrases]

    def naive_check(text: str) -> None:
        for rx in naive:
            rx.search(text)

    drafts = [("short", SHORT), ("typical", TYPICAL_100), ("typical", TYPICAL), ("typical", TYPICAL_300),
              ("long", LONG)]
    cases: dict[str, tuple] = {}
    for i, (_, text) in enumerate(drafts):
        cases[f"{i}:trained"] = (lambda t: trained.assess(prepare(t)), text)
        cases[f"{i}:check"] = (lambda t: engine.assess(prepare(t)), text)
        cases[f"{i}:prepare"] = (prepare, text)
        cases[f"{i}:scan"] = (engine._find, prepare(text).scan)  # finding the cues, without the verdict
        cases[f"{i}:naive"] = (naive_check, text)
    print(f"playbook: {playbook.name} {playbook.version}, {len(phrases)} cue phrases; one core, Python "
          f"{sys.version.split()[0]}; best of {rounds} interleaved windows per figure")
    best = best_rates(cases, rounds, seconds=0.05)
    print(f"{'draft':<10}{'words':>7}{'trained/s':>11}{'rules/s':>10}{'ratio':>7}{'prepare only':>14}"
          f"{'cue scan only':>15}{'naive regex':>13}{'vs naive':>10}")
    typical = []
    for i, (name, text) in enumerate(drafts):
        t, r, p, sc, nv = (best[f"{i}:{k}"] for k in ("trained", "check", "prepare", "scan", "naive"))
        if name == "typical":
            typical.append((len(text.split()), t))
        print(f"{name:<10}{len(text.split()):>7}{t:>11,.0f}{r:>10,.0f}{t / r:>7.2f}{p:>14,.0f}{sc:>15,.0f}"
              f"{nv:>13,.0f}{r / nv:>9.0f}x")
    words, slowest = min(typical, key=lambda wr: wr[1])
    verdict = "MET" if slowest >= 5000 else ("above the 2,000 floor" if slowest >= 2000 else "BELOW the 2,000 floor")
    print(f"\ndefault (trained) engine, typical 100-300-word drafts: aim >= 5,000 checks/s, floor 2,000: {verdict} "
          f"(slowest: {slowest:,.0f}/s at {words} words)")


if __name__ == "__main__":
    main()
