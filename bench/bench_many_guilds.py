"""Many guilds on 1, 2 and 4 shard processes sharing one database (issue 14).

5,000 guilds x 10 members by default, the real bot as N OS processes (concord/sandbox/shards.py:
``--shard-count``/``--shard-ids``, a manual clock each) against one emulator in this process:

- launch -> every shard of every process ready (and RSS per process);
- scheduler pass p50/p99 with nothing due (the passes of the day in which no job ran, plus
  ``--idle-passes`` at the start) and with 100 guilds due (five groups of 100 offices whose
  digest is at 05:40, 06:00, ... 07:00 UTC);
- a simulated working day (05:00 UTC to 01:00 the next day, a pass every 20 minutes): every
  office's DAR reminder DMs, summary and digest counted in the emulator's messages, duplicates
  and missing ones;
- interactions/s across every process (``/concord settings`` in offices of every shard).

Targets: idle pass < 20 ms at 5,000 guilds; 0 duplicates and 0 missing; start-up of 4 processes
< 10 s.

``--backend sqlite`` (default: one SQLite file, WAL) or ``--backend postgres``: a throwaway
PostgreSQL server started the way the tests start theirs (tests/pg_server.py, fsync on), a fresh
database for each process count, the server stopped and its files removed at the end.

Usage: python bench/bench_many_guilds.py [--guilds 5000] [--members 10] [--processes 1,2,4]
       [--interactions 2000] [--idle-passes 20] [--until MINUTES] [--backend sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import benchlib

from concord.sandbox.emulator import Emulator
from concord.sandbox.emulator.ratelimit import RateLimits
from concord.sandbox.shards import (
    ZONES,
    DayCount,
    ShardProcess,
    build_guilds,
    interact,
    set_up,
    settings_command,
)

DAY = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # a Tuesday
END = DAY + timedelta(hours=20)
STEP = timedelta(minutes=20)
ROOT = str(Path(__file__).resolve().parents[1])  # for tests.pg_server (the throwaway server)
DUE_GROUPS = 5
DUE_GROUP_SIZE = 100


def due_groups(guilds: int) -> dict[int, dict[str, Any]]:
    """Offices (in UTC) whose digest is at 05:40, 06:00, ...: 100 guilds due at each."""
    utc = [i for i in range(guilds) if ZONES[i % len(ZONES)] == "UTC"]
    overrides: dict[int, dict[str, Any]] = {}
    for group in range(DUE_GROUPS):
        at = (DAY + STEP * (2 + group)).time()
        for index in utc[group * DUE_GROUP_SIZE : (group + 1) * DUE_GROUP_SIZE]:
            overrides[index] = {"digest": at}
    return overrides


def split(count: int, processes: int) -> list[list[int]]:
    per = count // processes
    return [list(range(p * per, (p + 1) * per)) for p in range(processes)]


async def run(
    guilds: int,
    members: int,
    processes: int,
    args: argparse.Namespace,
    new_database: Callable[[Path], Path | str],
) -> dict[str, Any]:
    shard_count = max(2, processes)  # Discord: at most 2,500 guilds a shard
    now = [datetime(2026, 11, 2, 12, 0, tzinfo=UTC)]
    with tempfile.TemporaryDirectory(prefix="concord-many-") as tmp:
        limits = RateLimits.discord() if args.rate_limits == "discord" else RateLimits.relaxed()
        async with Emulator(clock=lambda: now[0], rate_limits=limits) as emulator:
            offices = build_guilds(emulator, guilds, members)
            db = new_database(Path(tmp))
            health = Path(tmp) / "health.json"
            started = time.perf_counter()
            await set_up(db, offices, due_groups(guilds))
            setup_s = time.perf_counter() - started
            now[0] = DAY
            count = DayCount()
            emulator.listeners.append(count.listen)
            launched = time.perf_counter()
            bots = [
                await ShardProcess.launch(
                    emulator,
                    db,
                    shard_count=shard_count,
                    shard_ids=ids,
                    clock=DAY,
                    health_file=health,
                    bytecode_cache=args.bytecode_cache,
                )
                for ids in split(shard_count, processes)
            ]
            try:
                ready = await asyncio.gather(*(bot.wait_ready(300) for bot in bots))
                all_ready_s = time.perf_counter() - launched
                rss_ready = [r["rss_kb"] / 1024 for r in ready]
                # Where the slowest process's start went (seconds from launch, its own clock
                # from its module's import; before it, the interpreter's own start).
                slowest = max(ready, key=lambda r: r["launch_to_ready_s"])
                stages = {
                    "interpreter": slowest["launch_to_ready_s"] - slowest["seconds"],
                    **{name: at for name, at in slowest["stages"].items()},
                    "ready": slowest["seconds"],
                }

                async def everywhere(moment: datetime) -> list[dict[str, Any]]:
                    now[0] = moment
                    for bot in bots:
                        await bot.set_clock(moment)
                    return await asyncio.gather(*(bot.scheduler_pass() for bot in bots))

                first = await everywhere(DAY)
                idle: list[float] = []
                for second in range(1, args.idle_passes + 1):
                    for result in await everywhere(DAY + timedelta(seconds=second)):
                        idle.append(result["seconds"])
                due_100: list[float] = []
                busiest: list[float] = []
                day_started = time.perf_counter()
                group_moments = {DAY + STEP * (2 + group) for group in range(DUE_GROUPS)}
                moment = DAY + STEP
                end = min(END, DAY + timedelta(minutes=args.until))
                while moment <= end:
                    results = await everywhere(moment)
                    guilds_ran = len({g for r in results for g, _, _ in r["ran"]})
                    if guilds_ran == 0:
                        idle.extend(r["seconds"] for r in results)
                    elif moment in group_moments and guilds_ran == DUE_GROUP_SIZE:
                        due_100.append(max(r["seconds"] for r in results))
                    else:
                        busiest.append(max(r["seconds"] for r in results))
                    moment += STEP
                day_s = time.perf_counter() - day_started
                duplicates, missing = count.check(emulator, offices)
                messages = sum(count.dms.values()) + sum(count.reports.values())  # before the
                # interactions below, whose answers in #general would count too
                if args.until < 20 * 60:  # a part of the day: only duplicates can be told
                    missing = None
                rss_day = [await bot.rss_kb() / 1024 for bot in bots]
                data = settings_command(emulator)
                gate = asyncio.Semaphore(64)

                async def one(index: int) -> bool:
                    async with gate:
                        return await interact(emulator, offices[index % len(offices)], data)

                started = time.perf_counter()
                answered = await asyncio.gather(*(one(i * 7) for i in range(args.interactions)))
                interactions_s = sum(answered) / (time.perf_counter() - started)
            finally:
                for bot in bots:
                    await bot.stop()
    return {
        "processes": processes,
        "shard_count": shard_count,
        "guilds": guilds,
        "members": members,
        "setup_s": round(setup_s, 2),
        "launch_to_ready_s": round(all_ready_s, 2),
        "ready_stages_s": {name: round(at, 2) for name, at in stages.items()},
        "rss_ready_mb": [round(x, 1) for x in rss_ready],
        "rss_after_day_mb": [round(x, 1) for x in rss_day],
        "first_pass_s": round(max(r["seconds"] for r in first), 3),
        "idle_pass": benchlib.latency_summary(idle),
        "idle_samples": len(idle),
        "due_100_pass": benchlib.latency_summary(due_100),
        "due_100_samples": len(due_100),
        "busiest_pass_s": round(max(busiest), 2) if busiest else 0.0,
        "day_s": round(day_s, 1),
        "messages": messages,
        "duplicates": duplicates,
        "missing": missing,
        "interactions_per_s": round(interactions_s, 1),
        "interactions_answered": f"{sum(answered)}/{len(answered)}",
    }


def warm_bytecode(cache: Path) -> None:
    """Compile what a shard process imports into ``cache`` once, before anything is timed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    subprocess.run(
        [sys.executable, "-c", "import concord.bot, concord.db.postgres, concord.sandbox.shards"],
        env=env,
        check=True,
    )


