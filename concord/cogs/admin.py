"""/concord: guild setup and settings, bot status, a member's own timezone."""

from __future__ import annotations

import logging
import time as monotonic
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from concord import __version__
from concord.cogs.common import (
    acknowledge_later,
    answer,
    guild_config,
    guild_id_of,
    require_manager,
)
from concord.core.backup_policy import describe_backup_state
from concord.core.schedule import (
    parse_hhmm,
    parse_timezone,
    parse_workday_hours,
    parse_workdays,
    search_timezones,
)
from concord.core.settings import GuildConfig
from concord.db.maintenance import file_sizes, guild_status
from concord.errors import PermissionDenied, UserError
from concord.process_jobs import last_outcomes

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log = logging.getLogger(__name__)
CLEAR_WORDS = ("clear", "none", "reset")


def settings_embed(config: GuildConfig, title: str = "Concord Desk settings") -> discord.Embed:
    embed = discord.Embed(title=title, colour=discord.Colour.blurple())
    for label, value in config.summary_lines():
        embed.add_field(name=label, value=value, inline=True)
    return embed


def describe_uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days}d"] if days else []
    return " ".join([*parts, f"{hours}h {minutes}m {secs}s"])


async def timezone_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=n, value=n) for n in search_timezones(current)]


# Every /concord command needs a server. Discord reads guild-only (contexts) on top-level
# commands only and ignores it on subcommands, so it is set on the group.
@app_commands.guild_only()
class Admin(
    commands.GroupCog, group_name="concord", group_description="Concord Desk setup and status"
):
    def __init__(self, bot: ConcordBot) -> None:
        self.bot = bot
        self.started = monotonic.monotonic()
        super().__init__()

    @app_commands.command(
        name="setup", description="Configure Concord Desk for this server (Manage Server)"
    )
    @app_commands.describe(
        manager_role="Members with this role approve leave and manage tasks",
        approver_role="A second role whose members may also approve leave (a backup)",
        staff_role="Members expected to file daily reports (default: everyone)",
        approvals_channel="Where leave requests are posted for approval",
        reports_channel="Where DAR summaries and the manager digest are posted",
        tasks_channel="Where task cards are posted",
        timezone="IANA timezone of the office, e.g. Europe/London",
        workdays="Working days, e.g. mon-fri, sun-thu or mon,tue,thu",
        workday_hours="Hours in a working day (default 8)",
        dar_reminder="Time of the daily report reminder, HH:MM",
        dar_summary="Time of the daily report summary, HH:MM",
        digest="Time of the morning manager digest, HH:MM",
        task_assign="Who may assign tasks to someone else",
        leave_reminder_hours="Remind managers of a pending leave request after this many hours",
        leave_max_days="Longest leave request in calendar days (default 60)",
        dar_edit_days="Working days a daily report stays editable (default 2)",
        task_overdue_days="Escalate an overdue task in the tasks channel after this many days",
    )
    @app_commands.choices(
        task_assign=[
            app_commands.Choice(name="anyone", value="anyone"),
            app_commands.Choice(name="managers", value="managers"),
        ]
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    async def setup(
        self,
        interaction: discord.Interaction,
        manager_role: discord.Role | None = None,
        staff_role: discord.Role | None = None,
        approvals_channel: discord.TextChannel | None = None,
        reports_channel: discord.TextChannel | None = None,
        tasks_channel: discord.TextChannel | None = None,
        timezone: str | None = None,
        workdays: str | None = None,
        workday_hours: app_commands.Range[float, 0.25, 24.0] | None = None,
        dar_reminder: str | None = None,
        dar_summary: str | None = None,
        digest: str | None = None,
        task_assign: app_commands.Choice[str] | None = None,
        leave_reminder_hours: app_commands.Range[int, 1, 720] | None = None,
        leave_max_days: app_commands.Range[int, 1, 366] | None = None,
        dar_edit_days: app_commands.Range[int, 0, 31] | None = None,
        task_overdue_days: app_commands.Range[int, 1, 60] | None = None,
        approver_role: discord.Role | None = None,
    ) -> None:
        member = interaction.user
        guild_id = guild_id_of(interaction)
        if not isinstance(member, discord.Member) or not (
            member.guild_permissions.manage_guild or member.guild.owner_id == member.id
        ):
            raise PermissionDenied("You need the Manage Server permission to change the setup.")
        values: dict[str, Any] = {}
        # Validate everything before saving anything.
        for name, role in (
            ("manager_role_id", manager_role),
            ("staff_role_id", staff_role),
            ("approver_role_id", approver_role),
        ):
            if role is not None:
                if role.is_default():
                    raise UserError(
                        "Pick a real role, not @everyone (leave the option out instead)."
                    )
                values[name] = role.id
        for name, channel in (
            ("approvals_channel_id", approvals_channel),
            ("reports_channel_id", reports_channel),
            ("tasks_channel_id", tasks_channel),
        ):
            if channel is not None:
                values[name] = channel.id
        if timezone is not None:
            values["timezone"] = parse_timezone(timezone).key
        if workdays is not None:
            values["workdays"] = parse_workdays(workdays)
        if workday_hours is not None:
            values["workday_minutes"] = parse_workday_hours(workday_hours)
        for name, text in (
            ("dar_reminder", dar_reminder),
            ("dar_summary", dar_summary),
            ("digest", digest),
        ):
            if text is not None:
                values[name] = parse_hhmm(text)
        if task_assign is not None:
            values["task_assign"] = task_assign.value
        for name, number in (
            ("leave_reminder_hours", leave_reminder_hours),
            ("leave_max_days", leave_max_days),
            ("dar_edit_days", dar_edit_days),
            ("task_overdue_days", task_overdue_days),
        ):
            if number is not None:
                values[name] = number
        if not values:
            config = await self.bot.guild_settings.get(guild_id)
            await interaction.response.send_message(
                "Nothing to change: give at least one option. Current settings:",
                embed=settings_embed(config),
                ephemeral=True,
            )
            return
        config = await self.bot.guild_settings.update(
            guild_id, member.id, values, now=self.bot.clock.now()
        )
        log.info("guild %s settings changed by %s: %s", guild_id, member.id, sorted(values))
        await interaction.response.send_message(
            f"Saved {len(values)} setting{'s' if len(values) != 1 else ''}.",
            embed=settings_embed(config),
            ephemeral=True,
        )

    @app_commands.command(name="settings", description="Show this server's Concord Desk settings")
    async def settings(self, interaction: discord.Interaction) -> None:
        config = await guild_config(interaction)
        await interaction.response.send_message(embed=settings_embed(config), ephemeral=True)

    @app_commands.command(
        name="status", description="Managers: bot version, uptime, latency and database health"
    )
    async def status(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        # Managers only, and only this office's rows: other offices may share the file.
        config = await require_manager(interaction)
        # A reader of its own, never the writer: status must not queue behind (or hold up) writes.
        counts, version = await self.bot.db.read_in_thread(guild_status, config.guild_id)
        sizes = file_sizes(self.bot.db.path)
        embed = discord.Embed(title="Concord Desk status", colour=discord.Colour.green())
        commit = (self.bot.commit or "unknown")[:10]
        latency = self.bot.latency
        embed.add_field(name="Version", value=f"{__version__} ({commit})")
        embed.add_field(name="Uptime", value=describe_uptime(monotonic.monotonic() - self.started))
        embed.add_field(
            name="Gateway latency",
            value=f"{latency * 1000:.0f} ms"
            if latency == latency and latency != float("inf")
            else "n/a",
        )
        embed.add_field(
            name="Database",
            value=f"{sizes.database / 1024:.0f} KiB, WAL {sizes.wal / 1024:.0f} KiB",
        )
        embed.add_field(name="Schema version", value=str(version))
        rows = "\n".join(f"`{name}` {count}" for name, count in counts.items())
        embed.add_field(name="Rows (this server)", value=rows[:1024] or "none", inline=False)
        good, failure = await self.bot.db.read_in_thread(last_outcomes, "backup")
        configured = self.bot.backup_targets is not None
        backups = describe_backup_state(configured, good, failure, self.bot.clock.now())
        embed.add_field(name="Backups", value=backups[:1024], inline=False)
        embed.timestamp = self.bot.clock.now()
        await answer(interaction, embed=embed, ephemeral=True)

    @app_commands.command(
        name="timezone", description="Set your own timezone for your reminders ('clear' to remove)"
    )
    @app_commands.describe(timezone="IANA timezone, e.g. Asia/Kolkata, or 'clear'")
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    async def timezone(self, interaction: discord.Interaction, timezone: str) -> None:
        guild_id = guild_id_of(interaction)
        if timezone.strip().lower() in CLEAR_WORDS:
            # A write and a read: answered directly when quick, deferred past the budget.
            await acknowledge_later(interaction)
            await self.bot.guild_settings.set_member_timezone(guild_id, interaction.user.id, None)
            config = await self.bot.guild_settings.get(guild_id)
            await answer(
                interaction,
                f"Your timezone is cleared; you follow the server's ({config.timezone}).",
            )
            return
        zone = parse_timezone(timezone)
        await self.bot.guild_settings.set_member_timezone(guild_id, interaction.user.id, zone.key)
        local = self.bot.clock.now().astimezone(zone).strftime("%H:%M")
        await interaction.response.send_message(
            f"Your timezone is now **{zone.key}** (it is {local} there).", ephemeral=True
        )


async def setup(bot: ConcordBot) -> None:
    await bot.add_cog(Admin(bot))
