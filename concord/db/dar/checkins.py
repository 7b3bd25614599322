"""Check-ins in the database (issue 21): the transaction functions ``db.write`` runs (create,
edit, pause, delete a check-in; save its questions; file or skip a day; remember where a report
was posted) and :class:`CheckinManager`, the async face the cog uses.

Every office has a default check-in "Daily report" (made by migration 0011 for the offices that
existed, on first use for new ones). Its reports stay in ``dar_reports`` (``submit_report``
mirrors them as an entry with answers); the other check-ins' reports are entries only.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import IO
from zoneinfo import ZoneInfo

from concord.core.actor import Actor
from concord.core.checkins import (
    DEFAULT_NAME,
    MAX_QUESTIONS,
    CheckIn,
    Question,
    QuestionDraft,
    format_days,
)
from concord.core.dar import ReportDraft, is_late, local_date, zone_for
from concord.core.schedule import format_hhmm, parse_hhmm, parse_workdays
from concord.db.dar_export import write_table
from concord.db.database import Database
from concord.db.guilds import read_config, utcnow_iso, write_audit
from concord.errors import NotFound, PermissionDenied, UserError

log: logging.Logger = logging.getLogger(__name__)

MANAGERS_ONLY = "Only managers can change check-ins."
DEFAULT_QUESTIONS: tuple[QuestionDraft, ...] = (
    QuestionDraft("Done", "long", role="done"),
    QuestionDraft("Plan", "long", role="plan"),
    QuestionDraft("Blockers", "long", required=False, role="blockers"),
    QuestionDraft("Hours", "number", unit="h", required=False, role="hours"),
)


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
def question_from_row(row: sqlite3.Row) -> Question:
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


def checkin_from_row(row: sqlite3.Row, questions: Sequence[Question]) -> CheckIn:
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


def read_questions(conn: sqlite3.Connection, checkin_id: int) -> list[Question]:
    rows = conn.execute(
        "SELECT * FROM dar_questions WHERE checkin_id = ? AND removed_at IS NULL ORDER BY position",
        (checkin_id,),
    ).fetchall()
    return [question_from_row(row) for row in rows]


def read_checkin(conn: sqlite3.Connection, guild_id: int, checkin_id: int) -> CheckIn:
    row = conn.execute(
        "SELECT * FROM dar_checkins WHERE id = ? AND guild_id = ? AND deleted_at IS NULL",
        (checkin_id, guild_id),
    ).fetchone()
    if row is None:
        raise NotFound("That check-in does not exist (any more).")
    return checkin_from_row(row, read_questions(conn, checkin_id))


def read_entry(conn: sqlite3.Connection, entry_id: int) -> Entry:
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
def _insert_questions(
    conn: sqlite3.Connection,
    checkin_id: int,
    drafts: Sequence[tuple[int, QuestionDraft]],
    stamp: str,
) -> None:
    for position, draft in drafts:
        row = conn.execute(
            "INSERT INTO dar_questions (checkin_id, position, label, kind, unit, options,"
            " required, role, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                checkin_id,
                position,
                draft.label,
                draft.kind,
                draft.unit,
                "\n".join(draft.options) or None,
                int(draft.required),
                draft.role,
                stamp,
            ),
        ).fetchone()
        conn.execute(
            "INSERT INTO dar_question_labels (question_id, label, since) VALUES (?, ?, ?)",
            (row["id"], draft.label, stamp),
        )


def ensure_default(conn: sqlite3.Connection, guild_id: int, now: datetime) -> int:
    """The id of the office's default check-in, made with today's four questions if missing."""
    row = conn.execute(
        "SELECT id FROM dar_checkins WHERE guild_id = ? AND is_default = 1", (guild_id,)
    ).fetchone()
    if row is not None:
        return int(row["id"])
    stamp = utcnow_iso(now)
    made = conn.execute(
        "INSERT INTO dar_checkins (guild_id, name, is_default, created_by, created_at)"
        " VALUES (?, ?, 1, 0, ?) RETURNING id",
        (guild_id, DEFAULT_NAME, stamp),
    ).fetchone()
    checkin_id = int(made["id"])
    _insert_questions(conn, checkin_id, list(enumerate(DEFAULT_QUESTIONS, start=1)), stamp)
    return checkin_id


def _require_manager(actor: Actor) -> None:
    if not actor.is_manager:
        raise PermissionDenied(MANAGERS_ONLY)


def _name_free(conn: sqlite3.Connection, guild_id: int, name: str, except_id: int = 0) -> None:
    clash = conn.execute(
        "SELECT id FROM dar_checkins WHERE guild_id = ? AND lower(name) = lower(?)"
        " AND deleted_at IS NULL AND id <> ?",
        (guild_id, name, except_id),
    ).fetchone()
    if clash is not None:
        raise UserError(f"There is already a check-in called **{name}**.")


def _check_schedule(schedule: str, days: frozenset[int] | None, on_date: date | None) -> None:
    if schedule == "once" and on_date is None:
        raise UserError("A one-off check-in needs a `date`.")
    if schedule == "weekly" and days is not None and len(days) != 1:
        raise UserError("A weekly check-in runs on one day: give `days` as e.g. `fri`.")
    if schedule == "weekly" and days is None:
        raise UserError("A weekly check-in needs its day: `days:fri`.")


def create_checkin(
    conn: sqlite3.Connection, guild_id: int, actor: Actor, changes: CheckinChanges, now: datetime
) -> CheckIn:
    _require_manager(actor)
    ensure_default(conn, guild_id, now)
    assert changes.name is not None
    _name_free(conn, guild_id, changes.name)
    schedule = changes.schedule or "daily"
    _check_schedule(schedule, changes.days, changes.on_date)
    stamp = utcnow_iso(now)
    row = conn.execute(
        "INSERT INTO dar_checkins (guild_id, name, channel_id, kind, days, at_time, on_date,"
        " role_id, post_each, post_summary, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            guild_id,
            changes.name,
            changes.channel_id,
            schedule,
            format_days(changes.days),
            format_hhmm(changes.at) if changes.at else None,
            changes.on_date.isoformat() if changes.on_date else None,
            changes.role_id,
            changes.post_each or "off",
            1 if changes.post_summary is None else int(changes.post_summary),
            actor.user_id,
            stamp,
        ),
    ).fetchone()
    checkin_id = int(row["id"])
    # A new check-in starts with one open question; /dar questions shapes it.
    _insert_questions(conn, checkin_id, [(1, QuestionDraft("Update", "long"))], stamp)
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor.user_id,
        action="dar.checkin.create",
        subject=f"checkin:{checkin_id}",
        after={"name": changes.name, "schedule": schedule},
        now=now,
    )
    return read_checkin(conn, guild_id, checkin_id)


def edit_checkin(
    conn: sqlite3.Connection,
    guild_id: int,
    checkin_id: int,
    actor: Actor,
    changes: CheckinChanges,
    now: datetime,
) -> CheckIn:
    _require_manager(actor)
    before = read_checkin(conn, guild_id, checkin_id)
    if changes.name is not None:
        _name_free(conn, guild_id, changes.name, checkin_id)
    allowed = CheckinChanges(
        name=changes.name, post_each=changes.post_each, post_summary=changes.post_summary
    )
    if before.is_default and changes != allowed:
        raise UserError(
            "The Daily report follows `/dar setup` (reports channel, reminder and summary "
            "times), the office's workdays and staff role: here only its name and `post` can "
            "change, and `/dar checkin pause` stops its reminders. Make another check-in for the "
            "rest."
        )
    schedule = changes.schedule or before.schedule
    days = changes.days if changes.days is not None else before.days
    on_date = changes.on_date or before.on_date
    _check_schedule(schedule, days, on_date)
    updated = conn.execute(
        "UPDATE dar_checkins SET name = coalesce(?, name), channel_id = coalesce(?, channel_id),"
        " kind = ?, days = ?, at_time = coalesce(?, at_time), on_date = ?,"
        " role_id = coalesce(?, role_id), post_each = coalesce(?, post_each),"
        " post_summary = coalesce(?, post_summary)"
        " WHERE id = ? AND guild_id = ? AND deleted_at IS NULL",
        (
            changes.name,
            changes.channel_id,
            schedule,
            format_days(days),
            format_hhmm(changes.at) if changes.at else None,
            on_date.isoformat() if on_date else None,
            changes.role_id,
            changes.post_each,
            None if changes.post_summary is None else int(changes.post_summary),
            checkin_id,
            guild_id,
        ),
    )
    if updated.rowcount != 1:  # pragma: no cover - read_checkin found it in this transaction
        raise NotFound("That check-in does not exist (any more).")
    after = read_checkin(conn, guild_id, checkin_id)
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor.user_id,
        action="dar.checkin.edit",
        subject=f"checkin:{checkin_id}",
        before={"name": before.name, "schedule": before.schedule},
        after={"name": after.name, "schedule": after.schedule},
        now=now,
    )
    return after


def set_paused(
    conn: sqlite3.Connection,
    guild_id: int,
    checkin_id: int,
    actor: Actor,
    paused: bool,
    now: datetime,
) -> bool:
    """Pause or resume; False when it already was."""
    _require_manager(actor)
    read_checkin(conn, guild_id, checkin_id)
    changed = conn.execute(
        "UPDATE dar_checkins SET paused = ? WHERE id = ? AND guild_id = ? AND paused = ?"
        " AND deleted_at IS NULL",
        (int(paused), checkin_id, guild_id, int(not paused)),
    ).rowcount
    if changed:
        write_audit(
            conn,
            guild_id=guild_id,
            actor_id=actor.user_id,
            action="dar.checkin.pause" if paused else "dar.checkin.resume",
            subject=f"checkin:{checkin_id}",
            now=now,
        )
    return bool(changed)


def delete_checkin(
    conn: sqlite3.Connection, guild_id: int, checkin_id: int, actor: Actor, now: datetime
) -> str:
    """Delete (its reports stay for exports); the default check-in can only be paused."""
    _require_manager(actor)
    checkin = read_checkin(conn, guild_id, checkin_id)
    if checkin.is_default:
        raise UserError("The Daily report can't be deleted; pause it instead.")
    conn.execute(
        "UPDATE dar_checkins SET deleted_at = ? WHERE id = ? AND guild_id = ?"
        " AND deleted_at IS NULL",
        (utcnow_iso(now), checkin_id, guild_id),
    )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor.user_id,
        action="dar.checkin.delete",
        subject=f"checkin:{checkin_id}",
        before={"name": checkin.name},
        now=now,
    )
    return checkin.name


def save_questions(
    conn: sqlite3.Connection,
    guild_id: int,
    checkin_id: int,
    actor: Actor,
    drafts: Sequence[QuestionDraft | None],
    now: datetime,
) -> CheckIn:
    """Position by position: a new label on an existing question is a rename (its old answers
    keep the old label); a blank line removes the question (its answers stay)."""
    _require_manager(actor)
    checkin = read_checkin(conn, guild_id, checkin_id)
    if checkin.is_default:
        raise UserError(
            "The Daily report keeps its Done, Plan, Blockers and Hours; make a check-in of "
            "your own (`/dar checkin create`) for other questions."
        )
    if len(drafts) > MAX_QUESTIONS:
        raise UserError(f"A check-in has at most {MAX_QUESTIONS} questions.")
    stamp = utcnow_iso(now)
    by_position = {q.position: q for q in checkin.questions}
    new: list[tuple[int, QuestionDraft]] = []
    for position, draft in enumerate(drafts, start=1):
        current = by_position.get(position)
        if current is not None and (draft is None or draft.kind != current.kind):
            # Removed, or a different kind of answer: a new question from now on.
            conn.execute(
                "UPDATE dar_questions SET removed_at = ? WHERE id = ? AND removed_at IS NULL",
                (stamp, current.id),
            )
            current = None
        if draft is None:
            continue
        if current is None:
            new.append((position, draft))
            continue
        conn.execute(
            "UPDATE dar_questions SET label = ?, unit = ?, options = ?, required = ?, role = ?"
            " WHERE id = ?",
            (
                draft.label,
                draft.unit,
                "\n".join(draft.options) or None,
                int(draft.required),
                draft.role,
                current.id,
            ),
        )
        if draft.label != current.label:
            conn.execute(
                "INSERT INTO dar_question_labels (question_id, label, since) VALUES (?, ?, ?)"
                " ON CONFLICT (question_id, since) DO UPDATE SET label = excluded.label",
                (current.id, draft.label, stamp),
            )
    _insert_questions(conn, checkin_id, new, stamp)
    after = read_checkin(conn, guild_id, checkin_id)
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor.user_id,
        action="dar.checkin.questions",
        subject=f"checkin:{checkin_id}",
        before=[q.spec() for q in checkin.questions],
        after=[q.spec() for q in after.questions],
        now=now,
    )
    return after


def _member_zone(conn: sqlite3.Connection, guild_id: int, office: str, user_id: int) -> ZoneInfo:
    row = conn.execute(
        "SELECT timezone FROM member_settings WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    ).fetchone()
    return zone_for(row["timezone"] if row else None, office)


def submit_entry(
    conn: sqlite3.Connection,
    guild_id: int,
    checkin_id: int,
    user_id: int,
    day: date,
    answers: Mapping[int, str],
    now: datetime,
) -> EntryResult:
    """File or edit a member's report of a check-in that is not the default one."""
    checkin = read_checkin(conn, guild_id, checkin_id)
    if checkin.is_default:  # pragma: no cover - the cog files those through submit_report
        raise UserError("File the Daily report with /dar submit.")
    config = read_config(conn, guild_id)
    zone = _member_zone(conn, guild_id, config.timezone, user_id)
    if day > local_date(now, zone):
        raise UserError("That day hasn't happened yet.")
    stamp = utcnow_iso(now)
    row = conn.execute(
        "SELECT id, status, edits FROM dar_entries WHERE checkin_id = ? AND user_id = ?"
        " AND day = ?",
        (checkin_id, user_id, day.isoformat()),
    ).fetchone()
    if row is None:
        late = is_late(now, day, config.dar_summary, zone)
        made = conn.execute(
            "INSERT INTO dar_entries (guild_id, checkin_id, user_id, day, status, late,"
            " submitted_at, updated_at) VALUES (?, ?, ?, ?, 'filed', ?, ?, ?) RETURNING id",
            (guild_id, checkin_id, user_id, day.isoformat(), int(late), stamp, stamp),
        ).fetchone()
        entry_id, created = int(made["id"]), True
    else:
        entry_id, created = int(row["id"]), row["status"] == "skipped"
        conn.execute(
            "UPDATE dar_entries SET status = 'filed', skip_reason = NULL, updated_at = ?,"
            " edits = edits + ? WHERE id = ? AND edits = ?",
            (stamp, 0 if created else 1, entry_id, row["edits"]),
        )
    _write_answers(conn, entry_id, checkin.questions, answers)
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=user_id,
        action="dar.checkin.submit" if created else "dar.checkin.edit_report",
        subject=f"entry:{entry_id}",
        after={"checkin": checkin_id, "day": day.isoformat()},
        now=now,
    )
    return EntryResult(read_entry(conn, entry_id), created)


