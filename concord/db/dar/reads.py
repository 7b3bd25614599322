"""DAR's long synchronous reads, run on a worker thread by ``db.read_in_thread``: the stats
tally and the export job.
"""

from __future__ import annotations

import logging
import sqlite3
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO, Any, cast
from zoneinfo import ZoneInfo

from concord.core.dar import (
    DayOff,
    DayPoint,
    Member,
    describe_day_off,
    sorted_member_stats,
    staff_members,
)
from concord.db.dar.records import Period, Stats, days_between
from concord.db.dar_export import (
    VALUE_COLUMNS,
    CsvSink,
    ExportRow,
    csv_rows_query,
    open_sink,
)
from concord.db.portable import SQLITE, Conn, Params, dialect

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


def _expected(
    window: Window, period: Period, people: Sequence[Member]
) -> tuple[dict[int, Sequence[date]], dict[date, int]]:
    """Who period.roster(day, people) expects on each day of the window, without building a
    year of rosters (500 members x 365 days took most of the stats' time): staff who had
    joined, on a workday that is not a holiday, minus those away the whole day. Returns each
    member's expected days (ascending) and the count per day."""
    config = period.config
    expected_per_day: dict[date, int] = {}
    open_days: list[date] = []  # workdays since the first report, not holidays: ascending
    away_days: dict[int, set[date]] = {}
    for day in days_between(window.first, window.last):
        if window.since is None or day < window.since:
            continue
        if day.weekday() not in config.workdays or day in period.holidays:
            expected_per_day[day] = 0
            continue
        open_days.append(day)
        by_member: dict[int, list[DayOff]] = {}
        for off in period.days_off.get(day, ()):
            if off.day == day:
                by_member.setdefault(off.user_id, []).append(off)
        for uid, offs in by_member.items():
            if describe_day_off(offs)[0]:
                away_days.setdefault(uid, set()).add(day)
    # Per day: how many staff had joined by then (starts counted, then summed), less those
    # away; each member's days: the open days from their joining, less their days away.
    starts = [0] * (len(open_days) + 1)
    less: dict[date, int] = {}
    expected_days: dict[int, Sequence[date]] = {}
    for member in staff_members(people, config.staff_role_id):
        first = 0 if member.joined is None else bisect_left(open_days, member.joined)
        starts[first] += 1
        days: Sequence[date] = open_days[first:]
        away = away_days.get(member.user_id)
        if away:
            days = [d for d in days if d not in away]
            for day in away:
                if member.joined is None or day >= member.joined:
                    less[day] = less.get(day, 0) + 1
        expected_days[member.user_id] = days
    joined = 0
    for index, day in enumerate(open_days):
        joined += starts[index]
        expected_per_day[day] = joined - less.get(day, 0)
    return expected_days, expected_per_day


def tally_stats(
    window: Window,
    period: Period,
    people: Sequence[Member],
    filed: Mapping[int, Mapping[date, bool]],
    filed_per_day: Mapping[date, int],
    completed_per_day: Mapping[date, int],
) -> Stats:
    """Per-day points and per-member streaks and rates from data already read."""
    expected_days, expected_per_day = _expected(window, period, people)

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
    per_member = tuple(
        sorted_member_stats(
            member.user_id,
            expected_days.get(member.user_id, ()),
            filed.get(member.user_id, {}),
            window.start,
            last,
            window.today,
        )
        for member in sorted(people, key=lambda m: m.name.lower())
    )
    return Stats(
        start=window.start,
        end=window.end,
        points=points,
        members=per_member,
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


class _Days(dict[str, date]):
    """ISO day -> one shared date object, parsed on first sight."""

    def __missing__(self, text: str) -> date:
        day = self[text] = date.fromisoformat(text)
        return day


def _lateness(days: Iterable[date], late: bool) -> dict[date, bool]:
    return dict.fromkeys(days, late)


def plain_rows(conn: Conn, sql: str, params: Params) -> Any:
    """The rows of ``sql`` (iterable, ``fetchmany``), each unpacking to its columns in the
    SELECT's order: plain tuples on SQLite (a year's 120k ``sqlite3.Row`` objects cost more
    than the query), rows that unpack the same way on PostgreSQL."""
    if isinstance(conn, sqlite3.Connection):
        cursor = conn.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, params)
    return conn.execute(sql, params)


