"""One scheduler for every timed job: daily jobs at a guild-local time, exactly once per guild
per local date, and tick jobs that run on every pass (for "due within 24 h"-style checks).

Cost follows due work (issue 14): each guild × daily job has a row in ``job_due`` holding the
next instant (UTC) it is due, worked out again when the guild's settings change (the settings
write resets the row), after each run, when this process starts and when the clock jumps back.
A pass is one indexed query for the rows due and not taken by a live run, for the shards this
process owns (``(guild_id >> 22) % shard_count in shard_ids``); only those guilds are looked at.
The pure rule of :func:`concord.core.jobs.due_run` still decides whether a run is due, and the
claim rows of ``job_runs`` still make each run happen once, across processes and restarts: the
table only says where to look. A tick job that says which guilds may need it (``guilds``) runs
for those only; one that does not runs for every guild, as before.

The bot calls :meth:`Scheduler.run_due` about every 30 seconds with its clock's ``now``; tests
call it directly with a manual clock. A daily job whose time passed while the bot was down runs
on the first pass after it comes back, if it is still that local day, marked late. Jobs due
in the same pass run in the order of their times (a 09:00 digest before an 18:30 summary).

A job whose ``at`` returns None is switched off for that guild and not claimed: a job that
cannot run for want of setup says so that way, so it runs later that day, once set up, at its
(possibly new) time — the day is not used up by a run that did nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time as monotonic_time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol, TypeVar

from concord.core.jobs import LATE_AFTER as LATE
from concord.core.jobs import due_run, scheduled_instant
from concord.core.settings import GuildConfig
from concord.db.guilds import GuildSettings, utcnow_iso
from concord.db.jobs import MAX_ATTEMPTS, DueTable, JobLedger, Settle, ShardFilter

log: logging.Logger = logging.getLogger(__name__)
# Guilds whose due work runs side by side in one pass (each guild's own jobs stay one after
# another, in their order): a pass with many guilds due lasts about as long as its sends
# divided by this, not their sum (a busy evening: thousands of reminder DMs).
CONCURRENT_GUILDS = 12
_T = TypeVar("_T")

DailyHandler = Callable[[GuildConfig, date, bool], Awaitable[None]]
TickHandler = Callable[[GuildConfig, datetime], Awaitable[None]]
# Which guilds a tick job may have work in at ``now`` (a superset is fine): one query for all.
TickGuilds = Callable[[datetime], Awaitable[Collection[int]]]


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
    # None: run for every guild on every pass.
    guilds: TickGuilds | None = None


class Scheduler:
    def __init__(
        self,
        guild_settings: GuildSettings,
        ledger: JobLedger,
        *,
        shard: ShardFilter | None = None,
        concurrency: int = CONCURRENT_GUILDS,
    ) -> None:
        self.concurrency: int = max(1, concurrency)
        self.guild_settings = guild_settings
        self.ledger = ledger
        self.due_table = DueTable(ledger.db)
        self.shard: ShardFilter = shard or ShardFilter()
        self.daily_jobs: dict[str, DailyJob] = {}
        self.tick_jobs: dict[str, TickJob] = {}
        self.observer: SchedulerObserver | None = None
        # The previous pass of this process: a job whose time came after it was missed while the
        # bot was down (late, when more than LATE_AFTER ago); one that was due while passes ran
        # and waited for setup or a retry is not "late". A pass earlier than it: the clock
        # jumped back, and whatever was claimed for the dates ahead must be given back.
        self._last_pass: datetime | None = None
        # Guilds whose job_due rows this process has made sure of since it started (or since
        # the jobs changed); a guild new to it has its rows worked out again.
        self._known: set[int] = set()

    def add_daily(
        self, name: str, at: Callable[[GuildConfig], time | None], run: DailyHandler
    ) -> None:
        """``run(config, local_date, late)`` once per guild per local date at ``at(config)``."""
        self.add(DailyJob(name, at, run))

    def add_tick(self, name: str, run: TickHandler, guilds: TickGuilds | None = None) -> None:
        """``run(config, now)`` on every pass; the handler keeps its own once-ledger. With
        ``guilds``, only for the guilds it names at that pass."""
        self.add(TickJob(name, run, guilds))

    def add(self, job: DailyJob | TickJob) -> None:
        """A job a module declares (its descriptor's ``jobs``)."""
        if isinstance(job, DailyJob):
            self.daily_jobs[job.name] = job
            self._known.clear()  # a new (or changed) job: every guild's rows again
        else:
            self.tick_jobs[job.name] = job

    def remove(self, name: str) -> None:
        self.daily_jobs.pop(name, None)
        self.tick_jobs.pop(name, None)

    async def run_due(self, now: datetime, guild_ids: Iterable[int]) -> list[tuple[int, str, date]]:
        """Run every job due at ``now`` in ``guild_ids`` (the guilds this process is in);
        returns the daily runs made (guild, job, local date)."""
        started = monotonic_time.monotonic()
        present: Set[int] = guild_ids if isinstance(guild_ids, set | frozenset) else set(guild_ids)
        # The tick jobs' guild queries go out with the daily jobs' due read (independent reads;
        # a pass with nothing due waits for the slowest of them, not for one after the other).
        # When a daily job ran, they are asked again after it: what it wrote is seen.
        asked = asyncio.ensure_future(self._tick_guilds(now))
        try:
            ran = await self._run_daily_jobs(now, present)
        except BaseException:
            asked.cancel()
            await asyncio.gather(asked, return_exceptions=True)
            raise
        answers = await asked
        if ran:
            answers = await self._tick_guilds(now)
        await self._run_ticks(now, present, answers)
        if self.observer is not None:
            self.observer.pass_took(monotonic_time.monotonic() - started)
        return ran

    # -- daily jobs ------------------------------------------------------------------------------
    async def _run_daily_jobs(
        self, now: datetime, present: Set[int]
    ) -> list[tuple[int, str, date]]:
        previous: datetime | None = self._last_pass
        self._last_pass = now
        jumped_back = previous is not None and now < previous
        if previous is None or jumped_back:
            await self._release_ahead(now, previous, present)
            self._known.clear()
        if previous is None:
            await self._release_orphans(now, present)
        if self._known != present:  # set operations in C: a pass stays cheap at 10,000 guilds
            new = present - self._known
            if new and self.daily_jobs:
                # A process start, a clock jump, a job added, a guild joined: work these out
                # again.
                await self.due_table.ensure(new, self.daily_jobs, dirty=True)
            # Those gone (left, unavailable) are forgotten: back, they are worked out again
            # (their rows were switched off while they were away).
            self._known = set(present)
        if not self.daily_jobs:
            return []
        rows = await self.due_table.due(now, self.shard)
        if not rows:
            return []
        await self.guild_settings.refresh()  # after reading the rows: a reset one is seen
        order = {name: index for index, name in enumerate(self.daily_jobs)}
        configs = await self.guild_settings.get_many(
            {row.guild_id for row in rows if row.guild_id in present}
        )
        runs: list[_Run] = []
        settles: list[Settle] = []
        for row in rows:
            job = self.daily_jobs.get(row.job)
            config = configs.get(row.guild_id)
            if job is None or config is None:
                # A job no longer registered, or a guild this process is not in (any more):
                # off until the job comes back or the guild shows up (its rows are reset then).
                settles.append(Settle(row.guild_id, row.job, row.version, None, None, None, None))
                continue
            at = job.at(config)
            if at is None:
                settles.append(Settle(row.guild_id, row.job, row.version, None, None, None, None))
                continue
            today = now.astimezone(config.tz).date()
            due = due_run(now, config.tz, at)
            if due is not None:
                instant = scheduled_instant(due.local_date, at, config.tz)
                runs.append((instant, order[job.name], job, config, due.local_date, row.version))
            else:
                settles.append(self._settle(row.guild_id, job, config, at, today, row.version))
        # In the order they were due (a 09:00 digest before an 18:30 summary, in every guild);
        # the guilds side by side, CONCURRENT_GUILDS at a time, in the order their first run
        # was due.
        ordered = sorted(runs, key=_due_order)
        by_guild: dict[int, list[tuple[int, _Run]]] = {}
        for index, item in enumerate(ordered):
            by_guild.setdefault(item[3].guild_id, []).append((index, item))
        made: list[tuple[int, tuple[int, str, date]]] = []

        async def guild_runs(items: list[tuple[int, _Run]]) -> None:
            for index, (instant, _, job, config, local_date, version) in items:
                at = job.at(config)
                assert at is not None
                # Late only when missed while the bot was down: no pass of this process came
                # between the job's time and now.
                late = now - instant > LATE and (previous is None or previous < instant)
                if await self.ledger.claim_run(config.guild_id, job.name, local_date, late, now):
                    await self._execute(job, config, local_date, late, now)
                    made.append((index, (config.guild_id, job.name, local_date)))
                settles.append(self._settle(config.guild_id, job, config, at, local_date, version))

        await self._side_by_side(list(by_guild.values()), guild_runs)
        await self.due_table.settle(settles)
        return [run for _, run in sorted(made)]

    async def _side_by_side(
        self, groups: Sequence[_T], work: Callable[[_T], Awaitable[None]]
    ) -> None:
        """``work(group)`` for each group, ``self.concurrency`` at a time, started in order;
        the first exception is raised once all have stopped."""
        queue: deque[_T] = deque(groups)
        errors: list[BaseException] = []

        async def worker() -> None:
            while queue:
                group = queue.popleft()
                try:
                    await work(group)
                except Exception as error:
                    errors.append(error)
                    return

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(queue)))))
        if errors:
            raise errors[0]

    def _settle(
        self, guild_id: int, job: DailyJob, config: GuildConfig, at: time, today: date, version: int
    ) -> Settle:
        tomorrow = today + timedelta(days=1)
        return Settle(
            guild_id,
            job.name,
            version,
            today.isoformat(),
            utcnow_iso(scheduled_instant(today, at, config.tz)),
            tomorrow.isoformat(),
            utcnow_iso(scheduled_instant(tomorrow, at, config.tz)),
        )

    async def _release_ahead(
        self, now: datetime, previous: datetime | None, present: Collection[int]
    ) -> None:
        """Release claims made for dates ahead of today: on the first pass (the clock may have
        jumped ahead before a restart) and whenever the clock goes backwards."""
        owned = [guild_id for guild_id in present if self.shard.owns(guild_id)]
        configs = await self.guild_settings.get_many(owned)
        todays = [(guild_id, now.astimezone(configs[guild_id].tz).date()) for guild_id in owned]
        released = await self.due_table.release_ahead(todays, now)
        if previous is not None:
            log.warning(
                "the clock jumped back to %s (the last pass was at %s); released %d claim(s) "
                "made ahead of it in %d guild(s)",
                now.isoformat(),
                previous.isoformat(),
                sum(released.values()),
                len(released),
            )
        elif released:
            log.warning(
                "claims made ahead of the clock (%s) found at start-up: released %d in %d "
                "guild(s); the clock had jumped ahead before the restart",
                now.isoformat(),
                sum(released.values()),
                len(released),
            )

    async def _release_orphans(self, now: datetime, present: Collection[int]) -> None:
        """At start-up: runs of this process's guilds left 'running' by a process that died
        are retried at this pass (their claimed notifications are re-sent within Discord's
        nonce window), not 10 minutes later."""
        owned = [guild_id for guild_id in present if self.shard.owns(guild_id)]
        released = await self.ledger.release_orphaned_runs(owned, now)
        if released:
            log.warning(
                "%d daily run(s) were left running by a stopped process; retrying them", released
            )

    # -- tick jobs -------------------------------------------------------------------------------
    async def _tick_guilds(self, now: datetime) -> dict[str, Collection[int] | BaseException]:
        """Each tick job's answer to which guilds it may have work in (or why it could not
        say), all asked side by side."""
        named = [(tick.name, tick.guilds) for tick in self.tick_jobs.values() if tick.guilds]
        answers = await asyncio.gather(
            *(guilds(now) for _, guilds in named), return_exceptions=True
        )
        return {name: answer for (name, _), answer in zip(named, answers, strict=True)}

    async def _run_ticks(
        self,
        now: datetime,
        present: Collection[int],
        answers: Mapping[str, Collection[int] | BaseException],
    ) -> None:
        """The tick jobs one after another, in their order, each for the guilds it named."""
        for tick in list(self.tick_jobs.values()):
            if tick.guilds is None:
                targets: Iterable[int] = present
            else:
                wanted = answers.get(tick.name)
                if wanted is None:  # added since the question was asked: at the next pass
                    continue
                if isinstance(wanted, BaseException):
                    if not isinstance(wanted, Exception):
                        raise wanted
                    log.error(
                        "tick job %s could not say which guilds it needs",
                        tick.name,
                        exc_info=wanted,
                    )
                    continue
                targets = [guild_id for guild_id in wanted if guild_id in present]
            owned = [guild_id for guild_id in targets if self.shard.owns(guild_id)]

            async def run_tick(guild_id: int, tick: TickJob = tick) -> None:
                config = await self.guild_settings.get(guild_id)
                try:
                    await tick.run(config, now)
                except Exception:
                    log.exception("tick job %s failed in guild %s", tick.name, guild_id)

            await self._side_by_side(owned, run_tick)

    # -- by hand ---------------------------------------------------------------------------------
    async def run_daily_now(self, name: str, guild_id: int, now: datetime) -> date:
        """Run a daily job for today's local date regardless of its time (sandbox, tests);
        still once per local date."""
        config = await self.guild_settings.get(guild_id)
        job = self.daily_jobs[name]
        local_date = now.astimezone(config.tz).date()
        if await self.ledger.claim_run(guild_id, job.name, local_date, False, now):
            await self._execute(job, config, local_date, False, now)
        return local_date

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


# A daily run due in a pass: its instant, the job's order, the job, the guild, the local date
# and the job_due row's version.
_Run = tuple[datetime, int, DailyJob, GuildConfig, date, int]


def _due_order(item: _Run) -> tuple[datetime, int]:
    return item[0], item[1]
