"""The Tasks cog end to end: the real bot through the local Discord emulator — every command,
the card buttons before and after a restart, boards, the context menu, autocomplete, reminders
with the clock (across a daylight-saving change) and bad input for every option."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import cast

import pytest

from concord.cogs.tasks.cog import Tasks
from concord.core import task_board
from concord.core.tasks import Actor, TaskDraft
from concord.sandbox.driver import Message, Sandbox, UsageError

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the sandbox clock: Tuesday 09:00 in London


@pytest.fixture(autouse=True)
def immediate_boards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Boards refresh at once in tests (coalescing has its own test)."""
    monkeypatch.setattr(task_board, "BOARD_REFRESH_SECONDS", 0.0)
    yield


def cog(sandbox: Sandbox) -> Tasks:
    # Not isinstance: every bot start imports the extension's modules afresh.
    found = sandbox.bot.get_cog("Tasks")
    assert found is not None
    return cast(Tasks, found)


def card(sandbox: Sandbox, task_id: int, channel: str = "tasks") -> Message:
    for message in reversed(sandbox.messages(channel)):
        if message.embeds and message.embeds[0].get("footer", {}).get("text") == f"Task #{task_id}":
            return message
    raise AssertionError(f"no card of task #{task_id} in #{channel}")


def dm_cards(sandbox: Sandbox, member: str, task_id: int) -> list[Message]:
    return [
        m
        for m in sandbox.dms(member)
        if m.embeds and m.embeds[0].get("footer", {}).get("text") == f"Task #{task_id}"
    ]


def fields(message: Message) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


def labels(message: Message) -> list[str | None]:
    return [b.label for b in message.buttons]


def mention(sandbox: Sandbox, name: str) -> str:
    return f"<@{sandbox.member(name).id}>"


async def row(sandbox: Sandbox, task_id: int) -> dict[str, object]:
    found = await sandbox.db.fetchone("SELECT * FROM tasks WHERE id = ?", (task_id,))
    assert found is not None
    return dict(found)


async def create(sandbox: Sandbox, by: str = "alice", **options: object) -> int:
    options.setdefault("title", "Fix the printer")
    reply = await sandbox.slash(by, "task create", **options)
    assert reply.ephemeral and "Created task #" in reply.text, reply.text
    return int(reply.text.split("Created task #")[1].split()[0])


async def seed(sandbox: Sandbox, count: int, **fields_: object) -> list[int]:
    """Many tasks at once through the manager (the commands are tested elsewhere)."""
    manager = cog(sandbox).tasks_store
    ids = []
    for i in range(count):
        values: dict[str, object] = {
            "title": f"Seeded task {i}",
            "assignee_id": sandbox.member("bob").id,
        }
        values.update(fields_)
        task = await manager.create(
            sandbox.guild.id,
            Actor(sandbox.member("alice").id, True),
            TaskDraft(**values),
            sandbox.clock.now(),
        )  # type: ignore[arg-type]
        ids.append(task.id)
    return ids


