"""Shared pytest configuration: a migrated database under tmp_path, and the end-to-end
`sandbox` fixture (local Discord emulator + the real bot) from concord.sandbox.testing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from concord.db.database import Database
from tests import pg_server as _pg
from tests.pg_server import pg_server, pg_url  # noqa: F401 (fixtures: a throwaway PostgreSQL)
from tests.s3_server import s3_endpoint, s3_env, s3_url  # noqa: F401 (fixtures: a loopback S3)

pytest_plugins = ["concord.sandbox.testing"]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "concord.db")
    try:
        yield database
    finally:
        await database.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly when the PostgreSQL tests were skipped: a green run without them proves
    nothing about that backend."""
    if _pg.UNAVAILABLE:
        terminalreporter.write_sep("!", "PostgreSQL TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"PostgreSQL unavailable: {_pg.UNAVAILABLE[0]}", red=True)
