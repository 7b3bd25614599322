"""The database: transactions in commit groups on the event loop's thread, a writer thread
for the rest, a pool of aiosqlite readers, migrations.

Writes are *transaction functions*: ``await db.write(fn, *args)`` runs the plain synchronous
``fn(conn, *args)`` atomically: an exception rolls back everything it did and is re-raised to
the caller. Nothing in a transaction can await, so no transaction holds the write lock across a
Discord call. The writes submitted in one pass of the event loop are run together by one
callback the first of them schedules (``loop.call_soon``), on the loop's own write connection,
and committed together (group commit: one ``BEGIN IMMEDIATE … COMMIT`` around up to
``GROUP_LIMIT`` of them, a savepoint each); their callers hear back after the COMMIT. Running
them on the loop's thread spares each write two thread wake-ups and the GIL hand-offs around
them, which cost the bot more CPU than most transactions themselves (bench/bench_interactions.py).

The loop never waits for a lock: its connection has no busy timeout, and a group that finds
the write lock taken (another process: a backup, the deployer's checks, a second shard) goes,
whole and not yet run, to the writer thread, which waits the busy timeout as before. The
writer thread also runs ``run_sync`` work (migrations, backups), transaction functions marked
:func:`~concord.db.portable.long_transaction`, everything queued behind those (order is kept),
and the WAL checkpoints, which would otherwise fsync on the loop. The model is Datasette's write
thread plus a database's group commit; bench/bench_write_path.py measures it against the same
SQL run by plain single-threaded sqlite3.

``synchronous=NORMAL`` in WAL mode keeps every committed transaction across a process crash;
only an OS crash or power loss can lose the last commits. Set ``synchronous=FULL`` if that matters
more than write speed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import re
import sqlite3
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiosqlite

from concord.db.portable import LONG_TRANSACTION, Params
from concord.db.snapshots import SnapshotError, take_snapshot
from concord.health import git_commit

log: logging.Logger = logging.getLogger(__name__)

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
READ_POOL_SIZE = 4
# Transaction functions committed together at most (see _Group): bounds how long the write
# lock is held for other processes, and how much one failed COMMIT takes with it.
GROUP_LIMIT = 64
# A group on the loop's thread takes no further job once it has run this long (the rest go in
# the next callback), so the loop gets to its other callbacks in between.
LOOP_GROUP_SECONDS = 0.01
# Pages in the WAL not yet checkpointed after which the writer thread checkpoints (SQLite's own
# auto-checkpoint default; the loop's connection has auto-checkpoint off).
CHECKPOINT_PAGES = 1000
_MIGRATION_NAME: re.Pattern[str] = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(Exception):
    """The database cannot be used as it is (too new, corrupt, unreadable)."""


class DatabaseUnavailable(DatabaseError):
    """The database server cannot be reached or dropped the connection (PostgreSQL);
    ``str()`` never has the password. A command that meets it tells the member to try again
    (``ConcordBot.report_error``)."""


class DatabaseBusy(DatabaseUnavailable):
    """A lock or statement timeout: the server is there but did not get to the work in time."""


# SQLite's primary result codes for a file that is not (or no longer) a database, and for one
# that cannot be opened or read at all.
_SQLITE_NOT_A_DATABASE: frozenset[int] = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
_SQLITE_UNREADABLE: frozenset[int] = frozenset({10, 14})  # SQLITE_IOERR, SQLITE_CANTOPEN


@contextmanager
def usable_file(path: str | Path) -> Iterator[None]:
    """Turn SQLite's answer for a corrupt or unreadable file into one clear DatabaseError
    naming the file (the CLI prints it as one line); any other error passes unchanged."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        if code in _SQLITE_NOT_A_DATABASE:
            raise DatabaseError(
                f"{path} is not a valid database ({error}); "
                "restore a backup with concord db restore"
            ) from None
        if code in _SQLITE_UNREADABLE:
            raise DatabaseError(
                f"{path} cannot be read ({error}); check the path and its permissions"
            ) from None
        raise


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """The shipped migrations, ordered by version; numbering gaps are refused."""
    found: list[Migration] = []
    for entry in resources.files("concord.db").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise DatabaseError(
                f"migration {migration.name} breaks the numbering (expected {expected:04d})"
            )
    return found


