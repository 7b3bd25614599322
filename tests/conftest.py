"""Shared pytest configuration: a migrated database under tmp_path, and the end-to-end
`sandbox` fixture (local Discord emulator + the real bot) from concord.sandbox.testing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from concord.db.database import Database
from tests.s3_server import s3_endpoint, s3_env, s3_url  # noqa: F401 (fixtures: a loopback S3)

pytest_plugins = ["concord.sandbox.testing"]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "concord.db")
    try:
        yield database
    finally:
        await database.close()
