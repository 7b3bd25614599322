"""Leave arithmetic: working days, exact amounts, year splits, accrual, carry-over, overlaps."""

from __future__ import annotations

from datetime import date, time, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concord.core.leave import (
    MIDDAY,
    Accrual,
    AlreadyDecided,
    Policy,
    Portion,
    RequestStatus,
    Span,
    YearActivity,
    accrued,
    amounts_by_year,
    balance_as_of,
    build_span,
    carried_into,
    compute_balance,
    day_amounts,
    days_from_number,
    describe_dates,
    format_days,
    format_days_hours,
    parse_days,
    shortfall,
    validate_type_name,
    working_days,
)
from concord.errors import UserError

MON_FRI = frozenset({0, 1, 2, 3, 4})
NO_HOLIDAYS: frozenset[date] = frozenset()
TODAY = date(2026, 12, 1)  # a Tuesday

dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
workday_sets = st.frozensets(st.integers(0, 6), min_size=1)
holiday_sets = st.frozensets(dates, max_size=20)


def full(start: date, end: date) -> Span:
    return Span(start, end, Portion.FULL_DAY)


# -- working days ------------------------------------------------------------------------------
def test_working_days_skip_weekends_and_holidays() -> None:
    christmas = date(2026, 12, 25)
    days = working_days(date(2026, 12, 21), date(2026, 12, 27), MON_FRI, frozenset({christmas}))
    assert days == [date(2026, 12, d) for d in (21, 22, 23, 24)]


def test_sun_thu_week() -> None:
    sun_thu = frozenset({6, 0, 1, 2, 3})
    assert working_days(date(2026, 12, 4), date(2026, 12, 6), sun_thu, NO_HOLIDAYS) == [
        date(2026, 12, 6)
    ]


@given(dates, st.integers(0, 120), workday_sets, holiday_sets)
def test_working_days_match_a_day_by_day_count(
    start: date, length: int, workdays: frozenset[int], holidays: frozenset[date]
) -> None:
    end = start + timedelta(days=length)
    expected = 0
    day = start
    while day <= end:
        expected += day.weekday() in workdays and day not in holidays
        day += timedelta(days=1)
    got = working_days(start, end, workdays, holidays)
    assert len(got) == expected
    assert all(start <= d <= end and d.weekday() in workdays for d in got)
    assert not set(got) & holidays


@given(dates, st.integers(0, 60), st.integers(0, 60), workday_sets, holiday_sets)
def test_working_days_are_additive_over_adjacent_ranges(
    start: date, first: int, second: int, workdays: frozenset[int], holidays: frozenset[date]
) -> None:
    middle = start + timedelta(days=first)
    end = middle + timedelta(days=1 + second)
    whole = working_days(start, end, workdays, holidays)
    parts = working_days(start, middle, workdays, holidays) + working_days(
        middle + timedelta(days=1), end, workdays, holidays
    )
    assert whole == parts


# -- amounts -----------------------------------------------------------------------------------
def test_full_days_count_working_days_only() -> None:
    days = day_amounts(full(date(2026, 12, 3), date(2026, 12, 8)), MON_FRI, NO_HOLIDAYS, 480)
    assert [d.day for d, _ in days] == [3, 4, 7, 8]
    assert sum(a for _, a in days) == 4


def test_a_request_on_no_working_day_is_refused_with_a_reason() -> None:
    with pytest.raises(UserError, match="no working day"):
        day_amounts(full(date(2026, 12, 5), date(2026, 12, 6)), MON_FRI, NO_HOLIDAYS, 480)
    with pytest.raises(UserError, match="Fri 25 Dec 2026 is a holiday here"):
        day_amounts(
            full(date(2026, 12, 25), date(2026, 12, 25)),
            MON_FRI,
            frozenset({date(2026, 12, 25)}),
            480,
        )
    with pytest.raises(UserError, match=r"not a working day here \(the office works Mon–Fri\)"):
        day_amounts(full(date(2026, 12, 5), date(2026, 12, 5)), MON_FRI, NO_HOLIDAYS, 480)


def test_ten_half_days_are_exactly_five_days() -> None:
    total = Fraction(0)
    for offset in range(10):
        day = date(2026, 12, 7) + timedelta(days=offset % 5)
        span = Span(day, day, Portion.HALF_DAY_AM if offset < 5 else Portion.HALF_DAY_PM)
        total += sum(a for _, a in day_amounts(span, MON_FRI, NO_HOLIDAYS, 480))
    assert total == 5 and isinstance(total, Fraction)


