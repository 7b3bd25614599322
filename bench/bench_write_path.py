"""The write path: leave apply+approve and task create+complete through the managers, with 1,
10, 100 and 1000 concurrent callers on one SQLite file, against the same SQL run by plain
sqlite3 in one thread.

    .venv/bin/python bench/bench_write_path.py [--pairs 1000] [--levels 1,10,100,1000]
                                               [--workloads leave,tasks] [--backend postgres]

Workloads (each *pair* is two write transactions through ``Database.write``):
- leave: ``LeaveManager.apply`` (one-day Annual leave: holidays, overlaps, the balance over the
  years it touches, audit) then ``LeaveManager.approve`` by a manager (re-checks the balance,
  writes the debit, audit). Between the two the caller reads the balance before/after that
  ``/leave apply`` shows (``ApplyResult.changes``, worked out after the commit). Pair ``i`` is member ``i % 250`` on the ``i // 250``-th working day
  of 2027, so every member has a few requests and no two overlap.
- tasks: ``TaskManager.create`` (a task the caller assigns to themselves: history, audit) then
  ``TaskManager.set_status(..., "done")`` by the assignee (history, audit, repeat check).

Each concurrency level starts from a fresh file with the same set-up; the pairs are shared out
round-robin among the callers (asyncio tasks on the bot's one event loop, as the cogs call the
managers). Each level and the baseline run ``--repeat`` times (default 3), interleaved, and the
best round of each is kept (as ``timeit`` does: on a shared machine the best round is the one
least disturbed); errors and the completeness check count over every round. Figures: write
transactions per second, latency of each pair (from calling apply or
create to approve or complete returning), errors, and a check that every pair's effect is in
the file (approved requests with their debits; tasks done).

The baseline, measured in the same run: the *same SQL statements* with plain ``sqlite3`` in
one thread, no asyncio, no Python rules. To get them, a warm-up runs every pair once through
the managers (one caller, its own file) with ``set_trace_callback`` on the writer connection
(through ``Database.run_sync``). SQLite hands the callback each statement as executed, values
inlined (``sqlite3_expanded_sql``); every literal is turned back into a ``?`` parameter, so the
statement text is the one the manager prepared and sqlite3's statement cache works as it does
for the managers. The baseline replays that stream — ``BEGIN IMMEDIATE``, the reads inside
the transaction (rows fetched), the writes, ``COMMIT`` — on a fresh file with the same set-up
and the same pragmas (``connect_sync``: WAL, synchronous=NORMAL, foreign keys). That is the
ceiling for this machine: what SQLite itself costs for this work. The ratio is the managers'
transactions/s over the baseline's. Target: >= 0.4x of "grouped 64" at 100 callers, 0 errors at every level.

The warm-up runs one caller, so each transaction is committed on its own there, as the writer
does when nothing else is queued. Under load the writer commits the transactions that queued
up together (group commit, up to ``GROUP_LIMIT``, a savepoint each), so it can beat that
baseline; the second baseline, "grouped", replays the same statements committed
``GROUP_LIMIT`` at a time — the ceiling for the way the writer works under load — and "x
grouped" is the managers' share of it.

PostgreSQL (``--backend postgres``, levels 1,10,100 by default): the same workloads through the
same managers on a ``PostgresDatabase`` over a throwaway server with fsync on
(tests/pg_server.py), a fresh database per level and round. The floor, in the same run: the
same SQL replayed by ``pgbench`` with as many clients. A warm-up through the managers (one
caller) records every statement each write transaction sends, the write lock included, with
its values inlined (psycopg's client-side binding); an ``INSERT … RETURNING id`` gets the id
the server returned written in, since the replay's clients interleave differently and the
statements after it name that id. Client ``c`` of ``n`` replays pairs c, c + n, … in order, as
caller ``c`` does: one pgbench process per client (``-c 1 -t 1``, simple protocol, its own
script), all connected and waiting at an advisory lock before the clock starts at its
release; the time ends when the last client exits. The completeness check then runs on the
replay's database too (the replay did the work, not statements that matched nothing). Target:
>= 0.5x pgbench at 10 callers, 0 errors at every level.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import benchlib

from concord.core.tasks import Actor, TaskDraft
from concord.db.database import GROUP_LIMIT, Database, connect_sync
from concord.db.leave import LeaveManager
from concord.db.tasks import TaskManager

GUILD = 1
MANAGER = 1_000_000
MEMBERS = 250
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TARGET_RATIO = 0.4  # of the same SQL committed GROUP_LIMIT at a time ("grouped 64")
TARGET_CALLERS = 100
ROOT = str(Path(__file__).resolve().parents[1])  # for tests.pg_server (the throwaway server)
TARGET_RATIO_PG = 0.5  # of pgbench running the same SQL with as many clients
TARGET_CALLERS_PG = 10


# -- the workloads -------------------------------------------------------------------------------
def working_days(start: date, count: int) -> list[date]:
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


@dataclass
class Workload:
    """One kind of pair: how to set a fresh file up, run pair ``i``, and check the outcome."""

    name: str
    label: str
    setup: Callable[[Database], Awaitable[None]]
    pair: Callable[[Database, int], Awaitable[None]]
    completed: Callable[[Database], Awaitable[int]]


async def leave_setup(db: Database) -> None:
    await LeaveManager(db).types(GUILD, now=NOW)  # the default types, as on first use


def leave_pair_runner(pairs: int) -> Callable[[Database, int], Awaitable[None]]:
    days = working_days(date(2027, 1, 4), pairs // MEMBERS + 1)

    async def run(db: Database, index: int) -> None:
        leave = LeaveManager(db)
        user_id = 1000 + index % MEMBERS
        result = await leave.apply(
            GUILD,
            actor=Actor(user_id, False),
            user_id=user_id,
            leave_type="Annual",
            start=days[index // MEMBERS],
            now=NOW,
        )
        # The balance before/after that /leave apply shows is worked out on the caller's side,
        # after the commit. (The approve button re-renders the card from a fresh read, outside
        # the write path, so Decision.balances is not read here, as the cog does not.)
        if not result.changes:
            raise AssertionError("no balance for the request's year")
        await leave.approve(GUILD, result.request.id, actor=Actor(MANAGER, True), now=NOW)

    return run


async def leave_completed(db: Database) -> int:
    row = await db.fetchone(
        "SELECT count(*) FROM leave_requests r WHERE r.status = 'approved' AND EXISTS"
        " (SELECT 1 FROM leave_ledger l WHERE l.request_id = r.id AND l.kind = 'debit')"
    )
    return int(row[0]) if row else 0


async def tasks_setup(db: Database) -> None:
    """Nothing to create: tasks read the guild's settings (defaults for a new guild)."""
    del db


