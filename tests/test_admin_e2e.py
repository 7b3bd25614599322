"""The /concord admin cog end to end, through the emulator and the real discord.py client:
setup (valid, invalid, refused), settings, status, member timezones, the tree-wide error
handler, command sync on restart, and SIGTERM shutdown of a real `concord run` process."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from concord.core.settings import GuildConfig
from concord.errors import UserError
from concord.sandbox.driver import Sandbox, UsageError
from concord.sandbox.emulator import Emulator
from concord.sandbox.office import build_office


async def config(sandbox: Sandbox) -> GuildConfig:
    return await sandbox.bot.guild_settings.get(sandbox.guild.id)


async def audit_rows(sandbox: Sandbox) -> list[tuple[str, int]]:
    rows = await sandbox.db.fetchall("SELECT action, actor_id FROM audit_log ORDER BY id", ())
    return [(row["action"], row["actor_id"]) for row in rows]


# -- /concord setup -----------------------------------------------------------------------
async def test_setup_saves_every_option_and_audits_it(sandbox: Sandbox) -> None:
    reply = await sandbox.slash(
        "owner",
        "concord setup",
        manager_role="Manager",
        staff_role="Staff",
        approvals_channel="approvals",
        reports_channel="reports",
        tasks_channel="tasks",
        timezone="Europe/London",
        workdays="sun-thu",
        workday_hours=7.5,
        dar_reminder="16:30",
        dar_summary="18:00",
        digest="08:15",
        task_assign="managers",
        leave_reminder_hours=12,
        leave_max_days=30,
        dar_edit_days=3,
        task_overdue_days=4,
    )
    assert reply.ephemeral
    # The options of the other modules still work here for one release, with a note.
    saved_line, note = reply.content.split("\n")
    assert saved_line == "Saved 16 settings."
    assert note.startswith("Note: these options moved to their module's setup (")
    assert "`/leave setup`: `approvals_channel`, `leave_reminder_hours`, `leave_max_days`" in note
    assert "`/task setup`: `tasks_channel`, `task_assign`, `task_overdue_days`" in note
    assert "`/dar setup`: `reports_channel`, `dar_reminder`, `dar_summary`, `digest`" in note
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert "@Manager" in reply.text and "#approvals" in reply.text
    assert fields["Timezone"] == "Europe/London"
    saved = await config(sandbox)
    assert saved.manager_role_id == sandbox.role("Manager").id
    assert saved.staff_role_id == sandbox.role("Staff").id
    assert saved.approvals_channel_id == sandbox.channel("approvals").id
    assert saved.reports_channel_id == sandbox.channel("reports").id
    assert saved.tasks_channel_id == sandbox.channel("tasks").id
    assert saved.workdays == frozenset({6, 0, 1, 2, 3})
    assert saved.workday_minutes == 450
    assert (saved.dar_reminder.hour, saved.dar_reminder.minute) == (16, 30)
    assert (saved.digest.hour, saved.digest.minute) == (8, 15)
    assert saved.task_assign == "managers"
    assert (saved.leave_reminder_hours, saved.leave_max_days) == (12, 30)
    assert (saved.dar_edit_days, saved.task_overdue_days) == (3, 4)
    assert await audit_rows(sandbox) == [("settings.update", sandbox.member("owner").id)]


async def test_each_module_has_its_own_setup(sandbox: Sandbox) -> None:
    leave = await sandbox.slash("owner", "leave setup", approvals_channel="approvals")
    tasks = await sandbox.slash("owner", "task setup", task_assign="managers")
    dar = await sandbox.slash("owner", "dar setup", digest="08:15", dar_edit_days=3)
    assert [leave.content, tasks.content, dar.content] == [
        "Saved 1 setting.",
        "Saved 1 setting.",
        "Saved 2 settings.",
    ]
    saved = await config(sandbox)
    assert saved.approvals_channel_id == sandbox.channel("approvals").id
    assert saved.task_assign == "managers" and saved.dar_edit_days == 3
    assert (saved.digest.hour, saved.digest.minute) == (8, 15)
    refused = await sandbox.slash("bob", "dar setup", dar_edit_days=1)
    assert refused.text == "You need the Manage Server permission to change the setup."
    bad = await sandbox.slash("owner", "dar setup", dar_reminder="25:00")
    assert "25:00" in bad.text and (await config(sandbox)).dar_reminder == saved.dar_reminder
    # Each module's setup is far from Discord's 25 options; /concord setup shrinks to its 5
    # general ones once the moved options are dropped.
    sizes = {
        g: len(sandbox.command_options("owner", f"{g} setup")) for g in ("leave", "task", "dar")
    }
    assert sizes == {"leave": 4, "task": 3, "dar": 5}
    assert len(sandbox.command_options("owner", "concord setup")) == 5 + sum(sizes.values())


async def test_a_manage_server_member_may_change_one_setting(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    reply = await sandbox.slash("alice", "concord setup", timezone="Asia/Kolkata")
    assert reply.content == "Saved 1 setting."
    saved = await config(sandbox)
    assert saved.timezone == "Asia/Kolkata"
    assert saved.approvals_channel_id == sandbox.channel("approvals").id


@pytest.mark.parametrize("member", ["bob", "dave"])
async def test_setup_is_refused_without_manage_server(sandbox: Sandbox, member: str) -> None:
    reply = await sandbox.slash(member, "concord setup", timezone="Europe/Paris")
    assert reply.ephemeral
    assert reply.text == "You need the Manage Server permission to change the setup."
    assert (await config(sandbox)).timezone == "UTC"
    assert await audit_rows(sandbox) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"workdays": "funday"}, "funday"),
        ({"dar_reminder": "25:00"}, "25:00"),
        ({"digest": "noonish"}, "noonish"),
        ({"manager_role": "@everyone"}, "Pick a real role, not @everyone"),
        # One bad value among good ones: nothing is saved.
        ({"timezone": "Europe/Paris", "workdays": "mon-funday"}, "funday"),
    ],
)
async def test_invalid_setup_values_change_nothing(
    sandbox: Sandbox, options: dict[str, object], message: str
) -> None:
    reply = await sandbox.slash("owner", "concord setup", **options)
    assert reply.ephemeral
    assert message.lower() in reply.text.lower()
    assert not reply.text.startswith("Saved")
    assert await config(sandbox) == GuildConfig(guild_id=sandbox.guild.id)
    assert await audit_rows(sandbox) == []


async def test_setup_without_options_shows_the_current_settings(sandbox: Sandbox) -> None:
    reply = await sandbox.slash("owner", "concord setup")
    assert reply.content.startswith("Nothing to change")
    assert reply.embeds[0]["title"] == "Concord Desk settings"
    assert await audit_rows(sandbox) == []


async def test_setup_timezone_autocomplete(sandbox: Sandbox) -> None:
    choices = await sandbox.autocomplete("owner", "concord setup", "timezone", "kolk")
    assert ("Asia/Kolkata", "Asia/Kolkata") in choices
    assert len(choices) <= 25


# -- /concord settings, status, timezone ------------------------------------------------------
async def test_settings_shows_the_configuration_to_anyone(sandbox: Sandbox) -> None:
    await sandbox.configure_office(workdays="mon-thu")
    reply = await sandbox.slash("carol", "concord settings")
    assert reply.ephemeral and reply.content == ""
    (embed,) = reply.embeds
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Approvals channel"] == f"<#{sandbox.channel('approvals').id}>"
    assert fields["Timezone"] == "Europe/London"
    assert "Mon–Thu" in reply.text
    assert "#tasks" in reply.text and "@Staff" in reply.text


async def test_guild_commands_are_not_offered_in_dms(sandbox: Sandbox) -> None:
    # Discord honours guild-only (contexts) on top-level commands only, never on subcommands.
    synced = {c.name: c.definition for c in sandbox.emulator.commands.list(None)}
    for name in ("concord", "leave", "task", "dar", "Create task"):
        assert synced[name]["contexts"] == [0], name
        assert synced[name]["integration_types"] == [0], name
    for command in ("concord settings", "leave apply", "task create", "dar submit"):
        with pytest.raises(UsageError, match=f"no command '{command.split()[0]}' in dm:bob"):
            await sandbox.slash("bob", command, _channel="dm")


async def test_status_defers_then_reports_version_and_database(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    reply = await sandbox.slash("alice", "concord status")
    assert reply.deferred and reply.ephemeral
    (message,) = reply.messages
    assert not message.loading
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert fields["Version"].startswith("0.1.0")
    assert fields["Schema version"].isdigit() and int(fields["Schema version"]) >= 2
    assert "`guild_settings` 1" in fields["Rows (this server)"]
    assert fields["Gateway latency"].endswith("ms") or fields["Gateway latency"] == "n/a"
    assert reply.embeds[0]["timestamp"].startswith("2026-12-01T09:00:00")


async def test_member_timezone_set_clear_and_refuse(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    guild_id = sandbox.guild.id
    bob = sandbox.member("bob").id
    reply = await sandbox.slash("bob", "concord timezone", timezone="Asia/Kolkata")
    # The bot's clock (09:00 UTC) is what it shows, not the machine's.
    assert (
        reply.ephemeral
        and reply.text == "Your timezone is now **Asia/Kolkata** (it is 14:30 there)."
    )
    assert await sandbox.bot.guild_settings.member_timezone(guild_id, bob) == "Asia/Kolkata"
    reply = await sandbox.slash("bob", "concord timezone", timezone="Atlantis/Lost")
    assert "Atlantis/Lost" in reply.text or "timezone" in reply.text.lower()
    assert await sandbox.bot.guild_settings.member_timezone(guild_id, bob) == "Asia/Kolkata"
    reply = await sandbox.slash("bob", "concord timezone", timezone="clear")
    assert "cleared" in reply.text and "Europe/London" in reply.text
    assert await sandbox.bot.guild_settings.member_timezone(guild_id, bob) is None
    choices = await sandbox.autocomplete("bob", "concord timezone", "timezone", "new_y")
    assert ("America/New_York", "America/New_York") in choices


# -- the tree-wide error handler --------------------------------------------------------------
def owner_only() -> app_commands.Check:  # type: ignore[type-arg]
    def predicate(interaction: discord.Interaction) -> bool:
        return interaction.guild is not None and interaction.user.id == interaction.guild.owner_id

    return app_commands.check(predicate)


class Failing(commands.GroupCog, group_name="failing", group_description="Commands that fail"):
    @app_commands.command(name="user", description="Raise a UserError")
    async def user_error(self, interaction: discord.Interaction) -> None:
        raise UserError("That date is in the past.")

    @app_commands.command(name="check", description="Fail a check")
    @owner_only()
    async def check(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("owner only")

    @app_commands.command(name="perms", description="Need Manage Roles")
    @app_commands.checks.has_permissions(manage_roles=True)
    async def perms(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("allowed")

    @app_commands.command(name="crash", description="Raise an unexpected exception")
    async def crash(self, interaction: discord.Interaction) -> None:
        raise RuntimeError("database exploded")

    @app_commands.command(name="late", description="Crash after deferring")
    async def late(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        raise UserError("Nothing to export for that month.")


async def test_user_errors_are_shown_as_they_are(sandbox: Sandbox) -> None:
    await sandbox.add_cog(Failing())
    reply = await sandbox.slash("bob", "failing user")
    assert reply.ephemeral and reply.text == "That date is in the past."
    late = await sandbox.slash("bob", "failing late")
    assert late.deferred and late.ephemeral
    assert late.text == "Nothing to export for that month."


async def test_check_failures_get_friendly_text(sandbox: Sandbox) -> None:
    await sandbox.add_cog(Failing())
    reply = await sandbox.slash("bob", "failing check")
    assert reply.ephemeral and reply.text == "You are not allowed to use that here."
    assert (await sandbox.slash("owner", "failing check")).text == "owner only"
    reply = await sandbox.slash("bob", "failing perms")
    assert reply.ephemeral and reply.text == "You need the Manage Roles permission to do that."


async def test_unexpected_errors_apologise_with_an_id_and_log_the_traceback(
    sandbox: Sandbox,
) -> None:
    await sandbox.add_cog(Failing())
    with sandbox.expect_errors() as caught:
        reply = await sandbox.slash("bob", "failing crash")
    assert reply.ephemeral
    assert reply.text.startswith("Sorry, something went wrong on my side.")
    (record,) = caught.logs
    error_id = record.error_id  # type: ignore[attr-defined]
    assert f"`{error_id}`" in reply.text
    assert record.levelno == logging.ERROR and "failing crash" in record.getMessage()
    # The traceback is in the message, with what the member typed masked (never exc_info).
    assert "Traceback" in record.getMessage() and "RuntimeError" in record.getMessage()
    assert caught.requests == []


# -- command sync -----------------------------------------------------------------------------
SYNC = "PUT /applications/{application_id}/commands"


async def test_restart_with_unchanged_commands_skips_the_sync(sandbox: Sandbox) -> None:
    assert len(sandbox.emulator.requests_to(SYNC)) == 1
    await sandbox.restart()
    assert sandbox.bot.sync_calls == 0
    assert len(sandbox.emulator.requests_to(SYNC)) == 1
    reply = await sandbox.slash("owner", "concord settings")
    assert reply.embeds[0]["title"] == "Concord Desk settings"
    # A changed command tree is synced again on the next start.
    sandbox.cogs = ()
    await sandbox.restart()
    assert sandbox.bot.sync_calls == 1
    assert sandbox.emulator.commands.list(None) == []


# -- SIGTERM ----------------------------------------------------------------------------------
async def test_sigterm_stops_a_running_bot_cleanly(tmp_path: Path) -> None:
    emulator = Emulator()
    build_office(emulator)
    await emulator.start()
    health = tmp_path / "health.json"
    env = {
        **os.environ,
        "DISCORD_TOKEN": emulator.token,
        "DISCORD_API_BASE": emulator.api_base,
        "DISCORD_GATEWAY_URL": emulator.gateway_url,
        "CONCORD_DB_PATH": str(tmp_path / "concord.db"),
        "CONCORD_HEALTH_FILE": str(health),
        "CONCORD_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "concord",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await emulator.gateway.wait_until(lambda: emulator.gateway.identify_count > 0, 20)
        # on_ready comes guild_ready_timeout (2 s in production) after the last GUILD_CREATE.
        for _ in range(200):
            if health.exists() and json.loads(health.read_text())["ready"]:
                break
            await asyncio.sleep(0.05)
        assert json.loads(health.read_text())["ready"] is True
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 10)
        _, stderr = await process.communicate()
        assert code == 0, stderr.decode()
        data = json.loads(health.read_text())
        assert data["ready"] is False and data["pid"] == process.pid
        assert emulator.problems() == []
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await emulator.stop()
