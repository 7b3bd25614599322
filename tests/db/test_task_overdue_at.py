"""The tasks overdue at a past moment, replayed from the history (past DAR summaries)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from concord.core.tasks import Actor, TaskChanges, TaskDraft
from concord.db.database import Database
from concord.db.tasks import TaskManager

GUILD = 1000
CREATOR, BOB, CAROL = Actor(1, is_manager=True), 2, 3
MON = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def test_overdue_at_replays_status_assignee_and_due_date(db: Database) -> None:
    tasks = TaskManager(db)

    async def new(title: str, assignee: int, due: date) -> int:
        draft = TaskDraft(title=title, assignee_id=assignee, due_date=due)
        return (await tasks.create(GUILD, CREATOR, draft, MON)).id

    done_later = await new("Done on Wednesday", BOB, MON.date())
    handed = await new("Handed to carol on Wednesday", BOB, MON.date())
    moved = await new("Due date moved back on Wednesday", BOB, date(2026, 12, 10))
    pushed = await new("Due date pushed on Wednesday", BOB, MON.date())
    wed = MON + timedelta(days=2)
    await tasks.set_status(GUILD, done_later, Actor(BOB), "done", wed)
    await tasks.assign(GUILD, handed, CREATOR, CAROL, wed)
    await tasks.edit(GUILD, moved, CREATOR, TaskChanges(set_due=True, due_date=MON.date()), wed)
    new_due = date(2026, 12, 20)
    await tasks.edit(GUILD, pushed, CREATOR, TaskChanges(set_due=True, due_date=new_due), wed)
    await new("Due on Thursday", BOB, MON.date() + timedelta(days=3))

    tuesday_end = datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC)
    then = {t.id: t for t in await tasks.overdue_at(GUILD, tuesday_end)}
    assert set(then) == {done_later, handed, pushed}
    assert then[done_later].status == "open" and then[handed].assignee_id == BOB
    assert then[pushed].due_date == MON.date()
    now = {t.id for t in await tasks.overdue(GUILD, wed + timedelta(days=1))}
    assert now == {handed, moved}
