"""PostgreSQL write lock: one global advisory lock against one per guild, on the real managers.

``python bench/bench_pg_lock.py [--guilds 10] [--transactions 600] [--callers 100]``

A durable throwaway server (fsync on, tests/pg_server.py). Each round creates ``--transactions``
tasks (``TaskManager.create``: guild settings read, the task, its first history event and the
audit row, in one write transaction) from ``--callers`` concurrent callers spread over
``--guilds`` guilds, once with the shipped global lock (``pg_advisory_xact_lock(WRITE_LOCK)``)
and once with the lock per guild (``lock_per_guild=True``, the default: the guild's lock plus
the database lock shared), on the same pool (4 writer threads). Rounds interleave the two so load on the shared machine hits both.
Prints the median and best tasks/s of each, the p99, and the errors (there must be none).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.pg_server

import benchlib

from concord.core.tasks import Actor, TaskDraft
from concord.db.postgres import PostgresDatabase
from concord.db.tasks import TaskManager
from tests.pg_server import PostgresUnavailable, ThrowawayPostgres

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def round_of(
    per_guild: bool, url: str, guilds: int, total: int, callers: int
) -> tuple[float, list[float], int]:
    db = PostgresDatabase(url, lock_per_guild=per_guild)
    await db.start()
    tasks = TaskManager(db)
    latencies: list[float] = []
    errors = 0
    queue = list(range(total))

    async def caller() -> None:
        nonlocal errors
        while queue:
            n = queue.pop()
            started = time.perf_counter()
            try:
                await tasks.create(
                    1000 + n % guilds, Actor(7, True), TaskDraft(title=f"Task {n}"), NOW
                )
            except Exception:
                errors += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    seconds = time.perf_counter() - started
    await db.close()
    return seconds, latencies, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=10)
    parser.add_argument("--transactions", type=int, default=600)
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    try:
        server = ThrowawayPostgres(durable=True).start()
    except PostgresUnavailable as error:
        print(f"skipped: PostgreSQL unavailable: {error}")
        return 0
    benchlib.header(
        f"PostgreSQL write lock: {args.transactions} task creations, {args.callers} callers, "
        f"{args.guilds} guilds, global lock vs per-guild lock"
    )
    modes: dict[str, bool] = {"global lock": False, "per-guild lock": True}
    rates: dict[str, list[float]] = {name: [] for name in modes}
    p99: dict[str, float] = {}
    errors: dict[str, int] = dict.fromkeys(modes, 0)
    try:
        for _ in range(args.rounds):
            for name, per_guild in modes.items():
                url = server.create_database("lock")
                seconds, latencies, failed = asyncio.run(
                    round_of(per_guild, url, args.guilds, args.transactions, args.callers)
                )
                rate = args.transactions / seconds
                if not rates[name] or rate > max(rates[name]):
                    p99[name] = benchlib.latency_summary(latencies)["p99_ms"]
                rates[name].append(rate)
                errors[name] += failed
    finally:
        server.stop()
    rows = [
        [
            name,
            f"{statistics.median(rates[name]):,.0f}",
            f"{max(rates[name]):,.0f}",
            f"{p99[name]:.0f}",
            str(errors[name]),
        ]
        for name in modes
    ]
    print(
        benchlib.table(["lock", "median tasks/s", "best tasks/s", "p99 ms (best)", "errors"], rows)
    )
    targets = benchlib.Targets()
    for name in modes:
        targets.below(f"{name}: errors", errors[name], 0.5)
    targets.report()
    benchlib.emit(
        "pg_lock",
        {
            name: {
                "median_tx_per_s": round(statistics.median(rates[name]), 1),
                "best_tx_per_s": round(max(rates[name]), 1),
                "p99_ms": p99[name],
                "errors": errors[name],
            }
            for name in modes
        },
        targets,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
