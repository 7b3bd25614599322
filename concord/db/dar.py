"""DarManager: daily activity reports in the database, joined with leave and tasks.

Reports are one per member per local date; an edit keeps the previous text in
``dar_report_versions``. Everything that needs who is away reads the Leave module through
:class:`LeaveSource`, and everything about work done or due reads the Tasks module through
:class:`TaskSource` (the real ``LeaveManager`` and ``TaskManager`` satisfy both).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Protocol
from zoneinfo import ZoneInfo

from concord.core.dar import (
    DayOff,
    DayPoint,
    DigestData,
    Member,
    MemberStats,
    OpenBlocker,
    OverdueTask,
    PendingLeave,
    Report,
    ReportDraft,
    ReportVersion,
    Roster,
    RosterEntry,
    SummaryData,
    check_report_day,
    describe_day_off,
    edit_window_end,
    expected_roster,
    format_day,
    is_late,
    local_date,
    member_stats,
    not_due_yet,
    staff_members,
    summary_deadline,
    zone_for,
)
from concord.core.settings import GuildConfig
from concord.db.dar_export import (
    CSV_COLUMNS,
    VALUE_COLUMNS,
    CsvSink,
    ExportRow,
    LocalTime,
    csv_fields,
    open_sink,
)
from concord.db.database import Database
from concord.db.guilds import (
    GuildSettings,
    guild_holidays,
    read_config,
    utcnow_iso,
    write_audit,
)
from concord.errors import NotFound, UserError

log: logging.Logger = logging.getLogger(__name__)
# The scheduler's name of the daily DAR reminder job (its runs show when the DAR was in use).
REMINDER_JOB: str = "dar_reminder"

EXPORT_FORMATS: tuple[str, ...] = ("csv", "xlsx")
EXPORT_MAX_DAYS = 366
STATS_MAX_DAYS = 366
STATS_DEFAULT_DAYS = 30
# How far back a streak is followed, and how far back an unresolved blocker stays open.
STREAK_LOOKBACK_DAYS = 366
BLOCKER_LOOKBACK_DAYS = 7
# How far ahead the digest looks for the office's next working day (a long holiday break).
NEXT_DAY_HORIZON = 31
# Rows handed to the file writer thread at a time while exporting.
EXPORT_CHUNK = 2000
# Prefill: how many tasks a Done or Plan list shows at most.
PREFILL_TASKS = 15


# -- what DAR needs from Leave and Tasks ---------------------------------------------------
class AbsenceLike(Protocol):
    @property
    def user_id(self) -> int: ...
    @property
    def day(self) -> date: ...
    @property
    def portion(self) -> str: ...
    @property
    def from_time(self) -> time | None: ...
    @property
    def to_time(self) -> time | None: ...
    @property
    def request_id(self) -> int: ...
    @property
    def deducts(self) -> bool: ...


class HolidayLike(Protocol):
    @property
    def day(self) -> date: ...
    @property
    def name(self) -> str: ...


class LeaveRequestLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def deducts(self) -> bool: ...
    @property
    def card_channel_id(self) -> int | None: ...
    @property
    def card_message_id(self) -> int | None: ...


class LeaveSource(Protocol):
    async def absences(
        self, guild_id: int, start: date, end: date, statuses: Sequence[str] = ...
    ) -> Sequence[AbsenceLike]: ...

    async def holidays(self, guild_id: int, start: date, end: date) -> Sequence[HolidayLike]: ...

    async def pending_requests(self, guild_id: int) -> Sequence[LeaveRequestLike]: ...

    async def requests_between(
        self,
        guild_id: int,
        start: date,
        end: date,
        *,
        user_id: int | None = ...,
        statuses: Sequence[str] = ...,
    ) -> Sequence[LeaveRequestLike]: ...


class TaskLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def creator_id(self) -> int: ...
    @property
    def assignee_id(self) -> int | None: ...
    @property
    def status(self) -> str: ...
    @property
    def due_date(self) -> date | None: ...
    @property
    def completed_at(self) -> datetime | None: ...


class TaskSource(Protocol):
    async def completed_between(
        self, guild_id: int, start_utc: datetime, end_utc: datetime
    ) -> Sequence[TaskLike]: ...

    async def completion_times(
        self, guild_id: int, start_utc: datetime, end_utc: datetime, assignee_id: int | None
    ) -> Sequence[datetime]: ...

    async def live_for(self, guild_id: int, user_id: int) -> Sequence[TaskLike]: ...

    async def overdue(self, guild_id: int, now: datetime) -> Sequence[TaskLike]: ...

    async def overdue_at(self, guild_id: int, moment: datetime) -> Sequence[TaskLike]: ...

    async def open_due_between(
        self, guild_id: int, user_id: int, start: date, end: date
    ) -> Sequence[TaskLike]: ...

    async def get(self, task_id: int, guild_id: int | None = ...) -> TaskLike: ...


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SubmitResult:
    report: Report
    created: bool


@dataclass(frozen=True)
class Prefill:
    """What the Submit DAR modal shows: the current report when editing, else task lists."""

    day: date
    done: str
    plan: str
    blockers: str
    hours: str
    editing: bool


@dataclass(frozen=True)
class Missing:
    roster: Roster
    missing: tuple[RosterEntry, ...]
    # Members with their own timezone whose day is not over yet (see ``not_due_yet``).
    not_due: tuple[RosterEntry, ...] = ()


@dataclass(frozen=True)
class Stats:
    start: date
    end: date
    points: tuple[DayPoint, ...]
    members: tuple[MemberStats, ...]
    # False while today is in the range but before its summary time (not counted yet).
    today_counted: bool = True


@dataclass(frozen=True)
class Period:
    """Everything needed to build rosters for a span of days, fetched once."""

    config: GuildConfig
    holidays: Mapping[date, str]
    days_off: Mapping[date, tuple[DayOff, ...]]

    def roster(self, day: date, members: Iterable[Member]) -> Roster:
        return expected_roster(
            day,
            members,
            staff_role_id=self.config.staff_role_id,
            workdays=self.config.workdays,
            holiday=self.holidays.get(day),
            days_off=self.days_off.get(day, ()),
        )


# -- rows ------------------------------------------------------------------------------------
def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def report_from_row(row: sqlite3.Row) -> Report:
    return Report(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        day=date.fromisoformat(row["day"]),
        done=row["done"],
        plan=row["plan"],
        blockers=row["blockers"],
        minutes=row["minutes"],
        submitted_at=_dt(row["submitted_at"]),
        updated_at=_dt(row["updated_at"]),
        late=bool(row["late"]),
        edits=row["edits"],
    )


def version_from_row(row: sqlite3.Row) -> ReportVersion:
    return ReportVersion(
        report_id=row["report_id"],
        done=row["done"],
        plan=row["plan"],
        blockers=row["blockers"],
        minutes=row["minutes"],
        replaced_at=_dt(row["replaced_at"]),
        replaced_by=row["replaced_by"],
    )


def day_bounds_utc(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as UTC instants (23 or 25 hours on DST days)."""
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]


