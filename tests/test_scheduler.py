from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from concord.core.settings import GuildConfig
from concord.db.database import Database
from concord.db.guilds import GuildSettings
from concord.db.jobs import JobLedger
from concord.scheduler import Scheduler

G1, G2 = 1, 2


async def make(db: Database) -> tuple[Scheduler, list[tuple[int, date, bool]]]:
    settings = GuildSettings(db)
    await settings.update(G1, 0, {"timezone": "Europe/Berlin", "digest": time(9, 0)})
    await settings.update(G2, 0, {"timezone": "America/New_York", "digest": time(9, 0)})
    scheduler = Scheduler(settings, JobLedger(db))
    runs: list[tuple[int, date, bool]] = []

    async def digest(config: GuildConfig, local_date: date, late: bool) -> None:
        runs.append((config.guild_id, local_date, late))

    scheduler.add_daily("digest", lambda c: c.digest, digest)
    return scheduler, runs


async def test_once_per_guild_per_local_date_in_each_zone(db: Database) -> None:
    scheduler, runs = await make(db)
    start = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 08:00 Berlin, 02:00 New York
    for minute in range(0, 26 * 60, 2):  # every two minutes for 26 hours
        await scheduler.run_due(start + timedelta(minutes=minute), [G1, G2])
    assert runs == [
        (G1, date(2026, 12, 1), False),  # 09:00 Berlin = 08:00 UTC
        (G2, date(2026, 12, 1), False),  # 09:00 New York = 14:00 UTC
        (G1, date(2026, 12, 2), False),
    ]


async def test_restarts_around_the_job_time_never_repeat(db: Database) -> None:
    base = datetime(2026, 12, 1, 7, 55, tzinfo=UTC)
    runs_total: list[tuple[int, date, bool]] = []
    for minute in range(15):  # a "restart" (fresh scheduler) every minute around 09:00 Berlin
        scheduler, runs = await make(db)
        await scheduler.run_due(base + timedelta(minutes=minute), [G1])
        runs_total.extend(runs)
    assert runs_total == [(G1, date(2026, 12, 1), False)]


async def test_downtime_catch_up_is_marked_late_and_runs_once(db: Database) -> None:
    scheduler, runs = await make(db)
    back_up = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 16:00 Berlin, the bot was down at 09:00
    await scheduler.run_due(back_up, [G1])
    await scheduler.run_due(back_up + timedelta(minutes=1), [G1])
    assert runs == [(G1, date(2026, 12, 1), True)]
    rows = await JobLedger(db).runs(G1, "digest")
    assert [(r["status"], r["late"]) for r in rows] == [("done", 1)]


async def test_a_failing_job_is_retried_then_given_up(db: Database) -> None:
    settings = GuildSettings(db)
    scheduler = Scheduler(settings, JobLedger(db))
    attempts: list[datetime] = []

    async def broken(config: GuildConfig, local_date: date, late: bool) -> None:
        attempts.append(datetime.now(UTC))
        raise RuntimeError("discord is down")

    scheduler.add_daily("broken", lambda c: time(0, 0), broken)
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    for minute in range(10):
        await scheduler.run_due(now + timedelta(minutes=minute), [G1])
    assert len(attempts) == 3
    rows = await JobLedger(db).runs(G1, "broken")
    assert rows[0]["status"] == "failed" and "discord is down" in rows[0]["error"]


async def test_a_run_left_running_by_a_dead_process_is_taken_again(db: Database) -> None:
    ledger = JobLedger(db)
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert await ledger.claim_run(G1, "digest", date(2026, 12, 1), False, now)
    assert not await ledger.claim_run(
        G1, "digest", date(2026, 12, 1), False, now + timedelta(minutes=1)
    )
    assert await ledger.claim_run(
        G1, "digest", date(2026, 12, 1), True, now + timedelta(minutes=11)
    )


async def test_switched_off_job_never_runs(db: Database) -> None:
    scheduler = Scheduler(GuildSettings(db), JobLedger(db))
    ran: list[date] = []

    async def job(config: GuildConfig, local_date: date, late: bool) -> None:
        ran.append(local_date)

    scheduler.add_daily("off", lambda c: None, job)
    await scheduler.run_due(datetime(2026, 12, 1, 23, 0, tzinfo=UTC), [G1])
    assert ran == []


async def test_tick_jobs_run_every_pass_and_failures_are_contained(db: Database) -> None:
    scheduler = Scheduler(GuildSettings(db), JobLedger(db))
    seen: list[datetime] = []

    async def tick(config: GuildConfig, now: datetime) -> None:
        seen.append(now)

    async def bad_tick(config: GuildConfig, now: datetime) -> None:
        raise RuntimeError("oops")

    scheduler.add_tick("bad", bad_tick)
    scheduler.add_tick("tick", tick)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    await scheduler.run_due(now, [G1])
    await scheduler.run_due(now + timedelta(seconds=30), [G1])
    assert seen == [now, now + timedelta(seconds=30)]
    scheduler.remove("tick")
    await scheduler.run_due(now + timedelta(minutes=1), [G1])
    assert len(seen) == 2


async def test_notifications_are_claimed_once(db: Database) -> None:
    ledger = JobLedger(db)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert await ledger.claim_notification(G1, "task.due", "12", now)
    assert not await ledger.claim_notification(G1, "task.due", "12", now)
    assert await ledger.claim_notification(G2, "task.due", "12", now)
    await ledger.release_notification(G1, "task.due", "12")
    assert await ledger.claim_notification(G1, "task.due", "12", now)