def _write_answers(
    conn: sqlite3.Connection,
    entry_id: int,
    questions: Sequence[Question],
    answers: Mapping[int, str],
) -> None:
    for question in questions:
        value = answers.get(question.id)
        if value is None:
            conn.execute(
                "DELETE FROM dar_answers WHERE entry_id = ? AND question_id = ?",
                (entry_id, question.id),
            )
            continue
        conn.execute(
            "INSERT INTO dar_answers (entry_id, question_id, label, value) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (entry_id, question_id) DO UPDATE SET value = excluded.value",
            (entry_id, question.id, question.label, value),
        )


def mirror_report(
    conn: sqlite3.Connection,
    guild_id: int,
    report_id: int,
    draft: ReportDraft,
    now: datetime,
) -> None:
    """The default check-in's entry and answers for a dar_reports row just filed or edited
    (inside ``submit_report``'s transaction)."""
    checkin_id = ensure_default(conn, guild_id, now)
    report = conn.execute("SELECT * FROM dar_reports WHERE id = ?", (report_id,)).fetchone()
    conn.execute(
        "INSERT INTO dar_entries (guild_id, checkin_id, user_id, day, status, report_id, late,"
        " submitted_at, updated_at, edits) VALUES (?, ?, ?, ?, 'filed', ?, ?, ?, ?, ?)"
        " ON CONFLICT (checkin_id, user_id, day) DO UPDATE SET status = 'filed',"
        " skip_reason = NULL, report_id = excluded.report_id, updated_at = excluded.updated_at,"
        " edits = excluded.edits",
        (
            guild_id,
            checkin_id,
            report["user_id"],
            report["day"],
            report_id,
            report["late"],
            report["submitted_at"],
            report["updated_at"],
            report["edits"],
        ),
    )
    entry = conn.execute(
        "SELECT id FROM dar_entries WHERE checkin_id = ? AND user_id = ? AND day = ?",
        (checkin_id, report["user_id"], report["day"]),
    ).fetchone()
    by_role = {
        "done": draft.done,
        "plan": draft.plan,
        "blockers": draft.blockers,
        "hours": _hours_value(draft.minutes),
    }
    questions = read_questions(conn, checkin_id)
    answers = {q.id: v for q in questions if (v := by_role.get(q.role)) is not None}
    _write_answers(conn, int(entry["id"]), [q for q in questions if q.role != "none"], answers)


