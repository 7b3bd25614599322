"""Leave in an office's first month (issue 16), end to end: a morning and an afternoon off on
the same day make a whole day, renamed and archived leave types, the wording of balances and
confirmations, and what the exports leave out."""

from __future__ import annotations

from concord.sandbox.driver import Sandbox
from tests.cogs.leave_helpers import apply, card


async def test_a_morning_and_an_afternoon_off_are_a_whole_day(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # Tuesday 1 Dec 2026
    await apply(sandbox, "bob", start="2026-12-03", portion="half_day_am")
    await apply(sandbox, "bob", leave_type="Sick", start="2026-12-03", portion="half_day_pm")
    await apply(sandbox, "dave", start="2026-12-03", portion="half_day_pm")
    for request_id in (1, 2, 3):
        await sandbox.click("alice", card(sandbox, request_id), "Approve")
    out = await sandbox.slash("carol", "leave out", date="2026-12-03")
    assert out.embeds[0]["description"].splitlines() == ["Bob · Out (all day)", "Dave · Out (PM)"]
    calendar = await sandbox.slash("carol", "leave calendar", month="2026-12")
    grid = calendar.embeds[0]["description"]
    bob_row = next(line for line in grid.splitlines() if line.startswith("Bob"))
    dave_row = next(line for line in grid.splitlines() if line.startswith("Dave"))
    assert bob_row.split()[-1][2] == "F" and dave_row.split()[-1][2] == "P"


async def test_a_leave_type_renamed_and_archived_keeps_its_history(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await apply(sandbox, "bob", leave_type="Casual", start="2026-12-03")
    await sandbox.click("alice", card(sandbox, 1), "Approve")
    renamed = await sandbox.slash(
        "alice", "leave policy", leave_type="Casual", rename="Personal day"
    )
    assert renamed.ephemeral and renamed.text.startswith("Updated **Personal day**:")
    assert "Renamed from Casual; past requests keep that name." in renamed.text
    assert "keep the amounts" not in renamed.text  # a new name changes no amount
    balance = await sandbox.slash("bob", "leave balance")
    assert "**Personal day**" in balance.text and "**Casual**" not in balance.text
    taken = await sandbox.slash("bob", "leave apply", leave_type="Casual", start="2026-12-08")
    assert taken.ephemeral and "There is no leave type called `Casual`" in taken.text
    clash = await sandbox.slash("alice", "leave policy", leave_type="Personal day", rename="sick")
    assert clash.ephemeral and "There is already a leave type called **Sick**." in clash.text

    archived = await sandbox.slash("alice", "leave policy", leave_type="Personal day", archive=True)
    assert "It is archived: gone from the choices and balances" in archived.text
    choices = await sandbox.autocomplete("bob", "leave apply", "leave_type", "")
    assert "Personal day" not in [value for _, value in choices] and "Annual" in [
        value for _, value in choices
    ]
    balance = await sandbox.slash("bob", "leave balance")
    assert "Personal day" not in balance.text and "**Annual**" in balance.text
    types = await sandbox.slash("bob", "leave types")
    assert "Personal day" not in types.text
    refused = await sandbox.slash(
        "bob", "leave apply", leave_type="Personal day", start="2026-12-09"
    )
    assert refused.ephemeral and "**Personal day** is archived" in refused.text
    assert "`/leave policy leave_type:Personal day archive:False`" in refused.text
    # History and exports keep the request, under the name it was made with.
    history = await sandbox.slash("bob", "leave history")
    assert "Casual" in history.text
    export = await sandbox.slash("alice", "leave export", format="csv")
    ((_, data),) = export.files
    assert "Casual" in data.decode("utf-8-sig")
    # Managers still find it to bring it back.
    policy_choices = await sandbox.autocomplete("alice", "leave policy", "leave_type", "pers")
    assert policy_choices == [("Personal day · archived", "Personal day")]
    back = await sandbox.slash("alice", "leave policy", leave_type="Personal day", archive=False)
    assert "It is back in use." in back.text
    again = await sandbox.slash("bob", "leave apply", leave_type="Personal day", start="2026-12-09")
    assert "submitted" in again.text or "#2" in again.text


async def test_leave_wording_counts_days_and_hours_as_people_say_them(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # 8-hour working days
    home = await apply(sandbox, "carol", leave_type="Work from home", start="2026-12-03")
    assert home.embeds[0]["title"] == "Work from home #1 recorded (no approval needed)"
    hours = await apply(
        sandbox, "bob", start="2026-12-03", portion="off_duty", from_time="14:00", to_time="16:20"
    )
    assert "#2" in hours.text
    await sandbox.click("alice", card(sandbox, 2), "Approve")
    balance = await sandbox.slash("bob", "leave balance")
    assert "**Annual** · **13 days 5 h 40 min available** (13 days 5 h 40 min after pending)" in (
        balance.text
    )
    assert "≈" not in balance.text and "taken 2 h 20 min" in balance.text
    changed = await sandbox.slash("alice", "leave policy", leave_type="Casual", allowance="1")
    assert "Requests already made keep the amounts they were made with." in changed.text
    types = await sandbox.slash("bob", "leave types")
    assert "**Casual** · 1 day a year upfront" in types.text
    assert "**Annual** · 14 days a year upfront" in types.text
    holiday = await sandbox.slash("alice", "leave holiday add", date="2026-12-03", name="Fiesta")
    assert "2 requests already cover that day and keep their amounts" in holiday.text
