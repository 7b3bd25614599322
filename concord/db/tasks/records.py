"""Tasks' results (frozen dataclasses) and row mapping, shared by the transaction functions and
``TaskManager``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from concord.core.tasks import Task, TaskComment, TaskEvent
from concord.db.portable import Conn, DbRow

log: logging.Logger = logging.getLogger(__name__)

# (conn, guild_id, first, last) → the guild's holidays in [first, last]; run inside the
# completion transaction so a weekdays series skips them.
HolidayLookup = Callable[[Conn, int, date, date], Collection[date]]


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


def task_from_row(row: DbRow) -> Task:
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


def event_from_row(row: DbRow) -> TaskEvent:
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


def comment_from_row(row: DbRow) -> TaskComment:
    return TaskComment(
        id=row["id"],
        task_id=row["task_id"],
        author_id=row["author_id"],
        body=row["body"],
        at=_required_dt(row["at"]),
    )


def board_from_row(row: DbRow) -> Board:
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