def _hours_value(minutes: int | None) -> str | None:
    if minutes is None:
        return None
    hours, rest = divmod(minutes, 60)
    return f"{hours}:{rest:02d}" if rest else str(hours)


def skip_day(
    conn: sqlite3.Connection,
    guild_id: int,
    user_id: int,
    day: date,
    reason: str | None,
    now: datetime,
) -> bool:
    """Record that the member skips the Daily report of ``day`` (not missing); False when a
    report or a skip is already there."""
    checkin_id = ensure_default(conn, guild_id, now)
    filed = conn.execute(
        "SELECT 1 FROM dar_reports WHERE guild_id = ? AND user_id = ? AND day = ?",
        (guild_id, user_id, day.isoformat()),
    ).fetchone()
    if filed is not None:
        return False
    stamp = utcnow_iso(now)
    made = conn.execute(
        "INSERT INTO dar_entries (guild_id, checkin_id, user_id, day, status, skip_reason,"
        " submitted_at, updated_at) VALUES (?, ?, ?, ?, 'skipped', ?, ?, ?)"
        " ON CONFLICT (checkin_id, user_id, day) DO NOTHING",
        (guild_id, checkin_id, user_id, day.isoformat(), reason, stamp, stamp),
    ).rowcount
    if made:
        write_audit(
            conn,
            guild_id=guild_id,
            actor_id=user_id,
            action="dar.skip",
            subject=f"member:{user_id}",
            after={"day": day.isoformat(), "reason": reason},
            now=now,
        )
    return bool(made)


