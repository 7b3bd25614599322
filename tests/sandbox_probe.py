"""A test-only cog that exercises every interaction kind through the sandbox: slash commands
with each option type, a subcommand group, autocomplete, buttons, selects, modals (labels),
context menus, DMs, files and a persistent DynamicItem button."""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from concord.cogs.common import answer, field_input, modal_field
from concord.sandbox.driver import Sandbox


class ReasonModal(discord.ui.Modal, title="Why reject?"):
    reason: discord.ui.Label[Any] = modal_field(
        "Reason", custom_id="reason", style=discord.TextStyle.paragraph, max_length=200
    )
    note: discord.ui.Label[Any] = modal_field(
        "Note", custom_id="note", required=False, default="none"
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        # A modal submit may not update a message (type 7 is for components): answer, then
        # edit the card (the bot's own message) by REST.
        await interaction.response.send_message("Noted.", ephemeral=True)
        assert interaction.message is not None
        reason, note = field_input(self.reason).value, field_input(self.note).value
        await interaction.message.edit(content=f"Rejected: {reason} ({note})", view=None)


class LabelModal(discord.ui.Modal, title="Pick a colour"):
    colour: discord.ui.Label[Any] = discord.ui.Label(
        text="Colour",
        component=discord.ui.Select(
            custom_id="colour",
            options=[
                discord.SelectOption(label="Red", value="r"),
                discord.SelectOption(label="Blue", value="b"),
            ],
        ),
    )
    words: discord.ui.Label[Any] = discord.ui.Label(
        text="Words", component=discord.ui.TextInput(custom_id="words")
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        select = self.colour.component
        text = self.words.component
        assert isinstance(select, discord.ui.Select) and isinstance(text, discord.ui.TextInput)
        await interaction.response.send_message(
            f"colour={select.values} words={text.value}", ephemeral=True
        )


class CardView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(
        label="Approve", style=discord.ButtonStyle.success, custom_id="probe:approve"
    )
    async def approve(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.edit_message(
            content=f"Approved by {interaction.user.name}", view=None
        )

    @discord.ui.button(label="Reject", style=discord.ButtonStyle.danger, custom_id="probe:reject")
    async def reject(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.send_modal(ReasonModal())

    @discord.ui.button(
        label="Later", style=discord.ButtonStyle.secondary, custom_id="probe:later", disabled=True
    )
    async def later(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        raise AssertionError("disabled")

    @discord.ui.select(
        custom_id="probe:size",
        options=[
            discord.SelectOption(label="Small", value="s"),
            discord.SelectOption(label="Large", value="l"),
        ],
        max_values=2,
    )
    async def size(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        await interaction.response.defer()
        await interaction.followup.send(f"sizes {sorted(select.values)}", ephemeral=True)


class PeopleView(discord.ui.View):
    @discord.ui.select(cls=discord.ui.UserSelect, custom_id="probe:people", max_values=3)
    async def people(
        self, interaction: discord.Interaction, select: discord.ui.UserSelect[Any]
    ) -> None:
        names = sorted(user.name for user in select.values)
        await interaction.response.send_message(f"people {names}", ephemeral=True)


class Counter(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"probe:count:(?P<n>\d+)"):
    def __init__(self, n: int) -> None:
        super().__init__(discord.ui.Button(label=f"Count {n}", custom_id=f"probe:count:{n}"))
        self.n = n

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Counter:
        return cls(int(match["n"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        view = discord.ui.View(timeout=None)
        view.add_item(Counter(self.n + 1))
        await interaction.response.edit_message(content=f"count {self.n + 1}", view=view)


async def fruit_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    fruits = ["apple", "apricot", "banana", "cherry"]
    return [
        app_commands.Choice(name=f.title(), value=f)
        for f in fruits
        if f.startswith(current.lower())
    ]


class Probe(commands.GroupCog, group_name="probe", group_description="Sandbox probe commands"):
    more = app_commands.Group(name="more", description="A subcommand group")

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.entered = asyncio.Event()  # /probe slow is running
        self.gate = asyncio.Event()  # lets /probe slow answer
        super().__init__()

    @app_commands.command(name="echo", description="Echo every option type")
    @app_commands.choices(
        size=[
            app_commands.Choice(name="Small", value="s"),
            app_commands.Choice(name="Large", value="l"),
        ]
    )
    async def echo(
        self,
        interaction: discord.Interaction,
        text: str,
        count: app_commands.Range[int, 1, 10] | None = None,
        ratio: float | None = None,
        flag: bool | None = None,
        who: discord.Member | None = None,
        where: discord.TextChannel | None = None,
        role: discord.Role | None = None,
        size: app_commands.Choice[str] | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        parts = [f"text={text}", f"count={count}", f"ratio={ratio}", f"flag={flag}"]
        parts.append(f"who={who.name if who else None}")
        parts.append(f"where={where.name if where else None}")
        parts.append(f"role={role.name if role else None}")
        parts.append(f"size={size.value if size else None}")
        if file is not None:
            parts.append(f"file={file.filename}:{(await file.read()).decode()}")
        await interaction.response.send_message(" ".join(parts), ephemeral=True)

    @echo.autocomplete("text")
    async def echo_text(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await fruit_autocomplete(interaction, current)

    @more.command(name="deep", description="A command inside a group")
    async def deep(self, interaction: discord.Interaction, value: str) -> None:
        await interaction.response.send_message(f"deep {value}")

    @app_commands.command(name="think", description="Defer, then answer")
    async def think(
        self, interaction: discord.Interaction, public: bool = False, legacy: bool = False
    ) -> None:
        await interaction.response.defer(ephemeral=not public, thinking=True)
        if legacy:  # let a followup replace the loading message (deprecated)
            await interaction.followup.send("thought about it")
            await interaction.followup.send("and one more thing", ephemeral=True)
            return
        await answer(interaction, "thought about it")
        await answer(interaction, "and one more thing", ephemeral=True)

    @app_commands.command(name="card", description="Post an approval card")
    async def card(self, interaction: discord.Interaction) -> None:
        channel = interaction.channel
        assert isinstance(channel, discord.TextChannel)
        await channel.send("Leave request from Bob", view=CardView())
        await interaction.response.send_message("posted", ephemeral=True)

    @app_commands.command(name="people", description="Pick people")
    async def people(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("who?", view=PeopleView(), ephemeral=True)

    @app_commands.command(name="counter", description="A persistent counter button")
    async def counter(self, interaction: discord.Interaction) -> None:
        view = discord.ui.View(timeout=None)
        view.add_item(Counter(0))
        await interaction.response.send_message("count 0", view=view)

    @app_commands.command(name="ask", description="Open a modal")
    async def ask(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(LabelModal())

    @app_commands.command(name="dm", description="DM me")
    async def dm(self, interaction: discord.Interaction) -> None:
        view = discord.ui.View(timeout=None)
        view.add_item(Counter(10))
        await interaction.user.send("a reminder", view=view)
        await interaction.response.send_message("sent", ephemeral=True)

    @app_commands.command(name="export", description="Send a file")
    async def export(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        file = discord.File(io.BytesIO(b"a,b\n1,2\n"), filename="export.csv")
        await answer(interaction, "here it is", file=file)

    @app_commands.command(name="history", description="Read the channel back")
    async def history(self, interaction: discord.Interaction) -> None:
        channel = interaction.channel
        assert isinstance(channel, discord.TextChannel)
        texts = [m.content async for m in channel.history(limit=5, oldest_first=True)]
        await interaction.response.send_message(" | ".join(texts), ephemeral=True)

    @app_commands.command(name="slow", description="Answers when the test says so")
    async def slow(self, interaction: discord.Interaction) -> None:
        self.entered.set()
        await self.gate.wait()
        await interaction.response.send_message("finally")

    @app_commands.command(name="flash", description="A reply that deletes itself later")
    async def flash(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("gone in 30 s", delete_after=30)

    @app_commands.command(name="silent", description="Never answers")
    async def silent(self, interaction: discord.Interaction) -> None:
        return

    @app_commands.command(name="toolong", description="Answers with too much text")
    async def toolong(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("x" * 2001)


@app_commands.command(name="audit", description="Managers only, by default permissions")
@app_commands.default_permissions(manage_guild=True)
async def audit(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("audit log", ephemeral=True)


@app_commands.context_menu(name="Quote")
async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
    await interaction.response.send_message(f"quoted: {message.content}", ephemeral=True)


@app_commands.context_menu(name="Wave")
async def wave(interaction: discord.Interaction, member: discord.Member) -> None:
    await interaction.response.send_message(f"waved at {member.name}", ephemeral=True)


async def add_probe(sandbox: Sandbox) -> Probe:
    bot = sandbox.bot
    bot.add_dynamic_items(Counter)
    bot.add_view(CardView())
    bot.tree.add_command(audit)
    bot.tree.add_command(quote)
    bot.tree.add_command(wave)
    probe = Probe(bot)
    await sandbox.add_cog(probe)
    return probe
