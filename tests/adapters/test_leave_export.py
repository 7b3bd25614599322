"""CSV and iCalendar exports of leave, and the public holiday lookups."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from concord.adapters.leave_export import CSV_COLUMNS, requests_csv, requests_ics
from concord.adapters.public_holidays import public_holidays, search_countries, subdivisions
from concord.core.leave import LeaveRequest, Portion, RequestStatus, Span
from concord.errors import UserError

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NAMES = {1: "Bob", 2: "Alice"}


def request(
    request_id: int,
    span: Span,
    *,
    status: RequestStatus = RequestStatus.APPROVED,
    amount: Fraction = Fraction(1),
    reason: str | None = None,
) -> LeaveRequest:
    return LeaveRequest(
        id=request_id,
        guild_id=9,
        user_id=1,
        type_id=1,
        leave_type="Annual",
        span=span,
        amount=amount,
        deducts=True,
        reason=reason,
        status=status,
        filed_by=1,
        created_at=NOW,
        decided_by=2 if status is RequestStatus.APPROVED else None,
        decided_at=NOW if status is RequestStatus.APPROVED else None,
    )


def test_csv_has_a_header_exact_amounts_and_no_formulas() -> None:
    rows = [
        request(
            1, Span(date(2026, 12, 3), date(2026, 12, 4), Portion.FULL_DAY), amount=Fraction(2)
        ),
        request(
            2,
            Span(date(2026, 12, 7), date(2026, 12, 7), Portion.OFF_DUTY, time(14), time(15)),
            amount=Fraction(2, 15),
            reason="+1 dentist",
        ),
    ]
    data = requests_csv(rows, NAMES, ZoneInfo("UTC"))
    assert data.startswith("\ufeff".encode())
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(table[0]) == CSV_COLUMNS
    assert table[0]["member"] == "Bob" and table[0]["decided_by"] == "Alice"
    assert table[1]["working_days"] == "0.1333" and table[1]["working_days_exact"] == "2/15"
    assert table[1]["reason"] == "'+1 dentist"


def test_ics_places_half_days_in_the_guild_timezone() -> None:
    new_york = ZoneInfo("America/New_York")
    rows = [
        request(1, Span(date(2026, 12, 3), date(2026, 12, 3), Portion.HALF_DAY_AM)),
        request(
            2,
            Span(date(2026, 7, 3), date(2026, 7, 3), Portion.HALF_DAY_PM),
            status=RequestStatus.PENDING,
        ),
    ]
    calendar = Calendar.from_ical(requests_ics(rows, NAMES, new_york, NOW))
    assert str(calendar["prodid"]) == "-//Concord Desk//Leave//EN"
    winter, summer = sorted(calendar.walk("VEVENT"), key=lambda e: str(e["uid"]))
    assert winter.decoded("dtstart") == datetime(2026, 12, 3, 14, 0, tzinfo=UTC)  # 09:00 EST
    assert summer.decoded("dtstart") == datetime(2026, 7, 3, 17, 0, tzinfo=UTC)  # 13:00 EDT
    assert str(summer["status"]) == "TENTATIVE"
    assert all(str(e["transp"]) == "TRANSPARENT" for e in (winter, summer))


def test_countries_and_subdivisions() -> None:
    assert search_countries("IN")[0] == ("IN", "India")
    assert ("GB", "United Kingdom") in search_countries("kingdom")
    assert "CA" in subdivisions("us")
    christmas = dict(public_holidays("GB", 2026))[date(2026, 12, 25)]
    assert christmas == "Christmas Day"
    with pytest.raises(UserError, match="not a country"):
        public_holidays("XX", 2026)
    with pytest.raises(UserError, match="not a subdivision"):
        public_holidays("US", 2026, "ZZ")
