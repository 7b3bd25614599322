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
