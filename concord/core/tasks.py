"""Tasks: fields and validation, the status transitions, recurrence, who may do what, due dates,
sorting and reminder decisions. Pure: the caller passes ``now``/``today`` and the guild's
timezone, workdays and holidays; nothing here reads a clock or the database."""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from concord.core.actor import Actor
from concord.core.dates import format_day, parse_date_time
from concord.core.jobs import scheduled_instant
from concord.core.text import without_control
from concord.errors import PermissionDenied, UserError

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
NOTE_MAX = 500
COMMENT_MAX = 1000

STATUSES: tuple[str, ...] = ("open", "in_progress", "blocked", "done", "cancelled")
LIVE_STATUSES: frozenset[str] = frozenset({"open", "in_progress", "blocked"})
CLOSED_STATUSES: frozenset[str] = frozenset({"done", "cancelled"})
STATUS_LABELS: dict[str, str] = {
    "open": "Open",
    "in_progress": "In progress",
    "blocked": "Blocked",
    "done": "Done",
    "cancelled": "Cancelled",
}
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
# Lower rank sorts first.
PRIORITY_RANK: dict[str, int] = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
REPEATS: tuple[str, ...] = ("none", "daily", "weekdays", "weekly", "monthly")
REPEAT_LABELS: dict[str, str] = {
    "none": "Does not repeat",
    "daily": "Every day",
    "weekdays": "Every working day",
    "weekly": "Every week",
    "monthly": "Every month",
}

# open ↔ in_progress ↔ blocked; any live state → done or cancelled; done/cancelled → open.
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "done", "cancelled"}),
    "in_progress": frozenset({"open", "blocked", "done", "cancelled"}),
    "blocked": frozenset({"in_progress", "done", "cancelled"}),
    "done": frozenset({"open"}),
    "cancelled": frozenset({"open"}),
}

# A weekdays series looks this far ahead for the next working day before giving up.
RECURRENCE_HORIZON_DAYS = 3660
_TASK_REF: re.Pattern[str] = re.compile(r"^\s*#?\s*(\d{1,18})\b")
_SPACES: re.Pattern[str] = re.compile(r"\s+")


@dataclass(frozen=True)
class Task:
    id: int
    guild_id: int
    title: str
    description: str
    creator_id: int
    assignee_id: int | None
    status: str
    priority: str
    due_date: date | None
    due_time: time | None
    repeat: str
    repeat_day: int | None
    series_id: int | None
    previous_id: int | None
    next_id: int | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    card_channel_id: int | None = None
    card_message_id: int | None = None
    source_url: str | None = None
    block_reason: str | None = None
    skip_holidays: bool = False
    # Set on an occurrence moved off a holiday: the day its series' rhythm gave it.
    rhythm_date: date | None = None

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def label(self) -> str:
        return f"#{self.id} {self.title}"


@dataclass(frozen=True)
class TaskEvent:
    """One line of a task's history: a status change, an assignment, an edit."""

    id: int
    task_id: int
    actor_id: int
    kind: str  # 'created' | 'status' | 'assigned' | 'edited'
    from_value: str | None
    to_value: str | None
    note: str | None
    at: datetime


@dataclass(frozen=True)
class TaskComment:
    id: int
    task_id: int
    author_id: int
    body: str
    at: datetime


@dataclass(frozen=True)
class TaskDraft:
    """Validated input for a new task."""

    title: str
    description: str = ""
    assignee_id: int | None = None
    priority: str = "normal"
    due_date: date | None = None
    due_time: time | None = None
    repeat: str = "none"
    source_url: str | None = None
    # None: on for an every-working-day series, off otherwise (see skips_holidays).
    skip_holidays: bool | None = None
    rhythm_date: date | None = None

    @property
    def skips_holidays(self) -> bool:
        return self.repeat == "weekdays" if self.skip_holidays is None else self.skip_holidays


@dataclass(frozen=True)
class TaskChanges:
    """Validated edits; a field left as None is unchanged. The due changes only when
    ``set_due`` is true, to ``due_date``/``due_time`` (both None removes it)."""

    title: str | None = None
    description: str | None = None
    priority: str | None = None
    repeat: str | None = None
    set_due: bool = False
    due_date: date | None = None
    due_time: time | None = None
    # With set_due: the day the series' rhythm gave (a move off a holiday keeps the rhythm).
    rhythm_date: date | None = None


