"""One scheduler for every timed job: daily jobs at a guild-local time, exactly once per guild
per local date, and tick jobs that run on every pass (for "due within 24 h"-style checks).

The bot calls :meth:`Scheduler.run_due` about every 30 seconds with its clock's ``now``; tests
call it directly with a manual clock. A daily job whose time passed while the bot was down runs
on the first pass after it comes back, if it is still that local day, marked late. Jobs due
in the same pass run in the order of their times (a 09:00 digest before an 18:30 summary).

A job whose ``at`` returns None is switched off for that guild and not claimed: a job that
cannot run for want of setup says so that way, so it runs later that day, once set up, at its
(possibly new) time — the day is not used up by a run that did nothing.
"""

from __future__ import annotations

import logging
import time as monotonic_time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol

from concord.core.jobs import due_run, scheduled_instant
from concord.core.settings import GuildConfig
from concord.db.guilds import GuildSettings
from concord.db.jobs import MAX_ATTEMPTS, JobLedger

log: logging.Logger = logging.getLogger(__name__)

DailyHandler = Callable[[GuildConfig, date, bool], Awaitable[None]]
TickHandler = Callable[[GuildConfig, datetime], Awaitable[None]]


class SchedulerObserver(Protocol):
    """Metrics and alerts (``concord/bot.py``): told about passes and daily job results."""

    def pass_took(self, seconds: float) -> None: ...

    def job_ran(self, job: str, outcome: str) -> None: ...

    async def job_result(
        self, config: GuildConfig, job: str, local_date: date, error: str | None, final: bool
    ) -> None:
        """``final``: a failure the scheduler will not retry."""
        ...


@dataclass(frozen=True)
class DailyJob:
    name: str
    at: Callable[[GuildConfig], time | None]  # None: switched off for this guild
    run: DailyHandler


@dataclass(frozen=True)
class TickJob:
    name: str
    run: TickHandler


