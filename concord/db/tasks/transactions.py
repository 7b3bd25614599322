"""Tasks' synchronous transaction functions, each run by ``db.write(fn, ...)`` in one
``BEGIN IMMEDIATE``: each re-reads the task, checks the permission and the transition against
what is stored *now*, makes a conditional update on the status it read, and appends a history
event and an audit row. Two clicks at once therefore change a task once; the second gets a
clear message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from concord.core.settings import GuildConfig
from concord.core.task_board import MAX_BOARDS_PER_GUILD, NEW_BOARD_MANAGERS_ONLY
from concord.core.tasks import (
    STATUSES,
    Actor,
    Task,
    TaskChanges,
    TaskComment,
    TaskDraft,
    check_can_assign,
    check_can_change_status,
    check_can_claim,
    check_can_edit,
    check_can_reassign,
    check_transition,
    clean_comment,
    clean_description,
    clean_note,
    clean_title,
    next_due_date,
    off_holiday,
    parse_priority,
    parse_repeat,
    validate_draft,
)
from concord.db.guilds import read_config, utcnow_iso, write_audit
from concord.db.portable import Conn
from concord.db.tasks.records import (
    HolidayLookup,
    SavedBoard,
    StatusChange,
    _date_text,
    _time_text,
    _user_text,
    board_from_row,
    comment_from_row,
    task_from_row,
)
from concord.errors import NotFound, PermissionDenied, UserError

log: logging.Logger = logging.getLogger(__name__)


# -- transaction functions (synchronous, run inside db.write) -------------------------------
def load_task(conn: Conn, guild_id: int, task_id: int) -> Task:
    row = conn.execute(
        "SELECT * FROM tasks WHERE id = ? AND guild_id = ?", (task_id, guild_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no task #{task_id} in this server.")
    return task_from_row(row)


def add_event(
    conn: Conn,
    task_id: int,
    actor_id: int,
    kind: str,
    from_value: str | None,
    to_value: str | None,
    note: str | None,
    now: datetime,
) -> None:
    conn.execute(
        "INSERT INTO task_events (task_id, actor_id, kind, from_value, to_value, note, at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (task_id, actor_id, kind, from_value, to_value, note, utcnow_iso(now)),
    )


def _insert_task(
    conn: Conn,
    guild_id: int,
    creator_id: int,
    draft: TaskDraft,
    now: datetime,
    *,
    repeat_day: int | None,
    series_id: int | None = None,
    previous_id: int | None = None,
) -> int:
    cur = conn.execute(
        "INSERT INTO tasks (guild_id, title, description, creator_id, assignee_id, status,"
        " priority, due_date, due_time, repeat, repeat_day, series_id, previous_id, created_at,"
        " updated_at, source_url, skip_holidays, rhythm_date)"
        " VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            guild_id,
            draft.title,
            draft.description,
            creator_id,
            draft.assignee_id,
            draft.priority,
            _date_text(draft.due_date),
            _time_text(draft.due_time),
            draft.repeat,
            repeat_day,
            series_id,
            previous_id,
            utcnow_iso(now),
            utcnow_iso(now),
            draft.source_url,
            int(draft.skips_holidays),
            _date_text(draft.rhythm_date),
        ),
    )
    return int(cur.fetchone()["id"])


def create_task(conn: Conn, guild_id: int, actor: Actor, draft: TaskDraft, now: datetime) -> Task:
    config = read_config(conn, guild_id)
    validate_draft(draft, now, config.tz)
    check_can_assign(actor, draft.assignee_id, config.task_assign)
    repeat_day = draft.due_date.day if draft.due_date is not None else None
    task_id = _insert_task(conn, guild_id, actor.user_id, draft, now, repeat_day=repeat_day)
    add_event(conn, task_id, actor.user_id, "created", None, "open", None, now)
    if draft.assignee_id is not None:
        add_event(conn, task_id, actor.user_id, "assigned", None, str(draft.assignee_id), None, now)
    task = load_task(conn, guild_id, task_id)
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor.user_id,
        action="task.create",
        subject=f"task:{task_id}",
        after={
            "title": task.title,
            "assignee": task.assignee_id,
            "due": _date_text(task.due_date),
            "repeat": task.repeat,
        },
        now=now,
    )
    return task


def _spawn_next(
    conn: Conn,
    task: Task,
    actor: Actor,
    config: GuildConfig,
    now: datetime,
    holidays: HolidayLookup | None,
) -> Task | None:
    """The next occurrence of a repeating task, created once: a task that already spawned one
    (completed, reopened, completed again) spawns no second one."""
    if task.repeat == "none" or task.due_date is None or task.next_id is not None:
        return None
    completed_on = now.astimezone(config.tz).date()
    floor = max(task.due_date, completed_on)
    skip: Collection[date] = ()
    skips = task.skip_holidays or task.repeat == "weekdays"
    if skips and holidays is not None:
        skip = frozenset(holidays(conn, task.guild_id, floor, floor + timedelta(days=400)))
    # The series' rhythm: an occurrence moved off a holiday counts from where it belonged.
    rhythm = next_due_date(
        task.rhythm_date or task.due_date,
        task.repeat,
        anchor_day=task.repeat_day,
        workdays=config.workdays,
        holidays=skip,
        completed_on=floor,
    )
    next_due = off_holiday(
        rhythm, task.repeat, after=floor, workdays=config.workdays, holidays=skip
    )
    draft = TaskDraft(
        title=task.title,
        description=task.description,
        assignee_id=task.assignee_id,
        priority=task.priority,
        due_date=next_due,
        due_time=task.due_time,
        repeat=task.repeat,
        source_url=task.source_url,
        skip_holidays=task.skip_holidays,
        rhythm_date=rhythm if rhythm != next_due else None,
    )
    series_id = task.series_id or task.id
    next_id = _insert_task(
        conn,
        task.guild_id,
        task.creator_id,
        draft,
        now,
        repeat_day=task.repeat_day or task.due_date.day,
        series_id=series_id,
        previous_id=task.id,
    )
    add_event(conn, next_id, actor.user_id, "created", None, "open", f"Repeats #{task.id}", now)
    if task.assignee_id is not None:
        add_event(conn, next_id, actor.user_id, "assigned", None, str(task.assignee_id), None, now)
    conn.execute(
        "UPDATE tasks SET next_id = ?, series_id = ? WHERE id = ? AND next_id IS NULL",
        (next_id, series_id, task.id),
    )
    write_audit(
        conn,
        guild_id=task.guild_id,
        actor_id=actor.user_id,
        action="task.repeat",
        subject=f"task:{next_id}",
        before={"previous": task.id},
        after={"due": next_due.isoformat()},
        now=now,
    )
    return load_task(conn, task.guild_id, next_id)


def change_status(
    conn: Conn,
    guild_id: int,
    task_id: int,
    actor: Actor,
    to_status: str,
    note: str | None,
    now: datetime,
    holidays: HolidayLookup | None = None,
) -> StatusChange:
    if to_status not in STATUSES:
        raise UserError(f"`{to_status}` is not a status.")
    note = clean_note(note)
    task = load_task(conn, guild_id, task_id)
    check_can_change_status(actor, task, to_status)
    check_transition(task, to_status)
    completed = utcnow_iso(now) if to_status == "done" else None
    # The card shows why a task is blocked while it is; any other status clears the reason.
    block_reason = note if to_status == "blocked" else None
    cur = conn.execute(
        "UPDATE tasks SET status = ?, updated_at = ?, completed_at = ?, block_reason = ?"
        " WHERE id = ? AND status = ?",
        (to_status, utcnow_iso(now), completed, block_reason, task.id, task.status),
    )
    if cur.rowcount != 1:
        raise UserError(f"Task #{task.id} changed meanwhile; look at it again and retry.")
    add_event(conn, task.id, actor.user_id, "status", task.status, to_status, note, now)
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor.user_id,
        action="task.status",
        subject=f"task:{task.id}",
        before=task.status,
        after=to_status,
        now=now,
    )
    spawned = None
    if to_status == "done":
        spawned = _spawn_next(conn, task, actor, read_config(conn, guild_id), now, holidays)
    return StatusChange(load_task(conn, guild_id, task.id), task.status, spawned)


def _set_assignee(
    conn: Conn,
    task: Task,
    actor: Actor,
    assignee_id: int,
    note: str | None,
    now: datetime,
    action: str,
) -> Task:
    cur = conn.execute(
        # Null-safe "the assignee is still the one read" (SQLite's `IS ?` in portable SQL).
        "UPDATE tasks SET assignee_id = ?, updated_at = ? WHERE id = ?"
        " AND (assignee_id = ? OR (assignee_id IS NULL AND CAST(? AS BIGINT) IS NULL))"
        " AND status = ?",
        (
            assignee_id,
            utcnow_iso(now),
            task.id,
            task.assignee_id,
            task.assignee_id,
            task.status,
        ),
    )
    if cur.rowcount != 1:
        raise UserError(f"Task #{task.id} changed meanwhile; look at it again and retry.")
    add_event(
        conn,
        task.id,
        actor.user_id,
        "assigned",
        _user_text(task.assignee_id),
        str(assignee_id),
        note,
        now,
    )
    write_audit(
        conn,
        guild_id=task.guild_id,
        actor_id=actor.user_id,
        action=action,
        subject=f"task:{task.id}",
        before=task.assignee_id,
        after=assignee_id,
        now=now,
    )
    return load_task(conn, task.guild_id, task.id)


def assign_task(
    conn: Conn,
    guild_id: int,
    task_id: int,
    actor: Actor,
    assignee_id: int,
    note: str | None,
    now: datetime,
) -> Task:
    note = clean_note(note)
    task = load_task(conn, guild_id, task_id)
    check_can_reassign(actor, task, assignee_id, read_config(conn, guild_id).task_assign)
    return _set_assignee(conn, task, actor, assignee_id, note, now, "task.assign")


def claim_task(conn: Conn, guild_id: int, task_id: int, actor: Actor, now: datetime) -> Task:
    task = load_task(conn, guild_id, task_id)
    check_can_claim(actor, task)
    return _set_assignee(conn, task, actor, actor.user_id, "claimed", now, "task.claim")


def _edit_summary(task: Task, changes: TaskChanges) -> tuple[dict[str, Any], dict[str, Any]]:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in ("title", "description", "priority", "repeat"):
        value = getattr(changes, name)
        if value is not None:
            before[name], after[name] = getattr(task, name), value
    if changes.set_due:
        before["due"] = [_date_text(task.due_date), _time_text(task.due_time)]
        after["due"] = [_date_text(changes.due_date), _time_text(changes.due_time)]
    return before, after


def edit_task(
    conn: Conn,
    guild_id: int,
    task_id: int,
    actor: Actor,
    changes: TaskChanges,
    now: datetime,
) -> Task:
    task = load_task(conn, guild_id, task_id)
    check_can_edit(actor, task)
    before, after = _edit_summary(task, changes)
    if not after:
        raise UserError(f"Nothing changed on task #{task.id}.")
    title = clean_title(changes.title) if changes.title is not None else task.title
    description = (
        clean_description(changes.description)
        if changes.description is not None
        else task.description
    )
    priority = parse_priority(changes.priority) if changes.priority else task.priority
    repeat = parse_repeat(changes.repeat) if changes.repeat else task.repeat
    due_date, due_time = (
        (changes.due_date, changes.due_time) if changes.set_due else (task.due_date, task.due_time)
    )
    if due_time is not None and due_date is None:
        raise UserError("A due time needs a due date.")
    if repeat != "none" and due_date is None:
        raise UserError("A repeating task needs a due date.")
    # A due set by hand starts a new rhythm; a move off a holiday keeps the series' one.
    rhythm_date = changes.rhythm_date if changes.set_due else task.rhythm_date
    anchor = rhythm_date or due_date
    repeat_day = anchor.day if changes.set_due and anchor else task.repeat_day
    if repeat_day is None and due_date is not None:
        repeat_day = due_date.day
    cur = conn.execute(
        "UPDATE tasks SET title = ?, description = ?, priority = ?, repeat = ?, due_date = ?,"
        " due_time = ?, repeat_day = ?, rhythm_date = ?, updated_at = ?"
        " WHERE id = ? AND updated_at = ?",
        (
            title,
            description,
            priority,
            repeat,
            _date_text(due_date),
            _time_text(due_time),
            repeat_day,
            _date_text(rhythm_date),
            utcnow_iso(now),
            task.id,
            utcnow_iso(task.updated_at),
        ),
    )
    if cur.rowcount != 1:
        raise UserError(f"Task #{task.id} changed meanwhile; look at it again and retry.")
    add_event(
        conn,
        task.id,
        actor.user_id,
        "edited",
        json.dumps(before, sort_keys=True),
        json.dumps(after, sort_keys=True),
        None,
        now,
    )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor.user_id,
        action="task.edit",
        subject=f"task:{task.id}",
        before=before,
        after=after,
        now=now,
    )
    return load_task(conn, guild_id, task.id)


def add_comment(
    conn: Conn,
    guild_id: int,
    task_id: int,
    actor: Actor,
    text: str,
    now: datetime,
) -> TaskComment:
    body = clean_comment(text)
    task = load_task(conn, guild_id, task_id)
    cur = conn.execute(
        "INSERT INTO task_comments (task_id, author_id, body, at) VALUES (?, ?, ?, ?) RETURNING *",
        (task.id, actor.user_id, body, utcnow_iso(now)),
    )
    row = cur.fetchone()
    conn.execute("UPDATE tasks SET updated_at = ? WHERE id = ?", (utcnow_iso(now), task.id))
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor.user_id,
        action="task.comment",
        subject=f"task:{task.id}",
        after={"comment": row["id"]},
        now=now,
    )
    return comment_from_row(row)


def reassign_tasks(
    conn: Conn,
    guild_id: int,
    actor: Actor,
    task_ids: Sequence[int],
    assignee_id: int,
    note: str | None,
    now: datetime,
) -> list[Task]:
    """Hand several tasks over at once; all or nothing. Tasks already with ``assignee_id`` or
    no longer live are left as they are (the hand-over list may be a little stale)."""
    note = clean_note(note)
    task_assign = read_config(conn, guild_id).task_assign
    moved: list[Task] = []
    for task_id in dict.fromkeys(task_ids):
        task = load_task(conn, guild_id, task_id)
        if not task.is_live or task.assignee_id == assignee_id:
            continue
        check_can_reassign(actor, task, assignee_id, task_assign)
        moved.append(_set_assignee(conn, task, actor, assignee_id, note, now, "task.assign"))
    return moved


def set_card(conn: Conn, task_id: int, channel_id: int, message_id: int) -> None:
    conn.execute(
        "UPDATE tasks SET card_channel_id = ?, card_message_id = ? WHERE id = ?",
        (channel_id, message_id, task_id),
    )


def save_board(
    conn: Conn,
    guild_id: int,
    channel_id: int,
    message_ids: Sequence[int],
    actor_id: int,
    now: datetime,
    actor_is_manager: bool,
) -> SavedBoard:
    """Record the board of a channel (a new channel only for a manager); the guild keeps its
    ``MAX_BOARDS_PER_GUILD`` newest boards, the older ones are retired (returned)."""
    row = conn.execute(
        "SELECT * FROM task_boards WHERE channel_id = ? AND guild_id = ?", (channel_id, guild_id)
    ).fetchone()
    if row is None and not actor_is_manager:
        raise PermissionDenied(NEW_BOARD_MANAGERS_ONLY)
    conn.execute(
        "INSERT INTO task_boards (channel_id, guild_id, message_ids, posted_by, posted_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET"
        " message_ids = excluded.message_ids, posted_by = excluded.posted_by,"
        " posted_at = excluded.posted_at",
        (channel_id, guild_id, json.dumps(list(message_ids)), actor_id, utcnow_iso(now)),
    )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="task.board",
        subject=f"channel:{channel_id}",
        after={"messages": len(message_ids)},
        now=now,
    )
    # (channel_id is the rowid on SQLite: the order it always had.) A guild has a handful of
    # boards, so the ones past the limit are cut here rather than with SQLite's LIMIT -1.
    retired = conn.execute(
        "SELECT * FROM task_boards WHERE guild_id = ? ORDER BY posted_at DESC, channel_id DESC",
        (guild_id,),
    ).fetchall()[MAX_BOARDS_PER_GUILD:]
    for old in retired:
        conn.execute("DELETE FROM task_boards WHERE channel_id = ?", (old["channel_id"],))
        write_audit(
            conn,
            guild_id=guild_id,
            actor_id=actor_id,
            action="task.board_retired",
            subject=f"channel:{old['channel_id']}",
            after={"limit": MAX_BOARDS_PER_GUILD},
            now=now,
        )
    return SavedBoard(
        previous=board_from_row(row) if row else None,
        retired=tuple(board_from_row(old) for old in retired),
    )


def _add_dm_card(conn: Conn, task_id: int, channel_id: int, message_id: int) -> None:
    conn.execute(
        "INSERT INTO task_dm_cards (task_id, channel_id, message_id) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (task_id, channel_id, message_id),
    )


def _forget_dm_card(conn: Conn, task_id: int, message_id: int) -> None:
    conn.execute(
        "DELETE FROM task_dm_cards WHERE task_id = ? AND message_id = ?", (task_id, message_id)
    )


def _set_board_messages(conn: Conn, channel_id: int, message_ids: list[int]) -> None:
    conn.execute(
        "UPDATE task_boards SET message_ids = ? WHERE channel_id = ?",
        (json.dumps(message_ids), channel_id),
    )


def _drop_board(conn: Conn, channel_id: int) -> None:
    conn.execute("DELETE FROM task_boards WHERE channel_id = ?", (channel_id,))
