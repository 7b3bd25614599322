"""The PostgreSQL backend: the same contract as :class:`concord.db.database.Database` for what
the managers use — ``await db.write(fn, *args)``, ``fetchall``/``fetchone``/``read()``,
``read_in_thread``, ``run_sync``, migrations at start — over psycopg 3 and its connection pool
(bench/bench_pg_driver.py: the sync pool was the fastest client here, and it runs the
managers' synchronous transaction functions unchanged).

Writes. Each ``fn(conn, *args)`` runs on a writer thread in a transaction of its own that first
takes an advisory lock: one writer at a time per guild across every process on the database,
as SQLite's ``BEGIN IMMEDIATE`` gives per file, so a transaction function that reads then
writes (count the approved requests, then approve one more) sees everything its guild
committed before it and nothing of its guild commits between its read and its write. A
function whose first argument is ``guild_id`` (or carries it, as ``ApplyInput`` does) locks
that guild (``pg_advisory_xact_lock`` on
the id's two int4 halves) and shares the database lock (``pg_advisory_xact_lock_shared
(WRITE_LOCK)``); any other function takes the database lock exclusively and so waits for
every writer. Guilds write in parallel: 3x the task creations per second over 10 guilds with
fsync on (bench/bench_pg_lock.py, docs/POSTGRES.md). An exception rolls everything back and
reaches the caller. Not SERIALIZABLE: it aborts a transaction that loses a conflict, so every
caller would need a retry loop, and a retried function would run its Python side effects
twice. The isolation level is READ COMMITTED, so each statement after the lock sees the
previous writer's commit. There is no group commit: each transaction commits on its own.

Connections. Each writer and reader thread holds one connection of its own (8 at most, made
when the thread first needs one; see :class:`_Connections`), so a caller never waits for
another's connection, and a connection the server cut is replaced by the thread that needs it:
when the server is gone the caller gets the server's own reason at once (``DatabaseUnavailable``),
and for a second after a failed connect the other threads fail at once too, without trying.
A connection pool (psycopg_pool) stood here before: a caller needing a new connection waited
for the pool's background connect, which retried with a growing backoff and never told the
waiting caller it had failed, so a command waited the pool's whole timeout (10 s) when the
server went away, past what Discord gives an interaction.

Reads run on reader threads in read-only REPEATABLE READ transactions
(one snapshot for every statement of a read, as SQLite's read transaction gives; a read-only
transaction never fails to serialize) and never wait for the lock, as SQLite's WAL readers never wait for the writer. A read whose
connection was lost is retried once; a write only when it was lost before the write's function
ran (at BEGIN or the lock), never after (it may have committed).

SQL arrives in SQLite's spelling and is mapped by :func:`concord.db.portable.to_postgres`;
rows support ``row["name"]`` and ``row[0]`` like ``sqlite3.Row``.

Migrations live in ``concord/db/migrations/postgres/NNNN_name.sql``, hand-written (not
translated at run time), numbered like the SQLite ones: ``postgres/NNNN`` makes the same change
as ``NNNN``. The first file may be a baseline with a higher number (``0009_baseline.sql``
standing for SQLite's 0001–0009 at once); after it the numbers are consecutive. Applied
versions are rows of ``schema_version``; each migration runs in one transaction under
``pg_advisory_xact_lock(MIGRATION_LOCK)``, so two processes starting at once apply it once.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from importlib import resources
from typing import Any, LiteralString, TypeVar, cast

import psycopg

from concord.config import mask_password
from concord.db.database import (
    DatabaseBusy,
    DatabaseError,
    DatabaseUnavailable,
    DbObserver,
    Migration,
)
from concord.db.portable import IntegrityError, Params, to_postgres

log: logging.Logger = logging.getLogger(__name__)

T = TypeVar("T")
# Advisory lock keys (one 64-bit namespace per database): arbitrary, fixed, documented here.
WRITE_LOCK = 0x636F6E636F7264  # "concord"
MIGRATION_LOCK: int = WRITE_LOCK + 1
WRITE_THREADS = 4
READ_THREADS = 4
CONNECT_TIMEOUT_S = 10.0
# After a failed connect, the other threads that need a connection fail at once for this long
# (with the same reason); then the next one tries again, one at a time until one succeeds.
CONNECT_RETRY_S = 1.0
# A connection is replaced after this long (a moved DNS name, a failed-over server's address).
CONNECTION_LIFETIME_S = 3600.0


class _Unreachable(Exception):
    """A new connection could not be made, or was not tried (``again``: a connect failed just
    before, and was logged then)."""

    def __init__(self, reason: str, *, again: bool = False) -> None:
        super().__init__(reason)
        self.again = again


# The server cannot be reached or went away. (A statement or lock timeout is an
# OperationalError too, but the server is there: DatabaseBusy.)
_UNAVAILABLE: tuple[type[Exception], ...] = (psycopg.OperationalError, _Unreachable)
_STILL_THERE: tuple[type[Exception], ...] = (
    psycopg.errors.QueryCanceled,
    psycopg.errors.LockNotAvailable,
)
_MIGRATION_NAME: re.Pattern[str] = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def _connection_lost(error: BaseException) -> bool:
    """The connection broke (as opposed to: the server could not be reached at all)."""
    return isinstance(error, psycopg.OperationalError)


class Row:
    """One result row, by column name or position, like ``sqlite3.Row``."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: Mapping[str, int]) -> None:
        self._values: tuple[Any, ...] = tuple(values)
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._values == other._values
        return isinstance(other, tuple) and self._values == other

    def __hash__(self) -> int:
        return hash(self._values)

    def keys(self) -> list[str]:
        return list(self._index)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=True))!r})"


