"""The Leave cog: /leave commands, approval cards with buttons that survive restarts, DMs and
daily reminders of pending requests. Commands are in cog.py, cards and notifications in
cards.py, buttons and the modal in views.py, rendering in embeds.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from concord.cogs.leave.cog import Leave

if TYPE_CHECKING:
    from concord.bot import ConcordBot


async def setup(bot: ConcordBot) -> None:
    await bot.add_cog(Leave(bot))
