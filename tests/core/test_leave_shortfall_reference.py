"""``shortfall`` works the carry-over out once along the years (issue 19, the write path);
this compares it with the plain definition it replaced — each year checked with
``available_days`` over the projected activity, carry-over from ``since_year`` every time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from concord.core.leave import (
    ZERO,
    Accrual,
    Policy,
    YearActivity,
    available_days,
    format_amount,
    moved,
    shortfall,
)


def reference_shortfall(
    name: str,
    policy: Policy,
    activity: Mapping[int, YearActivity],
    additions: Mapping[int, Fraction],
    as_of: Mapping[int, date],
    *,
    count_pending: bool,
) -> str | None:
    if not policy.tracked or policy.allow_negative or not additions:
        return None
    first = min(additions)
    projected: dict[int, YearActivity] = {}
    for year in set(activity) | set(additions):
        seen = activity.get(year, YearActivity())
        taken = moved(seen.taken, 1 if count_pending else 0, seen.pending)
        projected[year] = YearActivity(
            adjustments=seen.adjustments, taken=moved(taken, 1, additions.get(year, ZERO))
        )
    which = "available after pending requests" if count_pending else "available"
    for year in sorted(y for y in projected if y >= first):
        when = as_of.get(year, date(year, 12, 31))
        left = available_days(policy, year, when, projected)
        if left >= 0:
            continue
        if year in additions:
            need = additions[year]
            return (
                f"Not enough {name} leave in {year}: {format_amount(left + need)} {which}, "
                f"this needs {format_amount(need)}."
            )
        return (
            f"Not enough {name} leave: this would leave {year} at {format_amount(left)}, because "
            f"less would carry over into {year} than the leave already booked there needs."
        )
    return None


YEARS = st.integers(2022, 2030)
amounts = st.fractions(min_value=-5, max_value=30, max_denominator=8)
small = st.fractions(min_value=0, max_value=20, max_denominator=4)
activities = st.builds(
    YearActivity,
    adjustments=st.one_of(st.just(ZERO), amounts),
    taken=st.one_of(st.just(ZERO), small),
    pending=st.one_of(st.just(ZERO), small),
    recorded=st.just(ZERO),
)
policies = st.builds(
    Policy,
    allowance=st.one_of(st.none(), st.fractions(min_value=0, max_value=30, max_denominator=2)),
    accrual=st.sampled_from(list(Accrual)),
    carryover_cap=st.fractions(min_value=0, max_value=10, max_denominator=2),
    deducts=st.booleans(),
    allow_negative=st.booleans(),
    since_year=YEARS,
)


@settings(max_examples=400, deadline=None)
@given(
    policy=policies,
    activity=st.dictionaries(YEARS, activities, max_size=5),
    additions=st.dictionaries(YEARS, small.filter(bool), max_size=3),
    as_of=st.dictionaries(YEARS, st.dates(date(2021, 6, 1), date(2031, 6, 1)), max_size=4),
    count_pending=st.booleans(),
)
def test_shortfall_matches_the_plain_definition(
    policy: Policy,
    activity: dict[int, YearActivity],
    additions: dict[int, Fraction],
    as_of: dict[int, date],
    count_pending: bool,
) -> None:
    assert shortfall(
        "Annual", policy, activity, additions, as_of, count_pending=count_pending
    ) == reference_shortfall(
        "Annual", policy, activity, additions, as_of, count_pending=count_pending
    )


def test_a_refused_request_is_refused_by_both() -> None:
    policy = Policy(Fraction(14), Accrual.UPFRONT, Fraction(5), True, False, 2026)
    activity = {2026: YearActivity(taken=Fraction(5)), 2027: YearActivity(taken=Fraction(19))}
    args = ("Annual", policy, activity, {2026: Fraction(5)}, {2026: date(2026, 12, 1)})
    message = shortfall(*args, count_pending=False)
    assert message is not None and "would leave 2027 at -1 day" in message
    assert message == reference_shortfall(*args, count_pending=False)