def _row_factory(cursor: psycopg.Cursor) -> Callable[[Sequence[Any]], Row]:
    index = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


class PgCursor:
    """A statement's result, read the way the managers read a ``sqlite3.Cursor``."""

    def __init__(self, cursor: Any) -> None:  # psycopg.Cursor[Row]: the checkers disagree on it
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def fetchone(self) -> Row | None:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Row]:
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchmany(self, size: int) -> list[Row]:
        return self._cursor.fetchmany(size) if self._cursor.description else []

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


class PgConn:
    """What a transaction function gets on PostgreSQL (the :class:`~concord.db.portable.Conn`
    protocol): ``execute`` takes SQLite's spelling and maps it."""

    dialect: str = "postgresql"

    def __init__(self, conn: psycopg.Connection) -> None:
        self.raw = conn

    def execute(self, sql: str, parameters: Params = (), /) -> PgCursor:
        cursor = self.raw.cursor(row_factory=_row_factory)
        try:
            cursor.execute(_query(sql), _params(parameters))
        except _REFUSED as error:
            raise IntegrityError(_first_line(error)) from error
        return PgCursor(cursor)

    def executemany(self, sql: str, seq: Iterable[Params], /) -> None:
        with self.raw.cursor() as cursor:
            cursor.executemany(_query(sql), [_params(p) for p in seq])


