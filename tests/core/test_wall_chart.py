"""The wall chart's model: what each cell holds for a member's leave that day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concord.core.leave import Holiday, LeaveRequest, Portion, RequestStatus, Span
from concord.core.wall_chart import (
    CellKind,
    build_month_chart,
    combine,
    month_days,
    parse_month,
    request_title,
)

WEEKDAYS = frozenset({0, 1, 2, 3, 4})


def request(
    user: int,
    start: date,
    end: date | None = None,
    *,
    portion: Portion = Portion.FULL_DAY,
    status: RequestStatus = RequestStatus.APPROVED,
    deducts: bool = True,
    reason: str | None = None,
    hours: tuple[time, time] | None = None,
) -> LeaveRequest:
    return LeaveRequest(
        id=1,
        guild_id=1,
        user_id=user,
        type_id=1,
        leave_type="Annual",
        span=Span(
            start=start,
            end=end or start,
            portion=portion,
            from_time=hours[0] if hours else None,
            to_time=hours[1] if hours else None,
        ),
        amount=Fraction(1),
        deducts=deducts,
        reason=reason,
        status=status,
        filed_by=user,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_parse_month() -> None:
    today = date(2026, 12, 3)
    assert parse_month(None, today) == date(2026, 12, 1)
    assert parse_month("2027-02", today) == date(2027, 2, 1)
    for bad in ("2026-13", "2026-1", "Dec", "2026/12", "0999-01", "２０２６-12"):
        with pytest.raises(ValueError):
            parse_month(bad, today)
    assert len(month_days(date(2028, 2, 1))) == 29


def test_morning_and_afternoon_make_a_full_day_and_a_full_day_wins() -> None:
    assert combine([CellKind.AM, CellKind.PM]) is CellKind.FULL
    assert combine([CellKind.HOURS, CellKind.FULL]) is CellKind.FULL
    assert combine([CellKind.ELSEWHERE, CellKind.HOURS]) is CellKind.HOURS
    assert combine([]) is CellKind.NONE


@given(st.lists(st.sampled_from(list(CellKind)), max_size=6))
def test_combining_is_order_free_and_shows_leave_when_there_is_any(kinds: list[CellKind]) -> None:
    combined = combine(kinds)
    assert combined is combine(list(reversed(kinds)))
    assert (combined is CellKind.NONE) == all(k is CellKind.NONE for k in kinds)


def test_a_chart_colours_working_days_only_and_keeps_details_private() -> None:
    chart = build_month_chart(
        date(2026, 12, 1),
        members=[(1, "Bob"), (2, "Carol")],
        requests=[
            request(1, date(2026, 12, 24), date(2026, 12, 28), reason="trip"),
            request(
                2, date(2026, 12, 9), portion=Portion.HALF_DAY_AM, status=RequestStatus.PENDING
            ),
            request(2, date(2026, 12, 9), portion=Portion.HALF_DAY_PM),
            request(2, date(2026, 12, 10), status=RequestStatus.CANCELLED),
            request(2, date(2026, 12, 11), hours=(time(14), time(16)), portion=Portion.OFF_DUTY),
        ],
        holidays=[Holiday(date(2026, 12, 25), "Christmas Day", "manual")],
        workdays=WEEKDAYS,
        today=date(2026, 12, 3),
        details_for=lambda user: user == 1,
    )
    bob, carol = (dict((c.day.day, c) for c in row.cells) for row in chart.rows)
    assert [bob[d].kind for d in (24, 25, 26, 27, 28)] == [
        CellKind.FULL,
        CellKind.NONE,  # the holiday
        CellKind.NONE,  # the weekend
        CellKind.NONE,
        CellKind.FULL,
    ]
    assert bob[25].holiday == "Christmas Day" and bob[26].weekend
    assert bob[24].title == "Annual (full day): trip"
    assert carol[9].kind is CellKind.FULL and carol[9].pending
    assert carol[9].title == "Out (morning) — pending; Out (afternoon)"
    assert carol[10].kind is CellKind.NONE  # cancelled
    assert carol[11].kind is CellKind.HOURS and carol[11].title == "Out (14:00–16:00)"
    assert bob[3].today and not bob[4].today
    assert chart.previous_month == date(2026, 11, 1) and chart.next_month == date(2027, 1, 1)


def test_working_elsewhere_has_its_own_kind_and_words() -> None:
    wfh = request(1, date(2026, 12, 2), deducts=False)
    assert request_title(wfh, details=False) == "Working elsewhere (full day)"
    chart = build_month_chart(
        date(2026, 12, 1),
        members=[(1, "Bob")],
        requests=[wfh],
        holidays=[],
        workdays=WEEKDAYS,
        today=date(2026, 12, 1),
        details_for=lambda user: False,
    )
    assert chart.rows[0].cells[1].kind is CellKind.ELSEWHERE
