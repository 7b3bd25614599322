"""A second office for the sandbox: the bot is invited to another guild while it runs.

"Second Office" has its own owner (erin, also called "owner" there), roles (Manager, Staff), channels (general, approvals,
reports, tasks) and members: frank (Manager), grace (Staff), and two people who are in both
offices: alice (a manager in the first, only staff here) and bob (staff in both). The bot joins
the way it joins any guild, by a GUILD_CREATE.

``with acting_in(sandbox, office):`` makes the sandbox's lookups and actions (``slash``,
``click``, ``member``, ``channel``, ``configure_office``...) happen in that office.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from concord.sandbox.driver import Sandbox
from concord.sandbox.emulator.world import MANAGE_GUILD, MANAGE_MESSAGES
from concord.sandbox.office import BOT_PERMISSIONS, Office, office_channels
from concord.sandbox.payloads import Payloads

SECOND_OFFICE = "Second Office"
# username -> (display name, roles); users the first office already has are reused.
SECOND_MEMBERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "frank": ("Frank", ("Manager", "Staff")),
    "grace": ("Grace", ("Staff",)),
    "alice": ("Alice", ("Staff",)),
    "bob": ("Bob", ("Staff",)),
}


async def invite_to_second_office(sandbox: Sandbox) -> Office:
    emulator = sandbox.emulator
    world = emulator.world
    owner = world.add_user("erin", "Erin Owner")
    guild = world.add_guild(SECOND_OFFICE, owner)
    office = Office(world, guild)
    office.users["erin"] = office.users["owner"] = owner  # "owner": this office's owner
    office.roles["Staff"] = world.add_role(guild, "Staff")
    office.roles["Manager"] = world.add_role(guild, "Manager", MANAGE_GUILD | MANAGE_MESSAGES)
    bot_role = world.add_role(
        guild, emulator.bot_user.display_name, BOT_PERMISSIONS, bot_id=emulator.bot_user.id
    )
    for name, topic in office_channels(sandbox.modules):
        office.channels[name] = world.add_channel(guild, name, topic=topic)
    for username, (display, role_names) in SECOND_MEMBERS.items():
        known = sandbox.office.users.get(username)
        user = known if known is not None else world.add_user(username, display)
        office.users[username] = user
        world.add_member(guild, user, [office.roles[r] for r in role_names])
    world.add_member(guild, emulator.bot_user, [bot_role])
    payload = emulator.guild_create_payload(guild)
    await sandbox.run(emulator.gateway.dispatch("GUILD_CREATE", payload))
    assert sandbox.bot.get_guild(guild.id) is not None, "the bot did not join the second office"
    return office


@contextlib.contextmanager
def acting_in(sandbox: Sandbox, office: Office) -> Iterator[None]:
    saved = sandbox.office, sandbox.payloads
    sandbox.office, sandbox.payloads = office, Payloads(sandbox.emulator, office)
    try:
        yield
    finally:
        sandbox.office, sandbox.payloads = saved
