"""Leave end to end, the other commands: balance, history, out, calendar, types, policy,
allowance, adjust, holidays, export and the autocompletes."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from icalendar import Calendar

from concord.sandbox.driver import Sandbox
from tests.cogs.leave_helpers import apply, card, leave_state, rows


@pytest.fixture(autouse=True)
async def office(sandbox: Sandbox) -> None:
    await sandbox.configure_office()


async def approve(sandbox: Sandbox, request_id: int) -> None:
    await sandbox.click("alice", card(sandbox, request_id), "Approve")


# -- balance and history -----------------------------------------------------------------------
async def test_balance_per_type(sandbox: Sandbox) -> None:
    await apply(sandbox, start="2026-12-03", end="2026-12-04")
    await approve(sandbox, 1)
    await apply(sandbox, start="2026-12-07", portion="half_day_am")
    reply = await sandbox.slash("bob", "leave balance")
    assert reply.ephemeral
    text = reply.text
    assert "Leave balance · Bob · 2026" in text
    assert "**Annual** · **12 days available** (11.5 days after pending)" in text
    assert "entitlement 14 · carried over 0 · adjustments 0 · taken 2 · pending 0.5" in text
    assert "**Work from home** · no balance" in text


async def test_balance_of_another_year_and_member(sandbox: Sandbox) -> None:
    await apply(sandbox, start="2026-12-07", end="2026-12-11")
    await approve(sandbox, 1)
    reply = await sandbox.slash("alice", "leave balance", member="bob", year=2027)
    assert "Bob · 2027" in reply.text
    assert "**Annual** · **19 days available**" in reply.text  # 14 + 5 carried over
    assert "carried over 5" in reply.text


async def test_others_balance_and_history_are_for_managers(sandbox: Sandbox) -> None:
    for command in ("leave balance", "leave history"):
        reply = await sandbox.slash("carol", command, member="bob")
        assert reply.ephemeral and "Only managers can see someone else's" in reply.text


async def test_history_with_filters(sandbox: Sandbox) -> None:
    await apply(sandbox, start="2026-12-03")
    await apply(sandbox, start="2027-01-05", leave_type="Casual")
    await sandbox.slash("bob", "leave cancel", request="1")
    reply = await sandbox.slash("bob", "leave history")
    assert reply.text.index("#2") < reply.text.index("#1")
    assert "↩️ cancelled" in reply.text and "⏳ pending" in reply.text
    only = await sandbox.slash("bob", "leave history", year=2027)
    assert "#2" in only.text and "`#1`" not in only.text
    cancelled = await sandbox.slash("alice", "leave history", member="bob", status="cancelled")
    assert "`#1`" in cancelled.text and "`#2`" not in cancelled.text
    empty = await sandbox.slash("carol", "leave history")
    assert "No requests." in empty.text


async def test_history_pages(sandbox: Sandbox) -> None:
    for day in range(1, 23):
        start = date(2027, 1, 1).replace(day=day)
        if start.weekday() < 5:
            await apply(sandbox, start=start.isoformat(), leave_type="Unpaid")
    reply = await sandbox.slash("bob", "leave history")
    assert "Page 1/2" in reply.text
    second = await sandbox.click("bob", reply, "Next ▶")
    assert "Page 2/2" in second.text
    assert reply.message is not None and reply.message.button("Next ▶").disabled


# -- who is out, the calendar ------------------------------------------------------------------
async def test_out_is_public_and_hides_type_and_reason(sandbox: Sandbox) -> None:
    await apply(sandbox, start="2026-12-03", reason="Secret surgery", leave_type="Sick")
    await approve(sandbox, 1)
    await apply(sandbox, "carol", start="2026-12-03", portion="half_day_pm")
    await approve(sandbox, 2)
    await apply(
        sandbox, "dave", start="2026-12-03", portion="off_duty", from_time="10:00", to_time="11:30"
    )
    await approve(sandbox, 3)
    await apply(sandbox, "owner", start="2026-12-03")  # pending: not out yet
    reply = await sandbox.slash("carol", "leave out", date="thu")
    assert not reply.ephemeral
    text = reply.text
    assert "Bob · Out (full day)" in text
    assert "Carol · Out (PM)" in text
    assert "Dave · Out (10:00–11:30)" in text
    assert "Olivia" not in text
    assert "Sick" not in text and "Secret" not in text


async def test_out_today_on_a_holiday_and_a_weekend(sandbox: Sandbox) -> None:
    await sandbox.slash("alice", "leave holiday add", date="today", name="Founders Day")
    reply = await sandbox.slash("bob", "leave out")
    assert "Founders Day: a holiday for everyone" in reply.text and "Nobody is out." in reply.text
    weekend = await sandbox.slash("bob", "leave out", date="sat")
    assert "Not a working day." in weekend.text


async def test_calendar_grid(sandbox: Sandbox) -> None:
    await apply(sandbox, start="2026-12-03", end="2026-12-04")
    await approve(sandbox, 1)
    await apply(sandbox, "carol", start="2026-12-07", portion="half_day_am")
    await sandbox.slash("alice", "leave holiday add", date="2026-12-25", name="Christmas Day")
    reply = await sandbox.slash("dave", "leave calendar")
    assert not reply.ephemeral
    text = reply.text
    assert "Team calendar · December 2026" in text
    bob_row = next(line for line in text.splitlines() if line.startswith("Bob "))
    grid = bob_row[13:]
    assert grid[2:4] == "FF" and grid[4:6] == "__" and grid[24] == "#"
    carol_row = next(line for line in text.splitlines() if line.startswith("Carol "))
    assert carol_row[13:][6] == "a"  # pending: lower case
    assert "Christmas Day" in text and "Annual" not in text
    january = await sandbox.slash("dave", "leave calendar", month="2027-01")
    assert "January 2027" in january.text and "nobody is away this month" in january.text


# -- types and policies ------------------------------------------------------------------------
async def test_types_lists_the_defaults(sandbox: Sandbox) -> None:
    reply = await sandbox.slash("bob", "leave types")
    text = reply.text
    assert "**Annual** · 14 days a year upfront · carry over up to 5 · needs approval" in text
    assert "**Work from home** · no balance · not deducted · auto-approved" in text


async def test_policy_creates_and_updates(sandbox: Sandbox) -> None:
    created = await sandbox.slash(
        "alice",
        "leave policy",
        leave_type="On duty",
        deducts=False,
        requires_approval=False,
    )
    assert "Created **On duty**: no balance · not deducted · auto-approved." in created.text
    updated = await sandbox.slash(
        "alice",
        "leave policy",
        leave_type="annual",
        allowance="20.5",
        accrual="monthly",
        carryover_cap=3,
        allow_negative=True,
    )
    assert "Updated **Annual**: 20.5 days a year monthly · carry over up to 3" in updated.text
    assert "may go negative" in updated.text
    cleared = await sandbox.slash("alice", "leave policy", leave_type="Casual", allowance="none")
    assert "Updated **Casual**: no balance" in cleared.text
    audit = await rows(sandbox, "SELECT action FROM audit_log WHERE action = 'leave.policy'")
    assert len(audit) == 3


async def test_policy_allowance_and_adjust_are_for_managers(sandbox: Sandbox) -> None:
    await sandbox.slash("bob", "leave types")
    before = await leave_state(sandbox)
    for command, options in [
        ("leave policy", {"leave_type": "Annual", "allowance": "99"}),
        ("leave allowance", {"member": "bob", "leave_type": "Annual", "days": 99}),
        ("leave adjust", {"member": "bob", "leave_type": "Annual", "days": 5, "reason": "me"}),
        ("leave holiday add", {"date": "2026-12-24", "name": "Party"}),
        ("leave holiday remove", {"date": "2026-12-24"}),
        ("leave holiday import", {"country": "GB"}),
    ]:
        reply = await sandbox.slash("bob", command, **options)
        assert reply.ephemeral and "You need the Manager role" in reply.text, command
    assert await leave_state(sandbox) == before


async def test_allowance_override(sandbox: Sandbox) -> None:
    reply = await sandbox.slash(
        "alice", "leave allowance", member="bob", leave_type="Annual", days=21
    )
    assert "Bob's Annual allowance is now 21 days a year; 21 days available in 2026." in reply.text
    balance = await sandbox.slash("bob", "leave balance")
    assert "**Annual** · **21 days available**" in balance.text
    carol = await sandbox.slash("carol", "leave balance")
    assert "**Annual** · **14 days available**" in carol.text


async def test_adjust_adds_and_removes_days(sandbox: Sandbox) -> None:
    plus = await sandbox.slash(
        "alice",
        "leave adjust",
        member="bob",
        leave_type="Annual",
        days=1.5,
        reason="Worked Saturday",
    )
    assert "by +1.5 days (Worked Saturday). Available in 2026: 15.5 days." in plus.text
    minus = await sandbox.slash(
        "alice", "leave adjust", member="bob", leave_type="Annual", days=-0.5, reason="Correction"
    )
    assert "Available in 2026: 15 days." in minus.text
    too_much = await sandbox.slash(
        "alice", "leave adjust", member="bob", leave_type="Annual", days=-20, reason="Oops"
    )
    assert "may not go negative" in too_much.text
    ledger = await rows(sandbox, "SELECT amount, reason FROM leave_ledger ORDER BY id")
    assert ledger == [
        {"amount": "3/2", "reason": "Worked Saturday"},
        {"amount": "-1/2", "reason": "Correction"},
    ]


# -- holidays ----------------------------------------------------------------------------------
async def test_holidays_add_list_remove(sandbox: Sandbox) -> None:
    await apply(sandbox, start="2026-12-24")
    added = await sandbox.slash("alice", "leave holiday add", date="24 Dec", name="Christmas Eve")
    assert "Added **Christmas Eve** on Thu 24 Dec 2026." in added.text
    assert "1 request already covers that day and keeps its amount" in added.text
    renamed = await sandbox.slash(
        "alice", "leave holiday add", date="2026-12-24", name="Office closed"
    )
    assert "Christmas Eve → **Office closed**" in renamed.text
    listed = await sandbox.slash("bob", "leave holiday list")
    assert "Thu 24 Dec 2026 · Office closed" in listed.text
    refused = await apply(sandbox, "carol", start="2026-12-24")
    assert "Thu 24 Dec 2026 is a holiday here, so there is no leave to take" in refused.text
    removed = await sandbox.slash("alice", "leave holiday remove", date="2026-12-24")
    assert "Removed **Office closed**" in removed.text
    missing = await sandbox.slash("alice", "leave holiday remove", date="2026-12-24")
    assert "There is no holiday on Thu 24 Dec 2026." in missing.text
    empty = await sandbox.slash("bob", "leave holiday list", year=2030)
    assert "No holidays yet" in empty.text


async def test_holiday_import(sandbox: Sandbox) -> None:
    reply = await sandbox.slash("alice", "leave holiday import", country="GB", year=2027)
    assert "Imported" in reply.text and "United Kingdom" in reply.text
    assert "Sat 25 Dec 2027 · Christmas Day · GB" in reply.text
    again = await sandbox.slash("alice", "leave holiday import", country="gb", year=2027)
    assert "Imported 0 public holidays" in again.text and "already had a holiday" in again.text
    state = await sandbox.slash(
        "alice", "leave holiday import", country="US", year=2027, subdivision="CA"
    )
    assert "(CA)" in state.text


# -- export ------------------------------------------------------------------------------------
async def seed_export(sandbox: Sandbox) -> None:
    await apply(sandbox, start="2026-12-03", end="2026-12-04", reason="=HYPERLINK(evil)")
    await approve(sandbox, 1)
    await apply(sandbox, "carol", start="2026-12-07", portion="half_day_pm")
    await apply(
        sandbox, "dave", start="2026-12-08", portion="off_duty", from_time="14:00", to_time="15:00"
    )
    await approve(sandbox, 3)


async def test_export_csv_for_a_manager_has_the_team(sandbox: Sandbox) -> None:
    await seed_export(sandbox)
    reply = await sandbox.slash("alice", "leave export", format="csv")
    assert reply.ephemeral and "The team's leave" in reply.text
    ((name, data),) = reply.files
    assert name == "leave-2026-01-01-to-2026-12-31.csv"
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["member"] for r in table] == ["Bob", "Carol", "Dave"]
    assert table[0]["status"] == "approved" and table[0]["working_days"] == "2"
    assert table[0]["reason"] == "'=HYPERLINK(evil)"  # spreadsheet formulas disarmed
    assert table[1]["portion"] == "half_day_pm" and table[1]["working_days"] == "0.5"
    assert table[2]["working_days_exact"] == "1/8" and table[2]["from_time"] == "14:00"


async def test_export_ics_imports_as_events(sandbox: Sandbox) -> None:
    await seed_export(sandbox)
    reply = await sandbox.slash("alice", "leave export", format="ics", start="2026-12-01")
    ((name, data),) = reply.files
    assert name.endswith(".ics")
    calendar = Calendar.from_ical(data)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    full = events["leave-1@concord-desk"]
    assert full.decoded("dtstart") == date(2026, 12, 3)
    assert full.decoded("dtend") == date(2026, 12, 5)  # exclusive end
    assert str(full["status"]) == "CONFIRMED"
    half = events["leave-2@concord-desk"]
    assert str(half["status"]) == "TENTATIVE" and "(pending)" in str(half["summary"])
    start = half.decoded("dtstart")
    assert isinstance(start, datetime) and (start.hour, start.minute) == (13, 0)  # London = UTC
    off = events["leave-3@concord-desk"]
    assert (off.decoded("dtstart").hour, off.decoded("dtend").hour) == (14, 15)


async def test_members_export_only_their_own(sandbox: Sandbox) -> None:
    await seed_export(sandbox)
    own = await sandbox.slash("bob", "leave export", format="csv")
    assert "Bob's leave" in own.text
    ((_, data),) = own.files
    assert [r["member"] for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))] == ["Bob"]
    refused = await sandbox.slash("bob", "leave export", format="csv", member="carol")
    assert refused.ephemeral and "Only managers can see someone else's leave" in refused.text
    assert refused.files == []
    one = await sandbox.slash("alice", "leave export", format="csv", member="dave")
    ((_, data),) = one.files
    assert [r["member"] for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))] == ["Dave"]


# -- autocomplete ------------------------------------------------------------------------------
async def test_leave_type_autocomplete(sandbox: Sandbox) -> None:
    choices = await sandbox.autocomplete("bob", "leave apply", "leave_type", "")
    assert [value for _, value in choices] == [
        "Annual",
        "Sick",
        "Casual",
        "Unpaid",
        "Work from home",
    ]
    assert await sandbox.autocomplete("bob", "leave apply", "leave_type", "home") == [
        ("Work from home · no balance · not deducted · auto-approved", "Work from home")
    ]


async def test_cancel_autocomplete_offers_what_may_be_cancelled(sandbox: Sandbox) -> None:
    await apply(sandbox, start="today")
    await approve(sandbox, 1)
    await apply(sandbox, start="2026-12-10")
    await apply(sandbox, "carol", start="2026-12-10")
    own = await sandbox.autocomplete("bob", "leave cancel", "request", "")
    assert [value for _, value in own] == ["2"]  # #1 already started
    assert own[0][0].startswith("#2 · Annual · Thu 10 Dec 2026 (pending)")
    everyone = await sandbox.autocomplete("alice", "leave cancel", "request", "")
    assert sorted(value for _, value in everyone) == ["1", "2", "3"]
    assert any("Carol" in name for name, _ in everyone)
    filtered = await sandbox.autocomplete("alice", "leave cancel", "request", "carol")
    assert [value for _, value in filtered] == ["3"]


async def test_country_and_subdivision_autocomplete(sandbox: Sandbox) -> None:
    countries = await sandbox.autocomplete("alice", "leave holiday import", "country", "ind")
    assert ("India (IN)", "IN") in countries
    subdivisions = await sandbox.autocomplete(
        "alice", "leave holiday import", "subdivision", "m", country="IN"
    )
    assert ("MH", "MH") in subdivisions
