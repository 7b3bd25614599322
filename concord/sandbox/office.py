"""The standard sandbox world: one small office on the emulator.

Guild "Concord Office" with roles Manager (Manage Server) and Staff; a text channel for each
module that asks for one in its fixtures (general, approvals, tasks, reports for the built-in
modules); members owner (the guild owner), alice (Manager, Staff) and bob, carol, dave (Staff).
The bot joins with its own integration role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from concord.sandbox.emulator import Emulator
from concord.sandbox.emulator.world import (
    ATTACH_FILES,
    CREATE_PUBLIC_THREADS,
    DM,
    EMBED_LINKS,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    MENTION_EVERYONE,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    Channel,
    Guild,
    Role,
    User,
    World,
)
from concord.sandbox.errors import UsageError

if TYPE_CHECKING:
    from concord.cogs.modkit import Module

GUILD_NAME = "Concord Office"
# username -> (display name, roles)
MEMBERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "owner": ("Olivia Owner", ()),
    "alice": ("Alice", ("Manager", "Staff")),
    "bob": ("Bob", ("Staff",)),
    "carol": ("Carol", ("Staff",)),
    "dave": ("Dave", ("Staff",)),
}
# Exactly what the README's invite link grants the bot's integration role (a test keeps the two
# equal), so the bot cannot come to rely on more than that (Manage Messages, say) unnoticed.
BOT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
    | EMBED_LINKS
    | ATTACH_FILES
    | MENTION_EVERYONE
)


Actor = str | User
ChannelRef = str | Channel


@dataclass
class Office:
    """The office's guild, and finding its members, channels and roles by name."""

    world: World
    guild: Guild
    users: dict[str, User] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)

    def member(self, name: Actor) -> User:
        if isinstance(name, User):
            return name
        key = name.lstrip("@").lower()
        user = self.users.get(key)
        if user is None:
            user = next(
                (u for u in self.world.users.values() if u.username.lower() == key),
                None,
            )
        if user is None or user.id not in self.guild.members:
            raise UsageError(f"no member {name!r} (members: {', '.join(self.users)})")
        return user

    def channel(self, name: ChannelRef) -> Channel:
        if isinstance(name, Channel):
            return name
        key = name.lstrip("#").lower()
        for channel in self.guild.channels.values():
            if (channel.name or "").lower() == key:
                return channel
        shown = ", ".join(str(c.name) for c in self.guild.channels.values())
        raise UsageError(f"no channel {name!r} (channels: {shown})")

    def role(self, name: str | Role) -> Role:
        if isinstance(name, Role):
            return name
        key = name.lower()
        for role in self.guild.roles.values():
            if role.name.lower() in (key, "@" + key.lstrip("@")):
                return role
        raise UsageError(f"no role {name!r}")

    def where(self, user: User, channel: ChannelRef | None) -> Channel:
        """Where ``user`` acts: #general by default, a channel by name, or "dm"."""
        if channel is None:
            return self.channel("general")
        if isinstance(channel, str) and channel.lower() in ("dm", "dms"):
            return self.world.dm_channel(user)
        return self.channel(channel)

    def channel_label(self, channel_id: int) -> str:
        """``#approvals`` or ``dm:bob``."""
        channel = self.world.channel(channel_id)
        if channel is None:
            return str(channel_id)
        if channel.type == DM:
            user = self.world.users.get(channel.recipient_id or 0)
            return f"dm:{user.username if user else channel.recipient_id}"
        return f"#{channel.name}"


def module_descriptors(paths: Sequence[str] | None = None) -> tuple[Module, ...]:
    """The modules at ``paths`` (None: the built-in ones)."""
    from concord.cogs.modkit import builtin_modules, module_at

    return tuple(module_at(path) for path in (builtin_modules() if paths is None else paths))


def office_channels(modules: Sequence[Module]) -> list[tuple[str, str]]:
    """(name, topic) of the office's text channels: #general, then each module's."""
    channels = {"general": "Say hello"}
    for module in modules:
        channels.update(dict(module.fixtures.channels))
    return list(channels.items())


def build_office(emulator: Emulator, modules: Sequence[Module] | None = None) -> Office:
    world = emulator.world
    owner = world.add_user("owner", MEMBERS["owner"][0])
    guild = world.add_guild(GUILD_NAME, owner)
    office = Office(world, guild)
    office.users["owner"] = owner
    office.roles["Staff"] = world.add_role(guild, "Staff")
    office.roles["Manager"] = world.add_role(guild, "Manager", MANAGE_GUILD | MANAGE_MESSAGES)
    bot_role = world.add_role(
        guild, emulator.bot_user.display_name, BOT_PERMISSIONS, bot_id=emulator.bot_user.id
    )
    for name, topic in office_channels(module_descriptors() if modules is None else modules):
        office.channels[name] = world.add_channel(guild, name, topic=topic)
    for username, (display, role_names) in MEMBERS.items():
        if username == "owner":
            continue
        user = world.add_user(username, display)
        office.users[username] = user
        world.add_member(guild, user, [office.roles[r] for r in role_names])
    world.add_member(guild, emulator.bot_user, [bot_role])
    return office
