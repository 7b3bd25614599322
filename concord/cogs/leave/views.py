"""Leave's buttons, the reject form and page views, on the approval kit (``cogs/approvals.py``).

Approve / Reject (``leave:approve:<id>``, ``leave:reject:<id>``) and the pending list's page
buttons are ``DynamicItem``s, so they work on any message after a restart or a deploy; they
are sent in a :class:`RegistryView` (see the kit for why).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from concord.cogs.approvals import (
    ReasonModal,
    RegistryView,
    decision_button,
    decision_view,
)
from concord.cogs.common import PagerView, answer, forward_errors
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


async def _approve(interaction: discord.Interaction, request_id: int) -> None:
    await desk_of(interaction).decide_from_button(interaction, request_id)


async def _open_reject_form(interaction: discord.Interaction, request_id: int) -> None:
    await desk_of(interaction).open_reject_modal(interaction, request_id)


async def _approve_anyway(interaction: discord.Interaction, request_id: int) -> None:
    await desk_of(interaction).decide_from_button(interaction, request_id, override=True)


ApproveButton = decision_button("leave", "approve", _approve)
RejectButton = decision_button("leave", "reject", _open_reject_form)
# On a card whose approval would take a team over its max_out (issue 20): approve anyway.
OverrideButton = decision_button("leave", "override", _approve_anyway)
OverrideButton.__name__ = OverrideButton.__qualname__ = "LeaveOverrideButton"
OVERRIDE_LABEL = "Approve anyway"


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
        await forward_errors(
            interaction, desk_of(interaction).show_pending_page(interaction, self.page)
        )


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    ApproveButton,
    RejectButton,
    OverrideButton,
    PendingPageButton,
)


def card_view(request_id: int, *, over_limit: bool = False) -> discord.ui.View:
    """Approve and Reject; and Approve anyway when approving would go over a team's limit."""
    view = decision_view(ApproveButton, RejectButton, request_id)
    if over_limit:
        view.add_item(OverrideButton(request_id, label=OVERRIDE_LABEL))
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


def reject_modal(request_id: int) -> ReasonModal:
    async def reject(interaction: discord.Interaction, note: str | None) -> None:
        await desk_of(interaction).reject_from_modal(interaction, request_id, note)

    return ReasonModal(
        title=f"Reject leave request #{request_id}",
        custom_id=f"leave:reject-modal:{request_id}",
        on_submit=reject,
        max_length=MAX_REASON_LENGTH,
    )


async def send_embed_pages(
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
    view = (
        PagerView.of_embeds(interaction.user.id, pages, module="leave", timeout=PAGE_TIMEOUT)
        if len(pages) > 1
        else None
    )
    if view is not None:
        kwargs["view"] = view
    message = await answer(interaction, **kwargs)
    if view is not None:
        view.message = message
