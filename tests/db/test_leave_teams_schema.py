"""The leave teams schema (migration 0011_leave_teams, issue 20): one team name per guild
whatever its case, ``max_out`` at least 1, and a deleted team takes its members, approvers and
blackouts with it — on SQLite and, from the hand-written twin, on a real PostgreSQL server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from concord.db.database import apply_migrations, connect_sync
from concord.db.postgres import apply_migrations as apply_pg_migrations
from concord.db.postgres import load_postgres_migrations

NOW = "2026-12-04T18:00:00+00:00"


def _exercise(conn: object, integrity: type[Exception], returning_id: str) -> None:
    execute = conn.execute  # type: ignore[attr-defined]
    team = execute(
        "INSERT INTO leave_teams (guild_id, name, max_out, created_by, created_at)"
        f" VALUES (1, 'Support', 2, 9, '{NOW}') RETURNING {returning_id}"
    ).fetchone()[0]
    execute(
        "INSERT INTO leave_teams (guild_id, name, created_by, created_at)"
        f" VALUES (2, 'support', 9, '{NOW}')"
    )  # another guild may use the name
    execute(f"INSERT INTO leave_team_members VALUES ({team}, 5, 9, '{NOW}')")
    execute(f"INSERT INTO leave_team_approvers VALUES ({team}, 6, 9, '{NOW}')")
    execute(
        "INSERT INTO leave_blackouts"
        " (guild_id, team_id, start_date, end_date, reason, created_by, created_at)"
        f" VALUES (1, {team}, '2026-12-14', '2026-12-15', 'launch', 9, '{NOW}')"
    )
    for bad in (
        f"INSERT INTO leave_teams (guild_id, name, created_by, created_at) VALUES (1, 'SUPPORT', 9, '{NOW}')",
        f"INSERT INTO leave_teams (guild_id, name, max_out, created_by, created_at) VALUES (1, 'X', 0, 9, '{NOW}')",
    ):
        with pytest.raises(integrity):
            execute("SAVEPOINT s")
            try:
                execute(bad)
            finally:
                execute("ROLLBACK TO SAVEPOINT s")
    execute(f"DELETE FROM leave_teams WHERE id = {team}")
    for table in ("leave_team_members", "leave_team_approvers", "leave_blackouts"):
        assert execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_sqlite_schema(tmp_path: Path) -> None:
    conn = connect_sync(tmp_path / "t.db")
    try:
        apply_migrations(conn)
        conn.execute("BEGIN")
        _exercise(conn, sqlite3.IntegrityError, "id")
        conn.execute("ROLLBACK")
        columns = [row[1] for row in conn.execute("PRAGMA table_info(leave_requests)")]
        assert "override_note" in columns
    finally:
        conn.close()


def test_postgres_twin(pg_url: str) -> None:
    # The baseline and then the twin, as a database upgraded from 0010 gets them.
    shipped = [m for m in load_postgres_migrations() if m.version <= 11]
    assert [m.name for m in shipped][-2:] == ["0010_baseline.sql", "0011_leave_teams.sql"]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        apply_pg_migrations(conn, shipped)
        with conn.transaction():
            _exercise(conn, psycopg.errors.IntegrityError, "id")
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'leave_requests' ORDER BY ordinal_position"
        ).fetchall()
        assert columns[-1][0] == "override_note"
