"""DAR's synchronous transaction functions, each run by ``db.write(fn, ...)`` in one
``BEGIN IMMEDIATE``: submitting a report (an edit keeps the previous text in
``dar_report_versions``), linking a blocker task, saving a panel.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from concord.core.dar import ReportDraft, check_report_day, is_late, local_date, zone_for
from concord.core.settings import GuildConfig
from concord.db.dar.checkin_transactions import mirror_report
from concord.db.dar.records import SubmitResult, report_from_row
from concord.db.guilds import guild_holidays, read_config, utcnow_iso, write_audit
from concord.db.portable import Conn
from concord.errors import NotFound, UserError

log: logging.Logger = logging.getLogger(__name__)


# -- transaction functions -------------------------------------------------------------------
def member_zone(conn: Conn, config: GuildConfig, user_id: int) -> ZoneInfo:
    row = conn.execute(
        "SELECT timezone FROM member_settings WHERE guild_id = ? AND user_id = ?",
        (config.guild_id, user_id),
    ).fetchone()
    return zone_for(row["timezone"] if row else None, config.timezone)


def submit_report(
    conn: Conn,
    guild_id: int,
    user_id: int,
    draft: ReportDraft,
    day: date | None,
    now: datetime,
) -> SubmitResult:
    """File or edit ``user_id``'s report for ``day`` (default: their local today)."""
    config = read_config(conn, guild_id)
    zone = member_zone(conn, config, user_id)
    today = local_date(now, zone)
    day = day or today
    row = conn.execute(
        "SELECT * FROM dar_reports WHERE guild_id = ? AND user_id = ? AND day = ?",
        (guild_id, user_id, day.isoformat()),
    ).fetchone()
    check_report_day(
        day,
        today,
        config.dar_edit_days,
        editing=row is not None,
        workdays=config.workdays,
        holidays=guild_holidays(conn, guild_id, day, today),
    )
    stamp = utcnow_iso(now)
    if row is None:
        # Late on the member's own clock: after the summary time of that day where they are.
        late = is_late(now, day, config.dar_summary, zone)
        cur = conn.execute(
            "INSERT INTO dar_reports (guild_id, user_id, day, done, plan, blockers, minutes, late,"
            " submitted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                guild_id,
                user_id,
                day.isoformat(),
                draft.done,
                draft.plan,
                draft.blockers,
                draft.minutes,
                int(late),
                stamp,
                stamp,
            ),
        )
        report_id = int(cur.fetchone()["id"])
        write_audit(
            conn,
            guild_id=guild_id,
            actor_id=user_id,
            action="dar.submit",
            subject=f"dar:{report_id}",
            after={"day": day.isoformat(), "late": late},
            now=now,
        )
        created = True
    else:
        report_id = row["id"]
        conn.execute(
            "INSERT INTO dar_report_versions (report_id, done, plan, blockers, minutes,"
            " replaced_at, replaced_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (report_id, row["done"], row["plan"], row["blockers"], row["minutes"], stamp, user_id),
        )
        updated = conn.execute(
            "UPDATE dar_reports SET done = ?, plan = ?, blockers = ?, minutes = ?,"
            " updated_at = ?, edits = edits + 1 WHERE id = ? AND edits = ?",
            (
                draft.done,
                draft.plan,
                draft.blockers,
                draft.minutes,
                stamp,
                report_id,
                row["edits"],
            ),
        )
        if updated.rowcount != 1:  # pragma: no cover - the writer thread serialises edits
            raise UserError("That report changed meanwhile; open it again and retry.")
        write_audit(
            conn,
            guild_id=guild_id,
            actor_id=user_id,
            action="dar.edit",
            subject=f"dar:{report_id}",
            before={"edits": row["edits"]},
            after={"edits": row["edits"] + 1},
            now=now,
        )
        created = False
    # The default check-in's entry and answers follow the report (one column per question).
    mirror_report(conn, guild_id, int(report_id or 0), draft, now)
    saved = conn.execute("SELECT * FROM dar_reports WHERE id = ?", (report_id,)).fetchone()
    return SubmitResult(report_from_row(saved), created)


def link_blocker_task(
    conn: Conn,
    guild_id: int,
    report_id: int,
    task_id: int,
    actor_id: int,
    now: datetime,
) -> None:
    """Record the task made from a report's blockers (a second task replaces the link)."""
    report = conn.execute(
        "SELECT id FROM dar_reports WHERE id = ? AND guild_id = ?", (report_id, guild_id)
    ).fetchone()
    if report is None:
        raise NotFound(f"There is no report #{report_id} in this server.")
    before = conn.execute(
        "SELECT task_id FROM dar_blocker_tasks WHERE report_id = ?", (report_id,)
    ).fetchone()
    conn.execute(
        "INSERT INTO dar_blocker_tasks (report_id, task_id, created_by, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (report_id) DO UPDATE SET task_id = excluded.task_id,"
        " created_by = excluded.created_by, created_at = excluded.created_at",
        (report_id, task_id, actor_id, utcnow_iso(now)),
    )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="dar.blocker_task",
        subject=f"dar:{report_id}",
        before={"task_id": before["task_id"]} if before else None,
        after={"task_id": task_id},
        now=now,
    )


def save_panel(
    conn: Conn,
    guild_id: int,
    channel_id: int,
    message_id: int,
    actor_id: int,
    now: datetime,
) -> int | None:
    """Record the channel's Submit DAR panel; returns the message id of the one it replaces."""
    before = conn.execute(
        "SELECT message_id FROM dar_panels WHERE channel_id = ?", (channel_id,)
    ).fetchone()
    conn.execute(
        "INSERT INTO dar_panels (channel_id, guild_id, message_id, posted_by, posted_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET"
        " message_id = excluded.message_id, posted_by = excluded.posted_by,"
        " posted_at = excluded.posted_at",
        (channel_id, guild_id, message_id, actor_id, utcnow_iso(now)),
    )
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=actor_id,
        action="dar.panel",
        subject=f"channel:{channel_id}",
        before=before["message_id"] if before else None,
        after=message_id,
        now=now,
    )
    return before["message_id"] if before else None
