"""Every cog loads, and every command it defines fits Discord's documented limits."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from concord.bot import ConcordBot
from concord.config import Settings
from concord.db.database import Database

NAME = re.compile(r"^[-_\w]{1,32}$")
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2


@pytest.fixture
async def command_payloads(tmp_path: Path) -> AsyncIterator[list[dict[str, Any]]]:
    db = await Database.open(tmp_path / "c.db")
    bot = ConcordBot(Settings(discord_token=None, db_path=tmp_path / "c.db"), db)
    try:
        await bot.load_modules()
        yield [cmd.to_dict(bot.tree) for cmd in bot.tree.get_commands()]
    finally:
        await bot.close()
        await db.close()


def walk(options: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for option in options:
        yield option
        yield from walk(option.get("options", []))


def characters(command: dict[str, Any]) -> int:
    """Discord's 8000-character budget: names, descriptions and choice names/values."""
    total = len(command["name"]) + len(command.get("description", ""))
    for option in walk(command.get("options", [])):
        total += len(option["name"]) + len(option.get("description", ""))
        for choice in option.get("choices", []):
            total += len(choice["name"]) + len(str(choice["value"]))
    return total


async def test_every_cog_loads_and_commands_fit_discord_limits(
    command_payloads: list[dict[str, Any]],
) -> None:
    assert command_payloads, "no commands registered"
    names = [(c["name"], c.get("type", 1)) for c in command_payloads]
    assert len(names) == len(set(names)), "duplicate top-level command"
    for command in command_payloads:
        kind = command.get("type", 1)
        if kind == 1:  # slash command
            assert NAME.match(command["name"]) and command["name"] == command["name"].lower(), (
                command["name"]
            )
            assert 1 <= len(command["description"]) <= 100, command["name"]
        else:  # context menus: 1-32 characters, any case and spaces
            assert 1 <= len(command["name"]) <= 32
        assert characters(command) <= 8000, command["name"]
        assert len(command.get("options", [])) <= 25, command["name"]
        for option in walk(command.get("options", [])):
            label = f"{command['name']}.{option['name']}"
            assert NAME.match(option["name"]) and option["name"] == option["name"].lower(), label
            assert 1 <= len(option["description"]) <= 100, label
            assert len(option.get("options", [])) <= 25, label
            assert len(option.get("choices", [])) <= 25, label
            siblings = [o["name"] for o in option.get("options", [])]
            assert len(siblings) == len(set(siblings)), label
            if option["type"] not in (SUB_COMMAND, SUB_COMMAND_GROUP):
                assert not (option.get("autocomplete") and option.get("choices")), label
            # Required options must come before optional ones.
            flags = [o.get("required", False) for o in option.get("options", []) if o["type"] > 2]
            assert flags == sorted(flags, reverse=True), label


async def test_admin_commands_are_there(command_payloads: list[dict[str, Any]]) -> None:
    concord = next(c for c in command_payloads if c["name"] == "concord")
    subcommands = {o["name"] for o in concord["options"]}
    assert {"setup", "settings", "status", "timezone"} <= subcommands
    setup = next(o for o in concord["options"] if o["name"] == "setup")
    assert {o["name"] for o in setup["options"]} >= {
        "manager_role",
        "staff_role",
        "approvals_channel",
        "reports_channel",
        "tasks_channel",
        "timezone",
        "workdays",
        "workday_hours",
        "dar_reminder",
        "dar_summary",
        "digest",
        "task_assign",
    }
