"""The PostgreSQL backend against a real throwaway server (tests/pg_server.py): the writer's
contract (atomic, rollback on exception, one writer at a time), SQLite-spelled SQL mapped,
reads, the migration runner, and an unreachable server. Skips, loudly, without a server."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import psycopg
import pytest

from concord.db.database import DatabaseError, Migration
from concord.db.portable import Conn
from concord.db.postgres import (
    CONNECT_RETRY_S,
    DatabaseUnavailable,
    PgConn,
    PostgresDatabase,
    apply_migrations,
    load_postgres_migrations,
)
from tests.pg_server import ThrowawayPostgres

SCHEMA = Migration(
    1,
    "0001_requests.sql",
    """
    CREATE TABLE requests (
        id bigserial PRIMARY KEY,
        guild_id bigint NOT NULL,
        days integer NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected'))
    );
    CREATE TABLE tags (name text PRIMARY KEY, note text);
    """,
)


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[PostgresDatabase]:
    db = await PostgresDatabase.open(pg_url, migrations=[SCHEMA])
    try:
        yield db
    finally:
        await db.close()


def add_request(conn: Conn, days: int = 1) -> int:
    row = conn.execute(
        "INSERT INTO requests (guild_id, days) VALUES (?, ?) RETURNING id", (7, days)
    ).fetchone()
    return int(row["id"])


async def test_write_commits_and_returns_the_result(pg: PostgresDatabase) -> None:
    request_id = await pg.write(add_request, 3)
    row = await pg.fetchone("SELECT id, days, status FROM requests WHERE id = ?", (request_id,))
    assert row is not None
    assert (row["days"], row["status"]) == (3, "pending")
    assert (row[0], row[1]) == (request_id, 3) and row.keys() == ["id", "days", "status"]


async def test_an_exception_rolls_back_everything_the_function_did(pg: PostgresDatabase) -> None:
    class Refused(Exception):
        pass

    def two_then_fail(conn: Conn) -> None:
        add_request(conn)
        add_request(conn)
        raise Refused("no")

    with pytest.raises(Refused):
        await pg.write(two_then_fail)
    assert await pg.fetchall("SELECT * FROM requests") == []
    # The connection went back to the pool clean: the next write works.
    await pg.write(add_request)
    assert len(await pg.fetchall("SELECT * FROM requests")) == 1


async def test_a_failed_statement_rolls_back_and_reaches_the_caller(pg: PostgresDatabase) -> None:
    def tag_twice(conn: Conn) -> None:
        conn.execute("INSERT INTO tags (name) VALUES (?)", ("a",))
        conn.execute("INSERT INTO tags (name) VALUES (?)", ("a",))

    with pytest.raises(sqlite3.IntegrityError) as caught:  # as on SQLite
        await pg.write(tag_twice)
    assert isinstance(caught.value.__cause__, psycopg.errors.UniqueViolation)
    assert await pg.fetchall("SELECT * FROM tags") == []


async def test_sqlite_spelled_sql_runs(pg: PostgresDatabase) -> None:
    def statements(conn: Conn) -> list[int]:
        counts = []
        for name in ("50% off", "what?", "50% off"):
            counts.append(
                conn.execute(
                    "INSERT OR IGNORE INTO tags (name, note) VALUES (?, 'n?')", (name,)
                ).rowcount
            )
        conn.execute(
            "UPDATE tags SET note = :note WHERE name = :name", {"note": "x", "name": "what?"}
        )
        return counts

    assert await pg.write(statements) == [1, 1, 0]
    rows = await pg.fetchall(
        "SELECT name, note FROM tags WHERE name LIKE '%' || ? ORDER BY name", ("?",)
    )
    assert [(r["name"], r["note"]) for r in rows] == [("what?", "x")]
    rows = await pg.fetchall("SELECT name FROM tags WHERE name LIKE '50%' AND note = 'n?'")
    assert [r[0] for r in rows] == ["50% off"]


async def test_twenty_concurrent_conditional_approvals_apply_once(pg: PostgresDatabase) -> None:
    request_id = await pg.write(add_request)

    def approve(conn: Conn) -> bool:
        cursor = conn.execute(
            "UPDATE requests SET status = 'approved' WHERE id = ? AND status = 'pending'",
            (request_id,),
        )
        return cursor.rowcount == 1

    outcomes = await asyncio.gather(*(pg.write(approve) for _ in range(20)))
    assert outcomes.count(True) == 1
    assert await pg.fetchone("SELECT status FROM requests") == ("approved",)


async def test_read_then_write_never_overspends_under_twenty_callers(pg: PostgresDatabase) -> None:
    """The check (days approved so far) and the write must not interleave with another
    writer's: 20 one-day requests against a 5-day budget approve exactly 5."""
    ids = [await pg.write(add_request) for _ in range(20)]

    def approve_within_budget(conn: Conn, request_id: int) -> bool:
        used = conn.execute(
            "SELECT coalesce(sum(days), 0) AS used FROM requests WHERE status = 'approved'"
        ).fetchone()["used"]
        if used + 1 > 5:
            conn.execute("UPDATE requests SET status = 'rejected' WHERE id = ?", (request_id,))
            return False
        conn.execute("UPDATE requests SET status = 'approved' WHERE id = ?", (request_id,))
        return True

    outcomes = await asyncio.gather(*(pg.write(approve_within_budget, i) for i in ids))
    assert outcomes.count(True) == 5
    rows = await pg.fetchall("SELECT status, count(*) FROM requests GROUP BY status ORDER BY 1")
    assert [tuple(r) for r in rows] == [("approved", 5), ("rejected", 15)]


