"""Many guilds, several shard processes: the real bot as N OS processes (``concord run
--shard-count N --shard-ids ...``, each a :class:`ShardProcess`) against one emulator, on one
database, driven by a manual clock. For bench/bench_many_guilds.py and the exactly-once tests
(tests/reliability/test_shard_processes.py).

Each bot process speaks JSON lines on stdout and takes commands on stdin:

- ``{"event": "ready", ...}`` once every shard of the process is ready (seconds from the
  module's import, with ``stages``: bot imported, database open, bot made, logged in, set up,
  first shard connected;
  guilds, RSS);
- ``clock ISO`` sets the process's clock (``{"event": "clock"}``);
- ``pass`` runs one scheduler pass at that time and answers ``{"event": "passed", "seconds":
  ..., "ran": [[guild, job, date], ...]}``;
- ``rss`` answers ``{"event": "rss", "kb": ...}``; ``stop`` (or the end of input) closes it.

The world: ``guilds`` guilds of ``members`` staff members each (one owner in all of them), a
#general and a #reports channel, set up in the database as ``/concord setup`` would, in a few
timezones (:data:`ZONES`).

    python -m concord.sandbox.shards --api-base URL --gateway-url URL --token T --db PATH
        --shard-count N --shard-ids 0,1 --clock ISO

``--db`` is a SQLite file or a ``postgresql://`` URL (the bot on PostgreSQL, as with
``CONCORD_DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the bot process imports none of the emulator (its start-up is measured)
    from concord.sandbox.emulator import Emulator
    from concord.sandbox.emulator.interactions import InteractionRecord
    from concord.sandbox.emulator.world import Channel, Guild, StoredMessage, User

LAUNCHED = time.perf_counter()
# Guild timezones, round robin: a day from 05:00 UTC to 01:00 UTC the next day holds each one's
# whole working day (09:00 digest, 17:00 reminder, 19:00 summary) and nothing of the next.
ZONES = ("UTC", "Europe/Berlin", "America/New_York")


# -- the world (the benchmark's or the test's side) ----------------------------------------------
@dataclass
class OfficeGuild:
    guild: Guild
    general: Channel
    reports: Channel
    staff: list[User]


def build_guilds(emulator: Emulator, guilds: int, members: int) -> list[OfficeGuild]:
    """``guilds`` small offices (the bot in each); ids spread over the shards like Discord's."""
    from concord.sandbox.office import BOT_PERMISSIONS

    world = emulator.world
    owner = world.add_user("owner", "Owner")
    made: list[OfficeGuild] = []
    for number in range(guilds):
        guild = world.add_guild(f"Office {number}", owner)
        staff_role = world.add_role(guild, "Staff")
        bot_role = world.add_role(
            guild, emulator.bot_user.display_name, BOT_PERMISSIONS, bot_id=emulator.bot_user.id
        )
        general = world.add_channel(guild, "general")
        reports = world.add_channel(guild, "reports")
        staff = []
        for index in range(members):
            user = world.add_user(f"m{number}x{index}", f"Member {number}.{index}")
            world.add_member(guild, user, [staff_role])
            staff.append(user)
        world.add_member(guild, emulator.bot_user, [bot_role])
        made.append(OfficeGuild(guild, general, reports, staff))
    return made


Target = Path | str  # a SQLite file, or a postgresql:// URL


def is_postgres(db: Target) -> bool:
    return isinstance(db, str) and db.startswith(("postgresql://", "postgres://"))


async def open_database(db: Target) -> Any:
    """The bot's database at ``db`` (migrated): PostgreSQL for a URL, else the SQLite file."""
    if is_postgres(db):
        from concord.db.postgres import PostgresDatabase

        return await PostgresDatabase.open(str(db))
    from concord.db.database import Database

    return await Database.open(Path(db))


async def set_up(
    db_path: Target,
    offices: Sequence[OfficeGuild],
    overrides: Mapping[int, Mapping[str, Any]] | None = None,
) -> None:
    """Each guild's settings, as ``/concord setup`` writes them (many at a time: group commit
    on SQLite, the writer threads side by side on PostgreSQL); ``overrides`` by the office's
    index (a digest time of its own)."""
    extra = overrides or {}
    from concord.db.guilds import GuildSettings

    db = await open_database(db_path)
    try:
        settings = GuildSettings(db)
        for start in range(0, len(offices), 250):
            await asyncio.gather(
                *(
                    settings.update(
                        office.guild.id,
                        office.guild.owner_id,
                        {
                            "timezone": ZONES[(start + index) % len(ZONES)],
                            "staff_role_id": _role(office.guild, "Staff"),
                            "reports_channel_id": office.reports.id,
                            **extra.get(start + index, {}),
                        },
                    )
                    for index, office in enumerate(offices[start : start + 250])
                )
            )
    finally:
        await db.close()