# -- /task create and the card ------------------------------------------------------------------
async def test_create_posts_the_card_and_dms_the_assignee(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(
        sandbox,
        title="Fix the printer",
        assignee="bob",
        due="fri 17:00",
        priority="high",
        description="Floor 2",
    )
    message = card(sandbox, task_id)
    assert not message.ephemeral and message.embeds[0]["title"] == f"#{task_id} · Fix the printer"
    info = fields(message)
    assert info["Assignee"] == mention(sandbox, "bob") and info["Creator"] == mention(
        sandbox, "alice"
    )
    friday_5pm = int(datetime(2026, 12, 4, 17, 0, tzinfo=UTC).timestamp())  # London is on GMT
    assert info["Due"] == f"<t:{friday_5pm}:f> (<t:{friday_5pm}:R>)"
    assert info["Priority"] == "High" and "Open" in info["Status"]
    assert message.embeds[0]["description"] == "Floor 2"
    assert labels(message) == ["Start", "Done"]
    assert [b.custom_id for b in message.buttons] == [
        f"task:start:{task_id}",
        f"task:done:{task_id}",
    ]
    dm = dm_cards(sandbox, "bob", task_id)
    assert (
        len(dm) == 1 and "assigned you a task" in dm[0].text and labels(dm[0]) == ["Start", "Done"]
    )
    saved = await row(sandbox, task_id)
    assert (saved["card_channel_id"], saved["card_message_id"]) == (
        sandbox.channel("tasks").id,
        message.id,
    )
    assert (saved["due_date"], saved["due_time"]) == ("2026-12-04", "17:00")


async def test_create_without_tasks_channel_posts_here_and_unassigned_can_be_claimed(
    sandbox: Sandbox,
) -> None:
    task_id = await create(sandbox, by="bob", title="Water the plants")
    message = card(sandbox, task_id, "general")
    assert fields(message)["Assignee"] == "Unassigned" and labels(message) == [
        "Start",
        "Done",
        "Claim",
    ]
    assert sandbox.dms("bob") == []
    reply = await sandbox.click("carol", message, "Claim")
    assert reply.message is not None and reply.message.id == message.id
    assert fields(message)["Assignee"] == mention(sandbox, "carol") and "Claim" not in labels(
        message
    )
    assert (await row(sandbox, task_id))["assignee_id"] == sandbox.member("carol").id
    # Claiming again (a stale card in someone's view) is refused and changes nothing.
    refused = await sandbox.slash("dave", "task claim", task=str(task_id))
    assert refused.ephemeral and "only unassigned tasks can be claimed" in refused.text


async def test_create_for_yourself_needs_no_dm(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="bob", assignee="bob", title="My own")
    assert fields(card(sandbox, task_id))["Assignee"] == mention(sandbox, "bob")
    assert sandbox.dms("bob") == []


async def test_assigning_to_others_follows_the_setting(sandbox: Sandbox) -> None:
    await sandbox.configure_office(task_assign="managers")
    reply = await sandbox.slash("bob", "task create", title="For Carol", assignee="carol")
    assert reply.ephemeral and "only managers can assign" in reply.text
    assert await sandbox.db.fetchone("SELECT id FROM tasks") is None
    await create(sandbox, by="alice", title="For Carol", assignee="carol")  # a manager may


# -- card buttons ------------------------------------------------------------------------------
async def test_card_buttons_move_the_task_and_update_every_copy(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, assignee="bob")
    message = card(sandbox, task_id)
    dm = dm_cards(sandbox, "bob", task_id)[0]
    await sandbox.click("bob", message, "Start")
    assert "In progress" in fields(message)["Status"] and labels(message) == ["Block", "Done"]
    assert "In progress" in fields(dm)["Status"]  # the DM copy follows
    asked = await sandbox.click("bob", dm, "Block")  # from the DM: it asks why
    assert asked.modal is not None
    await sandbox.submit("bob", asked.modal, reason="Waiting for toner")
    assert "Blocked" in fields(message)["Status"] and labels(dm) == ["Start", "Done"]
    await sandbox.click("alice", message, "Start")
    await sandbox.click("bob", message, "Done")
    assert "Done" in fields(message)["Status"] and labels(message) == ["Reopen"]
    assert "Completed" in fields(message) and labels(dm) == ["Reopen"]
    await sandbox.click("alice", message, "Reopen")
    assert "Open" in fields(message)["Status"]
    history = await sandbox.db.fetchall(
        "SELECT from_value, to_value FROM task_events WHERE task_id = ? AND kind = 'status' ORDER BY id",
        (task_id,),
    )
    assert [(h["from_value"], h["to_value"]) for h in history] == [
        ("open", "in_progress"),
        ("in_progress", "blocked"),
        ("blocked", "in_progress"),
        ("in_progress", "done"),
        ("done", "open"),
    ]


async def test_a_button_you_may_not_use_explains_and_changes_nothing(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, assignee="bob")
    message = card(sandbox, task_id)
    before = (message.embeds, await row(sandbox, task_id))
    reply = await sandbox.click("dave", message, "Done")
    assert reply.ephemeral and "Only the assignee, the creator or a manager" in reply.text
    assert (message.embeds, await row(sandbox, task_id)) == before
    await sandbox.click("bob", message, "Done")
    late = await sandbox.slash("bob", "task status", task=str(task_id), status="done")
    assert late.ephemeral and "already done" in late.text


async def test_buttons_work_after_a_restart(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, assignee="bob")
    message = card(sandbox, task_id)
    dm = dm_cards(sandbox, "bob", task_id)[0]
    await sandbox.restart()
    await sandbox.click("bob", message, "Start")
    assert "In progress" in fields(message)["Status"] and "In progress" in fields(dm)["Status"]
    await sandbox.restart()
    await sandbox.click("bob", dm, "Done")
    assert labels(message) == ["Reopen"] and (await row(sandbox, task_id))["status"] == "done"
    refused = await sandbox.click("dave", message, "Reopen")
    assert refused.ephemeral and "Only the assignee" in refused.text


async def test_done_on_a_repeating_task_posts_the_next_one(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(
        sandbox, assignee="bob", title="Check the backups", due="fri", repeat="weekdays"
    )
    reply = await sandbox.click("bob", card(sandbox, task_id), "Done")
    assert "next is #" in reply.text and "due Mon 7 Dec 2026" in reply.text  # Friday → Monday
    next_id = task_id + 1
    nxt = card(sandbox, next_id)
    assert (
        nxt.embeds[0]["title"].endswith("Check the backups")
        and fields(nxt)["Repeats"] == "Every working day, skipping holidays"
    )
    assert fields(card(sandbox, task_id))["Next occurrence"] == f"#{next_id}"
    # Reopen and finish again: no second next occurrence.
    await sandbox.click("bob", card(sandbox, task_id), "Reopen")
    await sandbox.click("bob", card(sandbox, task_id), "Done")
    count = await sandbox.db.fetchone("SELECT count(*) AS n FROM tasks")
    assert count is not None and count["n"] == 2


async def test_concurrent_done_clicks_complete_once(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, assignee="bob", due="tomorrow", repeat="daily")
    message = card(sandbox, task_id)
    results = await asyncio.gather(
        *(sandbox.click(name, message, "Done") for name in ("bob", "alice", "owner"))
    )
    texts = [r.text for r in results]
    assert sum("already done" in t for t in texts) == 2, texts
    count = await sandbox.db.fetchone(
        "SELECT count(*) AS n FROM tasks WHERE previous_id = ?", (task_id,)
    )
    assert count is not None and count["n"] == 1


# -- lists ------------------------------------------------------------------------------------
async def test_list_pages_ten_at_a_time_with_prev_and_next(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await seed(sandbox, 23, due_date=date(2026, 12, 10))
    overdue = await seed(sandbox, 1, title="Late one", due_date=date(2026, 12, 1))
    sandbox.clock.set(START + timedelta(days=1))  # 2 Dec: the task due 1 Dec is overdue
    reply = await sandbox.slash("carol", "task list")
    assert reply.ephemeral
    page = reply.message
    assert page is not None
    embed = page.embeds[0]
    assert embed["footer"]["text"] == "Page 1/3 · 24 tasks"
    lines = embed["description"].splitlines()
    assert len(lines) == 10 and f"`#{overdue[0]}` Late one" in lines[0] and lines[0].startswith("⚠️")
    assert [b.label for b in page.buttons] == ["◀ Previous", "Next ▶"] and page.buttons[0].disabled
    await sandbox.click("carol", page, "Next ▶")
    assert page.embeds[0]["footer"]["text"] == "Page 2/3 · 24 tasks"
    await sandbox.click("carol", page, "Next ▶")
    assert page.embeds[0]["footer"]["text"] == "Page 3/3 · 24 tasks" and page.buttons[1].disabled
    assert len(page.embeds[0]["description"].splitlines()) == 4
    await sandbox.click("carol", page, "◀ Previous")
    assert page.embeds[0]["footer"]["text"] == "Page 2/3 · 24 tasks"


async def test_list_filters_by_member_status_and_words(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    printer = await create(sandbox, title="Printer jams", assignee="bob", description="On floor 2")
    budget = await create(sandbox, title="Budget", assignee="carol")
    finished = await create(sandbox, title="Old printer", assignee="bob")
    await sandbox.slash("bob", "task status", task=str(finished), status="done")

    def ids(reply_text: str) -> list[int]:
        return [int(part.split("`")[0]) for part in reply_text.split("`#")[1:]]

    assert ids(
        (await sandbox.slash("dave", "task list", member="bob")).embeds[0]["description"]
    ) == [printer]
    assert ids(
        (await sandbox.slash("dave", "task list", status="done")).embeds[0]["description"]
    ) == [finished]
    assert set(
        ids((await sandbox.slash("dave", "task list", status="all")).embeds[0]["description"])
    ) == {printer, budget, finished}
    assert ids(
        (await sandbox.slash("dave", "task list", query="floor")).embeds[0]["description"]
    ) == [printer]
    nothing = await sandbox.slash("dave", "task list", query="zebra")
    assert (
        nothing.embeds[0]["description"] == "No tasks match."
        and nothing.message is not None
        and not nothing.message.buttons
    )
    mine = await sandbox.slash("bob", "task mine")
    assert (
        ids(mine.embeds[0]["description"]) == [printer] and mine.embeds[0]["title"] == "Your tasks"
    )


async def test_a_list_is_private_to_whoever_asked(sandbox: Sandbox) -> None:
    await seed(sandbox, 15)
    reply = await sandbox.slash("bob", "task mine")
    assert reply.message is not None and reply.ephemeral
    with pytest.raises(UsageError, match="only visible to someone else"):
        await sandbox.click("carol", reply.message, "Next ▶")
    await sandbox.click("bob", reply.message, "Next ▶")
    assert reply.message.embeds[0]["footer"]["text"] == "Page 2/2 · 15 tasks"


# -- show, assign, claim, status, edit, comment, cancel ----------------------------------------
async def test_show_has_history_and_comments(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, assignee="bob")
    await sandbox.slash("bob", "task status", task=str(task_id), status="in_progress", note="On it")
    await sandbox.slash(
        "carol", "task comment", task=str(task_id), text="The toner is in the cupboard"
    )
    reply = await sandbox.slash("dave", "task show", task=f"#{task_id} Fix the printer")
    assert reply.ephemeral
    info = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert (
        "created it" in info["History"]
        and "In progress" in info["History"]
        and "On it" in info["History"]
    )
    assert "The toner is in the cupboard" in info["Comments (1)"]
    assert reply.message is not None and labels(reply.message) == ["Block", "Done"]


async def test_assign_reassigns_updates_the_card_and_dms_the_new_assignee(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="bob", assignee="bob")
    refused = await sandbox.slash("carol", "task assign", task=str(task_id), member="dave")
    assert refused.ephemeral and "Only the creator or a manager can reassign" in refused.text
    reply = await sandbox.slash("bob", "task assign", task=str(task_id), member="carol")
    assert reply.ephemeral and "now assigned to" in reply.text
    assert fields(card(sandbox, task_id))["Assignee"] == mention(sandbox, "carol")
    assert len(dm_cards(sandbox, "carol", task_id)) == 1
    same = await sandbox.slash("alice", "task assign", task=str(task_id), member="carol")
    assert "already assigned" in same.text


async def test_status_command_with_note_and_refused_transition(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, assignee="bob")
    bad = await sandbox.slash("bob", "task status", task=str(task_id), status="blocked")
    assert bad.ephemeral and "can only become" in bad.text
    reply = await sandbox.slash(
        "bob", "task status", task=str(task_id), status="done", note="Replaced the drum"
    )
    assert reply.ephemeral and "is now **Done**" in reply.content
    note = await sandbox.db.fetchone(
        "SELECT note FROM task_events WHERE task_id = ? ORDER BY id DESC", (task_id,)
    )
    assert note is not None and note["note"] == "Replaced the drum"
    assert "Done" in fields(card(sandbox, task_id))["Status"]


async def test_edit_opens_a_prefilled_modal_and_saves_changes(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(
        sandbox, assignee="bob", due="fri 17:00", priority="high", description="Floor 2"
    )
    refused = await sandbox.slash(
        "bob", "task edit", task=str(task_id)
    )  # the assignee, not the creator
    assert (
        refused.ephemeral
        and "Only the creator or a manager can edit" in refused.text
        and refused.modal is None
    )
    opened = await sandbox.slash("alice", "task edit", task=str(task_id))
    modal = opened.modal
    assert modal is not None
    prefilled = {f.custom_id: f.value for f in modal.fields}
    assert prefilled == {
        "title": "Fix the printer",
        "description": "Floor 2",
        "due": "2026-12-04 17:00",
        "priority": "high",
        "repeat": "none",
    }
    saved = await sandbox.submit(
        "alice", modal, title="Fix both printers", due="2026-12-07", priority="urgent"
    )
    assert saved.ephemeral and "Saved task" in saved.text
    info = fields(card(sandbox, task_id))
    assert (
        card(sandbox, task_id).embeds[0]["title"].endswith("Fix both printers")
        and info["Priority"] == "Urgent"
    )
    assert "Mon 7 Dec 2026, end of day" in info["Due"]
    assert "Fix both printers" in dm_cards(sandbox, "bob", task_id)[0].embeds[0]["title"]


async def test_edit_refuses_bad_values_and_nothing_changed(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, assignee="bob", due="fri")
    before = await row(sandbox, task_id)
    for values, message in (
        ({}, "Nothing changed"),
        ({"due": "2026-11-30"}, "in the past"),
        ({"due": "someday"}, "not a date I understand"),
        ({"priority": "asap"}, "not a priority"),
        ({"repeat": "hourly"}, "not a repeat rule"),
        ({"title": "   "}, "Give the task a title"),
        ({"due": "", "repeat": "daily"}, "needs a due date"),
    ):
        modal = (await sandbox.slash("alice", "task edit", task=str(task_id))).modal
        assert modal is not None
        reply = await sandbox.submit("alice", modal, **values)
        assert reply.ephemeral and message in reply.text, (values, reply.text)
    assert await row(sandbox, task_id) == before


async def test_comment_dms_the_assignee_and_creator(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="alice", assignee="bob")
    reply = await sandbox.slash("carol", "task comment", task=str(task_id), text="Need help?")
    assert reply.ephemeral and f"Comment added to task #{task_id}" in reply.text
    assert (
        "commented on task" in sandbox.dms("bob")[-1].text
        and "Need help?" in sandbox.dms("alice")[-1].text
    )
    blank = await sandbox.slash("carol", "task comment", task=str(task_id), text="   ")
    assert blank.ephemeral and "cannot be empty" in blank.text


async def test_cancel_needs_the_creator_or_a_manager(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, by="carol", assignee="bob")
    refused = await sandbox.slash("bob", "task cancel", task=str(task_id))
    assert refused.ephemeral and "Only the creator or a manager can cancel" in refused.text
    reply = await sandbox.slash(
        "carol", "task cancel", task=str(task_id), reason="Printer replaced"
    )
    assert "is now **Cancelled**" in reply.content
    message = card(sandbox, task_id)
    assert "Cancelled" in fields(message)["Status"] and labels(message) == ["Reopen"]
    event = await sandbox.db.fetchone(
        "SELECT note FROM task_events WHERE task_id = ? ORDER BY id DESC", (task_id,)
    )
    assert event is not None and event["note"] == "Printer replaced"


# -- boards -----------------------------------------------------------------------------------
def board_messages(sandbox: Sandbox, channel: str = "tasks") -> list[Message]:
    return [
        m
        for m in sandbox.messages(channel)
        if m.embeds and m.embeds[0].get("title", "").startswith("Task board")
    ]


async def test_board_is_posted_and_edited_in_place(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    reply = await sandbox.slash("alice", "task board", _channel="general")
    assert reply.ephemeral and "Board posted" in reply.text
    board = board_messages(sandbox, "general")
    assert len(board) == 1 and "Nothing to show" in board[0].embeds[0]["description"]
    task_id = await create(sandbox, assignee="bob", title="Fix the printer")
    text = board[0].embeds[0]["description"]
    assert (
        board[0].edited
        and f"`#{task_id}` Fix the printer" in text
        and text.startswith("**Open** (1)")
    )
    await sandbox.click("bob", card(sandbox, task_id), "Start")
    assert board[0].embeds[0]["description"].startswith("**In progress** (1)")
    await sandbox.click("bob", card(sandbox, task_id), "Done")
    assert board[0].embeds[0]["description"].startswith("**Done today** (1)")
    assert len(board_messages(sandbox, "general")) == 1  # edited, never re-posted


async def test_board_sections_and_groups(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    sandbox.clock.set(START - timedelta(days=3))
    late = await create(sandbox, assignee="carol", title="Late report", due="2026-11-29")
    sandbox.clock.set(START)
    blocked = await create(sandbox, assignee="bob", title="Waiting on IT")
    await sandbox.slash("bob", "task status", task=str(blocked), status="in_progress")
    await sandbox.slash(
        "bob", "task status", task=str(blocked), status="blocked", note="Waiting for IT"
    )
    free = await create(sandbox, title="Anyone")
    await sandbox.slash("alice", "task board", _channel="tasks")
    text = board_messages(sandbox)[0].embeds[0]["description"]
    order = [text.index(h) for h in ("**Overdue** (1)", "**Blocked** (1)", "**Open** (1)")]
    assert order == sorted(order)
    assert f"<@{sandbox.member('carol').id}>\n`#{late}` Late report" in text
    assert f"*Unassigned*\n`#{free}` Anyone" in text


async def test_running_board_again_moves_it_to_the_bottom(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "task board", _channel="tasks")
    first = board_messages(sandbox)[0]
    await create(sandbox, title="Something")  # its card goes below the board
    await sandbox.slash("alice", "task board", _channel="tasks")
    assert first.deleted
    boards = board_messages(sandbox)
    assert len(boards) == 1 and sandbox.last_message("tasks").id == boards[0].id
    stored = await sandbox.db.fetchall("SELECT * FROM task_boards")
    assert len(stored) == 1


async def test_a_300_task_board_pages_within_limits_and_updates(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    ids = await seed(
        sandbox,
        300,
        title="A fairly long task title that takes up room on the board " * 3,
        due_date=date(2026, 12, 24),
    )
    await sandbox.slash("alice", "task board", _channel="tasks")
    pages = board_messages(sandbox)
    assert 1 < len(pages) <= 10
    assert all(
        len(p.embeds[0]["description"]) <= 4096 for p in pages
    )  # the emulator checks all limits
    assert sum(p.embeds[0]["description"].count("`#") for p in pages) == 300
    await sandbox.slash("alice", "task status", task=str(ids[0]), status="done")
    text = "".join(p.embeds[0]["description"] for p in pages)
    assert "**Done today** (1)" in text and "**Open** (299)" in text
    assert len(board_messages(sandbox)) == len(pages)


async def test_board_edits_are_coalesced(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    keeper = cog(sandbox).boards
    await sandbox.slash("alice", "task board", _channel="tasks")
    ids = await seed(sandbox, 5)
    keeper.delay = 5.0
    waited: list[float] = []
    gate = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        waited.append(seconds)
        await gate.wait()

    keeper.sleep = held_sleep
    edits_before = keeper.edits
    tasks = cog(sandbox)

    async def burst() -> None:
        for task_id in ids:  # five changes in quick succession
            change = await tasks.tasks_store.set_status(
                sandbox.guild.id,
                task_id,
                Actor(sandbox.member("bob").id),
                "in_progress",
                sandbox.clock.now(),
            )
            await tasks.cards.publish(change.task)
        assert keeper.edits == edits_before  # nothing edited while the delay runs
        gate.set()

    await sandbox.run(burst())
    assert waited == [5.0] and keeper.edits == edits_before + 1
    assert "**In progress** (5)" in board_messages(sandbox)[0].embeds[0]["description"]


async def test_a_deleted_board_is_forgotten(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    await sandbox.slash("alice", "task board", _channel="tasks")
    board = board_messages(sandbox)[0]
    sandbox.emulator.world.messages[board.id].deleted = True
    with sandbox.expect_errors() as problems:  # Discord answers 404 to the edit
        await create(sandbox, title="After the board")
    assert any("404" in r.describe() or "10008" in r.describe() for r in problems.requests)
    assert await sandbox.db.fetchall("SELECT * FROM task_boards") == []


# -- the context menu ---------------------------------------------------------------------------
async def test_create_task_from_a_message(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    message = await sandbox.post(
        "bob", "general", "Printer on floor 2 is broken\nIt jams on every page."
    )
    reply = await sandbox.context_menu("alice", "Create task", message)
    modal = reply.modal
    assert modal is not None and modal.title == "New task"
    prefilled = {f.custom_id: f.value for f in modal.fields}
    assert prefilled["title"] == "Printer on floor 2 is broken"
    assert prefilled["description"] == "Printer on floor 2 is broken\nIt jams on every page."
    created = await sandbox.submit("alice", modal, due="tomorrow", priority="high")
    assert created.ephemeral and "Created task #1" in created.text
    task_card = card(sandbox, 1)
    link = fields(task_card)["From message"]
    assert f"/{sandbox.channel('general').id}/{message.id}" in link
    saved = await row(sandbox, 1)
    assert saved["source_url"] and str(message.id) in str(saved["source_url"])
    assert (saved["priority"], saved["due_date"], saved["assignee_id"]) == (
        "high",
        "2026-12-02",
        None,
    )


async def test_create_task_from_a_message_with_bad_input(sandbox: Sandbox) -> None:
    message = await sandbox.post("bob", "general", "Order toner")
    modal = (await sandbox.context_menu("carol", "Create task", message)).modal
    assert modal is not None
    reply = await sandbox.submit("carol", modal, due="yesterday")
    assert reply.ephemeral and "in the past" in reply.text
    assert await sandbox.db.fetchone("SELECT id FROM tasks") is None


# -- autocomplete ---------------------------------------------------------------------------------
async def test_autocomplete_puts_your_tasks_first(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    others = await create(sandbox, by="alice", assignee="carol", title="Printer paper")
    mine = await create(sandbox, by="alice", assignee="bob", title="Fix the printer")
    own = await create(sandbox, by="bob", title="Printer manual")
    choices = await sandbox.autocomplete("bob", "task show", "task", "printer")
    assert [value for _, value in choices] == [str(own), str(mine), str(others)]
    assert choices[1][0] == f"#{mine} Fix the printer"
    assert [
        v for _, v in await sandbox.autocomplete("bob", "task status", "task", f"#{others}")
    ] == [str(others)]
    assert await sandbox.autocomplete("bob", "task claim", "task", "zebra") == []
    for command in ("show", "assign", "claim", "status", "edit", "comment", "cancel"):
        assert await sandbox.autocomplete("bob", f"task {command}", "task", "fix") == [
            (f"#{mine} Fix the printer", str(mine))
        ]


async def test_autocomplete_offers_at_most_25(sandbox: Sandbox) -> None:
    await seed(sandbox, 40)
    choices = await sandbox.autocomplete("bob", "task show", "task", "seeded")
    assert len(choices) == 25 and all(len(name) <= 100 for name, _ in choices)


# -- reminders ----------------------------------------------------------------------------------
def due_soon_dms(sandbox: Sandbox, member: str) -> list[Message]:
    return [m for m in sandbox.dms(member) if "is due soon" in m.content]


def overdue_dms(sandbox: Sandbox, member: str) -> list[Message]:
    return [
        m
        for m in sandbox.dms(member)
        if m.embeds and "overdue task" in m.embeds[0].get("title", "")
    ]


async def scheduler_pass(sandbox: Sandbox, when: datetime) -> None:
    sandbox.clock.set(when)
    await sandbox.run(sandbox.bot.run_scheduled())


async def test_due_soon_reminder_exactly_once_across_restarts(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    first = await create(sandbox, assignee="bob", due="thu 10:00")  # 3 Dec 10:00 GMT
    await create(sandbox, assignee="bob", due="thu 11:00")
    await create(sandbox, assignee="carol", due="2026-12-20")  # far away: no reminder
    await scheduler_pass(sandbox, datetime(2026, 12, 2, 9, 59, tzinfo=UTC))
    assert due_soon_dms(sandbox, "bob") == []
    await scheduler_pass(sandbox, datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
    reminders = due_soon_dms(sandbox, "bob")
    assert len(reminders) == 1 and reminders[0].embeds[0]["title"].startswith(f"#{first} ")
    assert labels(reminders[0]) == ["Start", "Done"]
    await scheduler_pass(sandbox, datetime(2026, 12, 2, 10, 0, 30, tzinfo=UTC))
    await sandbox.restart()  # a restart right at the moment it was due
    await scheduler_pass(sandbox, datetime(2026, 12, 2, 10, 1, tzinfo=UTC))
    assert len(due_soon_dms(sandbox, "bob")) == 1
    # Down from 10:30 to 11:30: the 11:00 reminder goes out when the bot is back, once.
    await sandbox.restart()
    await scheduler_pass(sandbox, datetime(2026, 12, 2, 11, 30, tzinfo=UTC))
    await scheduler_pass(sandbox, datetime(2026, 12, 2, 11, 31, tzinfo=UTC))
    assert len(due_soon_dms(sandbox, "bob")) == 2 and due_soon_dms(sandbox, "carol") == []
    # Done tasks are not reminded; a reminder card follows later changes like the others.
    await sandbox.click("bob", reminders[0], "Done")
    assert labels(card(sandbox, first)) == ["Reopen"]


async def test_overdue_dms_daily_and_one_escalation_across_a_dst_change(sandbox: Sandbox) -> None:
    # Europe/London, digest 09:00; BST starts on Sunday 28 Mar 2027. A seven-day office, as
    # overdue reminders go out on working days only.
    await sandbox.configure_office(workdays="mon-sun")
    sandbox.clock.set(datetime(2027, 3, 20, 12, 0, tzinfo=UTC))
    overdue = await create(
        sandbox, by="alice", assignee="bob", title="Quarterly VAT", due="2027-03-26"
    )
    across = await create(
        sandbox, by="alice", assignee="carol", title="Clocks change", due="2027-03-28 10:00"
    )

    # Due soon across the change: 24 real hours before 10:00 BST (09:00 UTC) is 09:00 GMT.
    await scheduler_pass(sandbox, datetime(2027, 3, 27, 8, 59, tzinfo=UTC))
    assert due_soon_dms(sandbox, "carol") == [] and overdue_dms(sandbox, "bob") == []
    await scheduler_pass(sandbox, datetime(2027, 3, 27, 9, 0, tzinfo=UTC))
    assert len(due_soon_dms(sandbox, "carol")) == 1
    assert len(overdue_dms(sandbox, "bob")) == 1  # Saturday 09:00 GMT: one day past due
    assert f"`#{overdue}` Quarterly VAT" in overdue_dms(sandbox, "bob")[0].embeds[0]["description"]
    await scheduler_pass(sandbox, datetime(2027, 3, 27, 9, 5, tzinfo=UTC))
    assert len(overdue_dms(sandbox, "bob")) == 1

    # Sunday: 09:00 BST is 08:00 UTC.
    await scheduler_pass(sandbox, datetime(2027, 3, 28, 7, 59, tzinfo=UTC))
    assert len(overdue_dms(sandbox, "bob")) == 1
    await scheduler_pass(sandbox, datetime(2027, 3, 28, 8, 0, tzinfo=UTC))
    assert len(overdue_dms(sandbox, "bob")) == 2
    escalations = [m for m in sandbox.messages("tasks") if m.content.startswith("⚠️")]
    assert len(escalations) == 1
    assert (
        mention(sandbox, "bob") in escalations[0].content
        and mention(sandbox, "alice") in escalations[0].content
    )
    assert (
        "overdue by 1 day (due" in escalations[0].content
        and str(card(sandbox, overdue).id) in escalations[0].content
    )
    await sandbox.restart()
    await scheduler_pass(sandbox, datetime(2027, 3, 28, 8, 1, tzinfo=UTC))
    # Monday: one more DM (now listing both), no second escalation.
    await scheduler_pass(sandbox, datetime(2027, 3, 29, 8, 0, tzinfo=UTC))
    assert len(overdue_dms(sandbox, "bob")) == 3
    assert (
        len(overdue_dms(sandbox, "carol")) == 1
        and f"`#{across}`" in overdue_dms(sandbox, "carol")[0].embeds[0]["description"]
    )
    assert len([m for m in sandbox.messages("tasks") if m.content.startswith("⚠️")]) == 1
    # Once done, the reminders stop.
    await sandbox.slash("bob", "task status", task=str(overdue), status="done")
    await scheduler_pass(sandbox, datetime(2027, 3, 30, 8, 0, tzinfo=UTC))
    assert len(overdue_dms(sandbox, "bob")) == 3


async def test_closed_dms_are_logged_and_nothing_fails(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    await sandbox.configure_office()
    sandbox.member("bob").accepts_dms = False
    with (
        caplog.at_level("INFO", logger="concord.cogs.tasks"),
        sandbox.expect_errors() as problems,
    ):
        task_id = await create(sandbox, assignee="bob")
    assert any("50007" in r.describe() or "403" in r.describe() for r in problems.requests)
    assert "DMs closed" in caplog.text
    assert sandbox.dms("bob") == [] and card(sandbox, task_id) is not None


# -- bad input, option by option ------------------------------------------------------------------
async def test_bad_input_for_create(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    cases: list[tuple[dict[str, object], str]] = [
        ({"title": "   "}, "Give the task a title"),
        ({"due": "someday"}, "not a date I understand"),
        ({"due": "yesterday"}, "in the past"),
        ({"due": "08:00"}, "in the past"),
        ({"due": "31 Feb 2027"}, "not a real date"),
        ({"due": "fri 25:00"}, "is not a time"),
        ({"repeat": "daily"}, "needs a due date"),
        ({"description": "   "}, ""),  # blank description: accepted, stored empty
    ]
    for options, message in cases:
        reply = await sandbox.slash("bob", "task create", **{"title": "Valid", **options})
        assert reply.ephemeral and message in reply.text, (options, reply.text)
    count = await sandbox.db.fetchone("SELECT count(*) AS n FROM tasks")
    assert count is not None and count["n"] == 1
    bot_user = sandbox.emulator.bot_user
    refused = await sandbox.slash("alice", "task create", title="For the bot", assignee=bot_user)
    assert refused.ephemeral and "can't be assigned to bots" in refused.text
    # Discord itself refuses what the command definition rules out.
    for options in (
        {"title": "x" * 201},
        {"description": "d" * 2001},
        {"priority": "asap"},
        {"repeat": "hourly"},
    ):
        with pytest.raises(UsageError):
            await sandbox.slash("bob", "task create", **{"title": "Valid", **options})


async def test_bad_task_references_for_every_command(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    extra: dict[str, dict[str, object]] = {
        "assign": {"member": "carol"},
        "status": {"status": "done"},
        "comment": {"text": "Hello"},
    }
    for command in ("show", "assign", "claim", "status", "edit", "comment", "cancel"):
        for value, message in (("printer", "No task matches"), ("#999", "There is no task #999")):
            reply = await sandbox.slash(
                "alice", f"task {command}", task=value, **extra.get(command, {})
            )
            assert reply.ephemeral and message in reply.text, (command, value, reply.text)


async def test_bad_input_for_the_other_options(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, assignee="bob")
    bot_user = sandbox.emulator.bot_user
    refused = await sandbox.slash("alice", "task assign", task=str(task_id), member=bot_user)
    assert refused.ephemeral and "can't be assigned to bots" in refused.text
    for command, options in (
        ("task status", {"task": str(task_id), "status": "done", "note": "n" * 501}),
        ("task status", {"task": str(task_id), "status": "finished"}),
        ("task cancel", {"task": str(task_id), "reason": "r" * 501}),
        ("task comment", {"task": str(task_id), "text": "c" * 1001}),
        ("task list", {"query": "q" * 101}),
        ("task list", {"status": "someday"}),
    ):
        with pytest.raises(UsageError):
            await sandbox.slash("alice", command, **options)
    empty = await sandbox.slash("alice", "task list", member="dave")
    assert empty.embeds[0]["description"] == "No tasks match."
    assert (await row(sandbox, task_id))["status"] == "open"


async def test_boards_catch_up_after_a_restart_and_at_the_digest(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    task_id = await create(sandbox, assignee="bob", due="tomorrow")
    await sandbox.slash("alice", "task board", _channel="tasks")
    board = board_messages(sandbox)[0]
    assert board.embeds[0]["description"].startswith("**Open** (1)")
    # Two days later nobody touched the task; the morning digest run moves it to Overdue.
    await scheduler_pass(sandbox, datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    assert board.embeds[0]["description"].startswith("**Overdue** (1)")
    # A change made while the bot was down shows once it is back.
    await sandbox.restart()
    change = await cog(sandbox).tasks_store.set_status(
        sandbox.guild.id, task_id, Actor(sandbox.member("bob").id), "done", sandbox.clock.now()
    )
    assert change.task.status == "done"
    await sandbox.restart()  # the refresh starts when the bot is ready
    await sandbox.run(cog(sandbox).boards.wait_idle())
    assert board.embeds[0]["description"].startswith("**Done today** (1)")
