"""Kudos, the example module: it proves that a module is one descriptor and touches no shared
file. ``/kudos give member reason`` thanks a colleague in the kudos channel with a **+1**
button that keeps working after a restart; a daily job posts the day's kudos at a time of the
server's choosing; ``/kudos setup`` takes its two settings, which live in ``module_settings``.

Loaded by naming it: ``Sandbox(cogs=[*builtin_modules(), "tests.kudos"])``.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from concord.cogs.common import answer, guild_config, guild_id_of
from concord.cogs.modkit import Fixtures, Job, Module
from concord.core.schedule import format_hhmm, parse_hhmm
from concord.core.settings import GuildConfig, Setting, show_channel
from concord.core.text import escape_markdown, plural
from concord.db.guilds import write_audit
from concord.db.portable import SQLITE, Conn, dialect
from concord.errors import UserError
from concord.scheduler import DailyJob

if TYPE_CHECKING:
    from concord.bot import ConcordBot
    from concord.sandbox.driver import Sandbox

DAILY_JOB = "kudos.daily"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kudos (id INTEGER PRIMARY KEY, guild_id INTEGER NOT NULL,"
    " giver_id INTEGER NOT NULL, member_id INTEGER NOT NULL, reason TEXT NOT NULL,"
    " given_on TEXT NOT NULL, cheers INTEGER NOT NULL DEFAULT 0)"
)
# The same table on PostgreSQL (a module that keeps its own table writes its DDL per dialect).
SCHEMA_POSTGRES = (
    "CREATE TABLE IF NOT EXISTS kudos (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " guild_id BIGINT NOT NULL, giver_id BIGINT NOT NULL, member_id BIGINT NOT NULL,"
    " reason TEXT NOT NULL, given_on TEXT NOT NULL, cheers INTEGER NOT NULL DEFAULT 0)"
)


# -- transactions (one BEGIN IMMEDIATE each, audited) ------------------------------------------
def _create_table(conn: Conn) -> None:
    conn.execute(SCHEMA if dialect(conn) == SQLITE else SCHEMA_POSTGRES)


def _give(conn: Conn, guild_id: int, giver: int, member: int, reason: str, day: date) -> int:
    cursor = conn.execute(
        "INSERT INTO kudos (guild_id, giver_id, member_id, reason, given_on)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        (guild_id, giver, member, reason, day.isoformat()),
    )
    kudos_id = int(cursor.fetchone()["id"])
    write_audit(
        conn,
        guild_id=guild_id,
        actor_id=giver,
        action="kudos.give",
        subject=f"kudos:{kudos_id}",
        after={"member": member},
    )
    return kudos_id


def _cheer(conn: Conn, guild_id: int, kudos_id: int, actor: int) -> int:
    """One more cheer, for a kudos of this guild only (a forged id from another is refused)."""
    done = conn.execute(
        "UPDATE kudos SET cheers = cheers + 1 WHERE id = ? AND guild_id = ?", (kudos_id, guild_id)
    )
    if done.rowcount != 1:
        raise UserError("That kudos is not from this server.")
    write_audit(
        conn, guild_id=guild_id, actor_id=actor, action="kudos.cheer", subject=f"kudos:{kudos_id}"
    )
    return int(conn.execute("SELECT cheers FROM kudos WHERE id = ?", (kudos_id,)).fetchone()[0])


# -- Discord --------------------------------------------------------------------------------
class CheerButton(discord.ui.DynamicItem[discord.ui.Button], template=r"kudos:cheer:(?P<id>\d+)"):
    def __init__(self, kudos_id: int) -> None:
        super().__init__(
            discord.ui.Button(label="+1", custom_id=f"kudos:cheer:{kudos_id}", emoji="👏")
        )
        self.kudos_id = kudos_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> CheerButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: ConcordBot = interaction.client  # type: ignore[assignment]
        try:
            guild_id = guild_id_of(interaction)
            cheers = await bot.db.write(_cheer, guild_id, self.kudos_id, interaction.user.id)
            await interaction.response.send_message(
                f"You cheered. {plural(cheers, 'cheer')} so far.", ephemeral=True
            )
        except Exception as error:
            await bot.report_error(interaction, error)


class Kudos(commands.GroupCog, group_name="kudos", group_description="Thank a colleague"):
    def __init__(self, bot: ConcordBot) -> None:
        self.bot = bot
        super().__init__()

    async def cog_load(self) -> None:
        await self.bot.db.write(_create_table)

    @app_commands.command(name="give", description="Thank a colleague in the kudos channel")
    @app_commands.describe(member="Whom to thank", reason="What for")
    async def give(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        reason: app_commands.Range[str, 1, 200],
    ) -> None:
        config = await guild_config(interaction)
        if member.id == interaction.user.id:
            raise UserError("Kudos are for someone else.")
        channel_id = KUDOS_CHANNEL.value(config)
        channel = self.bot.get_channel(channel_id) if channel_id else None
        if not isinstance(channel, discord.TextChannel):
            raise UserError("No kudos channel yet: a manager sets one with `/kudos setup`.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        today = self.bot.clock.now().astimezone(config.tz).date()
        kudos_id = await self.bot.db.write(
            _give, config.guild_id, interaction.user.id, member.id, reason, today
        )
        view = discord.ui.View(timeout=None)
        view.add_item(CheerButton(kudos_id))
        await channel.send(
            f"👏 {interaction.user.mention} thanks {member.mention}: {escape_markdown(reason)}",
            view=view,
            allowed_mentions=discord.AllowedMentions(users=[member]),
        )
        await answer(interaction, f"Kudos sent to {channel.mention}.")

    async def daily(self, config: GuildConfig, local_date: date, late: bool) -> None:
        """The day's kudos, in the kudos channel."""
        channel = self.bot.get_channel(KUDOS_CHANNEL.value(config) or 0)
        if not isinstance(channel, discord.TextChannel):
            return
        rows = await self.bot.db.fetchall(
            "SELECT member_id, reason FROM kudos WHERE guild_id = ? AND given_on = ? ORDER BY id",
            (config.guild_id, local_date.isoformat()),
        )
        lines = [f"<@{r['member_id']}>: {escape_markdown(r['reason'])}" for r in rows]
        await channel.send(
            f"Kudos of {local_date.isoformat()}: {plural(len(rows), 'kudos', 'kudos')}\n"
            + "\n".join(lines)
        )


