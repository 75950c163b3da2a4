"""Hand LLM requests to readers who stand in for a model, and turn their answers into eval records.

`motivecheck eval ... --replay ANSWERS.jsonl --missing REQUESTS.jsonl` writes the requests that have no answer.
`split` cuts them into batches a reader can answer: the system message and the answer schema once, then each
request's user message under its hash. No row id, label or source reaches the batch: the reader sees only what
the model would. The reader writes one line per request, `{"request": HASH, "answer": "<the raw answer>"}`;
`join` adds back each request's row id and purpose and the answers' source, in the record format of
bot/engines/recording.py. Batches and answers quote the drafts: keep them beside the corpus text, out of git.

    python scripts/reader_batches.py split REQUESTS.jsonl --out DIR --size 70
    python scripts/reader_batches.py join REQUESTS.jsonl ANSWERS.jsonl... --source reader:NAME >> RECORDS.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _requests(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def split(args: argparse.Namespace) -> None:
    groups: dict[tuple[str, str], list[dict]] = {}
    for req in _requests(Path(args.requests)):
        system = req["messages"][0]["content"]
        groups.setdefault((req["purpose"], system), []).append(req)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for (purpose, system), reqs in groups.items():
        schema = reqs[0].get("response_format")
        for start in range(0, len(reqs), args.size):
            n += 1
            batch = reqs[start:start + args.size]
            parts = [f"# Batch {n}: {len(batch)} requests ({purpose})", "",
                     "Every request below has the same system message and answer format. Answer each request on "
                     "its own, as the model would, seeing only that request.", "",
                     "## System message", "", system, ""]
            if schema:
                parts += ["## Answer format (response_format sent with each request)", "",
                          json.dumps(schema, ensure_ascii=False), ""]
            for req in batch:
                parts += [f"## Request {req['request']}", "", req["messages"][-1]["content"], ""]
            name = out / f"batch-{n:02d}-{purpose}.md"
            name.write_text("\n".join(parts), encoding="utf-8")
            print(f"{name}: {len(batch)} requests")


def join(args: argparse.Namespace) -> None:
    wanted = {req["request"]: req for req in _requests(Path(args.requests))}
    seen = 0
    for path in args.answers:
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            ans = json.loads(line)
            req = wanted.get(ans.get("request"))
            if req is None:
                print(f"{path}:{n}: no such request; skipped", file=sys.stderr)
                continue
            answer = ans["answer"] if isinstance(ans["answer"], str) else json.dumps(ans["answer"], ensure_ascii=False)
            print(json.dumps({"id": req["id"], "purpose": req["purpose"], "request": req["request"], "answer": answer,
                              "finish_reason": "stop", "usage": None, "source": args.source, "model": None},
                             ensure_ascii=False))
            seen += 1
    print(f"joined {seen} of {len(wanted)} requests", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(required=True)
    p = sub.add_parser("split")
    p.add_argument("requests")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=70)
    p.set_defaults(func=split)
    p = sub.add_parser("join")
    p.add_argument("requests")
    p.add_argument("answers", nargs="+")
    p.add_argument("--source", required=True)
    p.set_defaults(func=join)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
