"""The channel road with an LLM: the offline prefilter, the LLM's first pass, the full prompt; and eval's
record and replay of LLM answers. The real openai client talks HTTP to a loopback server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from openai_server import FakeOpenAI, answer, raw, verdict_answer
from test_llm import make_checker as llm_checker

from bot.checker import Checker
from bot.config import load_settings
from bot.engines.trained import CHANNEL, PREFILTER, Heads, TrainedEngine
from bot.playbook import load_playbook
from bot.text import prepare
from bot.train import MIN_PREFILTER_RECALL, load_corpus_features, prefilter_threshold, shipped_prefilter
from bot.verdict import LABELS

ROOT = Path(__file__).resolve().parent.parent
# A real-style proposal in a channel's own words: the channel gate of the offline engine is not sure of it.
BORDERLINE = "we are moving the docs search to the new index on friday, results should come back faster for everyone"
CHAT = "thanks all, great call today!"


@pytest.fixture
def server():
    with FakeOpenAI() as s:
        yield s


def make_checker(server: FakeOpenAI, tmp_path: Path, **env: str) -> Checker:
    """test_llm's checker, with time for a loaded machine (no test here is about a timeout) and the road without
    the first pass unless a test turns it on."""
    return llm_checker(server, tmp_path, **{"MOTIVECHECK_LLM_TIMEOUT": "5", "MOTIVECHECK_LLM_DEADLINE": "10",
                                            "MOTIVECHECK_CHANNEL_TRIAGE": "off", **env})


def test_the_shipped_prefilter_passes_nearly_every_dev_proposal_and_is_reproducible():
    heads = Heads.load()
    assert heads.prefilter_threshold is not None and heads.prefilter_threshold < heads.gate_threshold
    assert heads.prefilter_threshold == pytest.approx(shipped_prefilter(heads), abs=1e-6)
    saved = load_corpus_features()
    dev = (saved.split == "dev") & saved.slack
    p = heads.gate.probs(saved.features(dev).x)[:, 0]
    proposals = saved.label[dev] != LABELS.index("not-a-proposal")
    assert np.mean(p[proposals] >= heads.prefilter_threshold) >= MIN_PREFILTER_RECALL
    assert np.mean(p[~proposals] >= heads.prefilter_threshold) < 1.0  # it still keeps some chatter away


@pytest.mark.parametrize("recall", [0.9, 0.97, 1.0])
def test_prefilter_threshold_is_the_highest_that_passes_the_share(recall):
    p = np.linspace(0.01, 0.99, 53)
    t = prefilter_threshold(p, recall)
    assert np.mean(p >= t) >= recall
    assert np.mean(p >= t + 0.02) < recall  # the next step up would stop too many


def test_a_borderline_proposal_the_old_gate_dropped_reaches_the_llm_in_a_channel(server, tmp_path):
    engine = TrainedEngine(load_playbook("outside-in"))
    assert engine.assess(prepare(BORDERLINE), mode=CHANNEL).verdict.label == "not-a-proposal"  # the old road
    assert engine.assess(prepare(BORDERLINE), mode=PREFILTER).verdict.label != "not-a-proposal"
    server.script(answer(verdict_answer(label="outside-in", customer_ease=80, quote="results should come back faster",
                                        motives=[], reframe=None)))
    verdict, _ = make_checker(server, tmp_path).assess(BORDERLINE, mode=CHANNEL)
    assert verdict.engine == "openai" and verdict.label == "outside-in"
    (req,) = server.requests
    assert "posted in a team channel" in req["messages"][1]["content"]


def test_on_the_default_road_the_first_pass_lets_the_borderline_proposal_through(server, tmp_path):
    assert load_settings(env={}).channel_triage  # the shipped road asks the first pass
    checker = make_checker(server, tmp_path, MOTIVECHECK_CHANNEL_TRIAGE="on")
    server.script(raw("proposal"), answer(verdict_answer(label="outside-in", customer_ease=80, motives=[],
                                                         quote="results should come back faster", reframe=None)))
    verdict, _ = checker.assess(BORDERLINE, mode=CHANNEL)
    assert verdict.engine == "openai" and verdict.label == "outside-in"
    assert [r.get("max_tokens") for r in server.requests] == [5, None]


def test_obvious_chatter_costs_no_tokens_and_the_llm_decides_the_rest(server, tmp_path):
    checker = make_checker(server, tmp_path)
    verdict, usage = checker.assess(CHAT, mode=CHANNEL)
    assert verdict.label == "not-a-proposal" and verdict.engine == "trained" and usage.prompt_tokens == 0
    assert server.requests == []
    server.script(answer(verdict_answer(label="not-a-proposal", motives=[], reframe=None)))
    verdict, _ = checker.assess(BORDERLINE, mode=CHANNEL)
    assert verdict.label == "not-a-proposal" and verdict.engine == "openai"  # the LLM's own not-a-proposal


def test_the_first_pass_keeps_chat_from_the_full_prompt(server, tmp_path):
    checker = make_checker(server, tmp_path, MOTIVECHECK_CHANNEL_TRIAGE="on")
    server.script(raw("chatter"))
    verdict, usage = checker.assess(BORDERLINE, mode=CHANNEL)
    assert verdict.label == "not-a-proposal" and verdict.engine == "openai"
    (req,) = server.requests
    assert req["max_tokens"] == 5 and "response_format" not in req
    assert req["messages"][1]["content"].startswith(f"<message>\n{BORDERLINE}\n</message>")
    assert usage.prompt_tokens == 900
    server.script(raw("proposal"), answer(verdict_answer(label="mixed", customer_ease=45,
                                                          quote="results should come back faster")))
    verdict, usage = checker.assess(BORDERLINE + " ", mode=CHANNEL)
    assert verdict.label == "mixed" and len(server.requests) == 3
    assert server.requests[2]["response_format"]["type"] == "json_schema"
    assert "The author asked for this check" in server.requests[2]["messages"][1]["content"]  # a proposal: judged
    assert usage.prompt_tokens == 1800  # both calls of the check


def test_a_failing_first_pass_lets_the_full_prompt_decide(server, tmp_path):
    from openai_server import status

    checker = make_checker(server, tmp_path, MOTIVECHECK_CHANNEL_TRIAGE="on", MOTIVECHECK_LLM_RETRIES="0")
    server.script(status(400), answer(verdict_answer(label="outside-in", customer_ease=75, motives=[],
                                                     quote="results should come back faster", reframe=None)))
    verdict, _ = checker.assess(BORDERLINE, mode=CHANNEL)
    assert verdict.label == "outside-in" and verdict.engine == "openai"


def test_explicit_and_channel_verdicts_are_cached_apart(server, tmp_path):
    checker = make_checker(server, tmp_path)
    server.script(answer(verdict_answer(label="not-a-proposal", motives=[], reframe=None)),
                  answer(verdict_answer(label="outside-in", customer_ease=80, motives=[], reframe=None,
                                        quote="results should come back faster")))
    assert checker.assess(BORDERLINE, mode=CHANNEL)[0].label == "not-a-proposal"
    explicit, _ = checker.assess(BORDERLINE)
    assert explicit.label == "outside-in" and not explicit.cached and len(server.requests) == 2
    assert checker.assess(BORDERLINE, mode=CHANNEL)[0].cached


def _eval(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "eval", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_eval_records_answers_and_replays_them_without_a_server_and_reports_stale_ones(server, tmp_path):
    rows = [{"id": "r1", "text": "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter.",
             "label": "inside-out"},
            {"id": "r2", "text": "Exports now run on a schedule, so admins no longer send them by hand every week.",
             "label": "outside-in"}]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    server.script(answer(verdict_answer()), answer(verdict_answer(label="mixed", customer_ease=45, quote="Exports now run on a schedule")))
    env = {"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": "sk-test-1", "OPENAI_BASE_URL": server.base_url,
           "MOTIVECHECK_DB": str(tmp_path / "e.db"), "HOME": str(tmp_path)}
    records = tmp_path / "answers.jsonl"
    done = _eval(str(data), "--engine", "openai", "--record", str(records), "--json", env=env)
    assert done.returncode == 0, done.stderr
    recorded = json.loads(done.stdout)
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    assert [(r["id"], r["purpose"]) for r in lines] == [("r1", "verdict"), ("r2", "verdict")]
    assert all(len(r["request"]) == 64 and json.loads(r["answer"])["label"] for r in lines)
    assert recorded["accuracy"] == 0.5 and recorded["llm"]["sources"]

    offline = {k: v for k, v in env.items() if not k.startswith("OPENAI")}  # no server, no key
    done = _eval(str(data), "--replay", str(records), "--json", env=offline)
    assert done.returncode == 0, done.stderr
    replayed = json.loads(done.stdout)
    assert replayed["confusion"] == recorded["confusion"] and replayed["n"] == 2
    assert replayed["llm"]["unscored"] == {} and replayed["llm"]["prompt_tokens_per_1000"]["verdict"] > 0

    rows[1]["text"] += " Starting Monday."  # the request for r2 is no longer the one answered
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    missing = tmp_path / "missing.jsonl"
    done = _eval(str(data), "--replay", str(records), "--missing", str(missing), "--json", env=offline)
    stale = json.loads(done.stdout)
    assert stale["n"] == 1 and stale["llm"]["unscored"] == {"stale": 1}
    (req,) = [json.loads(line) for line in missing.read_text().splitlines()]
    assert req["id"] == "r2" and req["why"] == "stale" and "Starting Monday." in req["messages"][1]["content"]


def test_a_first_pass_cut_at_its_token_cap_still_counts_its_first_word(server, tmp_path):
    checker = make_checker(server, tmp_path, MOTIVECHECK_CHANNEL_TRIAGE="on")
    server.script(raw("chatter, because it", finish="length"))
    verdict, _ = checker.assess(BORDERLINE, mode=CHANNEL)
    assert verdict.label == "not-a-proposal" and len(server.requests) == 1


def test_recorded_answers_and_missing_requests_are_owner_only_files(server, tmp_path, monkeypatch, capsys):
    """A record quotes the model's answer (evidence from the draft) and a missing request holds the whole draft: both
    were created with the umask's usual mode (0644), readable by every account, where an export is 0600."""
    import os

    from bot.cli import main

    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"id": "r1", "text": BORDERLINE, "label": "outside-in"}) + "\n")
    server.script(answer(verdict_answer(label="outside-in", quote="results should come back faster")))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-1")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    records, missing = tmp_path / "answers.jsonl", tmp_path / "missing.jsonl"
    old = os.umask(0o022)
    try:
        assert main(["eval", str(data), "--engine", "openai", "--record", str(records), "--json"]) == 0
        data.write_text(json.dumps({"id": "r1", "text": BORDERLINE + " Starting Monday.", "label": "outside-in"})
                        + "\n")
        assert main(["eval", str(data), "--replay", str(records), "--missing", str(missing), "--json"]) == 0
    finally:
        os.umask(old)
    capsys.readouterr()
    assert "results should come back faster" in records.read_text() and "Starting Monday." in missing.read_text()
    assert [oct(p.stat().st_mode & 0o777) for p in (records, missing)] == [oct(0o600)] * 2
