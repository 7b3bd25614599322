"""TaskManager: tasks, their history and comments, recurring occurrences, cards and boards.

Every change is one transaction function (synchronous, run by ``db.write``) that re-reads the
task, checks the permission and the transition against what is stored *now*, makes a
conditional update on the status it read, and appends a history event and an audit row. Two
clicks at once therefore change a task once; the second gets a clear message.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from concord.core.settings import GuildConfig
from concord.core.task_board import MAX_BOARDS_PER_GUILD, NEW_BOARD_MANAGERS_ONLY
from concord.core.tasks import (
    LIVE_STATUSES,
    STATUSES,
    Actor,
    Task,
    TaskChanges,
    TaskComment,
    TaskDraft,
    TaskEvent,
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
    deadline,
    is_overdue,
    next_due_date,
    off_holiday,
    parse_priority,
    parse_repeat,
    parse_task_ref,
    search_words,
    sort_tasks,
    task_as_of,
    validate_draft,
)
from concord.db.database import Database
from concord.db.guilds import (
    GuildSettings,
    guild_holidays,
    read_config,
    utcnow_iso,
    write_audit,
)
from concord.errors import NotFound, PermissionDenied, UserError

log: logging.Logger = logging.getLogger(__name__)

# (conn, guild_id, first, last) → the guild's holidays in [first, last]; run inside the
# completion transaction so a weekdays series skips them.
HolidayLookup = Callable[[sqlite3.Connection, int, date, date], Collection[date]]
AUTOCOMPLETE_LIMIT = 25
LIST_LIMIT = 500
_LIVE_JSON: str = json.dumps(sorted(LIVE_STATUSES))


@dataclass(frozen=True)
class StatusChange:
    task: Task
    previous_status: str
    next_occurrence: Task | None = None


@dataclass(frozen=True)
class Board:
    channel_id: int
    guild_id: int
    message_ids: tuple[int, ...]


@dataclass(frozen=True)
class SavedBoard:
    previous: Board | None  # the channel's board it replaces (its messages to delete)
    retired: tuple[Board, ...]  # the guild's oldest boards past the limit: no longer updated


# -- rows ------------------------------------------------------------------------------------
def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def _required_dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def task_from_row(row: sqlite3.Row) -> Task:
    return Task(
        id=row["id"],
        guild_id=row["guild_id"],
        title=row["title"],
        description=row["description"],
        creator_id=row["creator_id"],
        assignee_id=row["assignee_id"],
        status=row["status"],
        priority=row["priority"],
        due_date=date.fromisoformat(row["due_date"]) if row["due_date"] else None,
        due_time=time.fromisoformat(row["due_time"]) if row["due_time"] else None,
        repeat=row["repeat"],
        repeat_day=row["repeat_day"],
        series_id=row["series_id"],
        previous_id=row["previous_id"],
        next_id=row["next_id"],
        created_at=_required_dt(row["created_at"]),
        updated_at=_required_dt(row["updated_at"]),
        completed_at=_dt(row["completed_at"]),
        card_channel_id=row["card_channel_id"],
        card_message_id=row["card_message_id"],
        source_url=row["source_url"],
        block_reason=row["block_reason"],
        skip_holidays=bool(row["skip_holidays"]),
        rhythm_date=date.fromisoformat(row["rhythm_date"]) if row["rhythm_date"] else None,
    )


def event_from_row(row: sqlite3.Row) -> TaskEvent:
    return TaskEvent(
        id=row["id"],
        task_id=row["task_id"],
        actor_id=row["actor_id"],
        kind=row["kind"],
        from_value=row["from_value"],
        to_value=row["to_value"],
        note=row["note"],
        at=_required_dt(row["at"]),
    )


def comment_from_row(row: sqlite3.Row) -> TaskComment:
    return TaskComment(
        id=row["id"],
        task_id=row["task_id"],
        author_id=row["author_id"],
        body=row["body"],
        at=_required_dt(row["at"]),
    )


def board_from_row(row: sqlite3.Row) -> Board:
    return Board(
        channel_id=row["channel_id"],
        guild_id=row["guild_id"],
        message_ids=tuple(int(m) for m in json.loads(row["message_ids"])),
    )


def _time_text(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def _date_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _user_text(user_id: int | None) -> str | None:
    return None if user_id is None else str(user_id)


# -- transaction functions (synchronous, run inside db.write) -------------------------------
def load_task(conn: sqlite3.Connection, guild_id: int, task_id: int) -> Task:
    row = conn.execute(
        "SELECT * FROM tasks WHERE id = ? AND guild_id = ?", (task_id, guild_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"There is no task #{task_id} in this server.")
    return task_from_row(row)


def add_event(
    conn: sqlite3.Connection,
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
    conn: sqlite3.Connection,
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
        " VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    task_id = cur.lastrowid
    assert task_id is not None
    return task_id


def create_task(
    conn: sqlite3.Connection, guild_id: int, actor: Actor, draft: TaskDraft, now: datetime
) -> Task:
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
    conn: sqlite3.Connection,
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
    conn: sqlite3.Connection,
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
    conn: sqlite3.Connection,
    task: Task,
    actor: Actor,
    assignee_id: int,
    note: str | None,
    now: datetime,
    action: str,
) -> Task:
    cur = conn.execute(
        "UPDATE tasks SET assignee_id = ?, updated_at = ? WHERE id = ? AND assignee_id IS ?"
        " AND status = ?",
        (assignee_id, utcnow_iso(now), task.id, task.assignee_id, task.status),
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
    conn: sqlite3.Connection,
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


def claim_task(
    conn: sqlite3.Connection, guild_id: int, task_id: int, actor: Actor, now: datetime
) -> Task:
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
    conn: sqlite3.Connection,
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
    conn: sqlite3.Connection,
    guild_id: int,
    task_id: int,
    actor: Actor,
    text: str,
    now: datetime,
) -> TaskComment:
    body = clean_comment(text)
    task = load_task(conn, guild_id, task_id)
    cur = conn.execute(
        "INSERT INTO task_comments (task_id, author_id, body, at) VALUES (?, ?, ?, ?)",
        (task.id, actor.user_id, body, utcnow_iso(now)),
    )
    conn.execute("UPDATE tasks SET updated_at = ? WHERE id = ?", (utcnow_iso(now), task.id))
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor.user_id,
        action="task.comment",
        subject=f"task:{task.id}",
        after={"comment": cur.lastrowid},
        now=now,
    )
    row = conn.execute("SELECT * FROM task_comments WHERE id = ?", (cur.lastrowid,)).fetchone()
    return comment_from_row(row)


def reassign_tasks(
    conn: sqlite3.Connection,
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


def set_card(conn: sqlite3.Connection, task_id: int, channel_id: int, message_id: int) -> None:
    conn.execute(
        "UPDATE tasks SET card_channel_id = ?, card_message_id = ? WHERE id = ?",
        (channel_id, message_id, task_id),
    )


def save_board(
    conn: sqlite3.Connection,
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
    retired = conn.execute(
        "SELECT * FROM task_boards WHERE guild_id = ?"
        " ORDER BY posted_at DESC, rowid DESC LIMIT -1 OFFSET ?",
        (guild_id, MAX_BOARDS_PER_GUILD),
    ).fetchall()
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


# -- the async face --------------------------------------------------------------------------
class TaskManager:
    """Tasks for the cogs (and for DAR and Leave, through the documented methods)."""

    def __init__(self, db: Database, *, holidays: HolidayLookup | None = guild_holidays) -> None:
        self.db = db
        self.holidays = holidays

    # -- reads -----------------------------------------------------------------------------
    async def _config(self, guild_id: int) -> GuildConfig:
        return await GuildSettings(self.db).get(guild_id)

    async def _tasks(self, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> list[Task]:
        return [task_from_row(row) for row in await self.db.fetchall(sql, params)]

    async def get(self, task_id: int, guild_id: int | None = None) -> Task:
        """A task by id (in ``guild_id`` when given); NotFound otherwise."""
        row = await self.db.fetchone("SELECT * FROM tasks WHERE id = ?", (task_id,))
        if row is None or (guild_id is not None and row["guild_id"] != guild_id):
            raise NotFound(f"There is no task #{task_id} in this server.")
        return task_from_row(row)

    async def resolve(self, guild_id: int, text: str) -> Task:
        """The task an option names: an autocomplete value, ``#12`` or ``12``, or words of one
        task's title (what people type when they send before picking from the list)."""
        task_id = parse_task_ref(text)
        if task_id is not None:
            return await self.get(task_id, guild_id)
        wanted = " ".join(search_words(text))
        # No member comes first here (user 0): only the words decide.
        found = await self.autocomplete(guild_id, 0, text) if wanted else []
        candidates = [t for t in found if t.is_live] or found
        exact = [t for t in candidates if " ".join(search_words(t.title)) == wanted]
        if len(exact) == 1 or len(candidates) == 1:
            return (exact or candidates)[0]
        if candidates:
            listed = ", ".join(f"#{t.id} {t.title[:40]}" for t in candidates[:5])
            more = ", …" if len(candidates) > 5 else ""
            raise UserError(
                f"`{text[:50]}` matches several tasks ({listed}{more}); pick one from the list "
                "or give its number (#12)."
            )
        raise UserError(
            f"No task matches `{text[:50]}`; pick one from the list or give its number (#12)."
        )

    async def history(self, task_id: int) -> list[TaskEvent]:
        rows = await self.db.fetchall(
            "SELECT * FROM task_events WHERE task_id = ? ORDER BY id", (task_id,)
        )
        return [event_from_row(row) for row in rows]

    async def comments(self, task_id: int) -> list[TaskComment]:
        rows = await self.db.fetchall(
            "SELECT * FROM task_comments WHERE task_id = ? ORDER BY id", (task_id,)
        )
        return [comment_from_row(row) for row in rows]

    async def list_tasks(
        self,
        guild_id: int,
        now: datetime,
        *,
        assignee_id: int | None = None,
        statuses: Collection[str] = LIVE_STATUSES,
        query: str | None = None,
        limit: int = LIST_LIMIT,
    ) -> list[Task]:
        """Matching tasks, overdue first, then by due date and priority (closed ones last,
        latest first). ``query`` matches every word in the title or description."""
        unknown = set(statuses) - set(STATUSES)
        if unknown:
            raise UserError(f"Unknown status {sorted(unknown)[0]!r}.")
        tasks = await self._tasks(
            "SELECT * FROM tasks t WHERE t.guild_id = :guild"
            " AND t.status IN (SELECT value FROM json_each(:statuses))"
            " AND (:assignee IS NULL OR t.assignee_id = :assignee)"
            " AND NOT EXISTS (SELECT 1 FROM json_each(:words) w"
            " WHERE instr(lower(t.title || ' ' || t.description), w.value) = 0)"
            " ORDER BY t.status IN ('done', 'cancelled'), coalesce(t.completed_at, t.updated_at) DESC"
            " LIMIT :limit",
            {
                "guild": guild_id,
                "statuses": json.dumps(sorted(statuses)),
                "assignee": assignee_id,
                "words": json.dumps(search_words(query)),
                "limit": limit,
            },
        )
        config = await self._config(guild_id)
        return sort_tasks(tasks, now, config.tz)

    async def mine(self, guild_id: int, user_id: int, now: datetime) -> list[Task]:
        return await self.list_tasks(guild_id, now, assignee_id=user_id)

    async def board_tasks(self, guild_id: int, now: datetime) -> list[Task]:
        """What a board shows: every live task and the ones completed today (local)."""
        config = await self._config(guild_id)
        today = now.astimezone(config.tz).date()
        start = deadline(today - timedelta(days=1), None, config.tz)  # local midnight today
        return await self._tasks(
            "SELECT * FROM tasks WHERE guild_id = ? AND (status IN (SELECT value FROM json_each(?))"
            " OR (status = 'done' AND completed_at >= ?))",
            (guild_id, _LIVE_JSON, utcnow_iso(start)),
        )

    async def autocomplete(self, guild_id: int, user_id: int, text: str) -> list[Task]:
        """Up to 25 tasks for a ``task`` option: the member's own and assigned live tasks first,
        then other live tasks, then closed ones; matching the id (``#12``, ``12``) or every word
        of the title."""
        words = search_words(text)
        id_prefix: str | None = None
        by_id_only = False
        if words and words[0].lstrip("#").isdigit():
            id_prefix = words[0].lstrip("#")
            by_id_only = words[0].startswith("#")
        rest = words[1:] if id_prefix is not None else words
        return await self._tasks(
            "SELECT * FROM tasks t WHERE t.guild_id = :guild AND ("
            "(:id_prefix IS NOT NULL AND CAST(t.id AS TEXT) LIKE :id_prefix || '%'"
            " AND NOT EXISTS (SELECT 1 FROM json_each(:rest) w WHERE instr(lower(t.title), w.value) = 0))"
            " OR (:by_id_only = 0 AND NOT EXISTS (SELECT 1 FROM json_each(:words) w"
            " WHERE instr(lower(t.title), w.value) = 0)))"
            " ORDER BY CAST(t.id AS TEXT) = :id_prefix DESC,"
            " (t.status IN (SELECT value FROM json_each(:live))"
            "  AND (t.assignee_id = :user OR t.creator_id = :user)) DESC,"
            " t.status IN (SELECT value FROM json_each(:live)) DESC, t.id DESC"
            " LIMIT :limit",
            {
                "guild": guild_id,
                "user": user_id,
                "id_prefix": id_prefix,
                "by_id_only": int(by_id_only),
                "rest": json.dumps(rest),
                "words": json.dumps(words),
                "live": _LIVE_JSON,
                "limit": AUTOCOMPLETE_LIMIT,
            },
        )

    # -- for DAR and Leave ------------------------------------------------------------------
    async def completed_between(
        self, guild_id: int, start_utc: datetime, end_utc: datetime
    ) -> list[Task]:
        """Tasks completed in [start_utc, end_utc), in completion order."""
        return await self._tasks(
            "SELECT * FROM tasks WHERE guild_id = ? AND status = 'done'"
            " AND completed_at >= ? AND completed_at < ? ORDER BY completed_at, id",
            (guild_id, utcnow_iso(start_utc), utcnow_iso(end_utc)),
        )

    async def completion_times(
        self, guild_id: int, start_utc: datetime, end_utc: datetime, assignee_id: int | None
    ) -> list[datetime]:
        """When tasks (everyone's, or the assignee's) were completed in [start_utc, end_utc),
        read on a worker thread: a year's stats count 20k of them, and whole tasks read on the
        loop took most of the stats' time (bench/bench_dar.py)."""
        return await self.db.read_in_thread(
            _completion_times,
            guild_id,
            utcnow_iso(start_utc),
            utcnow_iso(end_utc),
            assignee_id,
        )

    async def live_for(self, guild_id: int, user_id: int) -> list[Task]:
        """The member's open, in-progress and blocked tasks, by due date (no due last)."""
        return await self._tasks(
            "SELECT * FROM tasks WHERE guild_id = ? AND assignee_id = ?"
            " AND status IN (SELECT value FROM json_each(?))"
            " ORDER BY due_date IS NULL, due_date, due_time IS NULL, due_time, id",
            (guild_id, user_id, _LIVE_JSON),
        )

    async def overdue(self, guild_id: int, now: datetime) -> list[Task]:
        """Live tasks past their deadline at ``now``, most overdue first."""
        config = await self._config(guild_id)
        today = now.astimezone(config.tz).date()
        candidates = await self._tasks(
            "SELECT * FROM tasks WHERE guild_id = ? AND due_date <= ?"
            " AND status IN (SELECT value FROM json_each(?))",
            (guild_id, today.isoformat(), _LIVE_JSON),
        )
        return sort_tasks([t for t in candidates if is_overdue(t, now, config.tz)], now, config.tz)

    async def overdue_at(self, guild_id: int, moment: datetime) -> list[Task]:
        """The tasks that were overdue at a past ``moment``, as they were then (status,
        assignee and due date replayed back from the history), most overdue first."""
        config = await self._config(guild_id)
        stamp = utcnow_iso(moment)
        candidates = await self._tasks(
            "SELECT * FROM tasks t WHERE guild_id = ? AND created_at <= ? AND ("
            " status IN (SELECT value FROM json_each(?))"
            " OR EXISTS (SELECT 1 FROM task_events e WHERE e.task_id = t.id AND e.at > ?))",
            (guild_id, stamp, _LIVE_JSON, stamp),
        )
        later: dict[int, list[TaskEvent]] = {}
        if candidates:
            rows = await self.db.fetchall(
                "SELECT * FROM task_events WHERE at > ?"
                " AND task_id IN (SELECT value FROM json_each(?))",
                (stamp, json.dumps([t.id for t in candidates])),
            )
            for row in rows:
                later.setdefault(row["task_id"], []).append(event_from_row(row))
        then = [task_as_of(t, later.get(t.id, ())) for t in candidates]
        return sort_tasks([t for t in then if is_overdue(t, moment, config.tz)], moment, config.tz)

    async def open_due_between(
        self, guild_id: int, user_id: int, start: date, end: date
    ) -> list[Task]:
        """The member's live tasks due on a local date in [start, end] (both included)."""
        return await self._tasks(
            "SELECT * FROM tasks WHERE guild_id = ? AND assignee_id = ?"
            " AND status IN (SELECT value FROM json_each(?)) AND due_date BETWEEN ? AND ?"
            " ORDER BY due_date, due_time IS NULL, due_time, id",
            (guild_id, user_id, _LIVE_JSON, start.isoformat(), end.isoformat()),
        )

    async def reassign_many(
        self,
        guild_id: int,
        actor: Actor,
        task_ids: Sequence[int],
        new_assignee: int,
        note: str | None,
        now: datetime,
    ) -> list[Task]:
        """Hand tasks over to ``new_assignee`` in one transaction, each with a history note;
        the creator-or-manager rule is checked per task."""
        return await self.db.write(
            reassign_tasks, guild_id, actor, list(task_ids), new_assignee, note, now
        )

    async def due_soon_candidates(self, guild_id: int, now: datetime) -> list[Task]:
        """Live assigned tasks due from yesterday to two days ahead (local): the only ones a
        "due within 24 h" reminder can concern."""
        config = await self._config(guild_id)
        today = now.astimezone(config.tz).date()
        return await self._tasks(
            "SELECT * FROM tasks WHERE guild_id = ? AND assignee_id IS NOT NULL"
            " AND status IN (SELECT value FROM json_each(?)) AND due_date BETWEEN ? AND ?",
            (
                guild_id,
                _LIVE_JSON,
                (today - timedelta(days=1)).isoformat(),
                (today + timedelta(days=2)).isoformat(),
            ),
        )

    # -- writes ----------------------------------------------------------------------------
    async def create(self, guild_id: int, actor: Actor, draft: TaskDraft, now: datetime) -> Task:
        return await self.db.write(create_task, guild_id, actor, draft, now)

    async def set_status(
        self,
        guild_id: int,
        task_id: int,
        actor: Actor,
        status: str,
        now: datetime,
        note: str | None = None,
    ) -> StatusChange:
        return await self.db.write(
            change_status, guild_id, task_id, actor, status, note, now, self.holidays
        )

    async def cancel(
        self, guild_id: int, task_id: int, actor: Actor, now: datetime, reason: str | None = None
    ) -> StatusChange:
        return await self.set_status(guild_id, task_id, actor, "cancelled", now, reason)

    async def assign(
        self,
        guild_id: int,
        task_id: int,
        actor: Actor,
        assignee_id: int,
        now: datetime,
        note: str | None = None,
    ) -> Task:
        return await self.db.write(assign_task, guild_id, task_id, actor, assignee_id, note, now)

    async def claim(self, guild_id: int, task_id: int, actor: Actor, now: datetime) -> Task:
        return await self.db.write(claim_task, guild_id, task_id, actor, now)

    async def edit(
        self, guild_id: int, task_id: int, actor: Actor, changes: TaskChanges, now: datetime
    ) -> Task:
        return await self.db.write(edit_task, guild_id, task_id, actor, changes, now)

    async def comment(
        self, guild_id: int, task_id: int, actor: Actor, text: str, now: datetime
    ) -> TaskComment:
        return await self.db.write(add_comment, guild_id, task_id, actor, text, now)

    # -- cards and boards ------------------------------------------------------------------
    async def set_card(self, task_id: int, channel_id: int, message_id: int) -> None:
        await self.db.write(set_card, task_id, channel_id, message_id)

    async def add_dm_card(self, task_id: int, channel_id: int, message_id: int) -> None:
        await self.db.write(_add_dm_card, task_id, channel_id, message_id)

    async def dm_cards(self, task_id: int) -> list[tuple[int, int]]:
        rows = await self.db.fetchall(
            "SELECT channel_id, message_id FROM task_dm_cards WHERE task_id = ?", (task_id,)
        )
        return [(row["channel_id"], row["message_id"]) for row in rows]

    async def forget_dm_card(self, task_id: int, message_id: int) -> None:
        await self.db.write(_forget_dm_card, task_id, message_id)

    async def boards(self, guild_id: int) -> list[Board]:
        rows = await self.db.fetchall(
            "SELECT * FROM task_boards WHERE guild_id = ? ORDER BY channel_id", (guild_id,)
        )
        return [board_from_row(row) for row in rows]

    async def board_guilds(self) -> list[int]:
        rows = await self.db.fetchall("SELECT DISTINCT guild_id FROM task_boards ORDER BY guild_id")
        return [row["guild_id"] for row in rows]

    async def board(self, channel_id: int) -> Board | None:
        row = await self.db.fetchone(
            "SELECT * FROM task_boards WHERE channel_id = ?", (channel_id,)
        )
        return board_from_row(row) if row else None

    async def save_board(
        self,
        guild_id: int,
        channel_id: int,
        message_ids: Sequence[int],
        actor: Actor,
        now: datetime,
    ) -> SavedBoard:
        return await self.db.write(
            save_board, guild_id, channel_id, message_ids, actor.user_id, now, actor.is_manager
        )

    async def set_board_messages(self, channel_id: int, message_ids: Sequence[int]) -> None:
        await self.db.write(_set_board_messages, channel_id, list(message_ids))

    async def drop_board(self, channel_id: int) -> None:
        await self.db.write(_drop_board, channel_id)