# -- validation ------------------------------------------------------------------------------
def clean_title(text: str) -> str:
    """One line, trimmed, 1–200 characters."""
    title = _SPACES.sub(" ", without_control(text)).strip()
    if not title:
        raise UserError("Give the task a title.")
    if len(title) > TITLE_MAX:
        raise UserError(f"A title is at most {TITLE_MAX} characters (this one has {len(title)}).")
    return title


def clean_description(text: str | None) -> str:
    description = without_control(text or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise UserError(
            f"A description is at most {DESCRIPTION_MAX} characters (this one has {len(description)})."
        )
    return description


def clean_note(text: str | None, *, what: str = "A note") -> str | None:
    note = without_control(text or "").strip()
    if not note:
        return None
    if len(note) > NOTE_MAX:
        raise UserError(f"{what} is at most {NOTE_MAX} characters (this one has {len(note)}).")
    return note


def clean_comment(text: str) -> str:
    body = without_control(text).strip()
    if not body:
        raise UserError("A comment cannot be empty.")
    if len(body) > COMMENT_MAX:
        raise UserError(
            f"A comment is at most {COMMENT_MAX} characters (this one has {len(body)})."
        )
    return body


def _choice(value: str, allowed: Sequence[str], what: str) -> str:
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    if key not in allowed:
        raise UserError(f"`{value}` is not a {what}; use one of: {', '.join(allowed)}.")
    return key


def parse_priority(value: str) -> str:
    return _choice(value, PRIORITIES, "priority")


def parse_status(value: str) -> str:
    return _choice(value, STATUSES, "status")


def parse_repeat(value: str) -> str:
    return _choice(value, REPEATS, "repeat rule")


def parse_task_ref(text: str) -> int | None:
    """The task id in ``12``, ``#12`` or ``#12 Fix the printer`` (an autocomplete choice)."""
    match = _TASK_REF.match(text)
    return int(match.group(1)) if match else None


def search_words(text: str | None) -> list[str]:
    """Lower-cased words of a search, for matching titles and descriptions."""
    return [word for word in (text or "").casefold().split() if word]


# -- due dates -------------------------------------------------------------------------------
def deadline(due_date: date, due_time: time | None, tz: ZoneInfo) -> datetime:
    """The instant (in UTC) a task becomes overdue: its due time, or the end of its due day.
    UTC, because arithmetic on a zoned datetime is wall-clock arithmetic: "24 h before" must
    be 24 real hours even across a daylight-saving change."""
    if due_time is not None:
        return scheduled_instant(due_date, due_time, tz).astimezone(UTC)
    return scheduled_instant(due_date + timedelta(days=1), time(0, 0), tz).astimezone(UTC)


def task_deadline(task: Task, tz: ZoneInfo) -> datetime | None:
    return None if task.due_date is None else deadline(task.due_date, task.due_time, tz)


def parse_due(text: str, now: datetime, tz: ZoneInfo) -> tuple[date, time | None]:
    """``fri``, ``3 Dec``, ``2026-12-03 17:00``… in the guild's timezone."""
    return parse_date_time(text, now.astimezone(tz).date())


def check_due_not_past(due_date: date, due_time: time | None, now: datetime, tz: ZoneInfo) -> None:
    """A new due date must not be in the past (today without a time is fine)."""
    if due_time is None:
        today = now.astimezone(tz).date()
        if due_date < today:
            raise UserError(
                f"The due date {format_day(due_date)} is in the past; give today "
                f"({format_day(today)}) or a later day, or leave it empty for no due date."
            )
        return
    if deadline(due_date, due_time, tz) <= now:
        local = now.astimezone(tz)
        raise UserError(
            f"The due time {format_day(due_date)} {due_time.strftime('%H:%M')} is in the past "
            f"(it is {format_day(local.date())} {local:%H:%M} now, {tz.key} time); "
            "give a later time."
        )


def format_due(due_date: date, due_time: time | None) -> str:
    """Storage-neutral text form: ``2026-12-04`` or ``2026-12-04 17:00`` (parse_due reads it)."""
    text = due_date.isoformat()
    return f"{text} {due_time.strftime('%H:%M')}" if due_time else text


def is_overdue(task: Task, now: datetime, tz: ZoneInfo) -> bool:
    end = task_deadline(task, tz)
    return task.is_live and end is not None and now >= end


def task_as_of(task: Task, later_events: Sequence[TaskEvent]) -> Task:
    """The task as it was before ``later_events`` (its history after some moment, any order):
    each status change, assignment and due-date edit undone, newest first."""
    status, assignee, due_date, due_time = (
        task.status,
        task.assignee_id,
        task.due_date,
        task.due_time,
    )
    for event in sorted(later_events, key=lambda e: e.id, reverse=True):
        if event.kind == "status" and event.from_value is not None:
            status = event.from_value
        elif event.kind == "assigned":
            assignee = int(event.from_value) if event.from_value else None
        elif event.kind == "edited" and event.from_value:
            before = json.loads(event.from_value).get("due")
            if before is not None:
                due_date = date.fromisoformat(before[0]) if before[0] else None
                due_time = time.fromisoformat(before[1]) if before[1] else None
    return replace(task, status=status, assignee_id=assignee, due_date=due_date, due_time=due_time)


def days_overdue(task: Task, now: datetime, tz: ZoneInfo) -> int:
    """Whole days since the task's deadline (the end of a date-only due day): the figure the
    card's relative "… days ago" shows, so a message quoting both agrees with itself."""
    end = task_deadline(task, tz)
    return 0 if end is None or now < end else (now - end).days


def days_past_due(task: Task, today: date) -> int:
    """Calendar days since the due date (0 on the due day itself)."""
    return 0 if task.due_date is None else (today - task.due_date).days


# -- building validated input ----------------------------------------------------------------
def make_draft(
    *,
    title: str,
    now: datetime,
    tz: ZoneInfo,
    description: str | None = None,
    assignee_id: int | None = None,
    priority: str | None = None,
    due: str | None = None,
    repeat: str | None = None,
    source_url: str | None = None,
    skip_holidays: bool | None = None,
) -> TaskDraft:
    """A new task from what the user typed; UserError on anything invalid."""
    due_date, due_time = parse_due(due, now, tz) if due and due.strip() else (None, None)
    draft = TaskDraft(
        title=clean_title(title),
        description=clean_description(description),
        assignee_id=assignee_id,
        priority=parse_priority(priority) if priority else "normal",
        due_date=due_date,
        due_time=due_time,
        repeat=parse_repeat(repeat) if repeat else "none",
        source_url=source_url,
        skip_holidays=skip_holidays,
    )
    validate_draft(draft, now, tz)
    return draft


def validate_draft(draft: TaskDraft, now: datetime, tz: ZoneInfo) -> None:
    """The rules a new task must meet (checked again by the manager at the write)."""
    clean_title(draft.title)
    clean_description(draft.description)
    parse_priority(draft.priority)
    parse_repeat(draft.repeat)
    if draft.due_time is not None and draft.due_date is None:
        raise UserError("A due time needs a due date.")
    if draft.due_date is not None:
        check_due_not_past(draft.due_date, draft.due_time, now, tz)
    elif draft.repeat != "none":
        raise UserError("A repeating task needs a due date (the first occurrence).")


def changes_from_form(
    before: Task,
    *,
    title: str,
    description: str,
    due: str,
    priority: str,
    repeat: str,
    now: datetime,
    tz: ZoneInfo,
) -> TaskChanges:
    """What the edit form changed compared to ``before`` (the task as the form showed it).
    An empty due removes it; a changed due may not be in the past."""
    new_title = clean_title(title)
    new_description = clean_description(description)
    new_priority = parse_priority(priority) if priority.strip() else before.priority
    new_repeat = parse_repeat(repeat) if repeat.strip() else "none"
    shown_due = format_due(before.due_date, before.due_time) if before.due_date else ""
    due_text = due.strip()
    due_date, due_time = before.due_date, before.due_time
    if due_text != shown_due:
        if due_text:
            due_date, due_time = parse_due(due_text, now, tz)
            check_due_not_past(due_date, due_time, now, tz)
        else:
            due_date, due_time = None, None
    if new_repeat != "none" and due_date is None:
        raise UserError("A repeating task needs a due date.")
    due_changed = (due_date, due_time) != (before.due_date, before.due_time)
    return TaskChanges(
        title=new_title if new_title != before.title else None,
        description=new_description if new_description != before.description else None,
        priority=new_priority if new_priority != before.priority else None,
        repeat=new_repeat if new_repeat != before.repeat else None,
        set_due=due_changed,
        due_date=due_date if due_changed else None,
        due_time=due_time if due_changed else None,
    )


def changes_are_empty(changes: TaskChanges) -> bool:
    return changes == TaskChanges()


# -- transitions and permissions --------------------------------------------------------------
def check_transition(task: Task, to_status: str) -> None:
    """UserError unless ``task`` may move from its status to ``to_status``."""
    if task.status == to_status:
        raise UserError(f"Task #{task.id} is already {STATUS_LABELS[to_status].lower()}.")
    if to_status not in TRANSITIONS[task.status]:
        allowed = ", ".join(STATUS_LABELS[s].lower() for s in sorted(TRANSITIONS[task.status]))
        raise UserError(
            f"Task #{task.id} is {STATUS_LABELS[task.status].lower()}; it can only become {allowed}."
        )


def is_involved(actor: Actor, task: Task) -> bool:
    return actor.user_id in (task.creator_id, task.assignee_id)


def check_can_assign(actor: Actor, assignee_id: int | None, task_assign: str) -> None:
    """Assigning to yourself (or nobody) is always allowed; to someone else per the setting."""
    if assignee_id is None or assignee_id == actor.user_id:
        return
    if task_assign == "managers" and not actor.is_manager:
        raise PermissionDenied("In this server only managers can assign tasks to someone else.")


def check_can_change_status(actor: Actor, task: Task, to_status: str) -> None:
    if to_status == "cancelled":
        check_can_manage(actor, task, "cancel")
        return
    if actor.is_manager or is_involved(actor, task):
        return
    raise PermissionDenied(
        f"Only the assignee, the creator or a manager can change the status of task #{task.id}."
    )


def check_can_manage(actor: Actor, task: Task, verb: str) -> None:
    """Edit, reassign and cancel: the creator or a manager."""
    if actor.is_manager or actor.user_id == task.creator_id:
        return
    raise PermissionDenied(f"Only the creator or a manager can {verb} task #{task.id}.")


def check_can_reassign(actor: Actor, task: Task, assignee_id: int, task_assign: str) -> None:
    check_can_manage(actor, task, "reassign")
    if not task.is_live:
        raise UserError(
            f"Task #{task.id} is {STATUS_LABELS[task.status].lower()}; reopen it first."
        )
    if task.assignee_id == assignee_id:
        raise UserError(f"Task #{task.id} is already assigned to <@{assignee_id}>.")
    check_can_assign(actor, assignee_id, task_assign)


def check_can_claim(actor: Actor, task: Task) -> None:
    if not task.is_live:
        raise UserError(
            f"Task #{task.id} is {STATUS_LABELS[task.status].lower()}; it cannot be claimed."
        )
    if task.assignee_id == actor.user_id:
        raise UserError(f"Task #{task.id} is already yours.")
    if task.assignee_id is not None:
        raise PermissionDenied(
            f"Task #{task.id} is assigned to <@{task.assignee_id}>; only unassigned tasks can be claimed."
        )


def check_can_edit(actor: Actor, task: Task) -> None:
    check_can_manage(actor, task, "edit")


# -- recurrence ------------------------------------------------------------------------------
def add_month(day: date, anchor_day: int) -> date:
    """The anchor day of the month after ``day``'s, clamped to that month's last day
    (31 Jan → 28/29 Feb → 31 Mar with anchor 31)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def _working_day_from(
    start: date, step: int, workdays: frozenset[int], holidays: Collection[date]
) -> date | None:
    """The first workday that is not a holiday, walking ``step`` days at a time from ``start``
    (not counting it), within the recurrence horizon."""
    candidate = start
    for _ in range(RECURRENCE_HORIZON_DAYS):
        candidate += timedelta(days=step)
        if candidate.weekday() in workdays and candidate not in holidays:
            return candidate
    return None


def next_working_day(after: date, workdays: frozenset[int], holidays: Collection[date]) -> date:
    """The first day after ``after`` that is a workday and not a holiday."""
    found = _working_day_from(after, 1, workdays, holidays)
    if found is None:
        raise UserError("There is no working day in the next ten years to repeat this task on.")
    return found


def next_due_date(
    due: date,
    repeat: str,
    *,
    anchor_day: int | None = None,
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4}),
    holidays: Collection[date] = (),
    completed_on: date | None = None,
) -> date:
    """The due date of the occurrence after one due on ``due``.

    The series keeps its rhythm (weekly stays on its weekday, monthly on its anchor day), and the
    next occurrence is strictly after both the due date and the day it was completed, so a task
    finished late does not leave a backlog of already-missed occurrences.
    """
    if repeat not in REPEATS or repeat == "none":
        raise ValueError(f"{repeat!r} is not a repeat rule with a next occurrence")
    floor = max(due, completed_on) if completed_on else due
    if repeat == "weekdays":
        return next_working_day(floor, workdays, holidays)
    if repeat == "daily":
        return floor + timedelta(days=1)
    if repeat == "weekly":
        weeks = (floor - due).days // 7 + 1
        return due + timedelta(days=7 * weeks)
    anchor = anchor_day or due.day
    candidate = add_month(due, anchor)
    while candidate <= floor:
        candidate = add_month(candidate, anchor)
    return candidate


def previous_working_day(
    before: date, workdays: frozenset[int], holidays: Collection[date]
) -> date:
    """The last day before ``before`` that is a workday and not a holiday."""
    found = _working_day_from(before, -1, workdays, holidays)
    if found is None:
        raise UserError("There is no working day in the ten years before this date.")
    return found


def off_holiday(
    day: date,
    repeat: str,
    *,
    after: date,
    workdays: frozenset[int],
    holidays: Collection[date],
) -> date:
    """Where an occurrence due on a holiday goes when its series skips holidays: a daily one
    to the next day that is not a holiday; others to the working day before (done ahead of
    the day off), or after the holiday when the day before is not after ``after`` (the
    occurrence it follows)."""
    if day not in holidays:
        return day
    if repeat == "daily":
        candidate = day
        while candidate in holidays:
            candidate += timedelta(days=1)
        return candidate
    earlier = previous_working_day(day, workdays, holidays)
    if earlier > after:
        return earlier
    return next_working_day(day, workdays, holidays)


# -- lists and sorting -----------------------------------------------------------------------
def sort_key(task: Task, now: datetime, tz: ZoneInfo) -> tuple[int, int, datetime, int, int]:
    """Overdue first, then by due date (no due last), then priority, then oldest first."""
    end = task_deadline(task, tz)
    return (
        0 if is_overdue(task, now, tz) else 1,
        0 if end is not None else 1,
        end if end is not None else now,
        PRIORITY_RANK[task.priority],
        task.id,
    )


def sort_tasks(tasks: Iterable[Task], now: datetime, tz: ZoneInfo) -> list[Task]:
    live = [t for t in tasks if t.is_live]
    closed = [t for t in tasks if not t.is_live]
    live.sort(key=lambda t: sort_key(t, now, tz))
    # Closed tasks: most recently finished first.
    closed.sort(key=lambda t: (t.completed_at or t.updated_at, t.id), reverse=True)
    return live + closed


def page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


# -- reminders -------------------------------------------------------------------------------
DUE_SOON = timedelta(hours=24)


def due_soon_at(task: Task, tz: ZoneInfo, digest: time) -> datetime | None:
    """When the "due within 24 h" DM goes out: 24 h before a due time, or at the digest time
    on the due day for a date-only task (its deadline is the end of that day), so nobody gets
    a DM at midnight."""
    if task.due_date is None:
        return None
    if task.due_time is not None:
        return deadline(task.due_date, task.due_time, tz) - DUE_SOON
    return scheduled_instant(task.due_date, digest, tz).astimezone(UTC)


def due_soon_key(task: Task) -> str:
    """Once per task per due value: moving the due date arms a new reminder."""
    assert task.due_date is not None
    return f"{task.id}:{format_due(task.due_date, task.due_time)}"


def needs_due_soon_reminder(task: Task, now: datetime, tz: ZoneInfo, digest: time) -> bool:
    """Live, assigned, not overdue yet, and the reminder time has come. A task created after
    its reminder time gets none: the assignment DM already showed the due date."""
    at = due_soon_at(task, tz, digest)
    end = task_deadline(task, tz)
    if at is None or end is None or task.assignee_id is None or not task.is_live:
        return False
    return at <= now < end and task.created_at < at


def needs_escalation(task: Task, now: datetime, tz: ZoneInfo, overdue_days: int) -> bool:
    """Overdue for ``overdue_days`` calendar days or more (counted from the due date)."""
    if not is_overdue(task, now, tz):
        return False
    return days_past_due(task, now.astimezone(tz).date()) >= overdue_days


def escalation_key(task: Task) -> str:
    assert task.due_date is not None
    return f"{task.id}:{format_due(task.due_date, task.due_time)}"


def overdue_by_assignee(
    tasks: Iterable[Task], now: datetime, tz: ZoneInfo
) -> dict[int, list[Task]]:
    """Overdue assigned tasks grouped by assignee, each list in sort order."""
    grouped: dict[int, list[Task]] = {}
    for task in tasks:
        if task.assignee_id is not None and is_overdue(task, now, tz):
            grouped.setdefault(task.assignee_id, []).append(task)
    return {user: sort_tasks(items, now, tz) for user, items in sorted(grouped.items())}
