"""Leave rules: types and their defaults, portions, exact amounts, working days, overlaps,
accrual, carry-over and balances. Pure: the caller passes ``today`` and the guild's calendar.

Amounts are :class:`fractions.Fraction` days, never floats: ten half days are exactly 5 days and
eight 1-hour off-duty spans in an 8-hour day are exactly 1 day. They are stored as text
(``"5"``, ``"1/2"``, ``"2/15"``) and summed in Python, so nothing drifts.

A day is split at :data:`MIDDAY` for overlaps: AM covers the time before it, PM the time after
it, a full day covers all of it and an off-duty span covers its own hours. Two requests on the
same date overlap exactly when those intervals intersect, so AM + PM is fine, a full day with
anything is not, and off-duty spans may not intersect each other or the half they fall in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import cached_property, lru_cache
from math import lcm

from concord.core.quick_init import quick_init
from concord.core.schedule import describe_workdays, discord_time, format_hhmm
from concord.errors import UserError

ZERO: Fraction = Fraction(0)
MIDDAY: time = time(13, 0)
# Clock times used to place half days on a calendar (ICS export); overlaps use MIDDAY only.
HALF_DAY_TIMES: dict[str, tuple[time, time]] = {
    "half_day_am": (time(9, 0), MIDDAY),
    "half_day_pm": (MIDDAY, time(17, 0)),
}
MAX_PAST_DAYS = 30
MAX_DAYS_VALUE: Fraction = Fraction(366)
MAX_DENOMINATOR = 1000
MAX_REASON_LENGTH = 500
MAX_TYPE_NAME_LENGTH = 40
_TYPE_NAME: re.Pattern[str] = re.compile(r"^[\w][\w .&'()/+-]*$")
_NONE_WORDS: frozenset[str] = frozenset({"none", "no", "unlimited", "-", "null"})


class Portion(StrEnum):
    FULL_DAY = "full_day"
    HALF_DAY_AM = "half_day_am"
    HALF_DAY_PM = "half_day_pm"
    OFF_DUTY = "off_duty"

    @property
    def label(self) -> str:
        return PORTION_LABELS[self]

    @property
    def single_day(self) -> bool:
        return self is not Portion.FULL_DAY


PORTION_LABELS: dict[Portion, str] = {
    Portion.FULL_DAY: "full day",
    Portion.HALF_DAY_AM: "morning half day",
    Portion.HALF_DAY_PM: "afternoon half day",
    Portion.OFF_DUTY: "off duty",
}


class Accrual(StrEnum):
    UPFRONT = "upfront"  # the whole allowance on 1 January
    MONTHLY = "monthly"  # allowance/12 on the 1st of each month


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


LIVE_STATUSES: tuple[RequestStatus, ...] = (RequestStatus.PENDING, RequestStatus.APPROVED)


class AlreadyDecided(UserError):
    """A decision or cancellation came second: the request had already left that state."""

    def __init__(
        self, request_id: int, status: RequestStatus, by: int | None, at: datetime | None
    ) -> None:
        self.request_id = request_id
        self.status = status
        self.by = by
        self.at = at
        super().__init__(self.describe(f"<@{by}>" if by else None, at))

    def describe(self, by_name: str | None, at: datetime | None) -> str:
        """The message with a display name filled in by the caller; the time as a Discord
        timestamp, shown in each reader's own timezone."""
        who = f" by {by_name}" if by_name else ""
        when = f" at {discord_time(at)}" if at else ""
        return f"Request #{self.request_id} was already {self.status.value}{who}{when}."


# -- leave types -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TypeSettings:
    """The policy of a leave type, as a manager sets it."""

    allowance: Fraction | None = None  # days a year; None = no balance (e.g. Unpaid)
    accrual: Accrual = Accrual.UPFRONT
    carryover_cap: Fraction = ZERO  # days that move to next year
    deducts: bool = True  # False: recorded but takes nothing (Work from home)
    requires_approval: bool = True
    allow_negative: bool = False


