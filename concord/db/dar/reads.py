"""DAR's long synchronous reads, run on a worker thread by ``db.read_in_thread``: the stats
tally and the export job.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO
from zoneinfo import ZoneInfo

from concord.core.dar import (
    DayOff,
    DayPoint,
    Member,
    MemberStats,
    describe_day_off,
    member_stats,
    staff_members,
)
from concord.db.dar.records import Period, Stats, days_between
from concord.db.dar_export import CsvSink, ExportRow, LocalTime, csv_fields, open_sink

log: logging.Logger = logging.getLogger(__name__)

# Rows handed to the file writer thread at a time while exporting.
EXPORT_CHUNK = 2000


@dataclass(frozen=True)
class Window:
    """The stats range [start, end], today, and the wider span read for streaks."""

    start: date
    end: date
    today: date
    first: date
    last: date
    # The guild's first report: days before it were before the DAR was in use and count for
    # nobody (None: no report yet, nothing counts).
    since: date | None
    # Whether today is counted yet (after its summary time): the chart and the text agree.
    today_counts: bool = True


def tally_stats(
    window: Window,
    period: Period,
    people: Sequence[Member],
    filed: Mapping[int, Mapping[date, bool]],
    filed_per_day: Mapping[date, int],
    completed_per_day: Mapping[date, int],
) -> Stats:
    """Per-day points and per-member streaks and rates from data already read."""
    expected_days: dict[int, list[date]] = {m.user_id: [] for m in people}
    expected_per_day: dict[date, int] = {}
    # Who period.roster(day, people) expects, without building a year of rosters (500
    # members x 365 days of entries took most of the stats' time): staff who had joined, on
    # a workday that is not a holiday, minus those away the whole day.
    config = period.config
    staff = staff_members(people, config.staff_role_id)
    for day in days_between(window.first, window.last):
        if window.since is None or day < window.since:
            continue
        if day.weekday() not in config.workdays or day in period.holidays:
            expected_per_day[day] = 0
            continue
        by_member: dict[int, list[DayOff]] = {}
        for off in period.days_off.get(day, ()):
            if off.day == day:
                by_member.setdefault(off.user_id, []).append(off)
        away = {uid for uid, offs in by_member.items() if describe_day_off(offs)[0]}
        count = 0
        for member in staff:
            if member.user_id in away or (member.joined is not None and member.joined > day):
                continue
            expected_days[member.user_id].append(day)
            count += 1
        expected_per_day[day] = count

    def counted(day: date) -> bool:
        return day != window.today or window.today_counts

    points = tuple(
        DayPoint(
            day=d,
            expected=expected_per_day.get(d, 0) if counted(d) else 0,
            filed=filed_per_day.get(d, 0) if counted(d) else 0,
            tasks_completed=completed_per_day.get(d, 0),
        )
        for d in days_between(window.start, window.end)
    )
    # The rates cover the same days as the points: past ones, and today once it counts.
    last = min(window.end, window.today if window.today_counts else window.today - timedelta(1))
    per_member: list[MemberStats] = []
    for member in sorted(people, key=lambda m: m.name.lower()):
        reports = filed.get(member.user_id, {})
        in_range = [d for d in expected_days[member.user_id] if window.start <= d <= last]
        in_range_reports = {d: v for d, v in reports.items() if window.start <= d <= last}
        rates = member_stats(member.user_id, in_range, in_range_reports, last + timedelta(1))
        streak = member_stats(member.user_id, expected_days[member.user_id], reports, window.today)
        per_member.append(
            MemberStats(
                user_id=member.user_id,
                expected=rates.expected,
                filed=rates.filed,
                on_time=rates.on_time,
                streak=streak.streak,
            )
        )
    return Stats(
        start=window.start,
        end=window.end,
        points=points,
        members=tuple(per_member),
        today_counted=window.today_counts or not window.start <= window.today <= window.end,
    )


def _leave_labels(period: Period) -> dict[tuple[date, int], str]:
    """(day, member) → what the export says about their leave that day."""
    by_member: dict[tuple[date, int], list[DayOff]] = {}
    for day, offs in period.days_off.items():
        for off in offs:
            by_member.setdefault((day, off.user_id), []).append(off)
    return {key: describe_day_off(offs)[1] for key, offs in by_member.items()}


@dataclass(frozen=True)
class _StatsQuery:
    guild_id: int
    window_start: str  # ISO days, the reports' window
    window_end: str
    ids: frozenset[int]  # the members whose streaks and rates are counted
    user_id: int | None  # one member's stats, or everyone's


def _stats_rows(
    conn: sqlite3.Connection, query: _StatsQuery
) -> tuple[dict[int, dict[date, bool]], dict[date, int]]:
    """Reports filed (per member: day -> late; per day: how many), read on a worker thread."""
    # Grouped by SQLite: a row per day and a row per member ("<day><late>" items joined),
    # not 120k rows through Python.
    window = (query.guild_id, query.window_start, query.window_end)
    one = query.user_id
    per_day_sql = (
        "SELECT day, count(*) FROM dar_reports WHERE guild_id = ? AND day BETWEEN ? AND ?"
        " AND (? IS NULL OR user_id = ?) GROUP BY day"
    )
    cursor = conn.cursor()
    cursor.row_factory = None
    days: dict[str, date] = {}
    filed_per_day: dict[date, int] = {}
    for day_text, count in cursor.execute(per_day_sql, (*window, one, one)):
        day = days[day_text] = date.fromisoformat(day_text)
        filed_per_day[day] = count
    filed: dict[int, dict[date, bool]] = {}
    for uid, items in cursor.execute(
        "SELECT user_id, group_concat(day || late) FROM dar_reports"
        " WHERE guild_id = ? AND day BETWEEN ? AND ? GROUP BY user_id",
        window,
    ):
        if uid not in query.ids:
            continue
        filed[uid] = {
            days.get(item[:10]) or date.fromisoformat(item[:10]): item[10:] == "1"
            for item in items.split(",")
        }
    return filed, filed_per_day


@dataclass(frozen=True)
class _Export:
    """One export, run by :meth:`Database.read_in_thread`: the rows streamed from one read
    cursor in chunks into the file's sink, so a year of reports never sits in memory."""

    sql: str
    params: tuple[int | str | None, ...]
    on_leave: Mapping[tuple[date, int], str]
    names: Mapping[int, str]
    zone: ZoneInfo
    fmt: str
    out: IO[bytes]

    def run(self, conn: sqlite3.Connection) -> int:
        sink = open_sink(self.fmt, self.out)
        cursor = conn.cursor()
        cursor.row_factory = None  # plain tuples, in the SELECT's column order
        cursor.execute(self.sql, self.params)
        rows = 0
        if isinstance(sink, CsvSink):
            # Text straight from SQLite's values (no ExportRow, no date objects): CSV is text.
            on_leave = {(day.isoformat(), uid): text for (day, uid), text in self.on_leave.items()}
            local_time = LocalTime(self.zone)
            while chunk := cursor.fetchmany(EXPORT_CHUNK):
                sink.write_fields(csv_fields(chunk, self.names, on_leave, local_time))
                rows += len(chunk)
        else:
            while chunk := cursor.fetchmany(EXPORT_CHUNK):
                sink.write([self.row(*values) for values in chunk])
                rows += len(chunk)
        sink.close()
        return rows

    def row(
        self,
        user_id: int,
        day_text: str,
        done: str,
        plan: str,
        blockers: str | None,
        minutes: int | None,
        submitted_at: str,
        late: int,
    ) -> ExportRow:
        day = date.fromisoformat(day_text)
        return ExportRow(
            day=day,
            member=self.names.get(user_id) or str(user_id),
            done=done,
            plan=plan,
            blockers=blockers or "",
            minutes=minutes,
            submitted_at=datetime.fromisoformat(submitted_at).astimezone(self.zone),
            late=bool(late),
            on_leave=self.on_leave.get((day, user_id), ""),
        )
