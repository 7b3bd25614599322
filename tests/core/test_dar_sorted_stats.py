"""The stats' one-pass member tally (sorted_member_stats) against the plain rules
(member_stats for the rates over a range and for the streak up to today)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from concord.core.dar import member_stats, sorted_member_stats

BASE = date(2026, 1, 1)
offsets = st.integers(min_value=0, max_value=40)


@settings(max_examples=300, deadline=None)
@given(
    expected=st.sets(offsets),
    filed=st.dictionaries(offsets, st.booleans()),
    first=offsets,
    span=st.integers(min_value=-3, max_value=40),
    today=offsets,
)
def test_sorted_member_stats_matches_member_stats(
    expected: set[int], filed: dict[int, bool], first: int, span: int, today: int
) -> None:
    days = [BASE + timedelta(k) for k in sorted(expected)]
    reports = {BASE + timedelta(k): late for k, late in filed.items()}
    start, last, now = (
        BASE + timedelta(first),
        BASE + timedelta(first + span),
        BASE + timedelta(today),
    )
    in_range = [d for d in days if start <= d <= last]
    in_range_reports = {d: v for d, v in reports.items() if start <= d <= last}
    rates = member_stats(7, in_range, in_range_reports, last + timedelta(1))
    streak = member_stats(7, days, reports, now).streak

    fast = sorted_member_stats(7, days, reports, start, last, now)

    assert (fast.expected, fast.filed, fast.on_time) == (rates.expected, rates.filed, rates.on_time)
    assert fast.streak == streak
