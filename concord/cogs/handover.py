"""Leave × Tasks: a leave request's approval card lists the requester's open tasks due while they
are away, and after approving, the approver can hand those tasks over to someone in one step (an
ephemeral user-select; one transaction, a history note on every task)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import discord

from concord.cogs.common import OwnerView, answer, member_is_manager
from concord.core.actor import Actor
from concord.core.dates import format_day
from concord.core.embed_pages import FIELD_VALUE_MAX, FIELDS_MAX, MESSAGE_EMBED_CHARS
from concord.core.leave import LeaveRequest, Portion, whole_days
from concord.core.tasks import Task
from concord.core.text import clip, escape_markdown, plural
from concord.db.leave import LeaveManager
from concord.db.tasks import TaskManager
from concord.errors import PermissionDenied, UserError

if TYPE_CHECKING:
    from concord.bot import ConcordBot
    from concord.cogs.tasks.cog import Tasks

log = logging.getLogger(__name__)

FIELD_NAME = "Open tasks due while away"
SHOWN_TASKS = 10
SHOWN_MEMBERS = 15


async def tasks_due_while_away(
    bot: ConcordBot, guild_id: int, user_id: int, start: date, end: date
) -> list[Task]:
    """The member's live tasks due on a day of [start, end]."""
    return await TaskManager(bot.db).open_due_between(guild_id, user_id, start, end)


def add_tasks_field(embed: discord.Embed, tasks: Sequence[Task]) -> None:
    """List ``tasks`` on a leave card, if the card has room for one more field."""
    if not tasks:
        return
    lines = [
        f"#{t.id} {escape_markdown(clip(t.title, 70))} — due {t.due_date:%a} {t.due_date.day} {t.due_date:%b}"
        for t in tasks[:SHOWN_TASKS]
        if t.due_date is not None
    ]
    if len(tasks) > SHOWN_TASKS:
        lines.append(f"… and {len(tasks) - SHOWN_TASKS} more")
    name = f"{FIELD_NAME} ({len(tasks)})"
    value = clip("\n".join(lines), FIELD_VALUE_MAX)
    if len(embed.fields) >= FIELDS_MAX or len(embed) + len(name) + len(value) > MESSAGE_EMBED_CHARS:
        log.info("no room on the leave card for its %d open tasks", len(tasks))
        return
    embed.add_field(name=name, value=value, inline=False)


