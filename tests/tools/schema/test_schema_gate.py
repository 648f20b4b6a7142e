"""The gate in front of confined schema derivations: bounded per caller and in total, 429 after a short wait."""

import asyncio
import threading
import time

import pytest

from toolhub.errors import TooManyRequestsError
from toolhub.tools.registry import DerivationBounds, ProbeGate

BOUNDS = DerivationBounds(total=2, per_caller=1, wait_seconds=0.3, retry_after_seconds=7)


def _sleeper(seconds: float, result: str = "done"):
    def work() -> str:
        time.sleep(seconds)
        return result

    return work


async def test_one_at_a_time_per_caller() -> None:
    gate = ProbeGate(BOUNDS)
    first = asyncio.create_task(gate.run("alice", _sleeper(1.0)))
    await asyncio.sleep(0.1)
    with pytest.raises(TooManyRequestsError) as caught:
        await gate.run("alice", _sleeper(0, "second"))
    assert caught.value.status_code == 429
    assert caught.value.headers == {"Retry-After": "7"}
    assert "you already have 1" in str(caught.value) and "Retry in 7 s" in str(caught.value)
    assert await gate.run("bob", _sleeper(0, "bob")) == "bob"  # another caller is not held up
    assert await first == "done"
    assert await gate.run("alice", _sleeper(0, "again")) == "again"


async def test_bounded_in_total() -> None:
    gate = ProbeGate(BOUNDS)
    running = [asyncio.create_task(gate.run(name, _sleeper(1.0))) for name in ("a", "b")]
    await asyncio.sleep(0.1)
    with pytest.raises(TooManyRequestsError, match="already deriving 2"):
        await gate.run("c", _sleeper(0))
    assert await asyncio.gather(*running) == ["done", "done"]


async def test_a_waiting_caller_gets_a_slot_that_frees_in_time() -> None:
    gate = ProbeGate(DerivationBounds(total=1, per_caller=1, wait_seconds=3))
    first = asyncio.create_task(gate.run("a", _sleeper(0.3)))
    await asyncio.sleep(0.05)
    assert await gate.run("b", _sleeper(0, "b")) == "b"
    assert await first == "done"


async def test_work_runs_on_the_gates_own_threads() -> None:
    gate = ProbeGate(BOUNDS)
    name = await gate.run("a", lambda: threading.current_thread().name)
    assert name.startswith("schema-probe")


async def test_a_cancelled_caller_keeps_its_slot_until_the_work_ends() -> None:
    """The child keeps running after the client went away, so the slot must stay taken until it ends."""
    gate = ProbeGate(BOUNDS)
    task = asyncio.create_task(gate.run("alice", _sleeper(1.0)))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(TooManyRequestsError):
        await gate.run("alice", _sleeper(0))
    await asyncio.sleep(1.0)
    assert await gate.run("alice", _sleeper(0, "later")) == "later"


async def test_a_failing_derivation_frees_its_slot() -> None:
    gate = ProbeGate(BOUNDS)

    def boom() -> str:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await gate.run("alice", boom)
    assert await gate.run("alice", _sleeper(0, "next")) == "next"
