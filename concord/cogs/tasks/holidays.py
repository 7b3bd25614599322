"""A due date on a holiday: the answer that set it says so and offers to keep it or move it to
the working day before ("Fri 25 Dec is a holiday here — keep it or move to Thu 24 Dec?")."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import TYPE_CHECKING

import discord

from concord.cogs.common import OwnerView
from concord.core.dates import format_day
from concord.core.settings import GuildConfig
from concord.core.tasks import Actor, Task, TaskChanges, check_can_edit, previous_working_day
from concord.db.leave import LeaveManager
from concord.errors import UserError

if TYPE_CHECKING:
    from concord.bot import ConcordBot
    from concord.cogs.tasks.cog import Tasks

log = logging.getLogger(__name__)


async def holiday_warning(
    bot: ConcordBot, task: Task, actor: Actor, config: GuildConfig, now: datetime
) -> tuple[str, HolidayMoveView | None]:
    """("", None) unless ``task`` is live and due on a holiday; else the warning and, for
    someone who may edit the task, the buttons to keep or move it."""
    if task.due_date is None or not task.is_live:
        return "", None
    day = task.due_date
    leave = LeaveManager(bot.db)
    found = await leave.holidays(task.guild_id, day, day)
    if not found:
        return "", None
    holidays = await leave.holidays(task.guild_id, date(day.year - 1, 1, 1), day)
    earlier = previous_working_day(day, config.workdays, frozenset(h.day for h in holidays))
    today = now.astimezone(config.tz).date()
    text = f"\n⚠️ {format_day(day)} is a holiday here ({found[0].name})"
    if earlier < today:
        return text + ": there is no working day before it left to move it to.", None
    try:
        check_can_edit(actor, task)
    except UserError:
        return text + f"; the creator or a manager can move it to {format_day(earlier)}.", None
    view = HolidayMoveView(actor.user_id, task, earlier)
    return text + f" — keep it or move to {format_day(earlier)}?", view


class HolidayMoveView(OwnerView):
    """Keep the due date on the holiday, or move it to the working day before."""

    def __init__(self, owner_id: int, task: Task, earlier: date) -> None:
        super().__init__(owner_id)
        self.task_id = task.id
        self.guild_id = task.guild_id
        self.holiday = task.due_date
        self.earlier = earlier
        self.move.label = f"Move to {format_day(earlier)}"

    @discord.ui.button(label="Keep it", style=discord.ButtonStyle.secondary)
    async def keep(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.disable()
        self.stop()
        assert self.holiday is not None
        await interaction.response.edit_message(
            content=f"Task #{self.task_id} stays due on {format_day(self.holiday)}.", view=self
        )

    @discord.ui.button(label="Move", style=discord.ButtonStyle.primary)
    async def move(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        cog: Tasks | None = interaction.client.get_cog("Tasks")  # type: ignore[attr-defined]
        if cog is None:
            raise RuntimeError("the Tasks cog is not loaded")
        await interaction.response.defer()
        actor, _ = await cog.actor_for(self.guild_id, interaction.user)
        task = await cog.tasks_store.get(self.task_id, self.guild_id)
        if task.due_date != self.holiday:
            raise UserError(
                f"Task #{task.id} is no longer due on that day; look at its card for the date."
            )
        changes = TaskChanges(
            set_due=True,
            due_date=self.earlier,
            due_time=task.due_time,
            # The series keeps its rhythm: the next one counts from the holiday.
            rhythm_date=task.rhythm_date or self.holiday,
        )
        moved = await cog.tasks_store.edit(
            task.guild_id, task.id, actor, changes, cog.bot.clock.now()
        )
        await cog.cards.publish(moved)
        self.disable()
        self.stop()
        await interaction.edit_original_response(
            content=f"Moved task #{moved.id} to {format_day(self.earlier)}.", view=self
        )
