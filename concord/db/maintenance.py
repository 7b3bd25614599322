"""Operator tools on a database file: stats and checks (copies: :mod:`concord.db.snapshots`)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from concord.db.database import connect_sync, load_migrations, schema_version, usable_file
from concord.db.portable import POSTGRESQL, SQLITE, Conn, dialect


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


# The tables with a guild_id column, from each backend's catalog.
_GUILD_TABLES: dict[str, str] = {
    SQLITE: "SELECT m.name FROM sqlite_master AS m, pragma_table_info(m.name) AS c"
    " WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND c.name = 'guild_id'"
    " ORDER BY m.name",
    POSTGRESQL: "SELECT table_name FROM information_schema.columns"
    " WHERE table_schema = current_schema() AND column_name = 'guild_id' ORDER BY table_name",
}


def guild_table_counts(conn: Conn, guild_id: int) -> dict[str, int]:
    """Rows of one guild in each table that has a ``guild_id`` column: one office's figures,
    never those of the other offices in the same file."""
    names = [row[0] for row in conn.execute(_GUILD_TABLES[dialect(conn)]).fetchall()]
    # Table names come from sqlite_master, not from input; the guild id is a parameter.
    return {
        name: conn.execute(
            'SELECT count(*) FROM "' + name.replace('"', '""') + '" WHERE guild_id = ?',  # noqa: S608
            (guild_id,),
        ).fetchone()[0]
        for name in names
    }


def guild_status(conn: Conn, guild_id: int) -> tuple[dict[str, int], int]:
    """One guild's row counts and the schema version (``/concord status``)."""
    if isinstance(conn, sqlite3.Connection):
        version = schema_version(conn)
    else:
        row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
        version = int(row[0]) if row else 0
    return guild_table_counts(conn, guild_id), version


def check(path: Path) -> list[str]:
    """Problems found (empty = healthy): integrity, foreign keys, schema version. A file that
    is not a database at all raises DatabaseError (one line naming the file)."""
    if not path.exists():
        return [f"{path} does not exist"]
    conn = connect_sync(path)
    try:
        with usable_file(path):
            return _problems(conn)
    finally:
        conn.close()


def _problems(conn: sqlite3.Connection) -> list[str]:
    problems: list[str] = []
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
    return problems
