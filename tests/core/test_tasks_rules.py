"""Task rules: validation, transitions, permissions, recurrence, due dates, sorting, reminders."""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concord.core.tasks import (
    STATUSES,
    TRANSITIONS,
    Actor,
    Task,
    TaskChanges,
    add_month,
    changes_are_empty,
    changes_from_form,
    check_can_assign,
    check_can_change_status,
    check_can_claim,
    check_can_edit,
    check_can_reassign,
    check_transition,
    clean_comment,
    clean_description,
    clean_note,
    clean_title,
    deadline,
    due_soon_at,
    is_overdue,
    make_draft,
    needs_due_soon_reminder,
    needs_escalation,
    next_due_date,
    next_working_day,
    overdue_by_assignee,
    parse_priority,
    parse_repeat,
    parse_status,
    parse_task_ref,
    sort_tasks,
)
from concord.errors import PermissionDenied, UserError

UTC_TZ = ZoneInfo("UTC")
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
MON_FRI = frozenset({0, 1, 2, 3, 4})
CREATOR, ASSIGNEE, MANAGER, OTHER = 1, 2, 3, 4


def make_task(**fields: object) -> Task:
    base = Task(
        id=7,
        guild_id=100,
        title="Fix the printer",
        description="",
        creator_id=CREATOR,
        assignee_id=ASSIGNEE,
        status="open",
        priority="normal",
        due_date=None,
        due_time=None,
        repeat="none",
        repeat_day=None,
        series_id=None,
        previous_id=None,
        next_id=None,
        created_at=NOW - timedelta(days=3),
        updated_at=NOW - timedelta(days=3),
        completed_at=None,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


# -- validation -------------------------------------------------------------------------------
def test_title_is_trimmed_to_one_line_and_limited() -> None:
    assert clean_title("  Fix\n the   printer ") == "Fix the printer"
    assert clean_title("x" * 200) == "x" * 200
    with pytest.raises(UserError, match="at most 200"):
        clean_title("x" * 201)
    with pytest.raises(UserError, match="title"):
        clean_title("   ")


def test_description_note_and_comment_limits() -> None:
    assert clean_description(None) == ""
    assert clean_description("d" * 2000) == "d" * 2000
    with pytest.raises(UserError, match="2000"):
        clean_description("d" * 2001)
    assert clean_note("  ") is None
    with pytest.raises(UserError, match="500"):
        clean_note("n" * 501)
    with pytest.raises(UserError, match="empty"):
        clean_comment(" ")
    with pytest.raises(UserError, match="1000"):
        clean_comment("c" * 1001)


def test_control_characters_are_dropped_from_task_texts() -> None:
    # SQLite's length() stops at a NUL: "\x00abc" would fail the schema's length check.
    assert clean_title("\x00Fix\x07 the printer\x1b") == "Fix the printer"
    with pytest.raises(UserError, match="title"):
        clean_title("\x00\x01")
    assert clean_description("a\x00b\nc") == "ab\nc"
    assert clean_note("\x00") is None
    with pytest.raises(UserError, match="empty"):
        clean_comment("\x00 \x7f")


def test_choices_are_parsed_leniently_and_refused_clearly() -> None:
    assert parse_priority(" High ") == "high"
    assert parse_status("in progress") == "in_progress"
    assert parse_status("in-progress") == "in_progress"
    assert parse_repeat("Weekdays") == "weekdays"
    with pytest.raises(UserError, match="not a priority"):
        parse_priority("asap")
    with pytest.raises(UserError, match="not a status"):
        parse_status("finished")
    with pytest.raises(UserError, match="not a repeat rule"):
        parse_repeat("hourly")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("#12", 12),
        ("#12 Fix the printer", 12),
        (" # 3", 3),
        ("printer", None),
        ("", None),
    ],
)
def test_task_reference(text: str, expected: int | None) -> None:
    assert parse_task_ref(text) == expected