async def tasks_pair(db: Database, index: int) -> None:
    tasks = TaskManager(db)
    actor = Actor(2000 + index % MEMBERS)
    draft = TaskDraft(
        title=f"Benchmark task {index}",
        description="Write path benchmark",
        assignee_id=actor.user_id,
        due_date=date(2026, 12, 2) + timedelta(days=index % 30),
        priority=("low", "normal", "high", "urgent")[index % 4],
    )
    task = await tasks.create(GUILD, actor, draft, NOW)
    await tasks.set_status(GUILD, task.id, actor, "done", NOW)


async def tasks_completed(db: Database) -> int:
    row = await db.fetchone(
        "SELECT count(*) FROM tasks WHERE status = 'done' AND completed_at IS NOT NULL"
    )
    return int(row[0]) if row else 0


def workloads(pairs: int) -> dict[str, Workload]:
    return {
        "leave": Workload(
            "leave", "leave apply+approve", leave_setup, leave_pair_runner(pairs), leave_completed
        ),
        "tasks": Workload(
            "tasks", "task create+complete", tasks_setup, tasks_pair, tasks_completed
        ),
    }


# -- capturing the statements --------------------------------------------------------------------
_TOKEN = re.compile(
    r"""
    (?P<string>'(?:[^']|'')*')
  | (?P<blob>[xX]'[0-9a-fA-F]*')
  | (?P<ident>"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    """,
    re.VERBOSE,
)