def test_eight_one_hour_off_duty_spans_are_exactly_one_day() -> None:
    span = Span(date(2026, 12, 3), date(2026, 12, 3), Portion.OFF_DUTY, time(9), time(10))
    ((_, each),) = day_amounts(span, MON_FRI, NO_HOLIDAYS, 480)
    assert each * 8 == 1


def test_off_duty_counts_hours_over_the_guilds_workday() -> None:
    span = Span(date(2026, 12, 3), date(2026, 12, 3), Portion.OFF_DUTY, time(14), time(15))
    ((_, each),) = day_amounts(span, MON_FRI, NO_HOLIDAYS, 450)  # a 7.5 h day
    assert each == Fraction(2, 15)


def test_off_duty_longer_than_the_workday_is_refused() -> None:
    span = Span(date(2026, 12, 3), date(2026, 12, 3), Portion.OFF_DUTY, time(8), time(18))
    with pytest.raises(UserError, match="longer than the 8 h working day"):
        day_amounts(span, MON_FRI, NO_HOLIDAYS, 480)


@given(
    st.lists(st.tuples(st.integers(0, 23), st.integers(1, 8)), min_size=1, max_size=40),
    st.integers(60, 720),
)
def test_off_duty_amounts_add_up_exactly(spans: list[tuple[int, int]], workday: int) -> None:
    total = Fraction(0)
    minutes = 0
    for start_hour, hours in spans:
        length = min(hours * 60, workday, (24 - start_hour) * 60 - 1)
        begin = start_hour * 60
        end = begin + length
        span = Span(
            date(2026, 12, 3),
            date(2026, 12, 3),
            Portion.OFF_DUTY,
            time(begin // 60, begin % 60),
            time(end // 60, end % 60),
        )
        total += day_amounts(span, MON_FRI, NO_HOLIDAYS, workday)[0][1]
        minutes += length
    assert total == Fraction(minutes, workday)


@given(dates, st.integers(0, 59), workday_sets, holiday_sets)
def test_year_split_adds_up_to_the_total(
    start: date, length: int, workdays: frozenset[int], holidays: frozenset[date]
) -> None:
    span = full(start, start + timedelta(days=length))
    try:
        days = day_amounts(span, workdays, holidays, 480)
    except UserError:
        assert not working_days(span.start, span.end, workdays, holidays)
        return
    split = amounts_by_year(days)
    assert sum(split.values()) == len(days)
    assert set(split) <= {span.start.year, span.end.year}
    for year, amount in split.items():
        assert amount == sum(1 for d, _ in days if d.year == year)


def test_a_request_across_new_year_counts_against_each_year() -> None:
    days = day_amounts(full(date(2026, 12, 30), date(2027, 1, 4)), MON_FRI, NO_HOLIDAYS, 480)
    assert amounts_by_year(days) == {2026: 2, 2027: 2}


# -- dates -------------------------------------------------------------------------------------
def test_build_span_defaults_end_to_start() -> None:
    span = build_span(TODAY, None, Portion.FULL_DAY, None, None, today=TODAY, max_days=60)
    assert span.end == TODAY


@pytest.mark.parametrize(
    ("start", "end", "portion", "from_time", "to_time", "message"),
    [
        (date(2026, 12, 5), date(2026, 12, 4), Portion.FULL_DAY, None, None, "before the start"),
        (
            date(2026, 12, 1),
            date(2027, 3, 1),
            Portion.FULL_DAY,
            None,
            None,
            "longest allowed is 60",
        ),
        (date(2026, 10, 1), None, Portion.FULL_DAY, None, None, "more than 30 days in the past"),
        (date(2026, 12, 3), date(2026, 12, 4), Portion.HALF_DAY_AM, None, None, "one day only"),
        (date(2026, 12, 3), None, Portion.OFF_DUTY, None, None, "needs `from_time`"),
        (date(2026, 12, 3), None, Portion.OFF_DUTY, time(15), time(14), "must be after"),
        (
            date(2026, 12, 3),
            None,
            Portion.FULL_DAY,
            time(9),
            None,
            r"only for the Off duty \(hours\)",
        ),
    ],
)
def test_build_span_refuses_bad_input(
    start: date,
    end: date | None,
    portion: Portion,
    from_time: time | None,
    to_time: time | None,
    message: str,
) -> None:
    with pytest.raises(UserError, match=message):
        build_span(start, end, portion, from_time, to_time, today=TODAY, max_days=60)


def test_thirty_days_back_is_still_allowed() -> None:
    start = TODAY - timedelta(days=30)
    assert build_span(start, None, Portion.FULL_DAY, None, None, today=TODAY, max_days=60)


# -- overlaps ----------------------------------------------------------------------------------
DAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        (Span(DAY, DAY, Portion.HALF_DAY_AM), Span(DAY, DAY, Portion.HALF_DAY_PM), False),
        (Span(DAY, DAY, Portion.HALF_DAY_AM), Span(DAY, DAY, Portion.HALF_DAY_AM), True),
        (full(DAY, DAY), Span(DAY, DAY, Portion.HALF_DAY_PM), True),
        (
            full(DAY, DAY + timedelta(days=3)),
            Span(
                DAY + timedelta(days=2),
                DAY + timedelta(days=2),
                Portion.OFF_DUTY,
                time(9),
                time(10),
            ),
            True,
        ),
        (
            Span(DAY, DAY, Portion.OFF_DUTY, time(9), time(10)),
            Span(DAY, DAY, Portion.OFF_DUTY, time(10), time(11)),
            False,
        ),
        (
            Span(DAY, DAY, Portion.OFF_DUTY, time(9), time(10, 30)),
            Span(DAY, DAY, Portion.OFF_DUTY, time(10), time(11)),
            True,
        ),
        (
            Span(DAY, DAY, Portion.HALF_DAY_AM),
            Span(DAY, DAY, Portion.OFF_DUTY, MIDDAY, time(15)),
            False,
        ),
        (
            Span(DAY, DAY, Portion.HALF_DAY_PM),
            Span(DAY, DAY, Portion.OFF_DUTY, time(14), time(15)),
            True,
        ),
        (full(DAY, DAY), full(DAY + timedelta(days=1), DAY + timedelta(days=1)), False),
    ],
)
def test_overlap_rules(a: Span, b: Span, overlap: bool) -> None:
    assert a.overlaps(b) is overlap
    assert b.overlaps(a) is overlap