# -- transaction functions -------------------------------------------------------------------
def member_zone(conn: sqlite3.Connection, config: GuildConfig, user_id: int) -> ZoneInfo:
    row = conn.execute(
        "SELECT timezone FROM member_settings WHERE guild_id = ? AND user_id = ?",
        (config.guild_id, user_id),
    ).fetchone()
    return zone_for(row["timezone"] if row else None, config.timezone)


def submit_report(
    conn: sqlite3.Connection,
    guild_id: int,
    user_id: int,
    draft: ReportDraft,
    day: date | None,
    now: datetime,
) -> SubmitResult:
    """File or edit ``user_id``'s report for ``day`` (default: their local today)."""
    config = read_config(conn, guild_id)
    zone = member_zone(conn, config, user_id)
    today = local_date(now, zone)
    day = day or today
    row = conn.execute(
        "SELECT * FROM dar_reports WHERE guild_id = ? AND user_id = ? AND day = ?",
        (guild_id, user_id, day.isoformat()),
    ).fetchone()
    check_report_day(
        day,
        today,
        config.dar_edit_days,
        editing=row is not None,
        workdays=config.workdays,
        holidays=guild_holidays(conn, guild_id, day, today),
    )
    stamp = utcnow_iso(now)
    if row is None:
        # Late on the member's own clock: after the summary time of that day where they are.
        late = is_late(now, day, config.dar_summary, zone)
        cur = conn.execute(
            "INSERT INTO dar_reports (guild_id, user_id, day, done, plan, blockers, minutes, late,"
            " submitted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                guild_id,
                user_id,
                day.isoformat(),
                draft.done,
                draft.plan,
                draft.blockers,
                draft.minutes,
                int(late),
                stamp,
                stamp,
            ),
        )
        report_id = cur.lastrowid
        write_audit(
            conn,
            guild_id=guild_id,
            actor_id=user_id,
            action="dar.submit",
            subject=f"dar:{report_id}",
            after={"day": day.isoformat(), "late": late},
            now=now,
        )
        created = True
    else:
        report_id = row["id"]
        conn.execute(
            "INSERT INTO dar_report_versions (report_id, done, plan, blockers, minutes,"
            " replaced_at, replaced_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (report_id, row["done"], row["plan"], row["blockers"], row["minutes"], stamp, user_id),
        )
        updated = conn.execute(
            "UPDATE dar_reports SET done = ?, plan = ?, blockers = ?, minutes = ?,"
            " updated_at = ?, edits = edits + 1 WHERE id = ? AND edits = ?",
            (
                draft.done,
                draft.plan,
                draft.blockers,
                draft.minutes,
                stamp,
                report_id,
                row["edits"],
            ),
        )
        if updated.rowcount != 1:  # pragma: no cover - the writer thread serialises edits
            raise UserError("That report changed meanwhile; open it again and retry.")
        write_audit(
            conn,
            guild_id=guild_id,
            actor_id=user_id,
            action="dar.edit",
            subject=f"dar:{report_id}",
            before={"edits": row["edits"]},
            after={"edits": row["edits"] + 1},
            now=now,
        )
        created = False
    saved = conn.execute("SELECT * FROM dar_reports WHERE id = ?", (report_id,)).fetchone()
    return SubmitResult(report_from_row(saved), created)