def test_draft_parses_due_and_refuses_the_past() -> None:
    draft = make_draft(title="Report", due="fri 17:00", priority="high", now=NOW, tz=UTC_TZ)
    assert draft.due_date == date(2026, 12, 4)
    assert draft.due_time == time(17, 0)
    assert draft.priority == "high"
    today = make_draft(title="Today", due="today", now=NOW, tz=UTC_TZ)
    assert today.due_date == date(2026, 12, 1)
    with pytest.raises(UserError, match="in the past"):
        make_draft(title="Late", due="yesterday", now=NOW, tz=UTC_TZ)
    with pytest.raises(UserError, match="in the past"):
        make_draft(title="Late", due="08:00", now=NOW, tz=UTC_TZ)
    with pytest.raises(UserError, match="not a date"):
        make_draft(title="Bad", due="someday", now=NOW, tz=UTC_TZ)
    with pytest.raises(UserError, match="needs a due date"):
        make_draft(title="Chore", repeat="daily", now=NOW, tz=UTC_TZ)


def test_draft_due_uses_the_guild_timezone() -> None:
    # 23:30 UTC on 1 Dec is already 2 Dec in Auckland: "today" is the 2nd there.
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    draft = make_draft(title="x", due="today", now=late, tz=ZoneInfo("Pacific/Auckland"))
    assert draft.due_date == date(2026, 12, 2)


# -- transitions ------------------------------------------------------------------------------
@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("target", STATUSES)
def test_transition_table(source: str, target: str) -> None:
    live = {"open", "in_progress", "blocked"}
    chain = {
        ("open", "in_progress"),
        ("in_progress", "open"),
        ("in_progress", "blocked"),
        ("blocked", "in_progress"),
    }
    allowed = (
        (source, target) in chain
        or (source in live and target in {"done", "cancelled"})
        or (source in {"done", "cancelled"} and target == "open")
    )
    task = make_task(status=source)
    if allowed:
        check_transition(task, target)
        assert target in TRANSITIONS[source]
    else:
        with pytest.raises(UserError):
            check_transition(task, target)


def test_transition_messages_say_why() -> None:
    with pytest.raises(UserError, match="already done"):
        check_transition(make_task(status="done"), "done")
    with pytest.raises(UserError, match="can only become"):
        check_transition(make_task(status="open"), "blocked")


# -- permissions ------------------------------------------------------------------------------
ACTORS = {
    "creator": Actor(CREATOR),
    "assignee": Actor(ASSIGNEE),
    "manager": Actor(MANAGER, is_manager=True),
    "other": Actor(OTHER),
}


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("setting", ["anyone", "managers"])
def test_assign_on_create(who: str, setting: str) -> None:
    actor = ACTORS[who]
    check_can_assign(actor, None, setting)
    check_can_assign(actor, actor.user_id, setting)
    if setting == "managers" and not actor.is_manager:
        with pytest.raises(PermissionDenied, match="only managers"):
            check_can_assign(actor, 99, setting)
    else:
        check_can_assign(actor, 99, setting)


@pytest.mark.parametrize("who", ACTORS)
def test_status_change_permissions(who: str) -> None:
    task = make_task()
    if who == "other":
        with pytest.raises(PermissionDenied, match="assignee, the creator or a manager"):
            check_can_change_status(ACTORS[who], task, "in_progress")
    else:
        check_can_change_status(ACTORS[who], task, "in_progress")
        check_can_change_status(ACTORS[who], task, "done")


@pytest.mark.parametrize("who", ACTORS)
def test_edit_reassign_and_cancel_need_creator_or_manager(who: str) -> None:
    task = make_task()
    allowed = who in ("creator", "manager")
    checks = [
        lambda: check_can_edit(ACTORS[who], task),
        lambda: check_can_reassign(ACTORS[who], task, 55, "anyone"),
        lambda: check_can_change_status(ACTORS[who], task, "cancelled"),
    ]
    for check in checks:
        if allowed:
            check()
        else:
            with pytest.raises(PermissionDenied, match="creator or a manager"):
                check()


def test_reassign_follows_the_assign_setting_and_state() -> None:
    task = make_task()
    with pytest.raises(PermissionDenied, match="only managers"):
        check_can_reassign(ACTORS["creator"], task, 55, "managers")
    check_can_reassign(ACTORS["creator"], task, CREATOR, "managers")  # to themselves
    check_can_reassign(ACTORS["manager"], task, 55, "managers")
    with pytest.raises(UserError, match="already assigned"):
        check_can_reassign(ACTORS["manager"], task, ASSIGNEE, "anyone")
    with pytest.raises(UserError, match="reopen it first"):
        check_can_reassign(ACTORS["manager"], make_task(status="done"), 55, "anyone")


