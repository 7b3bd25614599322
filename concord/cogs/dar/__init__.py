"""The DAR cog package: commands and flows (``cog``), scheduled jobs (``jobs``), buttons and
modals (``views``), Discord rendering of the core layouts (``embeds``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from concord.cogs.dar.cog import Dar

if TYPE_CHECKING:
    from concord.bot import ConcordBot

__all__ = ["Dar", "setup"]


async def setup(bot: ConcordBot) -> None:
    await bot.add_cog(Dar(bot))
