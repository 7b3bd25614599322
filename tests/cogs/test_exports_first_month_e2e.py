"""Exports in an office's first month (issue 16), end to end: leave CSV times in the office's
timezone and a days_deducted column that sums right, a team calendar that keeps others' leave
private, report cells that read "- item" left as typed, and an XLSX with a bold, filtered
header."""

from __future__ import annotations

import csv
import io

from icalendar import Calendar
from openpyxl import load_workbook

from concord.sandbox.driver import Sandbox
from tests.cogs.leave_helpers import apply, card
from tests.cogs.test_dar_e2e import at, file_report


def table(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def test_leave_csv_times_in_the_office_zone_and_days_deducted(sandbox: Sandbox) -> None:
    await sandbox.configure_office(timezone="Asia/Manila")  # 09:00 UTC is 17:00 in Manila
    await apply(sandbox, "bob", start="2026-12-03", end="2026-12-04")
    await sandbox.click("alice", card(sandbox, 1), "Approve")
    await apply(sandbox, "carol", leave_type="Work from home", start="2026-12-07")
    reply = await sandbox.slash("alice", "leave export", format="csv")
    ((_, data),) = reply.files
    rows = table(data)
    assert rows[0]["requested_at"] == "2026-12-01T17:00:00+08:00"
    assert rows[0]["decided_at"] == "2026-12-01T17:00:00+08:00"
    assert [(r["working_days"], r["days_deducted"]) for r in rows] == [("2", "2"), ("1", "0")]
    assert sum(float(r["days_deducted"]) for r in rows) == 2


async def test_the_team_calendar_keeps_others_leave_private(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await apply(sandbox, "bob", start="2026-12-03", reason="Dentist")
    await apply(sandbox, "carol", leave_type="Sick", start="2026-12-04", reason="Flu")
    await apply(sandbox, "dave", leave_type="Work from home", start="2026-12-07")

    def events(data: bytes) -> dict[str, tuple[str, str | None]]:
        found = Calendar.from_ical(data).walk("VEVENT")
        return {
            str(e["uid"]): (
                str(e["summary"]),
                str(e["description"]) if "description" in e else None,
            )
            for e in found
        }

    own = await sandbox.slash("bob", "leave export", format="ics")
    ((_, data),) = own.files
    assert events(data) == {
        "leave-1@concord-desk": ("Bob: Annual (pending)", "Dentist"),
        "leave-2@concord-desk": ("Carol: Out (pending)", None),
        "leave-3@concord-desk": ("Dave: Working elsewhere", None),
    }
    manager = await sandbox.slash("alice", "leave export", format="ics")
    ((_, data),) = manager.files
    assert events(data)["leave-2@concord-desk"] == ("Carol: Sick (pending)", "Flu")
    # A spreadsheet of other people's leave stays for managers.
    sheet = await sandbox.slash("bob", "leave export", format="csv")
    ((_, data),) = sheet.files
    assert [r["member"] for r in table(data)] == ["Bob"]


async def test_report_exports_leave_list_items_alone_and_filter_the_header(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(at(12))  # type: ignore[attr-defined]
    await file_report(sandbox, "bob", done="- Fixed the printer\n- Called IT", plan="=1+1")
    reply = await sandbox.slash(
        "alice", "dar export", start="2026-12-01", end="2026-12-01", format="csv"
    )
    ((_, data),) = reply.files
    (row,) = table(data)
    assert row["done"] == "- Fixed the printer\n- Called IT"  # a list, not a formula
    assert row["plan"] == "'=1+1"
    book = await sandbox.slash(
        "alice", "dar export", start="2026-12-01", end="2026-12-01", format="xlsx"
    )
    ((_, data),) = book.files
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert all(cell.font.bold for cell in sheet[1])
    assert not sheet["A2"].font.bold
    assert sheet.auto_filter.ref == "A1:I2"
