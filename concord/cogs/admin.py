"""/concord: guild setup and settings, bot status, a member's own timezone."""

from __future__ import annotations

import logging
import time as monotonic
from collections.abc import Callable
from typing import TYPE_CHECKING

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
from concord.cogs.modkit import Fixtures, Module, settings_embed, setup_command
from concord.core.backup_policy import describe_backup_state
from concord.core.schedule import (
    describe_workdays,
    parse_timezone,
    parse_workday_hours,
    parse_workdays,
    search_timezones,
)
from concord.core.settings import Setting, show_role
from concord.db.database import Database
from concord.db.maintenance import file_sizes, guild_status

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log = logging.getLogger(__name__)
CLEAR_WORDS = ("clear", "none", "reset")


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
        # /concord setup: the general settings, and for one release the other modules'
        # settings it used to take (each now in /<module> setup).
        moved = [
            (setting, module.name)
            for module in bot.modules
            if module.name != MODULE.name
            for setting in module.settings
            if setting.name in MOVED_FROM_CONCORD_SETUP
        ]
        assert self.app_command is not None  # a GroupCog's group
        self.app_command.add_command(
            setup_command(
                bot,
                [*MODULE.settings, *(setting for setting, _ in moved)],
                MODULE.name,
                moved={setting.name: f"`/{name} setup`" for setting, name in moved},
            )
        )

    @app_commands.command(name="settings", description="Show this server's Concord Desk settings")
    async def settings(self, interaction: discord.Interaction) -> None:
        config = await guild_config(interaction)
        await interaction.response.send_message(
            embed=settings_embed(self.bot, config), ephemeral=True
        )

    @app_commands.command(
        name="status", description="Managers: bot version, uptime, latency and database health"
    )
    async def status(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        # Managers only, and only this office's rows: other offices may share the file.
        config = await require_manager(interaction)
        # A reader of its own, never the writer: status must not queue behind (or hold up) writes.
        counts, version = await self.bot.db.read_in_thread(guild_status, config.guild_id)
        db = self.bot.db
        sizes = file_sizes(db.path) if isinstance(db, Database) else None
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
            value=f"{sizes.database / 1024:.0f} KiB, WAL {sizes.wal / 1024:.0f} KiB"
            if sizes is not None
            else "PostgreSQL",
        )
        embed.add_field(name="Schema version", value=str(version))
        rows = "\n".join(f"`{name}` {count}" for name, count in counts.items())
        embed.add_field(name="Rows (this server)", value=rows[:1024] or "none", inline=False)
        good, failure = await self.bot.job_ledger.last_outcomes("backup")
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


def show_hours(minutes: int) -> str:
    return f"{minutes / 60:g} h"


def show_optional_role(unset: str) -> Callable[[int | None], str]:
    return lambda value: show_role(value) if value else unset


MODULE = Module(
    name="concord",
    cog=Admin,
    order=10,
    setup_command=False,  # Admin builds /concord setup itself (it also takes moved options)
    settings=(
        Setting(
            "manager_role",
            "Manager role",
            "Members with this role approve leave and manage tasks",
            "role",
            field="manager_role_id",
            show=lambda value: show_role(value) + " (plus Manage Server and the owner)",
        ),
        Setting(
            "staff_role",
            "Staff role",
            "Members expected to file daily reports (default: everyone)",
            "role",
            field="staff_role_id",
            show=show_optional_role("not set (everyone)"),
        ),
        Setting(
            "timezone",
            "Timezone",
            "IANA timezone of the office, e.g. Europe/London",
            "text",
            field="timezone",
            parse=lambda text: parse_timezone(text).key,
            suggest=search_timezones,
        ),
        Setting(
            "workdays",
            "Workdays",
            "Working days, e.g. mon-fri, sun-thu or mon,tue,thu",
            "text",
            field="workdays",
            parse=parse_workdays,
            show=describe_workdays,
        ),
        Setting(
            "workday_hours",
            "Workday hours",
            "Hours in a working day (default 8)",
            "number",
            field="workday_minutes",
            parse=parse_workday_hours,
            show=show_hours,
            minimum=0.25,
            maximum=24.0,
        ),
    ),
    fixtures=Fixtures(
        channels=(("general", "Say hello"),),
        setup={"manager_role": "Manager", "staff_role": "Staff", "timezone": "Europe/London"},
    ),
)

# Options /concord setup took before each module had its own setup (until the next release).
MOVED_FROM_CONCORD_SETUP = (
    "approver_role",
    "approvals_channel",
    "reports_channel",
    "tasks_channel",
    "dar_reminder",
    "dar_summary",
    "digest",
    "task_assign",
    "leave_reminder_hours",
    "leave_max_days",
    "dar_edit_days",
    "task_overdue_days",
)
