"""Leave end to end: applying, the approval card and its buttons and modal, decisions exactly
once, cancellations restoring the balance, DMs (open and closed), restarts and reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from concord.clock import ManualClock
from concord.sandbox.driver import Sandbox
from tests.cogs.leave_helpers import (
    apply,
    audit_actions,
    card,
    debits,
    leave_state,
    request_row,
    rows,
)


@pytest.fixture(autouse=True)
async def office(sandbox: Sandbox) -> None:
    await sandbox.configure_office()


# -- applying ----------------------------------------------------------------------------------
async def test_apply_confirms_and_posts_an_approval_card(sandbox: Sandbox) -> None:
    reply = await apply(sandbox, start="thu", end="2026-12-07", reason="Family visit")
    assert reply.ephemeral
    assert "Request #1 submitted for approval" in reply.text
    assert "Thu 3 – Mon 7 Dec 2026 · full day" in reply.text
    assert "3 days (working days)" in reply.text  # Thu, Fri, Mon
    assert "2026: 14 → **11** days" in reply.text
    assert "Needs a manager's approval" in reply.text
    posted = card(sandbox, 1)
    assert [b.label for b in posted.buttons] == ["Approve", "Reject"]
    assert [b.custom_id for b in posted.buttons] == ["leave:approve:1", "leave:reject:1"]
    text = posted.text
    assert "Bob" in text and "Annual" in text and "Family visit" in text
    assert "Balance after approval: 2026: 11 days of Annual left" in text
    assert "Also out then: Nobody else" in text
    row = await request_row(sandbox, 1)
    assert (row["status"], row["amount"], row["card_message_id"]) == ("pending", "3", posted.id)


async def test_the_card_shows_who_else_is_out(sandbox: Sandbox) -> None:
    await apply(sandbox, "carol", start="2026-12-04")
    await sandbox.click("alice", card(sandbox, 1), "Approve")
    await apply(sandbox, "dave", start="2026-12-03", portion="half_day_am")
    await apply(sandbox, start="2026-12-03", end="2026-12-04")
    text = card(sandbox, 3).text
    assert "Carol: 4 Dec" in text
    assert "Dave: 3 Dec (AM) (pending)" in text


async def test_half_days_and_off_duty_hours(sandbox: Sandbox) -> None:
    am = await apply(sandbox, portion="half_day_am")
    pm = await apply(sandbox, portion="Half day (afternoon)")
    assert "0.5 days" in am.text and "0.5 days" in pm.text
    off = await apply(
        sandbox, start="2026-12-04", portion="off_duty", from_time="14:00", to_time="16:00"
    )
    assert "off duty 14:00–16:00" in off.text and "0.25 days" in off.text
    clash = await apply(sandbox, portion="full_day")
    assert clash.ephemeral and "overlaps your pending request #1" in clash.text


async def test_auto_approved_types_post_an_information_card(sandbox: Sandbox) -> None:
    reply = await apply(sandbox, leave_type="Work from home", start="fri")
    assert "recorded (no approval needed)" in reply.text and "Approved automatically" in reply.text
    info = card(sandbox, 1)
    assert info.buttons == []
    assert "no approval needed" in info.text and "Approved automatically" in info.text
    assert (await request_row(sandbox, 1))["status"] == "approved"


async def test_managers_file_for_members_and_members_cannot(sandbox: Sandbox) -> None:
    before = await leave_state(sandbox)
    refused = await apply(sandbox, "carol", member="bob")
    assert refused.ephemeral and "Only managers can request leave for someone else" in refused.text
    assert (await leave_state(sandbox))["leave_requests"] == before["leave_requests"]
    reply = await apply(sandbox, "alice", member="bob")
    assert "Who: Bob" in reply.text
    row = await request_row(sandbox, 1)
    assert (row["user_id"], row["filed_by"]) == (
        sandbox.member("bob").id,
        sandbox.member("alice").id,
    )
    assert "Filed by: Alice" in card(sandbox, 1).text
    assert "was filed" in sandbox.dms("bob")[-1].text


async def test_without_an_approvals_channel_the_request_is_kept_and_people_told(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure(approvals_channel=None)
    reply = await apply(sandbox)
    assert "No approvals channel is set up" in reply.text
    assert "/leave setup approvals_channel:" in reply.text
    assert (await request_row(sandbox, 1))["status"] == "pending"
    assert sandbox.messages("approvals") == []
    owner_dms = sandbox.dms("owner")
    assert len(owner_dms) == 1 and "/leave setup approvals_channel:" in owner_dms[0].text
    await apply(sandbox, "carol")
    assert len(sandbox.dms("owner")) == 1  # once a day, not once a request
    pending = await sandbox.slash("alice", "leave pending")
    assert "#1" in pending.text and "#2" in pending.text


# -- deciding from the card --------------------------------------------------------------------
async def test_approve_edits_the_card_debits_and_dms(sandbox: Sandbox) -> None:
    await apply(sandbox)
    sandbox.clock.set(datetime(2026, 12, 1, 10, 2, tzinfo=UTC))  # type: ignore[attr-defined]
    posted = card(sandbox, 1)
    reply = await sandbox.click("alice", posted, "Approve")
    assert not reply.ephemeral and reply.message is not None and reply.message.id == posted.id
    assert posted.edited and posted.buttons == []
    assert "✅ Approved by Alice at 10:02" in posted.text
    assert "Balance: 2026: 13 days of Annual left" in posted.text
    assert await debits(sandbox, 1) == [{"kind": "debit", "year": 2026, "amount": "-1"}]
    assert await audit_actions(sandbox, "leave:1") == [
        ("leave.request", sandbox.member("bob").id),
        ("leave.approve", sandbox.member("alice").id),
    ]
    dm = sandbox.dms("bob")[-1]
    assert "Your leave request #1 was approved" in dm.text and "By: Alice" in dm.text


async def test_reject_opens_a_modal_and_the_reason_reaches_the_requester(
    sandbox: Sandbox,
) -> None:
    await apply(sandbox)
    posted = card(sandbox, 1)
    opened = await sandbox.click("alice", posted, "Reject")
    assert opened.modal is not None
    reply = await sandbox.submit("alice", opened.modal, reason="Team offsite that day")
    # A modal submit may not update the card (type 7 is for components): a private answer,
    # sent directly (type 4: the work fits the answer budget), and the card is edited by REST.
    assert reply.type == 4 and reply.ephemeral and reply.text == "Rejected request #1."
    assert posted.buttons == []
    assert "❌ Rejected by Alice at 09:00 UTC: Team offsite that day" in posted.text
    assert "Team offsite that day" in sandbox.dms("bob")[-1].text
    assert await debits(sandbox, 1) == []
    assert (await request_row(sandbox, 1))["decision_note"] == "Team offsite that day"


async def test_reject_without_a_reason(sandbox: Sandbox) -> None:
    await apply(sandbox)
    opened = await sandbox.click("alice", card(sandbox, 1), "Reject")
    assert opened.modal is not None
    await sandbox.submit("alice", opened.modal)
    row = await request_row(sandbox, 1)
    assert (row["status"], row["decision_note"]) == ("rejected", None)


async def test_nobody_approves_their_own_leave(sandbox: Sandbox) -> None:
    await apply(sandbox, "alice")
    before = await leave_state(sandbox)
    posted = card(sandbox, 1)
    reply = await sandbox.click("alice", posted, "Approve")
    assert reply.ephemeral and "Nobody decides their own leave" in reply.text
    reply = await sandbox.click("alice", posted, "Reject")
    assert reply.modal is None and "Nobody decides their own leave" in reply.text
    assert await leave_state(sandbox) == before
    assert [b.label for b in posted.buttons] == ["Approve", "Reject"]
    await sandbox.click("owner", posted, "Approve")  # another manager may
    assert (await request_row(sandbox, 1))["status"] == "approved"


@pytest.mark.parametrize("button", ["Approve", "Reject"])
async def test_members_who_are_not_managers_are_refused(sandbox: Sandbox, button: str) -> None:
    await apply(sandbox)
    before = await leave_state(sandbox)
    reply = await sandbox.click("carol", card(sandbox, 1), button)
    assert reply.ephemeral and reply.modal is None
    assert "Only managers can do that" in reply.text
    assert await leave_state(sandbox) == before


async def test_the_second_decision_says_who_came_first(sandbox: Sandbox) -> None:
    await apply(sandbox)
    posted = card(sandbox, 1)
    opened = await sandbox.click("owner", posted, "Reject")  # owner opens the form...
    await sandbox.click("alice", posted, "Approve")  # ...alice approves meanwhile
    assert opened.modal is not None
    late = await sandbox.submit("owner", opened.modal, reason="No")
    assert late.ephemeral
    assert "Request #1 was already approved by Alice at 01 December 2026 09:00 UTC." in late.text
    assert (await request_row(sandbox, 1))["status"] == "approved"
    assert len(await debits(sandbox, 1)) == 1
    assert [a for a, _ in await audit_actions(sandbox, "leave:1")].count("leave.approve") == 1


async def test_buttons_work_after_a_restart(sandbox: Sandbox) -> None:
    await apply(sandbox)
    await sandbox.restart()
    posted = card(sandbox, 1)
    await sandbox.click("alice", posted, "Approve")
    assert "Approved by Alice" in posted.text and posted.buttons == []
    assert (await request_row(sandbox, 1))["status"] == "approved"


async def test_closed_dms_are_logged_and_nothing_fails(sandbox: Sandbox) -> None:
    await apply(sandbox)
    sandbox.member("bob").accepts_dms = False
    with sandbox.expect_errors() as caught:
        await sandbox.click("alice", card(sandbox, 1), "Approve")
    assert [r.status for r in caught.requests] == [403]  # Discord's "cannot DM this user"
    assert not caught.logs and not caught.unanswered
    assert "Approved by Alice" in card(sandbox, 1).text
    assert (await request_row(sandbox, 1))["status"] == "approved"
    assert sandbox.dms("bob") == []


# -- cancelling --------------------------------------------------------------------------------
async def test_cancel_of_approved_leave_restores_the_balance_and_edits_the_card(
    sandbox: Sandbox,
) -> None:
    await apply(sandbox, start="2026-12-03", end="2026-12-04")
    posted = card(sandbox, 1)
    await sandbox.click("alice", posted, "Approve")
    balance = await sandbox.slash("bob", "leave balance")
    assert "**12 days available**" in balance.text
    reply = await sandbox.slash("bob", "leave cancel", request="1")
    assert reply.ephemeral and "Cancelled request #1" in reply.text
    assert "2 days went back to the balance (2026: 14 available)" in reply.text
    assert "Cancelled by Bob at 09:00" in posted.text and "Approved by Alice" in posted.text
    assert posted.buttons == []
    note = sandbox.last_message("approvals")
    assert (
        "Bob cancelled leave request #1" in note.text and "went back to their balance" in note.text
    )
    assert await debits(sandbox, 1) == [
        {"kind": "debit", "year": 2026, "amount": "-2"},
        {"kind": "credit", "year": 2026, "amount": "2"},
    ]
    balance = await sandbox.slash("bob", "leave balance")
    assert "**14 days available**" in balance.text
    again = await sandbox.slash("bob", "leave cancel", request="#1")
    assert "Request #1 was already cancelled by Bob at 01 December 2026 09:00 UTC." in again.text


async def test_a_manager_cancelling_tells_the_member(sandbox: Sandbox) -> None:
    await apply(sandbox)
    posted = card(sandbox, 1)
    reply = await sandbox.slash("alice", "leave cancel", request="1")
    assert "Cancelled request #1" in reply.text
    assert posted.buttons == [] and "Cancelled by Alice" in posted.text
    assert "was cancelled" in sandbox.dms("bob")[-1].text


async def test_members_cannot_cancel_leave_that_started_or_others_leave(sandbox: Sandbox) -> None:
    await apply(sandbox, start="today")
    await sandbox.click("alice", card(sandbox, 1), "Approve")
    before = await leave_state(sandbox)
    started = await sandbox.slash("bob", "leave cancel", request="1")
    assert "has already started" in started.text and "ask a manager" in started.text
    other = await sandbox.slash("carol", "leave cancel", request="1")
    assert "You can cancel only your own leave requests." in other.text
    assert await leave_state(sandbox) == before


# -- the pending list --------------------------------------------------------------------------
async def test_pending_lists_oldest_first_with_buttons_that_decide(sandbox: Sandbox) -> None:
    clock: ManualClock = sandbox.clock  # type: ignore[assignment]
    await apply(sandbox, start="2026-12-10")
    clock.advance(timedelta(hours=1))
    await apply(sandbox, "carol", start="2026-12-03", reason="Moving house")
    listing = await sandbox.slash("alice", "leave pending")
    assert listing.ephemeral
    text = listing.text
    assert text.index("#1") < text.index("#2")
    assert "Moving house" in text and "waiting 1 h" in text
    labels = [b.label for b in listing.message.buttons] if listing.message else []
    assert labels == ["Approve #1", "Reject #1", "Approve #2", "Reject #2"]
    refreshed = await sandbox.click("alice", listing, "Approve #1")
    assert "Approved request #1." in refreshed.text
    assert [b.label for b in refreshed.message.buttons] == ["Approve #2", "Reject #2"]  # type: ignore[union-attr]
    assert "Approved by Alice" in card(sandbox, 1).text and card(sandbox, 1).buttons == []
    assert "was approved" in sandbox.dms("bob")[-1].text
    opened = await sandbox.click("alice", listing, "Reject #2")
    assert opened.modal is not None
    await sandbox.submit("alice", opened.modal, reason="Busy week")
    assert "Rejected by Alice at 10:00 UTC: Busy week" in card(sandbox, 2).text


async def test_pending_pages_past_four_requests(sandbox: Sandbox) -> None:
    for member, day in [
        ("bob", 3),
        ("carol", 3),
        ("dave", 3),
        ("bob", 4),
        ("carol", 4),
        ("dave", 4),
    ]:
        await apply(sandbox, member, start=f"2026-12-0{day}")
    listing = await sandbox.slash("alice", "leave pending")
    assert "Page 1/2" in listing.text and "(6)" in listing.text
    page_two = await sandbox.click("alice", listing, "Next ▶")
    assert "Page 2/2" in page_two.text and "#5" in page_two.text and "#1" not in page_two.text
    assert listing.message is not None and listing.message.button("Next ▶").disabled


async def test_pending_is_for_managers(sandbox: Sandbox) -> None:
    reply = await sandbox.slash("bob", "leave pending")
    assert reply.ephemeral and "You need the Manager role" in reply.text


# -- reminders ---------------------------------------------------------------------------------
async def test_pending_requests_are_reminded_once_a_day(sandbox: Sandbox) -> None:
    clock: ManualClock = sandbox.clock  # type: ignore[assignment]
    await apply(sandbox, start="2026-12-10")  # Tue 1 Dec 09:00
    await sandbox.run(sandbox.bot.run_scheduled())
    assert len(sandbox.messages("approvals")) == 1  # just the card: not 24 h old yet

    clock.set(datetime(2026, 12, 2, 9, 30, tzinfo=UTC))  # Wed, 24.5 h later
    await sandbox.run(sandbox.bot.run_scheduled())
    reminder = sandbox.last_message("approvals")
    assert f"<@&{sandbox.role('Manager').id}>" in reminder.content
    # The role is not mentionable: the ping takes Mention Everyone, which the invite grants.
    assert reminder.pings == ([], [sandbox.role("Manager").id], False)
    assert "1 leave request has been waiting more than 24 h" in reminder.content
    assert "#1" in reminder.text

    clock.set(datetime(2026, 12, 2, 15, 0, tzinfo=UTC))
    await sandbox.run(sandbox.bot.run_scheduled())
    await sandbox.restart()
    await sandbox.run(sandbox.bot.run_scheduled())
    assert len(sandbox.messages("approvals")) == 2  # never twice a day, restart or not

    clock.set(datetime(2026, 12, 3, 8, 0, tzinfo=UTC))  # next day, before the digest time
    await sandbox.run(sandbox.bot.run_scheduled())
    assert len(sandbox.messages("approvals")) == 2
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    await sandbox.run(sandbox.bot.run_scheduled())
    assert len(sandbox.messages("approvals")) == 3

    await sandbox.click("alice", card(sandbox, 1), "Approve")
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    await sandbox.run(sandbox.bot.run_scheduled())
    assert len(sandbox.messages("approvals")) == 3  # decided: no more reminders


async def test_no_reminders_on_weekends(sandbox: Sandbox) -> None:
    clock: ManualClock = sandbox.clock  # type: ignore[assignment]
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # Friday
    await apply(sandbox, start="2026-12-10")
    clock.set(datetime(2026, 12, 5, 12, 0, tzinfo=UTC))  # Saturday
    await sandbox.run(sandbox.bot.run_scheduled())
    assert len(sandbox.messages("approvals")) == 1
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))  # Monday
    await sandbox.run(sandbox.bot.run_scheduled())
    assert "waiting more than 24 h" in sandbox.last_message("approvals").content


async def test_reminder_delivery_failure_is_retried(sandbox: Sandbox) -> None:
    clock: ManualClock = sandbox.clock  # type: ignore[assignment]
    await apply(sandbox, start="2026-12-10")
    # No reports channel: the DAR digest due at the same time must not take the injected error.
    await sandbox.configure(reports_channel=None)
    clock.set(datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    sandbox.emulator.inject_error(
        "POST /channels/{channel_id}/messages", 403, code=50013, message="Missing Permissions"
    )
    await sandbox.run(sandbox.bot.run_scheduled())
    assert len(sandbox.messages("approvals")) == 1
    claims = await rows(sandbox, "SELECT * FROM notifications_sent WHERE kind = 'leave.reminder'")
    assert claims == []  # given back
    await sandbox.run(sandbox.bot.run_scheduled())
    assert "waiting more than 24 h" in sandbox.last_message("approvals").content


async def test_the_answer_does_not_wait_for_the_card_and_a_failed_card_is_told(
    sandbox: Sandbox,
) -> None:
    # The card is posted after the answer; when Discord refuses it, a followup says so.
    sandbox.emulator.inject_error(
        "POST /channels/{channel_id}/messages", 403, code=50013, message="Missing Permissions"
    )
    reply = await apply(sandbox)
    assert reply.ephemeral and len(reply.messages) == 2
    first, second = reply.messages
    assert "Request #1 submitted for approval" in first.text
    assert "I could not post the approval card" in second.text
    assert sandbox.messages("approvals") == []
    row = await request_row(sandbox, 1)
    assert (row["status"], row["card_message_id"]) == ("pending", None)


async def test_an_approvals_channel_the_bot_cannot_see(sandbox: Sandbox) -> None:
    await sandbox.emulator.delete_channel(sandbox.guild, sandbox.channel("approvals"))
    await sandbox.settle()
    reply = await apply(sandbox)
    assert "I cannot see the approvals channel" in reply.text
    assert (await request_row(sandbox, 1))["status"] == "pending"
    assert "I cannot see the approvals channel" in sandbox.dms("owner")[-1].text
