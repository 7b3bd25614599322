"""Tasks in an office's first month (issue 16), end to end: "next fri" and the date it
resolved to, holidays under due dates and repeats, hand-overs to someone away, the card of a
task handed to someone else, and a reason for every block."""

from __future__ import annotations

from concord.sandbox.driver import Sandbox
from tests.cogs.test_tasks_e2e import create, row


async def test_next_friday_is_the_one_of_the_following_week(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # Tuesday 1 Dec 2026
    reply = await sandbox.slash("alice", "task create", title="Plan the party", due="next fri")
    assert "due Fri 11 Dec 2026." in reply.text
    this_week = await create(sandbox, title="Book the room", due="fri 17:00")
    assert (await row(sandbox, 1))["due_date"] == "2026-12-11"
    assert (await row(sandbox, this_week))["due_date"] == "2026-12-04"
    leave = await sandbox.slash("bob", "leave apply", leave_type="Annual", start="next mon")
    assert "Mon 7 Dec 2026" in leave.text
