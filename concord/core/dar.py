"""Daily activity reports: the rules, with no I/O.

What a valid report is, which local date a member files for, when a report is late, how long it
stays editable, who is expected to file on a date (the roster), streaks and on-time rates, and
the composition of the day's summary and the manager digest into Discord-sized messages.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from concord.core.dates import parse_date
from concord.core.embed_pages import (
    ELLIPSIS,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    MESSAGE_EMBED_CHARS,
    ButtonSpec,
    EmbedSpec,
    FieldSpec,
    Item,
    MessageSpec,
    chunk_lines,
    first_lines,
    pack,
    pack_sections,
    truncate,
)
from concord.core.jobs import scheduled_instant
from concord.core.schedule import WEEKDAY_ALIASES
from concord.core.text import escape_markdown, without_control
from concord.errors import UserError

DONE_MAX = 4000
PLAN_MAX = 4000
BLOCKERS_MAX = 1000
HOURS_MAX_MINUTES = 24 * 60
SUMMARY_COLOUR = 0x5865F2
DIGEST_COLOUR = 0xFEE75C
# How much of a report the summary shows: the first lines of Done, the blockers in bold.
SUMMARY_DONE_LINES = 3
SUMMARY_DONE_CHARS = 350
SUMMARY_BLOCKER_CHARS = 300

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
            f"`{truncate(text.strip(), 40)}` is not a number of hours; "
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
    return truncate(line, limit)


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


def blocker_custom_id(report_id: int) -> str:
    return f"dar:blocker:{report_id}"


def _name(names: Mapping[int, str], user_id: int) -> str:
    return names.get(user_id) or f"member {user_id}"


def summary_field(report: Report, data: SummaryData) -> FieldSpec:
    """One report condensed: member and flags as the name, Done's first lines, Blockers bold."""
    return report_field(
        report,
        _name(data.names, report.user_id),
        data.roster.note_for(report.user_id),
        data.overdue.get(report.user_id, 0),
    )


def report_field(report: Report, name: str, note: str | None, overdue: int) -> FieldSpec:
    flags = [name]
    if report.minutes is not None:
        flags.append(format_hours(report.minutes))
    if report.late:
        flags.append("late")
    if note:
        flags.append(note)
    if overdue:
        flags.append(f"{overdue} overdue task{'s' if overdue != 1 else ''}")
    value = escape_markdown(first_lines(report.done, SUMMARY_DONE_LINES, SUMMARY_DONE_CHARS))
    if report.blockers:
        blocker = truncate(" ".join(report.blockers.split()), SUMMARY_BLOCKER_CHARS)
        value += f"\n**Blockers: {escape_markdown(blocker)}**"
    return FieldSpec(name=" · ".join(flags), value=truncate(value, FIELD_VALUE_MAX))


def compose_follow_up(report: Report, name: str, note: str | None = None) -> MessageSpec:
    """The line added to a posted summary when a member who was not due yet then files."""
    button = None
    if report.blockers:
        button = ButtonSpec(blocker_custom_id(report.id), f"Make task: {name}")
    return pack(
        f"Filed after the summary — {format_day(report.day)}",
        f"<@{report.user_id}> filed their report for {format_day(report.day)}: it was not due "
        "yet when the summary went out.",
        [Item(report_field(report, name, note, 0), button)],
        colour=SUMMARY_COLOUR,
    )[0]


def _listed(name: str, entries: Sequence[str], separator: str = ", ") -> list[Item]:
    """A list section as one or more fields (``Missing (40)``, ``Missing (cont.)``)."""
    chunks = chunk_lines(entries, FIELD_VALUE_MAX, separator)
    return [
        Item(FieldSpec(name if i == 0 else f"{name} (cont.)", chunk))
        for i, chunk in enumerate(chunks)
    ]


def _mention(entry: RosterEntry) -> str:
    return f"<@{entry.user_id}>" + (f" ({entry.note})" if entry.note else "")


def summary_headline(data: SummaryData) -> str:
    roster = data.roster
    filed_ids = {r.user_id for r in data.reports}
    expected = roster.expected_ids - {e.user_id for e in data.not_due}
    filed_expected = len(expected & filed_ids)
    parts = [f"**{filed_expected} / {len(expected)}** expected reports filed"]
    if data.not_due:
        parts.append(f"{len(data.not_due)} not due yet")
    late = sum(1 for r in data.reports if r.late)
    if late:
        parts.append(f"{late} late")
    extra = len(filed_ids - expected)
    if extra:
        parts.append(f"{extra} more from members not expected today")
    if roster.on_leave:
        parts.append(f"{len(roster.on_leave)} on leave")
    line = " · ".join(parts)
    if roster.holiday:
        line += f"\nHoliday: {escape_markdown(roster.holiday)}"
    elif not roster.workday:
        line += "\nNot a workday."
    return line


def late_note(scheduled: time, zone: str) -> str:
    """The line a scheduled post carries when it went out after its time (the bot was down);
    the time is the office's, so the text names the zone."""
    return f"*Posted late: I was offline at {scheduled:%H:%M} ({zone} time).*"