def configure(conn: sqlite3.Connection) -> None:
    """The pragmas every connection gets (busy_timeout is set by ``connect(timeout=...)``)."""
    _use_wal(conn)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")


def _use_wal(conn: sqlite3.Connection) -> None:
    """``journal_mode=WAL``. Switching a new file takes a moment's exclusive lock, and when
    another process opens the file at the same moment SQLite answers "database is locked" at
    once instead of waiting the busy timeout, so wait here as the busy timeout would."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def connect_sync(path: str | Path) -> sqlite3.Connection:
    """A configured autocommit connection (``isolation_level=None``) with ``Row`` rows."""
    with usable_file(path):
        conn = sqlite3.connect(
            str(path),
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
    conn.row_factory = sqlite3.Row
    try:
        with usable_file(path):
            configure(conn)
    except BaseException:
        conn.close()
        raise
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Any:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; rollback and re-raise on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def set_schema_version(conn: sqlite3.Connection, version: int) -> None:
    """PRAGMA user_version cannot take a bound parameter: the int is formatted, never text."""
    conn.execute(f"PRAGMA user_version = {int(version):d}")


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def script_statements(script: str) -> list[str]:
    """The statements of an SQL script, one by one (``CREATE TRIGGER … END;`` stays whole), so
    a script can run inside a transaction the caller holds (``executescript`` commits first)."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        # A semicolon inside a string, a comment or a trigger body does not end the statement.
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return [s for s in statements if s != ";"]


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Execute a script statement by statement in the current transaction."""
    for statement in script_statements(script):
        conn.execute(statement)


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations, one transaction each; returns the names applied.

    Several processes may start on the same file at once (the bot and ``concord db migrate``),
    so each migration reads the version again under the write lock and skips what another
    process applied meanwhile."""
    migrations = load_migrations()
    latest = migrations[-1].version if migrations else 0
    current = schema_version(conn)
    if current > latest:
        raise DatabaseError(
            f"the database is at schema version {current} but this Concord Desk knows only up to "
            f"{latest}; run a newer release (or restore a backup made by this one)"
        )
    applied: list[str] = []
    for migration in migrations:
        if migration.version <= current:
            continue
        with transaction(conn):
            current = schema_version(conn)
            if migration.version <= current:
                continue
            run_script(conn, migration.sql)
            set_schema_version(conn, migration.version)
        current = migration.version
        applied.append(migration.name)
        log.info("applied migration %s", migration.name)
    return applied


class DbObserver(Protocol):
    """What the writes and the read pool report when metrics are on (``concord/metrics.py``).
    The write methods are called from the thread that runs the group: the loop's, or the
    writer thread's while the loop runs none (it takes writes back only once the writer thread
    has handed back all it had, so the two never report at once)."""

    def write_waited(self, seconds: float) -> None: ...

    def transaction_ran(self, seconds: float) -> None: ...

    def group_committed(self, size: int, seconds: float) -> None: ...

    def reader_waited(self, seconds: float) -> None: ...


def migrate_with_snapshot(
    conn: sqlite3.Connection,
    path: Path,
    *,
    previous_commit: str | None = None,
    commit: str | None = None,
) -> list[str]:
    """Apply pending migrations to the file at ``path`` (open as ``conn``), after a verified
    snapshot of it under ``snapshots/`` beside it, so that a deploy that migrates and then fails
    can put back the database the older code knew. A new, empty database (version 0) is not
    copied; when the snapshot cannot be made, nothing is migrated."""
    current = schema_version(conn)
    migrations = load_migrations()
    latest = migrations[-1].version if migrations else 0
    if 0 < current < latest and str(path) != ":memory:":
        try:
            take_snapshot(
                path,
                from_version=current,
                to_version=latest,
                from_commit=previous_commit,
                to_commit=commit or git_commit(),
            )
        except SnapshotError as exc:
            raise DatabaseError(
                f"not migrating {path} from version {current} to {latest}: the snapshot taken "
                f"first failed ({exc})"
            ) from None
    return apply_migrations(conn)


class _Job:
    __slots__ = ("args", "fn", "future", "in_transaction", "on_loop", "queued")

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        future: asyncio.Future[Any],
        in_transaction: bool,
    ) -> None:
        self.fn = fn
        self.args = args
        self.future = future
        self.in_transaction = in_transaction
        # A transaction the loop's thread may run (run_sync work and long transactions: never).
        self.on_loop: bool = in_transaction and not getattr(fn, LONG_TRANSACTION, False)
        self.queued: float = time.monotonic()


