"""SQLite's writes on the event loop's thread: commit groups of the writes submitted in one
pass of the loop, the writer thread when the write lock is taken elsewhere, order kept behind
the writer thread's work, checkpoints off the loop, close() with writes in flight
(concord/db/database.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from concord.db import database as database_module
from concord.db.database import Database, wal_frames
from concord.db.portable import long_transaction

pytestmark = pytest.mark.sqlite_only("the SQLite writer's threads, connections and WAL")

LOOP_THREAD = threading.get_ident


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "loop.db")
    try:
        await database.write(_create_counter)
        yield database
    finally:
        await database.close()


def _create_counter(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL,"
        " thread INTEGER, blob BLOB)"
    )


def _insert_next(conn: sqlite3.Connection, blob: bytes | None = None) -> int:
    """Read-then-write, noting the thread it ran on."""
    current = conn.execute("SELECT coalesce(max(n), 0) FROM counter").fetchone()[0]
    conn.execute(
        "INSERT INTO counter (n, thread, blob) VALUES (?, ?, ?)",
        (current + 1, threading.get_ident(), blob),
    )
    return current + 1


def _traced(conn: sqlite3.Connection, statements: list[str] | None) -> None:
    conn.set_trace_callback(None if statements is None else statements.append)


async def _threads(db: Database) -> list[int]:
    rows = await db.fetchall("SELECT thread FROM counter ORDER BY n")
    return [r["thread"] for r in rows]


async def test_the_loop_writer_waits_for_no_lock_and_never_checkpoints(db: Database) -> None:
    conn = db._loop_writer
    assert conn is not None
    pragmas = [
        conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("busy_timeout", "wal_autocheckpoint", "journal_mode", "foreign_keys")
    ]
    assert pragmas == [0, 0, "wal", 1]


async def test_writes_of_one_loop_pass_commit_as_one_group_on_the_loop_thread(
    db: Database,
) -> None:
    loop_statements: list[str] = []
    thread_statements: list[str] = []
    assert db._loop_writer is not None
    _traced(db._loop_writer, loop_statements)
    await db.run_sync(_traced, thread_statements)
    results = await asyncio.gather(*(db.write(_insert_next) for _ in range(10)))
    await db.run_sync(_traced, None)
    assert results == list(range(1, 11))
    assert loop_statements.count("BEGIN IMMEDIATE") == 1 and loop_statements.count("COMMIT") == 1
    assert loop_statements.count("SAVEPOINT job") == 10
    assert "BEGIN IMMEDIATE" not in thread_statements
    assert set(await _threads(db)) == {LOOP_THREAD()}


async def test_a_loop_group_commits_at_most_the_limit_and_the_rest_next(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "GROUP_LIMIT", 4)
    statements: list[str] = []
    assert db._loop_writer is not None
    _traced(db._loop_writer, statements)
    results = await asyncio.gather(*(db.write(_insert_next) for _ in range(10)))
    assert results == list(range(1, 11))
    assert statements.count("COMMIT") == 3  # 4 + 4 + 2


async def test_a_loop_group_takes_no_more_jobs_once_its_time_is_up(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "LOOP_GROUP_SECONDS", 0.0)
    statements: list[str] = []
    assert db._loop_writer is not None
    _traced(db._loop_writer, statements)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticking = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    try:
        results = await asyncio.gather(*(db.write(_insert_next) for _ in range(5)))
    finally:
        ticking.cancel()
    assert results == [1, 2, 3, 4, 5]
    assert statements.count("COMMIT") == 5  # one job a callback…
    assert ticks >= 4  # …and the loop's other callbacks in between


async def test_an_error_on_the_loop_rolls_back_only_its_job(db: Database) -> None:
    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO counter (n) VALUES (-1)")
        raise ValueError("boom half-way")

    calls = [db.write(_insert_next) for _ in range(4)]
    calls.insert(2, db.write(half_then_fail))
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert [type(r) for r in results] == [int, int, ValueError, int, int]
    rows = await db.fetchall("SELECT n FROM counter ORDER BY n")
    assert [r["n"] for r in rows] == [1, 2, 3, 4]
    assert set(await _threads(db)) == {LOOP_THREAD()}


async def test_a_group_lost_to_sqlite_on_the_loop_fails_its_callers_only(db: Database) -> None:
    def catastrophe(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO counter (n) VALUES (-1)")
        conn.execute("ROLLBACK")  # what SQLite does by itself on SQLITE_FULL or SQLITE_IOERR
        raise sqlite3.OperationalError("database or disk is full")

    results = await asyncio.gather(
        db.write(_insert_next), db.write(catastrophe), db.write(_insert_next),
        return_exceptions=True,
    )  # fmt: skip
    assert isinstance(results[0], sqlite3.OperationalError)  # its work went with the group
    assert isinstance(results[1], sqlite3.OperationalError)
    assert results[2] == 1  # the next group
    rows = await db.fetchall("SELECT n FROM counter")
    assert [r["n"] for r in rows] == [1]


async def test_callers_hear_back_from_the_loop_only_after_the_commit(
    db: Database, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "loop.db")
    try:

        async def write_then_look() -> int:
            await db.write(_insert_next)
            # Another connection sees only what is committed.
            return int(other.execute("SELECT count(*) FROM counter").fetchone()[0])

        counts = await asyncio.gather(*(write_then_look() for _ in range(5)))
    finally:
        other.close()
    assert counts == [5] * 5


async def test_a_cancelled_caller_s_write_still_commits_on_the_loop(db: Database) -> None:
    task = asyncio.ensure_future(db.write(_insert_next))
    await asyncio.sleep(0)  # submitted: waiting for the flush
    assert db.write_queue_depth == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await db.write(_insert_next) == 2
    assert db.write_queue_depth == 0


async def test_a_taken_write_lock_sends_writes_to_the_thread_and_the_loop_runs_on(
    db: Database, tmp_path: Path
) -> None:
    """Another process holds the write lock (a backup, the deployer's check, a second shard):
    the loop does not wait the busy timeout for it; the writes wait on the writer thread, run
    once each when the lock is free, and later writes are back on the loop."""
    other = sqlite3.connect(tmp_path / "loop.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.ensure_future(ticker())
    try:
        writes = [asyncio.ensure_future(db.write(_insert_next)) for _ in range(5)]
        await asyncio.sleep(0.3)
        assert not any(w.done() for w in writes)
        assert ticks >= 5  # the loop was not held up by the lock
        assert db._on_thread == 5  # all on the writer thread, waiting for the lock
        other.execute("COMMIT")
        results = await asyncio.wait_for(asyncio.gather(*writes), 10)
    finally:
        ticking.cancel()
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
    assert results == [1, 2, 3, 4, 5]
    await db.write(_insert_next)
    threads = await _threads(db)
    assert LOOP_THREAD() not in threads[:5]  # run on the writer thread, once each
    assert threads[5] == LOOP_THREAD()  # and then back on the loop


async def test_writes_keep_their_order_around_the_writer_thread_s_work(db: Database) -> None:
    def outside(conn: sqlite3.Connection) -> tuple[bool, int]:
        return conn.in_transaction, conn.execute("SELECT count(*) FROM counter").fetchone()[0]

    results = await asyncio.gather(
        db.write(_insert_next), db.run_sync(outside), db.write(_insert_next)
    )
    assert results == [1, (False, 1), 2]


async def test_a_long_transaction_runs_on_the_writer_thread_and_later_writes_after_it(
    db: Database,
) -> None:
    bulk = long_transaction(lambda conn: [_insert_next(conn) for _ in range(3)])
    results = await asyncio.gather(db.write(bulk), db.write(_insert_next))
    assert results == [[1, 2, 3], 4]
    await db.write(_insert_next)
    threads = await _threads(db)
    assert LOOP_THREAD() not in threads[:4] and threads[4] == LOOP_THREAD()


async def _write_pages(db: Database, count: int) -> None:
    blob = b"x" * 6000  # two pages of its own each
    for _ in range(count):
        await db.write(_insert_next, blob)


async def test_the_loop_leaves_checkpoints_to_the_writer_thread(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert db._wal_index is not None
    monkeypatch.setattr(database_module, "CHECKPOINT_PAGES", 10**9)
    await _write_pages(db, 600)
    frames, backfilled = wal_frames(db._wal_index)
    # Past SQLite's auto-checkpoint (1000 pages), and yet nothing was checkpointed.
    assert frames > 1200 and backfilled == 0
    ran_on: list[str] = []
    started, release = threading.Event(), threading.Event()
    checkpoint = database_module._checkpoint

    def noted(conn: sqlite3.Connection) -> tuple[int, int, int]:
        ran_on.append(threading.current_thread().name)
        started.set()
        release.wait(5)
        return checkpoint(conn)

    monkeypatch.setattr(database_module, "_checkpoint", noted)
    monkeypatch.setattr(database_module, "CHECKPOINT_PAGES", 1000)
    await db.write(_insert_next)  # past 1,000 pages: the writer thread checkpoints
    await asyncio.to_thread(started.wait, 5)
    assert ran_on == ["concord-db-writer"]
    # A write submitted meanwhile waits for the checkpoint on the loop's side…
    writing = asyncio.ensure_future(db.write(_insert_next))
    await asyncio.sleep(0.05)
    assert not writing.done() and db.write_queue_depth == 1
    release.set()
    await asyncio.wait_for(writing, 5)
    # …and runs on the loop after it, where the WAL starts over.
    frames, backfilled = wal_frames(db._wal_index)
    assert frames < 20
    assert (await _threads(db))[-2:] == [LOOP_THREAD()] * 2


async def test_the_wal_stays_bounded_under_steady_writes(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "CHECKPOINT_PAGES", 200)

    async def writer() -> None:
        await _write_pages(db, 300)

    await asyncio.gather(*(writer() for _ in range(4)))  # 2,400 pages and more
    counted = await db.fetchone("SELECT count(*) AS c FROM counter")
    assert counted is not None and counted["c"] == 1200
    wal = (tmp_path / "loop.db-wal").stat().st_size
    assert wal < 600 * 4096  # the checkpoints started it over; unchecked it passes 10 MB


async def test_close_runs_the_writes_waiting_for_the_loop(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "closing.db")
    await db.write(_create_counter)
    writes = [
        asyncio.ensure_future(call)
        for call in (db.write(_insert_next), db.run_sync(_count), db.write(_insert_next))
    ]
    await asyncio.sleep(0)  # submitted, their flush not yet run
    assert db.write_queue_depth == 3
    await db.close()
    assert await asyncio.wait_for(asyncio.gather(*writes), 5) == [1, 1, 2]
    assert db._loop_writer is None and db._wal_index is None
    check = sqlite3.connect(tmp_path / "closing.db")
    try:
        assert check.execute("SELECT count(*) FROM counter").fetchone()[0] == 2
    finally:
        check.close()


async def test_close_waits_for_the_writes_on_the_writer_thread(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "closing.db")
    await db.write(_create_counter)
    started, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        started.set()
        release.wait(5)

    holding = asyncio.ensure_future(db.run_sync(hold))
    await asyncio.to_thread(started.wait, 5)
    writes = [asyncio.ensure_future(db.write(_insert_next)) for _ in range(3)]
    await asyncio.sleep(0.01)  # sent to the thread, behind the held job
    closing = asyncio.ensure_future(db.close())
    await asyncio.sleep(0.05)
    assert not closing.done()
    release.set()
    await asyncio.wait_for(closing, 10)
    results: list[Any] = await asyncio.gather(holding, *writes)
    assert results == [None, 1, 2, 3]
    with pytest.raises(database_module.DatabaseError):
        await db.write(_insert_next)


def _count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM counter").fetchone()[0])


async def test_a_write_waits_behind_the_writer_thread_s_work(db: Database) -> None:
    """Submitted while run_sync work (a backup, say) still runs on the writer thread, a write
    goes there behind it, even in a later pass of the loop."""
    started, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> int:
        started.set()
        release.wait(5)
        return _count(conn)

    holding = asyncio.ensure_future(db.run_sync(hold))
    await asyncio.to_thread(started.wait, 5)
    writing = asyncio.ensure_future(db.write(_insert_next))
    await asyncio.sleep(0.05)
    assert not writing.done()
    release.set()
    assert await asyncio.gather(holding, writing) == [0, 1]
    assert LOOP_THREAD() not in await _threads(db)


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, int]] = []

    def write_waited(self, seconds: float) -> None:
        self.calls.append(("waited", None, threading.get_ident()))

    def transaction_ran(self, seconds: float) -> None:
        self.calls.append(("ran", None, threading.get_ident()))

    def group_committed(self, size: int, seconds: float) -> None:
        self.calls.append(("committed", size, threading.get_ident()))

    def reader_waited(self, seconds: float) -> None:
        self.calls.append(("reader", None, threading.get_ident()))


async def test_the_observer_hears_of_a_loop_group(db: Database) -> None:
    recorder = _Recorder()
    db.observer = recorder
    await asyncio.gather(*(db.write(_insert_next) for _ in range(3)))
    db.observer = None
    assert [(name, size) for name, size, _ in recorder.calls] == [
        *[("waited", None), ("ran", None)] * 3,
        ("committed", 3),
    ]
    assert {thread for _, _, thread in recorder.calls} == {LOOP_THREAD()}
