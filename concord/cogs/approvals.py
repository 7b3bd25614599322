"""The approval kit: what any "someone asks, a manager decides" flow needs on Discord's side —
Approve / Reject buttons that keep working after a restart, the view that carries them, an
optional reason form for Reject, editing the card in place, the "already decided" answer and
the DM to the person who asked. Leave requests (``cogs/leave``) and the held changes to a
manager's own leave (``cogs/leave/changes.py``) are built on it; the decision itself (who may,
once only) stays in the manager's write.

The buttons are ``DynamicItem``s whose custom id carries the object's id
(``<prefix>:approve:<id>``), sent in a :class:`RegistryView`, which discord.py does not store per
message: when a stored view stops (and ephemeral ones time out after 15 minutes) discord.py
also drops the bot-wide registration of every dynamic item in it, which would disable every
card's buttons. Such views are sent with channel.send, followups or edits, never with
``response.send_message`` (which stores any view).

``from_custom_id`` only parses the id, because discord.py logs and drops exceptions raised
there (the click would just fail); the object is reloaded and the clicker's permission checked
in the handler, where every error reaches the clicker through ``bot.report_error``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import discord

from concord.cogs.common import field_input, forward_errors, modal_field, report_error
from concord.core.settings import GuildConfig

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log = logging.getLogger(__name__)
MODAL_TIMEOUT = 900.0

# (interaction, id of the object the button is about) -> the decision's work.
Handler = Callable[[discord.Interaction, int], Awaitable[None]]


class RegistryView(discord.ui.View):
    """A view of dynamic items only, answered through the bot-wide dynamic item registry."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    def is_dispatchable(self) -> bool:
        return False  # nothing to store for this message: see the module docstring

    def is_finished(self) -> bool:
        return True  # response.send_message stores any unfinished view, dispatchable or not


class DecisionButton(discord.ui.DynamicItem[discord.ui.Button], template=r"(?!)"):
    """Approve or Reject on a card: ``<prefix>:<action>:<id>``. Made per use by
    :func:`decision_button`; this base matches no custom id."""

    prefix: str = ""
    action: str = "approve"

    def __init__(self, object_id: int, *, label: str | None = None, row: int | None = None) -> None:
        approve = self.action == "approve"
        super().__init__(
            discord.ui.Button(
                label=label or self.default_label(),
                style=discord.ButtonStyle.success if approve else discord.ButtonStyle.danger,
                custom_id=f"{self.prefix}:{self.action}:{object_id}",
                row=row,
            )
        )
        self.object_id = object_id

    @classmethod
    def default_label(cls) -> str:
        return "Approve" if cls.action == "approve" else "Reject"

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> DecisionButton:
        # A message may relabel its buttons (``Approve #7``): a click keeps the label.
        return cls(int(match["id"]), label=getattr(item, "label", None))

    async def handle(self, interaction: discord.Interaction, object_id: int) -> None:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction) -> None:
        await forward_errors(interaction, self.handle(interaction, self.object_id))


def decision_button(prefix: str, action: str, handler: Handler) -> type[DecisionButton]:
    """A persistent ``<prefix>:<action>:<id>`` button (``approve``: green, ``reject``: red)
    whose click runs ``handler(interaction, id)``; register it with the module's
    ``persistent`` items."""

    class Made(DecisionButton, template=re.escape(f"{prefix}:{action}:") + r"(?P<id>\d{1,18})"):
        async def handle(self, interaction: discord.Interaction, object_id: int) -> None:
            await handler(interaction, object_id)

    Made.prefix, Made.action = prefix, action
    Made.__name__ = Made.__qualname__ = (
        "".join(part.capitalize() for part in prefix.split(":")) + Made.default_label() + "Button"
    )
    return Made


def decision_view(
    approve: type[DecisionButton], reject: type[DecisionButton], object_id: int
) -> RegistryView:
    """A card's Approve and Reject buttons."""
    view = RegistryView()
    view.add_item(approve(object_id))
    view.add_item(reject(object_id))
    return view


class ReasonModal(discord.ui.Modal):
    """The optional reason of a rejection, shown to the person who asked."""

    reason: discord.ui.Label[Any] = modal_field(
        "Reason (optional, shown to the requester)",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=1000,
        custom_id="reason",
    )

    def __init__(
        self,
        *,
        title: str,
        custom_id: str,
        on_submit: Callable[[discord.Interaction, str | None], Awaitable[None]],
        max_length: int = 1000,
    ) -> None:
        super().__init__(title=title, custom_id=custom_id, timeout=MODAL_TIMEOUT)
        field_input(self.reason).max_length = max_length
        self._on_submit = on_submit

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self._on_submit(interaction, field_input(self.reason).value or None)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report_error(interaction, error)


async def edit_card(
    bot: ConcordBot,
    channel_id: int,
    message_id: int,
    *,
    embed: discord.Embed,
    view: discord.ui.View | None,
    what: str,
) -> bool:
    """Edit a card in place by REST (a click that could not be answered, or the card of a
    decision made elsewhere); a card that is gone is logged, never an error."""
    message = bot.get_partial_messageable(channel_id).get_partial_message(message_id)
    try:
        await message.edit(embed=embed, view=view)
    except discord.HTTPException:
        log.warning("could not update the card of %s", what, exc_info=True)
        return False
    return True


async def dm(
    bot: ConcordBot, user_id: int, *, embed: discord.Embed, nonce: str | None = None
) -> bool:
    """DM a member (the person who asked, or a decider); closed DMs (or a member who left)
    are logged, never an error. ``nonce``: a claimed notification's (JobLedger.claim_delivery)."""
    try:
        user = bot.get_user(user_id) or await bot.fetch_user(user_id)
        if nonce is None:
            await user.send(embed=embed)
        else:
            await user.send(embed=embed, nonce=nonce)
    except discord.HTTPException as error:
        log.info("could not DM member %s (%s); DMs closed?", user_id, error)
        return False
    return True


class Decided(Protocol):
    """An "already decided" error: who decided, when, and its sentence."""

    by: int | None
    at: datetime | None

    def describe(self, by_name: str | None, at: datetime | None) -> str: ...


def already_message(
    error: Decided, config: GuildConfig, name_of: Callable[[int | None], str]
) -> str:
    """``Request #7 was already approved by alice at 10:02.`` in the guild's time."""
    name = name_of(error.by) if error.by else None
    at = error.at.astimezone(config.tz) if error.at else None
    return error.describe(name, at)