async def test_reads_are_read_only(pg: PostgresDatabase) -> None:
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        await pg.read_in_thread(add_request)
    async with pg.read() as conn:
        assert await conn.execute_fetchall("SELECT count(*) FROM requests") == [(0,)]


# -- migrations -------------------------------------------------------------------------------
def version_rows(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return [
            (int(v), str(n))
            for v, n in conn.execute("SELECT version, name FROM schema_version ORDER BY version")
        ]


SECOND = Migration(2, "0002_tag_colour.sql", "ALTER TABLE tags ADD COLUMN colour text;")


async def test_migrations_apply_once_in_order(pg_url: str) -> None:
    async with PostgresDatabase(pg_url, migrations=[SCHEMA]):
        pass
    assert version_rows(pg_url) == [(1, "0001_requests.sql")]
    db = await PostgresDatabase.open(pg_url, migrations=[SCHEMA, SECOND])
    try:
        assert await db.run_sync(apply_migrations, [SCHEMA, SECOND]) == []  # nothing pending
        await db.write(
            lambda conn: conn.execute("INSERT INTO tags (name, colour) VALUES ('a', 'red')")
        )
    finally:
        await db.close()
    assert version_rows(pg_url) == [(1, "0001_requests.sql"), (2, "0002_tag_colour.sql")]


async def test_processes_starting_together_migrate_once(pg_url: str) -> None:
    dbs = await asyncio.gather(
        *(PostgresDatabase.open(pg_url, migrations=[SCHEMA, SECOND]) for _ in range(4))
    )
    for db in dbs:
        await db.close()
    assert [v for v, _ in version_rows(pg_url)] == [1, 2]


async def test_a_failing_migration_leaves_nothing_behind(pg_url: str) -> None:
    broken = Migration(
        2, "0002_broken.sql", "CREATE TABLE half (a int); SELECT no_such_column FROM tags;"
    )
    with pytest.raises(psycopg.errors.UndefinedColumn):
        await PostgresDatabase.open(pg_url, migrations=[SCHEMA, broken])
    assert version_rows(pg_url) == [(1, "0001_requests.sql")]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)


async def test_numbering_gaps_and_newer_databases_are_refused(pg_url: str) -> None:
    with pytest.raises(DatabaseError, match="breaks the numbering"):
        await PostgresDatabase.open(pg_url, migrations=[SCHEMA, Migration(3, "0003_x.sql", "")])
    async with PostgresDatabase(pg_url, migrations=[SCHEMA, SECOND]):
        pass
    with pytest.raises(DatabaseError, match=r"schema version 2 .* only up to 1"):
        await PostgresDatabase.open(pg_url, migrations=[SCHEMA])
    with pytest.raises(DatabaseError, match=r"schema version 2 .* only up to 0"):
        await PostgresDatabase.open(pg_url, migrations=[])


async def test_a_baseline_may_start_above_one(pg_url: str) -> None:
    """The first PostgreSQL file may stand for several SQLite ones (docs/POSTGRES.md)."""
    baseline = Migration(8, "0008_baseline.sql", SCHEMA.sql)
    async with PostgresDatabase(
        pg_url, migrations=[baseline, Migration(9, "0009_x.sql", SECOND.sql)]
    ):
        pass
    assert [v for v, _ in version_rows(pg_url)] == [8, 9]


def test_shipped_postgres_migrations_are_numbered() -> None:
    assert load_postgres_migrations()[0].name == "0010_baseline.sql"  # numbering checked too


# -- an unreachable server --------------------------------------------------------------------
async def test_an_unreachable_server_is_one_clear_error_without_the_password(pg_url: str) -> None:
    closed = pg_url.replace("concord@", "concord:hunter2@").rsplit(":", 1)[0] + ":1/x"
    with pytest.raises(DatabaseUnavailable) as caught:
        await PostgresDatabase.open(closed)
    assert "unavailable" in str(caught.value)
    assert "hunter2" not in str(caught.value) and "concord:***@" in str(caught.value)
    assert "hunter2" not in repr(PostgresDatabase(closed))


