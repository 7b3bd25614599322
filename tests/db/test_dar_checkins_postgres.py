"""The PostgreSQL twin of migration 0013 (check-ins) against a real throwaway server: the
database is brought to 0012 by the shipped migrations (baseline 0010, 0011, 0012), reports are
filed, and the twin makes the same default check-in, questions, entries and answers as the
SQLite migration. Skips, loudly, without a server."""

from __future__ import annotations

import psycopg

from concord.db.postgres import PostgresDatabase, apply_migrations, load_postgres_migrations

# Reports filed on schema 0012 (the baseline, then leave teams and feeds), before the twin.
REPORTS = """
    INSERT INTO guild_settings (guild_id) VALUES (1), (3);
    INSERT INTO dar_reports (guild_id, user_id, day, done, plan, blockers, minutes, late,
                             submitted_at, updated_at)
    VALUES (1, 10, '2026-11-30', 'd', 'p', 'VPN', 450, 0, 't', 't'),
           (1, 11, '2026-11-30', 'd2', 'p2', NULL, NULL, 1, 't', 't'),
           (2, 12, '2026-11-30', 'd3', 'p3', NULL, 5, 0, 't', 't');
"""


async def test_the_postgres_twin_moves_reports_into_the_daily_report(pg_url: str) -> None:
    shipped = [m for m in load_postgres_migrations() if m.version <= 13]
    assert shipped[-1].name == "0013_dar_checkins.sql"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        apply_migrations(conn, shipped[:-1])
        with conn.transaction():
            conn.execute(REPORTS)
    db = await PostgresDatabase.open(pg_url, migrations=shipped)
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
