"""Buttons, the reject modal and page views.

Approve / Reject and the pending list's page buttons are ``DynamicItem``s: their custom ids
carry the request id (``leave:approve:<id>``), so they work on any message after a restart or a
deploy. They are sent in a :class:`RegistryView`, which discord.py does not store per message:
when a stored view stops (and ephemeral ones time out after 15 minutes) discord.py also drops
the bot-wide registration of every dynamic item in it, which would disable every card's
buttons. Such views are not dispatchable and count as finished, so discord.py stores them
nowhere, not even from ``response.send_message`` (which stores any unfinished view).

``from_custom_id`` only parses the id, because discord.py logs and drops exceptions raised
there (the click would just fail); the request is reloaded and the clicker's permission checked
in the callback, where every error reaches the clicker through ``bot.report_error``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

import discord

from concord.cogs.common import answer, field_input, modal_field
from concord.core.leave import MAX_REASON_LENGTH

if TYPE_CHECKING:
    from concord.bot import ConcordBot
    from concord.cogs.leave.cards import LeaveDesk

log = logging.getLogger(__name__)
PAGE_TIMEOUT = 300.0
MODAL_TIMEOUT = 900.0


def desk_of(interaction: discord.Interaction) -> LeaveDesk:
    bot: ConcordBot = interaction.client  # type: ignore[assignment]
    cog: Any = bot.get_cog("Leave")
    if cog is None:
        raise RuntimeError("the Leave cog is not loaded")
    return cog.desk


async def run_reporting(interaction: discord.Interaction, action: Awaitable[None]) -> None:
    """Run a component's action; any error goes to the bot's one error path."""
    try:
        await action
    except Exception as error:
        bot: ConcordBot = interaction.client  # type: ignore[assignment]
        await bot.report_error(interaction, error)


class ApproveButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"leave:approve:(?P<id>\d{1,18})"
):
    def __init__(self, request_id: int, *, label: str = "Approve", row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.success,
                custom_id=f"leave:approve:{request_id}",
                row=row,
            )
        )
        self.request_id = request_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ApproveButton:
        label = getattr(item, "label", None) or "Approve"
        return cls(int(match["id"]), label=label)

    async def callback(self, interaction: discord.Interaction) -> None:
        await run_reporting(
            interaction, desk_of(interaction).decide_from_button(interaction, self.request_id)
        )


class RejectButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"leave:reject:(?P<id>\d{1,18})"
):
    def __init__(self, request_id: int, *, label: str = "Reject", row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.danger,
                custom_id=f"leave:reject:{request_id}",
                row=row,
            )
        )
        self.request_id = request_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RejectButton:
        label = getattr(item, "label", None) or "Reject"
        return cls(int(match["id"]), label=label)

    async def callback(self, interaction: discord.Interaction) -> None:
        await run_reporting(
            interaction, desk_of(interaction).open_reject_modal(interaction, self.request_id)
        )


class PendingPageButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"leave:pending:(?P<page>\d{1,6})"
):
    """Moves the manager's pending list to another page (rebuilt from fresh data)."""

    def __init__(self, page: int, *, label: str, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"leave:pending:{page}",
                disabled=disabled,
                row=4,
            )
        )
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PendingPageButton:
        return cls(int(match["page"]), label=getattr(item, "label", None) or "Page")

    async def callback(self, interaction: discord.Interaction) -> None:
        await run_reporting(
            interaction, desk_of(interaction).show_pending_page(interaction, self.page)
        )


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    ApproveButton,
    RejectButton,
    PendingPageButton,
)


class RegistryView(discord.ui.View):
    """A view of dynamic items only, answered through the bot-wide dynamic item registry."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    def is_dispatchable(self) -> bool:
        return False  # nothing to store for this message: see the module docstring

    def is_finished(self) -> bool:
        return True  # response.send_message stores any unfinished view, dispatchable or not


def card_view(request_id: int) -> discord.ui.View:
    view = RegistryView()
    view.add_item(ApproveButton(request_id))
    view.add_item(RejectButton(request_id))
    return view


def pending_view(request_ids: Sequence[int], page: int, pages: int) -> discord.ui.View:
    """One row per request (Approve #id / Reject #id), the page buttons on the last row."""
    view = RegistryView()
    for row, request_id in enumerate(request_ids):
        view.add_item(ApproveButton(request_id, label=f"Approve #{request_id}", row=row))
        view.add_item(RejectButton(request_id, label=f"Reject #{request_id}", row=row))
    if pages > 1:
        # Both page buttons need distinct custom ids even when one is disabled at an end.
        previous, following = max(page - 1, 0), min(page + 1, pages - 1)
        if previous == following:
            following = previous + 1
        view.add_item(PendingPageButton(previous, label="◀ Previous", disabled=page == 0))
        view.add_item(PendingPageButton(following, label="Next ▶", disabled=page >= pages - 1))
    return view


class RejectModal(discord.ui.Modal):
    reason: discord.ui.Label[Any] = modal_field(
        "Reason (optional, shown to the requester)",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=MAX_REASON_LENGTH,
        custom_id="reason",
    )

    def __init__(self, request_id: int) -> None:
        super().__init__(
            title=f"Reject leave request #{request_id}",
            custom_id=f"leave:reject-modal:{request_id}",
            timeout=MODAL_TIMEOUT,
        )
        self.request_id = request_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await desk_of(interaction).reject_from_modal(
            interaction, self.request_id, field_input(self.reason).value or None
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        bot: ConcordBot = interaction.client  # type: ignore[assignment]
        await bot.report_error(interaction, error)


class PageView(discord.ui.View):
    """Previous / Next over pre-rendered embeds, for the member who asked; the buttons are
    disabled when the view times out."""

    def __init__(self, pages: Sequence[discord.Embed], owner_id: int) -> None:
        super().__init__(timeout=PAGE_TIMEOUT)
        self.pages = list(pages)
        self.owner_id = owner_id
        self.index = 0
        self.message: discord.Message | None = None
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.following.disabled = self.index >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the member who asked can turn these pages; run the command yourself.",
            ephemeral=True,
        )
        return False

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    @discord.ui.button(
        label="◀ Previous", style=discord.ButtonStyle.secondary, custom_id="leave:page:previous"
    )
    async def previous(
        self, interaction: discord.Interaction, button: discord.ui.Button[PageView]
    ) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(
        label="Next ▶", style=discord.ButtonStyle.secondary, custom_id="leave:page:next"
    )
    async def following(
        self, interaction: discord.Interaction, button: discord.ui.Button[PageView]
    ) -> None:
        await self._show(interaction, self.index + 1)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException:
                log.debug("could not disable the page buttons of message %s", self.message.id)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        bot: ConcordBot = interaction.client  # type: ignore[assignment]
        await bot.report_error(interaction, error)


async def send_pages(
    interaction: discord.Interaction,
    pages: Sequence[discord.Embed],
    *,
    ephemeral: bool = True,
    content: str | None = None,
) -> None:
    """Send embeds as one message, with page buttons when there is more than one."""
    kwargs: dict[str, Any] = {"embed": pages[0], "ephemeral": ephemeral}
    if content:
        kwargs["content"] = content[:2000]
    view = PageView(pages, interaction.user.id) if len(pages) > 1 else None
    if view is not None:
        kwargs["view"] = view
    message = await answer(interaction, **kwargs)
    if view is not None:
        view.message = message