Statement = tuple[str, tuple[Any, ...]]


def parameterise(sql: str) -> Statement:
    """Expanded SQL back to a parameterised statement: each literal (NULL too) becomes ``?``.

    A literal written in the source (``status = 'pending'``, ``LIMIT 1``, ``IS NULL``) becomes
    a parameter as well; SQLite plans and runs both forms alike."""
    parts: list[str] = []
    params: list[Any] = []
    position = 0
    for match in _TOKEN.finditer(sql):
        parts.append(sql[position : match.start()])
        position = match.end()
        text = match.group()
        kind = match.lastgroup
        if kind == "string":
            params.append(text[1:-1].replace("''", "'"))
        elif kind == "blob":
            params.append(bytes.fromhex(text[2:-1]))
        elif kind == "number":
            params.append(float(text) if any(c in text for c in ".eE") else int(text))
        elif kind == "ident" and text.upper() == "NULL":
            params.append(None)  # a None parameter is inlined as NULL
        else:
            parts.append(text)
            continue
        parts.append("?")
    parts.append(sql[position:])
    return "".join(parts), tuple(params)


def split_transactions(traced: Sequence[str]) -> list[list[Statement]]:
    """The traced stream as transactions, ``BEGIN IMMEDIATE`` … ``COMMIT`` included."""
    found: list[list[Statement]] = []
    current: list[Statement] | None = None
    for sql in traced:
        if sql.startswith("--"):  # a trigger's body is reported as a comment; it runs anyway
            continue
        if sql.startswith("PRAGMA wal_checkpoint"):  # the writer thread's, between transactions
            continue
        upper = sql.lstrip().upper()
        if upper.startswith("BEGIN"):
            current = []
        if current is None:
            raise SystemExit(f"a statement outside a transaction was traced: {sql}")
        current.append(parameterise(sql))
        if upper.startswith(("COMMIT", "ROLLBACK")):
            if upper.startswith("ROLLBACK"):
                raise SystemExit("a warm-up transaction rolled back; the capture is not usable")
            found.append(current)
            current = None
    return found


async def capture(workload: Workload, pairs: int, path: Path) -> list[list[Statement]]:
    """Every pair once through the managers, one caller, with the writer connections traced
    (the writer thread's and the loop's: concord/db/database.py)."""
    traced: list[str] = []
    db = await Database.open(path)
    loop_writer: sqlite3.Connection | None = getattr(db, "_loop_writer", None)
    try:
        await workload.setup(db)
        await db.run_sync(lambda conn: conn.set_trace_callback(traced.append))
        if loop_writer is not None:
            loop_writer.set_trace_callback(traced.append)
        for index in range(pairs):
            await workload.pair(db, index)
        await db.run_sync(lambda conn: conn.set_trace_callback(None))
        if loop_writer is not None:
            loop_writer.set_trace_callback(None)
    finally:
        await db.close()
    return split_transactions(traced)


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def fresh_file(workload: Workload, path: Path) -> None:
    db = await Database.open(path)
    try:
        await workload.setup(db)
    finally:
        await db.close()


def grouped(transactions: Sequence[Sequence[Statement]], size: int) -> list[list[Statement]]:
    """The same transactions committed ``size`` at a time, as the writer's group commit does:
    each one's own statements (its savepoint included) between one BEGIN and one COMMIT."""
    found: list[list[Statement]] = []
    for first in range(0, len(transactions), size):
        group: list[Statement] = [("BEGIN IMMEDIATE", ())]
        for statements in transactions[first : first + size]:
            group.extend(statements[1:-1])  # without its own BEGIN and COMMIT
        group.append(("COMMIT", ()))
        found.append(group)
    return found


def replay(path: Path, transactions: Sequence[Sequence[Statement]]) -> tuple[float, float]:
    """The captured transactions with plain sqlite3 in this thread; returns the seconds, and
    the process's CPU seconds."""
    conn = connect_sync(path)
    try:
        cpu = time.process_time()
        started = time.perf_counter()
        for statements in transactions:
            for sql, params in statements:
                conn.execute(sql, params).fetchall()
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        conn.close()