Outcome = tuple[_Job, Any, BaseException | None]


class _Group:
    """Transaction functions committed together: one ``BEGIN IMMEDIATE … COMMIT`` around up to
    ``GROUP_LIMIT`` of them, each in a savepoint of its own (group commit).

    Each function is still atomic — an exception rolls back to its savepoint and reaches its
    caller, the others go on — and isolated, as they run one after another. Committing once
    for a group instead of once each is what lets many concurrent callers share the writer:
    COMMIT was a quarter of a small transaction's time (bench/bench_write_path.py). Callers hear
    back only after the COMMIT, so a result is never reported for work that could be lost."""

    def __init__(self, conn: sqlite3.Connection, observer: DbObserver | None = None) -> None:
        self.conn = conn
        self.done: list[tuple[_Job, Any]] = []  # succeeded, waiting for the COMMIT
        self.observer = observer
        self.began = 0.0

    def run(self, job: _Job, outcomes: list[Outcome]) -> None:
        """Run ``job`` in the group (beginning it if need be); its outcome, and the group's
        when BEGIN, SAVEPOINT or RELEASE itself fails (the group is rolled back), go to
        ``outcomes`` then, else at the COMMIT."""
        try:
            self._run(job, outcomes)
        except BaseException as exc:  # BEGIN, SAVEPOINT or RELEASE itself failed
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            outcomes.extend((done, None, exc) for done, _ in self.done)
            self.done.clear()
            outcomes.append((job, None, exc))

    def _run(self, job: _Job, outcomes: list[Outcome]) -> None:
        conn = self.conn
        observer = self.observer
        if observer is not None:
            observer.write_waited(time.monotonic() - job.queued)
        if not conn.in_transaction:
            self.begin()
        started = time.monotonic()
        conn.execute("SAVEPOINT job")
        try:
            result = job.fn(conn, *job.args)
            if observer is not None:
                observer.transaction_ran(time.monotonic() - started)
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
            else:
                # SQLite rolled the whole transaction back itself (I/O error, disk full): the
                # group's earlier work went with it, so their callers must not hear success.
                outcomes.extend((done, None, exc) for done, _ in self.done)
                self.done.clear()
            outcomes.append((job, None, exc))
            return
        conn.execute("RELEASE job")
        self.done.append((job, result))

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.began = time.monotonic()

    def commit(self, outcomes: list[Outcome], *, give_back_busy: bool = False) -> list[_Job]:
        """COMMIT and tell the outcomes. With ``give_back_busy``, a COMMIT that SQLite refuses
        as busy or locked rolls the group back and returns its jobs, to be run again elsewhere
        (the loop's connection, which never waits for a lock); otherwise every job in it fails."""
        conn = self.conn
        if not conn.in_transaction:
            return []
        try:
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if give_back_busy and isinstance(exc, sqlite3.OperationalError) and _busy(exc):
                again = [job for job, _ in self.done]
                self.done.clear()
                return again
            outcomes.extend((job, None, exc) for job, _ in self.done)
        else:
            outcomes.extend((job, result, None) for job, result in self.done)
            if self.observer is not None and self.done:
                self.observer.group_committed(len(self.done), time.monotonic() - self.began)
        self.done.clear()
        return []