class Scheduler:
    def __init__(self, guild_settings: GuildSettings, ledger: JobLedger) -> None:
        self.guild_settings = guild_settings
        self.ledger = ledger
        self.daily_jobs: dict[str, DailyJob] = {}
        self.tick_jobs: dict[str, TickJob] = {}
        self.observer: SchedulerObserver | None = None
        # The previous pass of this process: a job whose time came after it was missed while the
        # bot was down (late, when more than LATE_AFTER ago); one that was due while passes ran
        # and waited for setup or a retry is not "late".
        self._last_pass: datetime | None = None
        # The latest local date seen per guild: a pass on an earlier date means the clock
        # jumped back, and whatever was claimed for the dates ahead must be given back.
        self.latest_dates: dict[int, date] = {}

    def add_daily(
        self, name: str, at: Callable[[GuildConfig], time | None], run: DailyHandler
    ) -> None:
        """``run(config, local_date, late)`` once per guild per local date at ``at(config)``."""
        self.daily_jobs[name] = DailyJob(name, at, run)

    def add_tick(self, name: str, run: TickHandler) -> None:
        """``run(config, now)`` on every pass; the handler keeps its own once-ledger."""
        self.tick_jobs[name] = TickJob(name, run)

    def add(self, job: DailyJob | TickJob) -> None:
        """A job a module declares (its descriptor's ``jobs``)."""
        if isinstance(job, DailyJob):
            self.daily_jobs[job.name] = job
        else:
            self.tick_jobs[job.name] = job

    def remove(self, name: str) -> None:
        self.daily_jobs.pop(name, None)
        self.tick_jobs.pop(name, None)

    async def run_due(self, now: datetime, guild_ids: Iterable[int]) -> list[tuple[int, str, date]]:
        """Run every job due at ``now``; returns the daily runs made (guild, job, local date)."""
        started = monotonic_time.monotonic()
        ran = await self._run_guilds(now, guild_ids)
        if self.observer is not None:
            self.observer.pass_took(monotonic_time.monotonic() - started)
        return ran

    async def _run_guilds(
        self, now: datetime, guild_ids: Iterable[int]
    ) -> list[tuple[int, str, date]]:
        ran: list[tuple[int, str, date]] = []
        previous, self._last_pass = self._last_pass, now
        for guild_id in guild_ids:
            config = await self.guild_settings.get(guild_id)
            await self._check_clock(config, now)
            for job in self._in_time_order(config):
                if await self._run_daily(job, config, now, previous):
                    ran.append((guild_id, job.name, now.astimezone(config.tz).date()))
            for tick in list(self.tick_jobs.values()):
                try:
                    await tick.run(config, now)
                except Exception:
                    log.exception("tick job %s failed in guild %s", tick.name, guild_id)
        return ran

    async def _check_clock(self, config: GuildConfig, now: datetime) -> None:
        """Release claims made for dates ahead of today: on the first pass (the clock may have
        jumped ahead before a restart) and whenever the local date goes backwards."""
        today = now.astimezone(config.tz).date()
        latest = self.latest_dates.get(config.guild_id)
        self.latest_dates[config.guild_id] = today
        if latest is not None and today >= latest:
            return
        released = await self.ledger.release_ahead(config.guild_id, today, now)
        if latest is not None or released:
            log.warning(
                "the clock jumped back to %s (had seen %s) in guild %s; released %d claim(s) "
                "made ahead of it",
                now.isoformat(),
                latest,
                config.guild_id,
                released,
            )

    async def run_daily_now(self, name: str, guild_id: int, now: datetime) -> date:
        """Run a daily job for today's local date regardless of its time (sandbox, tests);
        still once per local date."""
        config = await self.guild_settings.get(guild_id)
        job = self.daily_jobs[name]
        local_date = now.astimezone(config.tz).date()
        if await self.ledger.claim_run(guild_id, job.name, local_date, False, now):
            await self._execute(job, config, local_date, False, now)
        return local_date

    def _in_time_order(self, config: GuildConfig) -> list[DailyJob]:
        """The guild's daily jobs by their time of day (ties in the order they were added), so
        a catch-up after downtime runs them in the order they were due."""
        timed = [
            (at, index, job)
            for index, job in enumerate(self.daily_jobs.values())
            if (at := job.at(config)) is not None
        ]
        return [job for _, _, job in sorted(timed, key=lambda item: (item[0], item[1]))]

    async def _run_daily(
        self, job: DailyJob, config: GuildConfig, now: datetime, previous: datetime | None
    ) -> bool:
        at = job.at(config)
        if at is None:
            return False
        due = due_run(now, config.tz, at)
        if due is None:
            return False
        # Late only when missed while the bot was down: no pass of this process came between
        # the job's time and now.
        late = due.late and (
            previous is None or previous < scheduled_instant(due.local_date, at, config.tz)
        )
        if not await self.ledger.claim_run(config.guild_id, job.name, due.local_date, late, now):
            return False
        await self._execute(job, config, due.local_date, late, now)
        return True

    async def _execute(
        self, job: DailyJob, config: GuildConfig, local_date: date, late: bool, now: datetime
    ) -> None:
        error: str | None = None
        try:
            await job.run(config, local_date, late)
        except Exception as exc:
            log.exception("job %s failed in guild %s for %s", job.name, config.guild_id, local_date)
            error = f"{type(exc).__name__}: {exc}"[:500]
        await self.ledger.finish_run(config.guild_id, job.name, local_date, now, error)
        if self.observer is not None:
            await self._report(job, config, local_date, late, error)

    async def _report(
        self, job: DailyJob, config: GuildConfig, local_date: date, late: bool, error: str | None
    ) -> None:
        observer = self.observer
        assert observer is not None
        observer.job_ran(job.name, "failed" if error else "late" if late else "ok")
        final = False
        if error is not None:
            attempts = await self.ledger.attempts(config.guild_id, job.name, local_date)
            final = attempts >= MAX_ATTEMPTS
        try:
            await observer.job_result(config, job.name, local_date, error, final)
        except Exception:  # an alert that cannot be sent must not fail the job
            log.exception("could not report job %s", job.name)
