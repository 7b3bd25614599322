"""The hand-written PostgreSQL schema (concord/db/migrations/postgres/) against the SQLite one
the shipped SQLite migrations build, on a real throwaway server (tests/pg_server.py): every
table and column, in the same order, with a compatible type, the same NOT NULLs, primary and
unique keys and indexes; ids wide enough for Discord snowflakes; the CHECKs, the
case-insensitive leave type names and the append-only triggers behave as SQLite's do."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import psycopg
import pytest

from concord.db.database import apply_migrations as apply_sqlite_migrations
from concord.db.database import load_migrations
from concord.db.postgres import apply_migrations, load_postgres_migrations

SNOWFLAKE = 1_234_567_890_123_456_789  # > 2**31: needs bigint
# The tables holding history that is never rewritten (SQLite: triggers that RAISE(ABORT)).
APPEND_ONLY = ("audit_log", "leave_ledger", "task_events", "dar_report_versions")


@pytest.fixture(scope="module")
def sqlite_schema() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    apply_sqlite_migrations(conn)
    yield conn
    conn.close()


@pytest.fixture
def pg(pg_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        apply_migrations(conn)
        yield conn


def sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows]


def pg_columns(conn: psycopg.Connection, table: str) -> list[tuple[str, str, bool, str | None]]:
    """(name, data_type, not_null, identity) in column order."""
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable = 'NO', identity_generation"
        " FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s"
        " ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [(r[0], r[1], bool(r[2]), r[3]) for r in rows]


COMPATIBLE = {"INTEGER": {"integer", "bigint"}, "TEXT": {"text"}}


def wants_bigint(column: str) -> bool:
    """Ids, Discord snowflakes (users, roles, channels, messages) and who did something."""
    return column == "id" or column.endswith(("_id", "_by"))


def test_the_postgres_migrations_reach_the_sqlite_version() -> None:
    """A feature adds its SQLite migration and the PostgreSQL twin under the same number."""
    sqlite_latest = load_migrations()[-1].version
    pg_migrations = load_postgres_migrations()
    assert pg_migrations, "no PostgreSQL migration ships"
    assert pg_migrations[-1].version == sqlite_latest


def test_every_table_and_column_matches_sqlite(
    sqlite_schema: sqlite3.Connection, pg: psycopg.Connection
) -> None:
    tables = sqlite_tables(sqlite_schema)
    pg_tables = [
        r[0]
        for r in pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " AND table_name <> 'schema_version' ORDER BY table_name"
        ).fetchall()
    ]
    assert pg_tables == tables
    for table in tables:
        lite = sqlite_schema.execute(f"PRAGMA table_info({table})").fetchall()
        ours = pg_columns(pg, table)
        # Same names in the same order (rows read by position agree).
        assert [c[0] for c in ours] == [c[1] for c in lite], table
        for column, (_, data_type, not_null, identity) in zip(lite, ours, strict=True):
            _cid, name, declared, notnull, _default, pk = column
            where = f"{table}.{name}"
            assert data_type in COMPATIBLE[declared.upper()], f"{where}: {data_type}"
            if declared.upper() == "INTEGER" and wants_bigint(name):
                assert data_type == "bigint", f"{where} holds ids/snowflakes: {data_type}"
            # SQLite lets an INTEGER PRIMARY KEY be NULL-on-insert (a new row id).
            rowid_alias = pk == 1 and declared.upper() == "INTEGER" and _single_pk(lite)
            assert not_null == bool(notnull or pk), where
            if rowid_alias and name == "id":
                assert identity == "BY DEFAULT", f"{where} must number new rows"


def _single_pk(columns: list[tuple[object, ...]]) -> bool:
    return sum(1 for c in columns if c[5]) == 1


def sqlite_keys(conn: sqlite3.Connection, table: str) -> tuple[set[tuple[str | None, ...]], ...]:
    """(unique column sets incl. the primary key, plain index column sets, partial unique)."""
    unique: set[tuple[str | None, ...]] = set()
    plain: set[tuple[str | None, ...]] = set()
    pk = tuple(
        c[1]
        for c in sorted(conn.execute(f"PRAGMA table_info({table})"), key=lambda c: c[5])
        if c[5]
    )
    if pk:
        unique.add(pk)
    partial: set[tuple[str | None, ...]] = set()
    for _seq, name, is_unique, _origin, is_partial in conn.execute(f"PRAGMA index_list({table})"):
        columns = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({name})"))
        if is_partial:
            partial.add(columns)
        elif is_unique:
            unique.add(columns)
        else:
            plain.add(columns)
    return unique, plain, partial


def pg_keys(conn: psycopg.Connection, table: str) -> tuple[set[tuple[str | None, ...]], ...]:
    rows = conn.execute(
        "SELECT i.indisunique, i.indpred IS NOT NULL,"
        " array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n)"
        # An expression (lower(name)) has attnum 0: None, as SQLite's index_info gives it.
        "       LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
        "       ORDER BY k.n)"
        " FROM pg_index i WHERE i.indrelid = %s::regclass",
        (table,),
    ).fetchall()
    unique = {tuple(r[2]) for r in rows if r[0] and not r[1]}
    plain = {tuple(r[2]) for r in rows if not r[0] and not r[1]}
    partial = {tuple(r[2]) for r in rows if r[1]}
    return unique, plain, partial


def test_keys_and_indexes_match_sqlite(
    sqlite_schema: sqlite3.Connection, pg: psycopg.Connection
) -> None:
    for table in sqlite_tables(sqlite_schema):
        assert pg_keys(pg, table) == sqlite_keys(sqlite_schema, table), table


def test_snowflakes_fit(pg: psycopg.Connection) -> None:
    pg.execute(
        "INSERT INTO guild_settings (guild_id, manager_role_id, approver_role_id)"
        " VALUES (%s, %s, %s)",
        (SNOWFLAKE, SNOWFLAKE + 1, SNOWFLAKE + 2),
    )
    row = pg.execute("SELECT guild_id, approver_role_id, timezone FROM guild_settings").fetchone()
    assert row == (SNOWFLAKE, SNOWFLAKE + 2, "UTC")


def add_task(pg: psycopg.Connection, **values: object) -> int:
    row = {
        "guild_id": SNOWFLAKE,
        "title": "Write the report",
        "creator_id": SNOWFLAKE,
        "created_at": "2026-12-04T17:00:00+00:00",
        "updated_at": "2026-12-04T17:00:00+00:00",
        **values,
    }
    names = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    sql = f"INSERT INTO tasks ({names}) VALUES ({marks}) RETURNING id"
    found = pg.execute(sql, tuple(row.values())).fetchone()  # type: ignore[arg-type]
    assert found is not None
    return int(found[0])


@pytest.mark.parametrize(
    "values",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"status": "finished"},
        {"repeat": "daily"},  # repeating without a due date
        {"due_time": "10:00"},  # a time without a date
        {"repeat_day": 32, "due_date": "2026-12-04", "repeat": "monthly"},
        {"skip_holidays": 2},
        {"block_reason": ""},
    ],
)
def test_the_checks_refuse_what_sqlite_refuses(
    pg: psycopg.Connection, sqlite_schema: sqlite3.Connection, values: dict[str, object]
) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        add_task(pg, **values)
    # The same row is refused by SQLite too (the test checks the CHECKs, not our guess of them).
    row = {
        "guild_id": 1,
        "title": "t",
        "creator_id": 1,
        "created_at": "x",
        "updated_at": "x",
        **values,
    }
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        sqlite_schema.execute(
            f"INSERT INTO tasks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )


def test_the_identity_numbers_new_rows_and_takes_copied_ids(pg: psycopg.Connection) -> None:
    first = add_task(pg)
    copied = add_task(pg, id=first + 100)  # what `concord db copy` does
    assert copied == first + 100
    pg.execute("SELECT setval(pg_get_serial_sequence('tasks', 'id'), max(id)) FROM tasks")
    assert add_task(pg) == first + 101


def test_one_next_occurrence_per_task(pg: psycopg.Connection) -> None:
    first = add_task(pg)
    add_task(pg, previous_id=first)
    with pytest.raises(psycopg.errors.UniqueViolation):
        add_task(pg, previous_id=first)
    add_task(pg)
    add_task(pg)  # many rows without a previous occurrence: the index is partial


def add_leave_type(pg: psycopg.Connection, name: str) -> None:
    pg.execute(
        "INSERT INTO leave_types (guild_id, name, since_year, created_at, updated_at)"
        " VALUES (%s, %s, 2026, 'x', 'x')",
        (SNOWFLAKE, name),
    )


def test_leave_type_names_ignore_case_like_sqlite_nocase(pg: psycopg.Connection) -> None:
    add_leave_type(pg, "Annual")
    with pytest.raises(psycopg.errors.UniqueViolation):
        add_leave_type(pg, "ANNUAL")
    # The managers' `name = ?` finds it whatever the case, as with COLLATE NOCASE.
    found = pg.execute(
        "SELECT name FROM leave_types WHERE guild_id = %s AND name = %s", (SNOWFLAKE, "annual")
    ).fetchall()
    assert found == [("Annual",)]
    add_leave_type(pg, "Annual leave")  # still a different name


def append_only_rows(pg: psycopg.Connection) -> None:
    add_leave_type(pg, "Annual")
    type_id = pg.execute("SELECT id FROM leave_types").fetchone()[0]  # type: ignore[index]
    task_id = add_task(pg)
    pg.execute(
        "INSERT INTO audit_log (guild_id, actor_id, action, subject, at)"
        " VALUES (1, 2, 'a', 's', 'x')"
    )
    pg.execute(
        "INSERT INTO leave_ledger (guild_id, user_id, type_id, year, kind, amount, actor_id,"
        " created_at) VALUES (1, 2, %s, 2026, 'adjustment', '1/2', 2, 'x')",
        (type_id,),
    )
    pg.execute(
        "INSERT INTO task_events (task_id, actor_id, kind, at) VALUES (%s, 1, 'created', 'x')",
        (task_id,),
    )
    report = pg.execute(
        "INSERT INTO dar_reports (guild_id, user_id, day, done, plan, late, submitted_at,"
        " updated_at) VALUES (1, 2, '2026-12-04', 'd', 'p', 0, 'x', 'x') RETURNING id"
    ).fetchone()
    assert report is not None
    pg.execute(
        "INSERT INTO dar_report_versions (report_id, done, plan, replaced_at, replaced_by)"
        " VALUES (%s, 'd', 'p', 'x', 2)",
        (report[0],),
    )


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("statement", ["UPDATE {} SET id = id", "DELETE FROM {}", "TRUNCATE {}"])
def test_append_only_tables_refuse_updates_and_deletes(
    pg: psycopg.Connection, table: str, statement: str
) -> None:
    append_only_rows(pg)
    with pytest.raises(psycopg.errors.RaiseException, match=f"{table} is append-only"):
        pg.execute(statement.format(table))  # type: ignore[arg-type]
    assert pg.execute(f"SELECT count(*) FROM {table}").fetchone() == (1,)  # type: ignore[arg-type]


def test_sqlite_has_the_same_append_only_tables(sqlite_schema: sqlite3.Connection) -> None:
    """Every SQLite trigger that refuses changes has its PostgreSQL twin tested above."""
    triggers = sqlite_schema.execute(
        "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
    ).fetchall()
    refusing = {t for t, sql in triggers if re.search(r"RAISE\s*\(\s*ABORT", sql)}
    assert refusing == set(APPEND_ONLY)