minutes_of_day = st.integers(0, 24 * 60 - 2)


@given(minutes_of_day, st.integers(1, 600), minutes_of_day, st.integers(1, 600))
def test_off_duty_overlap_is_interval_intersection(a0: int, al: int, b0: int, bl: int) -> None:
    a1, b1 = min(a0 + al, 24 * 60 - 1), min(b0 + bl, 24 * 60 - 1)

    def span(x: int, y: int) -> Span:
        return Span(DAY, DAY, Portion.OFF_DUTY, time(x // 60, x % 60), time(y // 60, y % 60))

    shared_minutes = set(range(a0, a1)) & set(range(b0, b1))
    assert span(a0, a1).overlaps(span(b0, b1)) is bool(shared_minutes)


# -- accrual, carry-over, balances -------------------------------------------------------------
def test_upfront_accrual_is_all_on_the_first_of_january() -> None:
    assert accrued(Fraction(14), Accrual.UPFRONT, 2026, date(2026, 1, 1)) == 14
    assert accrued(Fraction(14), Accrual.UPFRONT, 2027, date(2026, 12, 31)) == 0


def test_monthly_accrual_credits_a_twelfth_on_each_first() -> None:
    assert accrued(Fraction(14), Accrual.MONTHLY, 2026, date(2026, 1, 31)) == Fraction(14, 12)
    assert accrued(Fraction(14), Accrual.MONTHLY, 2026, date(2026, 3, 1)) == Fraction(14, 4)
    assert accrued(Fraction(14), Accrual.MONTHLY, 2026, date(2026, 12, 1)) == 14
    assert accrued(Fraction(14), Accrual.MONTHLY, 2025, date(2026, 6, 1)) == 14


@given(st.fractions(min_value=0, max_value=366), dates, dates)
def test_monthly_accrual_grows_with_time_and_ends_at_the_allowance(
    allowance: Fraction, one: date, other: date
) -> None:
    early, late = sorted((one, other))
    year = early.year
    a = accrued(allowance, Accrual.MONTHLY, year, early)
    b = accrued(allowance, Accrual.MONTHLY, year, late)
    assert 0 <= a <= b <= allowance
    assert accrued(allowance, Accrual.MONTHLY, year, date(year, 12, 1)) == allowance
    assert (a * 12 / allowance).denominator == 1 if allowance else a == 0


def policy(
    cap: int = 5, allowance: int | None = 14, *, negative: bool = False, since: int = 2025
) -> Policy:
    return Policy(
        allowance=None if allowance is None else Fraction(allowance),
        accrual=Accrual.UPFRONT,
        carryover_cap=Fraction(cap),
        deducts=True,
        allow_negative=negative,
        since_year=since,
    )


def test_carry_over_is_capped() -> None:
    activity = {2025: YearActivity(taken=Fraction(4))}
    assert carried_into(policy(cap=5), 2026, activity) == 5  # 10 unused, cap 5
    assert carried_into(policy(cap=0), 2026, activity) == 0
    assert carried_into(policy(cap=20), 2026, activity) == 10


def test_nothing_carries_from_before_the_type_existed() -> None:
    assert carried_into(policy(), 2025, {}) == 0


def test_a_deficit_carries_in_full() -> None:
    activity = {2025: YearActivity(taken=Fraction(16))}
    assert carried_into(policy(cap=5, negative=True), 2026, activity) == -2


@given(
    st.integers(0, 30),
    st.lists(st.fractions(min_value=0, max_value=30, max_denominator=8), min_size=1, max_size=4),
)
def test_carry_over_never_exceeds_the_cap(cap: int, taken: list[Fraction]) -> None:
    activity = {2025 + i: YearActivity(taken=t) for i, t in enumerate(taken)}
    p = policy(cap=cap)
    for year in range(2025, 2025 + len(taken) + 1):
        carried = carried_into(p, year, activity)
        assert carried <= cap
        previous = activity.get(year - 1, YearActivity())
        if year > 2025:
            unused = 14 + carried_into(p, year - 1, activity) - previous.taken
            assert carried == min(unused, cap)


def test_balance_adds_up() -> None:
    activity = {
        2025: YearActivity(taken=Fraction(10)),
        2026: YearActivity(
            adjustments=Fraction(1, 2), taken=Fraction(3), pending=Fraction(2), recorded=Fraction(3)
        ),
    }
    balance = compute_balance("Annual", policy(), 2026, date(2026, 6, 1), activity)
    assert (balance.entitlement, balance.carried) == (14, 4)
    assert balance.available == Fraction(31, 2)
    assert balance.after_pending == Fraction(27, 2)


def test_untracked_types_have_no_balance() -> None:
    balance = compute_balance("Unpaid", policy(allowance=None), 2026, TODAY, {})
    assert not balance.tracked
    assert (
        shortfall(
            "Unpaid", policy(allowance=None), {}, {2026: Fraction(99)}, {}, count_pending=True
        )
        is None
    )


def test_shortfall_names_the_numbers() -> None:
    p = policy(since=2026)
    activity = {2026: YearActivity(taken=Fraction(12), pending=Fraction(1))}
    as_of = {2026: TODAY}
    assert shortfall("Annual", p, activity, {2026: Fraction(1)}, as_of, count_pending=True) is None
    message = shortfall("Annual", p, activity, {2026: Fraction(3, 2)}, as_of, count_pending=True)
    assert message == (
        "Not enough Annual leave in 2026: 1 day available after pending requests, "
        "this needs 1.5 days."
    )
    # an approval counts approved leave only
    assert shortfall("Annual", p, activity, {2026: Fraction(2)}, as_of, count_pending=False) is None


def test_shortfall_protects_leave_booked_on_carry_over() -> None:
    p = policy(since=2026)
    # 2027: 14 + 5 carried from 2026 (9 unused) = 19, of which 19 are taken
    activity = {2026: YearActivity(taken=Fraction(5)), 2027: YearActivity(taken=Fraction(19))}
    message = shortfall(
        "Annual", p, activity, {2026: Fraction(5)}, {2026: TODAY}, count_pending=False
    )
    assert message is not None and "would leave 2027 at -1 day" in message
    assert (
        shortfall("Annual", p, activity, {2026: Fraction(4)}, {2026: TODAY}, count_pending=False)
        is None
    )
    negative = policy(since=2026, negative=True)
    assert (
        shortfall("Annual", negative, activity, {2026: Fraction(9)}, {}, count_pending=False)
        is None
    )


def test_balance_as_of_books_next_year_against_next_years_allowance() -> None:
    assert balance_as_of(2027, TODAY, date(2027, 3, 4)) == date(2027, 3, 4)
    assert balance_as_of(2025, TODAY) == date(2025, 12, 31)
    assert balance_as_of(2027, TODAY) == date(2027, 1, 1)
    assert balance_as_of(2026, TODAY) == TODAY


# -- parsing and display -----------------------------------------------------------------------
def test_parse_days() -> None:
    assert parse_days("14") == 14
    assert parse_days(" 2.5 ") == Fraction(5, 2)
    assert parse_days("1/3") == Fraction(1, 3)
    assert parse_days("none", allow_none=True) is None
    with pytest.raises(UserError, match="not a number of days"):
        parse_days("lots")
    with pytest.raises(UserError, match="negative"):
        parse_days("-1")
    with pytest.raises(UserError, match="more than 366"):
        parse_days("400")


def test_days_from_number_is_exact() -> None:
    assert days_from_number(0.1) == Fraction(1, 10)
    assert days_from_number(-1.5, allow_negative=True) == Fraction(-3, 2)
    with pytest.raises(UserError, match="three decimals"):
        days_from_number(0.0001)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(5), "5"),
        (Fraction(1, 2), "0.5"),
        (Fraction(1, 8), "0.125"),
        (Fraction(-3, 2), "-1.5"),
        (Fraction(2, 15), "≈0.13"),
        (Fraction(151, 24), "≈6.29"),
        (Fraction(1, 20), "0.05"),
    ],
)
def test_format_days(value: Fraction, text: str) -> None:
    assert format_days(value) == text


