"""Daily activity reports: the rules, with no I/O.

What a valid report is, which local date a member files for, when a report is late, how long it
stays editable, who is expected to file on a date (the roster), streaks and on-time rates, and
the data of the day's summary and the manager digest (their layout is in ``dar_layout``).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from concord.core.dates import parse_date
from concord.core.jobs import scheduled_instant
from concord.core.schedule import WEEKDAY_ALIASES
from concord.core.text import clip, without_control
from concord.errors import UserError

DONE_MAX = 4000
PLAN_MAX = 4000
BLOCKERS_MAX = 1000
HOURS_MAX_MINUTES = 24 * 60

_HOURS_DECIMAL: re.Pattern[str] = re.compile(r"^(\d{1,2}(?:[.,]\d{1,2})?)\s*(?:h|hrs?|hours?)?$")
_HAS_YEAR: re.Pattern[str] = re.compile(r"\d{4}")
_HOURS_CLOCK: re.Pattern[str] = re.compile(r"^(\d{1,2})\s*(?::|h)\s*(\d{2})\s*(?:m|min)?$")

PORTION_FULL = "full_day"
PORTION_AM = "half_day_am"
PORTION_PM = "half_day_pm"
PORTION_OFF_DUTY = "off_duty"


# -- reports ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportDraft:
    """A validated report as the member typed it; hours kept exactly, as minutes."""

    done: str
    plan: str
    blockers: str | None = None
    minutes: int | None = None


@dataclass(frozen=True)
class Report:
    id: int
    guild_id: int
    user_id: int
    day: date
    done: str
    plan: str
    blockers: str | None
    minutes: int | None
    submitted_at: datetime
    updated_at: datetime
    late: bool
    edits: int = 0


@dataclass(frozen=True)
class ReportVersion:
    """A report's text as it was before an edit (the history)."""

    report_id: int
    done: str
    plan: str
    blockers: str | None
    minutes: int | None
    replaced_at: datetime
    replaced_by: int


