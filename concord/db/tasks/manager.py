"""``TaskManager``: the async face over the transaction functions, and the reads (for the cogs,
and for DAR and Leave through the documented methods).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from concord.core.settings import GuildConfig
from concord.core.tasks import (
    LIVE_STATUSES,
    STATUSES,
    Actor,
    Task,
    TaskChanges,
    TaskComment,
    TaskDraft,
    TaskEvent,
    deadline,
    is_overdue,
    parse_task_ref,
    search_words,
    sort_tasks,
    task_as_of,
)
from concord.db.guilds import GuildSettings, guild_holidays, utcnow_iso
from concord.db.portable import Conn, Db, contains_all, in_list, named_in_list
from concord.db.tasks.records import (
    Board,
    HolidayLookup,
    SavedBoard,
    StatusChange,
    board_from_row,
    comment_from_row,
    event_from_row,
    task_from_row,
)
from concord.db.tasks.transactions import (
    _add_dm_card,
    _drop_board,
    _forget_dm_card,
    _set_board_messages,
    add_comment,
    assign_task,
    change_status,
    claim_task,
    create_task,
    edit_task,
    reassign_tasks,
    save_board,
    set_card,
)
from concord.errors import NotFound, UserError

log: logging.Logger = logging.getLogger(__name__)

AUTOCOMPLETE_LIMIT = 25
LIST_LIMIT = 500
# The live statuses as a portable IN list: ``status IN {_LIVE_IN}`` with ``*_LIVE``.
_LIVE_IN: str
_LIVE: tuple[str, ...]
_LIVE_IN, _LIVE = in_list(sorted(LIVE_STATUSES))


# -- the async face --------------------------------------------------------------------------
class TaskManager:
    """Tasks for the cogs (and for DAR and Leave, through the documented methods)."""

    def __init__(self, db: Db, *, holidays: HolidayLookup | None = guild_holidays) -> None:
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
        wanted, status_params = named_in_list("s", sorted(statuses))
        matching, word_params = contains_all(
            "lower(t.title || ' ' || t.description)", "w", search_words(query)
        )
        tasks = await self._tasks(
            "SELECT * FROM tasks t WHERE t.guild_id = :guild"  # noqa: S608 (placeholders only)
            f" AND t.status IN {wanted}"
            " AND (CAST(:assignee AS BIGINT) IS NULL OR t.assignee_id = :assignee)"
            f" AND {matching}"
            " ORDER BY t.status IN ('done', 'cancelled'), coalesce(t.completed_at, t.updated_at) DESC"
            " LIMIT :limit",
            {
                "guild": guild_id,
                "assignee": assignee_id,
                "limit": limit,
                **status_params,
                **word_params,
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
            f"SELECT * FROM tasks WHERE guild_id = ? AND (status IN {_LIVE_IN}"  # noqa: S608
            " OR (status = 'done' AND completed_at >= ?))",
            (guild_id, *_LIVE, utcnow_iso(start)),
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
        rest_match, rest_params = contains_all("lower(t.title)", "r", rest)
        words_match, words_params = contains_all("lower(t.title)", "w", words)
        live, live_params = named_in_list("l", sorted(LIVE_STATUSES))
        return await self._tasks(
            "SELECT * FROM tasks t WHERE t.guild_id = :guild AND ("  # noqa: S608 (placeholders)
            "(CAST(:id_prefix AS TEXT) IS NOT NULL AND CAST(t.id AS TEXT) LIKE :id_prefix || '%'"
            f" AND {rest_match})"
            f" OR (:by_id_only = 0 AND {words_match}))"
            " ORDER BY CAST(t.id AS TEXT) = :id_prefix DESC,"
            f" (t.status IN {live}"
            "  AND (t.assignee_id = :user OR t.creator_id = :user)) DESC,"
            f" t.status IN {live} DESC, t.id DESC"
            " LIMIT :limit",
            {
                "guild": guild_id,
                "user": user_id,
                "id_prefix": id_prefix,
                "by_id_only": int(by_id_only),
                "limit": AUTOCOMPLETE_LIMIT,
                **rest_params,
                **words_params,
                **live_params,
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
            "SELECT * FROM tasks WHERE guild_id = ? AND assignee_id = ?"  # noqa: S608
            f" AND status IN {_LIVE_IN}"
            " ORDER BY due_date IS NULL, due_date, due_time IS NULL, due_time, id",
            (guild_id, user_id, *_LIVE),
        )

    async def overdue(self, guild_id: int, now: datetime) -> list[Task]:
        """Live tasks past their deadline at ``now``, most overdue first."""
        config = await self._config(guild_id)
        today = now.astimezone(config.tz).date()
        candidates = await self._tasks(
            f"SELECT * FROM tasks WHERE guild_id = ? AND due_date <= ? AND status IN {_LIVE_IN}",  # noqa: S608
            (guild_id, today.isoformat(), *_LIVE),
        )
        return sort_tasks([t for t in candidates if is_overdue(t, now, config.tz)], now, config.tz)

    async def overdue_at(self, guild_id: int, moment: datetime) -> list[Task]:
        """The tasks that were overdue at a past ``moment``, as they were then (status,
        assignee and due date replayed back from the history), most overdue first."""
        config = await self._config(guild_id)
        stamp = utcnow_iso(moment)
        candidates = await self._tasks(
            "SELECT * FROM tasks t WHERE guild_id = ? AND created_at <= ? AND ("  # noqa: S608
            f" status IN {_LIVE_IN}"
            " OR EXISTS (SELECT 1 FROM task_events e WHERE e.task_id = t.id AND e.at > ?))",
            (guild_id, stamp, *_LIVE, stamp),
        )
        later: dict[int, list[TaskEvent]] = {}
        if candidates:
            ids, id_params = in_list(t.id for t in candidates)
            rows = await self.db.fetchall(
                f"SELECT * FROM task_events WHERE at > ? AND task_id IN {ids}",  # noqa: S608
                (stamp, *id_params),
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
            "SELECT * FROM tasks WHERE guild_id = ? AND assignee_id = ?"  # noqa: S608
            f" AND status IN {_LIVE_IN} AND due_date BETWEEN ? AND ?"
            " ORDER BY due_date, due_time IS NULL, due_time, id",
            (guild_id, user_id, *_LIVE, start.isoformat(), end.isoformat()),
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
            "SELECT * FROM tasks WHERE guild_id = ? AND assignee_id IS NOT NULL"  # noqa: S608
            f" AND status IN {_LIVE_IN} AND due_date BETWEEN ? AND ?",
            (
                guild_id,
                *_LIVE,
                (today - timedelta(days=1)).isoformat(),
                (today + timedelta(days=2)).isoformat(),
            ),
        )

    async def guilds_due_soon(self, now: datetime) -> set[int]:
        """Guilds with a live assigned task due around now in any timezone (index
        tasks_due_assigned): a superset of those :meth:`due_soon_candidates` finds tasks in."""
        today = now.astimezone(UTC).date()
        live = sorted(LIVE_STATUSES)
        marks = ", ".join("?" for _ in live)
        rows = await self.db.fetchall(
            "SELECT DISTINCT guild_id FROM tasks WHERE assignee_id IS NOT NULL"  # noqa: S608 (placeholders only)
            f" AND due_date BETWEEN ? AND ? AND status IN ({marks})",
            (
                (today - timedelta(days=2)).isoformat(),
                (today + timedelta(days=3)).isoformat(),
                *live,
            ),
        )
        return {int(r["guild_id"]) for r in rows}

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


def _completion_times(
    conn: Conn, guild_id: int, start: str, end: str, assignee_id: int | None
) -> list[datetime]:
    rows = conn.execute(
        "SELECT completed_at FROM tasks WHERE guild_id = ? AND status = 'done'"
        " AND completed_at >= ? AND completed_at < ?"
        " AND (CAST(? AS BIGINT) IS NULL OR assignee_id = ?)",
        (guild_id, start, end, assignee_id, assignee_id),
    ).fetchall()
    return [datetime.fromisoformat(row[0]).astimezone(UTC) for row in rows if row[0]]
