"""Check-ins' synchronous transaction functions (issue 21), each run by ``db.write(fn, ...)``
in one ``BEGIN IMMEDIATE``: create, edit, pause, delete a check-in; save its questions; file
or skip a day (``mirror_report`` keeps the Daily report's entry in step inside
``submit_report``); remember where a report was posted; a member's own rhythm. Permission
is checked here, at the write."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
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
from concord.core.dar import ReportDraft, check_report_day, is_late, local_date, zone_for
from concord.core.schedule import format_hhmm
from concord.core.text import escape_markdown
from concord.db.dar.checkin_records import (
    CheckinChanges,
    EntryResult,
    read_checkin,
    read_entry,
    read_questions,
)
from concord.db.guilds import guild_holidays, read_config, utcnow_iso, write_audit
from concord.db.portable import Conn
from concord.errors import NotFound, PermissionDenied, UserError

log: logging.Logger = logging.getLogger(__name__)

MANAGERS_ONLY = "Only managers can change check-ins."
DEFAULT_QUESTIONS: tuple[QuestionDraft, ...] = (
    QuestionDraft("Done", "long", role="done"),
    QuestionDraft("Plan", "long", role="plan"),
    QuestionDraft("Blockers", "long", required=False, role="blockers"),
    QuestionDraft("Hours", "number", unit="h", required=False, role="hours"),
)


def _insert_questions(
    conn: Conn,
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


def ensure_default(conn: Conn, guild_id: int, now: datetime) -> int:
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


def _name_free(conn: Conn, guild_id: int, name: str, except_id: int = 0) -> None:
    clash = conn.execute(
        "SELECT id FROM dar_checkins WHERE guild_id = ? AND lower(name) = lower(?)"
        " AND deleted_at IS NULL AND id <> ?",
        (guild_id, name, except_id),
    ).fetchone()
    if clash is not None:
        raise UserError(f"There is already a check-in called **{escape_markdown(name)}**.")


def _check_schedule(schedule: str, days: frozenset[int] | None, on_date: date | None) -> None:
    if schedule != "once" and on_date is not None:
        raise UserError("`date` is only for a one-off check-in (`schedule:once`).")
    if schedule == "once" and on_date is None:
        raise UserError("A one-off check-in needs a `date`.")
    if schedule == "weekly" and days is not None and len(days) != 1:
        raise UserError("A weekly check-in runs on one day: give `days` as e.g. `fri`.")
    if schedule == "weekly" and days is None:
        raise UserError("A weekly check-in needs its day: `days:fri`.")


def create_checkin(
    conn: Conn, guild_id: int, actor: Actor, changes: CheckinChanges, now: datetime
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
    conn: Conn,
    guild_id: int,
    checkin_id: int,
    actor: Actor,
    changes: CheckinChanges,
    now: datetime,
) -> CheckIn:
    _require_manager(actor)
    before = read_checkin(conn, guild_id, checkin_id)
    if changes == CheckinChanges():
        raise UserError(
            "Nothing to change: give a new `name`, `channel`, `schedule`, `days`, `time`, "
            "`participants`, `date` or `post`."
        )
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
    # A date kept from an earlier one-off schedule is dropped when the schedule changes.
    on_date = changes.on_date or (before.on_date if schedule == "once" else None)
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
    conn: Conn,
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


def delete_checkin(conn: Conn, guild_id: int, checkin_id: int, actor: Actor, now: datetime) -> str:
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
    conn: Conn,
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


def _member_zone(conn: Conn, guild_id: int, office: str, user_id: int) -> ZoneInfo:
    row = conn.execute(
        "SELECT timezone FROM member_settings WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    ).fetchone()
    return zone_for(row["timezone"] if row else None, office)


def submit_entry(
    conn: Conn,
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
    today = local_date(now, zone)
    stamp = utcnow_iso(now)
    row = conn.execute(
        "SELECT id, status, edits FROM dar_entries WHERE checkin_id = ? AND user_id = ?"
        " AND day = ?",
        (checkin_id, user_id, day.isoformat()),
    ).fetchone()
    # The Daily report's edit window (`dar_edit_days` working days) holds for every check-in.
    check_report_day(
        day,
        today,
        config.dar_edit_days,
        editing=row is not None and row["status"] == "filed",
        workdays=config.workdays,
        holidays=guild_holidays(conn, guild_id, day, today),
    )
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
    conn: Conn,
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
    conn: Conn,
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
    conn: Conn,
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


def set_post(conn: Conn, entry_id: int, channel_id: int, message_id: int) -> None:
    conn.execute(
        "UPDATE dar_entries SET post_channel_id = ?, post_message_id = ? WHERE id = ?",
        (channel_id, message_id, entry_id),
    )


def save_thread(conn: Conn, checkin_id: int, day: date, channel_id: int, thread_id: int) -> int:
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
    conn: Conn,
    guild_id: int,
    user_id: int,
    remind_at: time | None,
    workdays: frozenset[int] | None,
    clear: bool,
    now: datetime,
) -> None:
    if clear and (remind_at is not None or workdays is not None):
        raise UserError(
            "Give either `clear:True` (back to the office's) or your own `time` / `days`, not both."
        )
    if clear:
        conn.execute(
            "DELETE FROM dar_member_rhythm WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
    else:
        conn.execute(
            "INSERT INTO dar_member_rhythm (guild_id, user_id, remind_at, workdays)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
            " remind_at = coalesce(excluded.remind_at, dar_member_rhythm.remind_at),"
            " workdays = coalesce(excluded.workdays, dar_member_rhythm.workdays)",
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
