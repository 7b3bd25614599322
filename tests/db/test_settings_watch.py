"""Settings changed by one process are seen by the others (issue 14): each process caches guild
settings, and GuildSettings.refresh drops what another process changed (settings_changes)."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from concord.db.database import Database
from concord.db.guilds import GuildSettings


async def test_a_change_in_one_process_reaches_the_others_cache(tmp_path: Path) -> None:
    path = tmp_path / "concord.db"
    async with Database(path) as one, Database(path) as two:
        mine, theirs = GuildSettings(one), GuildSettings(two)
        await mine.update(1, 0, {"digest": time(9, 0)})
        await theirs.refresh()
        assert (await theirs.get(1)).digest == time(9, 0)  # cached now
        await mine.update(1, 0, {"digest": time(10, 30)})
        assert (await theirs.get(1)).digest == time(9, 0)  # stale until it looks
        assert await theirs.refresh() == 1
        assert (await theirs.get(1)).digest == time(10, 30)
        assert await theirs.refresh() == 0  # nothing new: one cheap read


async def test_the_first_look_drops_everything_cached_before_it(tmp_path: Path) -> None:
    path = tmp_path / "concord.db"
    async with Database(path) as one, Database(path) as two:
        mine, theirs = GuildSettings(one), GuildSettings(two)
        await mine.update(2, 0, {"digest": time(8, 0)})
        assert (await theirs.get(2)).digest == time(8, 0)
        await mine.update(2, 0, {"digest": time(8, 15)})
        await theirs.refresh()
        assert (await theirs.get(2)).digest == time(8, 15)
