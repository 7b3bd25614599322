"""Any sequence of task operations, allowed or refused, keeps the history consistent with the
current state: replaying the events gives the stored status and assignee, every status event
starts where the previous one ended, and a refused operation leaves no trace."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from concord.core.tasks import STATUSES, Actor, TaskChanges, TaskDraft
from concord.db.database import apply_migrations, connect_sync, transaction
from concord.db.tasks.transactions import (
    assign_task,
    change_status,
    claim_task,
    create_task,
    edit_task,
    reassign_tasks,
)
from concord.errors import UserError

GUILD = 1
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
actors = st.sampled_from([Actor(1), Actor(2), Actor(3, is_manager=True), Actor(4)])
users = st.sampled_from([1, 2, 4, 5])


class TaskHistoryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.conn: sqlite3.Connection = connect_sync(":memory:")
        apply_migrations(self.conn)
        self.now = START
        self.task_ids: list[int] = []

    def run(self, fn, *args) -> object:  # type: ignore[no-untyped-def]
        """One transaction; a refused operation must leave the database as it was."""
        self.now += timedelta(minutes=1)
        before = self.snapshot()
        try:
            with transaction(self.conn):
                return fn(self.conn, *args)
        except UserError:
            assert self.snapshot() == before
            return None

    def snapshot(self) -> tuple[list[tuple[object, ...]], int]:
        rows = [tuple(r) for r in self.conn.execute("SELECT * FROM tasks ORDER BY id")]
        events = self.conn.execute("SELECT count(*) FROM task_events").fetchone()[0]
        return rows, events

    @rule(
        actor=actors,
        assignee=st.one_of(st.none(), users),
        repeat=st.sampled_from(["none", "daily", "weekdays", "monthly"]),
    )
    def create(self, actor: Actor, assignee: int | None, repeat: str) -> None:
        due = self.now.date() + timedelta(days=1)
        draft = TaskDraft(title="T", assignee_id=assignee, due_date=due, repeat=repeat)
        task = self.run(create_task, GUILD, actor, draft, self.now)
        if task is not None:
            self.task_ids.append(task.id)  # type: ignore[attr-defined]

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), actor=actors, status=st.sampled_from(STATUSES))
    def set_status(self, data: st.DataObject, actor: Actor, status: str) -> None:
        task_id = data.draw(st.sampled_from(self.task_ids))
        change = self.run(change_status, GUILD, task_id, actor, status, "note", self.now, None)
        if change is not None and change.next_occurrence is not None:  # type: ignore[attr-defined]
            self.task_ids.append(change.next_occurrence.id)  # type: ignore[attr-defined]

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), actor=actors, user=users)
    def assign(self, data: st.DataObject, actor: Actor, user: int) -> None:
        self.run(
            assign_task,
            GUILD,
            data.draw(st.sampled_from(self.task_ids)),
            actor,
            user,
            None,
            self.now,
        )

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), actor=actors)
    def claim(self, data: st.DataObject, actor: Actor) -> None:
        self.run(claim_task, GUILD, data.draw(st.sampled_from(self.task_ids)), actor, self.now)

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), actor=actors, days=st.integers(min_value=-3, max_value=30))
    def edit(self, data: st.DataObject, actor: Actor, days: int) -> None:
        changes = TaskChanges(
            title=f"T{days}", set_due=True, due_date=date(2027, 1, 1) + timedelta(days=days)
        )
        self.run(
            edit_task, GUILD, data.draw(st.sampled_from(self.task_ids)), actor, changes, self.now
        )

    @precondition(lambda self: self.task_ids)
    @rule(data=st.data(), actor=actors, user=users)
    def hand_over(self, data: st.DataObject, actor: Actor, user: int) -> None:
        ids = data.draw(st.lists(st.sampled_from(self.task_ids), min_size=1, max_size=3))
        self.run(reassign_tasks, GUILD, actor, ids, user, "handover", self.now)

    @invariant()
    def history_replays_to_the_current_state(self) -> None:
        for row in self.conn.execute("SELECT * FROM tasks"):
            events = self.conn.execute(
                "SELECT * FROM task_events WHERE task_id = ? ORDER BY id", (row["id"],)
            ).fetchall()
            assert events[0]["kind"] == "created" and events[0]["to_value"] == "open"
            status, assignee = "open", None
            for event in events[1:]:
                if event["kind"] == "status":
                    assert event["from_value"] == status
                    assert event["to_value"] != status
                    status = event["to_value"]
                elif event["kind"] == "assigned":
                    assert event["from_value"] == (None if assignee is None else str(assignee))
                    assignee = int(event["to_value"])
                assert event["kind"] != "created"
            assert status == row["status"]
            assert assignee == row["assignee_id"]
            assert (row["completed_at"] is not None) == (row["status"] == "done")

    @invariant()
    def each_occurrence_has_at_most_one_next(self) -> None:
        for row in self.conn.execute("SELECT * FROM tasks WHERE next_id IS NOT NULL"):
            nxt = self.conn.execute(
                "SELECT * FROM tasks WHERE id = ?", (row["next_id"],)
            ).fetchone()
            assert nxt["previous_id"] == row["id"]
            assert nxt["series_id"] == (row["series_id"] or row["id"])
        spawned = self.conn.execute(
            "SELECT count(*) FROM tasks WHERE previous_id IS NOT NULL"
        ).fetchone()[0]
        linked = self.conn.execute(
            "SELECT count(*) FROM tasks WHERE next_id IS NOT NULL"
        ).fetchone()[0]
        assert spawned == linked

    def teardown(self) -> None:
        self.conn.close()


TaskHistoryMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
test_task_history = TaskHistoryMachine.TestCase