def parse_hours(text: str | None) -> int | None:
    """``7.5``, ``7,5``, ``7h``, ``7:30``, ``7h30`` → whole minutes (0–24 h); blank → None."""
    if text is None or not text.strip():
        return None
    cleaned = text.strip().lower()
    minutes: int | None = None
    if match := _HOURS_CLOCK.match(cleaned):
        hours, mins = int(match.group(1)), int(match.group(2))
        if mins < 60:
            minutes = hours * 60 + mins
    elif match := _HOURS_DECIMAL.match(cleaned):
        try:
            value = Decimal(match.group(1).replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern only admits digits
            value = None
        if value is not None:
            minutes = int((value * 60).to_integral_value())
    if minutes is None or not 0 <= minutes <= HOURS_MAX_MINUTES:
        raise UserError(
            f"`{clip(text.strip(), 40)}` is not a number of hours; "
            "use a number from 0 to 24 such as `7.5` or `7:30`."
        )
    return minutes


def format_hours(minutes: int | None) -> str:
    """Minutes as people read hours: ``7.5 h``, ``8 h``, ``7 h 20 min``; '' for None."""
    if minutes is None:
        return ""
    hours, rest = divmod(minutes, 60)
    if rest == 0:
        return f"{hours} h"
    if rest % 6 == 0:  # a tenth of an hour: one decimal reads exactly
        return f"{hours}.{rest // 6} h"
    return f"{hours} h {rest} min"


def _required(text: str | None, label: str, limit: int, hint: str) -> str:
    cleaned = without_control(text or "").strip()
    if not cleaned:
        raise UserError(f"{label} can't be empty: {hint}.")
    if len(cleaned) > limit:
        raise UserError(f"{label} is {len(cleaned)} characters; the limit is {limit}.")
    return cleaned


def validate_report(
    done: str | None, plan: str | None, blockers: str | None = None, hours: str | None = None
) -> ReportDraft:
    """The draft for these inputs, or UserError naming the first problem."""
    clean_done = _required(done, "Done", DONE_MAX, "say what you worked on")
    clean_plan = _required(plan, "Plan", PLAN_MAX, "say what comes next")
    clean_blockers = without_control(blockers or "").strip() or None
    if clean_blockers is not None and len(clean_blockers) > BLOCKERS_MAX:
        raise UserError(
            f"Blockers is {len(clean_blockers)} characters; the limit is {BLOCKERS_MAX}."
        )
    if clean_blockers is not None and clean_blockers.lower() in ("none", "no", "n/a", "-", "nil"):
        clean_blockers = None
    return ReportDraft(clean_done, clean_plan, clean_blockers, parse_hours(hours))


def parse_report_date(text: str, today: date) -> date:
    """A date as ``parse_date`` reads it, but leaning back in time: reports are about days that
    have happened, so ``mon`` is this week's Monday (or last week's) and ``3 Dec`` the latest
    3 December — not the next ones. ISO dates, explicit years, ``tomorrow`` and ``next …`` keep
    their meaning."""
    day = parse_date(text, today)
    cleaned = " ".join(text.strip().lower().split())
    if day <= today or cleaned == "tomorrow" or cleaned.startswith("next "):
        return day
    if _HAS_YEAR.search(cleaned):
        return day
    if cleaned in WEEKDAY_ALIASES:
        return day - timedelta(days=7)
    for year in range(today.year, today.year - 9, -1):
        try:
            candidate = date(year, day.month, day.day)
        except ValueError:  # 29 February outside a leap year
            continue
        if candidate <= today:
            return candidate
    return day


def zone_for(member_timezone: str | None, guild_timezone: str) -> ZoneInfo:
    """The member's own timezone when they set one, else the guild's."""
    return ZoneInfo(member_timezone or guild_timezone)


def local_date(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def summary_deadline(day: date, summary_at: time, guild_zone: ZoneInfo) -> datetime:
    """The instant the summary of ``day`` is due; a report filed later is late."""
    return scheduled_instant(day, summary_at, guild_zone)


def is_late(submitted_at: datetime, day: date, summary_at: time, guild_zone: ZoneInfo) -> bool:
    return submitted_at > summary_deadline(day, summary_at, guild_zone)


ALL_DAYS: frozenset[int] = frozenset(range(7))


def is_office_day(day: date, workdays: Collection[int], holidays: Collection[date]) -> bool:
    """A working day of the office: one of its workdays that is not a holiday."""
    return day.weekday() in workdays and day not in holidays


def working_days_after(
    day: date, until: date, workdays: Collection[int], holidays: Collection[date]
) -> int:
    """The office's working days in (day, until]: how many have passed since ``day``."""
    count = 0
    probe = day + timedelta(days=1)
    while probe <= until:
        count += is_office_day(probe, workdays, holidays)
        probe += timedelta(days=1)
    return count


def edit_window_end(
    day: date, edit_days: int, workdays: Collection[int], holidays: Collection[date]
) -> date:
    """The last date the report of ``day`` can be filed or edited: until ``edit_days`` working
    days of the office have passed after it (the non-working days after the last one too)."""
    probe, passed = day, 0
    for _ in range(366 * 2):  # no working day in two years: the workdays are empty
        probe += timedelta(days=1)
        if is_office_day(probe, workdays, holidays):
            passed += 1
            if passed > edit_days:
                return probe - timedelta(days=1)
    return day + timedelta(days=edit_days)


def check_report_day(
    day: date,
    today: date,
    edit_days: int,
    *,
    editing: bool,
    workdays: Collection[int] = ALL_DAYS,
    holidays: Collection[date] = (),
) -> None:
    """Refuse a report date in the future or older than the edit window allows: ``edit_days``
    working days of the office (``workdays`` less ``holidays``) after it."""
    if day > today:
        raise UserError(
            f"{format_day(day)} hasn't happened yet: reports are filed on or after their day "
            f"(today is {format_day(today)})."
        )
    if working_days_after(day, today, workdays, holidays) > edit_days:
        unit = "day" if len(workdays) == len(ALL_DAYS) and not holidays else "working day"
        window = (
            f"until the next {unit}"
            if edit_days == 0
            else f"up to {edit_days} {unit}{'s' if edit_days != 1 else ''} after their date"
        )
        if editing:
            raise UserError(
                f"The report for {format_day(day)} can no longer be edited: reports can be "
                f"changed {window}."
            )
        raise UserError(f"{format_day(day)} is too far back: reports can be filed {window}.")


def first_line(text: str, limit: int = 120) -> str:
    """The first non-empty line of ``text``, within ``limit`` characters."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return clip(line, limit)


def format_day(day: date) -> str:
    """``Tue 1 Dec 2026``."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def short_day(day: date) -> str:
    """``Tue 1 Dec``."""
    return f"{day:%a} {day.day} {day:%b}"


# -- the roster ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    user_id: int
    name: str
    role_ids: frozenset[int] = frozenset()
    bot: bool = False
    # The day they joined the server: nobody is expected to report before it.
    joined: date | None = None


@dataclass(frozen=True)
class DayOff:
    """One member's approved absence on one day (from the Leave module)."""

    user_id: int
    day: date
    portion: str
    from_time: time | None = None
    to_time: time | None = None


@dataclass(frozen=True)
class RosterEntry:
    """A member on the roster; ``note`` says what part of the day they are off, if any."""

    user_id: int
    note: str | None = None


@dataclass(frozen=True)
class Roster:
    day: date
    workday: bool
    holiday: str | None
    expected: tuple[RosterEntry, ...]
    on_leave: tuple[RosterEntry, ...]

    @property
    def expected_ids(self) -> frozenset[int]:
        return frozenset(entry.user_id for entry in self.expected)

    @property
    def on_leave_ids(self) -> frozenset[int]:
        return frozenset(entry.user_id for entry in self.on_leave)

    def note_for(self, user_id: int) -> str | None:
        for entry in self.expected + self.on_leave:
            if entry.user_id == user_id:
                return entry.note
        return None


def staff_members(members: Iterable[Member], staff_role_id: int | None) -> list[Member]:
    """Members who file reports: the staff role's members, or every human when none is set."""
    return [
        m for m in members if not m.bot and (staff_role_id is None or staff_role_id in m.role_ids)
    ]


def describe_day_off(portions: Sequence[DayOff]) -> tuple[bool, str]:
    """(away the whole day, public label) for one member's absences on one day. AM + PM on the
    same day add up to the full day. The label never names the leave type (privacy)."""
    kinds = {p.portion for p in portions}
    if PORTION_FULL in kinds or {PORTION_AM, PORTION_PM} <= kinds:
        return True, "full day"
    labels: list[str] = []
    if PORTION_AM in kinds:
        labels.append("AM off")
    if PORTION_PM in kinds:
        labels.append("PM off")
    spans = sorted(
        (p for p in portions if p.portion == PORTION_OFF_DUTY),
        key=lambda p: p.from_time or time(0),
    )
    for span in spans:
        if span.from_time is not None and span.to_time is not None:
            labels.append(f"off {span.from_time:%H:%M}–{span.to_time:%H:%M}")
        else:
            labels.append("off duty part of the day")
    return False, ", ".join(labels)


def expected_roster(
    day: date,
    members: Iterable[Member],
    *,
    staff_role_id: int | None,
    workdays: Collection[int],
    holiday: str | None,
    days_off: Iterable[DayOff],
) -> Roster:
    """Who is expected to file a report on ``day``: staff (who had joined by then) on a workday
    that is not a holiday, minus members away the whole day; members off part of the day stay
    expected, with a note."""
    by_member: dict[int, list[DayOff]] = {}
    for off in days_off:
        if off.day == day:
            by_member.setdefault(off.user_id, []).append(off)
    working = day.weekday() in workdays and holiday is None
    expected: list[RosterEntry] = []
    on_leave: list[RosterEntry] = []
    for member in staff_members(members, staff_role_id):
        if member.joined is not None and member.joined > day:
            continue
        portions = by_member.get(member.user_id, [])
        away, label = describe_day_off(portions) if portions else (False, "")
        if away:
            on_leave.append(RosterEntry(member.user_id, label))
        elif working:
            expected.append(RosterEntry(member.user_id, label or None))
    return Roster(
        day=day,
        workday=working,
        holiday=holiday,
        expected=tuple(expected),
        on_leave=tuple(on_leave),
    )


# -- streaks and on-time rates ---------------------------------------------------------------
@dataclass(frozen=True)
class MemberStats:
    user_id: int
    expected: int  # expected days counted (today only once filed)
    filed: int  # of those, days with a report
    on_time: int  # of those, reports filed before the day's summary
    streak: int  # consecutive expected days with a report, up to today

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.expected if self.expected else None

    @property
    def filed_rate(self) -> float | None:
        return self.filed / self.expected if self.expected else None


def counted_days(expected_days: Iterable[date], filed: Collection[date], today: date) -> list[date]:
    """Expected days that count for rates, oldest first: every past one, and today once it has a
    report (today is not missed before it is over)."""
    return sorted({d for d in expected_days if d < today or (d == today and d in filed)})


def current_streak(expected_days: Iterable[date], filed: Collection[date], today: date) -> int:
    """Consecutive expected days with a report, counting back from today (an unfiled today
    neither counts nor breaks the streak). Days nobody expected a report are skipped."""
    streak = 0
    for day in reversed(counted_days(expected_days, filed, today)):
        if day not in filed:
            break
        streak += 1
    return streak


def member_stats(
    user_id: int, expected_days: Iterable[date], reports: Mapping[date, bool], today: date
) -> MemberStats:
    """``reports`` maps each filed date to whether it was late."""
    days = counted_days(expected_days, reports, today)
    filed = [d for d in days if d in reports]
    return MemberStats(
        user_id=user_id,
        expected=len(days),
        filed=len(filed),
        on_time=sum(1 for d in filed if not reports[d]),
        streak=current_streak(days, reports, today),
    )


def sorted_member_stats(
    user_id: int,
    expected_days: Sequence[date],
    reports: Mapping[date, bool],
    first: date,
    last: date,
    today: date,
) -> MemberStats:
    """``member_stats`` over [first, last] for the rates and up to ``today`` for the streak, in
    one call, for expected days already ascending and unique (as the stats' tally builds
    them): no sets and no sorting, which were most of a year's stats for 500 members."""
    in_range = expected_days[bisect_left(expected_days, first) : bisect_right(expected_days, last)]
    filed = on_time = 0
    for day in in_range:
        late = reports.get(day)
        if late is not None:
            filed += 1
            on_time += not late
    # The streak counts back from today when it is filed, else from the day before.
    before = bisect_left(expected_days, today)
    expected_today = before < len(expected_days) and expected_days[before] == today
    streak = 1 if expected_today and today in reports else 0
    for day in reversed(expected_days[:before]):
        if day not in reports:
            break
        streak += 1
    return MemberStats(
        user_id=user_id,
        expected=len(in_range),
        filed=filed,
        on_time=on_time,
        streak=streak,
    )


def format_rate(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.0%}"


@dataclass(frozen=True)
class DayPoint:
    """One day of the stats chart."""

    day: date
    expected: int
    filed: int
    tasks_completed: int


def by_week(points: Sequence[DayPoint]) -> list[DayPoint]:
    """Daily points summed per week (Monday first); each point is dated on its Monday."""
    weeks: dict[date, DayPoint] = {}
    for point in points:
        monday = point.day - timedelta(days=point.day.weekday())
        seen = weeks.get(monday)
        weeks[monday] = DayPoint(
            day=monday,
            expected=point.expected + (seen.expected if seen else 0),
            filed=point.filed + (seen.filed if seen else 0),
            tasks_completed=point.tasks_completed + (seen.tasks_completed if seen else 0),
        )
    return [weeks[k] for k in sorted(weeks)]


# -- the day's summary -----------------------------------------------------------------------
@dataclass(frozen=True)
class SummaryData:
    day: date
    roster: Roster
    reports: tuple[Report, ...]
    names: Mapping[int, str]
    # Tasks completed that day, by assignee: labels such as "#12 Fix the printer".
    completed: Mapping[int, tuple[str, ...]]
    # Overdue tasks per member (as they were at the day's end, for a past day).
    overdue: Mapping[int, int]
    # Members with their own timezone whose day ends after the office's and is not over yet:
    # neither filed nor missing.
    not_due: tuple[RosterEntry, ...] = ()
    # Members who pressed Skip today (the note is their reason): neither filed nor missing.
    skipped: tuple[RosterEntry, ...] = ()


def not_due_yet(
    roster: Roster,
    filed_ids: Collection[int],
    zones: Mapping[int, ZoneInfo],
    guild_zone: ZoneInfo,
    summary_at: time,
    now: datetime,
) -> tuple[RosterEntry, ...]:
    """Expected members without a report whose own day ends after the office's and has not
    ended at ``now`` (a member in New York at a Manila office's 18:30): not due yet, so not
    missing. ``zones`` holds the members with a timezone of their own."""
    office = summary_deadline(roster.day, summary_at, guild_zone)
    waiting: list[RosterEntry] = []
    for entry in roster.expected:
        zone = zones.get(entry.user_id)
        if entry.user_id in filed_ids or zone is None:
            continue
        own = summary_deadline(roster.day, summary_at, zone)
        if own > office and now < own:
            waiting.append(entry)
    return tuple(waiting)


# -- the manager digest ----------------------------------------------------------------------
@dataclass(frozen=True)
class OverdueTask:
    task_id: int
    title: str
    assignee_id: int | None
    due: date
    days_overdue: int


@dataclass(frozen=True)
class PendingLeave:
    count: int
    oldest_age: timedelta | None = None
    link: str | None = None


@dataclass(frozen=True)
class OpenBlocker:
    report_id: int
    user_id: int
    day: date
    text: str
    task_id: int | None = None


@dataclass(frozen=True)
class DigestData:
    day: date
    out_today: tuple[RosterEntry, ...]
    # Out on the office's next working day (Monday after a Friday, the day after a holiday).
    out_tomorrow: tuple[RosterEntry, ...]
    pending: PendingLeave
    overdue: tuple[OverdueTask, ...]
    missing_day: date | None
    missing: tuple[RosterEntry, ...]
    blockers: tuple[OpenBlocker, ...]
    # The office's next working day; None: the day after ``day``.
    next_day: date | None = None
    # The other check-ins of the past week, one line each ("Friday retro: 4 / 5 answered").
    checkins: tuple[str, ...] = ()


# Room kept free in a field for "… and 1234 more".
