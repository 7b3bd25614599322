"""The sandbox driver and the emulator through the real discord.py client: every interaction
kind (slash with each option type, subcommand groups, autocomplete, buttons, selects, modals,
context menus, DMs, files, persistent dynamic buttons) with a test-only cog."""

from __future__ import annotations

import re
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from concord.sandbox.driver import Sandbox, SandboxError, UsageError


class ReasonModal(discord.ui.Modal, title="Why reject?"):
    reason: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Reason", custom_id="reason", style=discord.TextStyle.paragraph, max_length=200
    )
    note: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Note", custom_id="note", required=False, default="none"
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(
            content=f"Rejected: {self.reason.value} ({self.note.value})", view=None
        )


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
    async def think(self, interaction: discord.Interaction, public: bool = False) -> None:
        await interaction.response.defer(ephemeral=not public, thinking=True)
        await interaction.followup.send("thought about it")
        await interaction.followup.send("and one more thing", ephemeral=True)

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
        file = discord.File(__import__("io").BytesIO(b"a,b\n1,2\n"), filename="export.csv")
        await interaction.followup.send("here it is", file=file, ephemeral=True)

    @app_commands.command(name="history", description="Read the channel back")
    async def history(self, interaction: discord.Interaction) -> None:
        channel = interaction.channel
        assert isinstance(channel, discord.TextChannel)
        texts = [m.content async for m in channel.history(limit=5, oldest_first=True)]
        await interaction.response.send_message(" | ".join(texts), ephemeral=True)

    @app_commands.command(name="silent", description="Never answers")
    async def silent(self, interaction: discord.Interaction) -> None:
        return

    @app_commands.command(name="toolong", description="Answers with too much text")
    async def toolong(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("x" * 2001)


@app_commands.context_menu(name="Quote")
async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
    await interaction.response.send_message(f"quoted: {message.content}", ephemeral=True)


@app_commands.context_menu(name="Wave")
async def wave(interaction: discord.Interaction, member: discord.Member) -> None:
    await interaction.response.send_message(f"waved at {member.name}", ephemeral=True)


async def add_probe(sandbox: Sandbox) -> None:
    bot = sandbox.bot
    bot.add_dynamic_items(Counter)
    bot.add_view(CardView())
    bot.tree.add_command(quote)
    bot.tree.add_command(wave)
    await sandbox.add_cog(Probe(bot))


async def test_every_option_type_reaches_the_command(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash(
        "bob",
        "probe echo",
        text="hi",
        count=3,
        ratio=0.5,
        flag=True,
        who="carol",
        where="approvals",
        role="Staff",
        size="Large",
        file=("note.txt", b"hello"),
    )
    assert reply.ephemeral and not reply.deferred
    assert reply.text == (
        "text=hi count=3 ratio=0.5 flag=True who=carol where=approvals role=Staff size=l "
        "file=note.txt:hello"
    )


async def test_options_are_checked_against_the_synced_commands(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    with pytest.raises(UsageError, match="no option 'colour'"):
        await sandbox.slash("bob", "probe echo", text="hi", colour="red")
    with pytest.raises(UsageError, match="missing required option"):
        await sandbox.slash("bob", "probe echo")
    with pytest.raises(UsageError, match="from 1 to 10"):
        await sandbox.slash("bob", "probe echo", text="hi", count=11)
    with pytest.raises(UsageError, match="needs a subcommand"):
        await sandbox.slash("bob", "probe more")
    with pytest.raises(UsageError, match="no command 'nope'"):
        await sandbox.slash("bob", "nope")


async def test_subcommand_groups_and_public_replies(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash("alice", "probe more deep", value="down")
    assert reply.text == "deep down" and not reply.ephemeral
    assert sandbox.last_message("general").text == "deep down"
    assert reply.message is not None and reply.message.author == "concorddesk"


async def test_autocomplete_returns_the_choices(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    choices = await sandbox.autocomplete("bob", "probe echo", "text", "ap")
    assert choices == [("Apple", "apple"), ("Apricot", "apricot")]


async def test_first_followup_resolves_the_thinking_message(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash("bob", "probe think")
    assert reply.deferred and reply.ephemeral
    assert [m.text for m in reply.messages] == ["thought about it", "and one more thing"]
    assert not any(m.loading for m in reply.messages)
    public = await sandbox.slash("bob", "probe think", public=True)
    first, second = public.messages
    assert not first.ephemeral and second.ephemeral
    assert sandbox.last_message("general").text == "thought about it"


async def test_buttons_update_the_card_and_open_modals(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash("alice", "probe card", _channel="approvals")
    assert reply.text == "posted"
    card = sandbox.last_message("approvals")
    assert [b.label for b in card.buttons] == ["Approve", "Reject", "Later"]
    with pytest.raises(UsageError, match="disabled"):
        await sandbox.click("alice", card, "Later")
    modal = (await sandbox.click("alice", card, "Reject")).modal
    assert modal is not None and modal.title == "Why reject?"
    assert [f.label for f in modal.fields] == ["Reason", "Note"]
    with pytest.raises(UsageError, match="required"):
        await sandbox.submit("alice", modal)
    reply = await sandbox.submit("alice", modal, reason="Team offsite")
    assert reply.type == 7
    assert card.text == "Rejected: Team offsite (none)" and card.buttons == []
    assert card.edited


async def test_button_by_custom_id_and_select_menu(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    await sandbox.slash("alice", "probe card")
    card = sandbox.last_message("general")
    reply = await sandbox.select("bob", card, ["Small", "l"])
    assert reply.deferred and reply.text == "sizes ['l', 's']"
    reply = await sandbox.click("bob", card, custom_id="probe:approve")
    assert reply.message is card or reply.message.id == card.id
    assert card.text == "Approved by bob"


async def test_user_select_resolves_members(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash("alice", "probe people")
    picked = await sandbox.select("alice", reply, [str(sandbox.member("bob").id), "carol"])
    assert picked.text == "people ['bob', 'carol']"


async def test_modal_with_labels_from_a_slash_command(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    modal = (await sandbox.slash("bob", "probe ask")).modal
    assert modal is not None
    reply = await sandbox.submit(modal, colour=["Blue"], words="sky")
    assert reply.text == "colour=['b'] words=sky"


async def test_context_menus(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    await sandbox.slash("alice", "probe more deep", value="quote me")
    message = sandbox.last_message("general")
    reply = await sandbox.context_menu("bob", "Quote", message)
    assert reply.text == "quoted: deep quote me"
    reply = await sandbox.context_menu("bob", "Wave", "dave")
    assert reply.text == "waved at dave"


async def test_dynamic_buttons_survive_a_restart_and_work_in_dms(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    await sandbox.slash("bob", "probe counter")
    message = sandbox.last_message("general")
    await sandbox.click("carol", message, "Count 0")
    assert message.text == "count 1"
    await sandbox.restart()
    sandbox.bot.add_dynamic_items(Counter)
    await sandbox.click("carol", message, "Count 1")
    assert message.text == "count 2"
    await add_probe(sandbox)
    await sandbox.slash("bob", "probe dm")
    (dm,) = sandbox.dms("bob")
    assert dm.text == "a reminder" and dm.channel == "dm:bob"
    with pytest.raises(UsageError, match="someone else's DMs"):
        await sandbox.click("carol", dm, "Count 10")
    await sandbox.click("bob", dm, "Count 10")
    assert dm.text == "count 11"


async def test_files_are_kept_with_their_bytes(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    reply = await sandbox.slash("bob", "probe export")
    assert reply.files == [("export.csv", b"a,b\n1,2\n")]
    assert reply.ephemeral and reply.text == "here it is"


async def test_history_and_member_messages(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    await sandbox.post("carol", "general", "good morning")
    await sandbox.slash("alice", "probe more deep", value="one")
    reply = await sandbox.slash("bob", "probe history")
    assert reply.text == "good morning | deep one"


async def test_unanswered_and_rejected_interactions_fail(sandbox: Sandbox) -> None:
    await add_probe(sandbox)
    with pytest.raises(SandboxError, match="did not answer"):
        await sandbox.slash("bob", "probe silent")
    with pytest.raises(SandboxError, match="2000 or fewer"):
        await sandbox.slash("bob", "probe toolong")
    with sandbox.expect_errors() as caught:
        await sandbox.slash("bob", "probe toolong")
    assert caught.requests[0].status == 400
    assert any("Ignoring exception" in m or "toolong" in m for m in caught.log_messages)


@pytest.mark.sandbox(dev_guild=True)
async def test_guild_scoped_commands_carry_the_guild_id(sandbox: Sandbox) -> None:
    guild_routes = sandbox.emulator.requests_to(
        "PUT /applications/{application_id}/guilds/{guild_id}/commands"
    )
    assert len(guild_routes) == 1
    reply = await sandbox.slash("owner", "concord settings")
    assert reply.interaction.payload["data"]["guild_id"] == str(sandbox.guild.id)
    assert "Concord Desk settings" in reply.text
