"""How the CLI reads a draft: UTF-8, UTF-16/UTF-32 with a byte-order mark, bytes that are not text."""

from __future__ import annotations

import codecs
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.common import decode, looks_like_text, text_arg
from bot.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
PREMIUM = "We'll launch Premium Plus to upsell existing accounts and lift ARR 15% this quarter."


def run(*args: str | bytes, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, cwd=ROOT,
                          env=dict(os.environ), timeout=60)


def random_bytes(n: int = 3000) -> bytes:
    rng = random.Random(25)
    return bytes(rng.randrange(256) for _ in range(n))


@pytest.mark.parametrize("data", [
    codecs.BOM_UTF16_LE + PREMIUM.encode("utf-16-le"),
    codecs.BOM_UTF16_BE + PREMIUM.encode("utf-16-be"),
    codecs.BOM_UTF32_LE + PREMIUM.encode("utf-32-le"),
    codecs.BOM_UTF32_BE + PREMIUM.encode("utf-32-be"),
    codecs.BOM_UTF8 + PREMIUM.encode("utf-8"),
    PREMIUM.encode("utf-16"),  # Python's own: BOM in the machine's order
], ids=["utf16le", "utf16be", "utf32le", "utf32be", "utf8-bom", "utf16-native"])
def test_a_byte_order_mark_picks_the_encoding(data):
    assert decode(data, "draft.txt") == (PREMIUM, [])


def test_broken_utf16_says_which_encoding_failed():
    text, notes = decode(codecs.BOM_UTF16_LE + PREMIUM.encode("utf-16-le") + b"\x00", "draft.txt")
    assert text.startswith(PREMIUM) and notes == [
        "draft.txt is not valid UTF-16: 1 undecodable byte(s) were replaced with \ufffd."]


def test_a_few_bad_bytes_are_noted_not_refused():
    text, notes = decode("We will open the café to customers this quarter.".encode("latin-1"), "x.txt")
    assert "caf\ufffd" in text and notes and "not valid UTF-8: 1 undecodable" in notes[0]


@pytest.mark.parametrize("data", [random_bytes(), b"\x00\x01\x02\x03" * 200, b"\xff\xfe\xfd" * 300 + b"word"])
def test_bytes_that_are_not_text_are_refused(data):
    with pytest.raises(InputError, match="does not look like text"):
        decode(data, "blob.bin")


@pytest.mark.parametrize("text,ok", [
    (PREMIUM, True), ("", True), ("  \n\t", True), ("Tabs\tand\r\nline breaks are text.", True),
    ("\ufffd" * 3 + " " + "x" * 10, True), ("\ufffd" * 5 + "x" * 5, False), ("\x00\x07\x1b" * 10 + "ok", False),
])
def test_looks_like_text(text, ok):
    assert looks_like_text(text) is ok


def test_text_argument_bytes_are_decoded_like_a_file():
    # The shell hands Python bytes that are not UTF-8 as lone surrogates (surrogateescape).
    value = "We will open the caf\udce9 to customers this quarter."
    text, notes = text_arg(value)
    assert text == "We will open the caf\ufffd to customers this quarter."
    assert notes == ["--text is not valid UTF-8: 1 undecodable byte(s) were replaced with \ufffd."]
    assert text_arg(PREMIUM) == (PREMIUM, [])


def test_cli_checks_a_utf16_file(tmp_path):
    f = tmp_path / "draft.txt"
    f.write_bytes(PREMIUM.encode("utf-16"))
    r = run("check", str(f), "--json")
    assert r.returncode == 0, r.stderr
    verdict = json.loads(r.stdout)
    assert verdict["label"] in {"inside-out", "mixed"} and verdict["notes"] == []
    assert "upsell-crosssell" in verdict["motives"] or "revenue-profit" in verdict["motives"]


def test_cli_notes_invalid_bytes_in_text_as_in_files_and_stdin(tmp_path):
    raw = "We will open the café to customers this quarter.".encode("latin-1")
    f = tmp_path / "draft.txt"
    f.write_bytes(raw)
    for args, stdin, where in [(("--text", raw), None, "--text"), ((str(f),), None, str(f)), (("-",), raw, "standard input")]:
        r = run("check", *args, "--json", stdin=stdin)
        assert r.returncode == 0, r.stderr
        notes = json.loads(r.stdout)["notes"]
        assert f"{where} is not valid UTF-8: 1 undecodable byte(s) were replaced with \ufffd." in notes


def test_cli_refuses_random_bytes_without_a_verdict(tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(random_bytes())
    for args, stdin in [((str(f),), None), (("-",), random_bytes())]:
        r = run("check", *args, "--json", stdin=stdin)
        assert r.returncode == 2
        assert r.stdout == b""
        err = r.stderr.decode()
        assert "does not look like text" in err and "Traceback" not in err
