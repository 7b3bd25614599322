"""A clock jump cannot use up tomorrow's jobs: if the clock jumps a day ahead and back, the real
day's daily jobs and notifications still go out, and the jump is logged."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import pytest

from concord.core.settings import GuildConfig
from concord.db.database import Database
from concord.db.guilds import GuildSettings
from concord.db.jobs import JobLedger
from concord.scheduler import Scheduler

pytestmark = pytest.mark.slow

GUILD = 1
REAL = datetime(2026, 12, 1, 19, 5, tzinfo=UTC)  # after the 19:00 summary, London


async def office(db: Database) -> tuple[Scheduler, list[date], JobLedger]:
    settings = GuildSettings(db)
    await settings.update(GUILD, 0, {"timezone": "Europe/London", "dar_summary": time(19, 0)})
    ledger = JobLedger(db)
    scheduler = Scheduler(settings, ledger)
    summaries: list[date] = []

    async def summary(config: GuildConfig, local_date: date, late: bool) -> None:
        summaries.append(local_date)

    async def reminder(config: GuildConfig, now: datetime) -> None:
        day = now.astimezone(config.tz).date()
        await ledger.claim_notification(config.guild_id, "test.reminder", day.isoformat(), now)

    scheduler.add_daily("dar_summary", lambda c: c.dar_summary, summary)
    scheduler.add_tick("reminder", reminder)
    return scheduler, summaries, ledger


async def test_a_jump_ahead_and_back_leaves_the_real_days_jobs(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler, summaries, ledger = await office(db)
    await scheduler.run_due(REAL, [GUILD])
    await scheduler.run_due(REAL + timedelta(days=1), [GUILD])  # the clock jumps a day ahead
    with caplog.at_level(logging.WARNING, logger="concord.scheduler"):
        await scheduler.run_due(REAL + timedelta(minutes=1), [GUILD])  # and back
    assert any("clock jumped back" in r.getMessage() for r in caplog.records)
    assert summaries == [date(2026, 12, 1), date(2026, 12, 2)]
    # The real 2 December: its summary goes out, and its once-a-day notification can be sent.
    tomorrow = REAL + timedelta(days=1)
    await scheduler.run_due(tomorrow, [GUILD])
    assert summaries == [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 2)]
    assert not await ledger.claim_notification(GUILD, "test.reminder", "2026-12-02", tomorrow)


async def test_a_restart_after_a_jump_ahead_releases_the_claims_too(db: Database) -> None:
    scheduler, summaries, _ = await office(db)
    await scheduler.run_due(REAL + timedelta(days=1), [GUILD])  # ahead, then a restart
    scheduler, summaries, _ = await office(db)
    await scheduler.run_due(REAL, [GUILD])
    await scheduler.run_due(REAL + timedelta(days=1), [GUILD])
    assert summaries == [date(2026, 12, 1), date(2026, 12, 2)]


async def test_an_ordinary_day_releases_nothing(db: Database) -> None:
    scheduler, summaries, _ = await office(db)
    for minute in range(0, 48 * 60, 30):
        await scheduler.run_due(REAL + timedelta(minutes=minute), [GUILD])
    assert summaries == [date(2026, 12, 1), date(2026, 12, 2)]
