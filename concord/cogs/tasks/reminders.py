"""Task reminders, each sent exactly once through the notification ledger (so a restart at the
moment one is due neither repeats nor loses it; one missed while the bot was down goes out on
the first pass after it is back):

- due within 24 h: one DM to the assignee (a tick job, checked on every scheduler pass);
- overdue: one DM a day to each assignee at the guild's digest time, listing their overdue
  tasks, and after ``task_overdue_days`` one mention of the assignee and the creator in the
  tasks channel (a daily job). Like the digest, on working days only: nobody is nagged on a
  weekend or a public holiday, nor while on leave; what was due then goes out on the next
  working day they are in.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import TYPE_CHECKING

import discord

from concord.cogs.tasks.embeds import card_embed, overdue_dm_embed
from concord.cogs.tasks.views import card_view
from concord.core.dates import format_day
from concord.core.leave import away_all_day, is_working_day
from concord.core.settings import GuildConfig
from concord.core.tasks import (
    Task,
    days_overdue,
    due_soon_key,
    escalation_key,
    needs_due_soon_reminder,
    needs_escalation,
    overdue_by_assignee,
)
from concord.core.text import clip, escape_markdown, plural
from concord.db.leave import LeaveManager
from concord.scheduler import DailyJob, TickJob

if TYPE_CHECKING:
    from concord.cogs.tasks.cog import Tasks

log = logging.getLogger(__name__)

DUE_SOON_JOB = "tasks.due_soon"
OVERDUE_JOB = "tasks.overdue"
DUE_SOON_KIND = "task.due_soon"
OVERDUE_KIND = "task.overdue"
ESCALATE_KIND = "task.escalate"


class TaskReminders:
    def __init__(self, cog: Tasks) -> None:
        self.cog = cog
        self.bot = cog.bot
        self.tasks_store = cog.tasks_store

    def scheduled(self) -> list[DailyJob | TickJob]:
        """The module's jobs (its descriptor hands them to the scheduler)."""
        return [
            TickJob(DUE_SOON_JOB, self.due_soon, guilds=self.tasks_store.guilds_due_soon),
            DailyJob(OVERDUE_JOB, lambda config: config.digest, self.overdue),
        ]

    async def _claim(self, guild_id: int, kind: str, key: str, now: datetime) -> str | None:
        """The claim's message nonce when this pass is to send it (see claim_delivery)."""
        return await self.bot.job_ledger.claim_delivery(guild_id, kind, key, now)

    async def _delivered(self, guild_id: int, kind: str, key: str) -> None:
        await self.bot.job_ledger.delivered(guild_id, kind, key)

    async def _release(self, guild_id: int, kind: str, key: str) -> None:
        await self.bot.job_ledger.release_notification(guild_id, kind, key)

    # -- due within 24 h ----------------------------------------------------------------------
    async def due_soon(self, config: GuildConfig, now: datetime) -> None:
        for task in await self.tasks_store.due_soon_candidates(config.guild_id, now):
            if not needs_due_soon_reminder(task, now, config.tz, config.digest):
                continue
            key = due_soon_key(task)
            nonce = await self._claim(config.guild_id, DUE_SOON_KIND, key, now)
            if nonce is None:
                continue
            assert task.assignee_id is not None
            try:
                await self.cog.cards.send_dm(
                    task.assignee_id,
                    task.id,
                    content=f"⏰ Task #{task.id} is due soon.",
                    embed=card_embed(task, now, config.tz),
                    view=card_view(task),
                    nonce=nonce,
                )
            except discord.HTTPException:
                # Not a closed DM (that is logged and final): give the claim back to retry.
                log.warning(
                    "due-soon reminder for task %s failed; will retry", task.id, exc_info=True
                )
                await self._release(config.guild_id, DUE_SOON_KIND, key)
            else:
                await self._delivered(config.guild_id, DUE_SOON_KIND, key)

    # -- overdue, daily at the digest time ------------------------------------------------------
    async def overdue(self, config: GuildConfig, local_date: date, late: bool) -> None:
        # "Overdue" and "Done today" move with the date even when nobody touched a task.
        self.cog.boards.changed(config.guild_id)
        if not await self._working_day(config, local_date):
            return
        now = self.bot.clock.now()
        tasks = await self.tasks_store.overdue(config.guild_id, now)
        on_leave = away_all_day(
            await LeaveManager(self.bot.db).absences(config.guild_id, local_date, local_date)
        )
        for user_id, items in overdue_by_assignee(tasks, now, config.tz).items():
            if user_id in on_leave:
                continue  # nobody is chased while on leave; the DM resumes when they are back
            key = f"{user_id}:{local_date.isoformat()}"
            nonce = await self._claim(config.guild_id, OVERDUE_KIND, key, now)
            if nonce is None:
                continue
            try:
                await self.cog.cards.send_dm(
                    user_id, None, embed=overdue_dm_embed(items, now, config.tz), nonce=nonce
                )
            except discord.HTTPException:
                log.warning("overdue DM to %s failed", user_id, exc_info=True)
                await self._release(config.guild_id, OVERDUE_KIND, key)
            else:
                await self._delivered(config.guild_id, OVERDUE_KIND, key)
        for task in tasks:
            if needs_escalation(task, now, config.tz, config.task_overdue_days):
                await self._escalate(config, task, now)

    async def _working_day(self, config: GuildConfig, day: date) -> bool:
        holidays = await LeaveManager(self.bot.db).holidays(config.guild_id, day, day)
        return is_working_day(day, config.workdays, frozenset(h.day for h in holidays))

    async def _escalate(self, config: GuildConfig, task: Task, now: datetime) -> None:
        channel_id = config.tasks_channel_id or task.card_channel_id
        if channel_id is None:
            log.info("task %s is overdue but there is no tasks channel to escalate in", task.id)
            return
        key = escalation_key(task)
        nonce = await self._claim(config.guild_id, ESCALATE_KIND, key, now)
        if nonce is None:
            return
        days = days_overdue(task, now, config.tz)
        if task.assignee_id is None:
            people = f"unassigned (anyone can claim it) · creator <@{task.creator_id}>"
        elif task.assignee_id == task.creator_id:
            people = f"assignee and creator <@{task.assignee_id}>"
        else:
            people = f"assignee <@{task.assignee_id}> · creator <@{task.creator_id}>"
        due = f" (due {format_day(task.due_date)})" if task.due_date else ""
        # A link to the card rather than a copy of it: the card is the one kept current.
        if task.card_channel_id and task.card_message_id:
            where = (
                f" Card: https://discord.com/channels/{task.guild_id}/"
                f"{task.card_channel_id}/{task.card_message_id}"
            )
        else:
            where = f" See `/task show task:{task.id}`."
        content = clip(
            f"⚠️ Task #{task.id} **{escape_markdown(task.title)}** is overdue"
            f"{' by ' + plural(days, 'day') if days else ''}{due} · {people}. Finish it, or "
            f"give it a new due date with `/task edit`.{where}",
            2000,
        )
        try:
            await self.bot.get_partial_messageable(channel_id).send(
                content=content,
                # Only the people named by the bot are pinged, never a mention typed in a title.
                allowed_mentions=discord.AllowedMentions(
                    users=[
                        discord.Object(id=user)
                        for user in {task.creator_id, task.assignee_id}
                        if user is not None
                    ],
                    roles=False,
                    everyone=False,
                ),
                nonce=nonce,
            )
        except discord.HTTPException:
            log.warning("could not escalate overdue task %s", task.id, exc_info=True)
            await self._release(config.guild_id, ESCALATE_KIND, key)
        else:
            await self._delivered(config.guild_id, ESCALATE_KIND, key)
