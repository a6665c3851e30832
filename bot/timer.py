"""Periodic jobs as plain asyncio tasks: each sleeps until its next due time, or until woken.

The pattern of RoboDanny's timer dispatch, without reaching into ``discord.ext.tasks``:

    job = PeriodicJob("daily posts", step, wakeup=bot.daily_wakeup, retry_after=60,
                      before=bot.wait_until_ready)
    job.start()              # in the cog's cog_load
    bot.daily_wakeup.set()   # anywhere: something changed, look again now
    await job.stop()         # in the cog's cog_unload

``step`` does one round of work and returns the seconds until it should run again. A wake-up
that arrives while ``step`` runs is kept, so the next sleep ends at once. A ``step`` that
raises is logged and tried again after ``retry_after`` seconds: one bad round never ends the
job.

The sleep is a plain ``asyncio.sleep`` that a wake-up interrupts (by cancelling the job's task
while, and only while, it sleeps) rather than an ``asyncio.Event`` wait with a timeout: SimCord
drives ``asyncio.sleep`` timers on its virtual clock (``env.advance_time``), and does not
recognise an event wait with a timeout as a parked timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[float]]


class Wakeup:
    """Tells the jobs that listen to it to look again now (e.g. a server changed settings)."""

    def __init__(self) -> None:
        self._pending = False
        self._listeners: list[Callable[[], None]] = []

    def set(self) -> None:
        self._pending = True
        for listener in list(self._listeners):
            listener()

    def consume(self) -> bool:
        """True (once) if ``set`` was called since the last ``consume``."""
        pending, self._pending = self._pending, False
        return pending

    def listen(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def forget(self, listener: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)


class PeriodicJob:
    """Runs ``step`` again and again as one task, sleeping as long as ``step`` asks."""

    def __init__(
        self,
        name: str,
        step: Step,
        *,
        retry_after: float,
        wakeup: Wakeup | None = None,
        before: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.name = name
        self.wakeup = wakeup if wakeup is not None else Wakeup()
        self._step = step
        self._retry_after = retry_after
        self._before = before
        self._task: asyncio.Task[None] | None = None
        self._sleeping = False
        self._interrupted = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.wakeup.listen(self._interrupt)
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self.wakeup.forget(self._interrupt)
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def _interrupt(self) -> None:
        if self._sleeping and not self._interrupted and self._task is not None:
            self._interrupted = True
            self._task.cancel()

    async def _run(self) -> None:
        if self._before is not None:
            await self._before()
        while True:
            self.wakeup.consume()  # this round sees every change made so far
            try:
                delay = await self._step()
            except Exception:
                # e.g. the database is locked: log it, and try again a little later.
                log.exception("%s failed; trying again in %.0f s", self.name, self._retry_after)
                delay = self._retry_after
            await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        if self.wakeup.consume():
            return  # woken while the step ran
        task = asyncio.current_task()
        self._sleeping = True
        try:
            await asyncio.sleep(max(0.0, seconds))
        except asyncio.CancelledError:
            # Woken: swallow our own cancellation; any other (stop, shutdown) goes through.
            if not self._interrupted or task is None or task.uncancel() > 0:
                raise
        finally:
            self._sleeping = False
            self._interrupted = False
