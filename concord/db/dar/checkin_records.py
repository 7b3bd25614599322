"""Check-ins' results and row mapping (issue 21), shared by the transaction functions
(``checkin_transactions``) and ``CheckinManager`` (``checkins``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from concord.core.checkins import (
    CheckIn,
    Question,
)
from concord.core.schedule import parse_hhmm, parse_workdays
from concord.db.portable import Conn, DbRow
from concord.errors import NotFound

log: logging.Logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """A member's report (or skip) of a check-in for a day, with its answers by question id."""

    id: int
    checkin_id: int
    user_id: int
    day: date
    status: str
    skip_reason: str | None
    late: bool
    submitted_at: datetime
    edits: int
    answers: Mapping[int, str]
    labels: Mapping[int, str]
    post_channel_id: int | None = None
    post_message_id: int | None = None


@dataclass(frozen=True)
class EntryResult:
    entry: Entry
    created: bool


@dataclass(frozen=True)
class CheckinChanges:
    """What ``/dar checkin create`` / ``edit`` sets (None: unchanged / the default)."""

    name: str | None = None
    channel_id: int | None = None
    schedule: str | None = None
    days: frozenset[int] | None = None
    at: time | None = None
    on_date: date | None = None
    role_id: int | None = None
    post_each: str | None = None
    post_summary: bool | None = None


# -- rows ------------------------------------------------------------------------------------
def question_from_row(row: DbRow) -> Question:
    return Question(
        id=row["id"],
        position=row["position"],
        label=row["label"],
        kind=row["kind"],
        unit=row["unit"],
        options=tuple(row["options"].split("\n")) if row["options"] else (),
        required=bool(row["required"]),
        role=row["role"],
    )


def checkin_from_row(row: DbRow, questions: Sequence[Question]) -> CheckIn:
    return CheckIn(
        id=row["id"],
        guild_id=row["guild_id"],
        name=row["name"],
        is_default=bool(row["is_default"]),
        channel_id=row["channel_id"],
        schedule=row["kind"],
        days=parse_workdays(row["days"]) if row["days"] else None,
        at=parse_hhmm(row["at_time"]) if row["at_time"] else None,
        on_date=date.fromisoformat(row["on_date"]) if row["on_date"] else None,
        role_id=row["role_id"],
        paused=bool(row["paused"]),
        post_each=row["post_each"],
        post_summary=bool(row["post_summary"]),
        questions=tuple(questions),
    )


def read_questions(conn: Conn, checkin_id: int) -> list[Question]:
    rows = conn.execute(
        "SELECT * FROM dar_questions WHERE checkin_id = ? AND removed_at IS NULL ORDER BY position",
        (checkin_id,),
    ).fetchall()
    return [question_from_row(row) for row in rows]


def read_checkin(conn: Conn, guild_id: int, checkin_id: int) -> CheckIn:
    row = conn.execute(
        "SELECT * FROM dar_checkins WHERE id = ? AND guild_id = ? AND deleted_at IS NULL",
        (checkin_id, guild_id),
    ).fetchone()
    if row is None:
        raise NotFound("That check-in does not exist (any more).")
    return checkin_from_row(row, read_questions(conn, checkin_id))


def read_entry(conn: Conn, entry_id: int) -> Entry:
    row = conn.execute("SELECT * FROM dar_entries WHERE id = ?", (entry_id,)).fetchone()
    answers = conn.execute(
        "SELECT question_id, label, value FROM dar_answers WHERE entry_id = ?", (entry_id,)
    ).fetchall()
    return Entry(
        id=row["id"],
        checkin_id=row["checkin_id"],
        user_id=row["user_id"],
        day=date.fromisoformat(row["day"]),
        status=row["status"],
        skip_reason=row["skip_reason"],
        late=bool(row["late"]),
        submitted_at=datetime.fromisoformat(row["submitted_at"]).astimezone(UTC),
        edits=row["edits"],
        answers={a["question_id"]: a["value"] for a in answers},
        labels={a["question_id"]: a["label"] for a in answers},
        post_channel_id=row["post_channel_id"],
        post_message_id=row["post_message_id"],
    )


# -- transaction functions -------------------------------------------------------------------


@dataclass(frozen=True)
class Rhythm:
    remind_at: time | None
    workdays: frozenset[int] | None