@settings(max_examples=200)
@given(st.fractions(min_value=-400, max_value=400, max_denominator=1000))
def test_format_days_is_exact_when_it_does_not_say_otherwise(value: Fraction) -> None:
    text = format_days(value)
    if not text.startswith("≈"):
        assert Fraction(text) == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(6), "6 days"),
        (Fraction(1), "1 day"),
        (Fraction(1, 2), "0.5 days"),
        (Fraction(151, 24), "6 days 2 h 20 min"),  # was shown as ≈6.292 days
        (Fraction(1, 8), "1 h"),
        (Fraction(-7, 48), "-1 h 10 min"),
    ],
)
def test_format_days_hours(value: Fraction, text: str) -> None:
    assert format_days_hours(value, 480) == text


def test_describe_dates() -> None:
    assert describe_dates(date(2026, 12, 3), date(2026, 12, 3)) == "Thu 3 Dec 2026"
    assert describe_dates(date(2026, 12, 3), date(2026, 12, 7)) == "Thu 3 – Mon 7 Dec 2026"
    assert (
        describe_dates(date(2026, 12, 30), date(2027, 1, 2)) == "Wed 30 Dec 2026 – Sat 2 Jan 2027"
    )


def test_public_labels_hide_the_type() -> None:
    assert full(DAY, DAY).public_label() == "Out (full day)"
    assert Span(DAY, DAY, Portion.HALF_DAY_AM).public_label() == "Out (AM)"
    assert (
        Span(DAY, DAY, Portion.OFF_DUTY, time(14), time(16)).public_label() == "Out (14:00–16:00)"
    )


