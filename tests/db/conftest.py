"""tests/db on both backends: every test that takes the ``db`` fixture runs on SQLite and on
PostgreSQL (the session's throwaway server, tests/pg_server.py), unless it is marked
``@pytest.mark.sqlite_only("why")`` because it pokes SQLite's internals (a file, a PRAGMA, its
writer thread).

One server per session; each PostgreSQL test gets a fresh database copied from a template
migrated once (``CREATE DATABASE … TEMPLATE``: a file copy, tens of milliseconds), so the
second backend adds little to the run. Without a server the PostgreSQL cases skip with one
line (tests/conftest.py prints the reason in the summary).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from concord.db.database import Database
from concord.db.portable import POSTGRESQL, SQLITE
from tests.pg_server import ThrowawayPostgres

BACKENDS = (SQLITE, POSTGRESQL)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): a tests/db test that runs on SQLite only, and why"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        return
    metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The backend of this case: ``sqlite`` unless parametrised (pytest_generate_tests)."""
    return str(getattr(request, "param", SQLITE))


@pytest.fixture(scope="session")
def pg_template(pg_server: ThrowawayPostgres) -> str:
    """A database migrated to the shipped schema once, copied for each test."""
    import psycopg

    from concord.db.postgres import apply_migrations

    url = pg_server.create_database("template")
    with psycopg.connect(url, autocommit=True) as conn:
        apply_migrations(conn)
    return url.rsplit("/", 1)[1]


def fresh_postgres(server: ThrowawayPostgres, template: str) -> str:
    """A new database with the migrated schema (a copy of the template); returns its name."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        # FILE_COPY (PostgreSQL 15+): a file copy, not the whole template through the WAL.
        copy = "STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" {copy}')
    return name


def drop_postgres(server: ThrowawayPostgres, name: str) -> None:
    """Drop a test's database at once: two hundred 8 MB copies left for the server's removal
    cost minutes of disk writes on a loaded machine."""
    import psycopg

    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A migrated, empty database of the case's backend."""
    if backend == SQLITE:
        database: Any = await Database.open(tmp_path / "concord.db")
        try:
            yield database
        finally:
            await database.close()
        return
    from concord.db.postgres import PostgresDatabase

    server: ThrowawayPostgres = request.getfixturevalue("pg_server")
    name = fresh_postgres(server, request.getfixturevalue("pg_template"))
    try:
        database = await PostgresDatabase.open(server.url(name))
        try:
            yield database
        finally:
            await database.close()
    finally:
        drop_postgres(server, name)
