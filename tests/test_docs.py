"""The README documents every setting and every CLI command, and the commands it shows parse; the code is ruff
clean (`ruff check .`, scripts/ and setup.py included, as the README says)."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
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


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").iterdir()))
def test_every_example_is_named_where_it_is_used(example):
    """examples/onboarding.txt was sent by bench/local_model_latency.py (it reads every examples/*.txt) and named
    nowhere, so it looked like a stray file."""
    assert example in README


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
    r = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:]


def test_every_repository_file_the_readme_names_exists():
    named = set(re.findall(r"(?<![\w/])((?:examples|tests|playbooks|bench|prompts|bot|scripts|corpus|\.ci)/[\w./-]*\w)",
                           README))
    assert len(named) > 10
    # corpus/text/ is where a machine may keep the corpus text: ignored by git, so not in a clone.
    missing = sorted(p for p in named if not (ROOT / p).exists() and "*" not in p and p != "corpus/text")
    assert not missing, f"README names files that do not exist: {missing}"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    return dict(action.choices) if action else {}


def _every_parser(parser: argparse.ArgumentParser, prog: str = "motivecheck"):
    yield prog, parser
    for name, child in _subparsers(parser).items():
        yield from _every_parser(child, f"{prog} {name}")


def test_every_subcommand_and_option_says_what_it_is_in_its_help():
    """`motivecheck X --help` opens with what X does, and no option or argument is listed without a word on it."""
    silent = []
    for prog, parser in _every_parser(build_parser()):
        if not parser.description:
            silent.append(f"{prog}: no description")
        for action in parser._actions:
            if action.help is None and not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                silent.append(f"{prog}: {'/'.join(action.option_strings) or action.metavar or action.dest}")
    assert not silent, silent


def _readme_command_lines() -> list[tuple[str, str]]:
    """Every `motivecheck ...` command the README shows: (where, command), from sh blocks and inline code."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.split(r"\s#\s", line)[0]
            if "motivecheck " in line:
                found.append(("block", line[line.index("motivecheck "):].strip()))
    for span in re.findall(r"`([^`\n]*\bmotivecheck [^`\n]*)`", README):
        if not span.startswith("/"):  # /motivecheck ... is the Slack command
            found.append(("inline", span[span.index("motivecheck "):].strip()))
    return found


def _argv(command: str) -> list[str]:
    """The README's notation as one real command line: [optional] parts kept, a|b alternatives as the first."""
    return [token.split("|")[0] if "|" in token and not token.startswith("|") else token
            for token in shlex.split(command.replace("[", "").replace("]", ""))[1:]]


def _command_parser(argv: list[str]) -> tuple[str, argparse.ArgumentParser]:
    prog, parser = "motivecheck", build_parser()
    for token in argv:
        children = _subparsers(parser)
        if token not in children:
            break
        prog, parser = f"{prog} {token}", children[token]
    return prog, parser


def test_every_option_the_readme_shows_exists_on_its_command():
    commands = _readme_command_lines()
    assert len(commands) > 50
    unknown = []
    for _, command in commands:
        argv = _argv(command)
        prog, parser = _command_parser(argv)
        for token in argv:
            option = token.split("=")[0]
            if option.startswith("-") and option not in ("-", "--") and option not in parser._option_string_actions:
                unknown.append(f"{command!r}: {prog} has no {option}")
    assert not unknown, unknown


def test_every_command_in_the_readmes_sh_blocks_parses():
    """Copied from the README's shell blocks, each `motivecheck` line is a command the real parser accepts."""
    parser = build_parser()
    blocks = [command for where, command in _readme_command_lines() if where == "block"]
    assert len(blocks) > 15
    refused = []
    for command in blocks:
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                parser.parse_args(_argv(command))
        except SystemExit:
            refused.append(f"{command!r}: {err.getvalue().strip()}")
    assert not refused, refused


def test_the_settings_table_lists_every_setting_in_order_with_its_default():
    section = README.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([^|]*) \|", section, re.M)
    assert [name for name, _ in rows] == [row[1] for row in SETTINGS]
    for (name, shown), row in zip(rows, SETTINGS, strict=True):
        default = row[2]
        assert shown.strip() == (f"`{default}`" if default else shown.strip()), name
        assert default or shown.strip() in ("(empty)", "(none)"), name
