"""A manager's change to their own leave (a balance adjustment, their allowance) is held for
another manager: a card in the approvals channel with Approve / Reject buttons, decided once,
by anyone who counts as a manager except the one it concerns. Built on the approval kit
(``cogs/approvals.py``): the buttons (``leave:change:approve:<id>``), editing the card in place,
the DM to the manager who asked."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from concord.cogs import approvals
from concord.cogs.common import (
    acknowledge_later,
    actor_of,
    answer,
    answer_in_time,
    edit_clicked,
    guild_config,
)
from concord.cogs.leave.views import desk_of
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


async def _approve(interaction: discord.Interaction, change_id: int) -> None:
    await decide_from_button(interaction, change_id, True)


async def _reject(interaction: discord.Interaction, change_id: int) -> None:
    await decide_from_button(interaction, change_id, False)


# Rejecting a held change takes no reason (the manager who asked is told who decided).
ChangeApproveButton = approvals.decision_button("leave:change", "approve", _approve)
ChangeRejectButton = approvals.decision_button("leave:change", "reject", _reject)
CHANGE_BUTTONS = (ChangeApproveButton, ChangeRejectButton)


def change_view(change_id: int) -> discord.ui.View:
    return approvals.decision_view(ChangeApproveButton, ChangeRejectButton, change_id)


async def post_change_card(desk: LeaveDesk, change: HeldChange, config: GuildConfig) -> str:
    """Post the held change for the other managers; returns what to tell the requester."""
    held = (
        f"Changes to your own leave need another manager, so change #{change.id} "
        f"({describe_change(change)}) is waiting for one"
    )
    channel_id = config.approvals_channel_id
    channel = desk.bot.get_channel(channel_id) if channel_id else None
    if not isinstance(channel, discord.abc.Messageable):
        return f"{held}, but there is no approvals channel to ask in: run `/leave setup approvals_channel:`."
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
        actor=actor_of(config, interaction.user),
        approve=approve,
        now=desk.now(),
    )
    name_of = desk.name_of(config.guild_id)
    embed = change_embed(change, name_of(change.user_id), name_of(interaction.user.id))
    if answered and interaction.message is not None:
        answered = await answer_in_time(edit_clicked(interaction, embed=embed, view=None))
    if not answered and change.card_channel_id and change.card_message_id:
        await approvals.edit_card(
            desk.bot,
            change.card_channel_id,
            change.card_message_id,
            embed=embed,
            view=None,
            what=f"change #{change_id}",
        )
    # The manager who asked hears the answer.
    await approvals.dm(desk.bot, change.user_id, embed=embed)
    done = f"{change.status.capitalize()} change #{change.id}."
    if balance is not None:
        done += f" {balance.leave_type}: {format_amount(balance.available)} available in {balance.year}."
    if answered:
        await answer(interaction, done, ephemeral=True)
