from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concord.core.schedule import (
    describe_workdays,
    format_workdays,
    parse_hhmm,
    parse_timezone,
    parse_workday_hours,
    parse_workdays,
    search_timezones,
)
from concord.errors import UserError


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sun-thu", {6, 0, 1, 2, 3}),
        ("mon,tue,thu", {0, 1, 3}),
        ("Monday - Wednesday", None),
        ("sat", {5}),
        ("fri-mon", {4, 5, 6, 0}),
        ("mon-wed, fri", {0, 1, 2, 4}),
    ],
)
def test_parse_workdays(text: str, days: set[int] | None) -> None:
    if days is None:
        with pytest.raises(UserError):
            parse_workdays(text)
    else:
        assert parse_workdays(text) == frozenset(days)


@pytest.mark.parametrize("text", ["", "  ", "mon-funday", "weekdays", "1-5"])
def test_parse_workdays_rejects(text: str) -> None:
    with pytest.raises(UserError):
        parse_workdays(text)


@given(st.frozensets(st.integers(0, 6), min_size=1))
def test_workdays_round_trip(days: frozenset[int]) -> None:
    assert parse_workdays(format_workdays(days)) == days
    assert describe_workdays(days)


def test_describe_workdays() -> None:
    assert describe_workdays(frozenset({0, 1, 2, 3, 4})) == "Mon–Fri"
    assert describe_workdays(frozenset({6, 0, 1, 2, 3})) == "Sun–Thu"
    assert describe_workdays(frozenset({0, 1, 3})) == "Mon, Tue, Thu"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("09:30", time(9, 30)),
        ("7:05", time(7, 5)),
        ("23:59", time(23, 59)),
        ("17.00", time(17)),
        ("5pm", time(17)),
        ("5:30 PM", time(17, 30)),
        ("9 a.m.", time(9)),
        ("12am", time(0)),
        ("12pm", time(12)),
    ],
)
def test_parse_hhmm(text: str, value: time) -> None:
    assert parse_hhmm(text) == value


@pytest.mark.parametrize(
    "text", ["24:00", "9", "12:60", "noon", "", "1:2", "-1:00", "13pm", "0am", "5:75pm"]
)
def test_parse_hhmm_rejects(text: str) -> None:
    with pytest.raises(UserError, match="HH:MM"):
        parse_hhmm(text)


def test_parse_timezone() -> None:
    assert parse_timezone("Europe/London").key == "Europe/London"
    assert parse_timezone(" utc ").key == "UTC"
    for bad in ("Mars/Olympus", "", "../etc/passwd", "europe/london"):
        with pytest.raises(UserError, match="timezone"):
            parse_timezone(bad)


def test_search_timezones() -> None:
    assert search_timezones("kolk")[0] == "Asia/Kolkata"
    assert "America/New_York" in search_timezones("new york")
    assert len(search_timezones("")) == 25
    assert search_timezones("zzzz") == []


def test_workday_hours() -> None:
    assert parse_workday_hours(8) == 480
    assert parse_workday_hours(7.5) == 450
    for bad in (0, -1, 24.5):
        with pytest.raises(UserError):
            parse_workday_hours(bad)
