"""Where a task shows: its card in the tasks channel, copies sent by DM, the boards. Every
change is published to all of them; closed DMs and deleted messages are logged, never fatal."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from concord.cogs.tasks.board import BoardKeeper
from concord.cogs.tasks.embeds import card_embed
from concord.cogs.tasks.views import card_view
from concord.core.dates import format_day
from concord.core.settings import GuildConfig
from concord.core.tasks import STATUS_LABELS, Task
from concord.core.text import clip, escape_markdown
from concord.db.tasks import StatusChange, TaskManager

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log = logging.getLogger(__name__)


class TaskCards:
    def __init__(self, bot: ConcordBot, tasks_store: TaskManager, boards: BoardKeeper) -> None:
        self.bot = bot
        self.tasks_store = tasks_store
        self.boards = boards

    async def send_dm(
        self, user_id: int, task_id: int | None, **kwargs: Any
    ) -> discord.Message | None:
        """DM a member; closed DMs are logged and give None. A card sent this way is recorded
        so it is edited with the others. Other HTTP errors propagate (callers may retry)."""
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            message = await user.send(**kwargs)
        except (discord.Forbidden, discord.NotFound):
            log.info("could not DM user %s (DMs closed or user gone)", user_id)
            return None
        if task_id is not None and "view" in kwargs:
            await self.tasks_store.add_dm_card(task_id, message.channel.id, message.id)
        return message

    async def notify_assignee(
        self, task: Task, actor_id: int, text: str, config: GuildConfig
    ) -> None:
        """DM the assignee the card, unless they did it themselves."""
        if task.assignee_id is None or task.assignee_id == actor_id:
            return
        try:
            await self.send_dm(
                task.assignee_id,
                task.id,
                content=clip(f"<@{actor_id}> {text}", 2000),
                embed=card_embed(task, self.bot.clock.now(), config.tz),
                view=card_view(task),
            )
        except discord.HTTPException:
            log.warning("could not DM task %s to its assignee", task.id, exc_info=True)

    async def tell_unassigned(
        self, user_id: int | None, actor_id: int, tasks: list[Task], new_assignee_id: int
    ) -> None:
        """The member whose tasks went to someone else hears of it (not of their own doing),
        so nobody keeps working on, or worrying about, a task that is no longer theirs."""
        if not tasks or user_id is None or user_id in (actor_id, new_assignee_id):
            return
        listed = ", ".join(f"#{t.id} **{escape_markdown(t.title)}**" for t in tasks)
        noun = "task" if len(tasks) == 1 else "tasks"
        text = f"↪️ <@{actor_id}> handed your {noun} {listed} over to <@{new_assignee_id}>."
        try:
            await self.send_dm(user_id, None, content=clip(text, 2000))
        except discord.HTTPException:
            log.warning("could not tell %s about reassigned tasks", user_id, exc_info=True)

    async def retire_dm_cards(
        self, task: Task, user_id: int | None, actor_id: int, config: GuildConfig
    ) -> None:
        """The cards DMed to ``user_id``, who no longer has ``task``: each is edited to say
        whom it went to, without buttons, and stops being updated. A member's DM channel is
        one per member, so their copies are the ones in it (also those sent before this)."""
        if user_id is None or user_id == task.assignee_id:
            return
        cards = await self.tasks_store.dm_cards(task.id)
        if not cards:
            return
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            dm_channel = user.dm_channel or await user.create_dm()
        except discord.HTTPException:
            log.warning("could not find the DM channel of %s", user_id, exc_info=True)
            return
        handed = f"<@{task.assignee_id}>" if task.assignee_id else "nobody (anyone can claim it)"
        content = f"↪️ <@{actor_id}> handed this task to {handed}; it is no longer yours."
        embed = card_embed(task, self.bot.clock.now(), config.tz)
        for channel_id, message_id in cards:
            if channel_id != dm_channel.id:
                continue
            message = self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)
            try:
                await message.edit(content=content, embed=embed, view=None)
            except discord.NotFound:
                log.info("DM card %s of task %s is gone", message_id, task.id)
            except discord.HTTPException:
                log.warning("could not retire a DM card of task %s", task.id, exc_info=True)
                continue
            await self.tasks_store.forget_dm_card(task.id, message_id)

    async def post_card(
        self, task: Task, config: GuildConfig, fallback: discord.abc.Messageable | None
    ) -> discord.Message | None:
        """Post the card in the tasks channel, else in ``fallback``; remember where."""
        embed = card_embed(task, self.bot.clock.now(), config.tz)
        targets: list[discord.abc.Messageable] = []
        if config.tasks_channel_id:
            targets.append(
                self.bot.get_partial_messageable(config.tasks_channel_id, guild_id=task.guild_id)
            )
        if fallback is not None:
            targets.append(fallback)
        for target in targets:
            try:
                message = await target.send(embed=embed, view=card_view(task))
            except discord.HTTPException:
                log.warning("could not post the card of task %s", task.id, exc_info=True)
                continue
            await self.tasks_store.set_card(task.id, message.channel.id, message.id)
            return message
        return None

    async def publish(self, task: Task, *, skip_message_id: int | None = None) -> None:
        """Show a change everywhere: the channel card, the DM copies, the boards. The card is
        rendered only when some copy is left to edit (a click edits its own card itself)."""
        places: list[tuple[int, int, bool]] = []
        if task.card_channel_id and task.card_message_id:
            places.append((task.card_channel_id, task.card_message_id, False))
        places += [(ch, msg, True) for ch, msg in await self.tasks_store.dm_cards(task.id)]
        places = [place for place in places if place[1] != skip_message_id]
        if places:
            await self._edit_cards(task, places)
        self.boards.changed(task.guild_id)

    async def _edit_cards(self, task: Task, places: list[tuple[int, int, bool]]) -> None:
        config = await self.bot.guild_settings.get(task.guild_id)
        embed = card_embed(task, self.bot.clock.now(), config.tz)
        view = card_view(task)
        for channel_id, message_id, is_dm in places:
            message = self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)
            try:
                await message.edit(embed=embed, view=view)
            except discord.NotFound:
                if is_dm:
                    await self.tasks_store.forget_dm_card(task.id, message_id)
                log.info("card message %s of task %s is gone", message_id, task.id)
            except discord.HTTPException:
                log.warning("could not update a card of task %s", task.id, exc_info=True)

    async def after_status(
        self,
        change: StatusChange,
        config: GuildConfig,
        fallback: discord.abc.Messageable | None,
        *,
        actor_id: int,
        note: str | None = None,
        skip: int | None = None,
    ) -> str:
        """Publish a status change (and the next occurrence it created), tell the people it
        concerns; the reply text."""
        await self.publish(change.task, skip_message_id=skip)
        task = change.task
        text = f"Task #{task.id} is now **{STATUS_LABELS[task.status]}**."
        spawned = change.next_occurrence
        if spawned is not None:
            where = fallback
            if task.card_channel_id:
                where = self.bot.get_partial_messageable(
                    task.card_channel_id, guild_id=task.guild_id
                )
            await self.post_card(spawned, config, where)
            due = f", due {format_day(spawned.due_date)}" if spawned.due_date else ""
            text += f" It repeats: next is #{spawned.id}{due}."
        await self.tell_people(task, actor_id, note)
        return text

    async def tell_people(self, task: Task, actor_id: int, note: str | None) -> None:
        """The news a chat task bot's users expect without watching the card (never of their
        own clicks): the creator hears when their task is finished or stuck, the assignee when
        their task is cancelled."""
        if task.status in ("done", "blocked"):
            told = task.creator_id
        elif task.status == "cancelled":
            told = task.assignee_id
        else:
            return
        if told is None or told == actor_id:
            return
        verbs = {
            "done": "✅ <@{actor}> finished task #{id} **{title}**.",
            "blocked": "🟠 <@{actor}> marked task #{id} **{title}** as blocked.",
            "cancelled": "✖️ <@{actor}> cancelled task #{id} **{title}**; nothing more to do.",
        }
        text = verbs[task.status].format(
            actor=actor_id, id=task.id, title=escape_markdown(task.title)
        )
        if note:
            text += f"\n> {escape_markdown(note)}"
        if task.card_channel_id and task.card_message_id:
            text += (
                f"\nCard: https://discord.com/channels/{task.guild_id}/"
                f"{task.card_channel_id}/{task.card_message_id}"
            )
        try:
            await self.send_dm(told, None, content=clip(text, 2000))
        except discord.HTTPException:
            log.warning("could not DM news of task %s", task.id, exc_info=True)
