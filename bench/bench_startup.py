"""Start-up and memory: the bot's process against a guild of 5,000 members in the emulator,
against a guild of 10 in the same run.

    .venv/bin/python bench/bench_startup.py [--members 5000] [--baseline-members 10]
                                            [--starts 3] [--guild-ready-timeout S]

Each start is a fresh bot process (bench/botproc.py) connecting to the emulator in this
process, so its memory is its own. Per guild size, a first start on a fresh database (the
migrations, the command sync, compiling the modules; shown apart), then ``--starts`` restarts
on that database with the compiled modules cached, as a restart or a deploy does; figures
are their median:
- launch to ready: from starting the process (interpreter, imports of discord.py and the
  cogs) to discord.py's ``on_ready``; the target applies to this;
- open to ready: from opening the database (migrations, login, command sync, IDENTIFY, READY,
  GUILD_CREATE, member chunks, guild_ready_timeout) to ``on_ready``: what a restart costs
  beyond the imports;
- RSS after ready: the bot process's VmRSS when ``on_ready`` has run, and whether every
  member is in its cache.
The bot runs with its production settings (``ConcordBot`` defaults), unless
``--guild-ready-timeout`` is given. Targets: < 1.5 s to ready and < 150 MB after ready at
5,000 members.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import benchlib
from botproc import BotProcess

from concord.sandbox.driver import Sandbox

TARGET_READY_S = 1.5
TARGET_RSS_MB = 150.0


def office_with(directory: Path, members: int) -> Sandbox:
    """The emulator with the standard office grown to ``members`` people (the bot not started)."""
    sandbox = Sandbox(directory)
    world, guild = sandbox.emulator.world, sandbox.guild
    staff = [sandbox.role("Staff")]
    for number in range(members - len(sandbox.office.users)):
        user = world.add_user(f"member{number:05d}", f"Member {number:05d}")
        world.add_member(guild, user, staff)
    return sandbox


async def one_start(
    sandbox: Sandbox, db: Path, guild_ready_timeout: float | None
) -> dict[str, Any]:
    """One bot process from launch to ready, then stopped; its figures and any errors."""
    requests_before = len(sandbox.emulator.requests)
    bot = await BotProcess.start(
        api_base=sandbox.emulator.api_base,
        gateway_url=sandbox.emulator.gateway_url,
        token=sandbox.emulator.token,
        db=db,
        guild_ready_timeout=guild_ready_timeout,
        bytecode_cache=db.parent / "pycache",
    )
    try:
        stopped = await bot.stop()
    finally:
        await bot.kill()
    problems = [r.describe() for r in sandbox.emulator.requests[requests_before:] if r.problem]
    return {**bot.ready, "errors": stopped.get("errors", []) + problems}


async def starts_for(
    directory: Path, members: int, starts: int, guild_ready_timeout: float | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first start on a fresh database (migrations, command sync), then ``starts``
    restarts on it: what a restart or a deploy costs."""
    sandbox = office_with(directory, members)
    await sandbox.emulator.start()
    try:
        db = directory / "concord.db"
        first = await one_start(sandbox, db, guild_ready_timeout)
        restarts = [await one_start(sandbox, db, guild_ready_timeout) for _ in range(starts)]
    finally:
        await sandbox.emulator.stop()
    return first, restarts


def median(starts: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(s[key]) for s in starts)


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--baseline-members", type=int, default=10)
    parser.add_argument("--starts", type=int, default=3, help="starts per size (median)")
    parser.add_argument("--guild-ready-timeout", type=float, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    benchlib.header(
        f"Start-up: a guild of {args.members:,} members vs {args.baseline_members}, "
        f"{args.starts} fresh bot processes each"
    )
    results: dict[int, list[dict[str, Any]]] = {}
    firsts: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as tmp:
        for size in (args.baseline_members, args.members):
            (Path(tmp) / str(size)).mkdir()
            first, restarts = await starts_for(
                Path(tmp) / str(size), size, args.starts, args.guild_ready_timeout
            )
            firsts[size] = first
            results[size] = restarts
    rows = []
    summary: dict[str, Any] = {}
    for size, starts in results.items():
        figures = {
            "launch_to_ready_s": round(median(starts, "launch_to_ready_s"), 3),
            "imports_s": round(median(starts, "imports_s"), 3),
            "open_to_ready_s": round(median(starts, "open_to_ready_s"), 3),
            "rss_mb": round(median(starts, "rss_mb"), 1),
            "members_cached": min(int(s["members_cached"]) for s in starts),
            "member_count": int(starts[0]["member_count"]),
            "errors": sum(len(s["errors"]) for s in [*starts, firsts[size]]),
            "first_start_s": round(float(firsts[size]["launch_to_ready_s"]), 3),
            "phases_s": {
                phase: round(statistics.median(float(s["phases_s"][phase]) for s in starts), 3)
                for phase in starts[0]["phases_s"]
            },
        }
        summary[str(size)] = figures
        rows.append(
            [
                f"{size:,} members",
                figures["launch_to_ready_s"],
                figures["imports_s"],
                figures["open_to_ready_s"],
                figures["rss_mb"],
                f"{figures['members_cached']:,}/{figures['member_count']:,}",
                figures["first_start_s"],
                figures["errors"],
            ]
        )
        for start in [firsts[size], *starts]:
            for line in start["errors"][:3]:
                print(f"  error ({size} members): {line}")
    base, big = summary[str(args.baseline_members)], summary[str(args.members)]
    print(
        benchlib.table(
            [
                "guild",
                "launch->ready s",
                "imports s",
                "open->ready s",
                "RSS MB",
                "cached",
                "first start s",
                "errors",
            ],
            rows,
        )
    )
    ratios = {
        "launch_to_ready": benchlib.ratio(big["launch_to_ready_s"], base["launch_to_ready_s"]),
        "open_to_ready": benchlib.ratio(big["open_to_ready_s"], base["open_to_ready_s"]),
        "rss": benchlib.ratio(big["rss_mb"], base["rss_mb"]),
    }
    phases = ", ".join(f"{k} {v:.3f} s" for k, v in big["phases_s"].items())
    print(f"open->ready at {args.members:,} members: {phases}")
    print(
        f"{args.members:,} vs {args.baseline_members} members: launch->ready "
        f"x{ratios['launch_to_ready']}, open->ready x{ratios['open_to_ready']}, "
        f"RSS x{ratios['rss']}"
    )
    targets = benchlib.Targets()
    targets.below(
        f"launch to ready, {args.members:,} members", big["launch_to_ready_s"], TARGET_READY_S, " s"
    )
    targets.below("RSS after ready", big["rss_mb"], TARGET_RSS_MB, " MB")
    targets.at_least("members cached", big["members_cached"], big["member_count"])
    targets.below("errors", big["errors"] + base["errors"], 1)
    targets.report()
    benchlib.emit(
        "startup",
        {
            "members": args.members,
            "baseline_members": args.baseline_members,
            "starts": args.starts,
            "results": summary,
            "ratio": ratios,
        },
        targets,
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
