"""DAR at scale: a 500-member office with a year of history.

Seeds one SQLite file with ≈125k daily reports (each member files on ~99 % of 2026's working
days, a tenth of them with blockers), 20k tasks (completed through the year, a few hundred still
overdue) and 5k approved leave requests, then times, through the real DarManager (reading leave
and tasks through LeaveManager and TaskManager):

- the day's summary: gathering its data and composing the paged messages;
- the morning digest: gathering and composing the single message;
- a year's stats (per-day points, streaks and rates) and its chart;
- exporting the whole year as CSV and as XLSX (streamed in chunks to a writer thread).

Peak memory: the process's maximum resident set size at the end, and the peak of Python
allocations (tracemalloc) during a second export of each format to a file on disk.

    .venv/bin/python bench/bench_dar.py [--members 500] [--tasks 20000] [--leave 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sqlite3
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TypeVar
from zoneinfo import ZoneInfo

from concord.charts import render_dar_chart
from concord.core.dar import Member, compose_digest, compose_summary
from concord.core.embed_pages import MESSAGE_EMBED_CHARS
from concord.db.dar import DarManager
from concord.db.database import Database
from concord.db.guilds import GuildSettings
from concord.db.leave import LeaveManager
from concord.db.tasks import TaskManager

T = TypeVar("T")
GUILD = 1
STAFF_ROLE = 77
MANAGER = 1_000
FIRST_MEMBER = 10_000
ZONE = ZoneInfo("Europe/London")
YEAR_START = date(2026, 1, 1)
YEAR_END = date(2026, 12, 31)
SUMMARY_DAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
DONE = (
    "Closed the month-end reconciliation for the Leeds office\n"
    "Reviewed two supplier contracts with legal\n"
    "Answered the printer tickets from the second floor"
)
PLAN = "Finish the quarterly forecast\nPrepare the Monday onboarding pack"
BLOCKER = "Waiting for finance to confirm the new cost centres before the forecast can close"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def workdays(start: date, end: date) -> list[date]:
    return [
        start + timedelta(days=k)
        for k in range((end - start).days + 1)
        if (start + timedelta(days=k)).weekday() < 5
    ]


def seed(conn: sqlite3.Connection, members: int, tasks: int, leave: int) -> dict[str, int]:
    """Everything in one transaction (the caller's db.write), with executemany."""
    rng = random.Random(2026)
    days = workdays(YEAR_START, YEAR_END)
    people = [FIRST_MEMBER + k for k in range(members)]
    conn.execute(
        "INSERT INTO guild_settings (guild_id, staff_role_id, manager_role_id, timezone,"
        " reports_channel_id, approvals_channel_id) VALUES (?, ?, ?, 'Europe/London', 5, 6)",
        (GUILD, STAFF_ROLE, 99),
    )
    # Leave: one type, approved 1–3 day requests spread over the year (no overlaps per member).
    conn.execute(
        "INSERT INTO leave_types (guild_id, name, allowance, since_year, created_at, updated_at)"
        " VALUES (?, 'Annual', '25', 2026, ?, ?)",
        (GUILD, iso(NOW), iso(NOW)),
    )
    type_id = conn.execute("SELECT id FROM leave_types WHERE guild_id = ?", (GUILD,)).fetchone()[0]
    away: set[tuple[int, date]] = set()
    request_rows = []
    day_rows = []
    request_id = 0
    while request_id < leave:
        user = rng.choice(people)
        start_index = rng.randrange(len(days) - 3)
        span = days[start_index : start_index + rng.choice((1, 1, 2, 3))]
        if any((user, d) in away for d in span):
            continue
        request_id += 1
        away.update((user, d) for d in span)
        created = datetime.combine(span[0] - timedelta(days=14), datetime.min.time(), UTC)
        status = "pending" if span[0] > SUMMARY_DAY and request_id % 10 == 0 else "approved"
        request_rows.append(
            (
                request_id,
                GUILD,
                user,
                type_id,
                span[0].isoformat(),
                span[-1].isoformat(),
                str(len(span)),
                status,
                user,
                iso(created),
            )
        )
        day_rows += [(request_id, d.isoformat(), "1") for d in span]
    conn.executemany(
        "INSERT INTO leave_requests (id, guild_id, user_id, type_id, type_name, start_date,"
        " end_date, portion, amount, deducts, status, filed_by, created_at)"
        " VALUES (?, ?, ?, ?, 'Annual', ?, ?, 'full_day', ?, 1, ?, ?, ?)",
        request_rows,
    )
    conn.executemany(
        "INSERT INTO leave_request_days (request_id, day, amount) VALUES (?, ?, ?)", day_rows
    )
    # Reports: ~99 % of expected days, filed in the afternoon (some after the 19:00 summary).
    report_rows = []
    for day in days:
        for user in people:
            if (user, day) in away or rng.random() < 0.01:
                continue
            hour = rng.choice((15, 16, 17, 18, 18, 20))
            submitted = datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=ZONE)
            # Real reports differ from each other (and so from the spreadsheet's string table).
            ref = f"\nRef {user}-{day:%j}"
            report_rows.append(
                (
                    GUILD,
                    user,
                    day.isoformat(),
                    DONE + ref,
                    PLAN + ref,
                    BLOCKER + ref if rng.random() < 0.1 else None,
                    rng.choice((420, 450, 480, None)),
                    int(hour >= 19),
                    iso(submitted),
                    iso(submitted),
                )
            )
    conn.executemany(
        "INSERT INTO dar_reports (guild_id, user_id, day, done, plan, blockers, minutes, late,"
        " submitted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        report_rows,
    )
    # Tasks: completed through the year, plus a few hundred live ones past their due date.
    task_rows = []
    for number in range(tasks):
        user = rng.choice(people)
        overdue = number % 60 == 0
        due = rng.choice(days)
        if overdue:
            due = SUMMARY_DAY - timedelta(days=rng.randrange(1, 20))
        completed = None
        if not overdue:
            completed = datetime(due.year, due.month, due.day, rng.randrange(8, 18), tzinfo=ZONE)
        created = iso(datetime.combine(due - timedelta(days=7), datetime.min.time(), UTC))
        task_rows.append(
            (
                GUILD,
                f"Task {number}: follow up the supplier order",
                MANAGER,
                user,
                "open" if overdue else "done",
                due.isoformat(),
                created,
                created,
                iso(completed) if completed else None,
            )
        )
    conn.executemany(
        "INSERT INTO tasks (guild_id, title, creator_id, assignee_id, status, due_date,"
        " created_at, updated_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        task_rows,
    )
    return {
        "reports": len(report_rows),
        "tasks": len(task_rows),
        "leave requests": len(request_rows),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def timed(label: str, make: Callable[[], Awaitable[T]], repeat: int = 3) -> T:
    best = float("inf")
    result: T | None = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await make()
        best = min(best, time.perf_counter() - started)
    print(f"  {label:<44} {best * 1000:9.1f} ms (best of {repeat})")
    assert result is not None
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--leave", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        db = await Database.open(Path(directory) / "bench.db")
        started = time.perf_counter()
        counts = await db.write(seed, args.members, args.tasks, args.leave)
        print(
            f"seeded {args.members} members: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            + f" in {time.perf_counter() - started:.1f} s"
        )
        settings = GuildSettings(db)
        dar = DarManager(db, settings, LeaveManager(db), TaskManager(db))
        members = [
            Member(FIRST_MEMBER + k, f"Member {k:03d}", frozenset({STAFF_ROLE}))
            for k in range(args.members)
        ]

        async def summary() -> list[object]:
            data = await dar.summary(GUILD, SUMMARY_DAY, members, NOW)
            return list(compose_summary(data))

        async def digest() -> object:
            data = await dar.digest(GUILD, SUMMARY_DAY + timedelta(days=1), members, NOW)
            return compose_digest(data)

        print("timings:")
        pages = await timed("summary (data + compose)", summary)
        message = await timed("digest (data + compose)", digest)
        stats = await timed(
            "stats for the year (points, streaks, rates)",
            lambda: dar.stats(GUILD, YEAR_START, YEAR_END, members, SUMMARY_DAY),
            repeat=1,
        )
        await timed(
            "chart of the year (PNG, worker thread)",
            lambda: asyncio.to_thread(render_dar_chart, stats.points, "A year"),
            repeat=1,
        )
        names = {m.user_id: m.name for m in members}
        sizes: dict[str, int] = {}
        rows = 0
        print(f"  {'(peak RSS before the exports)':<44} {peak_rss_mb():9.0f} MB")
        for fmt in ("csv", "xlsx"):
            # To a file on disk, as the cog's spooled file does past 8 MB.
            with tempfile.TemporaryFile() as out:

                async def export(fmt: str = fmt, out: IO[bytes] = out) -> int:
                    out.seek(0)
                    out.truncate()
                    return await dar.export(GUILD, YEAR_START, YEAR_END, fmt, out, names)

                rows = await timed(f"export the year as {fmt.upper()}", export, repeat=1)
                sizes[fmt] = out.tell()
            print(f"  {'(peak RSS after it)':<44} {peak_rss_mb():9.0f} MB")
        # What a streamed export keeps in memory (XLSX is not traced: tracemalloc makes it
        # minutes long; the RSS printed after each export shows it instead).
        peaks: dict[str, int] = {}
        for fmt in ("csv",):
            with tempfile.TemporaryFile() as sink:
                tracemalloc.start()
                await dar.export(GUILD, YEAR_START, YEAR_END, fmt, sink, names)
                peaks[fmt] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
        await db.close()
    print("output:")
    print(f"  summary: {len(pages)} messages, largest {max(p.size for p in pages)} characters")  # type: ignore[attr-defined]
    print(f"  digest: 1 message, {message.size} of {MESSAGE_EMBED_CHARS} characters")  # type: ignore[attr-defined]
    print(
        f"  export: {rows:,} rows; CSV {sizes['csv'] / 1_048_576:.1f} MB,"
        f" XLSX {sizes['xlsx'] / 1_048_576:.1f} MB"
    )
    print("memory:")
    for fmt, peak in peaks.items():
        print(
            f"  peak Python allocations exporting the year as {fmt.upper()}: {peak / 1_048_576:.1f} MB"
        )
    print(f"  peak resident set size of the process: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    asyncio.run(main())
