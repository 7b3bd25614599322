"""The bot as several shard processes on one database (issue 14), each a real OS process
(``concord.sandbox.shards``) against one emulator, on a manual clock:

- a simulated working day sends every guild's DAR reminders, summary and digest exactly once
  (the many-guilds benchmark's check, at a small scale), and interactions reach every shard —
  on one SQLite file, and on PostgreSQL (the session's throwaway server, tests/pg_server.py:
  skipped with one line without its binaries, a failure under ``CI=true``);
- kill -9 of one process while its jobs run — after Discord created a message it sent, or before
  the request reached Discord: after it is started again every job of its guilds ran exactly
  once, notifications included (the DM it was sending is sent again with the claim's nonce), and
  the other process never stopped answering.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from concord.core.jobs import notification_nonce
from concord.sandbox.emulator import Emulator
from concord.sandbox.emulator.gateway import shard_of
from concord.sandbox.emulator.world import StoredMessage
from concord.sandbox.shards import (
    DayCount,
    OfficeGuild,
    ShardProcess,
    Target,
    build_guilds,
    interact,
    set_up,
    settings_command,
)

pytestmark = pytest.mark.slow

DAY = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # a Tuesday; see concord.sandbox.shards.ZONES
END = DAY + timedelta(hours=20)
STEP = timedelta(minutes=20)
MESSAGES = "POST /channels/{channel_id}/messages"
RESTART = timedelta(minutes=1)  # past a claim's lease (30 s), within Discord's nonce window


class World:
    def __init__(
        self,
        emulator: Emulator,
        offices: list[OfficeGuild],
        db: Target,
        now: list[datetime],
        health: Path,
    ):
        self.emulator = emulator
        self.offices = offices
        self.db = db
        self.health = health
        self.now = now
        self.count = DayCount()
        emulator.listeners.append(self.count.listen)

    async def launch(self, shard_ids: list[int], count: int = 2) -> ShardProcess:
        process = await ShardProcess.launch(
            self.emulator,
            self.db,
            shard_count=count,
            shard_ids=shard_ids,
            clock=self.now[0],
            health_file=self.health,
        )
        await process.wait_ready()
        return process

    async def at(self, moment: datetime, processes: list[ShardProcess]) -> None:
        self.now[0] = moment
        for process in processes:
            await process.set_clock(moment)


async def _world(db: Target, tmp_path: Path) -> AsyncIterator[World]:
    now = [datetime(2026, 11, 2, 12, 0, tzinfo=UTC)]  # the members joined a month before
    async with Emulator(clock=lambda: now[0]) as emulator:
        offices = build_guilds(emulator, 50, 10)
        await set_up(db, offices)
        now[0] = DAY
        yield World(emulator, offices, db, now, tmp_path / "health.json")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for made in _world(tmp_path / "concord.db", tmp_path):
        yield made


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """The world on SQLite, then on a fresh database of the session's PostgreSQL server."""
    db: Target = tmp_path / "concord.db"
    if request.param == "postgresql":
        db = str(request.getfixturevalue("pg_url"))
    async for made in _world(db, tmp_path):
        yield made


async def test_a_day_on_two_processes_sends_everything_exactly_once(any_world: World) -> None:
    world = any_world
    processes = [await world.launch([0]), await world.launch([1])]
    try:
        assert sorted(p.ready["guilds"] for p in processes) == [25, 25]
        moment = DAY
        while moment <= END:
            await world.at(moment, processes)
            await asyncio.gather(*(p.scheduler_pass() for p in processes))
            moment += STEP
        assert world.count.check(world.emulator, world.offices) == (0, 0)
        assert sum(world.count.dms.values()) == 500 and sum(world.count.reports.values()) == 100
        # Interactions of every guild reach the process that owns its shard.
        data = settings_command(world.emulator)
        answered = await asyncio.gather(*(interact(world.emulator, o, data) for o in world.offices))
        assert all(answered)
    finally:
        for process in processes:
            await process.stop()


