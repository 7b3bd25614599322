"""The wall chart's model: a month as members × days, each cell saying what kind of leave it
holds (full day, morning, afternoon, hours off, working elsewhere), whether any of it is still
pending, and whether the day is a weekend or a holiday. Pure: ``concord.web.chart`` renders it
as HTML. Who may see leave types and reasons is decided by the caller (``details_for``)."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from concord.core.leave import Holiday, LeaveRequest, Portion, RequestStatus
from concord.core.schedule import format_hhmm


class CellKind(StrEnum):
    NONE = "none"
    FULL = "full"
    AM = "am"
    PM = "pm"
    HOURS = "hours"
    ELSEWHERE = "elsewhere"


# What a cell shows as text (colour is not the only cue), and the legend's words.
CELL_LETTERS: dict[CellKind, str] = {
    CellKind.NONE: "",
    CellKind.FULL: "F",
    CellKind.AM: "AM",
    CellKind.PM: "PM",
    CellKind.HOURS: "h",
    CellKind.ELSEWHERE: "W",
}
CELL_LABELS: dict[CellKind, str] = {
    CellKind.FULL: "Out (full day)",
    CellKind.AM: "Out (morning)",
    CellKind.PM: "Out (afternoon)",
    CellKind.HOURS: "Out (some hours)",
    CellKind.ELSEWHERE: "Working elsewhere",
}


@dataclass(frozen=True)
class ChartCell:
    day: date
    kind: CellKind = CellKind.NONE
    pending: bool = False
    weekend: bool = False
    holiday: str | None = None
    today: bool = False
    # What hovering shows: the portion for everyone; type and reason only where allowed.
    title: str = ""


@dataclass(frozen=True)
class ChartRow:
    user_id: int
    name: str
    cells: tuple[ChartCell, ...]


@dataclass(frozen=True)
class MonthChart:
    month: date  # the first of the month
    days: tuple[date, ...]
    rows: tuple[ChartRow, ...]
    holidays: Mapping[date, str]
    workdays: frozenset[int]
    today: date

    @property
    def previous_month(self) -> date:
        return (self.month - timedelta(days=1)).replace(day=1)

    @property
    def next_month(self) -> date:
        return self.month + timedelta(
            days=calendar.monthrange(self.month.year, self.month.month)[1]
        )


def parse_month(text: str | None, today: date) -> date:
    """``YYYY-MM`` → the first of that month (years 1970–2999); None or "" → this month.
    ValueError on anything else."""
    if not text:
        return today.replace(day=1)
    year, sep, month = text.partition("-")
    digits = year + month
    if not sep or len(year) != 4 or len(month) != 2 or not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"{text!r} is not a month like 2026-12")
    first = date(int(year), int(month), 1)  # ValueError for month 13
    if not 1970 <= first.year <= 2999:
        raise ValueError(f"{text!r} is out of range")
    return first


def month_days(first: date) -> tuple[date, ...]:
    count = calendar.monthrange(first.year, first.month)[1]
    return tuple(first + timedelta(days=n) for n in range(count))


def _kind_of(request: LeaveRequest) -> CellKind:
    if not request.deducts:
        return CellKind.ELSEWHERE
    return {
        Portion.FULL_DAY: CellKind.FULL,
        Portion.HALF_DAY_AM: CellKind.AM,
        Portion.HALF_DAY_PM: CellKind.PM,
        Portion.OFF_DUTY: CellKind.HOURS,
    }[request.portion]


def _portion_words(request: LeaveRequest) -> str:
    span = request.span
    if span.portion is Portion.OFF_DUTY and span.from_time and span.to_time:
        return f"{format_hhmm(span.from_time)}–{format_hhmm(span.to_time)}"
    return {
        Portion.FULL_DAY: "full day",
        Portion.HALF_DAY_AM: "morning",
        Portion.HALF_DAY_PM: "afternoon",
        Portion.OFF_DUTY: "some hours",
    }[span.portion]


def combine(kinds: Iterable[CellKind]) -> CellKind:
    """What one cell shows for all of a member's leave that day: a full day wins; morning and
    afternoon make a full day; hours off beat working elsewhere."""
    found = set(kinds) - {CellKind.NONE}
    if not found:
        return CellKind.NONE
    if CellKind.FULL in found or {CellKind.AM, CellKind.PM} <= found:
        return CellKind.FULL
    for kind in (CellKind.AM, CellKind.PM, CellKind.HOURS):
        if kind in found:
            return kind
    return CellKind.ELSEWHERE


def request_title(request: LeaveRequest, *, details: bool) -> str:
    """One line for hovering: "Out (morning)", or with ``details`` "Annual (morning): reason"."""
    pending = " — pending" if request.status is RequestStatus.PENDING else ""
    if details:
        text = f"{request.leave_type} ({_portion_words(request)}){pending}"
        return f"{text}: {request.reason}" if request.reason else text
    shown = "Out" if request.deducts else "Working elsewhere"
    return f"{shown} ({_portion_words(request)}){pending}"


def build_month_chart(
    month: date,
    *,
    members: Sequence[tuple[int, str]],
    requests: Sequence[LeaveRequest],
    holidays: Sequence[Holiday],
    workdays: frozenset[int],
    today: date,
    details_for: Callable[[int], bool],
) -> MonthChart:
    """The chart of ``month`` for ``members`` (in the given order). Leave shows on the working
    days it covers (not on weekends or holidays, which take none); rejected and cancelled
    requests are left out. ``details_for(user_id)`` says whether that member's types and
    reasons may be shown."""
    days = month_days(month)
    holiday_names = {h.day: h.name for h in holidays if days[0] <= h.day <= days[-1]}
    by_member: dict[int, list[LeaveRequest]] = {}
    for request in requests:
        if request.status in (RequestStatus.PENDING, RequestStatus.APPROVED):
            by_member.setdefault(request.user_id, []).append(request)
    rows = []
    for user_id, name in members:
        mine = by_member.get(user_id, [])
        details = details_for(user_id)
        cells = []
        for day in days:
            weekend = day.weekday() not in workdays
            holiday = holiday_names.get(day)
            covering = (
                [r for r in mine if r.start <= day <= r.end] if not (weekend or holiday) else []
            )
            kind = combine(_kind_of(r) for r in covering)
            title = "; ".join(request_title(r, details=details) for r in covering)
            if holiday:
                title = f"Holiday: {holiday}"
            cells.append(
                ChartCell(
                    day=day,
                    kind=kind,
                    pending=any(r.status is RequestStatus.PENDING for r in covering),
                    weekend=weekend,
                    holiday=holiday,
                    today=day == today,
                    title=title,
                )
            )
        rows.append(ChartRow(user_id=user_id, name=name, cells=tuple(cells)))
    return MonthChart(
        month=month,
        days=days,
        rows=tuple(rows),
        holidays=holiday_names,
        workdays=workdays,
        today=today,
    )
