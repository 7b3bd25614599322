"""Start the bot process: endpoints, database, signals, clean exits for refused tokens/intents."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
from typing import TYPE_CHECKING

import discord

from concord import __version__
from concord.bot import ConcordBot, apply_endpoints
from concord.config import Settings
from concord.db.database import Database
from concord.errors import ExitError
from concord.health import read_health

if TYPE_CHECKING:
    from concord.bot import BotDatabase

log = logging.getLogger("concord")
SHUTDOWN_GRACE_SECONDS = 10


async def open_database(settings: Settings) -> BotDatabase:
    """PostgreSQL when ``CONCORD_DATABASE_URL`` is set, else the SQLite file; migrated. An
    unreachable server is one line naming the URL with its password masked (exit 1)."""
    url = settings.database_url
    if url is not None:
        from concord.db.postgres import DatabaseUnavailable, PostgresDatabase

        log.info("Concord Desk %s, PostgreSQL at %s", __version__, url.masked)
        try:
            return await PostgresDatabase.open(url.conninfo)
        except DatabaseUnavailable as error:
            raise ExitError(str(error), code=1) from None
    log.info("Concord Desk %s, SQLite %s", __version__, sqlite3.sqlite_version)
    # The health file still names the commit that ran before this start (the bot rewrites it
    # once ready): a pre-migration snapshot is named after it.
    previous = read_health(settings.process_health_file) or {}
    previous_commit = previous.get("commit")
    return await Database.open(
        settings.db_path,
        previous_commit=previous_commit if isinstance(previous_commit, str) else None,
    )


async def run_bot(settings: Settings, *, sync_only: bool = False, force_sync: bool = False) -> None:
    token = settings.require_token()
    if settings.shard_count is not None:
        ids = settings.shard_ids or tuple(range(settings.shard_count))
        log.info("shards %s of %d", ",".join(map(str, ids)), settings.shard_count)
    apply_endpoints(settings)
    db = await open_database(settings)
    bot = ConcordBot(settings, db, force_sync=force_sync, tune_gc=not sync_only)
    loop = asyncio.get_running_loop()
    closing: list[asyncio.Task[None]] = []

    def request_stop() -> None:
        if not closing:
            log.info("shutting down")
            closing.append(loop.create_task(bot.close()))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop)
    try:
        if sync_only:
            # login() runs setup_hook, which syncs when the commands changed (or with --force).
            await bot.login(token)
            print(
                "synced"
                if bot.sync_calls
                else "unchanged: nothing to sync (use --force to sync anyway)"
            )
            return
        await bot.start(token)
    except discord.LoginFailure:
        raise ExitError(
            "DISCORD_TOKEN was refused by Discord; copy a fresh token from the developer portal "
            "(Applications > your app > Bot > Reset Token)"
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise ExitError(
            "Discord refused the Server Members intent; switch on 'Server Members Intent' in the "
            "developer portal (Applications > your app > Bot > Privileged Gateway Intents)"
        ) from None
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if not bot.is_closed():
            await asyncio.wait_for(bot.close(), SHUTDOWN_GRACE_SECONDS)
        await db.close()
