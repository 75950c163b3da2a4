"""LLM requests in flight: a bound shared fairly between workspaces, and the server's Retry-After honoured.

The real openai client against the scripted loopback server; the checks run concurrently on one event loop, as
in the Slack app.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from openai_server import FakeOpenAI, answer, slow, status, verdict_answer

from bot.checker import Checker
from bot.config import load_settings
from bot.engines.slots import Busy, FairSlots
from bot.store import Store


def _draft(workspace: str, n: int) -> str:
    return f"Team {workspace} plan {n}: we'll launch Premium Plus to upsell existing accounts and lift ARR 15%."


def _checker(server: FakeOpenAI, tmp_path: Path, **env: str) -> Checker:
    base = {"OPENAI_API_KEY": "sk-test-123456789", "OPENAI_BASE_URL": server.base_url,
            "MOTIVECHECK_MODEL": "test-model", "MOTIVECHECK_LLM_TIMEOUT": "3", "MOTIVECHECK_LLM_DEADLINE": "6"}
    base.update(env)
    settings = load_settings(env=base, db_path=str(tmp_path / "slots.db"))
    checker = Checker(settings, Store(settings.db_path))
    checker.warm_up()  # the engines load before the clock starts, as in the app
    return checker


class _Counting:
    """A server behaviour that answers after ``seconds`` and counts the requests it holds at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.now = 0
        self.most = 0
        self.finished = 0
        self._lock = threading.Lock()

    def __call__(self, req: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return slow(self.seconds, answer(verdict_answer()))(req)
        finally:
            with self._lock:
                self.now -= 1
                self.finished += 1


def _senders(server: FakeOpenAI) -> list[str]:
    """Which team's draft each request carried, in the order the server received them."""
    out = []
    for req in server.requests:
        text = " ".join(m["content"] for m in req["messages"] if m["role"] == "user")
        out.append("B" if "Team B" in text else "A")
    return out


async def _until(condition: Any, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.005)


def test_a_flood_from_one_workspace_does_not_queue_another_behind_it(tmp_path):
    counting = _Counting(1.0)
    with FakeOpenAI(default=counting) as server:
        checker = _checker(server, tmp_path, MOTIVECHECK_LLM_CONCURRENCY="2", MOTIVECHECK_LLM_DEADLINE="20")
        slots = checker.llm_slots

        async def run() -> list[Any]:
            flood = [asyncio.create_task(checker.aassess(_draft("A", n), workspace="TA")) for n in range(8)]
            await _until(lambda: slots.waiting() == 6)  # the flood holds both slots and six of its checks wait
            late = asyncio.create_task(checker.aassess(_draft("B", 0), workspace="TB"))
            await _until(lambda: slots.waiting() == 7)
            assert counting.finished == 0  # B queued behind all six before any slot came free
            return await asyncio.gather(*flood, late)

        results = asyncio.run(run())
    assert all(v.engine == "openai" and v.fallback is None for v, _ in results)
    assert counting.most == 2  # never more in flight than the bound
    order = _senders(server)
    assert len(order) == 9
    # B is sent with the first two slots that come free (A's first two requests end together), not after A's
    # six queued before it (a first-come queue would send it last, ninth).
    assert order.index("B") in (2, 3), order


def test_without_a_bound_every_request_goes_at_once(tmp_path):
    counting = _Counting(0.4)
    with FakeOpenAI(default=counting) as server:
        checker = _checker(server, tmp_path)  # MOTIVECHECK_LLM_CONCURRENCY defaults to 0: no bound

        async def run() -> list[Any]:
            return await asyncio.gather(*(checker.aassess(_draft("A", n), workspace="TA") for n in range(5)))

        asyncio.run(run())
    assert counting.most == 5


def test_a_check_that_gets_no_slot_before_its_deadline_falls_back_and_says_why(tmp_path):
    with FakeOpenAI() as server:
        checker = _checker(server, tmp_path, MOTIVECHECK_LLM_CONCURRENCY="1", MOTIVECHECK_LLM_DEADLINE="0.8")

        async def run() -> tuple[Any, float]:
            async with checker.llm_slots.slot("TA", timeout=1):  # another check's request holds the only slot
                started = time.monotonic()
                verdict, _ = await checker.aassess(_draft("B", 1), workspace="TB")
                return verdict, time.monotonic() - started

        verdict, waited = asyncio.run(run())
        assert verdict.fallback == "busy" and verdict.engine != "openai"
        assert any("busy" in note for note in verdict.notes)
        assert 0.7 < waited < 4  # it waited for its own deadline (0.8 s), then the offline engine answered
        assert server.requests == []  # the busy check sent nothing
        assert checker.llm_slots.in_flight == 0
        verdict, _ = checker.assess(_draft("B", 2))  # the slot is free again: the LLM answers
        assert verdict.engine == "openai"


def test_retry_after_is_honoured(tmp_path):
    with FakeOpenAI() as server:
        server.script(status(429, {"Retry-After": "0.7"}), answer(verdict_answer()))
        checker = _checker(server, tmp_path, MOTIVECHECK_LLM_DEADLINE="4")
        started = time.monotonic()
        verdict, _ = checker.assess(_draft("A", 1))
        took = time.monotonic() - started
    assert verdict.engine == "openai" and verdict.fallback is None
    assert len(server.requests) == 2
    assert took >= 0.7  # the old backoff would have asked again after 0.1-0.3 s


def test_retry_after_past_the_deadline_gives_up_at_once(tmp_path):
    with FakeOpenAI(default=status(429, {"retry-after-ms": "30000"})) as server:
        checker = _checker(server, tmp_path, MOTIVECHECK_LLM_DEADLINE="3")
        started = time.monotonic()
        verdict, _ = checker.assess(_draft("A", 1))
        took = time.monotonic() - started
    assert verdict.fallback == "rate-limited" and verdict.engine != "openai"
    assert len(server.requests) == 1  # no retry the server said it would refuse
    assert took < 1.5


def test_fair_slots_grant_the_workspace_with_fewest_in_flight_first():
    slots = FairSlots(2)
    order: list[str] = []

    async def hold(ws: str, tag: str, release: asyncio.Event) -> None:
        async with slots.slot(ws, timeout=5):
            order.append(tag)
            await release.wait()

    async def run() -> None:
        gates = {tag: asyncio.Event() for tag in ("a1", "a2", "a3", "a4", "b1", "c1")}
        tasks = [asyncio.create_task(hold("A", t, gates[t])) for t in ("a1", "a2", "a3", "a4")]
        await asyncio.sleep(0.01)
        tasks.append(asyncio.create_task(hold("B", "b1", gates["b1"])))
        await asyncio.sleep(0.01)
        tasks.append(asyncio.create_task(hold("C", "c1", gates["c1"])))
        await asyncio.sleep(0.01)
        assert order == ["a1", "a2"] and slots.in_flight == 2 and slots.waiting() == 4
        gates["a1"].set()  # A has 1 in flight, B and C none: B waited longer
        await asyncio.sleep(0.01)
        gates["a2"].set()  # A has 0, B 1, C 0: A's a3 waited longer than C
        await asyncio.sleep(0.01)
        assert order == ["a1", "a2", "b1", "a3"]
        gates["b1"].set()  # A has 1 in flight, C none
        await asyncio.sleep(0.01)
        assert order[-1] == "c1"
        for gate in gates.values():
            gate.set()
        await asyncio.gather(*tasks)

    asyncio.run(run())
    assert order == ["a1", "a2", "b1", "a3", "c1", "a4"]
    assert slots.in_flight == 0 and slots.waiting() == 0


def test_a_waiter_that_gives_up_takes_no_slot_with_it():
    slots = FairSlots(1)

    async def run() -> None:
        release = asyncio.Event()

        async def hold() -> None:
            async with slots.slot("A", timeout=1):
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0.01)
        with pytest.raises(Busy):
            async with slots.slot("B", timeout=0.05):
                pass
        cancelled = asyncio.create_task(slots.slot("C", timeout=5).__aenter__())
        await asyncio.sleep(0.01)
        cancelled.cancel()
        await asyncio.sleep(0.01)
        release.set()
        await holder
        assert slots.in_flight == 0
        async with slots.slot("D", timeout=0.1):  # the slot is free again, at once
            assert slots.in_flight == 1

    asyncio.run(run())


