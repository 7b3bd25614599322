"""``concord db migrate|check|stats|backup`` on PostgreSQL (the SQLite side is
:mod:`concord.db.maintenance`, :mod:`concord.db.snapshots`, :mod:`concord.db.backups`).

Every message names the server by its masked URL (``user:***@host``): the password never
reaches the terminal or a log. ``pg_dump`` gets the password through ``PGPASSWORD``, never on
its command line, where any local user could read it with ``ps``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import LiteralString, cast

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from concord.config import mask_password
from concord.db.database import DatabaseError
from concord.db.postgres import apply_migrations, load_postgres_migrations, schema_version

RDS_BACKUP_HINT = (
    "On Amazon RDS, back up with snapshots: automated backups (a retention period of 1-35 "
    "days, point-in-time restore) or a manual one: `aws rds create-db-snapshot "
    "--db-instance-identifier <instance> --db-snapshot-identifier <name>`. Elsewhere, install "
    "the PostgreSQL client (Debian: postgresql-client) for pg_dump, at the server's major "
    "version or newer."
)


class PgAdminError(DatabaseError):
    """One line for the operator; never holds the password."""


@contextmanager
def connect(url: str) -> Iterator[psycopg.Connection]:
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        raise PgAdminError(f"cannot connect to {mask_password(url)}: {_line(error)}") from None
    try:
        yield conn
    finally:
        conn.close()


def _line(error: BaseException) -> str:
    text = str(error).strip()
    return mask_password(text.splitlines()[0] if text else type(error).__name__)


def latest_version() -> int:
    migrations = load_postgres_migrations()
    return migrations[-1].version if migrations else 0


def migrate(url: str) -> tuple[list[str], int]:
    """Apply what is pending: (names applied, schema version now)."""
    with connect(url) as conn:
        applied = apply_migrations(conn)
        return applied, schema_version(conn)


def tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        " AND table_type = 'BASE TABLE' AND table_name <> 'schema_version' ORDER BY table_name"
    ).fetchall()
    return [str(r[0]) for r in rows]


def table_counts(url: str) -> dict[str, int]:
    with connect(url) as conn:
        counts: dict[str, int] = {}
        for name in tables(conn):
            quoted = '"' + name.replace('"', '""') + '"'
            row = conn.execute(cast(LiteralString, f"SELECT count(*) FROM {quoted}")).fetchone()  # noqa: S608 (a table name from the catalog)
            counts[name] = int(row[0]) if row else 0
        return counts


@dataclass(frozen=True)
class ServerFacts:
    version: int  # schema version
    server: str  # "PostgreSQL 15.20"
    size_bytes: int
    connections: int  # open connections to this database, ours included
    max_connections: int


def facts(conn: psycopg.Connection) -> ServerFacts:
    row = conn.execute(
        "SELECT current_setting('server_version'), pg_database_size(current_database()),"
        " (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()),"
        " current_setting('max_connections')::int"
    ).fetchone()
    assert row is not None
    return ServerFacts(
        version=schema_version(conn),
        server=f"PostgreSQL {str(row[0]).split()[0]}",
        size_bytes=int(row[1]),
        connections=int(row[2]),
        max_connections=int(row[3]),
    )


def check(url: str) -> tuple[list[str], ServerFacts]:
    """Problems found (empty = healthy) and what the server says about itself. PostgreSQL
    keeps its own foreign keys and pages consistent; what can be wrong is the schema: its
    version, and the tables the migrations make."""
    from concord.db.copy import schema_tables

    with connect(url) as conn:
        found = facts(conn)
        problems: list[str] = []
        latest = latest_version()
        if found.version != latest:
            problems.append(
                f"schema version {found.version}, this code expects {latest} "
                "(run `concord db migrate`)"
            )
        if found.version:
            present = set(tables(conn))
            missing = [t.name for t in schema_tables() if t.name not in present]
            if missing:
                problems.append(f"tables missing: {', '.join(missing)}")
        return problems, found


@dataclass(frozen=True)
class DumpResult:
    path: Path
    bytes: int
    seconds: float


def pg_dump_command() -> str | None:
    return shutil.which("pg_dump")


def dump(url: str, target: Path) -> DumpResult:
    """``pg_dump -Fc`` into ``target`` (written beside it, then renamed: never a half file)."""
    binary = pg_dump_command()
    if binary is None:
        raise PgAdminError(f"pg_dump is not on PATH. {RDS_BACKUP_HINT}")
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    partial = target.with_name(target.name + ".partial")
    started = time.perf_counter()
    done = subprocess.run(
        [
            binary,
            "-Fc",
            "--no-owner",
            "--file",
            str(partial),
            "--dbname",
            make_conninfo("", **params),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        detail = mask_password((done.stderr or done.stdout).strip()[-600:])
        raise PgAdminError(f"pg_dump of {mask_password(url)} failed ({done.returncode}): {detail}")
    partial.replace(target)
    return DumpResult(target, target.stat().st_size, time.perf_counter() - started)
