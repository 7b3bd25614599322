"""``DarManager``: daily activity reports in the database, joined with leave and tasks (the async
face over the transaction functions and the reads).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import IO
from zoneinfo import ZoneInfo

from concord.core.checkins import CheckIn, CheckinStats, checkin_rates
from concord.core.dar import (
    DayOff,
    DigestData,
    Member,
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
    local_date,
    not_due_yet,
    staff_members,
    summary_deadline,
    zone_for,
)
from concord.core.settings import GuildConfig
from concord.db.dar.checkins import CheckinManager
from concord.db.dar.reads import (
    Window,
    _Export,
    _leave_labels,
    _stats_rows,
    _StatsQuery,
    tally_stats,
)
from concord.db.dar.records import (
    LeaveRequestLike,
    LeaveSource,
    Missing,
    Period,
    Prefill,
    Stats,
    SubmitResult,
    TaskLike,
    TaskSource,
    day_bounds_utc,
    days_between,
    report_from_row,
    version_from_row,
)
from concord.db.dar.transactions import link_blocker_task, save_panel, submit_report
from concord.db.guilds import GuildSettings
from concord.db.portable import SQLITE, Db
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
# Prefill: how many tasks a Done or Plan list shows at most.
PREFILL_TASKS = 15


class DarManager:
    def __init__(
        self,
        db: Db,
        guild_settings: GuildSettings,
        leave: LeaveSource,
        tasks: TaskSource,
    ) -> None:
        self.db = db
        self.guild_settings = guild_settings
        self.leave = leave
        self.tasks = tasks
        self.checkins = CheckinManager(db)

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

    async def skipped(self, guild_id: int, day: date) -> dict[int, str | None]:
        """Members who skipped the Daily report of ``day`` (Skip today): user id → reason."""
        rows = await self.db.fetchall(
            "SELECT e.user_id, e.skip_reason FROM dar_entries e JOIN dar_checkins c"
            " ON c.id = e.checkin_id WHERE c.guild_id = ? AND c.is_default = 1"
            " AND e.guild_id = c.guild_id AND e.day = ? AND e.status = 'skipped'",
            (guild_id, day.isoformat()),
        )
        return {row["user_id"]: row["skip_reason"] for row in rows}

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
        filed |= set(await self.skipped(guild_id, day))  # skipped: not missing
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
        sent or settled for it (keys ``<user>:<date>``; a claim not marked sent yet may need
        sending again): one cheap query before building a roster."""
        if not user_ids:
            return []
        # The candidates as a VALUES list (SQLite's json_each(?) has no PostgreSQL twin).
        candidates = ", ".join(["(CAST(? AS BIGINT))"] * len(user_ids))
        rows = await self.db.fetchall(
            f"WITH candidates (user_id) AS (VALUES {candidates})"  # noqa: S608 (placeholders)
            " SELECT user_id FROM candidates WHERE user_id NOT IN"
            " (SELECT user_id FROM dar_reports WHERE guild_id = ? AND day = ?)"
            " AND (CAST(user_id AS TEXT) || ':' || ?) NOT IN"
            " (SELECT key FROM notifications_sent WHERE guild_id = ? AND kind = ?"
            " AND status <> 'claimed')",
            (
                *user_ids,
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
            skipped=tuple(
                RosterEntry(uid, reason or "")
                for uid, reason in sorted((await self.skipped(guild_id, day)).items())
            ),
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
            filed |= set(await self.skipped(guild_id, missing_day))
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
            checkins=await self.checkin_lines(
                guild_id, lookback, today - timedelta(days=1), members, today
            ),
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
        people = staff_members(members, config.staff_role_id)
        if user_id is not None:
            people = [m for m in people if m.user_id == user_id] or [
                m for m in members if m.user_id == user_id
            ]
        ids = {m.user_id for m in people}
        first, _ = day_bounds_utc(start, config.tz)
        _, last = day_bounds_utc(end, config.tz)
        # The year's reports (120k for 500 members) and tasks are read on worker threads, in
        # one trip each (through the loop they took most of a second), started first so that
        # SQLite works on them while the loop reads the period's leave (and the first day).
        (filed, filed_per_day), completion_times, period, since = await asyncio.gather(
            self.db.read_in_thread(
                _stats_rows,
                _StatsQuery(
                    guild_id,
                    window_start.isoformat(),
                    window_end.isoformat(),
                    frozenset(ids),
                    user_id,
                ),
            ),
            self.tasks.completion_times(guild_id, first, last, user_id),
            self.period(guild_id, window_start, window_end),
            self.first_day(guild_id),
        )
        completed_per_day: dict[date, int] = {}
        zone = config.tz  # a property that makes the ZoneInfo: once, not once per task
        for moment in completion_times:
            day = moment.astimezone(zone).date()
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
                since,
                today_counts,
            ),
            period,
            people,
            filed,
            filed_per_day,
            completed_per_day,
        )

    async def checkin_stats(
        self,
        guild_id: int,
        checkin: CheckIn,
        start: date,
        end: date,
        members: Sequence[Member],
        today: date,
    ) -> CheckinStats:
        """Per member of a check-in (other than the Daily report): the days they were asked
        in [start, end] (it ran, they had joined and were not away the whole day, no holiday;
        from the check-in's creation, up to yesterday and today once answered), answered, on
        time, skipped."""
        row = await self.db.fetchone(
            "SELECT created_at FROM dar_checkins WHERE id = ? AND guild_id = ?",
            (checkin.id, guild_id),
        )
        created = date.fromisoformat(row["created_at"][:10]) if row else start
        period = await self.period(guild_id, start, end)
        config = period.config
        role = checkin.role_id or config.staff_role_id
        people = [m for m in members if role is None or role in m.role_ids]
        expected: dict[int, list[date]] = {m.user_id: [] for m in people}
        for day in days_between(max(start, created), min(end, today)):
            if not checkin.runs_on(day, config.workdays):
                continue
            roster = expected_roster(
                day,
                people,
                staff_role_id=None,
                workdays=range(7),  # the check-in's own days decided it runs
                holiday=period.holidays.get(day),
                days_off=period.days_off.get(day, ()),
            )
            for entry in roster.expected:
                if day < today:
                    expected[entry.user_id].append(day)
        rows = await self.db.fetchall(
            "SELECT user_id, day, status, late FROM dar_entries WHERE guild_id = ?"
            " AND checkin_id = ? AND day BETWEEN ? AND ?",
            (guild_id, checkin.id, start.isoformat(), end.isoformat()),
        )
        entries = [
            (row["user_id"], date.fromisoformat(row["day"]), row["status"], bool(row["late"]))
            for row in rows
            if row["user_id"] in expected
        ]
        return CheckinStats(checkin.name, start, end, checkin_rates(expected, entries))

    async def checkin_lines(
        self, guild_id: int, start: date, end: date, members: Sequence[Member], today: date
    ) -> tuple[str, ...]:
        """One line per check-in other than the Daily report, for the stats and the digest."""
        lines = []
        for checkin in await self.checkins.all(guild_id):
            if checkin.is_default:
                continue
            stats = await self.checkin_stats(guild_id, checkin, start, end, members, today)
            if stats.expected or stats.filed:
                lines.append(stats.line())
        return tuple(lines)

    async def in_use_since(self, guild_id: int) -> date | None:
        """The first day the DAR was in use: the first report, or the first day the bot sent
        its reminders, whichever came first (None: neither yet)."""
        row = await self.db.fetchone(
            "SELECT MIN(day) AS first FROM ("
            " SELECT MIN(day) AS day FROM dar_reports WHERE guild_id = ?"
            " UNION ALL SELECT MIN(local_date) FROM job_runs WHERE guild_id = ? AND job = ?)"
            " AS firsts",  # PostgreSQL needs the alias
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
        # CSV is text: SQLite makes its fields (csv_rows_query); XLSX takes the values, as CSV
        # does on PostgreSQL (csv_rows_query is SQLite's SQL: printf, char, strftime).
        text_columns = fmt == "csv" and self.db.dialect == SQLITE
        job = _Export(
            "r.guild_id = ? AND r.day BETWEEN ? AND ? AND (CAST(? AS BIGINT) IS NULL OR r.user_id = ?)",
            (guild_id, start.isoformat(), end.isoformat(), user_id, user_id),
            start,
            end,
            _leave_labels(period),
            names,
            period.config.tz,
            fmt,
            out,
            text_columns,
        )
        # Reading, converting and writing all run on one worker thread: a year is 120k rows,
        # which through the event loop kept it busy for seconds (bench/bench_dar.py).
        return await self.db.read_in_thread(job.run)


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
