"""Keeping the emulated Discord between sandbox runs (next to the sandbox database): the
synced commands, the messages in channels and DMs, so cards and buttons are still there when
the console starts again, as they would be on Discord; and the office's members (roles, nick,
the day they joined), so report history, stats and "missing" for past days survive a restart."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from concord.health import write_json_atomic
from concord.sandbox.emulator import Emulator
from concord.sandbox.emulator.commands import StoredCommand
from concord.sandbox.emulator.world import DM, Attachment, Channel, Member, StoredMessage

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


def _message_out(message: StoredMessage) -> dict[str, Any]:
    data = asdict(message)
    data["timestamp"] = message.timestamp.isoformat()
    data["edited_timestamp"] = (
        message.edited_timestamp.isoformat() if message.edited_timestamp else None
    )
    data["attachments"] = [
        {**asdict(a), "data": base64.b64encode(a.data).decode()} for a in message.attachments
    ]
    data["reactions"] = {emoji: sorted(users) for emoji, users in message.reactions.items()}
    data["revisions"] = []
    return data


def _message_in(data: dict[str, Any]) -> StoredMessage:
    data = dict(data)
    data["timestamp"] = datetime.fromisoformat(data["timestamp"])
    if data.get("edited_timestamp"):
        data["edited_timestamp"] = datetime.fromisoformat(data["edited_timestamp"])
    data["attachments"] = [
        Attachment(**{**a, "data": base64.b64decode(a["data"])}) for a in data["attachments"]
    ]
    data["reactions"] = {emoji: set(users) for emoji, users in data["reactions"].items()}
    return StoredMessage(**data)


def save_state(emulator: Emulator, path: Path) -> None:
    world = emulator.world
    state = {
        "version": FORMAT_VERSION,
        "last_id": world.snowflakes.last,
        "clock": world.clock().isoformat(),
        "commands": [
            {
                "id": c.id,
                "guild_id": c.guild_id,
                "version": c.version,
                "definition": c.definition,
            }
            for scope in emulator.commands.scopes.values()
            for c in scope
        ],
        "dm_channels": {str(user): channel.id for user, channel in world.dm_channels.items()},
        "messages": [_message_out(m) for m in world.messages.values() if not m.deleted],
        "members": [
            {
                "guild_id": guild.id,
                "user_id": member.user_id,
                "roles": list(member.roles),
                "joined_at": member.joined_at.isoformat(),
                "nick": member.nick,
            }
            for guild in world.guilds.values()
            for member in guild.members.values()
        ],
    }
    write_json_atomic(path, state)


def _restore_members(emulator: Emulator, saved: list[dict[str, Any]]) -> None:
    """Members keep the roles, nick and join date they had. The world's users, guild and roles
    have the same ids on every run, so a saved member is matched by id; what no longer exists
    (a user or role the office no longer has) is left out."""
    world = emulator.world
    for item in saved:
        guild = world.guilds.get(int(item["guild_id"]))
        user_id = int(item["user_id"])
        if guild is None or user_id not in world.users:
            continue
        guild.members[user_id] = Member(
            user_id,
            guild.id,
            [int(r) for r in item["roles"] if int(r) in guild.roles],
            datetime.fromisoformat(item["joined_at"]),
            item.get("nick"),
        )


def saved_clock(path: Path) -> datetime | None:
    """The emulated time when the last run stopped (None without a saved state)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        return datetime.fromisoformat(state["clock"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_state(emulator: Emulator, path: Path) -> bool:
    """Restore a saved state; False when there is none (or it is unreadable)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if state.get("version") != FORMAT_VERSION:
        log.warning("ignoring %s: written by another version of the sandbox", path)
        return False
    world = emulator.world
    world.snowflakes.last = max(world.snowflakes.last, int(state["last_id"]))
    _restore_members(emulator, state.get("members", []))
    registry = emulator.commands
    for item in state["commands"]:
        command = StoredCommand(
            int(item["id"]),
            emulator.application_id,
            item["guild_id"],
            int(item["version"]),
            item["definition"],
        )
        registry.scopes.setdefault(command.guild_id, []).append(command)
    for user_id, channel_id in state["dm_channels"].items():
        if int(user_id) in world.users:
            world.dm_channels[int(user_id)] = Channel(
                channel_id, DM, None, recipient_id=int(user_id)
            )
    for data in state["messages"]:
        message = _message_in(data)
        channel = world.channel(message.channel_id)
        if channel is None or message.author_id not in world.users:
            continue  # the world changed shape; drop what no longer fits
        world.messages[message.id] = message
        channel.last_message_id = max(channel.last_message_id or 0, message.id)
    return True
