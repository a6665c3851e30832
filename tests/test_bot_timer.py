"""bot.timer: a periodic job sleeps as long as its step asks, wakes early when told, survives
a failing step, and stops when asked (real asyncio; the daily cog's SimCord tests cover it on
the virtual clock)."""

from __future__ import annotations

import asyncio

from bot.timer import PeriodicJob, Wakeup


async def _until(condition) -> None:
    """Poll ``condition`` (set by the job's task) for up to two seconds."""
    async with asyncio.timeout(2.0):
        for _ in iter(condition, True):  # noqa: ASYNC110 - polling a plain flag of the job
            await asyncio.sleep(0.005)


async def test_sleeps_as_asked_and_wakes_early_when_told() -> None:
    runs: list[float] = []
    loop = asyncio.get_running_loop()

    async def step() -> float:
        runs.append(loop.time())
        return 3600.0

    wakeup = Wakeup()
    job = PeriodicJob("test", step, wakeup=wakeup, retry_after=3600.0)
    job.start()
    await _until(lambda: len(runs) == 1)
    await asyncio.sleep(0.05)
    assert len(runs) == 1  # asleep for an hour
    wakeup.set()
    await _until(lambda: len(runs) == 2)
    assert job.running
    await job.stop()
    assert not job.running


async def test_a_wakeup_during_the_step_is_not_lost() -> None:
    wakeup = Wakeup()
    runs = 0

    async def step() -> float:
        nonlocal runs
        runs += 1
        if runs == 1:
            wakeup.set()  # settings changed while this round was running
        return 3600.0

    job = PeriodicJob("test", step, wakeup=wakeup, retry_after=3600.0)
    job.start()
    await _until(lambda: runs == 2)
    await job.stop()


async def test_a_failing_step_is_retried_and_the_job_goes_on() -> None:
    calls = 0

    async def step() -> float:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database is locked")
        return 3600.0

    job = PeriodicJob("test", step, retry_after=0.01)
    job.start()
    await _until(lambda: calls == 2)
    assert job.running
    await job.stop()


async def test_waits_for_before_and_stop_cancels_a_sleeping_job() -> None:
    ready = asyncio.Event()
    calls = 0

    async def step() -> float:
        nonlocal calls
        calls += 1
        return 3600.0

    job = PeriodicJob("test", step, retry_after=1.0, before=ready.wait)
    job.start()
    await asyncio.sleep(0.05)
    assert calls == 0
    ready.set()
    await _until(lambda: calls == 1)
    await job.stop()
    job.wakeup.set()  # nobody listens any more
    await asyncio.sleep(0.02)
    assert calls == 1 and not job.running