def compose_summary(data: SummaryData, note: str | None = None) -> list[MessageSpec]:
    """The day's summary as messages within Discord's limits (one Make task button per blocker);
    ``note`` is added under the headline."""
    filed_ids = {r.user_id for r in data.reports}
    waiting = {e.user_id for e in data.not_due}
    missing = [
        e for e in data.roster.expected if e.user_id not in filed_ids and e.user_id not in waiting
    ]
    items: list[Item] = []
    if missing:
        items += _listed(f"Missing ({len(missing)})", [_mention(e) for e in missing])
    if data.not_due:
        items += _listed(f"Not due yet ({len(data.not_due)})", [_mention(e) for e in data.not_due])
    if data.roster.on_leave:
        items += _listed(
            f"On leave ({len(data.roster.on_leave)})", [_mention(e) for e in data.roster.on_leave]
        )
    ordered = sorted(data.reports, key=lambda r: (_name(data.names, r.user_id).lower(), r.id))
    for report in ordered:
        button = None
        if report.blockers:
            button = ButtonSpec(
                blocker_custom_id(report.id), f"Make task: {_name(data.names, report.user_id)}"
            )
        items.append(Item(summary_field(report, data), button))
    completed_lines = [
        f"<@{user_id}>: " + ", ".join(labels)
        for user_id, labels in sorted(
            data.completed.items(), key=lambda kv: _name(data.names, kv[0]).lower()
        )
        if labels
    ]
    if completed_lines:
        total = sum(len(v) for v in data.completed.values())
        items += _listed(f"Tasks completed ({total})", completed_lines, "\n")
    headline = summary_headline(data) + (f"\n{note}" if note else "")
    return pack(
        f"Daily reports — {format_day(data.day)}",
        headline,
        items,
        colour=SUMMARY_COLOUR,
    )


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