@pytest.mark.parametrize("who", ACTORS)
def test_claim_unassigned_is_open_to_anyone(who: str) -> None:
    check_can_claim(ACTORS[who], make_task(assignee_id=None))
    with pytest.raises(UserError, match="cannot be claimed"):
        check_can_claim(ACTORS[who], make_task(assignee_id=None, status="done"))
    if who == "assignee":
        with pytest.raises(UserError, match="already yours"):
            check_can_claim(ACTORS[who], make_task())
    else:
        with pytest.raises(PermissionDenied, match="only unassigned"):
            check_can_claim(ACTORS[who], make_task())


# -- recurrence -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("due", "anchor", "expected"),
    [
        (date(2026, 1, 31), 31, date(2026, 2, 28)),
        (date(2026, 2, 28), 31, date(2026, 3, 31)),
        (date(2028, 1, 31), 31, date(2028, 2, 29)),  # leap year
        (date(2026, 4, 30), 31, date(2026, 5, 31)),
        (date(2026, 12, 15), 15, date(2027, 1, 15)),
        (date(2026, 1, 30), 30, date(2026, 2, 28)),
    ],
)
def test_monthly_clamps_to_month_end_and_keeps_its_anchor(
    due: date, anchor: int, expected: date
) -> None:
    assert next_due_date(due, "monthly", anchor_day=anchor) == expected


def test_monthly_series_does_not_drift() -> None:
    due = date(2026, 1, 31)
    seen = []
    for _ in range(12):
        due = next_due_date(due, "monthly", anchor_day=31)
        seen.append(due)
    assert seen == [date(2026, m, calendar.monthrange(2026, m)[1]) for m in range(2, 13)] + [
        date(2027, 1, 31)
    ]


def test_weekdays_skip_weekends_and_holidays() -> None:
    friday = date(2026, 12, 4)
    assert next_due_date(friday, "weekdays", workdays=MON_FRI) == date(2026, 12, 7)
    christmas = {date(2026, 12, 25), date(2026, 12, 28)}
    assert next_due_date(
        date(2026, 12, 24), "weekdays", workdays=MON_FRI, holidays=christmas
    ) == date(2026, 12, 29)
    sun_thu = frozenset({6, 0, 1, 2, 3})
    assert next_due_date(date(2026, 12, 3), "weekdays", workdays=sun_thu) == date(2026, 12, 6)


def test_late_completion_skips_missed_occurrences_but_keeps_rhythm() -> None:
    monday = date(2026, 11, 30)
    assert next_due_date(monday, "daily", completed_on=date(2026, 12, 2)) == date(2026, 12, 3)
    assert next_due_date(monday, "weekly", completed_on=date(2026, 12, 2)) == date(2026, 12, 7)
    assert next_due_date(monday, "weekly", completed_on=date(2026, 12, 14)) == date(2026, 12, 21)
    assert next_due_date(
        monday, "weekdays", workdays=MON_FRI, completed_on=date(2026, 12, 4)
    ) == date(2026, 12, 7)
    # Early completion: the next one follows the due date, not the completion day.
    assert next_due_date(monday, "daily", completed_on=date(2026, 11, 28)) == date(2026, 12, 1)
    assert next_due_date(
        date(2026, 1, 31), "monthly", anchor_day=31, completed_on=date(2026, 3, 5)
    ) == date(2026, 3, 31)


def test_no_working_day_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="no working day"):
        next_working_day(date(2026, 1, 1), frozenset(), ())
    with pytest.raises(ValueError):
        next_due_date(date(2026, 1, 1), "none")


dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(dates, st.integers(min_value=1, max_value=31), st.integers(min_value=0, max_value=120))
def test_monthly_property(due: date, anchor: int, late_days: int) -> None:
    completed = due + timedelta(days=late_days)
    nxt = next_due_date(due, "monthly", anchor_day=anchor, completed_on=completed)
    assert nxt > due and nxt > completed
    assert nxt.day == min(anchor, calendar.monthrange(nxt.year, nxt.month)[1])
    # It is the first such day after the floor: the previous month's would not qualify.
    months_between = (nxt.year - due.year) * 12 + nxt.month - due.month
    assert months_between >= 1


