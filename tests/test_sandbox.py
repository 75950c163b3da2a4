"""Playbook templates are data a stranger may write: one sandbox, every template field validated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_playbook import ROOT

from bot.errors import PlaybookError
from bot.playbook import load_playbook
from bot.prompts import environment as prompt_environment
from bot.templating import environment

ESCAPE = "{{ cycler.__init__.__globals__.os.popen('touch MARKER').read() }}"


def playbook_with(tmp_path: Path, section: str) -> Path:
    path = tmp_path / "team.yaml"
    path.write_text(f"name: team\nversion: 1\nextends: outside-in\n{section}", encoding="utf-8")
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.parametrize("section,line", [
    ("reframes:\n  fallback:\n    - \"{escape}\"\n", 6),
    ("customer_ease:\n  questions:\n    - \"{escape}\"\n", 6),
    ("motives:\n  upsell-crosssell:\n    title: Upsell\n    measures:\n      - \"{escape}\"\n", 8),
    ("goal_rewrites:\n  - pattern: '(?P<x>.+)'\n    template: \"{escape}\"\n", 6),
], ids=["reframes", "ease-questions", "motive-measures", "goal-rewrites"])
def test_a_sandbox_escape_is_refused_with_file_and_line_and_never_runs(tmp_path, section, line):
    marker = tmp_path / "pwned"
    path = playbook_with(tmp_path, section.format(escape=ESCAPE.replace("MARKER", str(marker))))
    r = run("playbook", "validate", str(path))
    assert r.returncode == 2 and f"{path}:{line}:" in r.stderr and "__init__" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    c = run("check", "--playbook", str(path), "--text", "We'll upsell existing accounts to lift ARR.")
    assert c.returncode != 0 and "Traceback" not in c.stderr
    assert not marker.exists()


def test_the_sandbox_itself_blocks_the_escape_even_without_validation(tmp_path):
    from jinja2.exceptions import SecurityError

    marker = tmp_path / "pwned"
    with pytest.raises(SecurityError):
        environment().from_string(ESCAPE.replace("MARKER", str(marker))).render()
    assert not marker.exists()


@pytest.mark.parametrize("section,line,message", [
    ("customer_ease:\n  questions:\n    - 'What gets easier for {{ customer '\n", 6, "template error"),
    ("customer_ease:\n  measures:\n    - 'Count {{ customr }}'\n", 6, "unknown name"),
    ("motives:\n  acquisition:\n    title: New logos\n    questions:\n      - '{{ offering | nosuchfilter }}'\n", 8,
     "template error"),
    ("goal_rewrites:\n  - pattern: '(?P<metric>\\w+) up'\n    template: '{{ m.amount }} more'\n", 6, "unknown name"),
    ("questions:\n  inside-out:\n    - '{{ goal.upper( }}'\n", 6, "template error"),
], ids=["questions-syntax", "measures-undefined", "motive-filter", "rewrite-group", "top-questions"])
def test_validate_renders_every_template_field(tmp_path, section, line, message):
    path = playbook_with(tmp_path, section)
    with pytest.raises(PlaybookError) as info:
        load_playbook(str(path))
    assert str(info.value).startswith(f"{path}:{line}: ") and message in str(info.value), str(info.value)


def test_prompts_and_playbooks_share_the_one_sandboxed_environment():
    from jinja2.sandbox import SandboxedEnvironment

    assert prompt_environment() is environment() and isinstance(environment(), SandboxedEnvironment)
