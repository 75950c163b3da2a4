"""Assemble corpus/passages.jsonl and corpus/slack.jsonl from the collectors' files, split by source.

    python scripts/build_corpus.py RAW.jsonl ... [--train-only MORE.jsonl ...]

Files after ``--train-only`` were collected later, from sources none of the first files used; their rows
join the train split, so the dev and test splits (and the second labelling pass on test) stay as they were.

The committed files hold everything but the text: id, source, family, genre, label, motives, rationale,
confidence, split, word count and the text's sha256. The verbatim text goes to the corpus text folder
(``MOTIVECHECK_CORPUS_TEXT``, else ``corpus/text/``; see corpus/README.md), never into git: it was
copied out of fetched repositories and stored pages, which stay out of this repository's commits.

Each collector appended verbatim passages with their source and a first label (pass A, by the guide in
corpus/LABELLING.md). This script drops exact duplicates (whitespace-insensitive), checks fields and
lengths, and assigns every *source family* to one split: a GitHub owner or a web site for passages
(``rust-lang/rfcs`` and ``rust-lang/blog.rust-lang.org`` travel together), the Slack workspace for
messages. Families are dealt largest first to the split furthest below its share (60/20/20), so no
source ever appears in two splits. The result is deterministic for the same input.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

_SECRET = re.compile(r"pwd=|passcode|password\s*[:=]", re.I)
LABELS = {"outside-in", "inside-out", "mixed", "not-a-proposal"}
SHARES = {"train": 0.6, "dev": 0.2, "test": 0.2}
# Projects whose repositories live under more than one owner.
ALIASES = {"ember-learn": "emberjs", "openjs-foundation": "nodejs", "corazawaf": "owasp", "coreruleset": "owasp",
           "clojureverse": "clojurians"}
PASSAGE_FIELDS = ("id", "text", "source", "source_group", "genre", "label", "motives", "rationale", "confidence")
OUT = Path(__file__).resolve().parents[1] / "corpus"
sys.path.insert(0, str(OUT.parent))
from bot.corpus import text_dir  # noqa: E402


def family(row: dict) -> str:
    if row.get("genre") == "slack":
        name = row.get("community") or row["source_group"]
        key = name.lower().split(" (")[0].replace(" slack", "").strip()
    else:
        group = row["source_group"].lower()
        key = group.split("/")[0] if "/" in group else group.removeprefix("www.")
        if "/" not in group:  # a web site: its registrable part
            key = ".".join(key.split(".")[-2:])
    return ALIASES.get(key, key)


def assign(sizes: Counter) -> dict[str, str]:
    split_of: dict[str, str] = {}
    filled = dict.fromkeys(SHARES, 0)
    total = sum(sizes.values())
    stable = sorted(sizes, key=lambda f: (-sizes[f], hashlib.sha256(f.encode()).hexdigest()))
    for fam in stable:
        target = max(SHARES, key=lambda s: SHARES[s] * total - filled[s])
        split_of[fam] = target
        filled[target] += sizes[fam]
    return split_of


def main(args: list[str]) -> None:
    cut = args.index("--train-only") if "--train-only" in args else len(args)
    paths, later = args[:cut], set(args[cut + 1:])
    seen: set[str] = set()
    passages, slack = [], []
    for path in paths + sorted(later):
        for n, line in enumerate(Path(path).read_text().splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            key = " ".join(row["text"].split()).lower()
            if key in seen:
                print(f"{path}:{n}: duplicate text; dropped", file=sys.stderr)
                continue
            if row.get("genre") == "slack" and _SECRET.search(row["text"]):  # a chat message sharing a login
                print(f"{path}:{n}: carries a password or meeting passcode; dropped", file=sys.stderr)
                continue
            if row.get("label") not in LABELS:
                print(f"{path}:{n}: label {row.get('label')!r}; dropped", file=sys.stderr)
                continue
            seen.add(key)
            row["family"] = family(row)
            row["later"] = path in later
            if row.get("genre") == "slack":
                row["kind"] = "chatter" if row["label"] == "not-a-proposal" else "proposal"
                slack.append(row)
            else:
                words = len(row["text"].split())
                if not 50 <= words <= 400:
                    print(f"{path}:{n}: {words} words; dropped", file=sys.stderr)
                    seen.discard(key)
                    continue
                passages.append(row)
    for name, rows in (("passages", passages), ("slack", slack)):
        split_of = assign(Counter(r["family"] for r in rows if not r["later"]))
        for r in rows:
            split_of.setdefault(r["family"], "train")
        fields = PASSAGE_FIELDS + (("kind", "community") if name == "slack" else ())
        texts = text_dir(create=True) / f"{name}.jsonl"
        with open(OUT / f"{name}.jsonl", "w") as out, open(texts, "w") as text_out:
            for r in rows:
                text_out.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
                clean = {k: r[k] for k in fields if k != "text"}
                clean["words"] = len(r["text"].split())
                clean["sha256"] = hashlib.sha256(r["text"].encode()).hexdigest()
                clean["motives"] = [m for m in clean["motives"] if m] if clean["label"] in ("inside-out", "mixed") \
                    else clean["motives"]
                clean["family"] = r["family"]
                clean["split"] = split_of[r["family"]]
                out.write(json.dumps(clean, ensure_ascii=False) + "\n")
        by = Counter((split_of[r["family"]], r["label"]) for r in rows)
        print(f"{name}: {len(rows)} rows, {len(split_of)} families")
        for s in SHARES:
            print(f"  {s:<5} families={sum(1 for f in split_of.values() if f == s):>3} "
                  + " ".join(f"{lab}={by[(s, lab)]}" for lab in sorted(LABELS)))


if __name__ == "__main__":
    main(sys.argv[1:])