# A unique key, foreign key, NOT NULL or CHECK constraint, or an append-only trigger (RAISE
# EXCEPTION) refused the statement: SQLite says sqlite3.IntegrityError for all of them.
_REFUSED: tuple[type[Exception], ...] = (
    psycopg.errors.IntegrityError,
    psycopg.errors.RaiseException,
)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@lru_cache(maxsize=2048)
def _guild_first(fn: Callable[..., Any]) -> bool:
    """Whether ``fn(conn, guild_id, ...)`` names the guild it writes in its first argument."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return len(names) >= 2 and names[1] == "guild_id"


def _guild_of(fn: Callable[..., Any], args: tuple[Any, ...]) -> int | None:
    """The guild a transaction function writes in — its first argument ``guild_id``, or a
    first argument carrying it (``ApplyInput.guild_id``) — or None for the whole database."""
    if not args:
        return None
    first = args[0]
    if type(first) is int:
        return first if _guild_first(fn) else None
    carried = getattr(first, "guild_id", None)
    return carried if type(carried) is int else None


def _int4_pair(key: int) -> tuple[int, int]:
    """A 64-bit id as the two int4 keys of ``pg_advisory_xact_lock(int4, int4)``, a key space
    apart from the one-bigint locks (WRITE_LOCK, MIGRATION_LOCK)."""

    def signed(value: int) -> int:
        value &= 0xFFFFFFFF
        return value - (1 << 32) if value >= 1 << 31 else value

    return signed(key >> 32), signed(key)


def _query(sql: str) -> LiteralString:
    """The statement for psycopg. Its text comes from the managers' source (values always go
    as parameters), which the checkers cannot see through the translation."""
    return cast(LiteralString, to_postgres(sql))


def _params(parameters: Params) -> Sequence[Any] | Mapping[str, Any]:
    return dict(parameters) if isinstance(parameters, Mapping) else tuple(parameters)


# -- migrations -------------------------------------------------------------------------------
def load_postgres_migrations() -> list[Migration]:
    """The shipped PostgreSQL migrations, ordered; consecutive after the first (a baseline)."""
    folder = resources.files("concord.db").joinpath("migrations").joinpath("postgres")
    found: list[Migration] = []
    if folder.is_dir():
        for entry in folder.iterdir():
            match = _MIGRATION_NAME.match(entry.name)
            if match:
                found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    return check_numbering(found)


def check_numbering(migrations: Sequence[Migration]) -> list[Migration]:
    ordered = sorted(migrations, key=lambda m: m.version)
    for previous, migration in itertools.pairwise(ordered):
        if migration.version != previous.version + 1:
            raise DatabaseError(
                f"migration postgres/{migration.name} breaks the numbering "
                f"(expected {previous.version + 1:04d})"
            )
    return ordered


def schema_version(conn: psycopg.Connection) -> int:
    """The highest applied version; 0 for a database without ``schema_version``."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def _locked_version(conn: psycopg.Connection, latest: int) -> int:
    """In the caller's transaction: take the migration lock, then read the version (so another
    process's migration is seen), refusing a database newer than ``latest``."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY,"
        " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    current = schema_version(conn)
    if current > latest:
        raise DatabaseError(
            f"the database is at schema version {current} but this Concord Desk knows "
            f"only up to {latest}; run a newer release"
        )
    return current


def apply_migrations(
    conn: psycopg.Connection, migrations: Sequence[Migration] | None = None
) -> list[str]:
    """Apply what is pending, one transaction each; returns the names applied. ``conn`` must
    be in autocommit mode (each migration opens its own transaction)."""
    ordered = check_numbering(load_postgres_migrations() if migrations is None else migrations)
    latest = ordered[-1].version if ordered else 0
    with conn.transaction():
        _locked_version(conn, latest)  # a newer database is refused even with nothing pending
    applied: list[str] = []
    for migration in ordered:
        with conn.transaction():
            current = _locked_version(conn, latest)
            if migration.version <= current:
                continue
            if current and migration.version != current + 1:
                raise DatabaseError(
                    f"the database is at schema version {current}, and postgres/"
                    f"{migration.name} does not follow it"
                )
            conn.execute(cast(LiteralString, migration.sql))  # a shipped file, reviewed
            conn.execute(
                "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
        applied.append(migration.name)
        log.info("applied migration postgres/%s", migration.name)
    return applied


# -- connections -------------------------------------------------------------------------------
class _Held(threading.local):
    """A worker thread's own connection and when it was made."""

    conn: psycopg.Connection | None = None
    made: float = 0.0