def test_pg_conn_is_a_conn(pg_url: str) -> None:
    with psycopg.connect(pg_url) as raw:
        conn: Conn = PgConn(raw)
        assert conn.execute("SELECT ? + 1 AS two", (1,)).fetchone()["two"] == 2


async def test_a_read_on_a_lost_connection_is_retried_once(
    pg: PostgresDatabase, pg_url: str
) -> None:
    await pg.write(add_request)
    assert len(await pg.fetchall("SELECT * FROM requests")) == 1  # a connection is now pooled
    with psycopg.connect(pg_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    assert len(await pg.fetchall("SELECT * FROM requests")) == 1


async def test_a_write_whose_connection_was_cut_before_it_began_is_retried_once(
    pg: PostgresDatabase, pg_url: str
) -> None:
    """A connection the server cut while idle (a restart, an idle timeout) fails at BEGIN: the
    function has not run and nothing was written, so it goes once more on a fresh connection."""
    ran: list[int] = []

    def add_once_counted(conn: Conn) -> int:
        ran.append(1)
        return add_request(conn)

    await asyncio.gather(*(pg.write(add_once_counted) for _ in range(8)))  # every writer connected
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    for _ in range(4):  # the first meets a cut connection (each thread holds one)
        await pg.write(add_once_counted)
    assert len(ran) == 12  # the function ran once per write: none ran on a cut connection
    assert len(await pg.fetchall("SELECT * FROM requests")) == 12


async def test_a_server_refusing_connections_fails_each_caller_at_once_then_is_used_again(
    pg: PostgresDatabase, pg_url: str, pg_server: ThrowawayPostgres
) -> None:
    """Every caller hears at once, with the server's reason, that it refuses connections: the
    connection pool that stood here made a caller that needed a new connection wait its whole
    10 s timeout (and then say only that), past what Discord gives a command. After a failed
    connect the others do not try for CONNECT_RETRY_S; after it, the next caller connects to
    the server that is back."""
    now = [0.0]
    pg._connections.clock = lambda: now[0]
    await asyncio.gather(*(pg.fetchall("SELECT pg_sleep(0.05)") for _ in range(8)))
    await pg.write(add_request)  # every thread holds a connection now
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        tried = pg._connections.attempts
        refused = "not currently accepting connections"
        for _ in range(10):  # more than the threads' connections: each one is needed anew
            with pytest.raises(DatabaseUnavailable, match=refused):
                await pg.fetchall("SELECT count(*) FROM requests")
            with pytest.raises(DatabaseUnavailable, match=refused):
                await pg.write(add_request)
        assert pg._connections.attempts == tried + 1  # the others failed without trying
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    with pytest.raises(DatabaseUnavailable, match=refused):
        await pg.fetchall("SELECT 1")  # within CONNECT_RETRY_S of the failure: not tried yet
    now[0] += CONNECT_RETRY_S
    assert len(await pg.fetchall("SELECT * FROM requests")) == 1
    await pg.write(add_request)
    assert len(await pg.fetchall("SELECT * FROM requests")) == 2


async def test_guilds_write_in_parallel_and_a_database_write_waits_for_all(
    pg: PostgresDatabase,
) -> None:
    """A write of guild 1 held open does not hold up guild 2; a write of guild 1 waits for it,
    and so does a write naming no guild (the database lock)."""
    import threading

    release, holding = threading.Event(), threading.Event()
    order: list[str] = []

    def hold(conn: Conn, guild_id: int) -> None:
        order.append(f"hold {guild_id}")
        holding.set()
        assert release.wait(10)
        order.append(f"release {guild_id}")

    def note(conn: Conn, guild_id: int, what: str) -> None:
        order.append(what)

    def whole_database(conn: Conn) -> None:
        order.append("database")

    held = asyncio.ensure_future(pg.write(hold, 1))
    assert await asyncio.to_thread(holding.wait, 10)
    await asyncio.wait_for(pg.write(note, 2, "guild 2"), 5)  # not held up by guild 1
    same_guild = asyncio.ensure_future(pg.write(note, 1, "guild 1 again"))
    database = asyncio.ensure_future(pg.write(whole_database))
    await asyncio.sleep(0.3)
    assert order == ["hold 1", "guild 2"]  # both still wait for guild 1
    release.set()
    await asyncio.gather(held, same_guild, database)
    assert order[:3] == ["hold 1", "guild 2", "release 1"]
    assert sorted(order[3:]) == ["database", "guild 1 again"]
