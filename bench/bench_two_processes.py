"""Two OS processes writing one database file through Database.write at once.

Prints transactions/s per process and overall, and the count of "database is locked" errors;
targets (MET/MISSED lines): no such error, every transaction's row in the file.
Usage: python bench/bench_two_processes.py [transactions_per_process]
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib

from concord.db.database import apply_migrations, connect_sync

WORKER = """
import asyncio, sqlite3, sys, time
from concord.db.database import Database

def bump(conn, worker):
    current = conn.execute("SELECT coalesce(max(n), 0) FROM counter").fetchone()[0]
    conn.execute("INSERT INTO counter (n, worker) VALUES (?, ?)", (current + 1, worker))

async def main(path, worker, count):
    db = await Database.open(path)
    errors = 0
    started = time.perf_counter()
    for _ in range(count):
        try:
            await db.write(bump, worker)
        except sqlite3.OperationalError:
            errors += 1
    elapsed = time.perf_counter() - started
    await db.close()
    print(errors, elapsed)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        conn = connect_sync(path)
        apply_migrations(conn)
        conn.execute(
            "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER UNIQUE, worker INTEGER)"
        )
        conn.close()
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, str(path), str(w), str(count)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for w in (1, 2)
        ]
        results = [p.communicate()[0].split() for p in procs]
        wall = time.perf_counter() - started
        check = sqlite3.connect(path)
        rows = check.execute("SELECT count(*) FROM counter").fetchone()[0]
        check.close()
    errors = sum(int(r[0]) for r in results)
    per_process = [count / float(r[1]) for r in results]
    print(f"{'process':<10}{'tx/s':>10}")
    for i, rate in enumerate(per_process, 1):
        print(f"{i:<10}{rate:>10.0f}")
    print(
        f"{'total':<10}{2 * count / wall:>10.0f}  (wall {wall:.2f} s incl. start-up, rows {rows}, errors {errors})"
    )
    targets = benchlib.Targets()
    targets.below('"database is locked" errors', errors, 1)
    targets.at_least("rows in the file", rows, 2 * count)
    targets.report()
    benchlib.emit(
        "two_processes",
        {
            "per_process_tx_s": per_process,
            "total_tx_s": 2 * count / wall,
            "rows": rows,
            "errors": errors,
        },
        targets,
    )


if __name__ == "__main__":
    main()