def format_age(age: timedelta) -> str:
    """``3 d 4 h``, ``5 h``, ``12 min``."""
    minutes = max(0, int(age.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


def _overdue_lines(tasks: Sequence[OverdueTask]) -> list[str]:
    by_member: dict[int | None, list[OverdueTask]] = {}
    for task in tasks:
        by_member.setdefault(task.assignee_id, []).append(task)
    ordered = sorted(
        by_member.items(),
        key=lambda kv: (-len(kv[1]), kv[0] is None, kv[0] or 0),
    )
    lines: list[str] = []
    for assignee, member_tasks in ordered:
        member_tasks.sort(key=lambda t: (-t.days_overdue, t.task_id))
        who = f"<@{assignee}>" if assignee is not None else "Unassigned"
        shown = [
            f"#{t.task_id} {escape_markdown(truncate(t.title, 60))} ({t.days_overdue} d)"
            for t in member_tasks[:3]
        ]
        more = len(member_tasks) - len(shown)
        tail = f" +{more} more" if more else ""
        lines.append(f"{who} ({len(member_tasks)}): " + "; ".join(shown) + tail)
    return lines


def _pending_line(pending: PendingLeave) -> str:
    if pending.count == 0:
        return "None waiting."
    line = f"**{pending.count}** waiting"
    if pending.oldest_age is not None:
        line += f", the oldest for {format_age(pending.oldest_age)}"
    if pending.link:
        line += f" — [open]({pending.link})"
    return line


def _blocker_line(blocker: OpenBlocker) -> str:
    text = escape_markdown(truncate(" ".join(blocker.text.split()), 140))
    line = f"<@{blocker.user_id}> ({short_day(blocker.day)}): {text}"
    if blocker.task_id is not None:
        line += f" → task #{blocker.task_id}"
    return line


def _share_budget(needs: Sequence[int], budget: int) -> list[int]:
    """Split ``budget`` between sections needing ``needs`` characters: nobody gets more than
    they need, and what a small section leaves over goes to the bigger ones."""
    shares = [0] * len(needs)
    order = sorted(range(len(needs)), key=lambda i: needs[i])
    remaining = budget
    for position, index in enumerate(order):
        fair = remaining // (len(order) - position)
        shares[index] = min(needs[index], fair)
        remaining -= shares[index]
    return shares


# Room kept free in a field for "… and 1234 more".
_MORE_NOTE_ROOM: int = len("\n… and 99999 more")


def _section_fields(name: str, lines: Sequence[str], budget: int, empty: str) -> list[FieldSpec]:
    """A section as fields spending at most ``budget`` characters (names included); what does
    not fit is counted in a closing "… and N more"."""
    if not lines:
        return [FieldSpec(name, empty)]
    fields: list[FieldSpec] = []
    field_name, used = name, 0
    current: list[str] = []
    spent = len(name)
    for index, raw in enumerate(lines):
        line = truncate(raw, FIELD_VALUE_MAX - _MORE_NOTE_ROOM)
        add = len(line) + (1 if current else 0)
        if used + add > FIELD_VALUE_MAX - _MORE_NOTE_ROOM:
            next_name = f"{name} (cont.)"
            if spent + len(next_name) + len(line) + _MORE_NOTE_ROOM > budget:
                current.append(f"{ELLIPSIS} and {len(lines) - index} more")
                break
            fields.append(FieldSpec(field_name, "\n".join(current)))
            field_name, current, used = next_name, [line], len(line)
            spent += len(next_name) + len(line)
            continue
        if spent + add + _MORE_NOTE_ROOM > budget:
            current.append(f"{ELLIPSIS} and {len(lines) - index} more")
            break
        current.append(line)
        used += add
        spent += add
    fields.append(FieldSpec(field_name, "\n".join(current)))
    return fields


def digest_headline(data: DigestData) -> str:
    parts = [
        f"{len(data.out_today)} out today",
        f"{data.pending.count} leave request{'s' if data.pending.count != 1 else ''} pending",
        f"{len(data.overdue)} overdue task{'s' if len(data.overdue) != 1 else ''}",
        f"{len(data.missing)} missing report{'s' if len(data.missing) != 1 else ''}",
        f"{len(data.blockers)} open blocker{'s' if len(data.blockers) != 1 else ''}",
    ]
    return " · ".join(parts)


def compose_digest(data: DigestData, note: str | None = None) -> MessageSpec:
    """The morning digest as one message within Discord's limits, whatever the team's size;
    ``note`` is added under the headline."""
    title = f"Manager digest — {format_day(data.day)}"
    tomorrow = data.day + timedelta(days=1)
    next_day = data.next_day or tomorrow
    next_label = "Out tomorrow" if next_day == tomorrow else "Out next working day"
    description = digest_headline(data) + (f"\n{note}" if note else "")
    sections: list[tuple[str, list[str], str]] = [
        (
            f"Out today ({len(data.out_today)})",
            [_mention(e) for e in data.out_today],
            "Nobody.",
        ),
        (
            f"{next_label}, {short_day(next_day)} ({len(data.out_tomorrow)})",
            [_mention(e) for e in data.out_tomorrow],
            "Nobody.",
        ),
        ("Pending leave requests", [_pending_line(data.pending)], "None waiting."),
        (
            f"Overdue tasks ({len(data.overdue)})",
            _overdue_lines(data.overdue),
            "None.",
        ),
        (
            f"Missing reports, {short_day(data.missing_day)} ({len(data.missing)})"
            if data.missing_day
            else "Missing reports",
            [_mention(e) for e in data.missing],
            "None." if data.missing_day else "Nothing to check yet.",
        ),
        (
            f"Open blockers ({len(data.blockers)})",
            [_blocker_line(b) for b in data.blockers],
            "None.",
        ),
    ]
    budget = MESSAGE_EMBED_CHARS - len(title) - len(description)
    # What each section would take in full (a "(cont.)" name per field it spills into).
    needs = [
        max(len(name) + len(empty), len(name) + sum(len(line) + 1 for line in lines))
        + (len(lines) * 200 // FIELD_VALUE_MAX + 1) * (len(name) + _MORE_NOTE_ROOM + 8)
        for name, lines, empty in sections
    ]
    fields: list[FieldSpec] = []
    for (name, lines, empty), share in zip(sections, _share_budget(needs, budget), strict=True):
        fields += _section_fields(name, lines, share, empty)
    fields = fields[:FIELDS_MAX]
    embed = EmbedSpec(
        title=title, description=description, fields=tuple(fields), colour=DIGEST_COLOUR
    )
    return MessageSpec(embeds=(embed,))


def report_messages(report: Report, name: str, note: str | None = None) -> list[MessageSpec]:
    """One report in full (Done, Plan, Blockers), as many messages as its length needs."""
    facts = [f"Filed <t:{int(report.submitted_at.timestamp())}:f>"]
    if report.late:
        facts.append("late (after the day's summary)")
    if report.edits:
        facts.append(
            f"edited {report.edits} time{'s' if report.edits != 1 else ''}, "
            f"last <t:{int(report.updated_at.timestamp())}:R>"
        )
    if report.minutes is not None:
        facts.append(format_hours(report.minutes))
    if note:
        facts.append(note)
    head = EmbedSpec(
        title=f"Daily report — {name} — {format_day(report.day)}",
        description=" · ".join(facts),
        colour=SUMMARY_COLOUR,
    )
    sections = [("Done", escape_markdown(report.done)), ("Plan", escape_markdown(report.plan))]
    if report.blockers:
        sections.append(("Blockers", escape_markdown(report.blockers)))
    return pack_sections(head, sections, colour=SUMMARY_COLOUR)


def reminder_text(day: date, note: str | None, overdue: Sequence[str], *, guild_name: str) -> str:
    """The DM sent to a member whose report for ``day`` is not in yet."""
    text = (
        f"Your daily report for **{format_day(day)}** in {guild_name} isn't in yet. "
        "Press **Submit DAR** to file it (it takes a minute)."
    )
    if note:
        text += f"\n(Noted: {note} today.)"
    if overdue:
        text += (
            f"\nYou also have {len(overdue)} overdue task{'s' if len(overdue) != 1 else ''}: "
            + ", ".join(escape_markdown(label) for label in overdue[:5])
            + (f" +{len(overdue) - 5} more" if len(overdue) > 5 else "")
        )
    return truncate(text, 2000)
