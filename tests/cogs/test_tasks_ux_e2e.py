"""Tasks as a new user meets them, end to end: dates typed the way people type them, refusals
that say what to type instead and keep what was typed, tasks named by their title, the news
the creator and the assignee expect, and reminders that leave weekends and holidays alone."""

from __future__ import annotations

from datetime import UTC, datetime

from concord.sandbox.driver import Message, Sandbox
from tests.cogs.test_tasks_e2e import (
    card,
    create,
    mention,
    overdue_dms,
    row,
    scheduler_pass,
)


def news(sandbox: Sandbox, member: str, task_id: int) -> list[Message]:
    """Plain DMs about a task (not cards, reminders or comments)."""
    return [
        m
        for m in sandbox.dms(member)
        if f"task #{task_id} " in m.content and not m.embeds and "commented" not in m.content
    ]


def escalations(sandbox: Sandbox) -> list[Message]:
    return [m for m in sandbox.messages("tasks") if m.content.startswith("⚠️")]


async def test_due_dates_as_people_type_them(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # Tuesday 1 Dec 2026, 09:00 in London
    five_pm = await create(sandbox, title="Send the invoices", due="fri 5pm")
    assert (await row(sandbox, five_pm))["due_date"] == "2026-12-04"
    assert (await row(sandbox, five_pm))["due_time"] == "17:00"
    shorthand = await create(sandbox, title="Book the room", due="tmrw 9:30am")
    assert (await row(sandbox, shorthand))["due_date"] == "2026-12-02"
    assert (await row(sandbox, shorthand))["due_time"] == "09:30"
    unknown = await sandbox.slash("bob", "task create", title="Valid", due="whenever")
    assert unknown.ephemeral and "optionally followed by a time (`fri 17:00`" in unknown.text


async def test_a_past_due_date_says_what_to_give_instead(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    day = await sandbox.slash("bob", "task create", title="Valid", due="yesterday")
    assert day.ephemeral and day.text == (
        "The due date Mon 30 Nov 2026 is in the past; give today (Tue 1 Dec 2026) or a later "
        "day, or leave it empty for no due date."
    )
    hour = await sandbox.slash("bob", "task create", title="Valid", due="today 8am")
    assert hour.ephemeral and hour.text == (
        "The due time Tue 1 Dec 2026 08:00 is in the past (it is Tue 1 Dec 2026 09:00 now, "
        "Europe/London time); give a later time."
    )
    assert await sandbox.db.fetchall("SELECT id FROM tasks") == []


async def test_a_task_named_by_its_title(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    printer = await create(sandbox, title="Fix the printer")
    await create(sandbox, title="Order printer paper")
    shown = await sandbox.slash("bob", "task show", task="fix the printer")
    assert shown.ephemeral and f"#{printer} · Fix the printer" in shown.text
    claimed = await sandbox.slash("bob", "task claim", task="Fix printer")  # every word matches
    assert claimed.text == f"Task #{printer} is yours now."
    several = await sandbox.slash("bob", "task show", task="printer")
    assert several.ephemeral and "`printer` matches several tasks (#" in several.text
    assert "Fix the printer" in several.text and "Order printer paper" in several.text
    nothing = await sandbox.slash("bob", "task show", task="stapler")
    assert (
        nothing.text
        == "No task matches `stapler`; pick one from the list or give its number (#12)."
    )


async def test_a_refused_edit_keeps_what_was_typed(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="bob", title="Water the plants", due="fri")
    opened = await sandbox.slash("bob", "task edit", task=str(task_id))
    assert opened.modal is not None
    refused = await sandbox.submit(
        "bob",
        opened.modal,
        title="Water the office plants",
        description="Both floors",
        due="yesterday",
    )
    assert refused.ephemeral and "is in the past" in refused.text
    assert (await row(sandbox, task_id))["title"] == "Water the plants"
    again = await sandbox.click("bob", refused, "Fix and resubmit")
    assert again.modal is not None
    assert again.modal.field("title").value == "Water the office plants"
    assert again.modal.field("description").value == "Both floors"
    assert again.modal.field("due").value == "yesterday"
    saved = await sandbox.submit("bob", again.modal, due="mon")
    assert saved.text.startswith(f"Saved task #{task_id}.")
    stored = await row(sandbox, task_id)
    assert (stored["title"], stored["description"], stored["due_date"]) == (
        "Water the office plants",
        "Both floors",
        "2026-12-07",
    )


async def test_a_refused_new_task_from_a_message_keeps_what_was_typed(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    message = await sandbox.post("bob", "general", "The coffee machine leaks again")
    opened = await sandbox.context_menu("alice", "Create task", message)
    assert opened.modal is not None
    refused = await sandbox.submit("alice", opened.modal, due="fri", priority="asap")
    assert refused.ephemeral and "`asap` is not a priority" in refused.text
    again = await sandbox.click("alice", refused, "Fix and resubmit")
    assert again.modal is not None and again.modal.field("due").value == "fri"
    assert again.modal.field("title").value == "The coffee machine leaks again"
    created = await sandbox.submit("alice", again.modal, priority="high")
    assert "Created task #" in created.text
    task = await row(sandbox, 1)
    assert task["priority"] == "high" and str(message.id) in str(task["source_url"])


async def test_a_refusal_no_edit_can_fix_offers_no_form(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="bob", title="Plan the party")
    opened = await sandbox.slash("bob", "task edit", task=str(task_id))
    assert opened.modal is not None
    # While the form is open the task stops being bob's (no command does that: the database).
    carol = sandbox.member("carol").id
    await sandbox.db.write(
        lambda conn: conn.execute("UPDATE tasks SET creator_id = ? WHERE id = ?", (carol, task_id))
    )
    reply = await sandbox.submit("bob", opened.modal, title="Plan the big party")
    assert reply.ephemeral and "Only the creator or a manager can edit" in reply.text
    assert reply.message is None or reply.message.buttons == []
    assert (await row(sandbox, task_id))["title"] == "Plan the party"


async def test_the_creator_hears_when_their_task_is_done_or_blocked(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="alice", title="Print the report", assignee="bob")
    await sandbox.click("bob", card(sandbox, task_id), "Start")
    assert news(sandbox, "alice", task_id) == []  # starting is not news
    await sandbox.slash(
        "bob", "task status", task=str(task_id), status="blocked", note="Out of toner"
    )
    await sandbox.click("bob", card(sandbox, task_id), "Done")
    told = news(sandbox, "alice", task_id)
    assert [m.content.split("\n")[0] for m in told] == [
        f"🟠 {mention(sandbox, 'bob')} marked task #{task_id} **Print the report** as blocked.",
        f"✅ {mention(sandbox, 'bob')} finished task #{task_id} **Print the report**.",
    ]
    assert "> Out of toner" in told[0].content
    assert str(card(sandbox, task_id).id) in told[1].content
    # Nobody is told about their own clicks.
    own = await create(sandbox, by="carol", title="Tidy my desk", assignee="carol")
    await sandbox.click("carol", card(sandbox, own), "Done")
    assert news(sandbox, "carol", own) == []


async def test_the_assignee_hears_when_their_task_is_cancelled(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="alice", title="Order chairs", assignee="carol")
    await sandbox.slash("alice", "task cancel", task=str(task_id), reason="Budget cut")
    (told,) = news(sandbox, "carol", task_id)
    assert told.content.startswith(
        f"✖️ {mention(sandbox, 'alice')} cancelled task #{task_id} **Order chairs**; nothing more"
    )
    assert "> Budget cut" in told.content
    assert news(sandbox, "alice", task_id) == []


async def test_overdue_reminders_skip_weekends_and_holidays(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # Mon–Fri, digest 09:00, escalation after 2 days
    await sandbox.slash("alice", "leave holiday add", date="2026-12-07", name="Office closed")
    task_id = await create(sandbox, by="alice", title="File the VAT", assignee="bob", due="thu")
    await scheduler_pass(sandbox, datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # Friday
    assert len(overdue_dms(sandbox, "bob")) == 1 and escalations(sandbox) == []
    for day in (5, 6, 7):  # Saturday, Sunday, the holiday: nobody is nagged
        await scheduler_pass(sandbox, datetime(2026, 12, day, 9, 0, tzinfo=UTC))
    assert len(overdue_dms(sandbox, "bob")) == 1 and escalations(sandbox) == []
    await scheduler_pass(sandbox, datetime(2026, 12, 8, 9, 0, tzinfo=UTC))  # Tuesday
    assert len(overdue_dms(sandbox, "bob")) == 2
    (escalation,) = escalations(sandbox)
    assert escalation.content.startswith(
        f"⚠️ Task #{task_id} **File the VAT** is overdue by 4 days (due Thu 3 Dec 2026) · "
        f"assignee {mention(sandbox, 'bob')} · creator {mention(sandbox, 'alice')}. Finish it, "
        "or give it a new due date with `/task edit`. Card: "
    )


async def test_an_unassigned_overdue_task_says_so(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="carol", title="Buy milk", due="today")
    await scheduler_pass(sandbox, datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    (escalation,) = escalations(sandbox)
    assert (
        f"overdue by 2 days (due Tue 1 Dec 2026) · unassigned (anyone can claim it) · creator "
        f"{mention(sandbox, 'carol')}." in escalation.content
    )
    assert f"Task #{task_id}" in escalation.content


async def test_whoever_loses_a_task_hears_where_it_went(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    report = await create(sandbox, by="alice", title="Quarterly report", assignee="bob", due="thu")
    invoices = await create(sandbox, by="alice", title="Invoices", assignee="bob", due="fri")
    await sandbox.slash("alice", "task assign", task=str(report), member="dave")
    (moved,) = news(sandbox, "bob", report)
    assert moved.content == (
        f"↪️ {mention(sandbox, 'alice')} handed your task #{report} **Quarterly report** over "
        f"to {mention(sandbox, 'dave')}."
    )
    # Going on leave: the approver hands the rest over; bob hears it in one message.
    await sandbox.slash("bob", "leave apply", leave_type="Annual", start="thu", end="fri")
    approved = await sandbox.click("alice", sandbox.last_message("approvals"), "Approve")
    [offer] = [m for m in approved.messages if m.selects]
    await sandbox.select("alice", offer, values=["carol"])
    (handed,) = news(sandbox, "bob", invoices)
    assert handed.content == (
        f"↪️ {mention(sandbox, 'alice')} handed your task #{invoices} **Invoices** over to "
        f"{mention(sandbox, 'carol')}."
    )
    # Nobody hears of their own doing.
    own = await create(sandbox, by="carol", title="Mine", assignee="carol")
    await sandbox.slash("carol", "task assign", task=str(own), member="dave")
    assert news(sandbox, "carol", own) == []


async def test_an_empty_my_tasks_says_what_to_do(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    reply = await sandbox.slash("dave", "task mine")
    assert reply.embeds[0]["description"] == (
        "Nothing assigned to you is open, in progress or blocked. Unassigned tasks in "
        "`/task list` can be claimed."
    )


async def test_overdue_reminders_wait_while_the_assignee_is_on_leave(sandbox: Sandbox) -> None:
    await sandbox.configure_office()  # Tuesday 1 Dec 2026; Mon–Fri, digest 09:00
    await create(sandbox, by="alice", title="File the VAT", assignee="bob", due="today")
    applied = await sandbox.slash("bob", "leave apply", leave_type="Annual", start="wed")
    assert "submitted" in applied.text
    await sandbox.click("alice", sandbox.last_message("approvals"), "Approve")
    await scheduler_pass(sandbox, datetime(2026, 12, 2, 9, 0, tzinfo=UTC))  # on leave all day
    assert overdue_dms(sandbox, "bob") == []
    await scheduler_pass(sandbox, datetime(2026, 12, 3, 9, 0, tzinfo=UTC))  # back at work
    assert len(overdue_dms(sandbox, "bob")) == 1


async def test_an_escalation_pings_only_the_assignee_and_the_creator(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    carol = sandbox.member("carol").id
    await create(
        sandbox, by="alice", title=f"Ask <@{carol}> about the keys", assignee="bob", due="today"
    )
    await scheduler_pass(sandbox, datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    (escalation,) = escalations(sandbox)
    users, roles, everyone = escalation.pings
    assert set(users) == {sandbox.member("bob").id, sandbox.member("alice").id}
    assert roles == [] and not everyone