def set_post(conn: sqlite3.Connection, entry_id: int, channel_id: int, message_id: int) -> None:
    conn.execute(
        "UPDATE dar_entries SET post_channel_id = ?, post_message_id = ? WHERE id = ?",
        (channel_id, message_id, entry_id),
    )


def save_thread(
    conn: sqlite3.Connection, checkin_id: int, day: date, channel_id: int, thread_id: int
) -> int:
    """The day's thread of a check-in: the one already saved wins (returned)."""
    conn.execute(
        "INSERT INTO dar_threads (checkin_id, day, channel_id, thread_id) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (checkin_id, day) DO NOTHING",
        (checkin_id, day.isoformat(), channel_id, thread_id),
    )
    row = conn.execute(
        "SELECT thread_id FROM dar_threads WHERE checkin_id = ? AND day = ?",
        (checkin_id, day.isoformat()),
    ).fetchone()
    return int(row["thread_id"])


def set_rhythm(
    conn: sqlite3.Connection,
    guild_id: int,
    user_id: int,
    remind_at: time | None,
    workdays: frozenset[int] | None,
    clear: bool,
    now: datetime,
) -> None:
    if clear:
        conn.execute(
            "DELETE FROM dar_member_rhythm WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
    else:
        conn.execute(
            "INSERT INTO dar_member_rhythm (guild_id, user_id, remind_at, workdays)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
            " remind_at = coalesce(excluded.remind_at, remind_at),"
            " workdays = coalesce(excluded.workdays, workdays)",
            (
                guild_id,
                user_id,
                format_hhmm(remind_at) if remind_at else None,
                format_days(workdays),
            ),
        )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=user_id,
        action="dar.rhythm",
        subject=f"member:{user_id}",
        after=None if clear else {"remind_at": format_hhmm(remind_at) if remind_at else None},
        now=now,
    )


