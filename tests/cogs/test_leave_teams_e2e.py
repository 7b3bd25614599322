"""Issue 20, part A: leave teams with their own approvers, ``max_out`` and blackout days,
through the emulator. The office: alice is the manager; bob, carol and dave are staff."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from concord.clock import ManualClock
from concord.sandbox.driver import Sandbox
from tests.cogs.leave_helpers import apply, audit_actions, card, leave_state, request_row, rows


@pytest.fixture(autouse=True)
async def office(sandbox: Sandbox) -> None:
    await sandbox.configure_office()


async def support(sandbox: Sandbox, *, max_out: int | None = None, approver: str = "carol") -> None:
    """Team Support: bob and dave, approved by ``approver``."""
    options = {"max_out": max_out} if max_out else {}
    created = await sandbox.slash("alice", "leave team create", name="Support", **options)
    assert "Created team **Support**" in created.text
    for member in ("bob", "dave"):
        await sandbox.slash("alice", "leave team add", team="Support", member=member)
    added = await sandbox.slash(
        "alice", "leave team add", team="Support", member=approver, approver=True
    )
    assert "is now an approver of **Support**" in added.text


async def test_team_commands_are_for_managers_and_audited(sandbox: Sandbox) -> None:
    before = await leave_state(sandbox)
    refused = await sandbox.slash("bob", "leave team create", name="Support")
    assert "Manager role" in refused.text and refused.ephemeral
    assert await leave_state(sandbox) == before
    assert await rows(sandbox, "SELECT * FROM leave_teams") == []

    await support(sandbox, max_out=2)
    again = await sandbox.slash("alice", "leave team create", name="SUPPORT")
    assert "There is already a team called **Support**" in again.text
    twice = await sandbox.slash("alice", "leave team add", team="support", member="bob")
    assert "already a member of **Support**" in twice.text
    await sandbox.slash("alice", "leave team create", name="Sales")
    await sandbox.slash("alice", "leave team add", team="Sales", member="bob")  # in two teams

    listing = (await sandbox.slash("dave", "leave team list")).text
    assert "Support" in listing and "at most 2 out at once" in listing
    assert "members (2): Bob, Dave" in listing and "approvers: Carol" in listing

    edited = await sandbox.slash("alice", "leave team edit", team="Support", max_out=0)
    assert "no limit on who is out" in edited.text
    removed = await sandbox.slash("alice", "leave team remove", team="Support", member="dave")
    assert "no longer member of **Support**" in removed.text
    gone = await sandbox.slash("alice", "leave team remove", team="Support", member="dave")
    assert "neither a member nor an approver" in gone.text
    refused_delete = await sandbox.slash("bob", "leave team delete", team="Support")
    assert "Manager role" in refused_delete.text
    deleted = await sandbox.slash("alice", "leave team delete", team="Support")
    assert "Deleted team **Support**" in deleted.text
    assert [r["name"] for r in await rows(sandbox, "SELECT name FROM leave_teams")] == ["Sales"]
    (team_id,) = [r["id"] for r in await rows(sandbox, "SELECT id FROM leave_teams")]
    alice = sandbox.member("alice").id
    assert await audit_actions(sandbox, f"leave_team:{team_id - 1}") == [
        ("leave.team.create", alice),
        ("leave.team.member_add", alice),
        ("leave.team.member_add", alice),
        ("leave.team.approver_add", alice),
        ("leave.team.edit", alice),
        ("leave.team.member_remove", alice),
        ("leave.team.delete", alice),
    ]
    # Deleting took the members and approvers with it.
    assert (
        await rows(sandbox, "SELECT * FROM leave_team_members WHERE team_id = ?", (team_id - 1,))
        == []
    )


async def test_a_request_goes_to_the_team_approvers_and_pings_only_them(sandbox: Sandbox) -> None:
    await support(sandbox)
    carol = sandbox.member("carol")
    await apply(sandbox, "bob", start="2026-12-10")
    posted = card(sandbox, 1)
    assert f"<@{carol.id}>" in posted.content and "Support" in posted.content
    assert posted.pings == ([carol.id], [], False)
    assert "Approvers" in posted.text

    # Dave is staff, not an approver of Support: refused in the write, nothing decided.
    refused = await sandbox.click("dave", posted, "Approve")
    assert "approvers of Support or a manager" in refused.text
    assert (await request_row(sandbox, 1))["status"] == "pending"
    await sandbox.click("carol", card(sandbox, 1), "Approve")
    assert (await request_row(sandbox, 1))["status"] == "approved"
    assert (await request_row(sandbox, 1))["decided_by"] == carol.id

    # A member in no team: as before, no pings; a manager can always decide a team's leave.
    await apply(sandbox, "carol", start="2026-12-11")
    assert card(sandbox, 2).pings == ([], [], False)
    await apply(sandbox, "dave", start="2026-12-11")
    await sandbox.click("alice", card(sandbox, 3), "Approve")
    assert (await request_row(sandbox, 3))["status"] == "approved"


async def test_the_leave_approver_role_does_not_decide_for_a_team(sandbox: Sandbox) -> None:
    lead = await sandbox.emulator.add_role(sandbox.guild, "Team lead")
    await sandbox.emulator.set_member_roles(
        sandbox.guild, sandbox.member("owner"), [sandbox.role("Staff"), lead]
    )
    await sandbox.settle()
    await sandbox.configure(approver_role="Team lead")
    await support(sandbox)
    await apply(sandbox, "bob", start="2026-12-10")
    # The owner is a manager anyway; make a plain member of the role instead.
    await sandbox.emulator.set_member_roles(sandbox.guild, sandbox.member("dave"), [lead])
    await sandbox.settle()
    refused = await sandbox.click("dave", card(sandbox, 1), "Reject")
    assert "approvers of Support or a manager" in refused.text
    assert refused.modal is None


async def test_a_team_whose_only_approver_is_the_requester_goes_to_the_managers(
    sandbox: Sandbox,
) -> None:
    await support(sandbox, approver="bob")
    manager = sandbox.role("Manager")
    await apply(sandbox, "bob", start="2026-12-10")
    posted = card(sandbox, 1)
    assert posted.pings == ([], [manager.id], False)
    assert "no approver in Support but the requester" in posted.text
    own = await sandbox.click("bob", posted, "Approve")
    assert "Nobody decides their own leave" in own.text
    assert (await request_row(sandbox, 1))["status"] == "pending"
    await sandbox.click("alice", card(sandbox, 1), "Approve")
    assert (await request_row(sandbox, 1))["status"] == "approved"


async def test_permission_is_checked_when_deciding_not_when_posting(sandbox: Sandbox) -> None:
    await support(sandbox)
    await apply(sandbox, "bob", start="2026-12-10")
    assert card(sandbox, 1).pings[0] == [sandbox.member("carol").id]
    await sandbox.slash("alice", "leave team remove", team="Support", member="carol")
    refused = await sandbox.click("carol", card(sandbox, 1), "Approve")
    assert "Only managers can do that" in refused.text
    assert (await request_row(sandbox, 1))["status"] == "pending"


async def test_max_out_refuses_members_and_warns_approvers(sandbox: Sandbox) -> None:
    await support(sandbox, max_out=1)
    await apply(sandbox, "bob", start="2026-12-15")
    await apply(sandbox, "dave", start="2026-12-14", end="2026-12-15")  # both pending: fine
    await sandbox.click("carol", card(sandbox, 1), "Approve")

    # A third request over the limit (approved leave counts) is refused for a member.
    await sandbox.slash("alice", "leave team add", team="Support", member="owner")
    before = await leave_state(sandbox)
    refused = await apply(sandbox, "owner", start="2026-12-15")
    assert "2 of Support would be out on Tue 15 Dec — the limit is 1" in refused.text
    assert "override_note" in refused.text  # the owner is a manager: may file it anyway
    assert await leave_state(sandbox) == before

    # Dave's card was posted before Bob's approval: approving now is refused, and the card
    # gains the warning and an Approve anyway button.
    late = await sandbox.click("carol", card(sandbox, 2), "Approve")
    assert "Cannot approve #2 yet: 2 of Support would be out on Tue 15 Dec" in late.text
    assert (await request_row(sandbox, 2))["status"] == "pending"
    warned = card(sandbox, 2)
    assert "Team limit" in warned.text and "the limit is 1" in warned.text
    await sandbox.click("carol", warned, "Approve anyway")
    assert (await request_row(sandbox, 2))["status"] == "approved"
    carol = sandbox.member("carol").id
    assert ("leave.limit_override", carol) in await audit_actions(sandbox, "leave:2")


async def test_a_manager_files_over_the_limit_with_a_note(sandbox: Sandbox) -> None:
    await support(sandbox, max_out=1)
    await apply(sandbox, "bob", start="2026-12-15")
    await sandbox.click("carol", card(sandbox, 1), "Approve")
    member = await apply(sandbox, "dave", start="2026-12-15", override_note="urgent")
    assert "Only managers can override" in member.text
    refused = await apply(sandbox, "alice", start="2026-12-15", member="dave")
    assert "the limit is 1" in refused.text and "override_note" in refused.text
    filed = await apply(sandbox, "alice", start="2026-12-15", member="dave", override_note="cover")
    assert "#2" in filed.text
    row = await request_row(sandbox, 2)
    assert (row["status"], row["override_note"]) == ("pending", "cover")
    alice = sandbox.member("alice").id
    assert ("leave.override", alice) in await audit_actions(sandbox, "leave:2")
    shown = card(sandbox, 2)
    assert "Approve anyway" in [b.label for b in shown.buttons]
    assert "cover" in shown.text


async def test_two_requests_at_the_limit_at_once_do_not_both_pass(sandbox: Sandbox) -> None:
    await support(sandbox, max_out=1)
    made = await sandbox.slash(
        "alice", "leave policy", leave_type="Offsite", allowance="10", requires_approval=False
    )
    assert "Created **Offsite**" in made.text
    first, second = await asyncio.gather(
        apply(sandbox, "bob", leave_type="Offsite", start="2026-12-15"),
        apply(sandbox, "dave", leave_type="Offsite", start="2026-12-15"),
    )
    statuses = [r["status"] for r in await rows(sandbox, "SELECT status FROM leave_requests")]
    assert statuses == ["approved"]
    refusals = [r.text for r in (first, second) if "the limit is 1" in r.text]
    assert len(refusals) == 1

    # Two approvers approving two pending requests at once: one goes through.
    await sandbox.slash("alice", "leave team add", team="Support", member="owner")
    await apply(sandbox, "owner", start="2026-12-16")
    await apply(sandbox, "dave", start="2026-12-16")
    pending = [
        r["id"]
        for r in await rows(sandbox, "SELECT id FROM leave_requests WHERE status = 'pending'")
    ]
    assert len(pending) == 2
    clicks = await asyncio.gather(
        sandbox.click("carol", card(sandbox, pending[0]), "Approve"),
        sandbox.click("alice", card(sandbox, pending[1]), "Approve"),
    )
    approved = await rows(
        sandbox,
        "SELECT id FROM leave_requests WHERE status = 'approved' AND start_date = ?",
        ("2026-12-16",),
    )
    assert len(approved) == 1
    assert sum("the limit is 1" in c.text for c in clicks) == 1


async def test_blackout_days_refuse_members_and_managers_override(sandbox: Sandbox) -> None:
    await support(sandbox)
    refused = await sandbox.slash(
        "bob", "leave blackout add", start="2026-12-14", end="2026-12-15", reason="launch"
    )
    assert "Manager role" in refused.text
    added = await sandbox.slash(
        "alice",
        "leave blackout add",
        start="2026-12-14",
        end="2026-12-15",
        team="Support",
        reason="launch week",
    )
    assert "#1" in added.text and "Support" in added.text
    office = await sandbox.slash(
        "alice", "leave blackout add", start="2026-12-24", end="2026-12-24", reason="year-end close"
    )
    assert "the whole office" in office.text

    before = await leave_state(sandbox)
    blocked = await apply(sandbox, "bob", start="2026-12-15")
    assert "Leave is blocked on Mon 14 Dec – Tue 15 Dec for Support: launch week" in blocked.text
    assert "override_note" not in blocked.text  # a member cannot override
    assert await leave_state(sandbox) == before
    # Carol is in no team: Support's blackout is not hers, the office's is.
    assert "#1" in (await apply(sandbox, "carol", start="2026-12-15")).text
    closed = await apply(sandbox, "carol", start="2026-12-24")
    assert "for the whole office: year-end close" in closed.text

    filed = await apply(sandbox, "alice", start="2026-12-15", member="bob", override_note="on call")
    assert "#2" in filed.text
    assert "Blackout days" in card(sandbox, 2).text
    assert ("leave.override", sandbox.member("alice").id) in await audit_actions(sandbox, "leave:2")

    listing = (await sandbox.slash("bob", "leave blackout list")).text
    assert "launch week" in listing and "year-end close" in listing
    assert (
        "Manager role" in (await sandbox.slash("bob", "leave blackout remove", blackout="1")).text
    )
    removed = await sandbox.slash("alice", "leave blackout remove", blackout="#1")
    assert "Removed blackout #1" in removed.text
    assert "#3" in (await apply(sandbox, "dave", start="2026-12-15")).text
    alice = sandbox.member("alice").id
    assert await audit_actions(sandbox, "leave_blackout:1") == [
        ("leave.blackout.add", alice),
        ("leave.blackout.remove", alice),
    ]


async def test_team_approvers_see_their_teams_pending_requests_and_reminders(
    sandbox: Sandbox,
) -> None:
    await support(sandbox)
    await apply(sandbox, "bob", start="2026-12-10")
    await apply(sandbox, "alice", start="2026-12-10")  # in no team: not Carol's to decide
    listing = await sandbox.slash("carol", "leave pending")
    assert "#1" in listing.text and "#2" not in listing.text
    assert "Approve #1" in [b.label for b in listing.message.buttons]
    assert (
        "leave approver role or to approve for a team"
        in (await sandbox.slash("dave", "leave pending")).text
    )
    everything = await sandbox.slash("owner", "leave pending")
    assert "#1" in everything.text and "#2" in everything.text

    clock: ManualClock = sandbox.clock  # type: ignore[assignment]
    clock.set(datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    await sandbox.run(sandbox.bot.run_scheduled())
    reminder = sandbox.last_message("approvals")
    assert "been waiting" in reminder.content
    assert reminder.pings == ([sandbox.member("carol").id], [sandbox.role("Manager").id], False)


async def test_an_approver_role_is_pinged_as_its_members_never_the_requester(
    sandbox: Sandbox,
) -> None:
    lead = await sandbox.emulator.add_role(sandbox.guild, "Support lead")
    for name in ("carol", "bob"):
        await sandbox.emulator.set_member_roles(
            sandbox.guild, sandbox.member(name), [sandbox.role("Staff"), lead]
        )
    await sandbox.settle()
    created = await sandbox.slash(
        "alice", "leave team create", name="Support", approver_role="Support lead", max_out=3
    )
    assert "approver role" in created.text and "at most 3 out at once" in created.text
    await sandbox.slash("alice", "leave team add", team="Support", member="bob")
    await apply(sandbox, "bob", start="2026-12-10")
    assert card(sandbox, 1).pings == ([sandbox.member("carol").id], [], False)
    own = await sandbox.click("bob", card(sandbox, 1), "Approve")  # in the role, but his own
    assert "Nobody decides their own leave" in own.text
    await sandbox.click("carol", card(sandbox, 1), "Approve")
    assert (await request_row(sandbox, 1))["status"] == "approved"

    cleared = await sandbox.slash(
        "alice", "leave team edit", team="Support", clear_approver_role=True, rename="Help desk"
    )
    assert "Help desk" in cleared.text and "approver role" not in cleared.text
    await apply(sandbox, "bob", start="2026-12-11")  # no approver left: the managers
    assert card(sandbox, 2).pings == ([], [sandbox.role("Manager").id], False)