@pytest.mark.parametrize("header", [
    {"Retry-After": "7200"},  # two hours: seconds, past any deadline (was read as no wait at all)
    {"retry-after-ms": "86400000"},  # a day, in milliseconds
    {"Retry-After": "1e400"},  # a number too large for a float: an excessive wait, not a malformed one
    {"Retry-After": "HTTP-DATE"},  # RFC 9110's other form, a minute from now (was ignored)
])
def test_a_long_retry_after_in_any_form_gives_up_at_once(tmp_path, header):
    from email.utils import formatdate

    if header.get("Retry-After") == "HTTP-DATE":
        header = {"Retry-After": formatdate(time.time() + 60, usegmt=True)}
    with FakeOpenAI(default=status(429, header)) as server:
        checker = _checker(server, tmp_path, MOTIVECHECK_LLM_DEADLINE="4")
        verdict, _ = checker.assess(_draft("A", 1))
    assert verdict.fallback == "rate-limited" and verdict.engine != "openai"
    assert len(server.requests) == 1  # asked once: the same request again would only be refused


def test_retry_after_as_an_http_date_is_honoured(tmp_path):
    from email.utils import formatdate

    with FakeOpenAI() as server:
        # Three seconds after the request arrives, to the second (dated then: a date dated before a slow warm-up
        # could be past already): a wait of 2 to 3 s, where the backoff would have waited 0.1-0.3 s.
        server.script(lambda req: status(429, {"Retry-After": formatdate(time.time() + 3, usegmt=True)})(req),
                      answer(verdict_answer()))
        checker = _checker(server, tmp_path, MOTIVECHECK_LLM_DEADLINE="10")
        started = time.monotonic()
        verdict, _ = checker.assess(_draft("A", 1))
        took = time.monotonic() - started
    assert verdict.engine == "openai" and len(server.requests) == 2
    assert took >= 1.5