def link_blocker_task(
    conn: sqlite3.Connection,
    guild_id: int,
    report_id: int,
    task_id: int,
    actor_id: int,
    now: datetime,
) -> None:
    """Record the task made from a report's blockers (a second task replaces the link)."""
    report = conn.execute(
        "SELECT id FROM dar_reports WHERE id = ? AND guild_id = ?", (report_id, guild_id)
    ).fetchone()
    if report is None:
        raise NotFound(f"There is no report #{report_id} in this server.")
    before = conn.execute(
        "SELECT task_id FROM dar_blocker_tasks WHERE report_id = ?", (report_id,)
    ).fetchone()
    conn.execute(
        "INSERT INTO dar_blocker_tasks (report_id, task_id, created_by, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (report_id) DO UPDATE SET task_id = excluded.task_id,"
        " created_by = excluded.created_by, created_at = excluded.created_at",
        (report_id, task_id, actor_id, utcnow_iso(now)),
    )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="dar.blocker_task",
        subject=f"dar:{report_id}",
        before={"task_id": before["task_id"]} if before else None,
        after={"task_id": task_id},
        now=now,
    )


def save_panel(
    conn: sqlite3.Connection,
    guild_id: int,
    channel_id: int,
    message_id: int,
    actor_id: int,
    now: datetime,
) -> int | None:
    """Record the channel's Submit DAR panel; returns the message id of the one it replaces."""
    before = conn.execute(
        "SELECT message_id FROM dar_panels WHERE channel_id = ?", (channel_id,)
    ).fetchone()
    conn.execute(
        "INSERT INTO dar_panels (channel_id, guild_id, message_id, posted_by, posted_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET"
        " message_id = excluded.message_id, posted_by = excluded.posted_by,"
        " posted_at = excluded.posted_at",
        (channel_id, guild_id, message_id, actor_id, utcnow_iso(now)),
    )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="dar.panel",
        subject=f"channel:{channel_id}",
        before=before["message_id"] if before else None,
        after=message_id,
        now=now,
    )
    return before["message_id"] if before else None


