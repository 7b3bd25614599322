"""Calendar feed and wall chart benchmarks (``concord web``).

An office of 100 members with two years of leave (up to 2,400 requests: full days, half days, hours
off, working from home; three in four approved) and 40 holidays, written through the real
managers; then ``concord web``'s app (Flask's test client, no sockets) serves, one request at a
time:

1. the office feed as a manager sees it (every request, types and reasons), built (a fresh app
   each time, nothing kept), and again from the same app (the bytes kept by version tag);
2. the same feed to a client that already has it (``If-None-Match``): a 304;
3. the wall chart of a month for the office.

Usage: python bench/bench_feeds.py [rounds]

Targets (MET/MISSED lines): built feed p95 < 2 s; again < 50 ms; 304 p95 < 20 ms; chart p95
< 200 ms.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import benchlib

from concord.clock import ManualClock
from concord.core.actor import Actor
from concord.core.leave import Portion
from concord.db.database import Database
from concord.db.leave import LeaveManager
from concord.db.leave.feeds import FeedKind, FeedManager
from concord.errors import UserError
from concord.web.app import create_app
from concord.web.ratelimit import RateLimiter
from concord.web.store import ReadOnlyStore

GUILD = 1
MEMBERS = 100
PER_MEMBER = 24
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
MANAGER = Actor(1, is_manager=True, can_approve_leave=True)
PORTIONS = (Portion.FULL_DAY, Portion.HALF_DAY_AM, Portion.HALF_DAY_PM, Portion.FULL_DAY)


async def seed(path: Path) -> str:
    db = await Database.open(path)
    try:
        leave, feeds = LeaveManager(db), FeedManager(db)
        await feeds.store_names(
            GUILD, [(100 + n, f"Member {n:03d}") for n in range(MEMBERS)], now=NOW
        )
        for week in range(40):
            day = date(2026, 1, 5) + timedelta(weeks=week)
            await leave.add_holiday(GUILD, day, f"Holiday {week}", actor=MANAGER, now=NOW)
        first = date(2026, 1, 1)
        for n in range(MEMBERS):
            user = 100 + n
            for i in range(PER_MEMBER):
                start = first + timedelta(days=(n * 7 + i * 29) % 700)
                while start.weekday() >= 5:
                    start += timedelta(days=1)
                # The bot's clock may not be 30 days past the start: apply as of that day.
                when = datetime.combine(start, datetime.min.time(), UTC) - timedelta(days=1)
                try:
                    result = await leave.apply(
                        GUILD,
                        actor=Actor(user),
                        user_id=user,
                        leave_type="Work from home" if i % 6 == 5 else "Unpaid",
                        start=start,
                        portion=PORTIONS[i % 4],
                        reason=f"reason {i}",
                        now=when,
                    )
                except UserError:  # a holiday, or overlapping the member's own leave: skip
                    continue
                if result.needs_approval and i % 4:
                    await leave.approve(GUILD, result.request.id, actor=MANAGER, now=when)
        issued = await feeds.issue(GUILD, MANAGER, FeedKind.OFFICE, None, now=NOW)
        assert issued.token
        return issued.token
    finally:
        await db.close()


def timed(call: object, rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "concord.db"
        started = time.perf_counter()
        token = asyncio.run(seed(path))
        benchlib.header(f"seeded in {time.perf_counter() - started:.1f} s")
        app = create_app(
            ReadOnlyStore(path), clock=ManualClock(NOW), limiter=RateLimiter(1_000_000)
        )
        web = app.test_client()
        first = web.get(f"/feed/{token}.ics")
        assert first.status_code == 200
        etag = first.headers["ETag"]
        size = len(first.data)
        events = first.data.count(b"BEGIN:VEVENT")

        def built() -> float:
            fresh = create_app(  # a new app: nothing kept from an earlier request
                ReadOnlyStore(path), clock=ManualClock(NOW), limiter=RateLimiter(1_000_000)
            ).test_client()
            started = time.perf_counter()
            assert fresh.get(f"/feed/{token}.ics").status_code == 200
            return time.perf_counter() - started

        def full() -> None:
            assert web.get(f"/feed/{token}.ics").status_code == 200

        def cached() -> None:
            assert web.get(f"/feed/{token}.ics", headers={"If-None-Match": etag}).status_code == 304

        def chart() -> None:
            assert web.get(f"/chart/{token}?month=2026-12").status_code == 200

        figures = {
            "feed_built": benchlib.latency_summary([built() for _ in range(max(3, rounds // 3))]),
            "feed": benchlib.latency_summary(timed(full, rounds)),
            "not_modified": benchlib.latency_summary(timed(cached, rounds)),
            "chart": benchlib.latency_summary(timed(chart, rounds)),
        }
    print(f"office feed: {events} events, {size / 1024:.0f} KiB")
    rows = [[name, f"{f['p50_ms']:.1f}", f"{f['p95_ms']:.1f}"] for name, f in figures.items()]
    print(benchlib.table(["request", "p50 ms", "p95 ms"], rows))
    targets = benchlib.Targets()
    targets.below("office feed built p95", figures["feed_built"]["p95_ms"], 2000, "ms")
    targets.below("office feed again p95", figures["feed"]["p95_ms"], 50, "ms")
    targets.below("304 p95", figures["not_modified"]["p95_ms"], 20, "ms")
    targets.below("wall chart p95", figures["chart"]["p95_ms"], 200, "ms")
    targets.report()
    benchlib.emit("feeds", {"events": events, "bytes": size, "rounds": rounds, **figures}, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