class Database:
    """Async access to one SQLite file. Use ``await Database.open(path)`` or ``async with``."""

    # Which SQL a manager writes where portable SQL cannot say it (concord/db/portable.py).
    dialect: str = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        read_pool_size: int = READ_POOL_SIZE,
        previous_commit: str | None = None,
    ) -> None:
        self.path = Path(path)
        # The commit that ran on this file before (named in a pre-migration snapshot).
        self.previous_commit = previous_commit
        self._read_pool_size = read_pool_size
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._write_conn: sqlite3.Connection | None = None
        # The loop's side of the writes (see _flush): its connection (None: every write goes to
        # the writer thread), the writes waiting for the next flush, whether one is scheduled,
        # and how many jobs the writer thread has not handed back yet.
        self._loop_writer: sqlite3.Connection | None = None
        self._pending: list[_Job] = []
        self._flush_scheduled = False
        self._on_thread = 0
        # The WAL index (``-shm``), read for the WAL's size after the loop's commits, the WAL's
        # size when the writer thread was last asked for a checkpoint, and that checkpoint
        # until the writer thread hands it back.
        self._wal_index: int | None = None
        self._checkpoint_asked: int | None = None
        self._checkpoint: _Job | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] | None = None
        self._all_readers: list[aiosqlite.Connection] = []
        self._reader_lock = asyncio.Lock()
        self._loop_reader: sqlite3.Connection | None = None
        # read_in_thread's connections between reads (taken and returned on worker threads).
        self._thread_readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._closed = False
        # Metrics (concord/metrics.py) when switched on; None costs nothing.
        self.observer: DbObserver | None = None

    @property
    def write_queue_depth(self) -> int:
        """Transactions waiting to run: for the loop's next flush, or for the writer thread."""
        return len(self._pending) + self._jobs.qsize()

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    async def open(
        cls, path: str | Path, *, migrate: bool = True, previous_commit: str | None = None
    ) -> Database:
        db = cls(path, previous_commit=previous_commit)
        await db.start(migrate=migrate)
        return db

    async def start(self, *, migrate: bool = True) -> None:
        self._loop = asyncio.get_running_loop()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_conn = await asyncio.to_thread(connect_sync, self.path)
        self._writer = threading.Thread(
            target=self._run_writer, name="concord-db-writer", daemon=True
        )
        self._writer.start()
        if migrate:
            try:
                with usable_file(self.path):
                    await self.run_sync(
                        partial(migrate_with_snapshot, previous_commit=self.previous_commit),
                        self.path,
                    )
            except BaseException:
                await self.close()  # no writer thread or connection left behind
                raise
        if str(self.path) != ":memory:":  # another connection would be another database
            self._loop_writer, self._wal_index = await asyncio.to_thread(
                _open_loop_writer, self.path
            )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Writes already submitted still run: their groups on the loop, or on the thread.
        while self._pending:
            self._flush()
        writer = self._writer
        if writer is not None:
            self._jobs.put(None)
            await asyncio.to_thread(writer.join)
        if self._loop_writer is not None:
            self._loop_writer.close()
            self._loop_writer = None
        if self._wal_index is not None:
            os.close(self._wal_index)
            self._wal_index = None
        for conn in self._all_readers:
            with suppress(Exception):
                await conn.close()
        self._all_readers.clear()
        while not self._thread_readers.empty():
            with suppress(Exception):
                self._thread_readers.get_nowait().close()
        if self._loop_reader is not None:
            self._loop_reader.close()
            self._loop_reader = None
        if self._write_conn is not None:
            self._write_conn.close()

    async def __aenter__(self) -> Database:
        if self._loop is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- writes ----------------------------------------------------------------------------
    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in one ``BEGIN IMMEDIATE`` transaction (a savepoint of the
        group it is committed in), on the loop's thread or, when the write lock is taken
        elsewhere or ``fn`` is a :func:`~concord.db.portable.long_transaction`, on the writer
        thread. Writes run in the order they were submitted.

        Cancelling the caller does not cancel a transaction that was submitted: it still commits.
        """
        return await self._submit(fn, args, in_transaction=True)

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the writer thread's connection with no transaction around
        it (for functions that manage their own, like migrations and backups), after the writes
        submitted before it and before those submitted after it."""
        return await self._submit(fn, args, in_transaction=False)

    async def _submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], *, in_transaction: bool
    ) -> Any:
        loop = self._loop
        if self._closed or loop is None:
            raise DatabaseError("the database is closed")
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append(_Job(fn, args, future, in_transaction))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future

    # The writes submitted during one pass of the event loop wait in _pending for the callback
    # the first of them scheduled, which runs them as one group on the loop's thread (up to
    # GROUP_LIMIT, for at most LOOP_GROUP_SECONDS; the rest in the next callback). A thread
    # trip per write cost two wake-ups and GIL hand-offs: more CPU than a small transaction.
    # The loop's connection never waits for a lock (busy timeout 0): a group that cannot get it
    # goes to the writer thread before any of it ran, and so does every write while the writer
    # thread still has work (run_sync, long transactions, a group sent there), so that writes
    # keep the order they were submitted in. While the writer thread runs only a checkpoint,
    # the writes wait for it on the loop's side instead (the checkpoint's hand-back flushes
    # them): they would wait as long behind it on the thread, at the cost of the trips.
    def _flush(self) -> None:
        self._flush_scheduled = False
        pending = self._pending
        if not pending:
            return
        conn = self._loop_writer
        if conn is not None and self._on_thread == 0 and pending[0].on_loop:
            count = 0
            limit = min(GROUP_LIMIT, len(pending))
            while count < limit and pending[count].on_loop:
                count += 1
            group = pending[:count]
            del pending[:count]
            left, busy = self._run_on_loop(conn, group)
            if busy:
                self._to_thread(left)
            else:
                pending[:0] = left
            if not pending:
                return
            if self._on_thread == 0 and pending[0].on_loop:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
                return
        if (
            conn is not None
            and pending[0].on_loop
            and self._checkpoint is not None
            and self._on_thread == 1
            and not self._closed
        ):
            return
        self._to_thread(pending)
        pending.clear()

    def _run_on_loop(self, conn: sqlite3.Connection, jobs: list[_Job]) -> tuple[list[_Job], bool]:
        """Run ``jobs`` as one group on the loop's connection and tell their callers. Returns
        the jobs left to run, and whether they must go to the writer thread (the write lock is
        taken elsewhere: none of them ran, or their work was rolled back) rather than to the
        next flush (the group's time was up, or SQLite rolled the group back itself)."""
        group = _Group(conn, self.observer)
        try:
            group.begin()
        except sqlite3.Error:
            # Busy or locked, almost always; anything else the writer thread meets and reports.
            return jobs, True
        outcomes: list[Outcome] = []
        deadline = group.began + LOOP_GROUP_SECONDS
        ran = 0
        for job in jobs:
            if ran and (not conn.in_transaction or time.monotonic() > deadline):
                break  # rolled back by SQLite (its callers were told), or time is up
            ran += 1
            group.run(job, outcomes)
        again = group.commit(outcomes, give_back_busy=True)
        _deliver(outcomes)
        if again:
            return again + jobs[ran:], True
        self._maybe_checkpoint()
        return jobs[ran:], False

    def _to_thread(self, jobs: list[_Job]) -> None:
        for job in jobs:
            self._jobs.put(job)
        self._on_thread += len(jobs)

    def _maybe_checkpoint(self) -> None:
        """After a commit on the loop: have the writer thread checkpoint once the WAL holds
        CHECKPOINT_PAGES pages not yet copied back into the database. That is SQLite's own
        auto-checkpoint rule, moved off the loop's thread (a checkpoint fsyncs; the loop's
        connection has auto-checkpoint off). The checkpoint is queued in order with the writes:
        those submitted while it runs wait for it (see _flush), so that it catches up with the
        WAL and the next transaction starts the WAL over from its beginning (with writes going
        on beside it, it never would, and the WAL file would keep growing). When a long read
        keeps it from catching up, the next one waits for as many pages more."""
        index = self._wal_index
        loop = self._loop
        if index is None or loop is None:
            return
        try:
            frames, backfilled = wal_frames(index)
        except OSError as error:  # never expected; the writes must go on regardless
            log.warning("cannot read the WAL index: %s", error)
            return
        if frames - backfilled < CHECKPOINT_PAGES:
            return
        asked = self._checkpoint_asked
        if asked is not None and asked <= frames < asked + CHECKPOINT_PAGES:
            return
        self._checkpoint_asked = frames
        future: asyncio.Future[Any] = loop.create_future()
        future.add_done_callback(_checkpointed)
        self._checkpoint = _Job(_checkpoint, (), future, False)
        self._to_thread([self._checkpoint])

    def _run_writer(self) -> None:
        conn = self._write_conn
        assert conn is not None
        while True:
            job = self._jobs.get()
            batch: list[_Job] = []
            stop = job is None
            if job is not None:
                batch.append(job)
            # Group execution: drain what queued up meanwhile, one transaction each.
            while not stop:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                else:
                    batch.append(nxt)
            _run_batch(conn, batch, self.observer, self._hand_back)
            if stop:
                return

    def _hand_back(self, outcomes: list[Outcome]) -> None:
        """Tell the callers of what just committed (or failed), from the writer thread."""
        loop = self._loop
        if outcomes and loop is not None:
            with suppress(RuntimeError):  # loop already closed: nobody is waiting
                loop.call_soon_threadsafe(self._handed_back, outcomes)

    def _handed_back(self, outcomes: list[Outcome]) -> None:
        """On the loop: the writer thread is done with these jobs."""
        self._on_thread -= len(outcomes)
        checkpoint = self._checkpoint
        if checkpoint is not None and any(job is checkpoint for job, _, _ in outcomes):
            self._checkpoint = None
        _deliver(outcomes)
        if self._pending and not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    # -- reads -----------------------------------------------------------------------------
    async def read_in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on a worker thread with a read-only connection of its own.

        For long reads that turn many rows into something else (exports): the whole job is one
        trip, and neither the rows nor the work on them pass through the event loop, which keeps
        answering interactions meanwhile. Each statement reads one consistent snapshot (WAL)."""
        if self._closed:
            raise DatabaseError("the database is closed")
        idle: queue.SimpleQueue[sqlite3.Connection] = self._thread_readers

        def run() -> T:
            # A connection of the pool (opening one, with its pragmas, cost more than most of
            # these reads: bench/bench_interactions.py); it goes back only when left clean.
            try:
                conn = idle.get_nowait()
            except queue.Empty:
                conn = connect_sync(self.path)
                conn.execute("PRAGMA query_only=ON")
            try:
                return fn(conn, *args)
            finally:
                try:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    reusable = not self._closed
                except sqlite3.Error:  # closed by fn, or broken
                    reusable = False
                if reusable:
                    idle.put(conn)
                else:
                    conn.close()

        return await asyncio.to_thread(run)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only connection from the pool; reads never wait for the writer (WAL)."""
        if self._closed:
            raise DatabaseError("the database is closed")
        conn = await self._acquire_reader()
        try:
            yield conn
        finally:
            if conn.in_transaction:
                with suppress(Exception):
                    await conn.rollback()
            if self._readers is not None:
                self._readers.put_nowait(conn)

    async def _acquire_reader(self) -> aiosqlite.Connection:
        idle = self._readers
        if idle is None:
            idle = self._readers = asyncio.Queue()
        if idle.empty() and len(self._all_readers) < self._read_pool_size:
            async with self._reader_lock:
                if idle.empty() and len(self._all_readers) < self._read_pool_size:
                    conn = await aiosqlite.connect(
                        str(self.path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
                    )
                    conn.row_factory = sqlite3.Row
                    for pragma in (
                        "PRAGMA foreign_keys=ON",
                        "PRAGMA query_only=ON",
                    ):
                        await conn.execute(pragma)
                    self._all_readers.append(conn)
                    return conn
        observer = self.observer
        if observer is None or not idle.empty():
            return await idle.get()
        started = time.monotonic()
        conn = await idle.get()
        observer.reader_waited(time.monotonic() - started)
        return conn

    # fetchall and fetchone, the short reads (one statement, its rows at once), run on the
    # event loop's own thread: a few indexed rows take SQLite tens of microseconds, while a
    # trip to a reader thread and back takes a wake-up of each and, with the GIL contended by
    # the writer and the other threads, milliseconds under load (bench/bench_interactions.py).
    # A WAL reader never waits for the writer; in the rare case it would (SQLITE_BUSY while a
    # checkpoint resets the WAL) the read goes to the thread pool instead of blocking the loop.
    # Long reads that stream or convert many rows use read() or read_in_thread().
    def _loop_conn(self) -> sqlite3.Connection:
        if self._closed:
            raise DatabaseError("the database is closed")
        conn = self._loop_reader
        if conn is None:
            with usable_file(self.path):
                conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA query_only=ON")
            self._loop_reader = conn
        return conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        try:
            return self._loop_conn().execute(sql, params).fetchall()
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
        async with self.read() as conn:
            return list(await conn.execute_fetchall(sql, params))

    async def fetch_many(self, queries: Sequence[tuple[str, Params]]) -> list[list[sqlite3.Row]]:
        """The rows of each ``(sql, params)``, all read from one snapshot (one read
        transaction), on the loop's thread like fetchall (:meth:`read_short`)."""
        return await self.read_short(_rows_of_each, queries)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row: for queries that find one row (by key, an aggregate)."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def read_short(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a short read function ``fn(conn, *args)`` — a few indexed statements, as the
        team reads of a leave card — on the loop's own connection, in one read transaction
        (one snapshot). A trip to a reader thread and back cost more
        than such a read itself (bench/bench_interactions.py). ``fn`` must not write (the
        connection is query_only). When SQLite would make it wait (busy), it runs on a
        reader thread instead (:meth:`read_in_thread`); long reads belong there anyway."""
        conn = self._loop_conn()
        try:
            conn.execute("BEGIN")
            try:
                return fn(conn, *args)
            finally:
                conn.execute("COMMIT")
        except sqlite3.OperationalError as error:
            if not _busy(error):
                raise
        return await self.read_in_thread(fn, *args)


def _rows_of_each(
    conn: sqlite3.Connection, queries: Sequence[tuple[str, Params]]
) -> list[list[sqlite3.Row]]:
    return [conn.execute(sql, params).fetchall() for sql, params in queries]


def _busy(error: sqlite3.OperationalError) -> bool:
    return "locked" in str(error) or "busy" in str(error)


def _open_loop_writer(path: Path) -> tuple[sqlite3.Connection | None, int | None]:
    """The loop's write connection (busy timeout 0, auto-checkpoint off) and the WAL index it
    reads the WAL's size from; (None, None) when the WAL index cannot be read, and then every
    write goes to the writer thread, as the checkpoints could not be left to it."""
    conn = connect_sync(path)
    try:
        conn.execute("PRAGMA busy_timeout=0")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # opens the WAL index
        index = os.open(f"{path}-shm", os.O_RDONLY)
    except (OSError, sqlite3.Error) as error:
        log.warning("writes stay on the writer thread: %s", error)
        conn.close()
        return None, None
    return conn, index


# The WAL index header (https://www.sqlite.org/walformat.html, "The WAL-Index Header"): mxFrame,
# the last valid frame in the WAL, at byte 16; nBackfill, the frames already copied back into
# the database, at byte 96. Native byte order.
_WAL_INDEX: struct.Struct = struct.Struct("=16xI76xI")


def wal_frames(wal_index: int) -> tuple[int, int]:
    """The pages (frames) in the WAL, and how many of them are checkpointed, read from the WAL
    index file (an open descriptor)."""
    data = os.pread(wal_index, _WAL_INDEX.size, 0)
    if len(data) < _WAL_INDEX.size:
        return 0, 0
    frames, backfilled = _WAL_INDEX.unpack(data)
    return int(frames), int(backfilled)


def _checkpoint(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """On the writer thread: copy what it can of the WAL back into the database, waiting for
    no one (PASSIVE); (busy, pages in the WAL, pages checkpointed)."""
    busy, pages, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(busy), int(pages), int(done)


def _checkpointed(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("WAL checkpoint failed: %s", future.exception())


def _run_batch(
    conn: sqlite3.Connection,
    batch: list[_Job],
    observer: DbObserver | None = None,
    hand_back: Callable[[list[Outcome]], None] | None = None,
) -> list[Outcome]:
    """Run what queued up, in order: transaction functions in commit groups, others (migrations,
    backups: ``run_sync``) on their own after committing the group before them. Every
    exception is handed to its caller, never lost in the thread.

    With ``hand_back``, the outcomes go to it as each group commits, rather than all at the
    end (then the list returned is empty): the callers of the first group go on while the
    writer runs the next one, instead of the writer waiting, idle, for the event loop to wake
    up, take the whole batch's results and queue their next transactions."""
    outcomes: list[Outcome] = []
    group: _Group = _Group(conn, observer)

    def committed() -> None:
        nonlocal outcomes
        group.commit(outcomes)
        if hand_back is not None and outcomes:
            hand_back(outcomes)
            outcomes = []

    for job in batch:
        if not job.in_transaction:
            committed()
            try:
                outcomes.append((job, job.fn(conn, *job.args), None))
            except BaseException as exc:
                outcomes.append((job, None, exc))
            continue
        if len(group.done) >= GROUP_LIMIT:
            committed()
        group.run(job, outcomes)
    committed()
    return outcomes


def _deliver(outcomes: list[tuple[_Job, Any, BaseException | None]]) -> None:
    for job, result, exc in outcomes:
        if job.future.done():  # the caller was cancelled; the transaction still committed
            continue
        if exc is not None:
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)