# -- the manager -----------------------------------------------------------------------------
class DarManager:
    def __init__(
        self,
        db: Database,
        guild_settings: GuildSettings,
        leave: LeaveSource,
        tasks: TaskSource,
    ) -> None:
        self.db = db
        self.guild_settings = guild_settings
        self.leave = leave
        self.tasks = tasks

    # -- reports ---------------------------------------------------------------------------
    async def submit(
        self,
        guild_id: int,
        user_id: int,
        draft: ReportDraft,
        now: datetime,
        day: date | None = None,
    ) -> SubmitResult:
        """File (or, within the edit window, edit) the member's report; ``day`` defaults to the
        member's local today."""
        return await self.db.write(submit_report, guild_id, user_id, draft, day, now)

    async def zone(self, guild_id: int, user_id: int) -> ZoneInfo:
        config = await self.guild_settings.get(guild_id)
        return zone_for(
            await self.guild_settings.member_timezone(guild_id, user_id), config.timezone
        )

    async def check_report_day(
        self, guild_id: int, day: date, today: date, *, editing: bool
    ) -> None:
        """Refuse a date outside the edit window (``dar_edit_days`` working days)."""
        config = await self.guild_settings.get(guild_id)
        holidays = await self.leave.holidays(guild_id, day, today) if day < today else ()
        check_report_day(
            day,
            today,
            config.dar_edit_days,
            editing=editing,
            workdays=config.workdays,
            holidays=frozenset(h.day for h in holidays),
        )

    async def edit_window_end(self, guild_id: int, day: date) -> date:
        """The last date the report of ``day`` can still be filed or edited."""
        config = await self.guild_settings.get(guild_id)
        # Generous: the window plus every weekend and a month of holidays in between.
        horizon = day + timedelta(days=config.dar_edit_days * 7 // 5 + 40)
        holidays = frozenset(h.day for h in await self.leave.holidays(guild_id, day, horizon))
        return edit_window_end(day, config.dar_edit_days, config.workdays, holidays)

    async def member_today(self, guild_id: int, user_id: int, now: datetime) -> date:
        return local_date(now, await self.zone(guild_id, user_id))

    async def get(self, guild_id: int, user_id: int, day: date) -> Report | None:
        row = await self.db.fetchone(
            "SELECT * FROM dar_reports WHERE guild_id = ? AND user_id = ? AND day = ?",
            (guild_id, user_id, day.isoformat()),
        )
        return report_from_row(row) if row else None

    async def get_by_id(self, guild_id: int, report_id: int) -> Report:
        row = await self.db.fetchone(
            "SELECT * FROM dar_reports WHERE id = ? AND guild_id = ?", (report_id, guild_id)
        )
        if row is None:
            raise NotFound(f"There is no report #{report_id} in this server.")
        return report_from_row(row)

    async def versions(self, report_id: int) -> list[ReportVersion]:
        """Earlier texts of a report, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM dar_report_versions WHERE report_id = ? ORDER BY id", (report_id,)
        )
        return [version_from_row(row) for row in rows]

    async def reports_on(self, guild_id: int, day: date) -> list[Report]:
        rows = await self.db.fetchall(
            "SELECT * FROM dar_reports WHERE guild_id = ? AND day = ? ORDER BY user_id",
            (guild_id, day.isoformat()),
        )
        return [report_from_row(row) for row in rows]

    async def prefill(self, guild_id: int, user_id: int, day: date) -> Prefill:
        """The modal's text: the report as it is when editing; else Done = the tasks the member
        completed that day, Plan = the ones in progress or due the next day."""
        report = await self.get(guild_id, user_id, day)
        if report is not None:
            return Prefill(
                day=day,
                done=report.done,
                plan=report.plan,
                blockers=report.blockers or "",
                hours=_hours_text(report.minutes),
                editing=True,
            )
        start, end = day_bounds_utc(day, await self.zone(guild_id, user_id))
        completed = [
            t
            for t in await self.tasks.completed_between(guild_id, start, end)
            if t.assignee_id == user_id
        ]
        in_progress = [
            t for t in await self.tasks.live_for(guild_id, user_id) if t.status == "in_progress"
        ]
        tomorrow = day + timedelta(days=1)
        due_next = await self.tasks.open_due_between(guild_id, user_id, tomorrow, tomorrow)
        planned: dict[int, TaskLike] = {t.id: t for t in in_progress}
        for task in due_next:
            planned.setdefault(task.id, task)
        return Prefill(
            day=day,
            done=_task_list(completed, "done"),
            plan=_task_list(list(planned.values()), "plan", due_tomorrow={t.id for t in due_next}),
            blockers="",
            hours="",
            editing=False,
        )

    async def link_blocker_task(
        self, guild_id: int, report_id: int, task_id: int, actor_id: int, now: datetime
    ) -> None:
        await self.db.write(link_blocker_task, guild_id, report_id, task_id, actor_id, now)

    async def blocker_task(self, report_id: int) -> int | None:
        row = await self.db.fetchone(
            "SELECT task_id FROM dar_blocker_tasks WHERE report_id = ?", (report_id,)
        )
        return row["task_id"] if row else None

    async def save_panel(
        self, guild_id: int, channel_id: int, message_id: int, actor_id: int, now: datetime
    ) -> int | None:
        return await self.db.write(save_panel, guild_id, channel_id, message_id, actor_id, now)

    # -- rosters -----------------------------------------------------------------------------
    async def period(self, guild_id: int, start: date, end: date) -> Period:
        """Holidays and days away for [start, end], fetched once. Leave of a type that takes
        nothing (work from home, on duty) is work, so it does not excuse anyone from reporting."""
        config = await self.guild_settings.get(guild_id)
        holidays, absences = await asyncio.gather(
            self.leave.holidays(guild_id, start, end),
            self.leave.absences(guild_id, start, end, ("approved",)),
        )
        by_day: dict[date, list[DayOff]] = {}
        for absence in absences:
            if not absence.deducts:
                continue
            by_day.setdefault(absence.day, []).append(
                DayOff(
                    absence.user_id,
                    absence.day,
                    str(absence.portion),
                    absence.from_time,
                    absence.to_time,
                )
            )
        return Period(
            config=config,
            holidays={h.day: h.name for h in holidays},
            days_off={d: tuple(v) for d, v in by_day.items()},
        )

    async def roster(self, guild_id: int, day: date, members: Sequence[Member]) -> Roster:
        return (await self.period(guild_id, day, day)).roster(day, members)

    async def missing(
        self, guild_id: int, day: date, members: Sequence[Member], now: datetime | None = None
    ) -> Missing:
        """Expected members without a report; with ``now``, those with their own timezone
        whose day is not over yet are set apart as not due (never missing)."""
        roster = await self.roster(guild_id, day, members)
        filed = {r.user_id for r in await self.reports_on(guild_id, day)}
        not_due: tuple[RosterEntry, ...] = ()
        if now is not None:
            not_due = await self.not_due(guild_id, roster, filed, now)
        waiting = {e.user_id for e in not_due}
        return Missing(
            roster,
            tuple(e for e in roster.expected if e.user_id not in filed | waiting),
            not_due,
        )

    async def not_due(
        self, guild_id: int, roster: Roster, filed: Collection[int], now: datetime
    ) -> tuple[RosterEntry, ...]:
        """Of the roster's members without a report, those whose own day is not over yet."""
        config = await self.guild_settings.get(guild_id)
        zones = {
            user_id: ZoneInfo(name)
            for user_id, name in (await self.guild_settings.member_timezones(guild_id)).items()
            if name != config.timezone
        }
        if not zones:
            return ()
        return not_due_yet(roster, filed, zones, config.tz, config.dar_summary, now)

    async def is_workday(self, guild_id: int, day: date) -> bool:
        """A guild workday that is not a holiday."""
        return (await self.period(guild_id, day, day)).roster(day, ()).workday

    async def unreminded(
        self, guild_id: int, day: date, user_ids: Sequence[int], kind: str
    ) -> list[int]:
        """Of ``user_ids``, those with no report for ``day`` and no ``kind`` notification
        claimed for it (keys ``<user>:<date>``): one cheap query before building a roster."""
        rows = await self.db.fetchall(
            "SELECT value AS user_id FROM json_each(?) WHERE value NOT IN"
            " (SELECT user_id FROM dar_reports WHERE guild_id = ? AND day = ?)"
            " AND (CAST(value AS TEXT) || ':' || ?) NOT IN"
            " (SELECT key FROM notifications_sent WHERE guild_id = ? AND kind = ?)",
            (
                json.dumps(list(user_ids)),
                guild_id,
                day.isoformat(),
                day.isoformat(),
                guild_id,
                kind,
            ),
        )
        return [row["user_id"] for row in rows]

    async def overdue_by_member(self, guild_id: int, now: datetime) -> dict[int, list[str]]:
        """Labels of each member's overdue tasks (``#12 Fix the printer``)."""
        by_member: dict[int, list[str]] = {}
        for task in await self.tasks.overdue(guild_id, now):
            if task.assignee_id is not None:
                by_member.setdefault(task.assignee_id, []).append(f"#{task.id} {task.title}")
        return by_member

    # -- the summary and the digest ------------------------------------------------------
    async def summary(
        self, guild_id: int, day: date, members: Sequence[Member], now: datetime
    ) -> SummaryData:
        config = await self.guild_settings.get(guild_id)
        start, end = day_bounds_utc(day, config.tz)
        # A past day shows its overdue tasks as they were at its end (from the task history),
        # as its posted summary did; today shows them as they are.
        overdue_then = (
            self.tasks.overdue_at(guild_id, end - timedelta(seconds=1))
            if end <= now
            else self.tasks.overdue(guild_id, now)
        )
        roster, reports, completed, overdue = await asyncio.gather(
            self.roster(guild_id, day, members),
            self.reports_on(guild_id, day),
            self.tasks.completed_between(guild_id, start, end),
            overdue_then,
        )
        done_by: dict[int, list[str]] = {}
        for task in completed:
            owner = task.assignee_id if task.assignee_id is not None else task.creator_id
            done_by.setdefault(owner, []).append(f"#{task.id} {task.title}")
        overdue_count: dict[int, int] = {}
        for task in overdue:
            assignee = task.assignee_id
            if assignee is not None:
                overdue_count[assignee] = overdue_count.get(assignee, 0) + 1
        return SummaryData(
            day=day,
            roster=roster,
            reports=tuple(reports),
            names={m.user_id: m.name for m in members},
            completed={k: tuple(v) for k, v in done_by.items()},
            overdue=overdue_count,
            not_due=await self.not_due(guild_id, roster, {r.user_id for r in reports}, now),
        )

    async def digest(
        self, guild_id: int, today: date, members: Sequence[Member], now: datetime
    ) -> DigestData:
        """Who is out today and tomorrow, pending leave, overdue tasks, the last workday's
        missing reports and open blockers."""
        lookback = today - timedelta(days=BLOCKER_LOOKBACK_DAYS)
        period = await self.period(guild_id, lookback, today + timedelta(days=NEXT_DAY_HORIZON))
        config = period.config
        # "Tomorrow" is the office's next working day: Monday after a Friday, not Saturday.
        tomorrow = next(
            (
                d
                for d in days_between(
                    today + timedelta(days=1), today + timedelta(days=NEXT_DAY_HORIZON)
                )
                if period.roster(d, ()).workday
            ),
            today + timedelta(days=1),
        )
        missing_day = next(
            (
                d
                for d in reversed(days_between(lookback, today - timedelta(days=1)))
                if period.roster(d, ()).workday
            ),
            None,
        )
        # Before the DAR was in use nobody missed anything: the first digest after the bot
        # joins blames no one for a day it never asked about.
        since = await self.in_use_since(guild_id)
        if missing_day is not None and (since is None or missing_day < since):
            missing_day = None
        missing: tuple[RosterEntry, ...] = ()
        if missing_day is not None:
            filed = {r.user_id for r in await self.reports_on(guild_id, missing_day)}
            roster = period.roster(missing_day, members)
            filed |= {e.user_id for e in await self.not_due(guild_id, roster, filed, now)}
            missing = tuple(e for e in roster.expected if e.user_id not in filed)
        pending_requests, overdue_tasks, blockers = await asyncio.gather(
            self.leave.pending_requests(guild_id),
            self.tasks.overdue(guild_id, now),
            self.open_blockers(guild_id, lookback, today),
        )
        return DigestData(
            day=today,
            out_today=_out_on(period, today),
            out_tomorrow=_out_on(period, tomorrow),
            pending=_pending(config, pending_requests, now),
            overdue=tuple(
                OverdueTask(
                    task_id=t.id,
                    title=t.title,
                    assignee_id=t.assignee_id,
                    due=t.due_date or today,
                    days_overdue=max(0, (today - (t.due_date or today)).days),
                )
                for t in overdue_tasks
            ),
            missing_day=missing_day,
            missing=missing,
            blockers=blockers,
            next_day=tomorrow,
        )

    async def open_blockers(self, guild_id: int, start: date, end: date) -> tuple[OpenBlocker, ...]:
        """Blockers in each member's latest report of [start, end], unless the task made from
        them is finished."""
        rows = await self.db.fetchall(
            "SELECT r.id, r.user_id, r.day, r.blockers, b.task_id FROM dar_reports r"
            " LEFT JOIN dar_blocker_tasks b ON b.report_id = r.id"
            " WHERE r.guild_id = ? AND r.day BETWEEN ? AND ? AND r.id IN ("
            "  SELECT id FROM dar_reports x WHERE x.guild_id = r.guild_id AND x.user_id = r.user_id"
            "  AND x.day BETWEEN ? AND ? ORDER BY x.day DESC LIMIT 1)"
            " AND r.blockers IS NOT NULL ORDER BY r.day, r.user_id",
            (guild_id, start.isoformat(), end.isoformat(), start.isoformat(), end.isoformat()),
        )
        blockers: list[OpenBlocker] = []
        for row in rows:
            task_id = row["task_id"]
            if task_id is not None and await self.task_finished(guild_id, task_id):
                continue
            blockers.append(
                OpenBlocker(
                    report_id=row["id"],
                    user_id=row["user_id"],
                    day=date.fromisoformat(row["day"]),
                    text=row["blockers"],
                    task_id=task_id,
                )
            )
        return tuple(blockers)

    async def task_finished(self, guild_id: int, task_id: int) -> bool:
        """Whether a task is done or cancelled (or gone)."""
        try:
            task = await self.tasks.get(task_id, guild_id)
        except NotFound:
            return True  # the task is gone: nothing left to follow up
        return task.status in ("done", "cancelled")

    # -- statistics --------------------------------------------------------------------------
    async def stats(
        self,
        guild_id: int,
        start: date,
        end: date,
        members: Sequence[Member],
        today: date,
        user_id: int | None = None,
        *,
        now: datetime | None = None,
    ) -> Stats:
        """Per day: reports filed vs expected and tasks completed; per member: the current
        streak and the on-time rate over [start, end]. Days before the guild's first report
        expect nothing (the DAR was not in use yet). Today counts, in the points and the rates
        alike, once its summary time has passed at ``now`` (always without ``now``)."""
        if end < start:
            raise UserError(
                f"The end date ({format_day(end)}) is before the start date ({format_day(start)})."
            )
        if (end - start).days + 1 > STATS_MAX_DAYS:
            raise UserError(f"Stats cover at most {STATS_MAX_DAYS} days at a time.")
        config = await self.guild_settings.get(guild_id)
        today_counts = now is None or now >= summary_deadline(today, config.dar_summary, config.tz)
        window_start = min(start, today - timedelta(days=STREAK_LOOKBACK_DAYS))
        window_end = max(end, today)
        period = await self.period(guild_id, window_start, window_end)
        people = staff_members(members, config.staff_role_id)
        if user_id is not None:
            people = [m for m in people if m.user_id == user_id] or [
                m for m in members if m.user_id == user_id
            ]
        ids = {m.user_id for m in people}
        first, _ = day_bounds_utc(start, config.tz)
        _, last = day_bounds_utc(end, config.tz)
        # One trip to a reader thread for the year's rows (120k reports for 500 members): read
        # through the loop, a cursor's chunks and the task objects took most of a second.
        filed, filed_per_day = await self.db.read_in_thread(
            _stats_rows,
            _StatsQuery(
                guild_id, window_start.isoformat(), window_end.isoformat(), frozenset(ids), user_id
            ),
        )
        completed_per_day: dict[date, int] = {}
        for moment in await self.tasks.completion_times(guild_id, first, last, user_id):
            day = moment.astimezone(config.tz).date()
            completed_per_day[day] = completed_per_day.get(day, 0) + 1
        # A year of rosters is CPU work (hundreds of thousands of member-days): off the loop.
        return await asyncio.to_thread(
            tally_stats,
            Window(
                start,
                end,
                today,
                window_start,
                window_end,
                await self.first_day(guild_id),
                today_counts,
            ),
            period,
            people,
            filed,
            filed_per_day,
            completed_per_day,
        )

    async def in_use_since(self, guild_id: int) -> date | None:
        """The first day the DAR was in use: the first report, or the first day the bot sent
        its reminders, whichever came first (None: neither yet)."""
        row = await self.db.fetchone(
            "SELECT MIN(day) AS first FROM ("
            " SELECT MIN(day) AS day FROM dar_reports WHERE guild_id = ?"
            " UNION ALL SELECT MIN(local_date) FROM job_runs WHERE guild_id = ? AND job = ?)",
            (guild_id, guild_id, REMINDER_JOB),
        )
        return date.fromisoformat(row["first"]) if row and row["first"] else None

    async def first_day(self, guild_id: int) -> date | None:
        """The date of the guild's first report (when it started using DAR)."""
        row = await self.db.fetchone(
            "SELECT MIN(day) AS first FROM dar_reports WHERE guild_id = ?", (guild_id,)
        )
        return date.fromisoformat(row["first"]) if row and row["first"] else None

    # -- export ------------------------------------------------------------------------------
    async def export(
        self,
        guild_id: int,
        start: date,
        end: date,
        fmt: str,
        out: IO[bytes],
        names: Mapping[int, str],
        user_id: int | None = None,
    ) -> int:
        """Write the reports of [start, end] (one member's or everyone's) to ``out`` as CSV or
        XLSX, streamed from a read connection in chunks; returns the number of rows."""
        if fmt not in EXPORT_FORMATS:
            raise UserError(f"`{fmt}` is not an export format; use csv or xlsx.")
        if end < start:
            raise UserError(
                f"The end date ({format_day(end)}) is before the start date ({format_day(start)})."
            )
        if (end - start).days + 1 > EXPORT_MAX_DAYS:
            raise UserError(f"Export at most {EXPORT_MAX_DAYS} days at a time.")
        period = await self.period(guild_id, start, end)
        # CSV is text: SQLite makes most of its fields (CSV_COLUMNS); XLSX takes the values.
        columns = CSV_COLUMNS if fmt == "csv" else VALUE_COLUMNS
        sql = (
            f"SELECT {columns} FROM dar_reports"  # noqa: S608 (constant column lists)
            " WHERE guild_id = ? AND day BETWEEN ? AND ? AND (? IS NULL OR user_id = ?)"
            " ORDER BY day, user_id"
        )
        params = (guild_id, start.isoformat(), end.isoformat(), user_id, user_id)
        job = _Export(
            sql,
            params,
            _leave_labels(period),
            names,
            period.config.tz,
            fmt,
            out,
        )
        # Reading, converting and writing all run on one worker thread: a year is 120k rows,
        # which through the event loop kept it busy for seconds (bench/bench_dar.py).
        return await self.db.read_in_thread(job.run)


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


def _hours_text(minutes: int | None) -> str:
    if minutes is None:
        return ""
    hours, rest = divmod(minutes, 60)
    return f"{hours}:{rest:02d}" if rest else str(hours)


def _task_list(tasks: Sequence[TaskLike], kind: str, due_tomorrow: set[int] | None = None) -> str:
    lines = []
    for task in tasks[:PREFILL_TASKS]:
        mark = " (due tomorrow)" if due_tomorrow and task.id in due_tomorrow else ""
        lines.append(f"- #{task.id} {task.title}{mark}")
    if len(tasks) > PREFILL_TASKS:
        more = len(tasks) - PREFILL_TASKS
        lines.append(f"- and {more} more {kind} {'task' if more == 1 else 'tasks'}")
    return "\n".join(lines)


def _out_on(period: Period, day: date) -> tuple[RosterEntry, ...]:
    by_member: dict[int, list[DayOff]] = {}
    for off in period.days_off.get(day, ()):
        by_member.setdefault(off.user_id, []).append(off)
    return tuple(
        RosterEntry(user_id, describe_day_off(offs)[1])
        for user_id, offs in sorted(by_member.items())
    )


def _pending(
    config: GuildConfig, requests: Sequence[LeaveRequestLike], now: datetime
) -> PendingLeave:
    if not requests:
        return PendingLeave(0)
    oldest = min(requests, key=lambda r: (r.created_at, r.id))
    link = None
    if oldest.card_channel_id and oldest.card_message_id:
        link = (
            f"https://discord.com/channels/{config.guild_id}/{oldest.card_channel_id}"
            f"/{oldest.card_message_id}"
        )
    elif config.approvals_channel_id:
        link = f"https://discord.com/channels/{config.guild_id}/{config.approvals_channel_id}"
    return PendingLeave(len(requests), now - oldest.created_at, link)
