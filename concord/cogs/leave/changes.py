"""A manager's change to their own leave (a balance adjustment, their allowance) is held for
another manager: a card in the approvals channel with Approve / Reject buttons, decided once,
by anyone who counts as a manager except the one it concerns."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from concord.cogs.common import (
    acknowledge_later,
    answer,
    answer_in_time,
    edit_clicked,
    guild_config,
    member_is_manager,
)
from concord.cogs.leave.views import desk_of, run_reporting
from concord.core.leave import format_amount
from concord.core.settings import GuildConfig
from concord.db.leave import HeldChange

if TYPE_CHECKING:
    from concord.cogs.leave.cards import LeaveDesk

log = logging.getLogger(__name__)

STATUS_COLOURS = {
    "pending": discord.Colour.gold(),
    "approved": discord.Colour.green(),
    "rejected": discord.Colour.red(),
}


def describe_change(change: HeldChange) -> str:
    if change.kind == "adjust":
        sign = "+" if change.days > 0 else "-"
        return f"{change.leave_type} balance {sign}{format_amount(abs(change.days))}"
    return f"{change.leave_type} allowance: {format_amount(change.days)} a year"


def change_embed(change: HeldChange, requester: str, decider: str | None) -> discord.Embed:
    embed = discord.Embed(
        title=f"Change #{change.id} to a manager's own leave",
        description=f"**{requester}** asks for: {describe_change(change)}.",
        colour=STATUS_COLOURS.get(change.status, discord.Colour.gold()),
    )
    if change.reason:
        embed.add_field(name="Reason", value=change.reason[:1024], inline=False)
    if change.status == "pending":
        embed.set_footer(text="Another manager decides: nobody changes their own leave.")
    else:
        embed.add_field(name="Decision", value=f"{change.status.capitalize()} by {decider}")
    return embed


class ChangeButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"leave:change:(?P<action>approve|reject):(?P<id>\d{1,18})",
):
    def __init__(self, action: str, change_id: int) -> None:
        approve = action == "approve"
        super().__init__(
            discord.ui.Button(
                label="Approve" if approve else "Reject",
                style=discord.ButtonStyle.success if approve else discord.ButtonStyle.danger,
                custom_id=f"leave:change:{action}:{change_id}",
            )
        )
        self.action = action
        self.change_id = change_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ChangeButton:
        return cls(match["action"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await run_reporting(
            interaction, decide_from_button(interaction, self.change_id, self.action == "approve")
        )


def change_view(change_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ChangeButton("approve", change_id))
    view.add_item(ChangeButton("reject", change_id))
    return view


async def post_change_card(desk: LeaveDesk, change: HeldChange, config: GuildConfig) -> str:
    """Post the held change for the other managers; returns what to tell the requester."""
    held = (
        f"Changes to your own leave need another manager, so change #{change.id} "
        f"({describe_change(change)}) is waiting for one"
    )
    channel_id = config.approvals_channel_id
    channel = desk.bot.get_channel(channel_id) if channel_id else None
    if not isinstance(channel, discord.abc.Messageable):
        return f"{held}, but there is no approvals channel to ask in: run `/concord setup approvals_channel:`."
    name = desk.name_of(config.guild_id)(change.user_id)
    try:
        message = await channel.send(
            embed=change_embed(change, name, None), view=change_view(change.id)
        )
    except discord.HTTPException:
        log.warning("could not post the card of change #%s", change.id, exc_info=True)
        return f"{held}, but I could not post its card in <#{channel_id}>."
    await desk.leave.set_change_card(config.guild_id, change.id, message.channel.id, message.id)
    return f"{held} in <#{channel_id}>."


async def decide_from_button(
    interaction: discord.Interaction, change_id: int, approve: bool
) -> None:
    desk = desk_of(interaction)
    config = await guild_config(interaction)
    answered = await answer_in_time(acknowledge_later(interaction, thinking=False))
    change, balance = await desk.leave.decide_change(
        config.guild_id,
        change_id,
        actor_id=interaction.user.id,
        actor_is_manager=member_is_manager(config, interaction.user),
        approve=approve,
        now=desk.now(),
    )
    name_of = desk.name_of(config.guild_id)
    embed = change_embed(change, name_of(change.user_id), name_of(interaction.user.id))
    if answered and interaction.message is not None:
        answered = await answer_in_time(edit_clicked(interaction, embed=embed, view=None))
    if not answered and change.card_channel_id and change.card_message_id:
        card = desk.bot.get_partial_messageable(change.card_channel_id).get_partial_message(
            change.card_message_id
        )
        try:
            await card.edit(embed=embed, view=None)
        except discord.HTTPException:
            log.warning("could not update the card of change #%s", change_id, exc_info=True)
    await desk.dm(change.user_id, embed=embed)  # the manager who asked hears the answer
    done = f"{change.status.capitalize()} change #{change.id}."
    if balance is not None:
        done += f" {balance.leave_type}: {format_amount(balance.available)} available in {balance.year}."
    if answered:
        await answer(interaction, done, ephemeral=True)
