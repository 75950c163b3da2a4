"""The pieces that keep Slack acks fast: background work yields to acks, opt-outs come from memory."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot import intake
from bot.config import load_settings
from bot.engines.llm import answer_schema, system_prompt
from bot.playbook import load_playbook
from bot.slack import deps as slack_deps
from bot.slack.deps import Deps
from bot.store import Store


def make_deps(tmp_path) -> Deps:
    settings = load_settings(env={}, db_path=str(tmp_path / "a.db"))
    return Deps(settings=settings, checker=None, store=Store(tmp_path / "a.db"))  # type: ignore[arg-type]


def test_background_work_starts_at_once_when_nothing_is_arriving(tmp_path):
    deps = make_deps(tmp_path)

    async def go() -> float:
        started = time.monotonic()
        ran = asyncio.Event()

        async def work() -> None:
            ran.set()

        deps.spawn(work())
        await asyncio.wait_for(ran.wait(), 1)
        return time.monotonic() - started

    assert asyncio.run(go()) < slack_deps.ACK_QUIET + 0.05


def test_background_work_waits_for_a_quiet_moment_but_is_never_starved(tmp_path, monkeypatch):
    monkeypatch.setattr(slack_deps, "ACK_PRIORITY_MAX", 0.3)
    deps = make_deps(tmp_path)

    async def go(stream_for: float) -> tuple[float, float]:
        """When the work started, and the longest gap in the stream before it (a loaded machine makes gaps)."""
        started = time.monotonic()
        done = asyncio.Event()
        gaps = [0.0]

        async def work() -> None:
            done.set()

        async def requests() -> None:  # a request every 5 ms
            last = time.monotonic()
            while (now := time.monotonic()) - started < stream_for:
                if not done.is_set():
                    gaps.append(now - last)
                last = now
                deps.note_request()
                await asyncio.sleep(0.005)

        deps.note_request()
        stream = asyncio.create_task(requests())
        deps.spawn(work())
        await asyncio.wait_for(done.wait(), 2)
        elapsed = time.monotonic() - started
        await stream
        return elapsed, max(gaps)

    # a short burst: the work starts right after it, not during it
    elapsed, gap = asyncio.run(go(0.1))
    assert elapsed < 0.1 + 0.15 and (elapsed >= 0.1 or gap >= slack_deps.ACK_QUIET)
    # an endless stream: the work still starts after ACK_PRIORITY_MAX, and not before unless the stream itself
    # fell quiet for ACK_QUIET (under a loaded CPU the 5 ms sleeps stretch: that is a real quiet moment)
    elapsed, gap = asyncio.run(go(1.0))
    assert elapsed < 0.5 and (elapsed >= 0.3 or gap >= slack_deps.ACK_QUIET)


def test_opt_outs_are_served_from_memory_and_refreshed(tmp_path, monkeypatch):
    deps = make_deps(tmp_path)

    async def go() -> list[bool]:
        road = deps.intake
        seen = [await road.opted_out("T1", "U1")]
        await road.set_optout("T1", "U1", True)  # through the app: immediate
        seen.append(await road.opted_out("T1", "U1"))
        deps.store.set_optout("T1", "U2", True)  # another process: seen after the TTL
        seen.append(await road.opted_out("T1", "U2"))
        monkeypatch.setattr(intake, "OPTOUT_TTL", 0.0)
        seen.append(await road.opted_out("T1", "U2"))
        await road.set_optout("T1", "U1", False)
        seen.append(await road.opted_out("T1", "U1"))
        return seen

    assert asyncio.run(go()) == [False, True, False, True, False]


def test_the_schema_is_built_once_and_callers_cannot_change_it():
    first = answer_schema()
    first["properties"].clear()
    assert answer_schema()["properties"]


@pytest.mark.parametrize("name", ["outside-in", "example-team"])
def test_the_cached_system_prompt_is_what_the_template_renders(name):
    from bot.engines.llm import render_system

    playbook = load_playbook(name)
    fresh = render_system(playbook)
    assert "<example label=" in fresh
    assert system_prompt(playbook) == fresh
    assert system_prompt(playbook) is system_prompt(playbook)


def test_warm_up_prepares_engines_without_calling_anyone(tmp_path):
    from bot.checker import Checker
    from bot.engines import llm

    settings = load_settings(env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
                             db_path=str(tmp_path / "w.db"))
    checker = Checker(settings, Store(tmp_path / "w.db"))
    started = time.monotonic()
    checker.warm_up()  # port 9 refuses connections: a network call would raise or fall back
    assert time.monotonic() - started < 5
    assert checker._rules  # the default playbook's rules engine is built
    assert id(checker.default_playbook) in llm._system_prompts
