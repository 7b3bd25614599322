"""The approval kit (concord/cogs/approvals.py) carries both flows that wait for a manager:
leave requests and a manager's change to their own leave. Both cards' buttons come from it,
keep working after a restart, edit the card in place and tell the person who asked."""

from __future__ import annotations

from concord.cogs.approvals import DecisionButton
from concord.cogs.leave import MODULE
from concord.sandbox.driver import Sandbox
from tests.reliability.test_cross_guild import forged_card


def test_both_flows_take_their_buttons_from_the_kit() -> None:
    made = {item.__name__ for item in MODULE.persistent if issubclass(item, DecisionButton)}
    assert made == {
        "LeaveApproveButton",
        "LeaveRejectButton",
        "LeaveOverrideButton",  # Approve anyway, over a team's max_out (issue 20)
        "LeaveChangeApproveButton",
        "LeaveChangeRejectButton",
    }


async def test_a_held_change_and_a_request_are_decided_after_a_restart(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    held = await sandbox.slash(
        "alice", "leave adjust", member="alice", leave_type="Annual", days=2, reason="Overtime"
    )
    assert "need another manager" in held.text
    change_card = sandbox.last_message("approvals")
    applied = await sandbox.slash("bob", "leave apply", leave_type="Annual", start="2026-12-07")
    request_id = int(applied.text.split("Request #")[1].split()[0])
    request_card = sandbox.last_message("approvals")
    await sandbox.restart()

    await sandbox.click("owner", change_card, "Approve")
    assert "Approved by Olivia Owner" in sandbox.messages("approvals")[-2].text  # edited in place
    assert "Approved by Olivia Owner" in sandbox.dms("alice")[-1].text

    form = (await sandbox.click("alice", request_card, "Reject")).modal
    assert form is not None and form.title == f"Reject leave request #{request_id}"
    await sandbox.submit("alice", form, reason="Busy week")
    assert "Rejected" in sandbox.last_message("approvals").text
    assert "Busy week" in sandbox.dms("bob")[-1].text
    assert not request_card.buttons  # decided: the card keeps no buttons
    custom_id = f"leave:approve:{request_id}"
    replayed = forged_card(sandbox, sandbox.channel("approvals"), custom_id)
    again = await sandbox.click("owner", replayed, custom_id=custom_id)
    assert again.ephemeral and f"Request #{request_id} was already rejected by Alice" in again.text