def _role(guild: Guild, name: str) -> int:
    return next(role.id for role in guild.roles.values() if role.name == name)


@dataclass
class DayCount:
    """What the emulator saw the bot send: DMs per member, messages per reports channel."""

    dms: Counter[int] = field(default_factory=Counter)
    reports: Counter[int] = field(default_factory=Counter)
    titles: Counter[str] = field(default_factory=Counter)

    def listen(self, kind: str, message: StoredMessage) -> None:
        if kind != "MESSAGE_CREATE":
            return
        if message.guild_id is None:
            self.dms[message.channel_id] += 1
        else:
            self.reports[message.channel_id] += 1
        for embed in message.embeds or []:
            title = str(embed.get("title", ""))
            self.titles[title.split(" ")[0] if title else "?"] += 1

    def check(self, emulator: Emulator, offices: Sequence[OfficeGuild]) -> tuple[int, int]:
        """(duplicates, missing): each staff member one reminder DM, each reports channel two
        messages (the digest and the DAR summary) on the simulated working day."""
        world = emulator.world
        duplicates = missing = 0
        for office in offices:
            got = self.reports.get(office.reports.id, 0)
            duplicates += max(0, got - 2)
            missing += max(0, 2 - got)
            for user in office.staff:
                dms = self.dms.get(world.dm_channel(user).id, 0)
                duplicates += max(0, dms - 1)
                missing += max(0, 1 - dms)
        return duplicates, missing


def settings_command(emulator: Emulator) -> dict[str, Any]:
    """``/concord settings`` as an interaction's data (the global command the bot synced)."""
    command = next(c for c in emulator.commands.list(None) if c.definition["name"] == "concord")
    return {
        "id": str(command.id),
        "name": "concord",
        "type": 1,
        "options": [{"type": 1, "name": "settings", "options": []}],
    }


async def interact(emulator: Emulator, office: OfficeGuild, data: dict[str, Any]) -> bool:
    """The owner runs ``data`` in the office's #general; True once the bot answered."""
    from concord.sandbox.emulator.interactions import APPLICATION_COMMAND

    owner = emulator.world.users[office.guild.owner_id]
    record: InteractionRecord = emulator.new_interaction(
        kind=APPLICATION_COMMAND, user=owner, channel=office.general, data=data
    )
    await emulator.send_interaction(record)
    try:
        await asyncio.wait_for(record.responded.wait(), 10)
    except TimeoutError:
        return False
    return True


# -- the bot process, seen from the benchmark ----------------------------------------------------
@dataclass
class ShardProcess:
    process: asyncio.subprocess.Process
    shard_ids: tuple[int, ...]
    launched: float
    ready: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def launch(
        cls,
        emulator: Emulator,
        db: Target,
        *,
        shard_count: int,
        shard_ids: Sequence[int],
        clock: datetime,
        health_file: Path | None = None,
        bytecode_cache: Path | None = None,
    ) -> ShardProcess:
        """Start the process (without waiting for it: :meth:`wait_ready`) on ``db``, a SQLite
        file or a PostgreSQL URL (then ``health_file`` is required). With ``bytecode_cache``
        the process keeps compiled modules there (PYTHONPYCACHEPREFIX) even where
        PYTHONDONTWRITEBYTECODE is set, as bench/botproc.py does: a start then loads bytecode
        as an installed bot does, instead of compiling ~100 modules (bench_many_guilds)."""
        if health_file is None:
            assert isinstance(db, Path), "a health file path is needed with a database URL"
            health_file = db.with_name("health.json")
        command = [
            sys.executable,
            "-m",
            "concord.sandbox.shards",
            "--api-base",
            emulator.api_base,
            "--gateway-url",
            emulator.gateway_url,
            "--token",
            emulator.token,
            "--db",
            str(db),
            "--shard-count",
            str(shard_count),
            "--shard-ids",
            ",".join(map(str, shard_ids)),
            "--clock",
            clock.isoformat(),
            "--health-file",
            str(health_file),
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if bytecode_cache is not None:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(bytecode_cache)
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            limit=1 << 26,  # a pass's line lists every run it made (thousands at 09:00)
        )
        return cls(process, tuple(shard_ids), time.perf_counter())

    async def wait_ready(self, within: float = 120.0) -> dict[str, Any]:
        self.ready = await asyncio.wait_for(self._event("ready"), within)
        self.ready["launch_to_ready_s"] = time.perf_counter() - self.launched
        return self.ready

    async def _event(self, name: str) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            line = await stdout.readline()
            if not line:
                code = await self.process.wait()
                raise RuntimeError(f"shard process {self.shard_ids} ended ({code}) before {name}")
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("event") == name:
                return event

    async def command(self, line: str, answer: str, within: float = 600.0) -> dict[str, Any]:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(line.encode() + b"\n")
        await stdin.drain()
        return await asyncio.wait_for(self._event(answer), within)

    async def set_clock(self, moment: datetime) -> None:
        await self.command(f"clock {moment.isoformat()}", "clock")

    async def scheduler_pass(self) -> dict[str, Any]:
        return await self.command("pass", "passed")

    async def rss_kb(self) -> int:
        return int((await self.command("rss", "rss"))["kb"])

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(RuntimeError, TimeoutError, ConnectionError):
                await self.command("stop", "stopped", within=30)
        await self.kill()

    async def kill(self) -> None:
        """kill -9 (or reap one that already ended)."""
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