class HandOverView(OwnerView):
    """ "Hand these N tasks over to…": the approver picks one member; every still-open task due
    during the absence is reassigned to them in one transaction. Someone away on a day one of
    the tasks is due is not taken at once: the approver is warned, shown who is available, and
    confirms (or picks someone else)."""

    def __init__(
        self,
        owner_id: int,
        guild_id: int,
        requester_id: int,
        request_id: int,
        tasks: Sequence[Task],
    ) -> None:
        super().__init__(owner_id)
        self.guild_id = guild_id
        self.requester_id = requester_id
        self.request_id = request_id
        self.task_ids = [t.id for t in tasks]
        self.due_days = {t.id: t.due_date for t in tasks if t.due_date is not None}
        # The member the approver was warned about; "Hand over anyway" hands to them.
        self.warned_about: int | None = None
        count = len(self.task_ids)
        self.pick: discord.ui.UserSelect[HandOverView] = discord.ui.UserSelect(
            placeholder=f"Hand {'this task' if count == 1 else 'these ' + plural(count, 'task')} over to…",
            min_values=1,
            max_values=1,
            custom_id=f"leave:handover:{request_id}",
        )
        self.pick.callback = self.hand_over
        self.add_item(self.pick)
        self.anyway: discord.ui.Button[HandOverView] = discord.ui.Button(
            label="Hand over anyway",
            style=discord.ButtonStyle.danger,
            custom_id=f"leave:handover:anyway:{request_id}",
        )
        self.anyway.callback = self.hand_over_anyway

    @staticmethod
    def prompt(requester_id: int, tasks: Sequence[Task]) -> str:
        listed = ", ".join(
            f"#{t.id} {escape_markdown(clip(t.title, 40))}" for t in tasks[:SHOWN_TASKS]
        )
        more = f" and {len(tasks) - SHOWN_TASKS} more" if len(tasks) > SHOWN_TASKS else ""
        return clip(
            f"<@{requester_id}> has {plural(len(tasks), 'open task')} due "
            f"while away: {listed}{more}. Hand {'it' if len(tasks) == 1 else 'them'} over to "
            "someone?",
            2000,
        )

    async def hand_over(self, interaction: discord.Interaction) -> None:
        bot: ConcordBot = interaction.client  # type: ignore[assignment]
        target = self.pick.values[0]
        if target.bot:
            raise UserError("Tasks can't be handed over to a bot.")
        if target.id == self.requester_id:
            raise UserError("Pick someone other than the member who is going on leave.")
        config = await bot.guild_settings.get(self.guild_id)
        if not member_is_manager(config, interaction.user):
            raise PermissionDenied("Only managers can hand tasks over.")
        await interaction.response.defer()
        away = await self.days_away(bot)
        if away.get(target.id) and self.warned_about != target.id:
            await self.warn(interaction, target.id, away)
            return
        await self.reassign(interaction, target.id)

    async def hand_over_anyway(self, interaction: discord.Interaction) -> None:
        bot: ConcordBot = interaction.client  # type: ignore[assignment]
        config = await bot.guild_settings.get(self.guild_id)
        if not member_is_manager(config, interaction.user):
            raise PermissionDenied("Only managers can hand tasks over.")
        if self.warned_about is None:
            raise UserError("Pick someone to hand the tasks over to first.")
        await interaction.response.defer()
        await self.reassign(interaction, self.warned_about)

    async def days_away(self, bot: ConcordBot) -> dict[int, list[date]]:
        """Who is off all day (approved or asked for) on a day one of the tasks is due."""
        due = set(self.due_days.values())
        if not due:
            return {}
        absences = whole_days(
            await LeaveManager(bot.db).absences(
                self.guild_id, min(due), max(due), ("approved", "pending")
            )
        )
        away: dict[int, list[date]] = {}
        for absence in absences:
            if absence.is_away and absence.portion is Portion.FULL_DAY and absence.day in due:
                away.setdefault(absence.user_id, []).append(absence.day)
        return away

    async def warn(
        self, interaction: discord.Interaction, target_id: int, away: dict[int, list[date]]
    ) -> None:
        """Say when the chosen member is away and who is free then; ask to confirm."""
        self.warned_about = target_id
        days = sorted(set(away[target_id]))
        clashing = [f"#{tid}" for tid, day in self.due_days.items() if day in days]
        shown_days = ", ".join(format_day(day) for day in days)
        tasks = "task" if len(clashing) == 1 else "tasks"
        verb = "is" if len(clashing) == 1 else "are"
        lines = [
            f"⚠️ <@{target_id}> is on leave on {shown_days}, when {tasks} {', '.join(clashing)} "
            f"{verb} due. Hand over anyway, or pick someone else."
        ]
        free = self.available(interaction, away)
        if free:
            shown = " ".join(f"<@{uid}>" for uid in free[:SHOWN_MEMBERS])
            more = f" and {len(free) - SHOWN_MEMBERS} more" if len(free) > SHOWN_MEMBERS else ""
            lines.append(f"Available on those days: {shown}{more}.")
        else:
            lines.append("Nobody else is available on all of those days.")
        if self.anyway not in self.children:
            self.add_item(self.anyway)
        await interaction.edit_original_response(content=clip("\n".join(lines), 2000), view=self)

    def available(self, interaction: discord.Interaction, away: dict[int, list[date]]) -> list[int]:
        """Members (not bots, not the one going on leave) away on none of the due days."""
        guild = interaction.client.get_guild(self.guild_id)
        if guild is None:
            return []
        members = sorted(guild.members, key=lambda m: m.display_name.lower())
        return [
            m.id for m in members if not m.bot and m.id != self.requester_id and not away.get(m.id)
        ]

    async def reassign(self, interaction: discord.Interaction, target_id: int) -> None:
        bot: ConcordBot = interaction.client  # type: ignore[assignment]
        config = await bot.guild_settings.get(self.guild_id)
        # Only a leave approver gets this far (checked on the click); the task rule (creator
        # or manager) is checked per task, with the approver acting as a manager would.
        moved = await TaskManager(bot.db).reassign_many(
            self.guild_id,
            Actor(interaction.user.id, is_manager=True),
            self.task_ids,
            target_id,
            f"Handed over while <@{self.requester_id}> is on leave (request #{self.request_id}).",
            bot.clock.now(),
        )
        tasks_cog: Tasks | None = bot.get_cog("Tasks")  # type: ignore[assignment]
        if tasks_cog is not None:
            for task in moved:
                await tasks_cog.cards.retire_dm_cards(
                    task, self.requester_id, interaction.user.id, config
                )
                await tasks_cog.cards.publish(task)
                await tasks_cog.cards.notify_assignee(
                    task, interaction.user.id, "handed you a task.", config
                )
            await tasks_cog.cards.tell_unassigned(
                self.requester_id, interaction.user.id, list(moved), target_id
            )
        self.disable()
        self.stop()
        if moved:
            listed = ", ".join(f"#{t.id}" for t in moved)
            text = f"Handed {listed} over to <@{target_id}>."
        else:
            text = "Nothing to hand over any more: those tasks were finished or moved meanwhile."
        await interaction.edit_original_response(content=text, view=self)


async def offer_hand_over(interaction: discord.Interaction, request: LeaveRequest) -> None:
    """After approving ``request``: if the requester has open tasks due while away, show the
    approver (only them) the hand-over select."""
    bot: ConcordBot = interaction.client  # type: ignore[assignment]
    tasks = await tasks_due_while_away(
        bot, request.guild_id, request.user_id, request.start, request.end
    )
    if not tasks:
        return
    view = HandOverView(interaction.user.id, request.guild_id, request.user_id, request.id, tasks)
    view.message = await answer(
        interaction, HandOverView.prompt(request.user_id, tasks), view=view, ephemeral=True
    )
