"""The pure backup rules: settings parsing, file names, retention, the status line."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concord.core.backup_policy import (
    Retention,
    backup_file_name,
    backups_to_keep,
    describe_backup_state,
    parse_backup_name,
    parse_keep,
    parse_schedule,
)

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def test_keep_parses_the_default_and_other_periods() -> None:
    assert parse_keep("7d,4w,12m") == Retention(7, 4, 12, 0)
    assert parse_keep(" 30D , 2y ") == Retention(30, 0, 0, 2)
    assert Retention().describe() == "7d,4w,12m"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("weekly", "not a count and a unit"),
        ("7d,3d", "given twice"),
        ("0d", "keeps nothing"),
        ("7h", "not a count and a unit"),
        ("", "not a count and a unit"),
    ],
)
def test_bad_keep_values_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_keep(text)


def test_schedule_parses_one_or_more_times() -> None:
    assert parse_schedule("03:00") == (time(3, 0),)
    assert parse_schedule("15:30, 03:00,03:00") == (time(3, 0), time(15, 30))
    for bad in ("3am", "24:00", "03:00,", "0300"):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_schedule(bad)


def test_names_round_trip_and_other_files_are_not_ours() -> None:
    name = backup_file_name(NOW, 5)
    assert name == "concord-20261201T030000Z-v5.db.gz"
    parsed = parse_backup_name(name)
    assert parsed is not None and (parsed.taken_at, parsed.schema) == (NOW, 5)
    for other in ("manifest.jsonl", "concord-2026-v5.db.gz", "concord-20261201T030000Z-v5.db"):
        assert parse_backup_name(other) is None


def names(moments: list[datetime]) -> list:  # type: ignore[type-arg]
    return [parse_backup_name(backup_file_name(m, 5)) for m in moments]


def test_a_year_of_daily_backups_keeps_7_days_4_weeks_12_months() -> None:
    days = [NOW - timedelta(days=k) for k in range(400)]
    kept = backups_to_keep(names(days), Retention(), NOW)
    kept_days = sorted((parse_backup_name(n).taken_at for n in kept), reverse=True)  # type: ignore[union-attr]
    assert kept_days[:7] == days[:7]  # the last seven days
    # the newest of each of the last 12 months: 1 Dec (today) back to the end of Jan 2026
    month_ends = {(d.year, d.month) for d in kept_days}
    assert len(month_ends) == 12
    assert len(kept) <= 7 + 4 + 12


def test_backups_younger_than_a_day_are_all_kept() -> None:
    slots = [NOW, NOW - timedelta(hours=12), NOW - timedelta(hours=30)]
    kept = backups_to_keep(names(slots), Retention(daily=1, weekly=0, monthly=0), NOW)
    assert kept == {backup_file_name(NOW, 5), backup_file_name(NOW - timedelta(hours=12), 5)}


@given(
    st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=60, unique=True),
    st.integers(1, 10),
    st.integers(0, 6),
    st.integers(0, 14),
)
def test_retention_always_keeps_the_newest_and_never_more_than_asked(
    ages_hours: list[int], daily: int, weekly: int, monthly: int
) -> None:
    moments = [NOW - timedelta(hours=h) for h in ages_hours]
    keep = Retention(daily, weekly, monthly)
    kept = backups_to_keep(names(moments), keep, NOW)
    assert backup_file_name(max(moments), 5) in kept
    recent = sum(1 for h in ages_hours if h < 24)
    assert len(kept) <= recent + daily + weekly + monthly


def test_status_line() -> None:
    good = NOW - timedelta(hours=5)
    assert describe_backup_state(False, None, None, NOW).startswith("not configured")
    assert describe_backup_state(True, None, None, NOW) == "no good backup yet"
    last_good = describe_backup_state(True, good, None, NOW)
    assert last_good == "last good 2026-11-30 22:00 UTC (5 h ago)"
    failed = describe_backup_state(True, good, (NOW, "BackupError: no space left"), NOW)
    assert failed.startswith("⚠️ FAILED 0 s ago: BackupError: no space left")
    assert failed.endswith("(5 h ago)")
    # An old failure followed by a good backup is not shown.
    assert "FAILED" not in describe_backup_state(True, good, (good - timedelta(days=1), "x"), NOW)