DEFAULT_TYPES: tuple[tuple[str, TypeSettings], ...] = (
    ("Annual", TypeSettings(allowance=Fraction(14), carryover_cap=Fraction(5))),
    ("Sick", TypeSettings(allowance=Fraction(10))),
    ("Casual", TypeSettings(allowance=Fraction(6))),
    ("Unpaid", TypeSettings(allowance=None)),
    ("Work from home", TypeSettings(allowance=None, deducts=False, requires_approval=False)),
)


@dataclass(frozen=True)
class LeaveType:
    id: int
    guild_id: int
    name: str
    settings: TypeSettings
    # Unused days carry over from this year on (the year the type was created).
    since_year: int
    # Retired by a manager: no longer offered nor shown in balances; its history stays.
    archived: bool = False

    @property
    def has_balance(self) -> bool:
        return self.settings.allowance is not None and self.settings.deducts

    def policy(self, override: Fraction | None = None) -> Policy:
        """The member's effective policy (``override``: their own allowance)."""
        if override is None or self.settings.allowance is None:
            return self._policy
        return replace(self._policy, allowance=override)

    @cached_property
    def _policy(self) -> Policy:
        """The type's own policy, made once per type object (rows map to cached LeaveTypes, and
        every balance and overdraw check asks for it)."""
        return Policy(
            allowance=self.settings.allowance,
            accrual=self.settings.accrual,
            carryover_cap=self.settings.carryover_cap,
            deducts=self.settings.deducts,
            allow_negative=self.settings.allow_negative,
            since_year=self.since_year,
        )


def validate_type_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise UserError("Give the leave type a name, e.g. `Annual` or `Work from home`.")
    if len(name) > MAX_TYPE_NAME_LENGTH:
        raise UserError(f"A leave type name can be at most {MAX_TYPE_NAME_LENGTH} characters long.")
    if not _TYPE_NAME.match(name):
        raise UserError(
            f"`{name}` is not a usable leave type name: use letters, digits, spaces and . & ' ( ) / + -."
        )
    return name


def describe_settings(settings: TypeSettings) -> str:
    """One line for lists: ``14 days a year upfront · carry 5 · needs approval``."""
    parts: list[str] = []
    if settings.allowance is None:
        parts.append("no balance")
    else:
        parts.append(f"{format_amount(settings.allowance)} a year {settings.accrual.value}")
        parts.append(
            f"carry over up to {format_days(settings.carryover_cap)}"
            if settings.carryover_cap
            else "no carry-over"
        )
    if not settings.deducts:
        parts.append("not deducted")
    parts.append("needs approval" if settings.requires_approval else "auto-approved")
    if settings.allow_negative:
        parts.append("may go negative")
    return " · ".join(parts)


# -- amounts -----------------------------------------------------------------------------------
def parse_days(
    text: str, *, allow_none: bool = False, allow_negative: bool = False
) -> Fraction | None:
    """``14``, ``14.5``, ``1/2`` (and ``none`` when allowed) → exact days."""
    cleaned = text.strip().lower()
    if allow_none and cleaned in _NONE_WORDS:
        return None
    try:
        value = Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        hint = " or `none`" if allow_none else ""
        raise UserError(
            f"`{text}` is not a number of days; use e.g. `14`, `2.5` or `1/2`{hint}."
        ) from None
    return check_days(value, allow_negative=allow_negative, original=text)


def days_from_number(value: float, *, allow_negative: bool = False) -> Fraction:
    """A number typed in a Discord number option → exact days (``0.1`` means one tenth)."""
    exact = Fraction(repr(float(value)))
    return check_days(exact, allow_negative=allow_negative, original=f"{value:g}")


def check_days(value: Fraction, *, allow_negative: bool, original: str) -> Fraction:
    if value.denominator > MAX_DENOMINATOR:
        raise UserError(f"`{original}` is too fine-grained; use at most three decimals.")
    if value < 0 and not allow_negative:
        raise UserError(f"`{original}` is negative; give zero or more days.")
    if abs(value) > MAX_DAYS_VALUE:
        raise UserError(f"`{original}` is more than {MAX_DAYS_VALUE} days.")
    return value


