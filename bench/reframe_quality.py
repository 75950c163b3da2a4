"""How offline reframes read on real drafts: the corpus dev split (or any labelled JSONL).

    python bench/reframe_quality.py [--split dev] [--show 20]

For every draft the offline engine calls inside-out or mixed, it prints three shares:
* no fragment: every word of the reframe comes from the draft, the connectives or the bracket text;
* numbers kept: every number of the draft's goal sentences (in its opening) is in the reframe;
* leads with the customer: the reframe opens with a sentence that carries a customer-ease cue, or with
  the bracket that asks for one;
* whole sentences: every sentence outside the bracket (and the clause after "As a result,") has at least
  three words and does not end on a word that leaves it hanging ("We.", "Our plan is.", "Team, we.");
* gain kept secondary: of the reframes whose draft names a company gain (revenue, ARR, up-sell...), the share
  whose lead (all before "As a result,", the bracket left out) names none: the gain comes after the customer.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import corpus  # noqa: E402
from bot import reframe as reframing  # noqa: E402
from bot.engines.trained import TrainedEngine  # noqa: E402
from bot.playbook import load_playbook  # noqa: E402
from bot.text import prepare  # noqa: E402

_WORDS = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"[$€£]?\d[\d.,]*%?")
CONNECTIVES = set(_WORDS.findall((reframing.AS_A_RESULT + " we expect to your customers " + reframing.BRACKET).lower()))
# Written here, not taken from bot/reframe.py, so the measure does not grade the code by its own rule.
_HANGING = frozenset("""is was be am will would should can could must may might want plan going to of in for with by
at from into about than as and or but so the a an that which because we i they our""".split())
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\W\d_`<])")
# Company gains in plain words, listed here (not the playbook's cues) so the measure does not grade the engine by
# its own rules.
_GAIN = re.compile(r"\b(?:up-?sell\w*|cross-?sell\w*|revenue|ARR|MRR|profits?|margins?|bookings|market share|quota"
                   r"|bonus\w*|moneti[sz]\w*|sales targets?)\b", re.I)


def gain_secondary(reframe: str) -> bool:
    """The reframe's lead (before "As a result,", the bracket left out) names no company gain."""
    lead = re.sub(r"\[[^\]]*\]", " ", reframe.split(reframing.AS_A_RESULT)[0])
    return not _GAIN.search(lead)


def whole_sentences(reframe: str) -> bool:
    """Every sentence outside the bracket, and the clause after "As a result,", is a sentence."""
    text = re.sub(r"\[[^\]]*\]", " ", reframe).strip()
    for sentence in filter(None, _SENTENCE_END.split(text)):
        if sentence.startswith(reframing.AS_A_RESULT):
            sentence = sentence[len(reframing.AS_A_RESULT):]
        words = sentence.rstrip(".!? ").split()
        if len(words) < 3 or words[-1].strip(",;:[]()") in _HANGING:  # case kept: "in May" ends on a name
            return False
    return True


def measure(engine: TrainedEngine, texts: list[str], *, broken_only: bool = False,
            gain_first: bool = False) -> tuple[dict[str, float], list[tuple[str, str]]]:
    rows = []
    for text in texts:
        prepared = prepare(text)
        verdict = engine.assess(prepared).verdict
        if verdict.label not in ("inside-out", "mixed") or not verdict.reframe:
            continue
        reframe = verdict.reframe
        draft_words = set(_WORDS.findall(text.lower()))
        no_fragment = all(w in draft_words or w in CONNECTIVES for w in _WORDS.findall(reframe.lower()))
        found = engine.rules.scan(prepared)
        sentences = engine.rules.sentences(prepared, found)
        kept = reframing.opening(text, sentences)
        goal_numbers = set()
        for s in reframing.goal_sentences(text, kept, engine.rules._goal_in):
            goal_numbers |= {n.rstrip(".,") for n in _NUMBER.findall(text[s.start:s.end])}
        numbers_kept = all(n in reframe for n in goal_numbers)
        first = reframe.split(". ")[0]
        lead_scan = engine.rules.scan(prepare(first))
        leads = first.startswith("[") or any(e.kind == "ease" for _s, _e, e in lead_scan.scored)
        secondary = gain_secondary(reframe) if _GAIN.search(text) else None
        rows.append((no_fragment, numbers_kept, leads, whole_sentences(reframe), text, reframe, secondary))
    n = max(1, len(rows))
    gains = [r[6] for r in rows if r[6] is not None]
    shares = {"reframes": len(rows), "no_fragment": sum(r[0] for r in rows) / n,
              "numbers_kept": sum(r[1] for r in rows) / n, "leads_with_customer": sum(r[2] for r in rows) / n,
              "whole_sentences": sum(r[3] for r in rows) / n, "with_gain": len(gains),
              "gain_secondary": sum(gains) / max(1, len(gains))}
    return shares, [(r[4], r[5]) for r in rows if (not broken_only or not r[3]) and (not gain_first or r[6] is False)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="dev")
    ap.add_argument("--show", type=int, default=0, help="print this many drafts with their reframes")
    ap.add_argument("--broken", action="store_true", help="show only reframes with a sentence that is not one")
    ap.add_argument("--gain-first", action="store_true", help="show only reframes whose lead names a company gain")
    args = ap.parse_args()
    texts = [r["text"] for r in corpus.load("passages.jsonl") if r["split"] == args.split]
    shares, examples = measure(TrainedEngine(load_playbook("outside-in")), texts, broken_only=args.broken,
                               gain_first=args.gain_first)
    print(f"{shares['reframes']} reframes on the {args.split} split: no fragment {shares['no_fragment']:.1%}, "
          f"numbers kept {shares['numbers_kept']:.1%}, leads with the customer {shares['leads_with_customer']:.1%}, "
          f"whole sentences {shares['whole_sentences']:.1%}; of {shares['with_gain']} naming a company gain, "
          f"gain kept secondary {shares['gain_secondary']:.1%}")
    for text, reframe in examples[: args.show]:
        print("\n--- draft:", " ".join(text.split())[:300], "\n+++ reframe:", reframe)


if __name__ == "__main__":
    main()
