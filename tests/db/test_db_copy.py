"""``concord db copy`` on a real throwaway PostgreSQL (tests/pg_server.py): bench_dar.py's
office, smaller, with every table filled (bench/office_seed.py), SQLite -> PostgreSQL -> SQLite
with every table identical; identities continue after the copied ids; a target that is not
empty is refused with nothing written."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest

from concord.db.copy import (
    CopyError,
    CopyReport,
    SqliteSide,
    copy_database,
    open_side,
    schema_tables,
)
from concord.db.database import apply_migrations, connect_sync, transaction

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from office_seed import SNOWFLAKE, seed_office

TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("copy") / "office.db"
    conn = connect_sync(path)
    apply_migrations(conn)
    with transaction(conn):
        seed_office(conn, members=12, tasks=300, leave=60)
    conn.close()
    return path


def copy(source: str | Path, target: str | Path) -> CopyReport:
    src, dst = open_side(source), open_side(target, create=True)
    try:
        return copy_database(src, dst, today=TODAY)
    finally:
        dst.close()
        src.close()


def every_row(path: Path) -> Iterator[tuple[str, list[tuple[object, ...]]]]:
    side = SqliteSide(path, create=False)
    try:
        for table in schema_tables():
            yield table.name, [tuple(row) for row in side.rows(table)]
    finally:
        side.close()


def test_round_trip_sqlite_postgres_sqlite_keeps_every_table_identical(
    office: Path, pg_url: str, tmp_path: Path
) -> None:
    original = dict(every_row(office))
    assert all(original.values()), [name for name, rows in original.items() if not rows]

    there = copy(office, pg_url)
    assert {t.name: t.target_rows for t in there.tables} == {n: len(r) for n, r in original.items()}
    assert there.balances > 12 and there.available_days  # every member's balances compared
    # The rows as PostgreSQL holds them, values and types: snowflakes, escapes, NULLs.
    pg_side = open_side(pg_url)
    try:
        for table in schema_tables():
            assert [tuple(r) for r in pg_side.rows(table)] == original[table.name], table.name
    finally:
        pg_side.close()

    back = copy(pg_url, f"sqlite:///{tmp_path / 'back' / 'office.db'}")
    assert back.rows == there.rows and back.balances == there.balances
    assert back.available_days == there.available_days
    assert dict(every_row(tmp_path / "back" / "office.db")) == original


def test_identities_continue_after_the_copied_ids(office: Path, pg_url: str) -> None:
    copy(office, pg_url)
    with psycopg.connect(pg_url) as conn:
        highest = conn.execute("SELECT max(id) FROM audit_log").fetchone()
        new = conn.execute(
            "INSERT INTO audit_log (guild_id, actor_id, action, subject, at)"
            " VALUES (%s, 1, 'a', 's', 'x') RETURNING id",
            (SNOWFLAKE,),
        ).fetchone()
    assert highest is not None and new is not None and new[0] == highest[0] + 1


def test_a_target_that_is_not_empty_is_refused_with_nothing_written(
    office: Path, pg_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        from concord.db.postgres import apply_migrations as pg_migrate

        pg_migrate(conn)
        conn.execute("INSERT INTO command_sync VALUES ('global', 'x', 'y')")
    with pytest.raises(CopyError, match=r"is not empty: 1 row in 1 table \(command_sync"):
        copy(office, pg_url)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM guild_settings").fetchone() == (0,)

    # A SQLite target likewise: here, the office itself copied once already.
    target = tmp_path / "again.db"
    copy(office, f"sqlite:///{target}")
    with pytest.raises(CopyError, match="is not empty"):
        copy(office, f"sqlite:///{target}")


def test_a_table_the_migrations_do_not_make_is_named_not_copied(
    pg_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "module.db"
    conn = connect_sync(source)
    apply_migrations(conn)
    conn.execute("CREATE TABLE kudos (id INTEGER PRIMARY KEY, reason TEXT)")
    conn.execute("INSERT INTO kudos (reason) VALUES ('thanks')")
    conn.close()
    assert copy(source, pg_url).skipped == ["kudos"]


def test_a_source_behind_the_code_is_refused(pg_url: str, tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    sqlite3.connect(old).close()
    with pytest.raises(CopyError, match="run `concord db migrate` on it first"):
        copy(old, pg_url)
