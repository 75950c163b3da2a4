"""Drafts in another language than the playbook's get a note, whatever their script: spaced or not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.engines.rules import RulesEngine, is_foreign
from bot.playbook import load_playbook
from bot.text import prepare

ROOT = Path(__file__).resolve().parent.parent
JAPANESE = "既存顧客へのアップセルでARRを15%伸ばすため、今四半期にPremium Plusを発売します。"
CHINESE = "我们将推出高级版，以向现有客户追加销售，并在本季度将收入提高15%。"
THAI = "เราจะเปิดตัวแพ็กเกจพรีเมียมในไตรมาสนี้เพื่อเพิ่มรายได้จากลูกค้าเดิม"
RUSSIAN_CHAT = "Привет всем, кто идёт на обед сегодня? Давайте встретимся в час."
FOREIGN = "looks like another language"


@pytest.fixture(scope="module")
def engine() -> RulesEngine:
    return RulesEngine(load_playbook("outside-in"))


@pytest.mark.parametrize("text", [JAPANESE, CHINESE, THAI, "我们下周发布。"])
def test_scripts_without_spaces_are_foreign(engine, text):
    found = engine.scan(prepare(text))
    assert is_foreign(found, 4, 0.1)
    assert any(FOREIGN in n for n in engine.assess(prepare(text)).verdict.notes)


@pytest.mark.parametrize("text", [
    "We'll launch the 東京 plan so customers save time.",
    "Our customers in China asked for 请帮我们改进这个功能 so we'll build it next.",
    "ok 好",
])
def test_english_with_a_few_cjk_characters_is_not(engine, text):
    assert not is_foreign(engine.scan(prepare(text)), 4, 0.1)


def check(text: str, *extra: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "bot", "check", "--text", text, "--json", *extra],
                       capture_output=True, cwd=ROOT, env=dict(os.environ), timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_cli_says_when_it_cannot_read_the_draft():
    # A dismissal of a draft the engine cannot read says it could not tell, not only "treat with care".
    for text in (JAPANESE, CHINESE, RUSSIAN_CHAT):
        verdict = check(text)
        notes = [n for n in verdict["notes"] if FOREIGN in n]
        assert len(notes) == 1, verdict
        if verdict["label"] == "not-a-proposal":
            assert "cannot tell whether it is a proposal" in notes[0] and "LLM engine" in notes[0]
        else:
            assert "treat the verdict with care" in notes[0]
    judged = check(CHINESE, "--as", "proposal")
    assert judged["label"] != "not-a-proposal"
    assert any("treat the verdict with care" in n for n in judged["notes"])


def test_the_why_line_does_not_claim_an_unread_draft_proposes_nothing():
    r = subprocess.run([sys.executable, "-m", "bot", "check", "--text", CHINESE], capture_output=True, cwd=ROOT,
                       env=dict(os.environ), timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    if out.startswith("NOT A PROPOSAL"):
        assert "could not read this draft's language" in out and "Nothing here proposes" not in out
    else:
        assert "treat the verdict with care" in out
    chat = subprocess.run([sys.executable, "-m", "bot", "check", "--text", "Thanks everyone, see you at lunch!"],
                          capture_output=True, cwd=ROOT, env=dict(os.environ), timeout=60).stdout.decode()
    assert "Nothing here proposes" in chat and "could not read" not in chat
