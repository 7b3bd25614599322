"""Daily jobs of the bot process itself, not of a guild (the scheduled backup).

They share the guild scheduler's ledger (``job_runs``) under guild id 0, with the slot in the
job name (``backup@03:00``), so each slot runs once per local date even across restarts, and a
run that failed is retried like any job. Times are the machine's local time (``TZ``, else
``/etc/localtime``, else UTC). When several slots of the day have passed (the bot was down),
only the latest runs: one backup, not a burst of them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from concord.core.jobs import DueRun, due_run
from concord.core.schedule import format_hhmm
from concord.db.jobs import PROCESS_GUILD_ID, JobLedger

log: logging.Logger = logging.getLogger(__name__)


ProcessHandler = Callable[[date, bool], Awaitable[None]]


def local_zone() -> ZoneInfo:
    """The machine's timezone as a ZoneInfo (daylight saving included)."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("TZ=%r is not a known timezone; using /etc/localtime", name)
    localtime = Path("/etc/localtime")
    if localtime.exists():
        try:
            with localtime.open("rb") as handle:
                return ZoneInfo.from_file(handle, key="localtime")
        except (OSError, ValueError):
            log.warning("/etc/localtime is unreadable; using UTC")
    return ZoneInfo("UTC")


@dataclass(frozen=True)
class ProcessJob:
    name: str
    times: tuple[time, ...]
    run: ProcessHandler
    expected: tuple[type[Exception], ...] = ()


def slot_job_name(name: str, at: time) -> str:
    return f"{name}@{format_hhmm(at)}"


class ProcessJobs:
    def __init__(self, ledger: JobLedger, tz: ZoneInfo) -> None:
        self.ledger = ledger
        self.tz = tz
        self.jobs: dict[str, ProcessJob] = {}

    def add_daily(
        self,
        name: str,
        times: tuple[time, ...],
        run: ProcessHandler,
        expected: tuple[type[Exception], ...] = (),
    ) -> None:
        """``run(local_date, late)`` once per local date and time in ``times``; failures of an
        ``expected`` type (a full disk, an unmounted NAS) are logged as one line, without a
        traceback."""
        self.jobs[name] = ProcessJob(name, times, run, expected)

    def _latest_due(self, job: ProcessJob, now: datetime) -> tuple[time, DueRun] | None:
        due = [(at, run) for at in job.times if (run := due_run(now, self.tz, at)) is not None]
        return due[-1] if due else None

    async def run_due(self, now: datetime) -> list[str]:
        """Run what is due at ``now`` (in turn); returns the slot names that ran."""
        ran: list[str] = []
        for job in list(self.jobs.values()):
            found = self._latest_due(job, now)
            if found is None:
                continue
            at, due = found
            slot = slot_job_name(job.name, at)
            if not await self.ledger.claim_run(
                PROCESS_GUILD_ID, slot, due.local_date, due.late, now
            ):
                continue
            error: str | None = None
            try:
                await job.run(due.local_date, due.late)
            except job.expected as exc:
                log.error("process job %s failed for %s: %s", slot, due.local_date, exc)
                error = f"{type(exc).__name__}: {exc}"[:500]
            except Exception as exc:
                log.exception("process job %s failed for %s", slot, due.local_date)
                error = f"{type(exc).__name__}: {exc}"[:500]
            await self.ledger.finish_run(PROCESS_GUILD_ID, slot, due.local_date, now, error)
            ran.append(slot)
        return ran