@lru_cache(maxsize=1024)
def format_days(value: Fraction) -> str:
    """``5``, ``0.5``, ``0.125``; amounts with no short decimal form are shown rounded (``≈0.133``).

    Cached: balances repeat a few values, and the Fraction arithmetic here was a noticeable part
    of rendering a balance or an approval card."""
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    for places in range(4):
        scaled = magnitude * 10**places
        if scaled.denominator == 1:
            whole = int(scaled)
            if places == 0:
                return f"{sign}{whole}"
            text = f"{whole:0{places + 1}d}"
            return f"{sign}{text[:-places]}.{text[-places:]}"
    # No short exact form: at most two decimals, marked as rounded.
    return f"≈{sign}{round(float(magnitude), 2):g}"


def format_amount(value: Fraction) -> str:
    return f"{format_days(value)} day{'' if value == 1 else 's'}"


def format_days_hours(value: Fraction, workday_minutes: int) -> str:
    """A balance as people read it: ``6 days``, ``0.5 days``, or, when the days have no short
    decimal form (hours off), days and working hours: ``6 days 2 h 20 min`` (a working day
    being ``workday_minutes`` long; minutes rounded)."""
    if (value * 100).denominator == 1:
        return format_amount(value)
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    whole = int(magnitude)
    minutes = round((magnitude - whole) * workday_minutes)
    if minutes >= workday_minutes:  # rounding up to a whole day
        whole, minutes = whole + 1, 0
    parts = [f"{whole} day{'' if whole == 1 else 's'}"] if whole else []
    if minutes >= 60:
        parts.append(f"{minutes // 60} h")
    if minutes % 60:
        parts.append(f"{minutes % 60} min")
    return sign + (" ".join(parts) or "0 days")


# ``date.isoformat``, cached: the leave write path writes and queries each request's dates as
# text half a dozen times, and making the text (C printf) costs several times a cache hit.
iso_day: Callable[[date], str] = lru_cache(maxsize=4096)(date.isoformat)


def fraction_to_text(value: Fraction) -> str:
    """Storage form: ``"5"``, ``"-1/2"``."""
    return str(value)


@lru_cache(maxsize=4096)
def fraction_from_text(text: str) -> Fraction:
    """Parse a stored amount; cached, because ledgers repeat a few values and parsing a
    Fraction from text is the slowest step of reading a balance."""
    return Fraction(text)


# -- working days ------------------------------------------------------------------------------
def is_working_day(day: date, workdays: frozenset[int], holidays: frozenset[date]) -> bool:
    return day.weekday() in workdays and day not in holidays


