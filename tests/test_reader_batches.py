"""scripts/reader_batches.py: batches for readers standing in for a model, and the balanced two-prompt comparison."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from bot.engines.llm import build_messages
from bot.playbook import load_playbook

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "reader_batches.py"
DRAFTS = [f"Draft {n}: we will ship feature {n} so teams export reports in one click." for n in range(10)]


def write_requests(path: Path, playbook: str, drafts: list[str] = DRAFTS) -> list[dict]:
    """Requests as `motivecheck eval --missing` writes them, rendered with one playbook's prompt."""
    book = load_playbook(playbook)
    reqs = [{"id": f"row-{n}", "purpose": "verdict", "request": f"{playbook}-{n:04d}", "why": "missing",
             "messages": build_messages(book, d)} for n, d in enumerate(drafts)]
    path.write_text("".join(json.dumps(r) + "\n" for r in reqs))
    return reqs


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_balance_gives_every_row_once_under_each_prompt_and_no_reader_a_row_twice(tmp_path):
    a = write_requests(tmp_path / "a.jsonl", "outside-in")
    b = write_requests(tmp_path / "b.jsonl", "example-team")
    system_a, system_b = a[0]["messages"][0]["content"], b[0]["messages"][0]["content"]
    assert system_a != system_b
    out = tmp_path / "bal"
    done = run("balance", tmp_path / "a.jsonl", tmp_path / "b.jsonl", "--readers", "4", "--out", out)
    assert done.returncode == 0, done.stderr
    seen: dict[str, list[str]] = {"a": [], "b": []}
    firsts = []
    for k in range(1, 5):
        rows = {}
        for which, system in (("a", system_a), ("b", system_b)):
            text = (out / f"k{k}-{which}.md").read_text()
            assert system in text and (system_b if which == "a" else system_a) not in text  # one prompt a batch
            assert "row-" not in text  # the reader never sees a row id
            rows[which] = re.findall(r"^## Request (\S+)$", text, flags=re.M)
            seen[which] += rows[which]
        ids_a = {h.rsplit("-", 1)[1] for h in rows["a"]}
        ids_b = {h.rsplit("-", 1)[1] for h in rows["b"]}
        assert ids_a and ids_b and not ids_a & ids_b  # a reader answers different rows under each prompt
        told = (out / f"k{k}-reader.txt").read_text()
        firsts.append(told.index("-a.md") < told.index("-b.md"))
    assert sorted(seen["a"]) == sorted(r["request"] for r in a)
    assert sorted(seen["b"]) == sorted(r["request"] for r in b)
    assert firsts.count(True) == 2  # half the readers see prompt A first

    answers = out / "ans-k1-a.jsonl"
    first = re.findall(r"^## Request (\S+)$", (out / "k1-a.md").read_text(), flags=re.M)[0]
    answers.write_text(json.dumps({"request": first, "answer": {"label": "outside-in"}}) + "\n")
    joined = run("join", tmp_path / "a.jsonl", answers, "--source", "reader:test")
    (record,) = [json.loads(line) for line in joined.stdout.splitlines()]
    assert record["id"] == next(r["id"] for r in a if r["request"] == first)
    assert json.loads(record["answer"]) == {"label": "outside-in"} and record["source"] == "reader:test"


def test_balance_refuses_request_files_of_different_rows(tmp_path):
    write_requests(tmp_path / "a.jsonl", "outside-in")
    write_requests(tmp_path / "b.jsonl", "example-team", DRAFTS[:-1])
    done = run("balance", tmp_path / "a.jsonl", tmp_path / "b.jsonl", "--out", tmp_path / "bal")
    assert done.returncode != 0 and "same rows" in done.stderr
    assert not (tmp_path / "bal").exists()  # refused before anything was written