@dataclass(frozen=True)
class Rhythm:
    remind_at: time | None
    workdays: frozenset[int] | None


# -- the async face --------------------------------------------------------------------------
class CheckinManager:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def default(self, guild_id: int, now: datetime) -> CheckIn:
        async def made() -> int:
            return await self.db.write(ensure_default, guild_id, now)

        row = await self.db.fetchone(
            "SELECT id FROM dar_checkins WHERE guild_id = ? AND is_default = 1", (guild_id,)
        )
        checkin_id = int(row["id"]) if row else await made()
        return await self.get(guild_id, checkin_id)

    async def settled(self, guild_id: int, checkin_id: int, day: date, kind: str) -> set[int]:
        """Members already asked (``kind`` claimed, keys ``<check-in>:<user>:<day>``) or with an
        entry for ``day``: two cheap reads before a pass does anything for anyone."""
        claimed = await self.db.fetchall(
            "SELECT key FROM notifications_sent WHERE guild_id = ? AND kind = ? AND key LIKE ?",
            (guild_id, kind, f"{checkin_id}:%:{day.isoformat()}"),
        )
        done = {int(row["key"].split(":")[1]) for row in claimed}
        rows = await self.db.fetchall(
            "SELECT user_id FROM dar_entries WHERE checkin_id = ? AND day = ?",
            (checkin_id, day.isoformat()),
        )
        return done | {int(row["user_id"]) for row in rows}

    async def daily_paused(self, guild_id: int) -> bool:
        """Whether the office paused its Daily report (no reminders then)."""
        row = await self.db.fetchone(
            "SELECT paused FROM dar_checkins WHERE guild_id = ? AND is_default = 1", (guild_id,)
        )
        return bool(row and row["paused"])

    async def guild_of(self, checkin_id: int) -> int:
        row = await self.db.fetchone(
            "SELECT guild_id FROM dar_checkins WHERE id = ? AND deleted_at IS NULL", (checkin_id,)
        )
        if row is None:
            raise NotFound("That check-in does not exist (any more).")
        return int(row["guild_id"])

    async def get(self, guild_id: int, checkin_id: int) -> CheckIn:
        row = await self.db.fetchone(
            "SELECT * FROM dar_checkins WHERE id = ? AND guild_id = ? AND deleted_at IS NULL",
            (checkin_id, guild_id),
        )
        if row is None:
            raise NotFound("That check-in does not exist (any more).")
        return checkin_from_row(row, await self._questions(checkin_id))

    async def _questions(self, checkin_id: int) -> list[Question]:
        rows = await self.db.fetchall(
            "SELECT * FROM dar_questions WHERE checkin_id = ? AND removed_at IS NULL"
            " ORDER BY position",
            (checkin_id,),
        )
        return [question_from_row(row) for row in rows]

    async def all(self, guild_id: int) -> list[CheckIn]:
        """The office's check-ins, the default one first (none before the DAR is used)."""
        rows = await self.db.fetchall(
            "SELECT * FROM dar_checkins WHERE guild_id = ? AND deleted_at IS NULL"
            " ORDER BY is_default DESC, lower(name)",
            (guild_id,),
        )
        return [checkin_from_row(row, await self._questions(row["id"])) for row in rows]

    async def by_name(self, guild_id: int, name: str, now: datetime) -> CheckIn:
        row = await self.db.fetchone(
            "SELECT id FROM dar_checkins WHERE guild_id = ? AND lower(name) = lower(?)"
            " AND deleted_at IS NULL",
            (guild_id, name.strip()),
        )
        if row is None:
            if name.strip().lower() == DEFAULT_NAME.lower():
                return await self.default(guild_id, now)
            raise NotFound(
                f"There is no check-in called **{name.strip()}**; see `/dar checkin list`."
            )
        return await self.get(guild_id, int(row["id"]))

    async def names(self, guild_id: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT name FROM dar_checkins WHERE guild_id = ? AND deleted_at IS NULL"
            " ORDER BY is_default DESC, lower(name)",
            (guild_id,),
        )
        return [row["name"] for row in rows] or [DEFAULT_NAME]

    async def create(
        self, guild_id: int, actor: Actor, changes: CheckinChanges, now: datetime
    ) -> CheckIn:
        return await self.db.write(create_checkin, guild_id, actor, changes, now)

    async def edit(
        self, guild_id: int, checkin_id: int, actor: Actor, changes: CheckinChanges, now: datetime
    ) -> CheckIn:
        return await self.db.write(edit_checkin, guild_id, checkin_id, actor, changes, now)

    async def pause(
        self, guild_id: int, checkin_id: int, actor: Actor, paused: bool, now: datetime
    ) -> bool:
        return await self.db.write(set_paused, guild_id, checkin_id, actor, paused, now)

    async def delete(self, guild_id: int, checkin_id: int, actor: Actor, now: datetime) -> str:
        return await self.db.write(delete_checkin, guild_id, checkin_id, actor, now)

    async def save_questions(
        self,
        guild_id: int,
        checkin_id: int,
        actor: Actor,
        drafts: Sequence[QuestionDraft | None],
        now: datetime,
    ) -> CheckIn:
        return await self.db.write(save_questions, guild_id, checkin_id, actor, drafts, now)

    async def submit(
        self,
        guild_id: int,
        checkin_id: int,
        user_id: int,
        day: date,
        answers: Mapping[int, str],
        now: datetime,
    ) -> EntryResult:
        return await self.db.write(submit_entry, guild_id, checkin_id, user_id, day, answers, now)

    async def entry(self, checkin_id: int, user_id: int, day: date) -> Entry | None:
        row = await self.db.fetchone(
            "SELECT id FROM dar_entries WHERE checkin_id = ? AND user_id = ? AND day = ?",
            (checkin_id, user_id, day.isoformat()),
        )
        if row is None:
            return None
        return await self.db.read_in_thread(read_entry, int(row["id"]))

    async def entry_by_id(self, guild_id: int, entry_id: int) -> Entry:
        row = await self.db.fetchone(
            "SELECT id FROM dar_entries WHERE id = ? AND guild_id = ?", (entry_id, guild_id)
        )
        if row is None:
            raise NotFound("That report does not exist in this server.")
        return await self.db.read_in_thread(read_entry, int(row["id"]))

    async def entries_on(self, checkin_id: int, day: date) -> list[Entry]:
        rows = await self.db.fetchall(
            "SELECT id FROM dar_entries WHERE checkin_id = ? AND day = ? ORDER BY user_id",
            (checkin_id, day.isoformat()),
        )
        return [await self.db.read_in_thread(read_entry, int(row["id"])) for row in rows]

    async def skip(
        self, guild_id: int, user_id: int, day: date, reason: str | None, now: datetime
    ) -> bool:
        return await self.db.write(skip_day, guild_id, user_id, day, reason, now)

    async def skipped_on(self, guild_id: int, day: date) -> dict[int, str | None]:
        """Members who skipped the Daily report of ``day``: user id → reason."""
        rows = await self.db.fetchall(
            "SELECT e.user_id, e.skip_reason FROM dar_entries e JOIN dar_checkins c"
            " ON c.id = e.checkin_id WHERE c.guild_id = ? AND c.is_default = 1 AND e.day = ?"
            " AND e.status = 'skipped'",
            (guild_id, day.isoformat()),
        )
        return {row["user_id"]: row["skip_reason"] for row in rows}

    async def set_post(self, entry_id: int, channel_id: int, message_id: int) -> None:
        await self.db.write(set_post, entry_id, channel_id, message_id)

    async def thread(self, checkin_id: int, day: date) -> int | None:
        row = await self.db.fetchone(
            "SELECT thread_id FROM dar_threads WHERE checkin_id = ? AND day = ?",
            (checkin_id, day.isoformat()),
        )
        return int(row["thread_id"]) if row else None

    async def save_thread(self, checkin_id: int, day: date, channel_id: int, thread_id: int) -> int:
        return await self.db.write(save_thread, checkin_id, day, channel_id, thread_id)

    async def set_rhythm(
        self,
        guild_id: int,
        user_id: int,
        remind_at: time | None,
        workdays: frozenset[int] | None,
        now: datetime,
        *,
        clear: bool = False,
    ) -> None:
        await self.db.write(set_rhythm, guild_id, user_id, remind_at, workdays, clear, now)

    async def export(self, job: CheckinExport, out: IO[bytes]) -> int:
        return await self.db.read_in_thread(job.run, out)

    async def rhythms(self, guild_id: int) -> dict[int, Rhythm]:
        rows = await self.db.fetchall(
            "SELECT user_id, remind_at, workdays FROM dar_member_rhythm WHERE guild_id = ?",
            (guild_id,),
        )
        return {
            row["user_id"]: Rhythm(
                parse_hhmm(row["remind_at"]) if row["remind_at"] else None,
                parse_workdays(row["workdays"]) if row["workdays"] else None,
            )
            for row in rows
        }