# -- the concurrent runs -------------------------------------------------------------------------
@dataclass
class Level:
    callers: int
    pairs: int
    seconds: float
    latencies: list[float]
    errors: int
    completed: int
    complete: bool = True
    cpu_seconds: float = 0.0  # the process's, every thread (robust to load, unlike tx/s)

    @property
    def tx_per_s(self) -> float:
        return 2 * self.pairs / self.seconds

    @property
    def cpu_ms_per_tx(self) -> float:
        return 1000 * self.cpu_seconds / (2 * self.pairs)


async def run_level(workload: Workload, callers: int, pairs: int, path: Path) -> Level:
    db = await Database.open(path)
    try:
        await workload.setup(db)
        latencies: list[float] = []
        errors: list[str] = []

        async def caller(first: int) -> None:
            for index in range(first, pairs, callers):
                began = time.perf_counter()
                try:
                    await workload.pair(db, index)
                except Exception as error:  # counted and shown; the run goes on
                    errors.append(f"pair {index}: {type(error).__name__}: {error}")
                latencies.append(time.perf_counter() - began)

        cpu = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(caller(n) for n in range(min(callers, pairs))))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        completed = await workload.completed(db)
    finally:
        await db.close()
    for line in errors[:5]:
        print(f"  error: {line}")
    return Level(callers, pairs, seconds, latencies, len(errors), completed, cpu_seconds=cpu)


@dataclass
class Baselines:
    each: float = 0.0  # tx/s, a COMMIT per transaction (the managers' statements when alone)
    grouped: float = 0.0  # tx/s, committed GROUP_LIMIT at a time (their statements under load)
    grouped_cpu_ms: float = 0.0  # CPU ms per transaction of the least CPU grouped round


async def bench_workload(
    workload: Workload, pairs: int, levels: Sequence[int], repeat: int, folder: Path
) -> tuple[Baselines, int, list[Level]]:
    """Capture once; then ``repeat`` rounds of the baseline and every level, interleaved so a
    burst of load from elsewhere hits all of them alike. The best round of each counts."""
    captured = await capture(workload, pairs, folder / f"{workload.name}-capture.db")
    if len(captured) != 2 * pairs:
        raise SystemExit(f"captured {len(captured)} transactions, expected {2 * pairs}")
    statements = sum(len(t) for t in captured)
    in_groups = grouped(captured, GROUP_LIMIT)
    baseline = Baselines()
    best: dict[int, Level] = {}
    errors = dict.fromkeys(levels, 0)
    incomplete = dict.fromkeys(levels, 0)
    for round_ in range(repeat):
        base_path = folder / f"{workload.name}-baseline-{round_}.db"
        await fresh_file(workload, base_path)
        baseline.each = max(baseline.each, len(captured) / replay(base_path, captured)[0])
        remove_db(base_path)
        await fresh_file(workload, base_path)
        seconds, cpu = replay(base_path, in_groups)
        baseline.grouped = max(baseline.grouped, len(captured) / seconds)
        cpu_ms = 1000 * cpu / len(captured)
        if not baseline.grouped_cpu_ms or cpu_ms < baseline.grouped_cpu_ms:
            baseline.grouped_cpu_ms = cpu_ms
        remove_db(base_path)
        for callers in levels:
            path = folder / f"{workload.name}-{callers}-{round_}.db"
            level = await run_level(workload, callers, pairs, path)
            errors[callers] += level.errors
            incomplete[callers] += level.completed != level.pairs
            remove_db(path)
            if callers not in best or level.tx_per_s > best[callers].tx_per_s:
                best[callers] = level
    for callers, level in best.items():  # every round counts for errors and completeness
        level.errors = errors[callers]
        level.complete = incomplete[callers] == 0
    return baseline, statements, [best[c] for c in levels]


# -- PostgreSQL: the managers on a throwaway server against pgbench with the same SQL -----------
# A write transaction's INSERT … RETURNING id: the id the server gave it is written into the
# replayed statement (``INSERT INTO t (id, …) VALUES (<id>, …)``), since the replay's clients
# interleave differently and the next statements name that id.
_RETURNING_INSERT = re.compile(r"^\s*INSERT INTO (\w+) \((?!id,)([^)]*)\) VALUES \(", re.I)