@given(
    dates,
    st.frozensets(st.integers(min_value=0, max_value=6), min_size=1),
    st.frozensets(dates, max_size=30),
    st.integers(min_value=0, max_value=30),
)
def test_weekdays_property(
    due: date, workdays: frozenset[int], holidays: frozenset[date], late: int
) -> None:
    completed = due + timedelta(days=late)
    nxt = next_due_date(
        due, "weekdays", workdays=workdays, holidays=holidays, completed_on=completed
    )
    assert nxt > completed
    assert nxt.weekday() in workdays and nxt not in holidays
    day = completed + timedelta(days=1)
    while day < nxt:  # every day skipped was not a working day
        assert day.weekday() not in workdays or day in holidays
        day += timedelta(days=1)


@given(dates, st.integers(min_value=0, max_value=60))
def test_weekly_and_daily_property(due: date, late: int) -> None:
    completed = due + timedelta(days=late)
    weekly = next_due_date(due, "weekly", completed_on=completed)
    assert weekly.weekday() == due.weekday() and completed < weekly <= completed + timedelta(days=7)
    assert next_due_date(due, "daily", completed_on=completed) == completed + timedelta(days=1)


def test_add_month_wraps_the_year() -> None:
    assert add_month(date(2026, 12, 31), 31) == date(2027, 1, 31)


# -- due dates, overdue and sorting -----------------------------------------------------------
def test_deadline_is_due_time_or_end_of_day_in_guild_time() -> None:
    assert deadline(date(2026, 12, 4), time(17, 0), LONDON) == datetime(2026, 12, 4, 17, tzinfo=UTC)
    assert deadline(date(2026, 7, 4), time(17, 0), LONDON) == datetime(2026, 7, 4, 16, tzinfo=UTC)
    assert deadline(date(2026, 12, 4), None, LONDON) == datetime(2026, 12, 5, 0, tzinfo=UTC)


def test_overdue_only_when_live_and_past_deadline() -> None:
    task = make_task(due_date=date(2026, 11, 30))
    assert is_overdue(task, NOW, UTC_TZ)
    assert not is_overdue(make_task(due_date=date(2026, 12, 1)), NOW, UTC_TZ)  # due today
    assert not is_overdue(replace(task, status="done"), NOW, UTC_TZ)
    assert not is_overdue(make_task(), NOW, UTC_TZ)


def test_sorting_overdue_first_then_due_then_priority() -> None:
    tasks = [
        make_task(id=1, priority="urgent"),  # no due
        make_task(id=2, due_date=date(2026, 12, 3), priority="low"),
        make_task(id=3, due_date=date(2026, 12, 3), priority="high"),
        make_task(id=4, due_date=date(2026, 11, 20)),  # overdue
        make_task(id=5, due_date=date(2026, 12, 2), due_time=time(9, 0)),
        make_task(id=6, status="done", completed_at=NOW),
        make_task(id=8, due_date=date(2026, 11, 29), priority="urgent"),  # overdue
    ]
    assert [t.id for t in sort_tasks(tasks, NOW, UTC_TZ)] == [4, 8, 5, 3, 2, 1, 6]


# -- reminders --------------------------------------------------------------------------------
def test_due_soon_reminder_time() -> None:
    timed = make_task(due_date=date(2026, 12, 2), due_time=time(15, 0))
    assert due_soon_at(timed, UTC_TZ, time(9, 0)) == datetime(2026, 12, 1, 15, tzinfo=UTC)
    dated = make_task(due_date=date(2026, 12, 2))
    assert due_soon_at(dated, UTC_TZ, time(9, 0)) == datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert due_soon_at(make_task(), UTC_TZ, time(9, 0)) is None


def test_due_soon_is_24_real_hours_across_a_dst_change() -> None:
    # 10:00 BST on 28 Mar 2027 is 09:00 UTC; 24 hours earlier is 09:00 GMT the day before.
    task = make_task(due_date=date(2027, 3, 28), due_time=time(10, 0))
    assert due_soon_at(task, LONDON, time(9, 0)) == datetime(2027, 3, 27, 9, 0, tzinfo=UTC)
    # Date-only: the digest time on the due day, in local time.
    day = make_task(due_date=date(2027, 3, 28))
    assert due_soon_at(day, LONDON, time(9, 0)) == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)