@pytest.mark.parametrize("when", ["after_discord_created_it", "before_it_reached_discord"])
async def test_kill_9_while_jobs_run_then_each_job_ran_exactly_once(
    world: World, when: str
) -> None:
    """The victim is killed with a DAR reminder DM claimed but not marked sent: either Discord
    created the message and the answer never came back (the emulator's MESSAGE_CREATE, before
    it answers), or the request never got through (dropped as it arrives). Restarted within
    Discord's nonce window, it sends that DM again with the claim's nonce: Discord returns the
    first message in the one case and creates it in the other, so it exists exactly once."""
    survivor, victim = await world.launch([0]), await world.launch([1])
    theirs = {o.reports.id for o in world.offices if shard_of(o.guild.id, 2) == 1}
    dm_owner = {
        world.emulator.world.dm_channel(user).id: office
        for office in world.offices
        for user in office.staff
    }
    killed: list[int] = []
    victim_pid = int(victim.ready["pid"])

    def victims_third_dm(channel_id: int, created: int) -> bool:
        if killed or channel_id not in dm_owner:
            return False
        if shard_of(dm_owner[channel_id].guild.id, 2) != 1:
            return False
        sent = sum(
            n
            for channel, n in world.count.dms.items()
            if shard_of(dm_owner[channel].guild.id, 2) == 1
        )
        return sent + created >= 3

    killed_nonce = ""

    def kill_after_create(kind: str, message: StoredMessage) -> None:
        # The victim's third DAR reminder DM was created: kill it before it hears back.
        nonlocal killed_nonce
        if kind == "MESSAGE_CREATE" and victims_third_dm(message.channel_id, 0):
            os.kill(victim_pid, signal.SIGKILL)
            killed.append(victim_pid)
            killed_nonce = str(message.nonce)

    async def kill_before_create(channel_id: int, body: dict[str, Any]) -> bool:
        # The victim's third DAR reminder DM arrives: kill it, and the request goes nowhere.
        nonlocal killed_nonce
        if victims_third_dm(channel_id, 1):
            os.kill(victim_pid, signal.SIGKILL)
            killed.append(victim_pid)
            killed_nonce = str(body.get("nonce"))
            return False
        return True

    processes = [survivor, victim]
    try:
        moment = DAY
        while moment < DAY + timedelta(hours=12):  # up to 17:00 UTC, the UTC offices' reminders
            await world.at(moment, processes)
            await asyncio.gather(*(p.scheduler_pass() for p in processes))
            moment += STEP
        if when == "after_discord_created_it":
            world.emulator.listeners.append(kill_after_create)
        else:
            world.emulator.world.before_message_create.append(kill_before_create)
        world.emulator.slow_down(MESSAGES, 0.05)  # each send takes a moment: jobs run a while
        await world.at(moment, processes)
        survivor_pass = asyncio.create_task(survivor.scheduler_pass())
        with pytest.raises(RuntimeError, match="ended"):
            await victim.scheduler_pass()
        assert killed == [victim_pid]
        # The other process never stopped answering, and finished its own jobs.
        data = settings_command(world.emulator)
        mine = [o for o in world.offices if shard_of(o.guild.id, 2) == 0]
        assert all(await asyncio.gather(*(interact(world.emulator, o, data) for o in mine[:5])))
        await survivor_pass
        world.emulator.slow_down(MESSAGES, 0)
        await victim.kill()
        # The DMs it had in flight (guilds run side by side): claimed, never marked sent; of
        # those, the ones Discord created before the kill carry the claim's nonce.
        in_flight = unsent(world.db)
        assert killed_nonce in in_flight
        created = {m.nonce for m in world.emulator.world.messages.values()} & in_flight
        assert (killed_nonce in created) == (when == "after_discord_created_it")
        victim = await world.launch([1])  # systemd's Restart=on-failure
        processes = [survivor, victim]
        # Back within Discord's nonce window: its runs left running are retried at once and
        # the claim whose lease ran out is sent again, with the same nonce.
        moment += RESTART
        while moment <= END:
            await world.at(moment, processes)
            await asyncio.gather(*(p.scheduler_pass() for p in processes))
            moment += STEP
        assert world.count.check(world.emulator, world.offices) == (0, 0)
        assert sum(world.count.reports[channel] for channel in theirs) == 2 * len(theirs)
        # Discord answered each re-sent DM it had made with that message, and made the others.
        assert world.emulator.world.nonce_hits == len(created)
        assert unsent(world.db) == set()
    finally:
        for process in processes:
            await process.stop()


def unsent(db: Path) -> set[str]:
    """The nonces of the notifications claimed and not (yet) marked sent, or given up."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT guild_id, kind, key FROM notifications_sent WHERE status <> 'sent'"
        ).fetchall()
    return {notification_nonce(int(g), str(kind), str(key)) for g, kind, key in rows}
