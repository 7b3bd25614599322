"""Throughput of apply + approve through LeaveManager: N concurrent callers on one SQLite file.

Each caller is a member who files one-day Annual requests on distinct working days and has
each approved by a manager right away, ``rounds`` times. Every request runs the full rules
(holidays, overlaps, balance over the years it touches, audit) in one transaction, and every
approval re-checks the balance and writes its debit in another.

    .venv/bin/python bench/bench_leave.py [--callers 100] [--rounds 10]

Targets (MET/MISSED lines): no errors; a pair's p95 latency < 500 ms at 100 callers.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import benchlib

from concord.core.actor import Actor
from concord.db.database import Database
from concord.db.leave import LeaveManager

GUILD = 1
MANAGER = 1_000_000
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TARGET_P95_MS = 500.0


def working_days(start: date, count: int) -> list[date]:
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


async def caller(
    leave: LeaveManager, user_id: int, days: list[date], latencies: list[float]
) -> int:
    errors = 0
    for day in days:
        began = time.perf_counter()
        try:
            result = await leave.apply(
                GUILD,
                actor=Actor(user_id, False),
                user_id=user_id,
                leave_type="Annual",
                start=day,
                now=NOW,
            )
            await leave.approve(GUILD, result.request.id, actor=Actor(MANAGER, True), now=NOW)
        except Exception as error:  # counted and reported, the run goes on
            errors += 1
            print(f"error for member {user_id} on {day}: {error}")
        latencies.append(time.perf_counter() - began)
    return errors


async def main(callers: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "bench.db")
        try:
            leave = LeaveManager(db)
            await leave.types(GUILD, now=NOW)  # the default types, created once up front
            days = working_days(date(2027, 1, 4), rounds)
            latencies: list[float] = []
            began = time.perf_counter()
            errors = await asyncio.gather(
                *(caller(leave, 1000 + n, days, latencies) for n in range(callers))
            )
            elapsed = time.perf_counter() - began
        finally:
            await db.close()
    pairs = callers * rounds
    summary = benchlib.latency_summary(latencies)
    benchlib.header(
        f"Leave apply+approve: {callers} concurrent callers x {rounds} rounds, one file"
    )
    print(
        benchlib.table(
            ["pairs", "seconds", "pairs/s", "write tx/s", "p50 ms", "p95 ms", "p99 ms", "errors"],
            [
                [
                    pairs,
                    round(elapsed, 2),
                    round(pairs / elapsed, 1),
                    round(2 * pairs / elapsed, 1),
                    summary["p50_ms"],
                    summary["p95_ms"],
                    summary["p99_ms"],
                    sum(errors),
                ]
            ],
        )
    )
    targets = benchlib.Targets()
    targets.below("errors", sum(errors), 1)
    targets.below(f"pair p95 at {callers} callers", summary["p95_ms"], TARGET_P95_MS, " ms")
    targets.report()
    benchlib.emit(
        "leave",
        {
            "callers": callers,
            "rounds": rounds,
            "pairs_per_s": round(pairs / elapsed, 1),
            "pair": summary,
            "errors": sum(errors),
        },
        targets,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.callers, arguments.rounds))