class _Connections:
    """One connection per worker thread, made by that thread when it first needs one, and
    made again by it when the server cut it. With as many connections as threads a pool
    only adds a wait; here a failed connect reaches its caller at once, with the server's
    reason. After one fails, others fail at once for ``CONNECT_RETRY_S`` (same reason), then
    one thread at a time tries again: a server that went away costs about one connect a
    second, and is used again within a second of coming back."""

    def __init__(self, url: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._url = url
        self.clock = clock  # tests set it instead of sleeping through CONNECT_RETRY_S
        self._local = _Held()
        self._lock = threading.Lock()
        self._open: set[psycopg.Connection] = set()  # every live connection (closed by close())
        self._busy: set[psycopg.Connection] = set()  # in use now: closed when given back
        self._failure: str | None = None  # the last connect's error, until one succeeds
        self._failed_at = 0.0
        self._trying = False  # a thread is trying again after a failure
        self._closed = False
        self.attempts = 0  # connects tried, failed or not (tests)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """This thread's connection, in no transaction; left clean (or dropped) after use."""
        conn = self._take()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _take(self) -> psycopg.Connection:
        conn = self._local.conn
        if conn is not None and (
            conn.closed or self.clock() - self._local.made > CONNECTION_LIFETIME_S
        ):
            self._drop(conn)
            conn = None
        if conn is None:
            conn = self._connect()
            self._local.conn, self._local.made = conn, self.clock()
        with self._lock:
            self._busy.add(conn)
        return conn

    def _connect(self) -> psycopg.Connection:
        with self._lock:
            if self._closed:
                raise _Unreachable("the database is closed")
            failure = self._failure
            if failure is not None:
                if self._trying or self.clock() - self._failed_at < CONNECT_RETRY_S:
                    raise _Unreachable(failure, again=True)
                self._trying = True
            self.attempts += 1
        try:
            conn = psycopg.connect(self._url, connect_timeout=int(CONNECT_TIMEOUT_S))
        except Exception as error:
            reason = mask_password(_first_line(error))
            with self._lock:
                self._failure, self._failed_at, self._trying = reason, self.clock(), False
            raise _Unreachable(reason) from error
        with self._lock:
            self._failure, self._trying = None, False
            if self._closed:
                conn.close()
                raise _Unreachable("the database is closed")
            self._open.add(conn)
        return conn

    def _give_back(self, conn: psycopg.Connection) -> None:
        with self._lock:
            self._busy.discard(conn)
            closing = self._closed
        if not closing and not conn.closed:
            try:
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.rollback()
                return
            except psycopg.Error:
                pass  # broken: dropped below, the next use connects again
        self._drop(conn)

    def _drop(self, conn: psycopg.Connection) -> None:
        if self._local.conn is conn:
            self._local.conn = None
        with self._lock:
            self._open.discard(conn)
        conn.close()

    def close(self) -> None:
        """Close every connection not in use; one in use is closed when its use ends."""
        with self._lock:
            self._closed = True
            idle = self._open - self._busy
            self._open -= idle
        for conn in idle:
            conn.close()


# -- the database -----------------------------------------------------------------------------
class PostgresDatabase:
    """Async access to one PostgreSQL database. ``await PostgresDatabase.open(url)``."""

    # Which SQL a manager must write where portable SQL cannot say it (docs/POSTGRES.md).
    dialect: str = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        migrations: Sequence[Migration] | None = None,
        write_threads: int = WRITE_THREADS,
        read_threads: int = READ_THREADS,
        lock_per_guild: bool = True,
    ) -> None:
        self._url = url
        # Writes of one guild lock that guild only (see the module's doc); False: every write
        # takes the one database lock (bench/bench_pg_lock.py compares the two).
        self.lock_per_guild = lock_per_guild
        self.shown_url: str = mask_password(url)
        self._migrations = migrations
        self._writers = ThreadPoolExecutor(write_threads, thread_name_prefix="concord-pg-write")
        self._readers = ThreadPoolExecutor(read_threads, thread_name_prefix="concord-pg-read")
        self._connections = _Connections(url)  # one per writer and reader thread
        self._closed = False
        self._queued = 0
        # Metrics (concord/metrics.py) set it as on SQLite; only the queue depth is reported
        # here (the waits and group commits it times are the SQLite writer's).
        self.observer: DbObserver | None = None
        self._listeners: list[Listener] = []

    @property
    def write_queue_depth(self) -> int:
        """Transaction functions submitted and not finished (waiting or running)."""
        return self._queued

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.shown_url!r})"

    @classmethod
    async def open(
        cls, url: str, *, migrate: bool = True, migrations: Sequence[Migration] | None = None
    ) -> PostgresDatabase:
        db = cls(url, migrations=migrations)
        await db.start(migrate=migrate)
        return db

    async def start(self, *, migrate: bool = True) -> None:
        try:
            await asyncio.to_thread(self._first_connect)
            if migrate:
                await self.run_sync(apply_migrations, self._migrations)
        except BaseException:
            await self.close()
            raise

    def _first_connect(self) -> None:
        """Refuse to start on a server that cannot be reached, with the server's own reason."""
        try:
            psycopg.connect(self._url, connect_timeout=int(CONNECT_TIMEOUT_S)).close()
        except _UNAVAILABLE as error:
            raise self._unavailable(error) from None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for listener in self._listeners:
            await listener.close()
        await asyncio.to_thread(self._connections.close)
        self._writers.shutdown(wait=False)
        self._readers.shutdown(wait=False)

    async def listen(self, channel: str, notified: Callable[[], object]) -> Listener:
        """Call ``notified()`` (on a listener thread: hand it to the event loop) on each
        NOTIFY of ``channel``, and once after each reconnect (notifications may have been
        missed meanwhile). Returns once the first LISTEN is in place, or its first attempt
        failed (it keeps trying); stopped by ``close()`` of the listener or of the database."""
        if self._closed:
            raise DatabaseError("the database is closed")
        listener = Listener(self._url, channel, notified, shown_url=self.shown_url)
        self._listeners.append(listener)
        await listener.start()
        return listener

    async def __aenter__(self) -> PostgresDatabase:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _unavailable(self, error: BaseException) -> DatabaseUnavailable:
        detail = mask_password(str(error).strip().splitlines()[0] if str(error).strip() else "")
        # A caller failed at once after a failed connect: that connect was logged already.
        level = (
            logging.DEBUG if isinstance(error, _Unreachable) and error.again else logging.WARNING
        )
        log.log(level, "database %s unavailable: %s", self.shown_url, detail)
        return DatabaseUnavailable(f"the database {self.shown_url} is unavailable ({detail})")

    def _busy(self, error: BaseException) -> DatabaseBusy:
        """A lock or statement timeout: the server is there but did not get to it in time."""
        log.warning("database %s busy: %s", self.shown_url, _first_line(error))
        return DatabaseBusy(f"the database {self.shown_url} is busy ({_first_line(error)})")

    async def _in_thread(self, executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise DatabaseError("the database is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, lambda: fn(*args))

    # -- writes ----------------------------------------------------------------------------
    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in one transaction, one writer at a time (module doc)."""
        self._queued += 1
        try:
            return await self._in_thread(self._writers, self._write_now, fn, args)
        finally:
            self._queued -= 1

    def _write_now(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """A write whose connection turns out lost before ``fn`` ran (at BEGIN or the lock: a
        connection the server cut while it sat idle, a restart) is tried once more on a fresh
        one: nothing was written and ``fn`` has not run. Lost after that, it is never retried:
        it may have committed before the loss."""
        for attempt in (1, 2):
            began = False
            try:
                with self._connections.connection() as raw, raw.transaction():
                    guild = _guild_of(fn, args) if self.lock_per_guild else None
                    if guild is None:  # the whole database: waits for every writer
                        raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                    else:  # one guild: shares the database lock, excludes the guild's writers
                        raw.execute(
                            "SELECT pg_advisory_xact_lock_shared(%s),"
                            " pg_advisory_xact_lock(%s::int4, %s::int4)",
                            (WRITE_LOCK, *_int4_pair(guild)),
                        )
                    began = True
                    return fn(PgConn(raw), *args)
            except _UNAVAILABLE as error:
                if isinstance(error, _STILL_THERE):
                    raise self._busy(error) from error
                if attempt == 2 or began or not _connection_lost(error):
                    raise self._unavailable(error) from None
                log.info("write retried once: the connection was lost before it began")
        raise AssertionError("unreachable")

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(raw_conn, *args)`` with an autocommit psycopg connection on a writer
        thread: for work that manages its own transactions (migrations)."""
        return await self._in_thread(self._writers, self._run_autocommit, fn, args)

    def _run_autocommit(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            with self._connections.connection() as raw:
                raw.autocommit = True
                try:
                    return fn(raw, *args)
                finally:
                    raw.autocommit = False
        except _UNAVAILABLE as error:
            if isinstance(error, _STILL_THERE):
                raise self._busy(error) from error
            raise self._unavailable(error) from None

    # -- reads -----------------------------------------------------------------------------
    def _read_now(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """A read whose connection was lost (a server restart, an RDS failover, an idle
        connection cut) is tried once more on a fresh one: it changed nothing, so running it
        again is safe. A write is retried only when lost before it began (``_write_now``)."""
        for attempt in (1, 2):
            try:
                with self._connections.connection() as raw, raw.transaction():
                    raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    return fn(PgConn(raw), *args)
            except _UNAVAILABLE as error:
                if isinstance(error, _STILL_THERE):
                    raise self._busy(error) from error
                if attempt == 2 or not _connection_lost(error):
                    raise self._unavailable(error) from None
                log.info("read retried once: the database connection was lost")
        raise AssertionError("unreachable")

    async def read_in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` in one read-only transaction on a reader thread."""
        return await self._in_thread(self._readers, self._read_now, fn, args)

    async def read_short(self, fn: Callable[..., T], *args: Any) -> T:
        """A short read function: on PostgreSQL every read is a trip to a reader thread."""
        return await self.read_in_thread(fn, *args)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self.read_in_thread(_fetchall, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return next(iter(rows), None)

    async def fetch_many(self, queries: Sequence[tuple[str, Params]]) -> list[list[Row]]:
        """The rows of each ``(sql, params)``, read in one transaction."""
        return await self.read_in_thread(_fetch_many, list(queries))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncReader]:
        """Several reads in a row: ``async with db.read() as conn: await conn.execute_fetchall``."""
        if self._closed:
            raise DatabaseError("the database is closed")
        yield AsyncReader(self)


LISTEN_WAKE_S = 0.5  # how often the listener thread looks whether it is stopped
LISTEN_BACKOFF_S: tuple[float, float] = (0.5, 30.0)  # first and longest wait to reconnect


class Listener:
    """LISTEN on one channel over a dedicated autocommit connection (outside the pool: it
    never takes a writer's or a reader's connection), on a thread of its own. A lost
    connection is logged once and reconnected with a doubling backoff; the caller keeps its
    poll as the fallback meanwhile."""

    def __init__(
        self, url: str, channel: str, notified: Callable[[], object], *, shown_url: str
    ) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", channel):
            raise ValueError(f"not a channel name: {channel!r}")
        self._url = url
        self.channel = channel
        self._notified = notified
        self._shown_url = shown_url
        self._stop = threading.Event()
        self._tried = threading.Event()  # the first connection attempt is over
        self.listening = False
        self._thread = threading.Thread(
            target=self._run, name=f"concord-pg-listen-{channel}", daemon=True
        )

    async def start(self) -> None:
        self._thread.start()
        await asyncio.to_thread(self._tried.wait, CONNECT_TIMEOUT_S + 1)

    async def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        backoff = LISTEN_BACKOFF_S[0]
        lost_logged = False
        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._url, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT_S)
                ) as conn:
                    conn.execute(cast(LiteralString, f"LISTEN {self.channel}"))
                    self.listening = True
                    self._tried.set()
                    if lost_logged:
                        log.info("listening on %s again", self.channel)
                    lost_logged, backoff = False, LISTEN_BACKOFF_S[0]
                    if not first:
                        self._notified()  # whatever was announced while away
                    first = False
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=LISTEN_WAKE_S):
                            self._notified()
            except Exception as error:  # nothing may end the thread but close()
                self.listening = False
                self._tried.set()
                if not lost_logged:
                    log.warning(
                        "LISTEN %s on %s lost (%s); polling until it is back",
                        self.channel,
                        self._shown_url,
                        mask_password(_first_line(error)),
                    )
                    lost_logged = True
                first = False
                self._stop.wait(backoff)
                backoff = min(backoff * 2, LISTEN_BACKOFF_S[1])
        self.listening = False


class AsyncReader:
    """The part of an aiosqlite connection the managers read with; each call is one read."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._db.fetchall(sql, params)


def _fetchall(conn: PgConn, sql: str, params: Params) -> list[Row]:
    return conn.execute(sql, params).fetchall()


def _fetch_many(conn: PgConn, queries: list[tuple[str, Params]]) -> list[list[Row]]:
    return [conn.execute(sql, params).fetchall() for sql, params in queries]
