"""Migration 0013 (check-ins) from the schema of 0010 with reports in it: the office gets its
default check-in "Daily report" with Done / Plan / Blockers / Hours, every report becomes an
entry with one answer per question, and /dar view and /dar export say what they said before."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from concord.db.database import load_migrations, run_script, set_schema_version
from concord.sandbox.driver import Sandbox


def make_old_database(path: Path, guild_id: int, bob: int, carol: int) -> None:
    """A file at schema 0010, as today's release leaves it, with three reports."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        for migration in load_migrations()[:10]:
            conn.execute("BEGIN")
            run_script(conn, migration.sql)
            set_schema_version(conn, migration.version)
            conn.execute("COMMIT")
        reports = [
            (bob, "2026-11-30", "=SUM(A1:A3)\n- second line", "Order toner", "VPN", 450, 0),
            (carol, "2026-11-30", "Wrote docs", "More docs", None, None, 1),
            (bob, "2026-12-01", "Fixed the printer", "Rest", None, 485, 0),
        ]
        for user_id, day, done, plan, blockers, minutes, late in reports:
            conn.execute(
                "INSERT INTO dar_reports (guild_id, user_id, day, done, plan, blockers, minutes,"
                " late, submitted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    guild_id,
                    user_id,
                    day,
                    done,
                    plan,
                    blockers,
                    minutes,
                    late,
                    f"{day}T12:00:00+00:00",
                    f"{day}T12:00:00+00:00",
                ),
            )
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 10
    finally:
        conn.close()


async def test_reports_of_schema_0010_become_the_daily_report_check_in(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sandbox = Sandbox(tmp_path, db_path=path)
    guild_id = sandbox.guild.id
    bob, carol = sandbox.member("bob").id, sandbox.member("carol").id
    make_old_database(path, guild_id, bob, carol)
    async with sandbox:
        await sandbox.configure_office()
        sandbox.clock.set(datetime(2026, 12, 1, 15, tzinfo=UTC))  # type: ignore[attr-defined]
        async with sandbox.db.read() as conn:
            checkins = await conn.execute_fetchall(
                "SELECT id, name, is_default, kind, paused FROM dar_checkins WHERE guild_id = ?",
                (guild_id,),
            )
            [(checkin_id, name, is_default, kind, paused)] = [tuple(r) for r in checkins]
            assert (name, is_default, kind, paused) == ("Daily report", 1, "daily", 0)
            questions = await conn.execute_fetchall(
                "SELECT position, label, kind, required, role FROM dar_questions"
                " WHERE checkin_id = ? ORDER BY position",
                (checkin_id,),
            )
            assert [tuple(q) for q in questions] == [
                (1, "Done", "long", 1, "done"),
                (2, "Plan", "long", 1, "plan"),
                (3, "Blockers", "long", 0, "blockers"),
                (4, "Hours", "number", 0, "hours"),
            ]
            answers = await conn.execute_fetchall(
                "SELECT e.user_id, e.day, e.late, a.label, a.value FROM dar_answers a"
                " JOIN dar_entries e ON e.id = a.entry_id JOIN dar_reports r ON r.id = e.report_id"
                " ORDER BY e.day, e.user_id, a.question_id"
            )
        assert [tuple(a) for a in answers] == [
            (bob, "2026-11-30", 0, "Done", "=SUM(A1:A3)\n- second line"),
            (bob, "2026-11-30", 0, "Plan", "Order toner"),
            (bob, "2026-11-30", 0, "Blockers", "VPN"),
            (bob, "2026-11-30", 0, "Hours", "7:30"),
            (carol, "2026-11-30", 1, "Done", "Wrote docs"),
            (carol, "2026-11-30", 1, "Plan", "More docs"),
            (bob, "2026-12-01", 0, "Done", "Fixed the printer"),
            (bob, "2026-12-01", 0, "Plan", "Rest"),
            (bob, "2026-12-01", 0, "Hours", "8:05"),
        ]
        # The old commands and exports read the same.
        view = await sandbox.slash("bob", "dar view", date="2026-11-30")
        assert "Order toner" in view.text and "VPN" in view.text and "7.5 h" in view.text
        reply = await sandbox.slash(
            "alice", "dar export", start="2026-11-30", end="2026-12-01", format="csv"
        )
        rows = list(csv.reader(io.StringIO(reply.files[0][1].decode("utf-8-sig"))))
        assert rows == [
            [
                "date",
                "member",
                "done",
                "plan",
                "blockers",
                "hours",
                "submitted at",
                "late",
                "on leave",
            ],
            [
                "2026-11-30",
                "Bob",
                "'=SUM(A1:A3)\n- second line",
                "Order toner",
                "VPN",
                "7.5",
                "2026-11-30T12:00:00+00:00",
                "no",
                "",
            ],
            [
                "2026-11-30",
                "Carol",
                "Wrote docs",
                "More docs",
                "",
                "",
                "2026-11-30T12:00:00+00:00",
                "yes",
                "",
            ],
            [
                "2026-12-01",
                "Bob",
                "Fixed the printer",
                "Rest",
                "",
                "8.08",
                "2026-12-01T12:00:00+00:00",
                "no",
                "",
            ],
        ]
        # Filing after the migration keeps the entry in step with the report.
        await sandbox.slash("bob", "dar submit")
        reply = await sandbox.slash("bob", "dar submit")
        assert reply.modal is not None and reply.modal.field("done").value == "Fixed the printer"
        await sandbox.submit("bob", reply.modal, done="Fixed it twice", hours="")
        async with sandbox.db.read() as conn:
            after = await conn.execute_fetchall(
                "SELECT a.label, a.value, e.edits FROM dar_answers a JOIN dar_entries e"
                " ON e.id = a.entry_id WHERE e.user_id = ? AND e.day = '2026-12-01'"
                " ORDER BY a.question_id",
                (bob,),
            )
        assert [tuple(a) for a in after] == [("Done", "Fixed it twice", 1), ("Plan", "Rest", 1)]
