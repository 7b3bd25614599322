"""``concord db copy`` on bench_dar.py's office: SQLite -> PostgreSQL -> SQLite, timed per table.

Seeds a SQLite file with bench_dar.py's year (500 members: ≈125k daily reports, 20k tasks, 5k
leave requests) and what the managers write beside it, every table filled
(bench/office_seed.py), starts a throwaway PostgreSQL server with the durable defaults (fsync
on: tests/pg_server.py), then copies the office there and back with the code ``concord db
copy`` runs (``concord.db.copy.copy_database``: COPY on PostgreSQL, one transaction per table,
identities reset, row counts and every member's leave balances compared on both sides), and
finally compares every row of the round-tripped file with the original.

    .venv/bin/python bench/bench_db_copy.py [--members 500] [--tasks 20000] [--leave 5000]

Targets (MET/MISSED): each direction under 60 s (an office moves in a short maintenance window:
the bot is stopped for the copy), and every table identical after the round trip.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import benchlib
from office_seed import seed_office

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from concord.core.leave import format_days
from concord.db.copy import CopyReport, SqliteSide, copy_database, open_side, schema_tables
from concord.db.database import apply_migrations, connect_sync, transaction
from tests.pg_server import ThrowawayPostgres

TODAY = date(2026, 12, 1)
TARGET_S = 60.0


def copy(source: str | Path, target: str | Path) -> CopyReport:
    src, dst = open_side(source), open_side(target, create=True)
    try:
        return copy_database(src, dst, today=TODAY)
    finally:
        dst.close()
        src.close()


def rows_of(path: Path) -> dict[str, list[tuple[object, ...]]]:
    side = SqliteSide(path, create=False)
    try:
        return {t.name: [tuple(r) for r in side.rows(t)] for t in schema_tables()}
    finally:
        side.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--leave", type=int, default=5_000)
    args = parser.parse_args(argv)
    benchlib.header(f"concord db copy: a {args.members}-member office's year, there and back")
    with tempfile.TemporaryDirectory(prefix="concord-bench-") as directory:
        office = Path(directory) / "office.db"
        started = time.perf_counter()
        conn = connect_sync(office)
        apply_migrations(conn)
        with transaction(conn):
            seed_office(conn, args.members, args.tasks, args.leave)
        conn.close()
        print(
            f"seeded {office.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - started:.1f} s"
        )
        with ThrowawayPostgres(durable=True) as server:
            url = server.create_database("copy")
            there = copy(office, url)
            back_path = Path(directory) / "back.db"
            back = copy(url, f"sqlite:///{back_path}")
        identical = rows_of(back_path) == rows_of(office)
    rows = [
        [a.name, a.target_rows, round(a.seconds, 2), round(b.seconds, 2)]
        for a, b in zip(there.tables, back.tables, strict=True)
    ]
    rows.append(["total", there.rows, round(there.seconds, 2), round(back.seconds, 2)])
    print(benchlib.table(["table", "rows", "to PostgreSQL s", "back to SQLite s"], rows))
    print(
        f"leave balances compared each way: {there.balances:,} (member, type, year), "
        f"{format_days(there.available_days)} days available in total; every table identical after the "
        f"round trip: {identical}"
    )
    print("(each direction's time includes migrating the target and both verifications)")
    targets = benchlib.Targets()
    targets.below("SQLite -> PostgreSQL", there.seconds, TARGET_S, " s")
    targets.below("PostgreSQL -> SQLite", back.seconds, TARGET_S, " s")
    targets.at_least("tables identical after the round trip", float(identical), 1.0)
    targets.report()
    benchlib.emit(
        "db_copy",
        {
            "members": args.members,
            "rows": there.rows,
            "tables": {t.name: t.target_rows for t in there.tables},
            "to_postgres_s": round(there.seconds, 2),
            "to_sqlite_s": round(back.seconds, 2),
            "balances": there.balances,
            "identical": identical,
        },
        targets,
    )
    return 0 if targets.met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
