"""Benchmark the sandbox harness: the real bot against the local Discord emulator.

    .venv/bin/python bench/bench_sandbox.py [--starts 20] [--commands 500] [--completions 200]

Reports
- startup to ready: from opening a fresh database to discord.py's ``on_ready`` (migrations,
  login, application info, command sync, IDENTIFY, READY, GUILD_CREATE, guild_ready_timeout),
  each on a fresh emulator and database;
- the round trip of slash commands: from the member sending ``/concord settings`` to the
  bot's answer having arrived and the bot being idle again (INTERACTION_CREATE over the
  gateway, the command, the callback POST with its validation), one after another;
- the console's Tab completion of an option Discord suggests values for
  (``/task status task:quar``): an APPLICATION_COMMAND_AUTOCOMPLETE interaction to the bot and
  its choices back, as a member waits for them between two keystrokes.

Targets (MET/MISSED lines): startup to ready median < 2 s; command round trip p99 < 100 ms;
Tab completion p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchlib

from concord.sandbox.driver import Sandbox


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def describe(name: str, seconds: list[float]) -> str:
    ms = [1000 * s for s in seconds]
    return (
        f"{name}: n={len(ms)} median {statistics.median(ms):.1f} ms, "
        f"p99 {percentile(ms, 0.99):.1f} ms, min {min(ms):.1f} ms, max {max(ms):.1f} ms"
    )


async def startups(count: int, directory: Path) -> list[float]:
    """The first start (imports of the cogs, discord.py's first connection) is not counted:
    the figure is what each test after the first pays."""
    found: list[float] = []
    for index in range(-1, count):
        sandbox = Sandbox(directory / f"start-{index}")
        (directory / f"start-{index}").mkdir()
        await sandbox.start()
        try:
            assert sandbox.startup_seconds is not None
            if index >= 0:
                found.append(sandbox.startup_seconds)
        finally:
            await sandbox.stop()
    return found


async def round_trips(count: int, directory: Path) -> tuple[list[float], float]:
    sandbox = Sandbox(directory)
    await sandbox.start()
    try:
        await sandbox.configure_office()
        for _ in range(20):  # warm up caches and connections
            await sandbox.slash("bob", "concord settings")
        found: list[float] = []
        started = time.perf_counter()
        for index in range(count):
            member = ("alice", "bob", "carol", "dave")[index % 4]
            before = time.perf_counter()
            reply = await sandbox.slash(member, "concord settings")
            found.append(time.perf_counter() - before)
            if not reply.embeds:
                raise SystemExit("the bot answered without its settings embed")
        return found, time.perf_counter() - started
    finally:
        await sandbox.stop()


async def completions(count: int, directory: Path) -> list[float]:
    from concord.sandbox.console import Console

    sandbox = Sandbox(directory)
    await sandbox.start()
    try:
        await sandbox.configure_office()
        sandbox.strict = False
        console = Console(sandbox, lambda _line: None)
        for title in ("Print the quarterly report", "Order coffee", "Quarterly review"):
            await console.execute(f'/task create title:"{title}"')
        line = "/task status task:quar"
        found: list[float] = []
        for index in range(-20, count):  # the first 20 warm up
            before = time.perf_counter()
            choices = await console.complete(line, "task:quar")
            if index >= 0:
                found.append(time.perf_counter() - before)
            if len(choices) != 2:
                raise SystemExit(f"the bot suggested {choices}")
        return found
    finally:
        await sandbox.stop()


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument("--completions", type=int, default=200)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    benchlib.header("Sandbox harness: the real bot against the local Discord emulator")
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as tmp:
        directory = Path(tmp)
        ready = await startups(args.starts, directory)
        print(describe("startup to ready", ready))
        trips, total = await round_trips(args.commands, directory / "trips")
        print(describe("slash command round trip (/concord settings)", trips))
        print(f"throughput: {len(trips) / total:.0f} commands/s one at a time")
        tabs = await completions(args.completions, directory / "tabs")
        print(describe("console Tab completion asking the bot (task:)", tabs))
    summaries = {
        "startup": benchlib.latency_summary(ready),
        "round_trip": benchlib.latency_summary(trips),
        "completion": benchlib.latency_summary(tabs),
    }
    print()
    print(
        benchlib.table(
            ["what", "n", "p50 ms", "p99 ms", "max ms"],
            [
                [name, n, f["p50_ms"], f["p99_ms"], f["max_ms"]]
                for (name, f), n in zip(
                    summaries.items(), (len(ready), len(trips), len(tabs)), strict=True
                )
            ],
        )
    )
    targets = benchlib.Targets()
    targets.below("startup to ready, median", summaries["startup"]["p50_ms"], 2000.0, " ms")
    targets.below("command round trip p99", summaries["round_trip"]["p99_ms"], 100.0, " ms")
    targets.below("Tab completion p99", summaries["completion"]["p99_ms"], 100.0, " ms")
    targets.report()
    benchlib.emit(
        "sandbox",
        {**summaries, "commands_per_s": round(len(trips) / total, 1)},
        targets,
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
