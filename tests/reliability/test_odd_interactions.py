"""Forged or odd interactions are user errors, not tracebacks: a button clicked where it cannot
work, a custom id naming something that does not exist (or cannot exist), a form opened before
the bot restarted. Each gets a clear ephemeral answer and no ERROR log line (the sandbox fails a
test on one). And the error log of a real failure names the command and its options, never what
a member typed."""

from __future__ import annotations

import logging

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from concord.cogs.common import field_input, modal_field
from concord.sandbox.driver import Sandbox
from tests.reliability.test_cross_guild import forged_card

pytestmark = pytest.mark.slow

HUGE = "9" * 30  # no SQLite integer holds it


def clear(text: str) -> bool:
    """An answer for the member, not an apology for an unexpected error."""
    return bool(text.strip()) and "error id" not in text and "went wrong" not in text


@pytest.mark.parametrize(
    "custom_id",
    [
        "dar:submit",  # a panel's button: it needs the server it was posted in
        "dar:submit:{guild}:2026-02-30",  # no such day
        f"dar:submit:{HUGE}:2026-12-01",
        f"task:done:{HUGE}",
        "task:done:4242",  # no such task (deleted, or never there)
        f"leave:approve:{HUGE}",
        "leave:reject:4242",
        f"dar:blocker:{HUGE}",
        "leave:pending:9999",
        "task:page:next",  # a list's button from before a restart
        "leave:approve",  # an old version's id
        "nothing:we:know",
    ],
)
async def test_a_forged_button_in_a_dm_is_a_clear_answer(sandbox: Sandbox, custom_id: str) -> None:
    await sandbox.configure_office()
    dm = sandbox.emulator.world.dm_channel(sandbox.member("bob"))
    card = forged_card(sandbox, dm, custom_id.format(guild=sandbox.guild.id))
    reply = await sandbox.click(
        "bob", card, custom_id=card.stored.components[0]["components"][0]["custom_id"]
    )
    assert reply.ephemeral and clear(reply.text), reply.text


@pytest.mark.parametrize("custom_id", ["task:done:4242", f"task:done:{HUGE}", "task:page:next"])
async def test_a_forged_button_in_a_channel_is_a_clear_answer(
    sandbox: Sandbox, custom_id: str
) -> None:
    await sandbox.configure_office()
    card = forged_card(sandbox, sandbox.channel("general"), custom_id)
    reply = await sandbox.click("bob", card, custom_id=custom_id)
    assert reply.ephemeral and clear(reply.text), reply.text


async def test_a_form_opened_before_a_restart_is_a_clear_answer(sandbox: Sandbox) -> None:
    await sandbox.configure_office()
    form = await sandbox.slash("bob", "dar submit")
    assert form.modal is not None
    await sandbox.restart()  # a deploy while the form was open
    reply = await sandbox.submit("bob", form.modal, done="Fixed it", plan="More", hours="7")
    assert reply.ephemeral and "again" in reply.text, reply.text


class Failing(commands.Cog):
    """A command and a form that fail unexpectedly with what the member typed in the error."""

    @app_commands.command(name="explode", description="Fails")
    async def explode(self, interaction: discord.Interaction, secret: str) -> None:
        raise ValueError(f"cannot handle {secret!r}")

    @app_commands.command(name="explodeform", description="Fails in a form")
    async def explodeform(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FailingForm())


class FailingForm(discord.ui.Modal, title="Fails"):
    text = modal_field("Text", custom_id="text")

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        raise ValueError(f"cannot handle {field_input(self.text).value!r}")

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await interaction.client.report_error(interaction, error)  # type: ignore[attr-defined]


def logged_text(records: list[logging.LogRecord]) -> str:
    formatter = logging.Formatter("%(message)s")
    return "\n".join(formatter.format(record) for record in records)


async def test_error_logs_never_contain_what_a_member_typed(sandbox: Sandbox) -> None:
    await sandbox.add_cog(Failing())
    secret = "my-bank-pin-4821"
    with sandbox.expect_errors() as caught:
        reply = await sandbox.slash("bob", "explode", secret=secret)
    assert "error id" in reply.text
    text = logged_text(caught.logs)
    assert "explode" in text and "secret" in text and "ValueError" in text
    assert secret not in text, text

    form = await sandbox.slash("bob", "explodeform")
    assert form.modal is not None
    with sandbox.expect_errors() as caught:
        reply = await sandbox.submit("bob", form.modal, text=secret)
    assert "error id" in reply.text
    text = logged_text(caught.logs)
    assert "ValueError" in text and secret not in text, text
