"""The DAR rules: validation, dates, lateness, the edit window, the roster, streaks, layouts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from concord.core.dar import (
    BLOCKERS_MAX,
    DONE_MAX,
    PORTION_AM,
    PORTION_FULL,
    PORTION_OFF_DUTY,
    PORTION_PM,
    DayOff,
    DayPoint,
    DigestData,
    Member,
    OpenBlocker,
    OverdueTask,
    PendingLeave,
    Report,
    RosterEntry,
    SummaryData,
    by_week,
    check_report_day,
    counted_days,
    current_streak,
    edit_window_end,
    expected_roster,
    first_line,
    format_hours,
    is_late,
    local_date,
    member_stats,
    parse_hours,
    parse_report_date,
    validate_report,
    zone_for,
)
from concord.core.dar_layout import (
    compose_digest,
    compose_summary,
    format_age,
    reminder_text,
    report_messages,
)
from concord.core.embed_pages import (
    BUTTONS_PER_MESSAGE,
    EMBEDS_PER_MESSAGE,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    MESSAGE_EMBED_CHARS,
)
from concord.errors import UserError

MON = date(2026, 11, 30)
WEEKDAYS = frozenset(range(5))
STAFF = 77


# -- validation ------------------------------------------------------------------------------
def test_a_valid_report_is_trimmed_and_hours_are_exact_minutes() -> None:
    draft = validate_report("  fixed the printer \n", " order toner ", "  ", "7.5")
    assert (draft.done, draft.plan, draft.blockers, draft.minutes) == (
        "fixed the printer",
        "order toner",
        None,
        450,
    )


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("8", 480),
        ("7,5", 450),
        ("7:30", 450),
        ("7h30", 450),
        ("0", 0),
        ("24", 1440),
        ("6.25h", 375),
        ("", None),
        (None, None),
    ],
)
def test_hours_forms(text: str | None, minutes: int | None) -> None:
    assert parse_hours(text) == minutes


@pytest.mark.parametrize("text", ["25", "-1", "abc", "7:75", "24.5", "1e3", "7.555"])
def test_bad_hours_are_refused_with_the_range(text: str) -> None:
    with pytest.raises(UserError, match="0 to 24"):
        parse_hours(text)


def test_format_hours() -> None:
    assert [format_hours(m) for m in (480, 450, 440, None)] == ["8 h", "7.5 h", "7 h 20 min", ""]


@pytest.mark.parametrize(
    ("done", "plan", "blockers", "message"),
    [
        ("", "p", None, "Done can't be empty"),
        ("d", "   ", None, "Plan can't be empty"),
        ("x" * (DONE_MAX + 1), "p", None, "Done is 4001 characters; the limit is 4000"),
        ("d", "x" * 4001, None, "Plan is 4001"),
        ("d", "p", "x" * (BLOCKERS_MAX + 1), "Blockers is 1001 characters; the limit is 1000"),
        ("\x00 \x07", "p", None, "Done can't be empty"),  # only control characters
    ],
)
def test_invalid_reports_name_the_problem(
    done: str, plan: str, blockers: str | None, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        validate_report(done, plan, blockers, None)


def test_control_characters_are_dropped() -> None:
    # SQLite's length() stops at a NUL: "\x00done" would fail the schema's length check.
    draft = validate_report("\x00done", "pl\x1ban\nnext", "\x00", None)
    assert (draft.done, draft.plan, draft.blockers) == ("done", "plan\nnext", None)


def test_none_as_blockers_means_no_blockers() -> None:
    assert validate_report("d", "p", "None", None).blockers is None
    assert validate_report("d", "p", "waiting on IT", None).blockers == "waiting on IT"


# -- dates, lateness, edit window ------------------------------------------------------------
def test_the_members_zone_decides_the_date() -> None:
    now = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    assert local_date(now, zone_for(None, "Europe/London")) == date(2026, 12, 1)
    assert local_date(now, zone_for("Asia/Tokyo", "Europe/London")) == date(2026, 12, 2)
    assert local_date(now, zone_for("America/Los_Angeles", "UTC")) == date(2026, 12, 1)


def test_late_means_after_that_days_summary_in_the_guilds_zone() -> None:
    zone = ZoneInfo("Europe/Berlin")  # summary 19:00 Berlin = 18:00 UTC in December
    day = date(2026, 12, 1)
    assert not is_late(datetime(2026, 12, 1, 17, 59, tzinfo=UTC), day, time(19), zone)
    assert not is_late(datetime(2026, 12, 1, 18, 0, tzinfo=UTC), day, time(19), zone)
    assert is_late(datetime(2026, 12, 1, 18, 1, tzinfo=UTC), day, time(19), zone)
    assert is_late(datetime(2026, 12, 2, 8, 0, tzinfo=UTC), day, time(19), zone)


def test_edit_window() -> None:
    today = date(2026, 12, 3)
    check_report_day(today, today, 2, editing=False)
    check_report_day(date(2026, 12, 1), today, 2, editing=True)
    with pytest.raises(
        UserError, match="can no longer be edited: reports can be changed up to 2 days"
    ):
        check_report_day(date(2026, 11, 30), today, 2, editing=True)
    with pytest.raises(UserError, match="too far back"):
        check_report_day(date(2026, 11, 30), today, 2, editing=False)
    with pytest.raises(UserError, match="hasn't happened yet"):
        check_report_day(date(2026, 12, 4), today, 2, editing=False)
    with pytest.raises(UserError, match="until the next day"):
        check_report_day(date(2026, 12, 2), today, 0, editing=True)


# -- the roster ------------------------------------------------------------------------------
def members(*ids: int, staff: bool = True) -> list[Member]:
    return [Member(i, f"m{i}", frozenset({STAFF} if staff else set())) for i in ids]


def roster(day: date, people: list[Member], offs: list[DayOff], **kw: object):  # type: ignore[no-untyped-def]
    return expected_roster(
        day,
        people,
        staff_role_id=kw.get("staff_role_id", STAFF),  # type: ignore[arg-type]
        workdays=WEEKDAYS,
        holiday=kw.get("holiday"),  # type: ignore[arg-type]
        days_off=offs,
    )


def test_roster_with_every_leave_portion() -> None:
    people = members(1, 2, 3, 4, 5, 6)
    offs = [
        DayOff(1, MON, PORTION_FULL),
        DayOff(2, MON, PORTION_AM),
        DayOff(3, MON, PORTION_PM),
        DayOff(4, MON, PORTION_OFF_DUTY, time(14), time(16)),
        DayOff(5, MON, PORTION_AM),
        DayOff(5, MON, PORTION_PM),  # AM + PM = the whole day
        DayOff(6, MON + timedelta(days=1), PORTION_FULL),  # another day
    ]
    result = roster(MON, people, offs)
    assert result.expected == (
        RosterEntry(2, "AM off"),
        RosterEntry(3, "PM off"),
        RosterEntry(4, "off 14:00–16:00"),
        RosterEntry(6, None),
    )
    assert result.on_leave == (RosterEntry(1, "full day"), RosterEntry(5, "full day"))


def test_roster_staff_role_bots_weekends_and_holidays() -> None:
    people = [
        *members(1, 2),
        *members(3, staff=False),
        Member(9, "bot", frozenset({STAFF}), bot=True),
    ]
    assert roster(MON, people, []).expected_ids == {1, 2}
    assert roster(MON, people, [], staff_role_id=None).expected_ids == {1, 2, 3}
    saturday = MON + timedelta(days=5)
    assert roster(saturday, people, []).expected == ()
    holiday = roster(MON, people, [], holiday="Founders' Day")
    assert holiday.expected == () and holiday.holiday == "Founders' Day" and not holiday.workday


portions = st.sampled_from([PORTION_FULL, PORTION_AM, PORTION_PM, PORTION_OFF_DUTY])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 12), st.booleans(), st.booleans()),
        max_size=12,
        unique_by=lambda t: t[0],
    ),
    st.lists(st.tuples(st.integers(1, 12), portions, st.integers(0, 6)), max_size=30),
    st.integers(0, 6),
    st.booleans(),
)
def test_roster_properties(
    raw_members: list[tuple[int, bool, bool]],
    raw_offs: list[tuple[int, str, int]],
    offset: int,
    is_holiday: bool,
) -> None:
    day = MON + timedelta(days=offset)
    people = [
        Member(i, f"m{i}", frozenset({STAFF} if staff else set()), bot=bot)
        for i, staff, bot in raw_members
    ]
    offs = [DayOff(u, MON + timedelta(days=d), p, time(10), time(11)) for u, p, d in raw_offs]
    result = roster(day, people, offs, holiday="H" if is_holiday else None)
    staff_ids = {m.user_id for m in people if STAFF in m.role_ids and not m.bot}
    today_offs = [o for o in offs if o.day == day]
    away = {
        o.user_id
        for o in today_offs
        if o.portion == PORTION_FULL
        or {PORTION_AM, PORTION_PM} <= {x.portion for x in today_offs if x.user_id == o.user_id}
    }
    # Nobody on a full day off is ever expected; everyone expected is staff.
    assert not result.expected_ids & result.on_leave_ids
    assert result.expected_ids <= staff_ids
    assert result.on_leave_ids == away & staff_ids
    if day.weekday() < 5 and not is_holiday:
        assert result.expected_ids == staff_ids - away
        for entry in result.expected:
            has_part_off = any(o.user_id == entry.user_id for o in today_offs)
            assert (entry.note is not None) == has_part_off
    else:
        assert result.expected == ()


# -- streaks and on-time rates ---------------------------------------------------------------
def test_streak_and_rate_example() -> None:
    days = [MON + timedelta(days=i) for i in range(5)]  # Mon..Fri
    today = days[4]
    reports = {days[0]: False, days[2]: True, days[3]: False}  # Tue missed, Wed late
    stats = member_stats(1, days, reports, today)
    # Friday is not filed yet: it neither counts nor breaks the streak.
    assert (stats.expected, stats.filed, stats.on_time, stats.streak) == (4, 3, 2, 2)
    assert stats.on_time_rate == 0.5
    reports[today] = False
    assert member_stats(1, days, reports, today).streak == 3


day_sets = st.sets(st.integers(0, 60), max_size=40)


@settings(max_examples=300, deadline=None)
@given(day_sets, day_sets, day_sets, st.integers(0, 70))
def test_streak_and_rate_properties(
    expected_raw: set[int], filed_raw: set[int], late_raw: set[int], today_raw: int
) -> None:
    base = date(2026, 1, 1)
    today = base + timedelta(days=today_raw)
    expected = [base + timedelta(days=i) for i in expected_raw]
    reports = {base + timedelta(days=i): i in late_raw for i in filed_raw}
    stats = member_stats(7, expected, reports, today)
    counted = counted_days(expected, reports, today)
    assert 0 <= stats.on_time <= stats.filed <= stats.expected == len(counted)
    assert 0 <= stats.streak <= stats.filed
    if stats.expected:
        assert stats.on_time_rate is not None and 0 <= stats.on_time_rate <= 1
    else:
        assert stats.on_time_rate is None and stats.streak == 0
    # The streak is exactly the run of filed days at the end of the counted days.
    tail = 0
    for d in reversed(counted):
        if d not in reports:
            break
        tail += 1
    assert stats.streak == tail
    # Filing a missed expected day never lowers the streak or the rates.
    missed = [d for d in counted if d not in reports]
    if missed:
        better = {**reports, missed[0]: False}
        improved = member_stats(7, expected, better, today)
        assert improved.streak >= stats.streak
        assert improved.filed == stats.filed + 1
        assert improved.on_time == stats.on_time + 1
    # Reports on days nobody expected change nothing.
    extra = base + timedelta(days=100)
    assume(extra not in expected)
    assert member_stats(7, expected, {**reports, extra: False}, today) == stats


def test_streak_ignores_future_expected_days() -> None:
    days = [MON, MON + timedelta(days=1), MON + timedelta(days=2)]
    assert current_streak(days, {MON}, MON + timedelta(days=1)) == 1


# -- the summary -----------------------------------------------------------------------------
def make_report(
    report_id: int, user_id: int, *, blockers: str | None = None, late: bool = False
) -> Report:
    at = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    return Report(
        id=report_id,
        guild_id=1,
        user_id=user_id,
        day=date(2026, 12, 1),
        done="\n".join(f"did item {k} for the office, carefully" for k in range(8)),
        plan="more",
        blockers=blockers,
        minutes=450,
        submitted_at=at,
        updated_at=at,
        late=late,
    )


def big_summary(count: int) -> SummaryData:
    day = date(2026, 12, 1)
    people = members(*range(1, count + 1))
    offs = [DayOff(i, day, PORTION_FULL) for i in range(1, count + 1, 10)]
    offs += [DayOff(i, day, PORTION_AM) for i in range(2, count + 1, 10)]
    the_roster = roster(day, people, offs)
    reports = tuple(
        make_report(
            1000 + i,
            i,
            blockers="waiting for the VPN token " * 20 if i % 3 == 0 else None,
            late=i % 7 == 0,
        )
        for i in range(1, count + 1)
        if i % 10 not in (1, 5)
    )
    return SummaryData(
        day=day,
        roster=the_roster,
        reports=reports,
        names={m.user_id: f"Member Number {m.user_id}" for m in people},
        completed={
            i: tuple(f"#{i * 10 + k} Task title {k}" for k in range(3))
            for i in range(1, count + 1, 2)
        },
        overdue={i: 2 for i in range(1, count + 1, 4)},
    )


def test_summary_for_three_hundred_members_is_paged_within_limits() -> None:
    data = big_summary(300)
    messages = compose_summary(data)
    assert len(messages) > 1
    for message in messages:
        assert len(message.embeds) <= EMBEDS_PER_MESSAGE
        assert message.size <= MESSAGE_EMBED_CHARS
        assert len(message.buttons) <= BUTTONS_PER_MESSAGE
        for embed in message.embeds:
            assert len(embed.fields) <= FIELDS_MAX
            assert all(len(f.value) <= FIELD_VALUE_MAX for f in embed.fields)
    head = messages[0].embeds[0]
    expected_filed = len(data.roster.expected_ids & {r.user_id for r in data.reports})
    assert f"**{expected_filed} / {len(data.roster.expected)}**" in (head.description or "")
    text = "\n".join(f"{f.name}\n{f.value}" for m in messages for e in m.embeds for f in e.fields)
    # Every report, every missing member, everyone on leave and every completed task is there.
    for report in data.reports:
        assert f"Member Number {report.user_id} ·" in text
    for user_id in data.roster.expected_ids - {r.user_id for r in data.reports}:
        assert f"<@{user_id}>" in text
    for entry in data.roster.on_leave:
        assert f"<@{entry.user_id}> (full day)" in text
    assert "#31 Task title 1" in text and "#2991 Task title 1" in text
    assert "**Blockers: waiting for the VPN token" in text
    buttons = [b.custom_id for m in messages for b in m.buttons]
    assert buttons == [
        f"dar:blocker:{r.id}"
        for r in sorted(data.reports, key=lambda r: f"member number {r.user_id}")
        if r.blockers
    ]


def test_summary_flags_late_partial_days_and_overdue() -> None:
    data = big_summary(12)
    text = "\n".join(f.name for m in compose_summary(data) for e in m.embeds for f in e.fields)
    assert "Member Number 7 · 7.5 h · late" in text
    assert "Member Number 12 · 7.5 h · AM off" in text
    assert "Member Number 9 · 7.5 h · 2 overdue tasks" in text


def test_summary_on_a_holiday() -> None:
    day = date(2026, 12, 1)
    data = SummaryData(
        day=day,
        roster=roster(day, members(1), [], holiday="Founders' Day"),
        reports=(),
        names={},
        completed={},
        overdue={},
    )
    [message] = compose_summary(data)
    assert "Holiday: Founders' Day" in (message.embeds[0].description or "")
    assert "**0 / 0**" in (message.embeds[0].description or "")


# -- the digest ------------------------------------------------------------------------------
def digest(count: int) -> DigestData:
    day = date(2026, 12, 1)
    return DigestData(
        day=day,
        out_today=tuple(RosterEntry(i, "full day") for i in range(count)),
        out_tomorrow=tuple(RosterEntry(i, "AM off") for i in range(count)),
        pending=PendingLeave(
            count, timedelta(days=2, hours=4), "https://discord.com/channels/1/2/3"
        ),
        overdue=tuple(
            OverdueTask(
                i,
                f"Overdue task number {i} with a long title",
                i % (count or 1),
                day - timedelta(days=3),
                3,
            )
            for i in range(count * 2)
        ),
        missing_day=day - timedelta(days=1),
        missing=tuple(RosterEntry(i) for i in range(count)),
        blockers=tuple(
            OpenBlocker(
                i, i, day - timedelta(days=1), "blocked by the network " * 10, i if i % 2 else None
            )
            for i in range(count)
        ),
    )


@pytest.mark.parametrize("count", [0, 1, 5, 40, 300, 2000])
def test_the_digest_is_one_message_within_limits(count: int) -> None:
    message = compose_digest(digest(count))
    assert len(message.embeds) == 1
    embed = message.embeds[0]
    assert message.size <= MESSAGE_EMBED_CHARS
    assert len(embed.fields) <= FIELDS_MAX
    assert all(len(f.value) <= FIELD_VALUE_MAX for f in embed.fields)
    names = " | ".join(f.name for f in embed.fields)
    for section in (
        "Out today",
        "Out tomorrow",
        "Pending leave",
        "Overdue tasks",
        "Missing reports",
        "Open blockers",
    ):
        assert section in names
    text = "\n".join(f.value for f in embed.fields)
    if count == 0:
        assert "Nobody." in text and "None waiting." in text
    if count >= 300:
        assert "more" in text  # lists are cut with a count of what was left out


def test_digest_content() -> None:
    message = compose_digest(digest(3))
    text = "\n".join(f"{f.name}: {f.value}" for f in message.embeds[0].fields)
    assert (
        "**3** waiting, the oldest for 2 d 4 h — [open](https://discord.com/channels/1/2/3)" in text
    )
    assert "<@0> (full day)" in text
    assert "Missing reports, Mon 30 Nov (3)" in text
    assert "#1 Overdue task number 1 with a long title (3 d)" in text
    assert "→ task #1" in text


def test_format_age() -> None:
    assert format_age(timedelta(minutes=12)) == "12 min"
    assert format_age(timedelta(hours=5, minutes=2)) == "5 h"
    assert format_age(timedelta(days=3)) == "3 d"


def test_reminder_mentions_overdue_tasks() -> None:
    text = reminder_text(date(2026, 12, 1), "AM off", ["#1 A", "#2 B"], guild_name="Office")
    assert "Tue 1 Dec 2026" in text and "AM off" in text and "2 overdue tasks: #1 A, #2 B" in text


def test_report_messages_show_everything_within_limits() -> None:
    report = make_report(5, 1, blockers="b" * 1000)
    long = Report(**{**report.__dict__, "done": "d" * 4000, "plan": "p" * 4000, "edits": 2})
    messages = report_messages(long, "Bob", "AM off")
    assert len(messages) == 2
    for message in messages:
        assert message.size <= MESSAGE_EMBED_CHARS
    head = messages[0].embeds[0]
    assert head.title == "Daily report — Bob — Tue 1 Dec 2026"
    assert "edited 2 times" in (head.description or "") and "AM off" in (head.description or "")
    assert "7.5 h" in (head.description or "")
    body = "".join(e.description or "" for m in messages for e in m.embeds if e is not head)
    assert body.count("d") >= 4000 and "b" * 1000 in body


def test_first_line() -> None:
    assert first_line("\n\n  the VPN is down \nsecond") == "the VPN is down"
    assert first_line("x" * 300, 10) == "x" * 9 + "…"


def test_by_week_sums_days_from_monday() -> None:
    points = [DayPoint(MON + timedelta(days=k), 2, 1, k) for k in range(10)]
    weeks = by_week(points)
    assert [w.day for w in weeks] == [MON, MON + timedelta(days=7)]
    assert (weeks[0].expected, weeks[0].filed, weeks[0].tasks_completed) == (14, 7, 21)
    assert (weeks[1].expected, weeks[1].tasks_completed) == (6, 24)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", date(2026, 12, 2)),
        ("yesterday", date(2026, 12, 1)),
        ("mon", date(2026, 11, 30)),  # this week's Monday, not next week's
        ("wed", date(2026, 12, 2)),
        ("fri", date(2026, 11, 27)),
        ("1 Dec", date(2026, 12, 1)),
        ("Dec 3", date(2025, 12, 3)),  # the latest 3 December
        ("29 Feb", date(2024, 2, 29)),
        ("2026-12-05", date(2026, 12, 5)),  # explicit dates keep their meaning
        ("3 Dec 2026", date(2026, 12, 3)),
        ("tomorrow", date(2026, 12, 3)),
        ("next fri", date(2026, 12, 11)),  # the Friday of the following week
    ],
)
def test_report_dates_lean_back_in_time(text: str, expected: date) -> None:
    assert parse_report_date(text, date(2026, 12, 2)) == expected


def test_report_dates_refuse_nonsense() -> None:
    with pytest.raises(UserError, match="not a date I understand"):
        parse_report_date("someday", date(2026, 12, 2))


def test_nobody_is_expected_before_they_joined() -> None:
    people = [
        Member(1, "old", frozenset({STAFF})),
        Member(2, "new", frozenset({STAFF}), joined=MON + timedelta(days=1)),
    ]
    assert roster(MON, people, []).expected_ids == {1}
    assert roster(MON + timedelta(days=1), people, []).expected_ids == {1, 2}


def test_edit_window_in_working_days() -> None:
    friday, monday = date(2026, 12, 4), date(2026, 12, 7)
    weekdays = frozenset(range(5))
    check_report_day(friday, monday, 2, editing=False, workdays=weekdays)
    assert edit_window_end(friday, 2, weekdays, ()) == date(2026, 12, 8)
    assert edit_window_end(friday, 2, weekdays, {monday}) == date(2026, 12, 9)
    assert edit_window_end(friday, 0, weekdays, ()) == date(2026, 12, 6)
    with pytest.raises(UserError, match="up to 2 working days after their date"):
        check_report_day(friday, date(2026, 12, 9), 2, editing=False, workdays=weekdays)