# -- exports ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckinExport:
    """A check-in's reports of [start, end] as CSV or XLSX: date, member, one column per
    question (a question renamed later keeps its old label as the column of the answers given
    under it), submitted at, late, skipped. Run by ``db.read_in_thread``."""

    guild_id: int
    checkin_id: int
    start: str
    end: str
    user_id: int | None
    names: Mapping[int, str]
    zone: ZoneInfo
    fmt: str

    def run(self, conn: sqlite3.Connection, out: IO[bytes]) -> int:
        window = (self.guild_id, self.checkin_id, self.start, self.end, self.user_id, self.user_id)
        entries = conn.execute(
            "SELECT e.id, e.user_id, e.day, e.status, e.skip_reason, e.late, e.submitted_at"
            " FROM dar_entries e WHERE e.guild_id = ? AND e.checkin_id = ?"
            " AND e.day BETWEEN ? AND ? AND (? IS NULL OR e.user_id = ?)"
            " ORDER BY e.day, e.user_id",
            window,
        ).fetchall()
        answers = conn.execute(
            "SELECT a.entry_id, a.question_id, a.label, a.value, q.position FROM dar_answers a"
            " JOIN dar_entries e ON e.id = a.entry_id JOIN dar_questions q ON q.id = a.question_id"
            " WHERE e.guild_id = ? AND e.checkin_id = ? AND e.day BETWEEN ? AND ?"
            " AND (? IS NULL OR e.user_id = ?)",
            window,
        ).fetchall()
        columns: dict[tuple[int, int, str], None] = {}
        for question in read_questions(conn, self.checkin_id):
            columns[(question.position, question.id, question.label)] = None
        for row in sorted(answers, key=lambda r: (r["position"], r["question_id"])):
            columns.setdefault((row["position"], row["question_id"], row["label"]), None)
        keys = sorted(columns, key=lambda k: (k[0], k[1]))
        index = {(k[1], k[2]): i for i, k in enumerate(keys)}
        header = ["date", "member", *_unique([k[2] for k in keys])]
        header += ["submitted at", "late", "skipped"]
        by_entry: dict[int, list[str]] = {}
        for row in answers:
            cells = by_entry.setdefault(row["entry_id"], [""] * len(keys))
            cells[index[(row["question_id"], row["label"])]] = row["value"]
        table: list[list[str]] = []
        for entry in entries:
            skipped = entry["status"] == "skipped"
            table.append(
                [
                    entry["day"],
                    self.names.get(entry["user_id"]) or str(entry["user_id"]),
                    *by_entry.get(entry["id"], [""] * len(keys)),
                    datetime.fromisoformat(entry["submitted_at"])
                    .astimezone(self.zone)
                    .isoformat(timespec="seconds"),
                    "yes" if entry["late"] and not skipped else "no",
                    (entry["skip_reason"] or "yes") if skipped else "",
                ]
            )
        write_table(self.fmt, out, header, table)
        return len(table)


def _unique(labels: list[str]) -> list[str]:
    """Column names, a repeated label numbered (``Mood``, ``Mood (2)``)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out
