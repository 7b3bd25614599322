from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from concord.core.jobs import due_run, scheduled_instant

BERLIN = ZoneInfo("Europe/Berlin")


def test_not_due_before_its_time() -> None:
    now = datetime(2026, 11, 26, 8, 59, tzinfo=BERLIN)
    assert due_run(now, BERLIN, time(9, 0)) is None


def test_due_on_time_and_late_after_five_minutes() -> None:
    on_time = due_run(datetime(2026, 11, 26, 9, 0, 30, tzinfo=BERLIN), BERLIN, time(9, 0))
    assert on_time is not None and on_time.local_date == date(2026, 11, 26) and not on_time.late
    late = due_run(datetime(2026, 11, 26, 13, 0, tzinfo=BERLIN), BERLIN, time(9, 0))
    assert late is not None and late.late


def test_local_date_follows_the_zone() -> None:
    now = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # already the 27th in Tokyo
    run = due_run(now, ZoneInfo("Asia/Tokyo"), time(8, 0))
    assert run is not None and run.local_date == date(2026, 11, 27)


def test_spring_forward_gap_runs_when_the_clock_jumps() -> None:
    # 2026-03-29: Berlin jumps from 02:00 to 03:00; a 02:30 job is due at 03:00 local.
    instant = scheduled_instant(date(2026, 3, 29), time(2, 30), BERLIN)
    assert instant.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    before = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    assert due_run(before, BERLIN, time(2, 30)) is None
    run = due_run(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), BERLIN, time(2, 30))
    assert run is not None and not run.late


def test_fall_back_hour_is_due_from_the_first_occurrence() -> None:
    # 2026-10-25: 02:00-03:00 happens twice in Berlin.
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET
    a, b = due_run(first, BERLIN, time(2, 30)), due_run(second, BERLIN, time(2, 30))
    assert a is not None and b is not None
    assert a.local_date == b.local_date == date(2026, 10, 25)


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
    st.times(),
    st.sampled_from(
        ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
    ),
)
def test_due_exactly_from_the_scheduled_instant(naive_now: datetime, at: time, zone: str) -> None:
    tz = ZoneInfo(zone)
    now = naive_now.replace(tzinfo=UTC)
    at = at.replace(microsecond=0, second=0)
    run = due_run(now, tz, at)
    local_date = now.astimezone(tz).date()
    instant = scheduled_instant(local_date, at, tz)
    if run is None:
        assert now < instant + timedelta(hours=1)  # not due yet (allowing for fall-back)
    else:
        assert run.local_date == local_date
        assert now >= instant - timedelta(hours=1)
