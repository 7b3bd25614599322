from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concord.core.dates import parse_date, parse_date_time, parse_month
from concord.errors import UserError

TODAY = date(2026, 11, 26)  # a Thursday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", TODAY),
        ("Tomorrow", date(2026, 11, 27)),
        ("tmrw", date(2026, 11, 27)),
        ("tomorow", date(2026, 11, 27)),
        ("yesterday", date(2026, 11, 25)),
        ("2026-12-01", date(2026, 12, 1)),
        ("2027-1-5", date(2027, 1, 5)),
        ("fri", date(2026, 11, 27)),
        ("thu", TODAY),
        ("next thu", date(2026, 12, 3)),
        # "next" is the following week's day, never the same day as the bare weekday.
        ("next fri", date(2026, 12, 4)),
        ("next mon", date(2026, 11, 30)),
        ("next sun", date(2026, 12, 6)),
        ("monday", date(2026, 11, 30)),
        ("3 Dec", date(2026, 12, 3)),
        ("Dec 3", date(2026, 12, 3)),
        ("3rd december", date(2026, 12, 3)),
        ("1 jan", date(2027, 1, 1)),
        ("25 Nov", date(2027, 11, 25)),
        ("26 nov", TODAY),
        ("3 Dec 2027", date(2027, 12, 3)),
        ("Dec 3, 2027", date(2027, 12, 3)),
        ("29 feb", date(2028, 2, 29)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "soon",
        "2026-02-30",
        "31 Feb 2027",
        "13/12/2026",
        "32 Dec",
        "Foo 3",
        # The ends of Python's dates: the day after 9999-12-31 does not exist.
        "9999-12-31",
        "0001-01-01",
        "3 Dec 9999",
        "1999-12-31",
        "2101-01-01",
    ],
)
def test_parse_date_rejects_with_a_clear_message(text: str) -> None:
    with pytest.raises(UserError) as info:
        parse_date(text, TODAY)
    assert "date" in str(info.value)


def test_parse_date_time() -> None:
    assert parse_date_time("fri 17:00", TODAY) == (date(2026, 11, 27), time(17, 0))
    assert parse_date_time("2026-12-03 09:30", TODAY) == (date(2026, 12, 3), time(9, 30))
    assert parse_date_time("tomorrow at 8:15", TODAY) == (date(2026, 11, 27), time(8, 15))
    assert parse_date_time("17:00", TODAY) == (TODAY, time(17, 0))
    assert parse_date_time("3 Dec", TODAY) == (date(2026, 12, 3), None)
    assert parse_date_time("fri 5pm", TODAY) == (date(2026, 11, 27), time(17, 0))
    assert parse_date_time("tmrw at 9:30 a.m.", TODAY) == (date(2026, 11, 27), time(9, 30))
    assert parse_date_time("3 Dec 12pm", TODAY) == (date(2026, 12, 3), time(12, 0))
    with pytest.raises(UserError):
        parse_date_time("fri 25:00", TODAY)
    with pytest.raises(UserError, match="optionally followed by a time"):
        parse_date_time("someday", TODAY)


def test_parse_month() -> None:
    assert parse_month(None, TODAY) == date(2026, 11, 1)
    assert parse_month("2027-02", TODAY) == date(2027, 2, 1)
    assert parse_month("Dec", TODAY) == date(2026, 12, 1)
    assert parse_month("march", TODAY) == date(2027, 3, 1)
    assert parse_month("December 2025", TODAY) == date(2025, 12, 1)
    with pytest.raises(UserError):
        parse_month("2027-13", TODAY)
    with pytest.raises(UserError, match="years 2000 to 2100"):
        parse_month("9999-12", TODAY)
    with pytest.raises(UserError, match="`Smarch` is not a month; use YYYY-MM or a month name"):
        parse_month("Smarch", TODAY)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 400))
def test_iso_and_day_month_agree(today: date, ahead: int) -> None:
    target = today + timedelta(days=ahead)
    assert parse_date(target.isoformat(), today) == target
    if ahead < 365 and not (target.month == 2 and target.day == 29):
        assert parse_date(target.strftime("%d %b"), today) == target
        assert parse_date(target.strftime("%B %d"), today) == target


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
def test_weekday_names_land_within_a_week(today: date) -> None:
    for name in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        result = parse_date(name, today)
        assert 0 <= (result - today).days < 7
        assert result.strftime("%a").lower() == name


@given(st.dates(date(2001, 1, 1), date(2099, 1, 1)), st.sampled_from(["mon", "wed", "fri", "sun"]))
def test_next_weekday_is_in_the_following_week(today: date, name: str) -> None:
    day = parse_date(f"next {name}", today)
    monday_after = today + timedelta(days=7 - today.weekday())
    assert monday_after <= day < monday_after + timedelta(days=7)
    assert day.strftime("%a").lower()[:3] == name