class PgCapture:
    """Every statement a write transaction sends (the write lock included), values inlined as
    the server would read them (psycopg's client-side binding), one list per transaction."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.transactions: list[list[str]] = []
        self._lock = threading.Lock()

    def install(self) -> Callable[[], None]:
        import psycopg

        from concord.db.postgres import PostgresDatabase

        capture = self
        original_execute = psycopg.Cursor.execute
        original_write = PostgresDatabase._write_now

        def execute(cursor: Any, query: Any, params: Any = None, **kw: Any) -> Any:
            current: list[str] | None = getattr(capture.local, "current", None)
            result = original_execute(cursor, query, params, **kw)
            if current is not None:
                text = psycopg.ClientCursor(cursor.connection).mogrify(query, params)
                match = _RETURNING_INSERT.match(text)
                pgresult = cursor.pgresult
                if (
                    match
                    and "RETURNING id" in text
                    and pgresult is not None
                    and pgresult.ntuples == 1
                ):
                    new_id = int(pgresult.get_value(0, 0).decode())
                    head = f"INSERT INTO {match.group(1)} (id, {match.group(2)}) VALUES ({new_id}, "  # noqa: S608
                    text = head + text[match.end() :]
                current.append(text)
            return result

        def write_now(db: Any, fn: Any, args: Any) -> Any:
            capture.local.current = []
            try:
                result = original_write(db, fn, args)
            except BaseException:
                capture.local.current = None
                raise
            with capture._lock:
                capture.transactions.append(capture.local.current)
            capture.local.current = None
            return result

        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        PostgresDatabase._write_now = write_now  # type: ignore[method-assign]

        def uninstall() -> None:
            psycopg.Cursor.execute = original_execute  # type: ignore[method-assign]
            PostgresDatabase._write_now = original_write  # type: ignore[method-assign]

        return uninstall


GATE = 0x70676264  # an advisory lock the clients wait on until every one is connected


def pgbench_scripts(
    transactions: Sequence[Sequence[str]], clients: int, folder: Path
) -> list[Path]:
    """One script per client: client ``c`` of ``n`` runs pairs c, c + n, c + 2n, … in order
    (apply then approve), as caller ``c`` of the managers' run does, each transaction as it was
    captured between BEGIN and COMMIT. It first waits at the gate (a shared advisory lock the
    harness holds exclusively until every client is connected and waiting)."""
    pairs = len(transactions) // 2
    paths: list[Path] = []
    for client in range(clients):
        lines = [
            f"SELECT pg_advisory_lock_shared({GATE});",
            f"SELECT pg_advisory_unlock_shared({GATE});",
        ]
        for pair in range(client, pairs, clients):
            for statements in (transactions[2 * pair], transactions[2 * pair + 1]):
                lines.append("BEGIN;")
                lines.extend(f"{statement};" for statement in statements)
                lines.append("COMMIT;")
        path = folder / f"client-{clients}-{client}.sql"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


@dataclass
class PgbenchRun:
    clients: int
    tx_per_s: float
    errors: int  # clients whose script failed, plus one for a replay that missed a pair


def run_pgbench(scripts: Sequence[Path], url: str, transactions: int) -> PgbenchRun:
    """One pgbench process per client (``-c 1 -t 1`` of its own script, simple protocol), all
    started, connected and waiting at the gate before the clock starts; the time runs from
    opening the gate to the last client's exit."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as gate:
        gate.execute("SELECT pg_advisory_lock(%s)", (GATE,))
        outputs = [script.with_suffix(".out") for script in scripts]
        processes = [
            subprocess.Popen(
                [
                    "pgbench",
                    "--no-vacuum",
                    "--protocol=simple",
                    "-c",
                    "1",
                    "-t",
                    "1",
                    f"--file={script}",
                    url,
                ],
                stdout=out.open("w"),
                stderr=subprocess.STDOUT,
            )
            for script, out in zip(scripts, outputs, strict=True)
        ]
        deadline = time.monotonic() + 300
        while True:
            row = gate.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()
            if row is not None and row[0] == len(scripts):
                break
            ended = [n for n, p in enumerate(processes) if p.poll() is not None]
            if time.monotonic() > deadline or ended:
                for process in processes:
                    process.kill()
                said = outputs[ended[0]].read_text()[-800:] if ended else ""
                raise SystemExit(
                    f"{row[0] if row else 0} of {len(scripts)} pgbench clients reached the "
                    f"gate: {said}"
                )
            time.sleep(0.01)
        started = time.perf_counter()
        gate.execute("SELECT pg_advisory_unlock(%s)", (GATE,))
        for process in processes:
            process.wait()
        seconds = time.perf_counter() - started
    errors = 0
    for process, out in zip(processes, outputs, strict=True):
        text = out.read_text()
        if process.returncode != 0 or "actually processed: 1/1" not in text:
            errors += 1
            if errors <= 3:
                print(f"  pgbench failed ({process.returncode}): {text.strip()[-400:]}")
    return PgbenchRun(len(scripts), transactions / seconds, errors)


