"""Process-level daily jobs (the backup): once per local date and slot, across restarts, only
the latest missed slot, failures recorded and retried, outcomes for /concord status."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from concord.db.database import Database
from concord.db.jobs import PROCESS_GUILD_ID, JobLedger, last_outcomes
from concord.process_jobs import ProcessJobs

LONDON = ZoneInfo("Europe/London")
# 2026-07-01: London is on summer time (UTC+1), so local and UTC dates/times differ.
DAY = datetime(2026, 7, 1, tzinfo=UTC)


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    """A London wall-clock time on DAY (+days) as a UTC instant."""
    local = datetime(2026, 7, 1 + days, hour, minute, tzinfo=LONDON)
    return local.astimezone(UTC)


class Recorder:
    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[date, bool]] = []
        self.fail_first = fail_first

    async def __call__(self, local_date: date, late: bool) -> None:
        self.calls.append((local_date, late))
        if len(self.calls) <= self.fail_first:
            raise OSError("the NAS is gone")


async def test_once_per_local_date_and_slot_even_across_restarts(db: Database) -> None:
    run = Recorder()
    jobs = ProcessJobs(JobLedger(db), LONDON)
    jobs.add_daily("backup", (time(3, 0),), run)
    assert await jobs.run_due(at(2, 59)) == []
    assert await jobs.run_due(at(3, 0)) == ["backup@03:00"]
    assert await jobs.run_due(at(3, 1)) == []
    restarted = ProcessJobs(JobLedger(db), LONDON)  # a new process on the same database
    restarted.add_daily("backup", (time(3, 0),), run)
    assert await restarted.run_due(at(9, 0)) == []
    assert await restarted.run_due(at(3, 0, days=1)) == ["backup@03:00"]
    assert run.calls == [(date(2026, 7, 1), False), (date(2026, 7, 2), False)]
    rows = await db.fetchall(
        "SELECT job, local_date, status FROM job_runs WHERE guild_id = ? ORDER BY local_date",
        (PROCESS_GUILD_ID,),
    )
    assert [tuple(r) for r in rows] == [
        ("backup@03:00", "2026-07-01", "done"),
        ("backup@03:00", "2026-07-02", "done"),
    ]


async def test_after_downtime_only_the_latest_slot_runs(db: Database) -> None:
    run = Recorder()
    jobs = ProcessJobs(JobLedger(db), LONDON)
    jobs.add_daily("backup", (time(3, 0), time(12, 0), time(18, 0)), run)
    assert await jobs.run_due(at(13, 0)) == ["backup@12:00"]  # down through 03:00 and 12:00
    assert await jobs.run_due(at(13, 30)) == []
    assert await jobs.run_due(at(18, 0)) == ["backup@18:00"]
    assert run.calls == [(date(2026, 7, 1), True), (date(2026, 7, 1), False)]


async def test_a_failure_is_recorded_shown_and_retried(db: Database) -> None:
    run = Recorder(fail_first=1)
    jobs = ProcessJobs(JobLedger(db), LONDON)
    jobs.add_daily("backup", (time(3, 0),), run)
    assert await db.run_sync(last_outcomes, "backup") == (None, None)
    first = at(3, 0)
    assert await jobs.run_due(first) == ["backup@03:00"]
    good, failure = await db.run_sync(last_outcomes, "backup")
    assert good is None and failure == (first, "OSError: the NAS is gone")
    retry = first + timedelta(seconds=30)
    assert await jobs.run_due(retry) == ["backup@03:00"]
    good, failure = await db.run_sync(last_outcomes, "backup")
    assert good == retry and failure is None  # the run is done now; no failure row is left
    assert len(run.calls) == 2
