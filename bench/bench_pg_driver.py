"""Which PostgreSQL driver for the PostgreSQL backend (issue 13): psycopg 3 or asyncpg.

The workload is the managers' write shape: a small transaction that reads a row, then writes
it (``SELECT n … ; UPDATE … SET n = n + 1``), 1,000 of them from 100 concurrent asyncio
callers, against a throwaway server (tests/pg_server.py, durable settings: fsync on) with a
pool of 10 connections for each client:

- ``psycopg sync pool``: psycopg's ``ConnectionPool``, each transaction a plain function run
  on a thread (the shape of ``db.write(fn)``: synchronous transaction functions);
- ``psycopg async pool``: ``AsyncConnectionPool``, awaiting each statement;
- ``asyncpg pool``: ``asyncpg.create_pool``, awaiting each statement.

Every transaction must commit (0 errors) and the counters must add up to the number run.
Usage: ``python bench/bench_pg_driver.py [--transactions N] [--callers N] [--rounds N]``.
Skips (exit 0, one line) when no PostgreSQL server can be started here.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.pg_server

import benchlib

from tests.pg_server import PostgresUnavailable, ThrowawayPostgres

try:
    import asyncpg  # noqa: F401 (only for the comparison: pip install asyncpg)

    HAVE_ASYNCPG = True
except ImportError:
    HAVE_ASYNCPG = False

POOL_SIZE = 10
ROWS = 50  # some callers meet on the same row, as two approvers of one guild would
SCHEMA = "CREATE TABLE counters (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0)"

Transaction = Callable[[int], Awaitable[None]]


def read_then_write_sync(conn: object, row: int) -> None:
    import psycopg

    assert isinstance(conn, psycopg.Connection)
    with conn.transaction():
        (n,) = conn.execute("SELECT n FROM counters WHERE id = %s", (row,)).fetchone() or (0,)
        conn.execute("UPDATE counters SET n = n + 1 WHERE id = %s AND n >= %s", (row, n))


async def run_callers(transaction: Transaction, total: int, callers: int) -> list[float]:
    """``total`` transactions shared by ``callers`` concurrent tasks; their latencies."""
    latencies: list[float] = []
    rows = [random.randrange(ROWS) for _ in range(total)]
    queue = iter(rows)

    async def caller() -> None:
        for row in queue:
            started = time.perf_counter()
            await transaction(row)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(caller() for _ in range(callers)))
    return latencies


async def psycopg_sync(url: str, total: int, callers: int) -> tuple[float, list[float]]:
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(url, min_size=POOL_SIZE, max_size=POOL_SIZE, open=True)
    threads = ThreadPoolExecutor(POOL_SIZE)
    loop = asyncio.get_running_loop()

    def work(row: int) -> None:
        with pool.connection() as conn:
            read_then_write_sync(conn, row)

    async def transaction(row: int) -> None:
        await loop.run_in_executor(threads, work, row)

    try:
        started = time.perf_counter()
        latencies = await run_callers(transaction, total, callers)
        return time.perf_counter() - started, latencies
    finally:
        threads.shutdown()
        pool.close()


async def psycopg_async(url: str, total: int, callers: int) -> tuple[float, list[float]]:
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(url, min_size=POOL_SIZE, max_size=POOL_SIZE, open=False)
    await pool.open()

    async def transaction(row: int) -> None:
        async with pool.connection() as conn, conn.transaction():
            cursor = await conn.execute("SELECT n FROM counters WHERE id = %s", (row,))
            (n,) = await cursor.fetchone() or (0,)
            await conn.execute("UPDATE counters SET n = n + 1 WHERE id = %s AND n >= %s", (row, n))

    try:
        started = time.perf_counter()
        latencies = await run_callers(transaction, total, callers)
        return time.perf_counter() - started, latencies
    finally:
        await pool.close()


async def asyncpg_pool(url: str, total: int, callers: int) -> tuple[float, list[float]]:
    import asyncpg

    pool = await asyncpg.create_pool(url, min_size=POOL_SIZE, max_size=POOL_SIZE)

    async def transaction(row: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            n = await conn.fetchval("SELECT n FROM counters WHERE id = $1", row)
            await conn.execute("UPDATE counters SET n = n + 1 WHERE id = $1 AND n >= $2", row, n)

    try:
        started = time.perf_counter()
        latencies = await run_callers(transaction, total, callers)
        return time.perf_counter() - started, latencies
    finally:
        await pool.close()


CLIENTS = {
    "psycopg sync pool": psycopg_sync,
    "psycopg async pool": psycopg_async,
    "asyncpg pool": asyncpg_pool,
}


def reset(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS counters")
        conn.execute(SCHEMA)
        conn.execute("INSERT INTO counters (id) SELECT generate_series(0, %s)", (ROWS - 1,))


def counted(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT sum(n) FROM counters").fetchone()
    return int(row[0]) if row else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1000)
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="runs per client")
    args = parser.parse_args()
    try:
        server = ThrowawayPostgres(durable=True).start()
    except PostgresUnavailable as error:
        print(f"skipped: PostgreSQL unavailable: {error}")
        return 0
    benchlib.header(
        f"PostgreSQL drivers: {args.transactions} read-then-write transactions, "
        f"{args.callers} concurrent callers, pool of {POOL_SIZE}"
    )
    results: dict[str, dict[str, float]] = {}
    rates: dict[str, list[float]] = {}
    try:
        url = server.create_database("bench")
        for _ in range(args.rounds):
            # Interleaved rounds, so a burst of load on the shared machine hits every client.
            for name, client in CLIENTS.items():
                if name.startswith("asyncpg") and not HAVE_ASYNCPG:
                    continue
                reset(url)
                seconds, latencies = asyncio.run(client(url, args.transactions, args.callers))
                errors = args.transactions - counted(url)
                rate = args.transactions / seconds
                rates.setdefault(name, []).append(rate)
                best = results.get(name)
                if best is None or rate > best["tx_per_s"]:
                    summary = benchlib.latency_summary(latencies)
                    results[name] = {"tx_per_s": rate, "errors": errors, **summary}
    finally:
        server.stop()
    rows = []
    for name, r in results.items():
        r["median_tx_per_s"] = statistics.median(rates[name])
        rows.append(
            [
                name,
                round(r["median_tx_per_s"]),
                round(r["tx_per_s"]),
                r["p50_ms"],
                r["p99_ms"],
                int(r["errors"]),
            ]
        )
    if not HAVE_ASYNCPG:
        print("asyncpg not installed (pip install asyncpg): compared psycopg only")
    print(
        benchlib.table(
            ["client", "median tx/s", "best tx/s", "p50 ms (best)", "p99 ms (best)", "errors"],
            rows,
        )
    )
    benchlib.emit(
        "pg_driver", {"transactions": args.transactions, "callers": args.callers, **results}
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
