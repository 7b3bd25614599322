"""Managers cannot approve their own leave by the side door: a change a manager makes to their
own balance or allowance waits for another manager (a card in the approvals channel, like a
leave request); a type they switched to auto-approve does not approve their own request; their
own started leave is cancelled by someone else. Every attempt is audited."""

from __future__ import annotations

import pytest

from concord.sandbox.driver import Sandbox
from tests.reliability.test_cross_guild import forged_card

pytestmark = pytest.mark.slow


async def available(sandbox: Sandbox, member: str) -> str:
    reply = await sandbox.slash(member, "leave balance")
    annual = [line for line in reply.text.splitlines() if "available" in line]
    return annual[0] if annual else reply.text


async def audit_actions(sandbox: Sandbox) -> list[str]:
    rows = await sandbox.db.fetchall(
        "SELECT action FROM audit_log WHERE action LIKE 'leave.%' ORDER BY id"
    )
    return [row["action"] for row in rows]


async def test_a_manager_adjusting_their_own_balance_waits_for_another_manager(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    before = await available(sandbox, "alice")
    held = await sandbox.slash(
        "alice",
        "leave adjust",
        member=sandbox.member("alice"),
        leave_type="Annual",
        days=30,
        reason="Overtime",
    )
    assert "need another manager" in held.text and "#approvals" in held.text, held.text
    assert await available(sandbox, "alice") == before  # nothing changed yet
    card = sandbox.last_message("approvals")
    assert "Alice" in card.text and "+30" in card.text

    refused = await sandbox.click("alice", card, "Approve")
    assert refused.ephemeral and "Nobody decides a change to their own leave" in refused.text
    staff = await sandbox.click("bob", card, "Approve")
    assert staff.ephemeral and "Manager" in staff.text
    assert await available(sandbox, "alice") == before

    await sandbox.click("owner", card, "Approve")  # the owner counts when alice is the only one
    assert "44 days available" in await available(sandbox, "alice")
    assert "Approved by" in sandbox.last_message("approvals").text
    assert "Approved by" in sandbox.dms("alice")[-1].text
    replayed = forged_card(sandbox, sandbox.channel("approvals"), "leave:change:approve:1")
    again = await sandbox.click("owner", replayed, custom_id="leave:change:approve:1")
    assert "already approved" in again.text
    assert "44 days available" in await available(sandbox, "alice")
    actions = await audit_actions(sandbox)
    assert actions[-3:] == ["leave.change_held", "leave.adjust", "leave.change_approve"]


async def test_a_manager_setting_their_own_allowance_waits_and_can_be_rejected(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    before = await available(sandbox, "alice")
    held = await sandbox.slash(
        "alice", "leave allowance", member=sandbox.member("alice"), leave_type="Annual", days=60
    )
    assert "need another manager" in held.text, held.text
    await sandbox.click("owner", sandbox.last_message("approvals"), "Reject")
    assert await available(sandbox, "alice") == before
    assert (await audit_actions(sandbox))[-2:] == ["leave.change_held", "leave.change_reject"]
    # Someone else's allowance is still set at once.
    done = await sandbox.slash(
        "alice", "leave allowance", member=sandbox.member("bob"), leave_type="Annual", days=20
    )
    assert "allowance is now 20" in done.text, done.text


async def test_switching_a_type_to_auto_approve_does_not_approve_ones_own_request(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "leave policy", leave_type="Annual", requires_approval=False)
    own = await sandbox.slash("alice", "leave apply", leave_type="Annual", start="2026-12-10")
    assert "submitted for approval" in own.text, own.text
    await sandbox.slash("alice", "leave policy", leave_type="Annual", requires_approval=True)
    row = await sandbox.db.fetchone("SELECT status FROM leave_requests WHERE id = 1")
    assert row is not None and row["status"] == "pending"
    audit = await sandbox.db.fetchone(
        "SELECT after FROM audit_log WHERE action = 'leave.request' ORDER BY id DESC"
    )
    assert audit is not None and "held" in audit["after"]


async def test_others_still_get_an_auto_approving_type(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "leave policy", leave_type="Annual", requires_approval=False)
    bobs = await sandbox.slash("bob", "leave apply", leave_type="Annual", start="2026-12-10")
    assert "approved" in bobs.text.lower() and "submitted for approval" not in bobs.text


async def test_a_manager_cannot_cancel_their_own_started_leave(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "leave apply", leave_type="Annual", start="2026-12-01")
    await sandbox.click("owner", sandbox.last_message("approvals"), "Approve")
    refused = await sandbox.slash("alice", "leave cancel", request="1")
    assert "already started" in refused.text, refused.text
    row = await sandbox.db.fetchone("SELECT status FROM leave_requests WHERE id = 1")
    assert row is not None and row["status"] == "approved"
