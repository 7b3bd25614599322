"""Leave exports: CSV for spreadsheets and iCalendar (RFC 5545) for Google / Outlook import.
Pure: the caller passes the requests, display names, the guild's timezone and ``now``."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from concord.core.leave import (
    HALF_DAY_TIMES,
    Holiday,
    LeaveRequest,
    Portion,
    RequestStatus,
)
from concord.core.schedule import format_hhmm

if TYPE_CHECKING:
    from icalendar import Event

CSV_COLUMNS: tuple[str, ...] = (
    "request_id",
    "member_id",
    "member",
    "leave_type",
    "status",
    "start",
    "end",
    "portion",
    "from_time",
    "to_time",
    "working_days",
    "working_days_exact",
    # What the request takes from a balance: 0 for Work from home and other types that take
    # nothing, so a column sum is the leave taken.
    "days_deducted",
    "reason",
    "requested_at",
    "decided_by",
    "decided_at",
)
# Spreadsheet apps run cells that start with these as formulas; a leading quote disarms them.
_FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
# A dash and a space start a list item, not a formula: such text is left as typed.
_LIST_ITEM = "- "
# Shown instead of the type in a feed of other people's leave (their type stays private).
AWAY = "Out"
ELSEWHERE = "Working elsewhere"


def formula_safe(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would run it as a formula."""
    if text.startswith(_FORMULA_STARTS) and not text.startswith(_LIST_ITEM):
        return f"'{text}"
    return text


def _cell(value: str | None) -> str:
    return formula_safe(value or "")


def _local_iso(moment: datetime | None, tz: ZoneInfo) -> str:
    """The office's wall-clock time with its UTC offset, as the DAR export writes times."""
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else ""


def _decimal(value: Fraction) -> str:
    return f"{float(value):.4f}".rstrip("0").rstrip(".")


def _name(names: Mapping[int, str], user_id: int | None) -> str:
    if user_id is None:
        return ""
    return names.get(user_id, f"user {user_id}")


def requests_csv(requests: Sequence[LeaveRequest], names: Mapping[int, str], tz: ZoneInfo) -> bytes:
    """One row per request; amounts as a rounded decimal and as the exact fraction; times in
    the office's timezone (``tz``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for request in requests:
        span = request.span
        writer.writerow(
            [
                request.id,
                request.user_id,
                _cell(_name(names, request.user_id)),
                _cell(request.leave_type),
                request.status.value,
                request.start.isoformat(),
                request.end.isoformat(),
                request.portion.value,
                format_hhmm(span.from_time) if span.from_time else "",
                format_hhmm(span.to_time) if span.to_time else "",
                _decimal(request.amount),
                str(request.amount),
                _decimal(request.amount if request.deducts else Fraction(0)),
                _cell(request.reason),
                _local_iso(request.created_at, tz),
                _cell(_name(names, request.decided_by)),
                _local_iso(request.decided_at, tz),
            ]
        )
    # A byte-order mark makes Excel read the file as UTF-8 (names with accents, emoji).
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at).replace(tzinfo=tz).astimezone(UTC)


def requests_ics(
    requests: Sequence[LeaveRequest],
    names: Mapping[int, str],
    tz: ZoneInfo,
    now: datetime,
    *,
    calendar_name: str = "Leave",
    private_except: int | None = None,
    holidays: Sequence[Holiday] = (),
    refresh: timedelta | None = None,
) -> bytes:
    """Full days as all-day events, half days and off-duty spans as timed events (UTC).
    Pending leave is TENTATIVE; every event is transparent, so importing a team's leave does
    not mark the importer busy. With ``private_except`` (a member who is not a manager), the
    leave of everyone else shows as "Out" or "Working elsewhere": no type, no reason.
    ``holidays`` become all-day events; ``refresh`` tells subscribing clients how often to poll
    (REFRESH-INTERVAL and Outlook's X-PUBLISHED-TTL)."""
    # Imported here: icalendar takes a noticeable share of the bot's start-up otherwise.
    from icalendar import Calendar, vDuration

    calendar = Calendar()
    calendar.add("prodid", "-//Concord Desk//Leave//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", calendar_name)
    if refresh is not None:
        calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(refresh))
    for holiday in holidays:
        calendar.add_component(_holiday_event(holiday, now))
    for request in requests:
        private = private_except is not None and request.user_id != private_except
        calendar.add_component(_event(request, names, tz, now, private=private))
    return calendar.to_ical()


def _holiday_event(holiday: Holiday, now: datetime) -> Event:
    from icalendar import Event

    event = Event()
    event.add("uid", f"holiday-{holiday.day.isoformat()}@concord-desk")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("summary", f"Holiday: {holiday.name}")
    event.add("dtstart", holiday.day)
    event.add("dtend", holiday.day + timedelta(days=1))
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    event.add("categories", ["Holiday"])
    return event


def _event(
    request: LeaveRequest,
    names: Mapping[int, str],
    tz: ZoneInfo,
    now: datetime,
    *,
    private: bool = False,
) -> Event:
    from icalendar import Event

    event = Event()
    pending = request.status is RequestStatus.PENDING
    shown_type = (AWAY if request.deducts else ELSEWHERE) if private else request.leave_type
    summary = f"{_name(names, request.user_id)}: {shown_type}"
    if request.portion is not Portion.FULL_DAY:
        summary += f" ({request.span.portion_text()})"
    event.add("uid", f"leave-{request.id}@concord-desk")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("summary", summary + (" (pending)" if pending else ""))
    span = request.span
    if span.portion is Portion.FULL_DAY:
        event.add("dtstart", span.start)
        event.add("dtend", span.end + timedelta(days=1))  # DTEND of a date is exclusive
    else:
        if span.portion is Portion.OFF_DUTY and span.from_time and span.to_time:
            begin, end = span.from_time, span.to_time
        else:
            begin, end = HALF_DAY_TIMES[span.portion.value]
        event.add("dtstart", _local_instant(span.start, begin, tz))
        event.add("dtend", _local_instant(span.start, end, tz))
    event.add("status", "TENTATIVE" if pending else "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    if request.reason and not private:
        event.add("description", request.reason)
    event.add("created", request.created_at.astimezone(UTC))
    return event
