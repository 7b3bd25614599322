"""The standard sandbox world: one small office on the emulator.

Guild "Concord Office" with roles Manager (Manage Server) and Staff; text channels general,
approvals, reports, tasks; members owner (the guild owner), alice (Manager, Staff) and bob,
carol, dave (Staff). The bot joins with its own integration role.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from concord.sandbox.emulator import Emulator
from concord.sandbox.emulator.world import (
    ADD_REACTIONS,
    ATTACH_FILES,
    EMBED_LINKS,
    MANAGE_GUILD,
    MANAGE_MESSAGES,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    USE_APPLICATION_COMMANDS,
    VIEW_CHANNEL,
    Channel,
    Guild,
    Role,
    User,
)

GUILD_NAME = "Concord Office"
CHANNELS = ("general", "approvals", "reports", "tasks")
CHANNEL_TOPICS = {
    "general": "Say hello",
    "approvals": "Leave requests waiting for a manager",
    "reports": "Daily activity report summaries and the manager digest",
    "tasks": "Task cards",
}
# username -> (display name, roles)
MEMBERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "owner": ("Olivia Owner", ()),
    "alice": ("Alice", ("Manager", "Staff")),
    "bob": ("Bob", ("Staff",)),
    "carol": ("Carol", ("Staff",)),
    "dave": ("Dave", ("Staff",)),
}
BOT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | MANAGE_MESSAGES
    | USE_APPLICATION_COMMANDS
)


@dataclass
class Office:
    guild: Guild
    users: dict[str, User] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)


def build_office(emulator: Emulator) -> Office:
    world = emulator.world
    owner = world.add_user("owner", MEMBERS["owner"][0])
    guild = world.add_guild(GUILD_NAME, owner)
    office = Office(guild)
    office.users["owner"] = owner
    office.roles["Staff"] = world.add_role(guild, "Staff")
    office.roles["Manager"] = world.add_role(guild, "Manager", MANAGE_GUILD | MANAGE_MESSAGES)
    bot_role = world.add_role(
        guild, emulator.bot_user.display_name, BOT_PERMISSIONS, bot_id=emulator.bot_user.id
    )
    for name in CHANNELS:
        office.channels[name] = world.add_channel(guild, name, topic=CHANNEL_TOPICS[name])
    for username, (display, role_names) in MEMBERS.items():
        if username == "owner":
            continue
        user = world.add_user(username, display)
        office.users[username] = user
        world.add_member(guild, user, [office.roles[r] for r in role_names])
    world.add_member(guild, emulator.bot_user, [bot_role])
    return office
