"""The README documents every setting and every CLI command; the code is ruff clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("var", [row[1] for row in SETTINGS])
def test_every_setting_is_documented(var):
    assert f"`{var}`" in README


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_documented(command):
    assert f"motivecheck {command}" in README


def test_readme_commands_match_ci():
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest"
    assert test_cmd in README and test_cmd in ci


def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    r = subprocess.run([ruff, "check", "bot", "tests", "bench", "app.py"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]


def test_every_repository_file_the_readme_names_exists():
    import re

    named = set(re.findall(r"(?<![\w/])((?:examples|tests|playbooks|bench|prompts|bot)/[\w./-]*\w)", README))
    assert len(named) > 10
    missing = sorted(p for p in named if not (ROOT / p).exists() and "*" not in p)
    assert not missing, f"README names files that do not exist: {missing}"
