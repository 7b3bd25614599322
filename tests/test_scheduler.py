from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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


# -- cost follows due work (issue 14) -------------------------------------------------------------
async def test_a_pass_with_nothing_due_looks_at_no_guild(db: Database) -> None:
    scheduler, runs = await make(db)
    job = scheduler.daily_jobs["digest"]
    scheduler.add_daily("digest", lambda c: c.digest if c.configured else None, job.run)
    guilds = [G1, G2, *range(100, 300)]  # 100-299: never set up, so the digest is off
    first = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)  # after 09:00 Berlin, before New York
    await scheduler.run_due(first, guilds)
    assert runs == [(G1, date(2026, 12, 1), True)]
    looked: list[int] = []
    real_get_many = scheduler.guild_settings.get_many

    async def spy(guild_ids):  # type: ignore[no-untyped-def]
        found = await real_get_many(guild_ids)
        looked.extend(found)
        return found

    scheduler.guild_settings.get_many = spy  # type: ignore[method-assign]
    await scheduler.run_due(first + timedelta(seconds=30), guilds)
    assert looked == []  # no row due: no guild's settings even read
    await scheduler.run_due(datetime(2026, 12, 1, 14, 0, tzinfo=UTC), guilds)  # 09:00 New York
    assert looked == [G2]
    assert runs[-1] == (G2, date(2026, 12, 1), False)


async def test_the_next_due_instant_is_stored_in_utc(db: Database) -> None:
    scheduler, _ = await make(db)
    await scheduler.run_due(datetime(2026, 12, 1, 8, 30, tzinfo=UTC), [G1, G2])
    [row1] = await scheduler.due_table.rows(G1)
    [row2] = await scheduler.due_table.rows(G2)
    assert (row1.local_date, row1.due_at) == ("2026-12-02", "2026-12-02T08:00:00+00:00")
    assert (row2.local_date, row2.due_at) == ("2026-12-01", "2026-12-01T14:00:00+00:00")


async def test_a_settings_change_moves_the_job_the_same_day(db: Database) -> None:
    scheduler, runs = await make(db)
    now = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 08:00 Berlin, digest at 09:00
    await scheduler.run_due(now, [G1])
    await GuildSettings(db).update(G1, 0, {"digest": time(7, 30)})  # moved earlier: due now
    await scheduler.run_due(now + timedelta(seconds=30), [G1])
    assert runs == [(G1, date(2026, 12, 1), False)]  # passes ran meanwhile: not late
    await GuildSettings(db).update(G1, 0, {"timezone": "Asia/Tokyo"})  # already 16:00 there
    await scheduler.run_due(now + timedelta(minutes=1), [G1])
    assert runs == [(G1, date(2026, 12, 1), False)]  # 1 December ran already
    await scheduler.run_due(datetime(2026, 12, 1, 22, 30, tzinfo=UTC), [G1])  # 07:30 Tokyo
    assert runs[-1] == (G1, date(2026, 12, 2), False)


async def test_two_processes_split_by_shard_run_each_job_once(db: Database) -> None:
    from concord.db.jobs import ShardFilter

    guilds = [(n << 22) + 7 for n in range(1, 41)]  # shards (n % 2) alternate
    settings = GuildSettings(db)
    for guild_id in guilds:
        await settings.update(guild_id, 0, {"timezone": "Europe/Berlin", "digest": time(9, 0)})
    runs: list[tuple[int, date, int]] = []
    schedulers = []
    for shard_id in (0, 1):
        scheduler = Scheduler(settings, JobLedger(db), shard=ShardFilter(2, (shard_id,)))

        async def digest(
            config: GuildConfig, local_date: date, late: bool, s: int = shard_id
        ) -> None:
            runs.append((config.guild_id, local_date, s))

        scheduler.add_daily("digest", lambda c: c.digest, digest)
        schedulers.append(scheduler)
    start = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    for minute in range(0, 48 * 60, 10):
        for index, scheduler in enumerate(schedulers):
            owned = [g for g in guilds if (g >> 22) % 2 == index]
            await scheduler.run_due(start + timedelta(minutes=minute), owned)
    assert sorted((g, d) for g, d, _ in runs) == sorted(
        (g, d) for g in guilds for d in (date(2026, 12, 1), date(2026, 12, 2))
    )
    assert all((g >> 22) % 2 == s for g, _, s in runs)


