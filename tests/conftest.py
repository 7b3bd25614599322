from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from concord.db.database import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "concord.db")
    try:
        yield database
    finally:
        await database.close()
