"""Playbooks: loading, extends, and errors that name file, line and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import PlaybookError
from bot.playbook import load_playbook

ROOT = Path(__file__).resolve().parent.parent


def test_default_playbook_loads():
    book = load_playbook("outside-in")
    assert book.name == "outside-in" and book.version
    assert set(book.model.motives) == {"new-product", "acquisition", "upsell-crosssell", "revenue-profit",
                                       "internal-metrics-bonuses", "cost-efficiency"}
    assert book.model.reframes and book.model.exemplars


def test_extends_merges_lists_and_keeps_parent(tmp_path):
    child = tmp_path / "team.yaml"
    child.write_text("name: team\nversion: 2\nextends: outside-in\nmotives:\n  revenue-profit:\n"
                     "    title: money\n    cues:\n      - {phrase: take rate, weight: 3}\n")
    book = load_playbook(str(child))
    parent = load_playbook("outside-in")
    phrases = [c.phrase for c in book.model.motives["revenue-profit"].cues]
    assert "take rate" in phrases and "arr" in phrases
    assert len(phrases) == len(parent.model.motives["revenue-profit"].cues) + 1
    assert book.name == "team" and book.version == "2"
    assert len(book.model.customer_ease.cues) == len(parent.model.customer_ease.cues)


BAD = [
    ("syntax", "name: x\nversion: 1\nmotives: {a: ]\nother: 1\n", 3, "invalid YAML"),
    ("not-mapping", "- a\n- b\n", 1, "must be a YAML mapping"),
    ("unknown-motive", "name: x\nversion: 1\nmotives:\n  world-peace:\n    title: t\n", 3, "unknown motive id"),
    ("bad-weight", "name: x\nversion: 1\ncustomer_ease:\n  cues:\n    - {phrase: easy, weight: 1}\n"
                   "    - {phrase: easier, weight: lots}\n", 6, "customer_ease.cues[1].weight"),
    ("bad-regex", "name: x\nversion: 1\nextract:\n  goal:\n    - '(unclosed'\n", 4, "not a valid regular expression"),
    ("regex-without-group", "name: x\nversion: 1\nextract:\n  goal:\n    - 'to (?P<aim>lift .+)'\n", 4,
     r"needs a named group (?P<goal>...)"),
    ("bad-template", "name: x\nversion: 1\nreframes:\n  fallback:\n    - 'ok'\n    - '{{ customer '\n", 6,
     "template error"),
    ("unknown-field", "name: x\nversion: 1\nmotivs: {}\n", 3, "motivs"),
    ("missing-version", "name: x\n", 1, "version"),
    ("bad-extends", "name: x\nversion: 1\nextends: nope-nope\n", 3, "no playbook named"),
    ("word-set-phrase", "name: x\nversion: 1\nword_sets:\n  <who>: [customers, power users]\n", 4,
     "must be one lower-case word"),
    ("word-set-name", "name: x\nversion: 1\nword_sets:\n  who: [customers]\n", 3, "must look like <name>"),
    ("unknown-class", "name: x\nversion: 1\ncustomer_ease:\n  cues:\n    - {phrase: so <who>, weight: 2}\n", 1,
     "neither a token class nor a word set"),
    ("share-above-one", "name: x\nversion: 1\nextends: outside-in\nscoring:\n  outside_in_min_share: 7\n", 5,
     "scoring.outside_in_min_share: Input should be less than or equal to 1"),
    ("share-below-zero", "name: x\nversion: 1\nextends: outside-in\nscoring:\n  mixed_min_share: -1\n", 5,
     "scoring.mixed_min_share: Input should be greater than or equal to 0"),
    ("mixed-above-outside-in", "name: x\nversion: 1\nextends: outside-in\nscoring:\n  outside_in_min_share: 0.3\n"
     "  mixed_min_share: 0.5\n", 6, "mixed_min_share (0.5) must be below outside_in_min_share (0.3)"),
    ("outside-in-below-inherited-mixed", "name: x\nversion: 1\nextends: outside-in\nscoring:\n"
     "  outside_in_min_share: 0.1\n", 5, "mixed_min_share (0.2) must be below outside_in_min_share (0.1)"),
    ("discount-above-one", "name: x\nversion: 1\nextends: outside-in\nscoring:\n  secondary_discount: 3\n", 5,
     "scoring.secondary_discount"),
    ("extending-cue-position", "name: x\nversion: 1\nextends: outside-in\nproposal:\n  cues:\n"
     "    - {phrase: we plan, weight: 2}\n    - {phrase: '', weight: 2}\n", 7, "proposal.cues[1].phrase"),
    ("extends-itself", "name: x\nversion: 1\nextends: extends-itself\n", 3,
     "extends chain has a cycle: extends-itself.yaml -> extends-itself.yaml"),
]


@pytest.mark.parametrize("name,text,line,message", BAD, ids=[b[0] for b in BAD])
def test_errors_name_file_line_and_field(tmp_path, name, text, line, message):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    with pytest.raises(PlaybookError) as info:
        load_playbook(str(path))
    assert info.value.path == str(path)
    assert info.value.line == line, str(info.value)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_a_cycle_of_extends_is_said_once_naming_the_files(tmp_path):
    (tmp_path / "one.yaml").write_text("name: one\nversion: 1\nextends: two\n")
    (tmp_path / "two.yaml").write_text("name: two\nversion: 1\nextends: one\n")
    with pytest.raises(PlaybookError) as info:
        load_playbook(str(tmp_path / "one.yaml"))
    assert str(info.value) == f"{tmp_path / 'two.yaml'}:3: extends chain has a cycle: one.yaml -> two.yaml -> one.yaml"


def test_nonsense_thresholds_do_not_validate(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nversion: 1\nextends: outside-in\nscoring: {outside_in_min_share: 7, mixed_min_share: -1}\n")
    r = subprocess.run([sys.executable, "-m", "bot", "playbook", "validate", str(bad)], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "OK" not in r.stdout, r.stdout
    assert f"{bad}:4: scoring." in r.stderr and "less than or equal to 1" in r.stderr, r.stderr


def test_validate_command(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "bot", "playbook", "validate", "playbooks/example-team.yaml"],
                        cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout and "extends outside-in" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD[3][1])
    r = subprocess.run([sys.executable, "-m", "bot", "playbook", "validate", str(bad)], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and f"{bad}:6:" in r.stderr and "Traceback" not in r.stderr


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc:-[]{}'\" \n\t#&*!|>%@`0123456789")), max_size=120))
def test_loader_raises_only_playbook_errors(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("pb") / "fuzz.yaml"
    path.write_text(text)
    try:
        load_playbook(str(path))
    except PlaybookError as exc:
        assert str(path) in str(exc)


def test_word_sets_expand_into_literal_cues(tmp_path):
    from bot.engines.rules import RulesEngine
    from bot.text import prepare

    team = tmp_path / "fleet.yaml"
    team.write_text("name: fleet\nversion: 1\nextends: outside-in\nword_sets:\n  <crew>: [dispatchers, mechanics]\n"
                    "customer_ease:\n  cues:\n    - {phrase: <crew> spend less time, weight: 4}\n")
    engine = RulesEngine(load_playbook(str(team)))
    verdict = engine.assess(prepare("We should add route notes so mechanics spend less time on each call.")).verdict
    quotes = {e.quote for e in verdict.evidence if e.shows == "customer-ease"}
    assert any("mechanics spend less time" in q for q in quotes)  # the cue, inside its phrase
    other = engine.assess(prepare("We should add route notes so pilots spend less time on each call.")).verdict
    assert not any("pilots spend less time" in e.quote and e.shows == "customer-ease" for e in other.evidence)


def test_data_folders_fall_back_to_the_copy_a_wheel_carries(monkeypatch, tmp_path):
    """A checkout reads playbooks/ and prompts/ from the repository; an installed wheel from bot/_data."""
    from bot import config

    monkeypatch.setattr(config, "ROOT", tmp_path)
    assert config._data_dir("playbooks") == Path(config.__file__).resolve().parent / "_data" / "playbooks"
    (tmp_path / "playbooks").mkdir()
    assert config._data_dir("playbooks") == tmp_path / "playbooks"