async def test_spring_forward_and_fall_back_through_the_table(db: Database) -> None:
    settings = GuildSettings(db)
    await settings.update(G1, 0, {"timezone": "Europe/Berlin", "digest": time(2, 30)})
    scheduler = Scheduler(settings, JobLedger(db))
    runs: list[tuple[date, datetime]] = []
    clock: list[datetime] = []

    async def digest(config: GuildConfig, local_date: date, late: bool) -> None:
        runs.append((local_date, clock[-1]))

    scheduler.add_daily("digest", lambda c: c.digest, digest)
    # 29 March 2026: 02:00 -> 03:00 in Berlin (01:00 UTC); 25 October: 03:00 -> 02:00 (01:00 UTC)
    for start in (
        datetime(2026, 3, 28, 22, 0, tzinfo=UTC),
        datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
    ):
        for minute in range(0, 6 * 60, 5):
            clock.append(start + timedelta(minutes=minute))
            await scheduler.run_due(clock[-1], [G1])
    # (28 March and 24 October run on the first pass, late: the catch-up of those days.)
    assert [run for run in runs if run[0] in (date(2026, 3, 29), date(2026, 10, 25))] == [
        (date(2026, 3, 29), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),  # 03:00, the end of the gap
        (date(2026, 10, 25), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),  # the first 02:30 only
    ]


def test_the_postgresql_spelling_of_the_due_query() -> None:
    from concord.db.jobs import PostgresDialect, ShardFilter, dialect_of
    from concord.db.portable import to_postgres

    sql, params = PostgresDialect().due_sql(ShardFilter(4, (1, 3)))
    assert params == (4, 1, 3)
    translated = to_postgres(sql)
    # A snapshot read: no row locks, which would need the database-wide write lock.
    assert "FOR UPDATE" not in translated
    assert "(d.guild_id >> 22) %% %s) IN (%s, %s)" in translated
    assert dialect_of(object()).name == "sqlite"


def test_a_shard_filter_owns_its_guilds_only() -> None:
    from concord.db.jobs import ShardFilter

    everything = ShardFilter()
    assert everything.owns(12345) and everything.sql("g") == ("", ())
    half = ShardFilter(2, (1,))
    assert half.owns(1 << 22) and not half.owns(2 << 22)


async def test_a_guild_away_for_a_while_gets_its_jobs_back(db: Database) -> None:
    scheduler, runs = await make(db)
    morning = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    await scheduler.run_due(morning, [G1, G2])
    await scheduler.run_due(datetime(2026, 12, 1, 8, 30, tzinfo=UTC), [G2])  # G1 unavailable
    assert runs == []
    [row] = await scheduler.due_table.rows(G1)
    assert row.due_at is None  # off while it is away
    await scheduler.run_due(datetime(2026, 12, 1, 8, 31, tzinfo=UTC), [G1, G2])
    assert runs == [(G1, date(2026, 12, 1), False)]


async def test_due_guilds_run_side_by_side_each_guilds_jobs_in_order(db: Database) -> None:
    """A pass runs several guilds' due jobs at once (a slow send in one guild does not hold up
    the others), but one guild's jobs one after another, in the order they were due."""
    settings = GuildSettings(db)
    guilds = list(range(1, 7))
    for guild_id in guilds:
        await settings.update(guild_id, 0, {"timezone": "UTC", "digest": time(9, 0)})
    scheduler = Scheduler(settings, JobLedger(db), concurrency=4)
    running: set[int] = set()
    most = 0
    events: list[tuple[int, str, str]] = []
    release = asyncio.Event()

    def job(name: str) -> Callable[[GuildConfig, date, bool], Awaitable[None]]:
        async def run(config: GuildConfig, local_date: date, late: bool) -> None:
            nonlocal most
            events.append((config.guild_id, name, "start"))
            running.add(config.guild_id)
            most = max(most, len(running))
            if len(running) == 4:
                release.set()
            await asyncio.wait_for(release.wait(), 5)
            running.discard(config.guild_id)
            events.append((config.guild_id, name, "end"))

        return run

    scheduler.add_daily("first", lambda c: time(8, 0), job("first"))
    scheduler.add_daily("second", lambda c: time(8, 30), job("second"))
    ran = await scheduler.run_due(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), guilds)
    assert most == 4  # side by side, never more than asked
    assert len(ran) == 12 and [r[1] for r in ran] == ["first"] * 6 + ["second"] * 6
    for guild_id in guilds:
        own = [(name, what) for g, name, what in events if g == guild_id]
        assert own == [("first", "start"), ("first", "end"), ("second", "start"), ("second", "end")]


async def test_runs_left_running_by_a_dead_process_are_retried_at_start_up(db: Database) -> None:
    """A process that starts owning a guild retries the runs a stopped process left running at
    its first pass (so their claimed notifications go out again within Discord's nonce window),
    instead of waiting for them to turn stale after 10 minutes."""
    ledger = JobLedger(db)
    killed_at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 Berlin
    assert await ledger.claim_run(G1, "digest", date(2026, 12, 1), False, killed_at)
    scheduler, runs = await make(db)  # the restarted process
    await scheduler.run_due(killed_at + timedelta(minutes=1), [G1])
    assert runs == [(G1, date(2026, 12, 1), False)]
    rows = await ledger.runs(G1, "digest")
    assert [(r["status"], r["attempts"]) for r in rows] == [("done", 2)]
