"""Leave exports: CSV for spreadsheets and iCalendar (RFC 5545) for Google / Outlook import.
Pure: the caller passes the requests, display names, the guild's timezone and ``now``."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from concord.core.leave import (
    HALF_DAY_TIMES,
    LeaveRequest,
    Portion,
    RequestStatus,
)
from concord.core.schedule import format_hhmm

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
    "reason",
    "requested_at",
    "decided_by",
    "decided_at",
)
# Spreadsheet apps run cells that start with these as formulas; a leading quote disarms them.
_FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str | None) -> str:
    text = value or ""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else ""


def _name(names: Mapping[int, str], user_id: int | None) -> str:
    if user_id is None:
        return ""
    return names.get(user_id, f"user {user_id}")


def requests_csv(requests: Sequence[LeaveRequest], names: Mapping[int, str]) -> bytes:
    """One row per request; amounts as a rounded decimal and as the exact fraction."""
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
                f"{float(request.amount):.4f}".rstrip("0").rstrip("."),
                str(request.amount),
                _cell(request.reason),
                _iso(request.created_at),
                _cell(_name(names, request.decided_by)),
                _iso(request.decided_at),
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
) -> bytes:
    """Full days as all-day events, half days and off-duty spans as timed events (UTC).
    Pending leave is TENTATIVE; every event is transparent, so importing a team's leave does
    not mark the importer busy."""
    calendar = Calendar()
    calendar.add("prodid", "-//Concord Desk//Leave//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", calendar_name)
    for request in requests:
        calendar.add_component(_event(request, names, tz, now))
    return calendar.to_ical()


def _event(request: LeaveRequest, names: Mapping[int, str], tz: ZoneInfo, now: datetime) -> Event:
    event = Event()
    pending = request.status is RequestStatus.PENDING
    summary = f"{_name(names, request.user_id)}: {request.leave_type}"
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
    if request.reason:
        event.add("description", request.reason)
    event.add("created", request.created_at.astimezone(UTC))
    return event
