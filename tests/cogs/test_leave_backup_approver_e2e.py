"""Issue 16, item 15: a backup for the leave approvers. When every manager is away (or none
answered within another ``leave_reminder_hours``), the pending-leave reminder also pings the
members with Manage Server and the owner; ``/leave setup approver_role`` names a second role
whose members may decide leave."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from concord.clock import ManualClock
from concord.sandbox.driver import Sandbox
from tests.cogs.leave_helpers import apply, card, request_row


@pytest.fixture(autouse=True)
async def office(sandbox: Sandbox) -> None:
    await sandbox.configure_office()


async def remind_at(sandbox: Sandbox, moment: datetime) -> str:
    clock: ManualClock = sandbox.clock  # type: ignore[assignment]
    clock.set(moment)
    await sandbox.run(sandbox.bot.run_scheduled())
    return sandbox.last_message("approvals").content


async def test_when_every_manager_is_away_the_admins_are_reminded(sandbox: Sandbox) -> None:
    owner, manager = sandbox.member("owner"), sandbox.role("Manager")
    await apply(sandbox, "alice", start="2026-12-02", end="2026-12-04")  # the only manager
    await sandbox.click("owner", card(sandbox, 1), "Approve")
    await apply(sandbox, "bob", start="2026-12-10")  # Tue 1 Dec 09:00
    content = await remind_at(sandbox, datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    assert "waiting more than 24 h" in content
    assert "Every manager is on leave today, so this goes to the server's admins too" in content
    # Alice has Manage Server too, but she is away: only the owner is added, and pinged.
    assert sandbox.last_message("approvals").pings == ([owner.id], [manager.id], False)


async def test_when_nobody_answers_the_admins_are_reminded_next(sandbox: Sandbox) -> None:
    owner, manager = sandbox.member("owner"), sandbox.role("Manager")
    await sandbox.configure(leave_reminder_hours=24)
    await apply(sandbox, "bob", start="2026-12-10")  # Tue 1 Dec 09:00
    first = await remind_at(sandbox, datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    assert "admins" not in first
    assert sandbox.last_message("approvals").pings == ([], [manager.id], False)
    second = await remind_at(sandbox, datetime(2026, 12, 3, 9, 30, tzinfo=UTC))
    assert "Nobody has answered for 48 h, so this goes to the server's admins too" in second
    assert sandbox.last_message("approvals").pings == ([owner.id], [manager.id], False)


async def test_an_approver_role_decides_leave_and_is_reminded(sandbox: Sandbox) -> None:
    approver = await sandbox.emulator.add_role(sandbox.guild, "Team lead")
    await sandbox.emulator.set_member_roles(
        sandbox.guild, sandbox.member("carol"), [sandbox.role("Staff"), approver]
    )
    await sandbox.settle()
    before = await sandbox.slash("owner", "concord setup", approver_role="Team lead")
    assert "Saved 1 setting" in before.text
    settings = await sandbox.slash("owner", "concord settings")
    assert "Leave approver role" in settings.text and "Team lead" in settings.text

    await apply(sandbox, "bob", start="2026-12-10")
    refused = await sandbox.click("dave", card(sandbox, 1), "Approve")
    assert "the leave approver role" in refused.text
    assert (await request_row(sandbox, 1))["status"] == "pending"
    listing = await sandbox.slash("carol", "leave pending")
    assert "#1" in listing.text

    content = await remind_at(sandbox, datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    assert f"<@&{approver.id}>" in content
    assert sandbox.last_message("approvals").pings[1] == [sandbox.role("Manager").id, approver.id]

    await sandbox.click("carol", card(sandbox, 1), "Approve")
    assert (await request_row(sandbox, 1))["status"] == "approved"
    assert "Approved by Carol" in card(sandbox, 1).text
    # Deciding leave is all the role gives: the rest stays the managers'.
    assert "Nothing is waiting" in (await sandbox.slash("carol", "leave pending")).text
    assert "Manager role" in (await sandbox.slash("carol", "dar missing")).text