async def open_pg(server: Any, workload: Workload) -> tuple[Any, str]:
    from concord.db.postgres import PostgresDatabase

    url = server.create_database("bench")
    db = await PostgresDatabase.open(url)
    await workload.setup(db)
    return db, url


async def run_level_pg(workload: Workload, callers: int, pairs: int, server: Any) -> Level:
    db, _ = await open_pg(server, workload)
    try:
        latencies: list[float] = []
        errors: list[str] = []

        async def caller(first: int) -> None:
            for index in range(first, pairs, callers):
                began = time.perf_counter()
                try:
                    await workload.pair(db, index)
                except Exception as error:  # counted and shown; the run goes on
                    errors.append(f"pair {index}: {type(error).__name__}: {error}")
                latencies.append(time.perf_counter() - began)

        started = time.perf_counter()
        await asyncio.gather(*(caller(n) for n in range(min(callers, pairs))))
        seconds = time.perf_counter() - started
        completed = await workload.completed(db)
    finally:
        await db.close()
    for line in errors[:5]:
        print(f"  error: {line}")
    return Level(callers, pairs, seconds, latencies, len(errors), completed)


async def bench_workload_pg(
    workload: Workload, pairs: int, levels: Sequence[int], repeat: int, server: Any, folder: Path
) -> tuple[dict[int, PgbenchRun], int, list[Level]]:
    """Capture once (one caller); then ``repeat`` rounds, each running pgbench and the managers
    at every level on fresh databases, interleaved. The best round of each counts."""
    capture = PgCapture()
    db, _ = await open_pg(server, workload)
    uninstall = capture.install()
    try:
        for index in range(pairs):
            await workload.pair(db, index)
    finally:
        uninstall()
        await db.close()
    if len(capture.transactions) != 2 * pairs:
        raise SystemExit(f"captured {len(capture.transactions)} transactions, expected {2 * pairs}")
    statements = sum(len(t) + 2 for t in capture.transactions)  # with BEGIN and COMMIT
    scripts = {
        n: pgbench_scripts(capture.transactions, n, folder / f"{workload.name}-{n}")
        for n in levels
        if (folder / f"{workload.name}-{n}").mkdir() is None
    }
    floor: dict[int, PgbenchRun] = {}
    floor_errors = dict.fromkeys(levels, 0)
    best: dict[int, Level] = {}
    errors = dict.fromkeys(levels, 0)
    incomplete = dict.fromkeys(levels, 0)
    for _round in range(repeat):
        for callers in levels:
            replay_db, url = await open_pg(server, workload)
            try:
                run = run_pgbench(scripts[callers], url, 2 * pairs)
                # The replay did the work (every request approved with its debit; every task
                # done), not statements that matched nothing.
                replayed = await workload.completed(replay_db)
            finally:
                await replay_db.close()
            floor_errors[callers] += run.errors + (replayed != pairs)
            if callers not in floor or run.tx_per_s > floor[callers].tx_per_s:
                floor[callers] = run
            level = await run_level_pg(workload, callers, pairs, server)
            errors[callers] += level.errors
            incomplete[callers] += level.completed != level.pairs
            if callers not in best or level.tx_per_s > best[callers].tx_per_s:
                best[callers] = level
    for callers, level in best.items():
        level.errors = errors[callers]
        level.complete = incomplete[callers] == 0
        floor[callers].errors = floor_errors[callers]
    return floor, statements, [best[c] for c in levels]


