"""Operator tools on a database file: stats and checks (copies: :mod:`concord.db.snapshots`)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from concord.db.database import connect_sync, load_migrations, schema_version


@dataclass(frozen=True)
class FileSizes:
    database: int
    wal: int


def file_sizes(path: Path) -> FileSizes:
    def size(p: Path) -> int:
        return p.stat().st_size if p.exists() else 0

    return FileSizes(database=size(path), wal=size(Path(f"{path}-wal")))


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    # Table names come from sqlite_master, not from input; quoting guards odd names.
    return {
        name: conn.execute('SELECT count(*) FROM "' + name.replace('"', '""') + '"').fetchone()[0]  # noqa: S608
        for name in names
    }


def check(path: Path) -> list[str]:
    """Problems found (empty = healthy): integrity, foreign keys, schema version."""
    if not path.exists():
        return [f"{path} does not exist"]
    problems: list[str] = []
    conn = connect_sync(path)
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            problems.extend(f"integrity: {line}" for line in integrity[:20])
        for row in conn.execute("PRAGMA foreign_key_check"):
            problems.append(f"foreign key: table {row[0]} rowid {row[1]} -> {row[2]}")
        version = schema_version(conn)
        latest = len(load_migrations())
        if version != latest:
            problems.append(
                f"schema version {version}, this code expects {latest} (run `concord db migrate`)"
            )
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            problems.append(f"journal mode is {mode}, expected wal")
    finally:
        conn.close()
    return problems
