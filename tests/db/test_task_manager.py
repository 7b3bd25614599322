"""TaskManager against a real SQLite file: every rule and transition, permissions, recurrence,
concurrency, queries, the DAR/Leave interface, cards and boards."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta

import pytest

from concord.core.tasks import Actor, TaskChanges, TaskDraft, make_draft
from concord.db.database import Database
from concord.db.guilds import GuildSettings
from concord.db.tasks import TaskManager
from concord.errors import NotFound, PermissionDenied, UserError

GUILD = 1000
OTHER_GUILD = 2000
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday
CREATOR = Actor(1)
ASSIGNEE = Actor(2)
MANAGER = Actor(3, is_manager=True)
STRANGER = Actor(4)


@pytest.fixture
def tasks(db: Database) -> TaskManager:
    return TaskManager(db)


async def new_task(tasks: TaskManager, actor: Actor = CREATOR, **fields: object) -> int:
    values: dict[str, object] = {"title": "Fix the printer", "assignee_id": ASSIGNEE.user_id}
    values.update(fields)
    task = await tasks.create(GUILD, actor, TaskDraft(**values), NOW)  # type: ignore[arg-type]
    return task.id


async def audit_actions(db: Database, task_id: int) -> list[str]:
    rows = await db.fetchall(
        "SELECT action FROM audit_log WHERE subject = ? ORDER BY id", (f"task:{task_id}",)
    )
    return [r["action"] for r in rows]


# -- create -----------------------------------------------------------------------------------
async def test_create_records_task_history_and_audit(tasks: TaskManager, db: Database) -> None:
    draft = make_draft(
        title="Quarterly report",
        description="Numbers",
        priority="high",
        due="fri 17:00",
        assignee_id=ASSIGNEE.user_id,
        now=NOW,
        tz=UTC,  # type: ignore[arg-type]
    )
    task = await tasks.create(GUILD, CREATOR, draft, NOW)
    assert (task.title, task.status, task.priority, task.assignee_id) == (
        "Quarterly report",
        "open",
        "high",
        2,
    )
    assert (task.due_date, task.due_time) == (date(2026, 12, 4), time(17, 0))
    assert task.created_at == NOW and task.completed_at is None
    history = await tasks.history(task.id)
    assert [(e.kind, e.from_value, e.to_value) for e in history] == [
        ("created", None, "open"),
        ("assigned", None, "2"),
    ]
    assert await audit_actions(db, task.id) == ["task.create"]


async def test_create_refuses_a_past_due_and_bad_fields(tasks: TaskManager, db: Database) -> None:
    with pytest.raises(UserError, match="in the past"):
        await tasks.create(GUILD, CREATOR, TaskDraft(title="x", due_date=date(2026, 11, 30)), NOW)
    with pytest.raises(UserError, match="at most 200"):
        await tasks.create(GUILD, CREATOR, TaskDraft(title="x" * 201), NOW)
    with pytest.raises(UserError, match="needs a due date"):
        await tasks.create(GUILD, CREATOR, TaskDraft(title="x", repeat="daily"), NOW)
    assert (await db.fetchone("SELECT count(*) AS n FROM tasks"))["n"] == 0


async def test_tasks_are_scoped_to_their_guild(tasks: TaskManager) -> None:
    task_id = await new_task(tasks)
    with pytest.raises(NotFound):
        await tasks.get(task_id, OTHER_GUILD)
    with pytest.raises(NotFound):
        await tasks.set_status(OTHER_GUILD, task_id, MANAGER, "done", NOW)
    assert (await tasks.get(task_id)).guild_id == GUILD
    # Words of one task's title name it, in its own guild only.
    assert (await tasks.resolve(GUILD, "printer")).id == task_id
    with pytest.raises(UserError, match="No task matches `printer`"):
        await tasks.resolve(OTHER_GUILD, "printer")
    assert (await tasks.resolve(GUILD, f"#{task_id} Fix the printer")).id == task_id


# -- transitions ------------------------------------------------------------------------------
async def test_status_flow_with_history_notes_and_completion_time(
    tasks: TaskManager, db: Database
) -> None:
    task_id = await new_task(tasks)
    steps = [
        ("in_progress", None),
        ("blocked", "Waiting for toner"),
        ("in_progress", None),
        ("done", "Fixed"),
    ]
    for i, (status, note) in enumerate(steps):
        change = await tasks.set_status(
            GUILD, task_id, ASSIGNEE, status, NOW + timedelta(minutes=i), note
        )
        assert change.task.status == status
    task = await tasks.get(task_id)
    assert task.completed_at == NOW + timedelta(minutes=3)
    events = [e for e in await tasks.history(task_id) if e.kind == "status"]
    assert [(e.from_value, e.to_value, e.note) for e in events] == [
        ("open", "in_progress", None),
        ("in_progress", "blocked", "Waiting for toner"),
        ("blocked", "in_progress", None),
        ("in_progress", "done", "Fixed"),
    ]
    reopened = await tasks.set_status(GUILD, task_id, ASSIGNEE, "open", NOW + timedelta(hours=1))
    assert reopened.task.completed_at is None and reopened.previous_status == "done"
    assert (await audit_actions(db, task_id)).count("task.status") == 5


async def test_refused_transitions_change_nothing(tasks: TaskManager) -> None:
    task_id = await new_task(tasks)
    with pytest.raises(UserError, match="can only become"):
        await tasks.set_status(GUILD, task_id, ASSIGNEE, "blocked", NOW)
    with pytest.raises(UserError, match="already open"):
        await tasks.set_status(GUILD, task_id, ASSIGNEE, "open", NOW)
    with pytest.raises(UserError, match="not a status"):
        await tasks.set_status(GUILD, task_id, ASSIGNEE, "finished", NOW)
    with pytest.raises(UserError, match="500"):
        await tasks.set_status(GUILD, task_id, ASSIGNEE, "done", NOW, "n" * 501)
    assert (await tasks.get(task_id)).status == "open"
    assert [e.kind for e in await tasks.history(task_id)] == ["created", "assigned"]


async def test_cancel_with_reason(tasks: TaskManager) -> None:
    task_id = await new_task(tasks)
    change = await tasks.cancel(GUILD, task_id, CREATOR, NOW, "Not needed")
    assert change.task.status == "cancelled" and change.task.completed_at is None
    assert (await tasks.history(task_id))[-1].note == "Not needed"


# -- permission matrix ------------------------------------------------------------------------
ACTORS = {"creator": CREATOR, "assignee": ASSIGNEE, "manager": MANAGER, "stranger": STRANGER}
# action → who may do it (on a task created by CREATOR, assigned to ASSIGNEE)
MATRIX: dict[str, set[str]] = {
    "start": {"creator", "assignee", "manager"},
    "done": {"creator", "assignee", "manager"},
    "cancel": {"creator", "manager"},
    "edit": {"creator", "manager"},
    "reassign": {"creator", "manager"},
    "comment": {"creator", "assignee", "manager", "stranger"},
    "reopen": {"creator", "assignee", "manager"},
}


async def perform(tasks: TaskManager, action: str, actor: Actor, task_id: int) -> None:
    if action == "start":
        await tasks.set_status(GUILD, task_id, actor, "in_progress", NOW)
    elif action == "done":
        await tasks.set_status(GUILD, task_id, actor, "done", NOW)
    elif action == "cancel":
        await tasks.cancel(GUILD, task_id, actor, NOW)
    elif action == "edit":
        await tasks.edit(GUILD, task_id, actor, TaskChanges(title="Renamed"), NOW)
    elif action == "reassign":
        await tasks.assign(GUILD, task_id, actor, 99, NOW)
    elif action == "comment":
        await tasks.comment(GUILD, task_id, actor, "Looks good", NOW)
    elif action == "reopen":
        await tasks.set_status(GUILD, task_id, actor, "open", NOW)


@pytest.mark.parametrize("action", MATRIX)
@pytest.mark.parametrize("who", ACTORS)
async def test_permission_matrix(tasks: TaskManager, db: Database, action: str, who: str) -> None:
    task_id = await new_task(tasks)
    if action == "reopen":
        await tasks.set_status(GUILD, task_id, MANAGER, "done", NOW)
    before = (await tasks.get(task_id), len(await tasks.history(task_id)))
    if who in MATRIX[action]:
        await perform(tasks, action, ACTORS[who], task_id)
        assert (await tasks.get(task_id)) != before[0] or action == "comment"
    else:
        with pytest.raises(PermissionDenied):
            await perform(tasks, action, ACTORS[who], task_id)
        assert (await tasks.get(task_id), len(await tasks.history(task_id))) == before


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("setting", ["anyone", "managers"])
async def test_assigning_to_others_follows_the_setting(
    db: Database, tasks: TaskManager, who: str, setting: str
) -> None:
    await GuildSettings(db).update(GUILD, MANAGER.user_id, {"task_assign": setting})
    actor = ACTORS[who]
    # For themselves: always.
    mine = await tasks.create(GUILD, actor, TaskDraft(title="Mine", assignee_id=actor.user_id), NOW)
    assert mine.assignee_id == actor.user_id
    unassigned = await tasks.create(GUILD, actor, TaskDraft(title="Anyone"), NOW)
    assert unassigned.assignee_id is None
    allowed = setting == "anyone" or actor.is_manager
    if allowed:
        await tasks.create(GUILD, actor, TaskDraft(title="Yours", assignee_id=77), NOW)
        await tasks.assign(GUILD, mine.id, actor, 77, NOW)  # they created it: may reassign
    else:
        with pytest.raises(PermissionDenied, match="only managers"):
            await tasks.create(GUILD, actor, TaskDraft(title="Yours", assignee_id=77), NOW)
        with pytest.raises(PermissionDenied, match="only managers"):
            await tasks.assign(GUILD, mine.id, actor, 77, NOW)


@pytest.mark.parametrize("who", ACTORS)
async def test_claim_matrix(tasks: TaskManager, who: str) -> None:
    unassigned = await new_task(tasks, assignee_id=None)
    claimed = await tasks.claim(GUILD, unassigned, ACTORS[who], NOW)
    assert claimed.assignee_id == ACTORS[who].user_id
    assert (await tasks.history(unassigned))[-1].note == "claimed"
    assigned = await new_task(tasks)
    error = UserError if who == "assignee" else PermissionDenied
    with pytest.raises(error):
        await tasks.claim(GUILD, assigned, ACTORS[who], NOW)


async def test_two_claims_at_once_one_wins(tasks: TaskManager) -> None:
    task_id = await new_task(tasks, assignee_id=None)
    results = await asyncio.gather(
        *(tasks.claim(GUILD, task_id, Actor(500 + i), NOW) for i in range(10)),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, PermissionDenied) for r in results if isinstance(r, BaseException))
    assert (await tasks.get(task_id)).assignee_id == winners[0].assignee_id


# -- edit and comments ------------------------------------------------------------------------
async def test_edit_changes_fields_and_keeps_a_history(tasks: TaskManager, db: Database) -> None:
    task_id = await new_task(tasks, due_date=date(2026, 12, 4), due_time=time(17, 0))
    changes = TaskChanges(
        title="New title",
        priority="urgent",
        set_due=True,
        due_date=date(2026, 12, 31),
        due_time=None,
    )
    task = await tasks.edit(GUILD, task_id, CREATOR, changes, NOW)
    assert (task.title, task.priority, task.due_date, task.due_time) == (
        "New title",
        "urgent",
        date(2026, 12, 31),
        None,
    )
    event = (await tasks.history(task_id))[-1]
    assert event.kind == "edited"
    assert json.loads(event.from_value or "")["title"] == "Fix the printer"
    assert json.loads(event.to_value or "")["due"] == ["2026-12-31", None]
    with pytest.raises(UserError, match="Nothing changed"):
        await tasks.edit(GUILD, task_id, CREATOR, TaskChanges(), NOW)
    with pytest.raises(UserError, match="needs a due date"):
        await tasks.edit(GUILD, task_id, CREATOR, TaskChanges(repeat="daily", set_due=True), NOW)
    assert "task.edit" in await audit_actions(db, task_id)


async def test_comments(tasks: TaskManager) -> None:
    task_id = await new_task(tasks)
    await tasks.comment(GUILD, task_id, STRANGER, "  First  ", NOW)
    await tasks.comment(GUILD, task_id, ASSIGNEE, "Second", NOW + timedelta(minutes=1))
    comments = await tasks.comments(task_id)
    assert [(c.author_id, c.body) for c in comments] == [(4, "First"), (2, "Second")]
    with pytest.raises(UserError, match="empty"):
        await tasks.comment(GUILD, task_id, STRANGER, " ", NOW)


# -- recurrence -------------------------------------------------------------------------------
async def test_completing_a_repeating_task_creates_the_next_once(
    tasks: TaskManager, db: Database
) -> None:
    task_id = await new_task(
        tasks, due_date=date(2026, 12, 31), due_time=time(10, 0), repeat="monthly", priority="high"
    )
    change = await tasks.set_status(GUILD, task_id, ASSIGNEE, "done", NOW)
    nxt = change.next_occurrence
    assert nxt is not None
    assert (nxt.due_date, nxt.due_time, nxt.repeat, nxt.priority) == (
        date(2027, 1, 31),
        time(10, 0),
        "monthly",
        "high",
    )
    assert (nxt.assignee_id, nxt.creator_id, nxt.previous_id, nxt.series_id) == (
        2,
        1,
        task_id,
        task_id,
    )
    assert (await tasks.get(task_id)).next_id == nxt.id
    # Reopen and complete again: no second next occurrence.
    await tasks.set_status(GUILD, task_id, ASSIGNEE, "open", NOW)
    again = await tasks.set_status(GUILD, task_id, ASSIGNEE, "done", NOW)
    assert again.next_occurrence is None
    # The series continues from the new occurrence, keeping its anchor day through February.
    feb = (await tasks.set_status(GUILD, nxt.id, ASSIGNEE, "done", NOW)).next_occurrence
    assert feb is not None and feb.due_date == date(2027, 2, 28) and feb.series_id == task_id
    mar = (await tasks.set_status(GUILD, feb.id, ASSIGNEE, "done", NOW)).next_occurrence
    assert mar is not None and mar.due_date == date(2027, 3, 31)
    assert (await db.fetchone("SELECT count(*) AS n FROM tasks"))["n"] == 4


async def test_cancelling_a_repeating_task_ends_the_series(tasks: TaskManager) -> None:
    task_id = await new_task(tasks, due_date=date(2026, 12, 2), repeat="daily")
    change = await tasks.cancel(GUILD, task_id, CREATOR, NOW)
    assert change.next_occurrence is None


async def test_weekdays_series_skips_weekend_and_holidays(db: Database) -> None:
    calls: list[tuple[int, date, date]] = []

    def holidays(
        conn: sqlite3.Connection, guild_id: int, first: date, last: date
    ) -> Collection[date]:
        calls.append((guild_id, first, last))
        return {date(2026, 12, 7)}  # Monday

    manager = TaskManager(db, holidays=holidays)
    friday = date(2026, 12, 4)
    task = await manager.create(
        GUILD, CREATOR, TaskDraft(title="Standup notes", due_date=friday, repeat="weekdays"), NOW
    )
    nxt = (await manager.set_status(GUILD, task.id, CREATOR, "done", NOW)).next_occurrence
    assert nxt is not None and nxt.due_date == date(2026, 12, 8)
    assert calls and calls[0][0] == GUILD


async def test_weekdays_series_skips_the_holidays_leave_keeps(
    db: Database, tasks: TaskManager
) -> None:
    from concord.db.leave import LeaveManager

    await LeaveManager(db).add_holiday(
        GUILD, date(2026, 12, 7), "Office closed", actor=Actor(3, True), now=NOW
    )
    friday = await new_task(tasks, due_date=date(2026, 12, 4), repeat="weekdays")
    nxt = (await tasks.set_status(GUILD, friday, ASSIGNEE, "done", NOW)).next_occurrence
    assert nxt is not None and nxt.due_date == date(2026, 12, 8)  # not Monday the 7th


async def test_weekdays_series_follows_the_guild_workdays(db: Database, tasks: TaskManager) -> None:
    from concord.core.schedule import parse_workdays

    await GuildSettings(db).update(GUILD, MANAGER.user_id, {"workdays": parse_workdays("sun-thu")})
    task_id = await new_task(tasks, due_date=date(2026, 12, 3), repeat="weekdays")  # Thursday
    nxt = (await tasks.set_status(GUILD, task_id, ASSIGNEE, "done", NOW)).next_occurrence
    assert nxt is not None and nxt.due_date == date(2026, 12, 6)  # Sunday


async def test_twenty_concurrent_done_clicks_complete_once(
    tasks: TaskManager, db: Database
) -> None:
    task_id = await new_task(tasks, due_date=date(2026, 12, 2), repeat="daily")
    results = await asyncio.gather(
        *(tasks.set_status(GUILD, task_id, ASSIGNEE, "done", NOW) for _ in range(20)),
        return_exceptions=True,
    )
    successes = [r for r in results if not isinstance(r, BaseException)]
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(successes) == 1 and len(failures) == 19
    assert all(isinstance(f, UserError) and "already done" in str(f) for f in failures)
    assert (await db.fetchone("SELECT count(*) AS n FROM tasks WHERE previous_id = ?", (task_id,)))[
        "n"
    ] == 1
    status_events = [e for e in await tasks.history(task_id) if e.kind == "status"]
    assert len(status_events) == 1


# -- queries ----------------------------------------------------------------------------------
async def test_list_mine_and_search(tasks: TaskManager) -> None:
    overdue = await tasks.create(
        GUILD,
        CREATOR,
        TaskDraft(title="Old", assignee_id=2, due_date=date(2026, 12, 1)),
        NOW - timedelta(days=3),
    )
    soon = await new_task(
        tasks,
        title="Printer toner",
        due_date=date(2026, 12, 2),
        description="Order from the supplier",
    )
    later = await new_task(tasks, title="Budget", due_date=date(2026, 12, 20), priority="urgent")
    nodue = await new_task(tasks, title="Clean desk", assignee_id=5)
    done = await new_task(tasks, title="Done printer")
    await tasks.set_status(GUILD, done, ASSIGNEE, "done", NOW)
    later_now = NOW + timedelta(days=1)  # 2 Dec: "Old" (due 1 Dec) is overdue now
    assert [t.id for t in await tasks.list_tasks(GUILD, later_now)] == [
        overdue.id,
        soon,
        later,
        nodue,
    ]
    assert [t.id for t in await tasks.mine(GUILD, 2, later_now)] == [overdue.id, soon, later]
    assert [t.id for t in await tasks.list_tasks(GUILD, NOW, query="PRINTER")] == [soon]
    assert [t.id for t in await tasks.list_tasks(GUILD, NOW, query="supplier order")] == [soon]
    assert [
        t.id for t in await tasks.list_tasks(GUILD, NOW, statuses={"done"}, query="printer")
    ] == [done]
    assert (
        len(
            await tasks.list_tasks(
                GUILD, NOW, statuses={"open", "done", "cancelled", "in_progress", "blocked"}
            )
        )
        == 5
    )
    assert await tasks.list_tasks(GUILD, NOW, query="nothing-matches") == []
    with pytest.raises(UserError):
        await tasks.list_tasks(GUILD, NOW, statuses={"weird"})
    assert await tasks.list_tasks(OTHER_GUILD, NOW) == []


async def test_autocomplete_ranks_own_live_tasks_first(tasks: TaskManager) -> None:
    others = await new_task(tasks, title="Printer for others", assignee_id=5, actor=MANAGER)
    mine = await new_task(tasks, title="Fix printer", assignee_id=2)
    closed = await new_task(tasks, title="Printer done", assignee_id=2)
    await tasks.set_status(GUILD, closed, ASSIGNEE, "done", NOW)
    found = [t.id for t in await tasks.autocomplete(GUILD, 2, "printer")]
    assert found == [mine, others, closed]
    assert [t.id for t in await tasks.autocomplete(GUILD, 2, f"#{others}")] == [others]
    assert [t.id for t in await tasks.autocomplete(GUILD, 2, f"#{mine} Fix printer")] == [mine]
    assert await tasks.autocomplete(GUILD, 2, "#99999") == []
    assert next(t.id for t in await tasks.autocomplete(GUILD, 5, "")) == others


async def test_autocomplete_returns_at_most_25(tasks: TaskManager) -> None:
    for i in range(30):
        await new_task(tasks, title=f"Task {i}")
    assert len(await tasks.autocomplete(GUILD, 2, "task")) == 25
    # A number matches ids by prefix and titles containing it.
    hits = await tasks.autocomplete(GUILD, 2, "2")
    assert hits[0].id == 2 and len(hits) <= 25


async def test_board_tasks_are_live_plus_done_today(tasks: TaskManager, db: Database) -> None:
    await GuildSettings(db).update(GUILD, 3, {"timezone": "Asia/Tokyo"})  # 09:00 UTC = 18:00 local
    live = await new_task(tasks)
    done_today = await new_task(tasks)
    await tasks.set_status(GUILD, done_today, ASSIGNEE, "done", NOW)
    done_before = await new_task(tasks)
    await tasks.set_status(
        GUILD, done_before, ASSIGNEE, "done", datetime(2026, 11, 30, 14, 59, tzinfo=UTC)
    )  # 23:59 local
    cancelled = await new_task(tasks)
    await tasks.cancel(GUILD, cancelled, CREATOR, NOW)
    assert sorted(t.id for t in await tasks.board_tasks(GUILD, NOW)) == [live, done_today]


# -- interface for DAR and Leave --------------------------------------------------------------
async def test_interfaces_for_dar(tasks: TaskManager) -> None:
    a = await new_task(tasks, due_date=date(2026, 12, 3))
    b = await new_task(tasks, due_date=date(2026, 12, 1), due_time=time(12, 0))
    c = await new_task(tasks, due_date=date(2026, 12, 10))
    d = await new_task(tasks)
    e = await new_task(tasks, assignee_id=5, due_date=date(2026, 12, 1))
    await tasks.set_status(GUILD, d, ASSIGNEE, "done", NOW + timedelta(hours=2))
    completed = await tasks.completed_between(GUILD, NOW, NOW + timedelta(days=1))
    assert [t.id for t in completed] == [d]
    assert (
        await tasks.completed_between(GUILD, NOW + timedelta(hours=3), NOW + timedelta(days=1))
        == []
    )
    assert [t.id for t in await tasks.live_for(GUILD, 2)] == [b, a, c]
    at = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert [t.id for t in await tasks.overdue(GUILD, at)] == [b, e]
    assert [
        t.id for t in await tasks.open_due_between(GUILD, 2, date(2026, 12, 1), date(2026, 12, 3))
    ] == [b, a]


async def test_reassign_many_is_one_transaction(tasks: TaskManager, db: Database) -> None:
    a = await new_task(tasks)
    b = await new_task(tasks)
    done = await new_task(tasks)
    await tasks.set_status(GUILD, done, ASSIGNEE, "done", NOW)
    moved = await tasks.reassign_many(GUILD, MANAGER, [a, b, done], 9, "On leave: handed over", NOW)
    assert [t.id for t in moved] == [a, b]
    assert (await tasks.get(done)).assignee_id == 2
    assert (await tasks.history(a))[-1].note == "On leave: handed over"
    # All or nothing: a task of another guild (or a refused one) rolls the whole batch back.
    c = await new_task(tasks)
    with pytest.raises(NotFound):
        await tasks.reassign_many(GUILD, MANAGER, [c, 987654], 11, None, NOW)
    assert (await tasks.get(c)).assignee_id == 2
    with pytest.raises(PermissionDenied):
        await tasks.reassign_many(GUILD, STRANGER, [c], 11, None, NOW)


async def test_due_soon_candidates(tasks: TaskManager) -> None:
    soon = await new_task(tasks, due_date=date(2026, 12, 2))
    await new_task(tasks, due_date=date(2026, 12, 20))
    await new_task(tasks, due_date=date(2026, 12, 2), assignee_id=None)
    assert [t.id for t in await tasks.due_soon_candidates(GUILD, NOW)] == [soon]


# -- cards and boards -------------------------------------------------------------------------
async def test_cards_and_boards(tasks: TaskManager, db: Database) -> None:
    task_id = await new_task(tasks)
    await tasks.set_card(task_id, 50, 51)
    task = await tasks.get(task_id)
    assert (task.card_channel_id, task.card_message_id) == (50, 51)
    await tasks.add_dm_card(task_id, 60, 61)
    await tasks.add_dm_card(task_id, 60, 61)
    assert await tasks.dm_cards(task_id) == [(60, 61)]
    await tasks.forget_dm_card(task_id, 61)
    assert await tasks.dm_cards(task_id) == []

    assert (await tasks.save_board(GUILD, 70, [71, 72], MANAGER, NOW)).previous is None
    replaced = (await tasks.save_board(GUILD, 70, [73], MANAGER, NOW)).previous
    assert replaced is not None and replaced.message_ids == (71, 72)
    await tasks.save_board(GUILD, 80, [81], MANAGER, NOW)
    assert [(b.channel_id, b.message_ids) for b in await tasks.boards(GUILD)] == [
        (70, (73,)),
        (80, (81,)),
    ]
    await tasks.set_board_messages(80, [82, 83])
    board = await tasks.board(80)
    assert board is not None and board.message_ids == (82, 83)
    await tasks.drop_board(80)
    assert await tasks.board(80) is None


async def test_history_is_append_only(tasks: TaskManager, db: Database) -> None:
    task_id = await new_task(tasks)

    def tamper(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM task_events WHERE task_id = ?", (task_id,))

    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        await db.write(tamper)