async def main_postgres(args: argparse.Namespace, levels: list[int]) -> int:
    sys.path.insert(0, ROOT)
    from tests.pg_server import ThrowawayPostgres

    known = workloads(args.pairs)
    chosen = [known[name.strip()] for name in args.workloads.split(",") if name.strip()]
    uneven = [n for n in levels if args.pairs % n]
    if uneven:
        raise SystemExit(f"--pairs {args.pairs} must divide among {uneven} callers evenly")
    benchlib.header(
        f"Write path on PostgreSQL: {args.pairs} pairs (2 write transactions each) per level "
        "through the managers, vs pgbench running the same SQL with as many clients"
    )
    rows: list[list[Any]] = []
    results: list[dict[str, Any]] = []
    targets = benchlib.Targets()
    errors = incomplete = 0
    with (
        tempfile.TemporaryDirectory(prefix="concord-bench-") as tmp,
        ThrowawayPostgres(durable=True) as server,
    ):
        print(f"server: PostgreSQL in a temp dir, fsync on, port {server.port}")
        for workload in chosen:
            floor, statements, levels_run = await bench_workload_pg(
                workload, args.pairs, levels, args.repeat, server, Path(tmp)
            )
            print(
                f"{workload.label}: {statements / (2 * args.pairs):.1f} statements per "
                "transaction captured (BEGIN, the write lock and COMMIT included)"
            )
            for level in levels_run:
                pgbench = floor[level.callers]
                lat = benchlib.latency_summary(level.latencies)
                share = benchlib.ratio(level.tx_per_s, pgbench.tx_per_s)
                rows.append(
                    [
                        workload.label,
                        level.callers,
                        2 * level.pairs,
                        round(pgbench.tx_per_s),
                        pgbench.errors,
                        round(level.tx_per_s),
                        share,
                        lat["p50_ms"],
                        lat["p95_ms"],
                        lat["p99_ms"],
                        level.errors,
                        "yes" if level.complete else "NO",
                    ]
                )
                errors += level.errors
                incomplete += not level.complete
                if level.callers == TARGET_CALLERS_PG:
                    targets.at_least(
                        f"{workload.name} at {TARGET_CALLERS_PG} callers vs pgbench",
                        share,
                        TARGET_RATIO_PG,
                        "x",
                    )
                results.append(
                    {
                        "workload": workload.name,
                        "callers": level.callers,
                        "transactions": 2 * level.pairs,
                        "seconds": round(level.seconds, 3),
                        "tx_per_s": round(level.tx_per_s, 1),
                        "pgbench_tx_per_s": round(pgbench.tx_per_s, 1),
                        "pgbench_errors": pgbench.errors,
                        "ratio_to_pgbench": share,
                        **lat,
                        "errors": level.errors,
                        "complete": level.complete,
                    }
                )
    print()
    print(
        benchlib.table(
            [
                "workload",
                "callers",
                "tx",
                "pgbench tx/s",
                "pgbench errors",
                "managers tx/s",
                "x pgbench",
                "pair p50 ms",
                "p95 ms",
                "p99 ms",
                "errors",
                "all in db",
            ],
            rows,
        )
    )
    targets.below("errors", errors, 1)
    targets.below("levels with a pair missing from the database", incomplete, 1)
    targets.report()
    benchlib.emit("write_path_postgres", {"pairs": args.pairs, "results": results}, targets)
    return 0


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1000, help="pairs per level (default 1000)")
    parser.add_argument("--levels", default=None, help="concurrent callers (default 1,10,100,1000)")
    parser.add_argument("--workloads", default="leave,tasks", help="leave, tasks or both")
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds; the best of each counts (default 3)"
    )
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="postgres: a throwaway server, against pgbench (default levels 1,10,100)",
    )
    args = parser.parse_args(argv)
    if args.backend == "postgres":
        levels_pg = [int(x) for x in (args.levels or "1,10,100").split(",") if x.strip()]
        return await main_postgres(args, levels_pg)
    levels = [int(x) for x in (args.levels or "1,10,100,1000").split(",") if x.strip()]
    known = workloads(args.pairs)
    chosen = [known[name.strip()] for name in args.workloads.split(",") if name.strip()]
    benchlib.header(
        f"Write path: {args.pairs} pairs (2 write transactions each) per level, one file, "
        f"vs the same SQL in one thread with plain sqlite3"
    )
    rows: list[list[Any]] = []
    results: list[dict[str, Any]] = []
    targets = benchlib.Targets()
    errors = incomplete = 0
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as tmp:
        for workload in chosen:
            baseline, statements, levels_run = await bench_workload(
                workload, args.pairs, levels, args.repeat, Path(tmp)
            )
            per_tx = statements / (2 * args.pairs)
            tx = 2 * args.pairs
            each, in_groups = baseline.each, baseline.grouped
            rows.append(
                [workload.label, "baseline", tx, each, 1.0, "-", "-", "-", "-", "-", 0, "-"]
            )
            rows.append(
                [
                    workload.label,
                    f"grouped {GROUP_LIMIT}",
                    tx,
                    in_groups,
                    benchlib.ratio(in_groups, each),
                    1.0,
                    f"{baseline.grouped_cpu_ms:.3f}",
                    "-",
                    "-",
                    "-",
                    0,
                    "-",
                ]
            )
            for level in levels_run:
                share = benchlib.ratio(level.tx_per_s, each)
                lat = benchlib.latency_summary(level.latencies)
                complete = level.complete
                rows.append(
                    [
                        workload.label,
                        level.callers,
                        2 * level.pairs,
                        level.tx_per_s,
                        share,
                        benchlib.ratio(level.tx_per_s, in_groups),
                        f"{level.cpu_ms_per_tx:.3f}",
                        lat["p50_ms"],
                        lat["p95_ms"],
                        lat["p99_ms"],
                        level.errors,
                        "yes" if complete else "NO",
                    ]
                )
                errors += level.errors
                incomplete += not complete
                if level.callers == TARGET_CALLERS:
                    targets.at_least(
                        f"{workload.name} at {TARGET_CALLERS} callers vs grouped {GROUP_LIMIT}",
                        benchlib.ratio(level.tx_per_s, in_groups),
                        TARGET_RATIO,
                        "x",
                    )
                results.append(
                    {
                        "workload": workload.name,
                        "callers": level.callers,
                        "transactions": 2 * level.pairs,
                        "seconds": round(level.seconds, 3),
                        "tx_per_s": round(level.tx_per_s, 1),
                        "baseline_tx_per_s": round(each, 1),
                        "ratio": share,
                        "grouped_baseline_tx_per_s": round(in_groups, 1),
                        "ratio_to_grouped": benchlib.ratio(level.tx_per_s, in_groups),
                        "cpu_ms_per_tx": round(level.cpu_ms_per_tx, 4),
                        "grouped_baseline_cpu_ms_per_tx": round(baseline.grouped_cpu_ms, 4),
                        **lat,
                        "errors": level.errors,
                        "complete": complete,
                    }
                )
            print(
                f"{workload.label}: {per_tx:.1f} statements per transaction captured; "
                f"baseline {each:,.0f} tx/s, grouped {in_groups:,.0f} tx/s"
            )
    print()
    print(
        benchlib.table(
            [
                "workload",
                "callers",
                "tx",
                "tx/s",
                "x baseline",
                "x grouped",
                "cpu ms/tx",
                "pair p50 ms",
                "p95 ms",
                "p99 ms",
                "errors",
                "all in file",
            ],
            rows,
        )
    )
    targets.below("errors", errors, 1)
    targets.below("levels with a pair missing from the file", incomplete, 1)
    targets.report()
    benchlib.emit("write_path", {"pairs": args.pairs, "results": results}, targets)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
