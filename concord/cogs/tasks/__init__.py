"""The Tasks cog package: commands and flows (``cog``), cards and boards (``embeds``,
``board``), buttons and modals (``views``), reminders (``reminders``)."""

from concord.cogs.tasks.cog import Tasks, setup

__all__ = ["Tasks", "setup"]
