"""The PostgreSQL twin of migration 0013 (check-ins) against a real throwaway server: on the
tables it builds on (as SQLite's 0001-0010 leave them, with reports in), it makes the same
default check-in, questions, entries and answers as the SQLite migration. Skips, loudly,
without a server."""

from __future__ import annotations

from concord.db.database import Migration
from concord.db.postgres import PostgresDatabase, load_postgres_migrations

# The tables 0013 reads, in PostgreSQL, with the reports of schema 0010, standing in as the version
# just below the twin (a gap in the numbering is refused).
BEFORE = Migration(
    12,
    "0012_before.sql",
    """
    CREATE TABLE guild_settings (guild_id BIGINT PRIMARY KEY);
    CREATE TABLE dar_reports (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        guild_id BIGINT NOT NULL,
        user_id BIGINT NOT NULL,
        day TEXT NOT NULL,
        done TEXT NOT NULL,
        plan TEXT NOT NULL,
        blockers TEXT,
        minutes INTEGER,
        late INTEGER NOT NULL,
        submitted_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        edits INTEGER NOT NULL DEFAULT 0,
        UNIQUE (guild_id, user_id, day)
    );
    INSERT INTO guild_settings (guild_id) VALUES (1), (3);
    INSERT INTO dar_reports (guild_id, user_id, day, done, plan, blockers, minutes, late,
                             submitted_at, updated_at)
    VALUES (1, 10, '2026-11-30', 'd', 'p', 'VPN', 450, 0, 't', 't'),
           (1, 11, '2026-11-30', 'd2', 'p2', NULL, NULL, 1, 't', 't'),
           (2, 12, '2026-11-30', 'd3', 'p3', NULL, 5, 0, 't', 't');
    """,
)


async def test_the_postgres_twin_moves_reports_into_the_daily_report(pg_url: str) -> None:
    [twin] = [m for m in load_postgres_migrations() if m.name == "0013_dar_checkins.sql"]
    db = await PostgresDatabase.open(pg_url, migrations=[BEFORE, twin])
    try:
        checkins = await db.fetchall(
            "SELECT guild_id, name, is_default, kind FROM dar_checkins ORDER BY guild_id"
        )
        assert [tuple(r) for r in checkins] == [
            (1, "Daily report", 1, "daily"),
            (2, "Daily report", 1, "daily"),
            (3, "Daily report", 1, "daily"),
        ]
        answers = await db.fetchall(
            "SELECT e.user_id, a.label, a.value FROM dar_answers a"
            " JOIN dar_entries e ON e.id = a.entry_id ORDER BY e.user_id, a.question_id"
        )
        assert [tuple(r) for r in answers] == [
            (10, "Done", "d"),
            (10, "Plan", "p"),
            (10, "Blockers", "VPN"),
            (10, "Hours", "7:30"),
            (11, "Done", "d2"),
            (11, "Plan", "p2"),
            (12, "Done", "d3"),
            (12, "Plan", "p3"),
            (12, "Hours", "0:05"),
        ]
        labels = await db.fetchone("SELECT count(*) AS n FROM dar_question_labels")
        assert labels is not None and labels["n"] == 12
    finally:
        await db.close()