# -- the bot process itself ----------------------------------------------------------------------
def _rss_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _say(event: str, **values: Any) -> None:
    print(json.dumps({"event": event, **values}, default=str), flush=True)


async def _child(args: argparse.Namespace) -> None:
    from concord.bot import ConcordBot, apply_endpoints
    from concord.clock import ManualClock
    from concord.config import Settings, parse_database_url

    stages = {"imported": time.perf_counter() - LAUNCHED}
    clock = ManualClock(datetime.fromisoformat(args.clock))
    target: Target = args.db if is_postgres(args.db) else Path(args.db)
    settings = Settings(
        discord_token=args.token,
        db_path=target if isinstance(target, Path) else Path("unused-with-database-url.db"),
        database_url=parse_database_url(args.db) if isinstance(target, str) else None,
        health_file=Path(args.health_file),
        api_base=args.api_base,
        gateway_url=args.gateway_url,
        shard_count=args.shard_count,
        shard_ids=tuple(int(i) for i in args.shard_ids.split(",")),
    )
    apply_endpoints(settings)
    db = await open_database(target)
    stages["database_open"] = time.perf_counter() - LAUNCHED
    bot = ConcordBot(settings, db, clock=clock, scheduler_seconds=None)
    stages["bot_made"] = time.perf_counter() - LAUNCHED  # the modules imported
    setup_hook = bot.setup_hook

    async def timed_setup_hook() -> None:  # after the login; loads modules, syncs commands
        stages["logged_in"] = time.perf_counter() - LAUNCHED
        await setup_hook()
        stages["set_up"] = time.perf_counter() - LAUNCHED

    bot.setup_hook = timed_setup_hook

    async def connected(_shard_id: int) -> None:
        stages.setdefault("first_shard_connected", time.perf_counter() - LAUNCHED)

    bot.add_listener(connected, "on_shard_connect")
    runner = asyncio.create_task(bot.start(args.token))
    ready = asyncio.create_task(bot.wait_until_ready())
    await asyncio.wait([runner, ready], return_when=asyncio.FIRST_COMPLETED)
    if runner.done():
        runner.result()  # the start failed: raise why
    _say(
        "ready",
        seconds=time.perf_counter() - LAUNCHED,
        stages=stages,
        guilds=len(bot.guilds),
        rss_kb=_rss_kb(),
        pid=os.getpid(),
    )
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while True:
            line = (await reader.readline()).decode().strip()
            if not line or line == "stop":
                break
            verb, _, rest = line.partition(" ")
            if verb == "clock":
                clock.set(datetime.fromisoformat(rest))
                _say("clock")
            elif verb == "pass":
                now = clock.now()
                started = time.perf_counter()
                bot.scheduler.shard = bot.shard_filter()
                ran: list[tuple[int, str, date]] = await bot.scheduler.run_due(
                    now, {guild.id for guild in bot.guilds}
                )
                _say("passed", seconds=time.perf_counter() - started, ran=ran)
            elif verb == "rss":
                _say("rss", kb=_rss_kb())
    finally:
        await bot.close()
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await db.close()
        _say("stopped")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--gateway-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--shard-count", type=int, required=True)
    parser.add_argument("--shard-ids", required=True)
    parser.add_argument("--clock", required=True)
    parser.add_argument("--health-file", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(_child(args))


if __name__ == "__main__":
    main()


__all__ = [
    "DayCount",
    "OfficeGuild",
    "ShardProcess",
    "Target",
    "build_guilds",
    "is_postgres",
    "open_database",
    "set_up",
]