def each_day(start: date, end: date) -> Iterable[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def working_days(
    start: date, end: date, workdays: frozenset[int], holidays: frozenset[date]
) -> list[date]:
    if start == end:  # one day, as most requests: no generator to make
        return [start] if is_working_day(start, workdays, holidays) else []
    return [d for d in each_day(start, end) if is_working_day(d, workdays, holidays)]


@quick_init
@dataclass(frozen=True)
class Span:
    """What a request asks for, before amounts: dates and the portion of the day."""

    start: date
    end: date
    portion: Portion
    from_time: time | None = None
    to_time: time | None = None

    def interval(self) -> tuple[int, int]:
        """The minutes of each covered day this span takes, for overlap checks."""
        if self.portion is Portion.FULL_DAY:
            return 0, 24 * 60
        midday = MIDDAY.hour * 60 + MIDDAY.minute
        if self.portion is Portion.HALF_DAY_AM:
            return 0, midday
        if self.portion is Portion.HALF_DAY_PM:
            return midday, 24 * 60
        assert self.from_time is not None and self.to_time is not None
        return _minutes(self.from_time), _minutes(self.to_time)

    def describe(self) -> str:
        """``Thu 3 Dec 2026``, ``Thu 3 – Mon 7 Dec 2026``, with the portion when not a full day."""
        dates = describe_dates(self.start, self.end)
        if self.portion is Portion.FULL_DAY:
            return dates
        return f"{dates}, {self.portion_text()}"

    def portion_text(self) -> str:
        if self.portion is Portion.OFF_DUTY and self.from_time and self.to_time:
            return f"off duty {format_hhmm(self.from_time)}–{format_hhmm(self.to_time)}"
        return self.portion.label

    def public_label(self, state: str = "Out") -> str:
        """What everyone may see: ``Out (full day)``, ``Out (AM)``, ``Out (14:00–16:00)``."""
        if self.portion is Portion.HALF_DAY_AM:
            return f"{state} (AM)"
        if self.portion is Portion.HALF_DAY_PM:
            return f"{state} (PM)"
        if self.portion is Portion.OFF_DUTY and self.from_time and self.to_time:
            return f"{state} ({format_hhmm(self.from_time)}–{format_hhmm(self.to_time)})"
        return f"{state} (full day)"

    def overlaps(self, other: Span) -> bool:
        if self.end < other.start or other.end < self.start:
            return False
        (a_start, a_end), (b_start, b_end) = self.interval(), other.interval()
        return a_start < b_end and b_start < a_end


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def describe_dates(start: date, end: date) -> str:
    if start == end:
        return f"{start:%a} {start.day} {start:%b %Y}"
    if start.year != end.year:
        return f"{start:%a} {start.day} {start:%b %Y} – {end:%a} {end.day} {end:%b %Y}"
    if start.month != end.month:
        return f"{start:%a} {start.day} {start:%b} – {end:%a} {end.day} {end:%b %Y}"
    return f"{start:%a} {start.day} – {end:%a} {end.day} {end:%b %Y}"


def build_span(
    start: date,
    end: date | None,
    portion: Portion,
    from_time: time | None,
    to_time: time | None,
    *,
    today: date,
    max_days: int,
) -> Span:
    """Check dates and portion (not amounts); UserError with a clear message otherwise."""
    last = start if end is None else end
    if last < start:
        raise UserError(
            f"The end date {last.isoformat()} is before the start date {start.isoformat()}."
        )
    length = (last - start).days + 1
    if length > max_days:
        raise UserError(
            f"That request spans {length} calendar days; the longest allowed is {max_days}. "
            "Split it into several requests or ask a manager to raise `leave_max_days`."
        )
    if start < today - timedelta(days=MAX_PAST_DAYS):
        raise UserError(
            f"{start.isoformat()} is more than {MAX_PAST_DAYS} days in the past; "
            "ask a manager to record older leave with `/leave adjust`."
        )
    if portion.single_day and last != start:
        raise UserError(f"A {portion.label} request covers one day only: leave out `end`.")
    if portion is Portion.OFF_DUTY:
        if from_time is None or to_time is None:
            raise UserError(
                "Off duty needs `from_time` and `to_time` (HH:MM), e.g. 14:00 and 16:00."
            )
        if to_time <= from_time:
            raise UserError(
                f"`to_time` {format_hhmm(to_time)} must be after `from_time` {format_hhmm(from_time)}."
            )
    elif from_time is not None or to_time is not None:
        raise UserError("`from_time` and `to_time` are only for the Off duty (hours) portion.")
    return Span(start, last, portion, from_time, to_time)


def day_amounts(
    span: Span, workdays: frozenset[int], holidays: frozenset[date], workday_minutes: int
) -> list[tuple[date, Fraction]]:
    """The working days a span takes and how much of each (exact); UserError when none."""
    days = working_days(span.start, span.end, workdays, holidays)
    if not days:
        dates = describe_dates(span.start, span.end)
        if span.start == span.end:
            why = (
                "a holiday here"
                if span.start in holidays
                else f"not a working day here (the office works {describe_workdays(workdays)})"
            )
            raise UserError(f"{dates} is {why}, so there is no leave to take that day.")
        raise UserError(
            f"{dates} covers no working day (only weekends and holidays), so there is nothing "
            "to request."
        )
    if span.portion is Portion.FULL_DAY:
        each = _ONE_DAY
    elif span.portion is Portion.OFF_DUTY:
        start, end = span.interval()
        if end - start > workday_minutes:
            raise UserError(
                f"An off-duty span of {_hours(end - start)} is longer than the "
                f"{_hours(workday_minutes)} working day; request a full day instead."
            )
        each = Fraction(end - start, workday_minutes)
    else:
        each = _HALF_DAY
    return [(day, each) for day in days]


# The amounts of a full and a half day, made once (Fractions are immutable; making one is slow
# in Python, and every request asks for one).
_ONE_DAY = Fraction(1)
_HALF_DAY = Fraction(1, 2)


def _hours(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" if not rest else f"{hours} h {rest:02d} min"


def amounts_by_year(days: Iterable[tuple[date, Fraction]]) -> dict[int, Fraction]:
    """A request that spans two years counts against each year separately."""
    totals: dict[int, Fraction] = {}
    for day, amount in days:
        year = day.year
        totals[year] = totals[year] + amount if year in totals else amount
    if len(totals) == 1:  # one year (most requests): already in order
        return totals
    return dict(sorted(totals.items()))


def find_overlap(span: Span, existing: Iterable[tuple[int, Span]]) -> int | None:
    """The id of the first live request that overlaps ``span``, if any."""
    for request_id, other in existing:
        if span.overlaps(other):
            return request_id
    return None


def validate_reason(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = text.strip()
    if len(cleaned) > MAX_REASON_LENGTH:
        raise UserError(f"The reason can be at most {MAX_REASON_LENGTH} characters long.")
    return cleaned or None


# -- balances ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Policy:
    """A type's policy as it applies to one member (their allowance override applied)."""

    allowance: Fraction | None
    accrual: Accrual
    carryover_cap: Fraction
    deducts: bool
    allow_negative: bool
    since_year: int

    @property
    def tracked(self) -> bool:
        return self.allowance is not None and self.deducts

    @cached_property
    def ratios(self) -> tuple[int, int, int, int]:
        """(numerator, denominator) of the allowance (0/1 when there is none) and of the
        carry-over cap, worked out once per policy object for the overdraw check."""
        whole_n, whole_d = (0, 1) if self.allowance is None else self.allowance.as_integer_ratio()
        cap_n, cap_d = self.carryover_cap.as_integer_ratio()
        return whole_n, whole_d, cap_n, cap_d


@quick_init
@dataclass(frozen=True)
class YearActivity:
    """What the ledger and the live requests hold for one member, type and year."""

    adjustments: Fraction = ZERO
    taken: Fraction = ZERO  # approved debits net of credits
    pending: Fraction = ZERO
    recorded: Fraction = ZERO  # approved days of any type, deducted or not (for display)


NO_ACTIVITY = YearActivity()  # a year with nothing in it (frozen: one serves every such year)
_NONE: tuple[int, int] = (0, 1)  # an empty column as (numerator, denominator)


@quick_init
@dataclass(frozen=True)
class Balance:
    leave_type: str
    year: int
    tracked: bool
    allow_negative: bool
    entitlement: Fraction
    carried: Fraction
    adjustments: Fraction
    taken: Fraction
    pending: Fraction
    recorded: Fraction

    @property
    def available(self) -> Fraction:
        value = moved(self.entitlement, 1, self.carried)
        return moved(moved(value, 1, self.adjustments), -1, self.taken)

    @property
    def after_pending(self) -> Fraction:
        return moved(self.available, -1, self.pending)


def accrued(allowance: Fraction, accrual: Accrual, year: int, as_of: date) -> Fraction:
    """Entitlement of ``year`` credited by ``as_of``: all on 1 January, or 1/12 on each 1st."""
    if as_of.year < year:  # before 1 January of ``year``
        return ZERO
    if accrual is Accrual.UPFRONT:
        return allowance
    months = 12 if as_of.year > year else as_of.month
    # allowance * months / 12, made as one Fraction (two Fraction operations cost twice that,
    # and every balance shown or checked asks for it).
    return Fraction(allowance.numerator * months, allowance.denominator * 12)


def carried_into(policy: Policy, year: int, activity: Mapping[int, YearActivity]) -> Fraction:
    """Days carried from ``year - 1``: min(unused, cap). A deficit (negative types) carries in
    full, because a debt is not forgiven by the calendar; years before the type existed carry
    nothing."""
    if policy.allowance is None or not policy.deducts:
        return ZERO
    carried = ZERO
    for previous in range(policy.since_year, year):
        seen = activity.get(previous)
        # Exact Fractions are slow in Python: add only what is there (most terms are zero).
        unused = policy.allowance + carried if carried else policy.allowance
        if seen is not None:
            unused = moved(unused, 1, seen.adjustments)
            unused = moved(unused, -1, seen.taken)
        carried = _smaller(unused, policy.carryover_cap)
    return carried


def _smaller(a: Fraction, b: Fraction) -> Fraction:
    """``min(a, b)``, compared in integers: a Fraction comparison first asks whether the other
    side is a ``numbers.Rational`` (an ABC check), and every balance shown makes one."""
    return b if b.numerator * a.denominator < a.numerator * b.denominator else a


def moved(value: Fraction, sign: int, amount: Fraction) -> Fraction:
    """``value + sign * amount``, without Fraction arithmetic where there is none to do: the
    balance code does this for every column of every year, and most moves are by 0 or ±1."""
    if not sign or not amount:
        return value
    if sign == 1:
        return value + amount
    if sign == -1:
        return value - amount
    return value + sign * amount


def compute_balance(
    name: str, policy: Policy, year: int, as_of: date, activity: Mapping[int, YearActivity]
) -> Balance:
    seen = activity.get(year, NO_ACTIVITY)
    tracked = policy.tracked
    entitlement = (
        accrued(policy.allowance, policy.accrual, year, as_of)
        if tracked and policy.allowance is not None
        else ZERO
    )
    return Balance(
        leave_type=name,
        year=year,
        tracked=tracked,
        allow_negative=policy.allow_negative,
        entitlement=entitlement,
        carried=carried_into(policy, year, activity) if tracked else ZERO,
        adjustments=seen.adjustments if tracked else ZERO,
        taken=seen.taken if tracked else ZERO,
        pending=seen.pending if tracked else ZERO,
        recorded=seen.recorded,
    )


def available_days(
    policy: Policy, year: int, as_of: date, activity: Mapping[int, YearActivity]
) -> Fraction:
    """``compute_balance(...).available`` for a tracked policy, without building the Balance
    (the overdraw check asks this for every year it checks, in every request and approval)."""
    seen = activity.get(year)
    assert policy.allowance is not None
    value = moved(
        accrued(policy.allowance, policy.accrual, year, as_of),
        1,
        carried_into(policy, year, activity),
    )
    if seen is None:
        return value
    return moved(moved(value, 1, seen.adjustments), -1, seen.taken)


def balance_as_of(year: int, today: date, last_day: date | None = None) -> date:
    """The date a year's entitlement is counted up to: today for this year, the whole year for
    past years, and for future years (and future requests) the later of today and the last
    requested day in that year, so leave can be booked against next year's allowance."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    point = max(today, last_day) if last_day is not None else today
    return min(max(point, first), last)


def shortfall(
    name: str,
    policy: Policy,
    activity: Mapping[int, YearActivity],
    additions: Mapping[int, Fraction],
    as_of: Mapping[int, date],
    *,
    count_pending: bool,
) -> str | None:
    """Why taking ``additions`` (days per year) would overdraw, or None when it fits.

    Each year that takes days is checked as of ``as_of[year]``. Later years are checked too
    (over their whole year), because taking days now shrinks what carries over into them: leave
    already booked next year must stay covered. ``count_pending`` counts pending requests as
    taken (a new request must fit beside them); an approval counts only approved leave.
    """
    allowance = policy.allowance  # ``policy.tracked``, without the property call
    if allowance is None or not policy.deducts or policy.allow_negative or not additions:
        return None
    if len(additions) == 1:  # one year (most requests): no min() to call
        (first,) = additions
    else:
        first = min(additions)
    accrual = policy.accrual
    # Loops rather than generator expressions and comprehensions: a request and its approval
    # each run this inside the write transaction, for one or two years, where making the generators
    # cost more than the work in them.
    years = set(activity)
    years.update(additions)
    checked = sorted(years)
    if checked[0] < first:
        checked = [year for year in checked if year >= first]
    # Exact, in integers: every amount scaled by the least common multiple of the
    # denominators (Fraction arithmetic was most of this check's time, which every request and
    # approval pays inside its transaction). Each year's adjustments less what it takes (pending
    # counted as taken for a new request); then each year from ``first`` in order, the
    # carry-over into it worked out once along the way rather than again from ``since_year``
    # for every year (as carried_into does): the sums available_days makes, in integers.
    # Each amount as (numerator, denominator), asked for once: a Fraction's numerator and
    # denominator are Python properties, and asking each twice (for the common denominator,
    # then to scale) was half of this check's cost.
    # A column with nothing in it holds the ZERO object: (0, 1) without asking it.
    whole_n, whole_d, cap_n, cap_d = policy.ratios
    denominators = {whole_d, cap_d}
    entitled: dict[int, tuple[int, int]] = {}
    for year in checked:
        point = as_of.get(year)
        value = accrued(allowance, accrual, year, date(year, 12, 31) if point is None else point)
        ratio = value.as_integer_ratio()
        entitled[year] = ratio
        denominators.add(ratio[1])
    flows: dict[int, tuple[tuple[int, int], tuple[int, int], tuple[int, int]]] = {}
    for year, seen in activity.items():
        adjusted, taken, pending = seen.adjustments, seen.taken, seen.pending
        parts = (
            _NONE if adjusted is ZERO else adjusted.as_integer_ratio(),
            _NONE if taken is ZERO else taken.as_integer_ratio(),
            _NONE if pending is ZERO or not count_pending else pending.as_integer_ratio(),
        )
        flows[year] = parts
        denominators.update((parts[0][1], parts[1][1], parts[2][1]))
    added: dict[int, tuple[int, int]] = {}
    for year, value in additions.items():
        ratio = value.as_integer_ratio()
        added[year] = ratio
        denominators.add(ratio[1])
    # The least common multiple of the distinct denominators (most often only 1).
    scale: int = lcm(*denominators) if len(denominators) > 1 else denominators.pop()
    net: dict[int, int] = {}
    for year in years:
        change = 0
        ratio = added.get(year)
        if ratio is not None:
            change = -ratio[0] * (scale // ratio[1])
        parts = flows.get(year)
        if parts is not None:
            (adjusted_n, adjusted_d), (taken_n, taken_d), (pending_n, pending_d) = parts
            change += adjusted_n * (scale // adjusted_d) - taken_n * (scale // taken_d)
            change -= pending_n * (scale // pending_d)  # (0, 1) unless counted
        net[year] = change
    whole, cap = whole_n * (scale // whole_d), cap_n * (scale // cap_d)
    carried = 0
    into = policy.since_year  # ``carried`` is what carries into this year
    which = "available after pending requests" if count_pending else "available"
    for year in checked:
        while into < year:
            carried = min(whole + carried + net.get(into, 0), cap)
            into += 1
        entitled_n, entitled_d = entitled[year]
        left_scaled = entitled_n * (scale // entitled_d) + carried + net[year]
        if left_scaled >= 0:
            continue
        left = Fraction(left_scaled, scale)
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


# -- requests as the rest of the code sees them ------------------------------------------------
@quick_init
@dataclass(frozen=True)
class LeaveRequest:
    id: int
    guild_id: int
    user_id: int
    type_id: int
    leave_type: str
    span: Span
    amount: Fraction
    deducts: bool
    reason: str | None
    status: RequestStatus
    filed_by: int
    created_at: datetime
    decided_by: int | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    cancelled_by: int | None = None
    cancelled_at: datetime | None = None
    card_channel_id: int | None = None
    card_message_id: int | None = None
    # A manager's note when the request was filed over a blackout or a team's limit.
    override_note: str | None = None

    @property
    def start(self) -> date:
        return self.span.start

    @property
    def end(self) -> date:
        return self.span.end

    @property
    def portion(self) -> Portion:
        return self.span.portion

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES


def already_decided(request: LeaveRequest) -> AlreadyDecided:
    """The error for acting on a request that has left the state the action needs."""
    if request.status is RequestStatus.CANCELLED:
        return AlreadyDecided(
            request.id, request.status, request.cancelled_by, request.cancelled_at
        )
    return AlreadyDecided(request.id, request.status, request.decided_by, request.decided_at)


@dataclass(frozen=True)
class Absence:
    """One member away on one day (for calendars, "who is out" and the DAR module)."""

    user_id: int
    day: date
    portion: Portion
    from_time: time | None
    to_time: time | None
    leave_type: str
    request_id: int
    status: RequestStatus
    amount: Fraction
    # False for types that take nothing (work from home, on duty): the member is working.
    deducts: bool = True
    # A morning and an afternoon off the same day, shown as one whole day (see whole_days).
    both_halves: bool = False

    @property
    def span(self) -> Span:
        return Span(self.day, self.day, self.portion, self.from_time, self.to_time)

    @property
    def is_away(self) -> bool:
        """Actually away (not working elsewhere, which is still work)."""
        return self.deducts

    def public_label(self) -> str:
        """``Out (AM)``, or ``Working elsewhere (AM)`` for work from home and the like: the
        type stays private, but nobody is shown as out while working."""
        state = "Out" if self.is_away else "Working elsewhere"
        if self.both_halves:
            return f"{state} (all day)"
        return self.span.public_label(state)


@dataclass(frozen=True)
class Holiday:
    day: date
    name: str
    source: str  # 'manual' or 'import:<country>[-<subdivision>]'


def sum_days(values: Sequence[Fraction]) -> Fraction:
    return sum(values, ZERO)


def away_all_day(absences: Iterable[Absence]) -> frozenset[int]:
    """Members whose leave that takes days covers the whole day (a full day, or both halves):
    they are not working, so nobody should chase them. Work-from-home and similar types count
    as working."""
    portions: dict[int, set[Portion]] = {}
    for absence in absences:
        if absence.deducts:
            portions.setdefault(absence.user_id, set()).add(absence.portion)
    whole = {Portion.HALF_DAY_AM, Portion.HALF_DAY_PM}
    return frozenset(
        user for user, seen in portions.items() if Portion.FULL_DAY in seen or whole <= seen
    )


def whole_days(absences: Sequence[Absence]) -> list[Absence]:
    """``absences`` with a member's morning and afternoon of the same day (both away, or both
    working elsewhere) joined into one full day, so nobody off all day looks half present.
    The joined day is pending while either half is; order is kept (at the first half)."""
    halves = {Portion.HALF_DAY_AM, Portion.HALF_DAY_PM}
    seen: dict[tuple[int, date, bool], list[Absence]] = {}
    for absence in absences:
        if absence.portion in halves:
            seen.setdefault((absence.user_id, absence.day, absence.deducts), []).append(absence)
    joined: dict[tuple[int, date, bool], Absence] = {}
    for key, parts in seen.items():
        if {part.portion for part in parts} != halves:
            continue
        first = parts[0]
        pending = any(part.status is RequestStatus.PENDING for part in parts)
        joined[key] = replace(
            first,
            portion=Portion.FULL_DAY,
            status=RequestStatus.PENDING if pending else first.status,
            amount=sum_days([part.amount for part in parts]),
            both_halves=True,
        )
    result: list[Absence] = []
    shown: set[tuple[int, date, bool]] = set()
    for absence in absences:
        key = (absence.user_id, absence.day, absence.deducts)
        if absence.portion not in halves or key not in joined:
            result.append(absence)
        elif key not in shown:
            shown.add(key)
            result.append(joined[key])
    return result