def test_needs_due_soon_reminder_window() -> None:
    task = make_task(due_date=date(2026, 12, 2), due_time=time(15, 0))
    digest = time(9, 0)
    assert not needs_due_soon_reminder(
        task, datetime(2026, 12, 1, 14, 59, tzinfo=UTC), UTC_TZ, digest
    )
    assert needs_due_soon_reminder(task, datetime(2026, 12, 1, 15, 0, tzinfo=UTC), UTC_TZ, digest)
    assert not needs_due_soon_reminder(
        task, datetime(2026, 12, 2, 15, 0, tzinfo=UTC), UTC_TZ, digest
    )
    assert not needs_due_soon_reminder(
        replace(task, assignee_id=None), datetime(2026, 12, 1, 16, tzinfo=UTC), UTC_TZ, digest
    )
    assert not needs_due_soon_reminder(
        replace(task, status="done"), datetime(2026, 12, 1, 16, tzinfo=UTC), UTC_TZ, digest
    )
    # Created inside the window: the assignment DM already said when it is due.
    fresh = replace(task, created_at=datetime(2026, 12, 1, 16, tzinfo=UTC))
    assert not needs_due_soon_reminder(fresh, datetime(2026, 12, 1, 17, tzinfo=UTC), UTC_TZ, digest)


def test_escalation_after_configured_days() -> None:
    task = make_task(due_date=date(2026, 11, 29))
    assert not needs_escalation(task, datetime(2026, 11, 30, 9, tzinfo=UTC), UTC_TZ, 2)
    assert needs_escalation(task, datetime(2026, 12, 1, 9, tzinfo=UTC), UTC_TZ, 2)
    assert not needs_escalation(task, datetime(2026, 12, 1, 9, tzinfo=UTC), UTC_TZ, 3)
    assert not needs_escalation(replace(task, status="cancelled"), NOW, UTC_TZ, 1)


def test_overdue_grouped_by_assignee() -> None:
    tasks = [
        make_task(id=1, due_date=date(2026, 11, 1), assignee_id=5),
        make_task(id=2, due_date=date(2026, 11, 2), assignee_id=2),
        make_task(id=3, due_date=date(2026, 10, 1), assignee_id=5),
        make_task(id=4, due_date=date(2026, 10, 1), assignee_id=None),
        make_task(id=9, due_date=date(2027, 1, 1), assignee_id=5),
    ]
    grouped = overdue_by_assignee(tasks, NOW, UTC_TZ)
    assert {u: [t.id for t in ts] for u, ts in grouped.items()} == {2: [2], 5: [3, 1]}


# -- edit form --------------------------------------------------------------------------------
def test_changes_from_form_reports_only_what_changed() -> None:
    before = make_task(due_date=date(2026, 12, 4), due_time=time(17, 0), priority="high")
    same = changes_from_form(
        before,
        title="Fix the printer",
        description="",
        due="2026-12-04 17:00",
        priority="high",
        repeat="none",
        now=NOW,
        tz=UTC_TZ,
    )
    assert changes_are_empty(same)
    changed = changes_from_form(
        before,
        title="Fix printer 2",
        description="Toner",
        due="2026-12-05",
        priority="urgent",
        repeat="weekly",
        now=NOW,
        tz=UTC_TZ,
    )
    assert changed == TaskChanges(
        title="Fix printer 2",
        description="Toner",
        priority="urgent",
        repeat="weekly",
        set_due=True,
        due_date=date(2026, 12, 5),
        due_time=None,
    )
    cleared = changes_from_form(
        before,
        title="Fix the printer",
        description="",
        due="",
        priority="high",
        repeat="none",
        now=NOW,
        tz=UTC_TZ,
    )
    assert cleared.set_due and cleared.due_date is None


def test_changes_from_form_validates() -> None:
    before = make_task(due_date=date(2026, 11, 20))  # already overdue: keeping it is fine
    kept = changes_from_form(
        before,
        title="New",
        description="",
        due="2026-11-20",
        priority="normal",
        repeat="none",
        now=NOW,
        tz=UTC_TZ,
    )
    assert kept.title == "New" and not kept.set_due
    with pytest.raises(UserError, match="in the past"):
        changes_from_form(
            before,
            title="New",
            description="",
            due="2026-11-21",
            priority="normal",
            repeat="none",
            now=NOW,
            tz=UTC_TZ,
        )
    with pytest.raises(UserError, match="needs a due date"):
        changes_from_form(
            before,
            title="New",
            description="",
            due="",
            priority="normal",
            repeat="daily",
            now=NOW,
            tz=UTC_TZ,
        )
    with pytest.raises(UserError, match="not a priority"):
        changes_from_form(
            before,
            title="New",
            description="",
            due="2026-11-20",
            priority="meh",
            repeat="none",
            now=NOW,
            tz=UTC_TZ,
        )
