"""Tasks in an office's first month (issue 16), end to end: "next fri" and the date it
resolved to, holidays under due dates and repeats, hand-overs to someone away, the card of a
task handed to someone else, and a reason for every block."""

from __future__ import annotations

from concord.sandbox.driver import Sandbox
from tests.cogs.test_tasks_e2e import card, create, dm_cards, labels, mention, row


async def test_next_friday_is_the_one_of_the_following_week(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # Tuesday 1 Dec 2026
    reply = await sandbox.slash("alice", "task create", title="Plan the party", due="next fri")
    assert "due Fri 11 Dec 2026." in reply.text
    this_week = await create(sandbox, title="Book the room", due="fri 17:00")
    assert (await row(sandbox, 1))["due_date"] == "2026-12-11"
    assert (await row(sandbox, this_week))["due_date"] == "2026-12-04"
    leave = await sandbox.slash("bob", "leave apply", leave_type="Annual", start="next mon")
    assert "Mon 7 Dec 2026" in leave.text


async def test_the_old_assignees_card_says_where_the_task_went(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="alice", title="Quarterly report", assignee="bob")
    (bob_card,) = dm_cards(sandbox, "bob", task_id)
    assert labels(bob_card) == ["Start", "Done"]
    await sandbox.slash("alice", "task assign", task=str(task_id), member="dave")
    (bob_card,) = dm_cards(sandbox, "bob", task_id)
    assert bob_card.buttons == []
    assert bob_card.content == (
        f"↪️ {mention(sandbox, 'alice')} handed this task to {mention(sandbox, 'dave')}; "
        "it is no longer yours."
    )
    # Later changes no longer bring the old card back to life; the new assignee's card follows.
    await sandbox.click("dave", card(sandbox, task_id), "Start")
    (bob_card,) = dm_cards(sandbox, "bob", task_id)
    assert bob_card.buttons == [] and "no longer yours" in bob_card.content
    (dave_card,) = dm_cards(sandbox, "dave", task_id)
    assert labels(dave_card) == ["Block", "Done"]


async def test_a_task_handed_over_for_leave_retires_the_old_card(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="alice", title="Invoices", assignee="bob", due="fri")
    await sandbox.slash("bob", "leave apply", leave_type="Annual", start="thu", end="fri")
    approved = await sandbox.click("alice", sandbox.last_message("approvals"), "Approve")
    [offer] = [m for m in approved.messages if m.selects]
    await sandbox.select("alice", offer, values=["carol"])
    (bob_card,) = dm_cards(sandbox, "bob", task_id)
    assert bob_card.buttons == [] and mention(sandbox, "carol") in bob_card.content