def test_type_names() -> None:
    assert validate_type_name("  Work   from home ") == "Work from home"
    for bad in ("", "x" * 41, "<script>", "@everyone"):
        with pytest.raises(UserError):
            validate_type_name(bad)


def test_already_decided_message() -> None:
    from datetime import UTC, datetime

    error = AlreadyDecided(7, RequestStatus.APPROVED, 42, datetime(2026, 12, 1, 10, 2, tzinfo=UTC))
    # A Discord timestamp: each reader sees the time in their own timezone.
    assert str(error) == "Request #7 was already approved by <@42> at <t:1796119320:f>."
    assert error.describe("alice", error.at) == (
        "Request #7 was already approved by alice at <t:1796119320:f>."
    )


def test_away_all_day_needs_the_whole_day_off_on_leave_that_takes_days() -> None:
    from concord.core.leave import Absence, RequestStatus, away_all_day

    def absence(user: int, portion: Portion, deducts: bool = True) -> Absence:
        return Absence(
            user_id=user,
            day=date(2026, 12, 2),
            portion=portion,
            from_time=None,
            to_time=None,
            leave_type="Annual",
            request_id=user,
            status=RequestStatus.APPROVED,
            amount=Fraction(1),
            deducts=deducts,
        )

    assert away_all_day(
        [
            absence(1, Portion.FULL_DAY),
            absence(2, Portion.HALF_DAY_AM),
            absence(2, Portion.HALF_DAY_PM),
            absence(3, Portion.HALF_DAY_AM),
            absence(4, Portion.FULL_DAY, deducts=False),  # work from home: working
            absence(5, Portion.OFF_DUTY),
        ]
    ) == frozenset({1, 2})
