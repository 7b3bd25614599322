from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from concord.db import database as database_module
from concord.db.database import (
    Database,
    DatabaseError,
    apply_migrations,
    connect_sync,
    load_migrations,
    schema_version,
    transaction,
)
from concord.db.portable import long_transaction

# The SQLite writer itself: its thread, group commit, PRAGMAs and file (PostgreSQL: test_postgres.py).
pytestmark = pytest.mark.sqlite_only("the SQLite Database class")


def _create_counter(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")


def _insert_next(conn: sqlite3.Connection) -> int:
    """Read-then-write: the classic lost-update shape."""
    current = conn.execute("SELECT coalesce(max(n), 0) FROM counter").fetchone()[0]
    conn.execute("INSERT INTO counter (n) VALUES (?)", (current + 1,))
    return current + 1


async def test_pragmas_on_every_connection(db: Database) -> None:
    def writer_pragmas(conn: sqlite3.Connection) -> tuple[str, int, int, int]:
        return (
            conn.execute("PRAGMA journal_mode").fetchone()[0],
            conn.execute("PRAGMA busy_timeout").fetchone()[0],
            conn.execute("PRAGMA foreign_keys").fetchone()[0],
            conn.execute("PRAGMA synchronous").fetchone()[0],
        )

    mode, busy, fks, sync = await db.run_sync(writer_pragmas)
    assert (mode, fks, sync) == ("wal", 1, 1)  # synchronous 1 = NORMAL
    assert busy >= 5000
    readers = [db.read() for _ in range(3)]
    conns = [await r.__aenter__() for r in readers]
    try:
        for conn in conns:
            async with conn.execute("PRAGMA busy_timeout") as cur:
                assert (await cur.fetchone())[0] >= 5000
            async with conn.execute("PRAGMA foreign_keys") as cur:
                assert (await cur.fetchone())[0] == 1
            async with conn.execute("PRAGMA query_only") as cur:
                assert (await cur.fetchone())[0] == 1
            async with conn.execute("PRAGMA journal_mode") as cur:
                assert (await cur.fetchone())[0] == "wal"
    finally:
        for r in readers:
            await r.__aexit__(None, None, None)
    assert conns[0].isolation_level is None


async def test_reads_cannot_write(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only"):
        async with db.read() as conn:
            await conn.execute("INSERT INTO guild_settings (guild_id) VALUES (1)")


async def test_fetch_helpers_give_rows_by_name_and_the_first_row(db: Database) -> None:
    await db.write(_create_counter)
    assert await db.fetchone("SELECT n FROM counter") is None
    assert await db.fetchall("SELECT n FROM counter") == []
    for _ in range(3):
        await db.write(_insert_next)
    first = await db.fetchone("SELECT n FROM counter ORDER BY n DESC")
    assert first is not None and first["n"] == 3
    rows = await db.fetchall("SELECT n FROM counter WHERE n >= ? ORDER BY n", (2,))
    assert [r["n"] for r in rows] == [2, 3]
    named = await db.fetchone("SELECT count(*) AS total FROM counter WHERE n < :top", {"top": 3})
    assert named is not None and named["total"] == 2


async def test_a_fetch_makes_no_trip_to_a_reader_thread(tmp_path: Path) -> None:
    """fetchall and fetchone read on the loop's thread: a trip to a reader thread and back
    cost more than the read (execute + fetch + close used to be three trips each)."""
    db = await Database.open(tmp_path / "one.db")
    db._read_pool_size = 1  # one reader, so the one patched below serves every pooled read
    try:
        await db.write(_create_counter)
        await db.write(_insert_next)
        async with db.read() as conn:
            pass
        calls: list[object] = []
        original = conn._execute  # aiosqlite sends every call to its thread through this

        async def counting(fn: object, *args: object, **kwargs: object) -> object:
            calls.append(fn)
            return await original(fn, *args, **kwargs)

        conn._execute = counting  # type: ignore[method-assign]
        assert [r["n"] for r in await db.fetchall("SELECT n FROM counter")] == [1]
        assert (await db.fetchone("SELECT n FROM counter")) is not None
        assert calls == []
    finally:
        await db.close()


class _BusyConnection:
    def execute(self, sql: str, params: object = ()) -> object:
        raise sqlite3.OperationalError("database is locked")


async def test_a_fetch_the_loop_reader_cannot_make_goes_to_the_pool(tmp_path: Path) -> None:
    """Never wait on the loop: a busy answer there (a checkpoint resetting the WAL) sends the
    read to a reader thread, which waits the busy timeout as every connection does."""
    db = await Database.open(tmp_path / "busy.db")
    try:
        await db.write(_create_counter)
        await db.write(_insert_next)
        db._loop_reader = _BusyConnection()  # type: ignore[assignment]
        row = await db.fetchone("SELECT n FROM counter")
        assert row is not None and row["n"] == 1
        db._loop_reader = None  # close() must not close the stand-in
    finally:
        await db.close()


async def test_read_in_thread_runs_off_the_loop_on_a_read_only_connection(db: Database) -> None:
    await db.write(_create_counter)
    await db.write(_insert_next)

    def job(conn: sqlite3.Connection, extra: int) -> tuple[int, int]:
        total = conn.execute("SELECT count(*) FROM counter").fetchone()[0]
        return threading.get_ident(), total + extra

    thread, total = await db.read_in_thread(job, 10)
    assert thread != threading.get_ident() and total == 11

    def write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO counter (n) VALUES (99)")

    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only"):
        await db.read_in_thread(write)
    await db.close()
    with pytest.raises(DatabaseError, match="closed"):
        await db.read_in_thread(job, 0)


async def test_read_short_runs_on_the_loop_in_one_snapshot_read_only(db: Database) -> None:
    await db.write(_create_counter)
    await db.write(_insert_next)

    def job(conn: sqlite3.Connection, extra: int) -> tuple[int, bool, int]:
        total = conn.execute("SELECT count(*) FROM counter").fetchone()[0]
        return threading.get_ident(), conn.in_transaction, total + extra

    thread, in_snapshot, total = await db.read_short(job, 10)
    assert thread == threading.get_ident() and in_snapshot and total == 11
    assert db._loop_reader is not None and not db._loop_reader.in_transaction  # left clean

    def write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO counter (n) VALUES (99)")

    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only"):
        await db.read_short(write)
    assert db._loop_reader is not None and not db._loop_reader.in_transaction
    await db.write(_insert_next)
    assert (await db.read_short(job, 0))[2] == 2  # the next read sees the new commit


async def test_a_short_read_the_loop_reader_cannot_make_goes_to_a_thread(db: Database) -> None:
    """As fetchall: a busy answer on the loop's connection never makes the loop wait; the read
    runs again on a reader thread, which waits the busy timeout like every connection."""
    await db.write(_create_counter)
    await db.write(_insert_next)

    def job(conn: sqlite3.Connection) -> tuple[int, int]:
        return threading.get_ident(), conn.execute("SELECT n FROM counter").fetchone()[0]

    db._loop_reader = _BusyConnection()  # type: ignore[assignment]
    try:
        thread, n = await db.read_short(job)
    finally:
        db._loop_reader = None  # close() must not close the stand-in
    assert thread != threading.get_ident() and n == 1


async def test_read_in_thread_reuses_its_connections_and_sees_every_commit(db: Database) -> None:
    await db.write(_create_counter)
    await db.write(_insert_next)

    def count(conn: sqlite3.Connection) -> tuple[int, int]:
        return id(conn), conn.execute("SELECT count(*) FROM counter").fetchone()[0]

    def left_open(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM counter").fetchone()
        raise LookupError("gave up halfway")

    first, before = await db.read_in_thread(count)
    with pytest.raises(LookupError):
        await db.read_in_thread(left_open)  # rolled back before the connection goes back
    await db.write(_insert_next)
    second, after = await db.read_in_thread(count)
    assert second == first and (before, after) == (1, 2)  # the same connection, a new snapshot
    pooled = db._thread_readers.get_nowait()
    db._thread_readers.put(pooled)
    await db.close()
    with pytest.raises(sqlite3.ProgrammingError):  # close() closed the idle connections
        pooled.execute("SELECT 1")


async def test_200_concurrent_read_then_write_transactions(db: Database) -> None:
    await db.write(_create_counter)
    results = await asyncio.gather(*(db.write(_insert_next) for _ in range(200)))
    assert sorted(results) == list(range(1, 201))
    rows = await db.fetchall("SELECT n FROM counter ORDER BY n")
    assert [r["n"] for r in rows] == list(range(1, 201))


async def test_failing_transaction_leaves_nothing_and_spares_its_batch(db: Database) -> None:
    await db.write(_create_counter)

    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO counter (n) VALUES (-1)")
        raise ValueError("boom half-way")

    calls = [db.write(_insert_next) for _ in range(5)]
    calls.insert(2, db.write(half_then_fail))
    results = await asyncio.gather(*calls, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    rows = await db.fetchall("SELECT n FROM counter ORDER BY n")
    assert [r["n"] for r in rows] == [1, 2, 3, 4, 5]


def _traced(conn: sqlite3.Connection, statements: list[str] | None) -> None:
    conn.set_trace_callback(None if statements is None else statements.append)


async def queued_together(db: Database, *calls: Any) -> list[Any]:
    """Queue ``calls`` while the writer is held, so they run as one batch."""
    started, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        started.set()
        release.wait(5)

    holding = asyncio.ensure_future(db.run_sync(hold))
    await asyncio.to_thread(started.wait, 5)
    futures = [asyncio.ensure_future(call) for call in calls]
    await asyncio.sleep(0.01)  # every write is queued behind the held writer
    release.set()
    await holding
    return await asyncio.gather(*futures, return_exceptions=True)


async def test_queued_transactions_are_committed_together(db: Database) -> None:
    await db.write(_create_counter)
    statements: list[str] = []
    await db.run_sync(_traced, statements)
    results = await queued_together(db, *(db.write(_insert_next) for _ in range(10)))
    await db.run_sync(_traced, None)
    assert results == list(range(1, 11))
    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("COMMIT") == 1
    assert statements.count("SAVEPOINT job") == 10


async def test_a_group_commits_at_most_the_limit(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "GROUP_LIMIT", 4)
    await db.write(_create_counter)
    statements: list[str] = []
    await db.run_sync(_traced, statements)
    results = await queued_together(db, *(db.write(_insert_next) for _ in range(10)))
    await db.run_sync(_traced, None)
    assert results == list(range(1, 11))
    assert statements.count("COMMIT") == 3  # 4 + 4 + 2


async def test_a_group_hears_back_while_the_next_one_runs(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The callers of a committed group hear back as it commits, not once the whole batch
    is done: here the last group of the batch waits for the first group's caller to go on,
    which it could not do if the results came at the end of the batch."""
    monkeypatch.setattr(database_module, "GROUP_LIMIT", 2)
    await db.write(_create_counter)
    heard = threading.Event()

    async def first() -> int:
        result = await db.write(_insert_next)
        heard.set()
        return result

    def waits_for_the_first(conn: sqlite3.Connection) -> bool:
        return heard.wait(5)

    results = await queued_together(
        db, first(), db.write(_insert_next), db.write(waits_for_the_first)
    )
    assert results == [1, 2, True]


async def test_a_caller_hears_back_only_once_its_group_is_committed(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "durable.db")
    try:
        await db.write(_create_counter)
        other = sqlite3.connect(tmp_path / "durable.db")
        try:

            def seen() -> int:
                return int(other.execute("SELECT count(*) FROM counter").fetchone()[0])

            async def write_then_look() -> int:
                await db.write(_insert_next)
                return seen()  # another connection: sees only what is committed

            counts = await queued_together(db, *(write_then_look() for _ in range(5)))
        finally:
            other.close()
        assert counts == [5] * 5
    finally:
        await db.close()


async def test_non_transactional_work_runs_between_groups(db: Database) -> None:
    await db.write(_create_counter)

    def outside(conn: sqlite3.Connection) -> tuple[bool, int]:
        return conn.in_transaction, conn.execute("SELECT count(*) FROM counter").fetchone()[0]

    results = await queued_together(
        db, db.write(_insert_next), db.run_sync(outside), db.write(_insert_next)
    )
    assert results == [1, (False, 1), 2]


async def test_a_whole_group_lost_to_sqlite_fails_every_caller_in_it(db: Database) -> None:
    """Some errors (disk full, I/O) make SQLite roll the whole transaction back; work of the
    group done before them is gone, so its callers must get the error, not a result."""
    await db.write(_create_counter)

    def catastrophe(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO counter (n) VALUES (-1)")
        conn.execute("ROLLBACK")  # what SQLite does by itself on SQLITE_FULL or SQLITE_IOERR
        raise sqlite3.OperationalError("database or disk is full")

    results = await queued_together(
        db, db.write(_insert_next), db.write(catastrophe), db.write(_insert_next)
    )
    assert isinstance(results[0], sqlite3.OperationalError)
    assert isinstance(results[1], sqlite3.OperationalError)
    assert results[2] == 1  # a new group after the loss
    rows = await db.fetchall("SELECT n FROM counter")
    assert [r["n"] for r in rows] == [1]


async def test_cancelled_caller_does_not_cancel_a_running_transaction(db: Database) -> None:
    await db.write(_create_counter)
    started = threading.Event()
    release = threading.Event()

    @long_transaction  # it waits for the test: on the writer thread, not the loop's
    def slow(conn: sqlite3.Connection) -> None:
        started.set()
        release.wait(5)
        conn.execute("INSERT INTO counter (n) VALUES (99)")

    task = asyncio.ensure_future(db.write(slow))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    await db.write(_insert_next)  # queued behind: runs after the slow one committed
    rows = await db.fetchall("SELECT n FROM counter ORDER BY id")
    assert [r["n"] for r in rows] == [99, 100]


async def test_reader_keeps_reading_while_a_long_write_is_open(db: Database) -> None:
    await db.write(_create_counter)
    await db.write(_insert_next)
    inside = threading.Event()
    release = threading.Event()

    @long_transaction  # it waits for the test: on the writer thread, not the loop's
    def long_write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO counter (n) VALUES (500)")
        inside.set()
        release.wait(5)

    writing = asyncio.ensure_future(db.write(long_write))
    await asyncio.to_thread(inside.wait, 5)
    try:
        rows = await asyncio.wait_for(db.fetchall("SELECT n FROM counter"), 2)
        assert [r["n"] for r in rows] == [1]  # the uncommitted row is not visible
    finally:
        release.set()
        await writing
    rows = await db.fetchall("SELECT n FROM counter ORDER BY n")
    assert [r["n"] for r in rows] == [1, 500]


WORKER = """
import asyncio, sqlite3, sys
from concord.db.database import Database

def bump(conn, worker):
    current = conn.execute("SELECT coalesce(max(n), 0) FROM counter").fetchone()[0]
    conn.execute("INSERT INTO counter (n, worker) VALUES (?, ?)", (current + 1, worker))

async def main(path, worker, count):
    db = await Database.open(path)
    errors = 0
    for _ in range(count):
        try:
            await db.write(bump, worker)
        except sqlite3.OperationalError as exc:
            errors += 1
            print("error:", exc, file=sys.stderr)
    await db.close()
    print(errors)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def test_two_processes_write_the_same_file_without_locked_errors(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    conn = connect_sync(path)
    apply_migrations(conn)
    conn.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER UNIQUE, worker INTEGER)")
    conn.close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), str(w), "500"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in (1, 2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "0", err
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT count(*), max(n), count(DISTINCT worker) FROM counter").fetchone()
    conn.close()
    assert rows == (1000, 1000, 2)


async def test_migrations_twice_are_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    conn = connect_sync(path)
    first = apply_migrations(conn)
    tables = conn.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall()
    second = apply_migrations(conn)
    assert [m.name for m in load_migrations()] == first
    assert second == []
    assert conn.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall() == tables
    assert schema_version(conn) == len(first)
    conn.close()
    db = await Database.open(path)  # opening again applies nothing and works
    await db.close()


async def test_database_from_the_future_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = connect_sync(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(DatabaseError, match="schema version 999"):
        await Database.open(path)


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = database_module.Migration(
        1, "0001_broken.sql", "CREATE TABLE a (x); CREATE TABLE a (y);"
    )
    monkeypatch.setattr(database_module, "load_migrations", lambda: [broken])
    conn = connect_sync(tmp_path / "b.db")
    with pytest.raises(sqlite3.OperationalError):
        apply_migrations(conn)
    assert schema_version(conn) == 0
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'a'").fetchone()[0] == 0
    conn.close()


async def test_closed_database_refuses_work(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "c.db")
    await db.close()
    with pytest.raises(DatabaseError):
        await db.write(_create_counter)
    leftover = [t for t in threading.enumerate() if t.name == "concord-db-writer" and t.is_alive()]
    assert leftover == []


def test_scripts_run_statement_by_statement_inside_the_callers_transaction(tmp_path: Path) -> None:
    script = """
CREATE TABLE t (x TEXT); -- a comment; with a semicolon
INSERT INTO t VALUES ('a;b');
CREATE TRIGGER t_no_delete BEFORE DELETE ON t
BEGIN SELECT RAISE(ABORT, 'no; never'); END;
"""
    assert len(database_module.script_statements(script)) == 3
    conn = connect_sync(tmp_path / "s.db")
    with pytest.raises(sqlite3.OperationalError), transaction(conn):
        database_module.run_script(conn, script)
        raise sqlite3.OperationalError("roll it all back")
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    with transaction(conn):
        database_module.run_script(conn, script)
    assert [row[0] for row in conn.execute("SELECT x FROM t")] == ["a;b"]
    with pytest.raises(sqlite3.IntegrityError, match="no; never"):
        conn.execute("DELETE FROM t")
    conn.close()


async def test_fetch_many_reads_one_snapshot(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "many.db")
    try:
        await db.write(_create_counter)
        await db.write(_insert_next)
        first, second = await db.fetch_many(
            [("SELECT n FROM counter", ()), ("SELECT count(*) AS c FROM counter WHERE n > ?", (0,))]
        )
        assert [r["n"] for r in first] == [1] and second[0]["c"] == 1
        # The loop's reader is left outside any transaction: writes go on and are seen next.
        await db.write(_insert_next)
        (rows,) = await db.fetch_many([("SELECT n FROM counter ORDER BY n", ())])
        assert [r["n"] for r in rows] == [1, 2]
        db._loop_reader = _BusyConnection()  # type: ignore[assignment]
        (rows,) = await db.fetch_many([("SELECT n FROM counter ORDER BY n", ())])
        assert [r["n"] for r in rows] == [1, 2]
        db._loop_reader = None
    finally:
        await db.close()
