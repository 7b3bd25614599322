from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from concord.db.database import Database
from tests.web.office import Office, seed_office


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[Office]:
    database = await Database.open(tmp_path / "concord.db")
    try:
        yield await seed_office(database)
    finally:
        await database.close()