def daily_time(config: GuildConfig) -> time | None:
    """Off until the server has a kudos channel."""
    if KUDOS_CHANNEL.value(config) is None:
        return None
    return parse_hhmm(KUDOS_TIME.value(config))


def jobs(cog: Any) -> list[Job]:
    return [DailyJob(DAILY_JOB, daily_time, cog.daily)]


async def sample(sandbox: Sandbox, marker: str, manager: str, other: str) -> None:
    """A kudos for bob, named with ``marker`` (the cross-guild test's objects)."""
    reply = await sandbox.slash(manager, "kudos give", member="bob", reason=f"{marker} thanks")
    assert "Kudos sent" in reply.text, reply.text


KUDOS_CHANNEL = Setting(
    "kudos_channel", "Kudos channel", "Where kudos are posted", "channel", show=show_channel
)
KUDOS_TIME = Setting(
    "kudos_time",
    "Kudos of the day",
    "Time of the daily kudos summary, HH:MM",
    "text",
    default="17:30",
    parse=lambda text: format_hhmm(parse_hhmm(text)),
)

MODULE = Module(
    name="kudos",
    cog=Kudos,
    settings=(KUDOS_CHANNEL, KUDOS_TIME),
    persistent=(CheerButton,),
    jobs=jobs,
    fixtures=Fixtures(
        channels=(("kudos", "Thanks between colleagues"),),
        setup={"kudos_channel": "kudos"},
        buttons=("kudos:cheer:{id}",),
        id_table="kudos",
        sample=sample,
    ),
)

__all__ = ["MODULE"]