def _stats_rows(
    conn: Conn, query: _StatsQuery
) -> tuple[dict[int, dict[date, bool]], dict[date, int]]:
    """Reports filed (per member: day -> late; per day: how many), read on a worker thread."""
    # Grouped by SQLite: a row per day and a row per member (its days joined), not 120k rows
    # through Python.
    window = (query.guild_id, query.window_start, query.window_end)
    one = query.user_id
    per_day_sql = (
        "SELECT day, count(*) FROM dar_reports WHERE guild_id = ? AND day BETWEEN ? AND ?"
        " AND (CAST(? AS BIGINT) IS NULL OR user_id = ?) GROUP BY day"
    )
    days = _Days()
    filed_per_day: dict[date, int] = {}
    for day_text, count in plain_rows(conn, per_day_sql, (*window, one, one)):
        filed_per_day[days[day_text]] = count
    # Every day filed, then the late ones among them: the items map straight to shared date
    # objects, with no per-item slicing (dar_reports_member_day answers it from the index).
    filed: dict[int, dict[date, bool]] = {}
    joined = "group_concat({})" if dialect(conn) == SQLITE else "string_agg({}, ',')"
    for uid, all_days, late_days in plain_rows(
        conn,
        f"SELECT user_id, {joined.format('day')},"  # noqa: S608 (a function name)
        f" {joined.format('CASE WHEN late <> 0 THEN day END')}"
        " FROM dar_reports WHERE guild_id = ? AND day BETWEEN ? AND ?"
        " AND (CAST(? AS BIGINT) IS NULL OR user_id = ?) GROUP BY user_id",
        (*window, one, one),
    ):
        if uid not in query.ids:
            continue
        reports = filed[uid] = _lateness(map(days.__getitem__, all_days.split(",")), False)
        if late_days:
            reports.update(_lateness(map(days.__getitem__, late_days.split(",")), True))
    return filed, filed_per_day


@dataclass(frozen=True)
class _Export:
    """One export, run by :meth:`Database.read_in_thread`: the rows streamed from one read
    cursor in chunks into the file's sink, so a year of reports never sits in memory."""

    where: str  # over ``dar_reports r``
    params: tuple[int | str | None, ...]
    start: date
    end: date
    on_leave: Mapping[tuple[date, int], str]
    names: Mapping[int, str]
    zone: ZoneInfo
    fmt: str
    out: IO[bytes]
    text_columns: bool  # the SELECT gives CSV_COLUMNS (SQLite), else VALUE_COLUMNS

    def run(self, conn: Conn) -> int:
        sink = open_sink(self.fmt, self.out)
        on_leave = {(day.isoformat(), uid): text for (day, uid), text in self.on_leave.items()}
        rows = 0
        if isinstance(sink, CsvSink) and self.text_columns:
            # CSV is text: SQLite makes every field of each row, quoted as the csv writer
            # would (csv_rows_query), and the sink joins each chunk in C, with no Python per row.
            # text_columns is only set on the SQLite dialect (DarManager.export), so conn is a
            # sqlite3.Connection here: csv_rows_query's printf/instr/strftime SQL is SQLite-only.
            cursor = csv_rows_query(
                cast("sqlite3.Connection", conn),
                self.where,
                self.params,
                self.names,
                on_leave,
                self.zone,
                self.start,
                self.end,
            )
            while chunk := cursor.fetchmany(EXPORT_CHUNK):
                sink.write_fields(chunk)
                rows += len(chunk)
        else:  # XLSX, and CSV on PostgreSQL (csv_rows_query is SQLite's SQL): from the values
            cursor = plain_rows(
                conn,
                f"SELECT {VALUE_COLUMNS} FROM dar_reports r"  # noqa: S608 (constant columns)
                f" WHERE {self.where} ORDER BY r.day, r.user_id",
                self.params,
            )
            while chunk := cursor.fetchmany(EXPORT_CHUNK):
                sink.write([self.row(on_leave, *values) for values in chunk])
                rows += len(chunk)
        sink.close()
        return rows

    def row(
        self,
        on_leave: Mapping[tuple[str, int], str],
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
            on_leave=on_leave.get((day_text, user_id), ""),
        )
