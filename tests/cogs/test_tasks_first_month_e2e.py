"""Tasks in an office's first month (issue 16), end to end: "next fri" and the date it
resolved to, holidays under due dates and repeats, hand-overs to someone away, the card of a
task handed to someone else, and a reason for every block."""

from __future__ import annotations

from datetime import UTC, datetime

from concord.sandbox.driver import Sandbox
from tests.cogs.leave_helpers import apply
from tests.cogs.leave_helpers import card as leave_card
from tests.cogs.test_tasks_e2e import (
    card,
    create,
    dm_cards,
    fields,
    labels,
    mention,
    row,
    scheduler_pass,
)


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


async def test_block_asks_why_and_the_reason_shows_and_reaches_the_creator(
    sandbox: Sandbox,
) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="alice", title="Print the report", assignee="bob")
    await sandbox.click("bob", card(sandbox, task_id), "Start")
    asked = await sandbox.click("bob", card(sandbox, task_id), "Block")
    assert asked.modal is not None and (await row(sandbox, task_id))["status"] == "in_progress"
    saved = await sandbox.submit("bob", asked.modal, reason="Out of toner")
    assert saved.ephemeral and saved.text == f"Task #{task_id} is now **Blocked**."
    assert fields(card(sandbox, task_id))["Blocked because"] == "Out of toner"
    assert fields(dm_cards(sandbox, "bob", task_id)[0])["Blocked because"] == "Out of toner"
    (told,) = [m for m in sandbox.dms("alice") if "as blocked" in m.content]
    assert "> Out of toner" in told.content
    # Unblocking clears the reason from the card.
    await sandbox.click("bob", card(sandbox, task_id), "Start")
    assert "Blocked because" not in fields(card(sandbox, task_id))
    # /task status blocked without a note asks the same question; with one it does not.
    again = await sandbox.slash("bob", "task status", task=str(task_id), status="blocked")
    assert again.modal is not None
    await sandbox.submit("bob", again.modal, reason="Printer broken")
    assert (await row(sandbox, task_id))["block_reason"] == "Printer broken"
    # Someone who may not block it is refused before the form.
    refused = await sandbox.click("carol", card(sandbox, task_id), "Start")
    assert refused.ephemeral and "Only the assignee" in refused.text


async def test_a_refused_block_shows_no_form(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="alice", title="Print the report", assignee="bob")
    carol_asks = await sandbox.slash("carol", "task status", task=str(task_id), status="blocked")
    assert carol_asks.modal is None and carol_asks.ephemeral


