"""Settings changed by one process are seen by the others (issue 14): each process caches guild
settings, and GuildSettings.refresh drops what another process changed (settings_changes)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from concord.db.database import Database
from concord.db.guilds import GuildSettings
from tests.db.conftest import drop_postgres, fresh_postgres
from tests.pg_server import ThrowawayPostgres


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


async def test_its_own_change_keeps_the_cache_another_drops_it(tmp_path: Path) -> None:
    path = tmp_path / "concord.db"
    async with Database(path) as one, Database(path) as two:
        mine, theirs = GuildSettings(one), GuildSettings(two)
        await mine.refresh()
        await mine.update(3, 0, {"digest": time(7, 0)})
        assert await mine.refresh() == 0  # its own write: the cache already holds the result
        await theirs.update(3, 0, {"digest": time(7, 45)})
        await mine.update(4, 0, {"digest": time(6, 0)})
        assert await mine.refresh() == 1  # guild 3, changed by the other
        assert (await mine.get(3)).digest == time(7, 45)
        assert (await mine.get(4)).digest == time(6, 0)


async def test_the_watch_waits_without_a_task_of_its_own(tmp_path: Path) -> None:
    """Between looks the watch waits on a timer: ``asyncio.wait_for`` ran a new task for each
    wait, which the emulator counts as the bot still answering, so a command slower than the
    poll (a DAR chart, the tour) was never seen finished and timed out."""
    async with Database(tmp_path / "concord.db") as db:
        looks: asyncio.Queue[int] = asyncio.Queue()
        watch = asyncio.create_task(GuildSettings(db).watch(0.01, looked=looks.put_nowait))
        try:
            for _ in range(3):
                await asyncio.wait_for(looks.get(), 10)
                for _ in range(5):
                    await asyncio.sleep(0)  # the watch is waiting for the next look now
                others = asyncio.all_tasks() - {asyncio.current_task(), watch}
                assert others == set()
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch


# -- PostgreSQL: LISTEN settings_changed, the poll only as the fallback -----------------------
BIG_POLL_S = 3600.0  # the poll never fires in these tests: only a notification can wake a look


@pytest.fixture
def pg_db_url(pg_server: ThrowawayPostgres, pg_template: str) -> Iterator[str]:
    name = fresh_postgres(pg_server, pg_template)
    yield pg_server.url(name)
    drop_postgres(pg_server, name)


async def _changed(looks: asyncio.Queue[int], within_s: float) -> None:
    """Wait (at most ``within_s``) for a look that dropped something."""

    async def until_dropped() -> None:
        while await looks.get() == 0:
            pass

    await asyncio.wait_for(until_dropped(), within_s)


def _listener_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("concord-pg-listen")]


async def test_a_change_reaches_the_other_process_within_a_second_by_notify(
    pg_db_url: str,
) -> None:
    from concord.db.postgres import PostgresDatabase

    async with PostgresDatabase(pg_db_url) as one, PostgresDatabase(pg_db_url) as two:
        mine, theirs = GuildSettings(one), GuildSettings(two)
        await mine.update(1, 0, {"digest": time(9, 0)})
        looks: asyncio.Queue[int] = asyncio.Queue()
        watch = asyncio.create_task(theirs.watch(BIG_POLL_S, looked=looks.put_nowait))
        try:
            await asyncio.wait_for(looks.get(), 10)  # the first look, LISTEN in place
            assert (await theirs.get(1)).digest == time(9, 0)  # cached now
            await mine.update(1, 0, {"digest": time(10, 30)})
            await _changed(looks, 1.0)
            assert (await theirs.get(1)).digest == time(10, 30)
            assert len(_listener_threads()) == 1
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        assert _listener_threads() == []  # stopped with the watch (its connection closed)


async def test_a_lost_listen_connection_comes_back(pg_db_url: str) -> None:
    from concord.db.postgres import PostgresDatabase

    async with PostgresDatabase(pg_db_url) as one, PostgresDatabase(pg_db_url) as two:
        mine, theirs = GuildSettings(one), GuildSettings(two)
        await mine.update(2, 0, {"digest": time(8, 0)})
        looks: asyncio.Queue[int] = asyncio.Queue()
        watch = asyncio.create_task(theirs.watch(BIG_POLL_S, looked=looks.put_nowait))
        try:
            await asyncio.wait_for(looks.get(), 10)
            assert (await theirs.get(2)).digest == time(8, 0)
            killed = await one.run_sync(_terminate_listeners)
            assert killed == 1
            # Reconnected (after the backoff), it looks once for what it may have missed and
            # hears the changes after that: the poll never ran.
            await mine.update(2, 0, {"digest": time(8, 15)})
            await _changed(looks, 10)
            assert (await theirs.get(2)).digest == time(8, 15)
            await mine.update(2, 0, {"digest": time(8, 30)})
            await _changed(looks, 10)
            assert (await theirs.get(2)).digest == time(8, 30)
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
    assert _listener_threads() == []


def _terminate_listeners(conn: Any) -> int:
    rows = conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE query LIKE 'LISTEN %' AND datname = current_database()"
    ).fetchall()
    return len(rows)
