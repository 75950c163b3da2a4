"""Hand LLM requests to readers who stand in for a model, and turn their answers into eval records.

`motivecheck eval ... --replay ANSWERS.jsonl --missing REQUESTS.jsonl` writes the requests that have no answer.
`split` cuts them into batches a reader can answer: the system message and the answer schema once, then each
request's user message under its hash. No row id, label or source reaches the batch: the reader sees only what
the model would. The reader writes one line per request, `{"request": HASH, "answer": "<the raw answer>"}`;
`join` adds back each request's row id and purpose and the answers' source, in the record format of
bot/engines/recording.py. Batches and answers quote the drafts: keep them beside the corpus text, out of git.

    python scripts/reader_batches.py split REQUESTS.jsonl --out DIR --size 70
    python scripts/reader_batches.py join REQUESTS.jsonl ANSWERS.jsonl... --source reader:NAME >> RECORDS.jsonl

Comparing two prompts: readers differ about as much as prompts do (two sets of readers answering the same requests
scored 0.700 and 0.685), so `balance` gives each reader half its rows under one prompt and half, other rows, under
the other. Every row is answered once under each prompt, reader and prompt are not confounded, and half the readers
see prompt A first. A.jsonl and B.jsonl are `--missing` files of the same rows rendered with each prompt.

    python scripts/reader_batches.py balance A.jsonl B.jsonl --readers 8 --out DIR
    python scripts/reader_batches.py join A.jsonl DIR/ans-k*-a.jsonl --source reader:A > A-records.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
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
    for (purpose, _system), reqs in groups.items():
        for start in range(0, len(reqs), args.size):
            n += 1
            batch = reqs[start:start + args.size]
            name = out / f"batch-{n:02d}-{purpose}.md"
            _write_batch(batch, name, f"Batch {n}")
            print(f"{name}: {len(batch)} requests")


def _write_batch(reqs: list[dict], out: Path, title: str) -> None:
    """One batch file: the shared system message and answer format once, then each request under its hash."""
    (system,) = {req["messages"][0]["content"] for req in reqs}  # one prompt per batch, or the comparison is void
    schema = reqs[0].get("response_format")
    parts = [f"# {title}: {len(reqs)} requests ({reqs[0]['purpose']})", "",
             "Every request below has the same system message and answer format. Answer each request on "
             "its own, as the model would, seeing only that request.", "",
             "## System message", "", system, ""]
    if schema:
        parts += ["## Answer format (response_format sent with each request)", "",
                  json.dumps(schema, ensure_ascii=False), ""]
    for req in reqs:
        parts += [f"## Request {req['request']}", "", req["messages"][-1]["content"], ""]
    out.write_text("\n".join(parts), encoding="utf-8")


def balance(args: argparse.Namespace) -> None:
    a, b = _requests(Path(args.a)), _requests(Path(args.b))
    by_a, by_b = {r["id"]: r for r in a}, {r["id"]: r for r in b}
    if set(by_a) != set(by_b) or len(by_a) != len(a) or len(by_b) != len(b):
        sys.exit("balance: A and B must hold the same rows, one request each")
    if args.readers < 2:
        sys.exit("balance: --readers must be 2 or more (each reader needs rows under both prompts)")
    ids = sorted(by_a)
    random.Random(args.seed).shuffle(ids)
    groups = [ids[k::args.readers] for k in range(args.readers)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for k in range(args.readers):
        # Reader k answers group k under A and the next group under B: every row once under each prompt.
        mine = {"a": [by_a[i] for i in groups[k]], "b": [by_b[i] for i in groups[(k + 1) % args.readers]]}
        order = ["a", "b"] if k % 2 == 0 else ["b", "a"]
        steps = []
        for n, which in enumerate(order, 1):
            batch = out / f"k{k + 1}-{which}.md"
            _write_batch(mine[which], batch, f"Reader {k + 1}, batch {n} of 2")
            steps.append(f"{'First' if n == 1 else 'Then'} batch: {batch}, answers to {out / f'ans-k{k + 1}-{which}.jsonl'}.")
        (out / f"k{k + 1}-reader.txt").write_text(
            "You have two batch files, each with its OWN system message; answer each batch's requests as a model "
            "that received only that batch's system message would (do not carry rules from one batch to the "
            "other). " + " ".join(steps) + "\n", encoding="utf-8")
        print(f"reader {k + 1}: {len(mine['a'])} rows under A, {len(mine['b'])} other rows under B "
              f"({out / f'k{k + 1}-reader.txt'})")


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
    p = sub.add_parser("balance")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--out", required=True)
    p.add_argument("--readers", type=int, default=8)
    p.add_argument("--seed", type=int, default=21)
    p.set_defaults(func=balance)
    p = sub.add_parser("join")
    p.add_argument("requests")
    p.add_argument("answers", nargs="+")
    p.add_argument("--source", required=True)
    p.set_defaults(func=join)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