async def test_handing_over_to_someone_away_warns_and_asks_to_confirm(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # Tuesday 1 Dec 2026
    invoices = await create(sandbox, by="alice", title="Invoices", assignee="bob", due="fri")
    await apply(sandbox, "carol", start="2026-12-04")  # carol is off on Friday
    await sandbox.click("alice", leave_card(sandbox, 1), "Approve")
    await apply(sandbox, "bob", start="2026-12-03", end="2026-12-04")
    approved = await sandbox.click("alice", leave_card(sandbox, 2), "Approve")
    [offer] = [m for m in approved.messages if m.selects]
    assert offer.selects[0].placeholder == "Hand this task over to…"
    # The picker belongs to the leave card, and its id says so (it said dar:handover: before).
    assert offer.selects[0].custom_id == "leave:handover:2"
    assert offer.content.endswith(
        f"1 open task due while away: #{invoices} Invoices. Hand it over to someone?"
    )
    warned = await sandbox.select("alice", offer, values=["carol"])
    assert warned.content.splitlines() == [
        f"⚠️ {mention(sandbox, 'carol')} is on leave on Fri 4 Dec 2026, when task "
        f"#{invoices} is due. Hand over anyway, or pick someone else.",
        f"Available on those days: {mention(sandbox, 'alice')} {mention(sandbox, 'dave')} "
        f"{mention(sandbox, 'owner')}.",
    ]
    assert (await row(sandbox, invoices))["assignee_id"] == sandbox.member("bob").id
    # Picking someone available hands over at once.
    handed = await sandbox.select("alice", warned, values=["dave"])
    assert handed.content == f"Handed #{invoices} over to {mention(sandbox, 'dave')}."
    assert (await row(sandbox, invoices))["assignee_id"] == sandbox.member("dave").id


async def test_hand_over_anyway_after_the_warning(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    invoices = await create(sandbox, by="alice", title="Invoices", assignee="bob", due="fri")
    await apply(sandbox, "carol", start="2026-12-04")
    await apply(sandbox, "bob", start="2026-12-03", end="2026-12-04")
    approved = await sandbox.click("alice", leave_card(sandbox, 2), "Approve")
    [offer] = [m for m in approved.messages if m.selects]
    warned = await sandbox.select("alice", offer, values=["carol"])  # carol asked for Friday
    assert "is on leave on Fri 4 Dec 2026" in warned.text
    handed = await sandbox.click("alice", warned, "Hand over anyway")
    assert handed.content == f"Handed #{invoices} over to {mention(sandbox, 'carol')}."
    assert (await row(sandbox, invoices))["assignee_id"] == sandbox.member("carol").id


async def holidays(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # Tuesday 1 Dec 2026, Mon–Fri
    await sandbox.slash("alice", "leave holiday add", date="2026-12-25", name="Christmas Day")
    await sandbox.slash("alice", "leave holiday add", date="2027-01-01", name="New Year's Day")


async def test_a_due_date_on_a_holiday_warns_and_moves_to_the_day_before(
    sandbox: Sandbox,
) -> None:
    await holidays(sandbox)
    reply = await sandbox.slash("alice", "task create", title="Close the books", due="25 Dec")
    assert reply.text.endswith(
        "⚠️ Fri 25 Dec 2026 is a holiday here (Christmas Day) — keep it or move to Thu 24 Dec 2026?"
    )
    assert reply.message is not None
    assert labels(reply.message) == ["Keep it", "Move to Thu 24 Dec 2026"]
    moved = await sandbox.click("alice", reply.message, "Move to Thu 24 Dec 2026")
    assert moved.text == "Moved task #1 to Thu 24 Dec 2026."
    assert (await row(sandbox, 1))["due_date"] == "2026-12-24"
    assert "Thu 24 Dec 2026" in fields(card(sandbox, 1))["Due"]
    # Keeping it keeps it; a blocker task due "tomorrow" on a holiday is warned about too.
    sandbox.clock.set(datetime(2026, 12, 31, 9, 0, tzinfo=UTC))
    kept = await sandbox.slash("alice", "task create", title="Fix the VPN", due="tomorrow")
    assert "Fri 1 Jan 2027 is a holiday here (New Year's Day)" in kept.text
    assert kept.message is not None
    done = await sandbox.click("alice", kept.message, "Keep it")
    assert done.text == "Task #2 stays due on Fri 1 Jan 2027."
    assert (await row(sandbox, 2))["due_date"] == "2027-01-01"


async def test_a_weekly_repeat_warns_when_its_next_one_is_a_holiday(sandbox: Sandbox) -> None:
    await holidays(sandbox)
    task_id = await create(sandbox, title="Weekly report", due="2026-12-18", repeat="weekly")
    reply = await sandbox.slash("alice", "task status", task=str(task_id), status="done")
    assert "next is #2, due Fri 25 Dec 2026." in reply.text
    assert "Fri 25 Dec 2026 is a holiday here (Christmas Day) — keep it or move to" in reply.text


async def test_a_repeat_that_skips_holidays_keeps_its_rhythm(sandbox: Sandbox) -> None:
    await holidays(sandbox)
    first = await create(
        sandbox, title="Weekly report", due="2026-12-18", repeat="weekly", skip_holidays=True
    )
    dues = []
    task_id = first
    for _ in range(3):
        reply = await sandbox.slash("alice", "task status", task=str(task_id), status="done")
        assert "holiday here" not in reply.text
        task_id = int(reply.text.split("next is #")[1].split(",")[0])
        dues.append((await row(sandbox, task_id))["due_date"])
    # Christmas and New Year fall on Fridays: done the Thursday before; the Friday after.
    assert dues == ["2026-12-24", "2026-12-31", "2027-01-08"]
    assert "Every week, skipping holidays" in fields(card(sandbox, task_id))["Repeats"]
    # Off by default for a weekly series, on for every working day.
    plain = await create(sandbox, title="Plain", due="2026-12-18", repeat="weekly")
    daily = await create(sandbox, title="Stand-up notes", due="2026-12-24", repeat="weekdays")
    assert (await row(sandbox, plain))["skip_holidays"] == 0
    assert (await row(sandbox, daily))["skip_holidays"] == 1


async def test_an_escalation_counts_overdue_days_as_the_card_does(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="alice", title="File the VAT", assignee="bob", due="today")
    now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # Friday; due Tuesday
    await scheduler_pass(sandbox, now)
    (escalation,) = [m for m in sandbox.messages("tasks") if m.content.startswith("⚠️")]
    assert f"Task #{task_id} **File the VAT** is overdue by 2 days (due" in escalation.content
    # The card says "<t:…:R>" of the deadline (the end of the due day): 2 days ago too.
    due = fields(card(sandbox, task_id))["Due"]
    stamp = int(due.split("<t:")[1].split(":R>")[0])
    assert int(now.timestamp() - stamp) // 86400 == 2