@pytest.mark.parametrize("header", [{"Retry-After": "-5"}, {"Retry-After": "soon"}, {"retry-after-ms": "nan"}])
def test_a_retry_after_that_names_no_wait_leaves_the_backoff(tmp_path, header):
    with FakeOpenAI() as server:
        server.script(status(429, header), answer(verdict_answer()))
        checker = _checker(server, tmp_path, MOTIVECHECK_LLM_DEADLINE="4")
        verdict, _ = checker.assess(_draft("A", 1))
    assert verdict.engine == "openai" and len(server.requests) == 2


def test_a_channel_message_that_gets_no_slot_for_its_first_pass_waits_one_deadline_not_two(tmp_path):
    with FakeOpenAI() as server:
        checker = _checker(server, tmp_path, MOTIVECHECK_LLM_CONCURRENCY="1", MOTIVECHECK_LLM_DEADLINE="2")

        async def run() -> tuple[Any, float]:
            async with checker.llm_slots.slot("TA", timeout=1):  # another check's request holds the only slot
                started = time.monotonic()
                verdict, _ = await checker.aassess(_draft("B", 1), mode="channel", workspace="TB")
                return verdict, time.monotonic() - started

        verdict, waited = asyncio.run(run())
    assert verdict.fallback == "busy" and any("busy" in note for note in verdict.notes)
    assert server.requests == []
    # The first pass waited out the deadline (2 s); the full prompt did not then wait as long again (4 s in all).
    assert 1.9 < waited < 3.6
    assert checker.llm_slots.in_flight == 0 and checker.llm_slots.waiting() == 0


def test_a_slot_freed_on_one_thread_wakes_a_check_waiting_on_another(tmp_path):
    """Sync callers (``bot.aio.run_sync``) run checks on their own thread's loop: the bound is shared by all."""
    with FakeOpenAI() as server:
        checker = _checker(server, tmp_path, MOTIVECHECK_LLM_CONCURRENCY="1", MOTIVECHECK_LLM_DEADLINE="20")
        held, results = threading.Event(), []
        release = threading.Event()

        async def hold() -> None:
            async with checker.llm_slots.slot("TA", timeout=1):
                held.set()
                while not release.is_set():
                    await asyncio.sleep(0.01)

        holder = threading.Thread(target=lambda: asyncio.run(hold()))
        holder.start()
        assert held.wait(10)
        waiter = threading.Thread(target=lambda: results.append(checker.assess(_draft("B", 1), workspace="TB")))
        waiter.start()
        deadline = time.monotonic() + 10
        while checker.llm_slots.waiting() == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert server.requests == []
        release.set()
        holder.join(10)
        waiter.join(10)
    assert results and results[0][0].engine == "openai" and results[0][0].fallback is None
    assert checker.llm_slots.in_flight == 0 and checker.llm_slots.waiting() == 0


@pytest.mark.parametrize("turns", range(8))
def test_a_check_cancelled_as_its_slot_arrives_is_cancelled(turns):
    """Cancelled a few loop turns after the slot was granted, the check stops: on Python 3.11 ``asyncio.wait_for``
    returned the slot instead, swallowing the cancellation, and the request was sent by a check nobody awaited."""
    slots = FairSlots(1)

    async def run() -> None:
        held, release, forever = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with slots.slot("A", timeout=5):
                held.set()
                await release.wait()

        async def wait() -> None:
            async with slots.slot("B", timeout=5):
                await forever.wait()  # stands for the request: only a cancellation ends it

        holder = asyncio.create_task(hold())
        await held.wait()
        waiter = asyncio.create_task(wait())
        await _until(lambda: slots.waiting() == 1)
        release.set()
        for _ in range(turns):
            await asyncio.sleep(0)
        waiter.cancel()
        done, _ = await asyncio.wait({waiter}, timeout=3)
        assert waiter in done and waiter.cancelled()
        await holder
        assert slots.in_flight == 0 and slots.waiting() == 0

    asyncio.run(run())
