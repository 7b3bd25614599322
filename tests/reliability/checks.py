"""What the reliability tests check after an interaction: the whole database, and whether the
bot's error path ran and with what."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from discord import app_commands

from concord.errors import UserError
from concord.sandbox.driver import Sandbox


def _all_rows(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        table: [tuple(row) for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid')]
        for table in tables
    }


async def database_state(sandbox: Sandbox) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove an action changed nothing (read on the database's
    own thread: one hop, and nothing else writes between two interactions)."""
    return await sandbox.db.run_sync(_all_rows)


def is_clear_error(error: BaseException) -> bool:
    """A message for the user: a domain error, or one of discord.py's checks and conversions
    the bot's error path words for people."""
    original = getattr(error, "original", error)
    return isinstance(original, UserError) or isinstance(
        error, app_commands.TransformerError | app_commands.CheckFailure
    )


class ErrorSpy:
    """Records every error that reaches ``bot.report_error`` (then lets it answer as usual)."""

    def __init__(self, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
        self.errors: list[BaseException] = []
        report_error = sandbox.bot.report_error

        async def recording(interaction: Any, error: BaseException) -> None:
            self.errors.append(error)
            await report_error(interaction, error)

        monkeypatch.setattr(sandbox.bot, "report_error", recording)

    def clear(self) -> None:
        self.errors.clear()