def _add_dm_card(conn: sqlite3.Connection, task_id: int, channel_id: int, message_id: int) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO task_dm_cards (task_id, channel_id, message_id) VALUES (?, ?, ?)",
        (task_id, channel_id, message_id),
    )


def _forget_dm_card(conn: sqlite3.Connection, task_id: int, message_id: int) -> None:
    conn.execute(
        "DELETE FROM task_dm_cards WHERE task_id = ? AND message_id = ?", (task_id, message_id)
    )


def _set_board_messages(conn: sqlite3.Connection, channel_id: int, message_ids: list[int]) -> None:
    conn.execute(
        "UPDATE task_boards SET message_ids = ? WHERE channel_id = ?",
        (json.dumps(message_ids), channel_id),
    )


def _drop_board(conn: sqlite3.Connection, channel_id: int) -> None:
    conn.execute("DELETE FROM task_boards WHERE channel_id = ?", (channel_id,))


def _completion_times(
    conn: sqlite3.Connection, guild_id: int, start: str, end: str, assignee_id: int | None
) -> list[datetime]:
    rows = conn.execute(
        "SELECT completed_at FROM tasks WHERE guild_id = ? AND status = 'done'"
        " AND completed_at >= ? AND completed_at < ? AND (? IS NULL OR assignee_id = ?)",
        (guild_id, start, end, assignee_id, assignee_id),
    ).fetchall()
    return [datetime.fromisoformat(row[0]).astimezone(UTC) for row in rows if row[0]]