@contextlib.contextmanager
def databases(backend: str) -> Iterator[Callable[[Path], Path | str]]:
    """A new empty database for each run: a SQLite file in the run's temp dir, or a database on
    one throwaway PostgreSQL server (stopped and removed when done)."""
    if backend == "sqlite":
        yield lambda tmp: tmp / "concord.db"
        return
    sys.path.insert(0, ROOT)
    from tests.pg_server import ThrowawayPostgres

    with ThrowawayPostgres(durable=True) as server:
        print(f"server: PostgreSQL in a temp dir, fsync on, port {server.port}", flush=True)
        yield lambda _tmp: server.create_database("many")


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--guilds", type=int, default=5000)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--interactions", type=int, default=2000)
    parser.add_argument("--idle-passes", type=int, default=20)
    parser.add_argument(
        "--until",
        type=int,
        default=20 * 60,
        help="simulate this many minutes of the day from 05:00 UTC (default: all 20 hours; "
        "less: missing messages are not counted, duplicates are)",
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--rate-limits",
        choices=("relaxed", "discord"),
        default="relaxed",
        help="the emulator's rate limits: relaxed (Discord's headers, limits never reached: the "
        "scheduler's and the processes' own cost) or discord (its 50 requests/s global limit is "
        "per bot, shared by every process: 100 guilds due then take >= 2 s on any count)",
    )
    parser.add_argument(
        "--compile-each-start",
        action="store_true",
        help="let every process compile the modules again where PYTHONDONTWRITEBYTECODE is set "
        "(default: a bytecode cache for the run, warmed first, as an installed bot has)",
    )
    args = parser.parse_args(argv)
    name = "SQLite (WAL)" if args.backend == "sqlite" else "PostgreSQL (throwaway server)"
    benchlib.header(
        f"many guilds: {args.guilds} guilds x {args.members} members, {name}, "
        f"{args.rate_limits} rate limits"
    )
    runs = []
    with (
        tempfile.TemporaryDirectory(prefix="concord-pyc-") as pyc,
        databases(args.backend) as new_database,
    ):
        args.bytecode_cache = None
        if not args.compile_each_start:
            args.bytecode_cache = Path(pyc)
            warm_bytecode(args.bytecode_cache)
        for processes in [int(p) for p in args.processes.split(",")]:
            load_before = benchlib.load()
            print(f"-- {processes} process(es), load {load_before}", flush=True)
            result = await run(args.guilds, args.members, processes, args, new_database)
            result["load_before"] = load_before
            result["load_after"] = benchlib.load()
            runs.append(result)
            print(result, flush=True)
    rows = [
        [
            r["processes"],
            r["launch_to_ready_s"],
            " ".join(f"{x:.0f}" for x in r["rss_ready_mb"]),
            r["idle_pass"]["p50_ms"],
            r["idle_pass"]["p99_ms"],
            r["due_100_pass"]["p50_ms"],
            r["due_100_pass"]["p99_ms"],
            r["first_pass_s"],
            r["day_s"],
            r["duplicates"],
            r["missing"],
            r["interactions_per_s"],
            f"{r['load_before'][0]}-{r['load_after'][0]}",
        ]
        for r in runs
    ]
    print(
        benchlib.table(
            [
                "procs",
                "ready s",
                "RSS MB each",
                "idle p50 ms",
                "idle p99 ms",
                "100 due p50 ms",
                "100 due p99 ms",
                "1st pass s",
                "day s",
                "dup",
                "missing",
                "interactions/s",
                "load",
            ],
            rows,
        )
    )
    targets = benchlib.Targets()
    idle_p99 = max(r["idle_pass"]["p99_ms"] for r in runs)
    targets.below(f"idle scheduler pass p99 at {args.guilds} guilds", idle_p99, 20, " ms")
    targets.below("duplicate messages in the day", sum(r["duplicates"] for r in runs), 1)
    if all(r["missing"] is not None for r in runs):
        targets.below("missing messages in the day", sum(r["missing"] for r in runs), 1)
    four = [r for r in runs if r["processes"] == 4]
    if four:
        targets.below("start-up of 4 processes", four[0]["launch_to_ready_s"], 10, " s")
    targets.report()
    benchlib.emit("many_guilds", {"database": args.backend, "runs": runs}, targets)
    return 0 if targets.met else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
