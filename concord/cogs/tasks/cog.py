"""/task: create, list, show, assign, claim, move along, edit, comment on and cancel tasks; the
**Create task** message context menu; task cards with buttons; boards; reminders."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from concord.cogs.common import (
    acknowledge_later,
    actor_of,
    answer,
    answer_in_time,
    edit_clicked,
    guild_id_of,
)
from concord.cogs.tasks.board import BoardKeeper
from concord.cogs.tasks.cards import TaskCards
from concord.cogs.tasks.embeds import card_embed, choice_name, detail_embed, due_words
from concord.cogs.tasks.holidays import holiday_warning
from concord.cogs.tasks.reminders import TaskReminders
from concord.cogs.tasks.views import (
    BlockReasonModal,
    TaskCreateModal,
    TaskEditModal,
    card_view,
    task_list_view,
)
from concord.core import task_board
from concord.core.actor import Actor
from concord.core.settings import GuildConfig
from concord.core.tasks import (
    LIVE_STATUSES,
    STATUS_LABELS,
    STATUSES,
    TITLE_MAX,
    Task,
    changes_are_empty,
    changes_from_form,
    check_can_change_status,
    check_can_edit,
    check_transition,
    make_draft,
)
from concord.core.text import clip, escape_markdown, plural
from concord.db.tasks import StatusChange, TaskManager
from concord.errors import NotFound, PermissionDenied, UserError

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log = logging.getLogger(__name__)

PRIORITY_CHOICES = [
    app_commands.Choice(name=name.capitalize(), value=name)
    for name in ("low", "normal", "high", "urgent")
]
STATUS_CHOICES = [app_commands.Choice(name=STATUS_LABELS[s], value=s) for s in STATUSES]
LIST_STATUS_CHOICES = [
    app_commands.Choice(name="Live (open, in progress, blocked)", value="live"),
    *STATUS_CHOICES,
    app_commands.Choice(name="All", value="all"),
]
REPEAT_CHOICES = [
    app_commands.Choice(name="Does not repeat", value="none"),
    app_commands.Choice(name="Every day", value="daily"),
    app_commands.Choice(name="Every working day", value="weekdays"),
    app_commands.Choice(name="Every week", value="weekly"),
    app_commands.Choice(name="Every month", value="monthly"),
]
BUTTON_STATUS = {"start": "in_progress", "done": "done", "block": "blocked", "reopen": "open"}
TASK_OPTION = "Task: start typing its title or #number"


async def task_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The member's own and assigned live tasks first, by id or words of the title; ≤ 25."""
    cog: Tasks | None = interaction.client.get_cog("Tasks")  # type: ignore[assignment]
    if cog is None or interaction.guild_id is None:
        return []
    tasks = await cog.tasks_store.autocomplete(interaction.guild_id, interaction.user.id, current)
    return [app_commands.Choice(name=choice_name(t), value=str(t.id)) for t in tasks]


def refuse_bots(member: discord.Member | discord.User) -> None:
    if member.bot:
        raise UserError("Tasks can't be assigned to bots.")


@app_commands.guild_only()  # on the group: Discord ignores it on subcommands
class Tasks(commands.GroupCog, group_name="task", group_description="Assign and track work"):
    def __init__(self, bot: ConcordBot) -> None:
        self.bot = bot
        self.tasks_store = TaskManager(bot.db)
        self.boards = BoardKeeper(bot, self.tasks_store)
        self.cards = TaskCards(bot, self.tasks_store, self.boards)
        self.reminders = TaskReminders(self)
        # guild_only() sets the "contexts" Discord documents, not only the deprecated
        # dm_permission.
        self.context_menu = app_commands.guild_only(
            app_commands.ContextMenu(name="Create task", callback=self.create_from_message)
        )
        super().__init__()

    async def cog_load(self) -> None:
        await self.boards.load()
        self.bot.tree.add_command(self.context_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.context_menu.name, type=self.context_menu.type)
        self.boards.close()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.boards.refresh_all_soon()

    # -- shared steps ---------------------------------------------------------------------------
    async def actor_for(
        self, guild_id: int, user: discord.Member | discord.User
    ) -> tuple[Actor, GuildConfig]:
        """Who is acting and whether they count as a manager in the task's guild (also for
        clicks in DMs, where the interaction carries a plain user)."""
        config = await self.bot.guild_settings.get(guild_id)
        member: discord.Member | None = None
        if isinstance(user, discord.Member) and user.guild.id == guild_id:
            member = user
        else:
            guild = self.bot.get_guild(guild_id)
            member = guild.get_member(user.id) if guild else None
        return actor_of(config, member if member is not None else user), config

    def is_member(self, guild_id: int, user: discord.Member | discord.User) -> bool:
        guild = self.bot.get_guild(guild_id)
        return guild is not None and guild.get_member(user.id) is not None

    # -- creating ---------------------------------------------------------------------------------
    async def create_task(
        self,
        interaction: discord.Interaction,
        *,
        title: str,
        description: str | None,
        due: str | None,
        priority: str | None,
        repeat: str | None,
        assignee_id: int | None,
        source_url: str | None = None,
        skip_holidays: bool | None = None,
    ) -> Task:
        """Create, post the card, tell the assignee, answer; the task (for callers such as the
        DAR's Make task, which links it to the blocker it came from)."""
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        actor, config = await self.actor_for(guild_id, interaction.user)
        now = self.bot.clock.now()
        draft = make_draft(
            title=title,
            description=description,
            assignee_id=assignee_id,
            priority=priority,
            due=due,
            repeat=repeat,
            source_url=source_url,
            skip_holidays=skip_holidays,
            now=now,
            tz=config.tz,
        )
        task = await self.tasks_store.create(guild_id, actor, draft, now)
        card = await self.cards.post_card(task, config, interaction.channel)  # type: ignore[arg-type]
        await self.cards.notify_assignee(task, actor.user_id, "assigned you a task.", config)
        self.boards.changed(guild_id)
        where = f" Card: {card.jump_url}" if card else " (I could not post its card.)"
        who = (
            f" for <@{task.assignee_id}>"
            if task.assignee_id
            else " (unassigned: anyone can claim it)"
        )
        due_text = f", due {due_words(task)}" if task.due_date else ""
        warning, view = await holiday_warning(self.bot, task, actor, config, now)
        message = await answer(
            interaction,
            f"Created task #{task.id}{who}{due_text}.{where}{warning}",
            view=view,
            ephemeral=True,
        )
        if view is not None:
            view.message = message
        return task

    @app_commands.command(name="create", description="Create a task for yourself or someone else")
    @app_commands.describe(
        title="What needs doing (up to 200 characters)",
        assignee="Who does it (leave out: unassigned, anyone can claim it)",
        due="When it is due: today, tomorrow, fri, 3 Dec, 2026-12-03, optionally with 17:00",
        priority="How urgent it is (default normal)",
        description="Details (up to 2000 characters)",
        repeat="Create the next one when this one is done",
        skip_holidays="Move a repeat off holidays (default: yes for every working day, else no)",
    )
    @app_commands.choices(priority=PRIORITY_CHOICES, repeat=REPEAT_CHOICES)
    async def create(
        self,
        interaction: discord.Interaction,
        title: app_commands.Range[str, 1, TITLE_MAX],
        assignee: discord.Member | None = None,
        due: str | None = None,
        priority: app_commands.Choice[str] | None = None,
        description: app_commands.Range[str, 1, 2000] | None = None,
        repeat: app_commands.Choice[str] | None = None,
        skip_holidays: bool | None = None,
    ) -> None:
        if assignee is not None:
            refuse_bots(assignee)
        await self.create_task(
            interaction,
            title=title,
            description=description,
            due=due,
            priority=priority.value if priority else None,
            repeat=repeat.value if repeat else None,
            assignee_id=assignee.id if assignee else None,
            skip_holidays=skip_holidays,
        )

    async def create_from_message(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Message context menu: a prefilled modal; the task keeps a link to the message."""
        guild_id_of(interaction)
        text = message.content.strip()
        if not text and message.embeds:
            first = message.embeds[0]
            text = "\n".join(part for part in (first.title, first.description) if part)
        first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
        title = (
            clip(first_line, TITLE_MAX)
            if first_line
            else clip(f"Follow up on {message.author.display_name}'s message", TITLE_MAX)
        )
        await interaction.response.send_modal(
            TaskCreateModal(
                title=title,
                description=text,
                source_url=message.jump_url,
            )
        )

    async def submit_create(
        self,
        interaction: discord.Interaction,
        *,
        title: str,
        description: str,
        due: str,
        priority: str,
        repeat: str,
        assignee_id: int | None,
        source_url: str | None,
    ) -> None:
        await self.create_task(
            interaction,
            title=title,
            description=description,
            due=due,
            priority=priority or None,
            repeat=repeat or None,
            assignee_id=assignee_id,
            source_url=source_url,
        )

    # -- lists ------------------------------------------------------------------------------------
    async def send_list(
        self,
        interaction: discord.Interaction,
        title: str,
        *,
        assignee_id: int | None,
        statuses: frozenset[str] | tuple[str, ...],
        query: str | None,
        empty: str = "No tasks match.",
    ) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        config = await self.bot.guild_settings.get(guild_id)
        now = self.bot.clock.now()
        tasks = await self.tasks_store.list_tasks(
            guild_id, now, assignee_id=assignee_id, statuses=statuses, query=query
        )
        view = task_list_view(interaction.user.id, title, tasks, now, config.tz, empty=empty)
        if view.count == 1:
            await answer(interaction, embed=view.embed(), ephemeral=True)
            view.stop()
            return
        view.message = await answer(interaction, embed=view.embed(), view=view, ephemeral=True)

    @app_commands.command(name="list", description="List tasks: overdue first, then by due date")
    @app_commands.describe(
        member="Only tasks assigned to this member",
        status="Which tasks (default: live ones)",
        query="Words to find in the title or description",
    )
    @app_commands.choices(status=LIST_STATUS_CHOICES)
    async def list_(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        status: app_commands.Choice[str] | None = None,
        query: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        chosen = status.value if status else "live"
        statuses = {"live": tuple(LIVE_STATUSES), "all": STATUSES}.get(chosen, (chosen,))
        label = {"live": "Live tasks", "all": "All tasks"}.get(
            chosen, f"{STATUS_LABELS.get(chosen, chosen)} tasks"
        )
        if member is not None:
            label += f" of {member.display_name}"
        if query:
            label += f" matching “{query}”"
        await self.send_list(
            interaction,
            label,
            assignee_id=member.id if member else None,
            statuses=statuses,
            query=query,
        )

    @app_commands.command(name="mine", description="Your open, in-progress and blocked tasks")
    async def mine(self, interaction: discord.Interaction) -> None:
        await self.send_list(
            interaction,
            "Your tasks",
            assignee_id=interaction.user.id,
            statuses=tuple(LIVE_STATUSES),
            query=None,
            empty="Nothing assigned to you is open, in progress or blocked. Unassigned tasks "
            "in `/task list` can be claimed.",
        )

    @app_commands.command(
        name="show", description="Show a task's card with its history and comments"
    )
    @app_commands.describe(task=TASK_OPTION)
    @app_commands.autocomplete(task=task_autocomplete)
    async def show(self, interaction: discord.Interaction, task: str) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        found = await self.tasks_store.resolve(guild_id, task)
        config = await self.bot.guild_settings.get(guild_id)
        embed = detail_embed(
            found,
            await self.tasks_store.history(found.id),
            await self.tasks_store.comments(found.id),
            self.bot.clock.now(),
            config.tz,
        )
        await answer(interaction, embed=embed, view=card_view(found), ephemeral=True)

    # -- changes ------------------------------------------------------------------------------------
    @app_commands.command(name="assign", description="Give a task to a member (creator or manager)")
    @app_commands.describe(task=TASK_OPTION, member="Who does it from now on")
    @app_commands.autocomplete(task=task_autocomplete)
    async def assign(
        self, interaction: discord.Interaction, task: str, member: discord.Member
    ) -> None:
        refuse_bots(member)
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        found = await self.tasks_store.resolve(guild_id, task)
        actor, config = await self.actor_for(guild_id, interaction.user)
        updated = await self.tasks_store.assign(
            guild_id, found.id, actor, member.id, self.bot.clock.now()
        )
        await self.cards.retire_dm_cards(updated, found.assignee_id, actor.user_id, config)
        await self.cards.publish(updated)
        await self.cards.notify_assignee(updated, actor.user_id, "assigned you a task.", config)
        await self.cards.tell_unassigned(found.assignee_id, actor.user_id, [updated], member.id)
        await answer(
            interaction, f"Task #{updated.id} is now assigned to {member.mention}.", ephemeral=True
        )

    @app_commands.command(name="claim", description="Take an unassigned task")
    @app_commands.describe(task=TASK_OPTION)
    @app_commands.autocomplete(task=task_autocomplete)
    async def claim(self, interaction: discord.Interaction, task: str) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        found = await self.tasks_store.resolve(guild_id, task)
        actor, _ = await self.actor_for(guild_id, interaction.user)
        updated = await self.tasks_store.claim(guild_id, found.id, actor, self.bot.clock.now())
        await self.cards.publish(updated)
        await answer(interaction, f"Task #{updated.id} is yours now.", ephemeral=True)

    @app_commands.command(
        name="status", description="Move a task along: open, in progress, blocked, done…"
    )
    @app_commands.describe(
        task=TASK_OPTION, status="The new status", note="Why, or what was done (optional)"
    )
    @app_commands.autocomplete(task=task_autocomplete)
    @app_commands.choices(status=STATUS_CHOICES)
    async def status(
        self,
        interaction: discord.Interaction,
        task: str,
        status: app_commands.Choice[str],
        note: app_commands.Range[str, 1, 500] | None = None,
    ) -> None:
        await self.change_status(interaction, task, status.value, note)

    @app_commands.command(name="cancel", description="Cancel a task (creator or manager)")
    @app_commands.describe(task=TASK_OPTION, reason="Why it is no longer needed (optional)")
    @app_commands.autocomplete(task=task_autocomplete)
    async def cancel(
        self,
        interaction: discord.Interaction,
        task: str,
        reason: app_commands.Range[str, 1, 500] | None = None,
    ) -> None:
        await self.change_status(interaction, task, "cancelled", reason)

    async def change_status(
        self, interaction: discord.Interaction, task: str, status: str, note: str | None
    ) -> None:
        guild_id = guild_id_of(interaction)
        if status == "blocked" and not (note and note.strip()):
            await self.ask_block_reason(interaction, await self.tasks_store.resolve(guild_id, task))
            return
        await acknowledge_later(interaction)
        found = await self.tasks_store.resolve(guild_id, task)
        actor, config = await self.actor_for(guild_id, interaction.user)
        change = await self.tasks_store.set_status(
            guild_id, found.id, actor, status, self.bot.clock.now(), note
        )
        text = await self.cards.after_status(
            change,
            config,
            interaction.channel,  # type: ignore[arg-type]
            actor_id=actor.user_id,
            note=note,
        )
        await self.answer_with_next(interaction, change, text, actor, config)

    async def answer_with_next(
        self,
        interaction: discord.Interaction,
        change: StatusChange,
        text: str,
        actor: Actor,
        config: GuildConfig,
    ) -> None:
        """Answer a status change; a next occurrence due on a holiday gets the warning."""
        warning, view = ("", None)
        if change.next_occurrence is not None:
            warning, view = await holiday_warning(
                self.bot, change.next_occurrence, actor, config, self.bot.clock.now()
            )
        message = await answer(interaction, text + warning, view=view, ephemeral=True)
        if view is not None:
            view.message = message

    @app_commands.command(
        name="edit", description="Edit a task's title, description, due date or priority"
    )
    @app_commands.describe(task=TASK_OPTION)
    @app_commands.autocomplete(task=task_autocomplete)
    async def edit(self, interaction: discord.Interaction, task: str) -> None:
        guild_id = guild_id_of(interaction)
        found = await self.tasks_store.resolve(guild_id, task)
        actor, _ = await self.actor_for(guild_id, interaction.user)
        check_can_edit(actor, found)  # refuse before the form; checked again on save
        await interaction.response.send_modal(TaskEditModal(found))

    async def submit_edit(
        self,
        interaction: discord.Interaction,
        before: Task,
        *,
        title: str,
        description: str,
        due: str,
        priority: str,
        repeat: str,
    ) -> None:
        await acknowledge_later(interaction)
        actor, config = await self.actor_for(before.guild_id, interaction.user)
        now = self.bot.clock.now()
        changes = changes_from_form(
            before,
            title=title,
            description=description,
            due=due,
            priority=priority,
            repeat=repeat,
            now=now,
            tz=config.tz,
        )
        if changes_are_empty(changes):
            raise UserError(f"Nothing changed on task #{before.id}.")
        task = await self.tasks_store.edit(before.guild_id, before.id, actor, changes, now)
        await self.cards.publish(task)
        due_text = f" Due {due_words(task)}." if changes.set_due and task.due_date else ""
        warning, view = (
            await holiday_warning(self.bot, task, actor, config, now)
            if changes.set_due
            else ("", None)
        )
        message = await answer(
            interaction,
            f"Saved task #{task.id}.{due_text}{warning}",
            embed=card_embed(task, now, config.tz),
            view=view,
            ephemeral=True,
        )
        if view is not None:
            view.message = message

    @app_commands.command(name="comment", description="Add a comment to a task")
    @app_commands.describe(task=TASK_OPTION, text="Your comment (up to 1000 characters)")
    @app_commands.autocomplete(task=task_autocomplete)
    async def comment(
        self, interaction: discord.Interaction, task: str, text: app_commands.Range[str, 1, 1000]
    ) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        found = await self.tasks_store.resolve(guild_id, task)
        actor, _ = await self.actor_for(guild_id, interaction.user)
        saved = await self.tasks_store.comment(
            guild_id, found.id, actor, text, self.bot.clock.now()
        )
        for user_id in dict.fromkeys((found.assignee_id, found.creator_id)):
            if user_id is not None and user_id != actor.user_id:
                try:
                    await self.cards.send_dm(
                        user_id,
                        None,
                        content=clip(
                            f"💬 <@{actor.user_id}> commented on task #{found.id} "
                            f"**{escape_markdown(found.title)}**:\n{escape_markdown(saved.body)}",
                            2000,
                        ),
                    )
                except discord.HTTPException:
                    log.warning("could not DM a comment on task %s", found.id, exc_info=True)
        await answer(interaction, f"Comment added to task #{found.id}.", ephemeral=True)

    # -- boards -------------------------------------------------------------------------------------
    @app_commands.command(
        name="board", description="Post the live task board here (moves it to the bottom)"
    )
    async def board(self, interaction: discord.Interaction) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        channel = interaction.channel
        if channel is None or not isinstance(channel, discord.abc.Messageable):
            raise UserError("I can only post a board in a text channel.")
        config = await self.bot.guild_settings.get(guild_id)
        actor = actor_of(config, interaction.user)
        # Checked before posting (and again when saving): a member may only move a board.
        if not actor.is_manager and await self.tasks_store.board(channel.id) is None:
            raise PermissionDenied(task_board.NEW_BOARD_MANAGERS_ONLY)
        pages = await self.boards.post(guild_id, channel, actor)
        spread = f" in {plural(pages, 'message')}" if pages > 1 else ""
        await answer(
            interaction,
            f"Board posted{spread}. It updates itself whenever a task changes.",
            ephemeral=True,
        )

    async def clicked_task(self, interaction: discord.Interaction, task_id: int) -> Task:
        task = await self.tasks_store.get(task_id, interaction.guild_id)
        if interaction.guild_id is None and not self.is_member(task.guild_id, interaction.user):
            # A card in a DM names its task by id, and a custom id can be forged: to someone
            # who is not in the task's server, the task does not exist.
            raise NotFound(f"There is no task #{task_id}.")
        return task

    # -- blocking -----------------------------------------------------------------------------------
    async def ask_block_reason(self, interaction: discord.Interaction, task: Task) -> None:
        """Block asks why first (a short form); a block that would be refused is refused
        before the form, not after it was filled in. Checked again when saved."""
        actor, _ = await self.actor_for(task.guild_id, interaction.user)
        check_can_change_status(actor, task, "blocked")
        check_transition(task, "blocked")
        await interaction.response.send_modal(BlockReasonModal(task))

    async def submit_block(
        self, interaction: discord.Interaction, task_id: int, reason: str
    ) -> None:
        """The block form: block with the reason, show it on every card, tell the creator."""
        if not reason.strip():
            raise UserError("Say why the task is blocked, so its creator knows what it waits for.")
        await acknowledge_later(interaction)
        task = await self.clicked_task(interaction, task_id)
        actor, config = await self.actor_for(task.guild_id, interaction.user)
        change = await self.tasks_store.set_status(
            task.guild_id, task.id, actor, "blocked", self.bot.clock.now(), reason
        )
        text = await self.cards.after_status(
            change,
            config,
            interaction.channel,  # type: ignore[arg-type]
            actor_id=actor.user_id,
            note=change.task.block_reason,
        )
        await answer(interaction, text, ephemeral=True)

    # -- card buttons -------------------------------------------------------------------------------
    async def click(self, interaction: discord.Interaction, action: str, task_id: int) -> None:
        """A card button: check against the stored task, change it, edit the clicked card
        and every other copy. Refusals are explained ephemerally and change nothing. The click
        is answered by editing the card directly (UPDATE_MESSAGE), or acknowledged first
        (DEFERRED_UPDATE_MESSAGE) when the work takes longer than the answer budget
        (acknowledge_later). A click Discord no longer takes an answer for is still carried
        out (see answer_in_time).
        Block answers with a form asking why instead."""
        if action == "block":
            await self.ask_block_reason(interaction, await self.clicked_task(interaction, task_id))
            return
        answered = await answer_in_time(acknowledge_later(interaction, thinking=False))
        task = await self.clicked_task(interaction, task_id)
        actor, config = await self.actor_for(task.guild_id, interaction.user)
        now = self.bot.clock.now()
        change: StatusChange | None = None
        if action == "claim":
            task = await self.tasks_store.claim(task.guild_id, task.id, actor, now)
        else:
            change = await self.tasks_store.set_status(
                task.guild_id, task.id, actor, BUTTON_STATUS[action], now
            )
            task = change.task
        answered = answered and await answer_in_time(
            edit_clicked(interaction, embed=card_embed(task, now, config.tz), view=card_view(task))
        )
        # Unanswered, the clicked card was not edited: publishing edits it with the others.
        clicked = interaction.message.id if answered and interaction.message else None
        if change is None:
            await self.cards.publish(task, skip_message_id=clicked)
            return
        text = await self.cards.after_status(
            change,
            config,
            interaction.channel,  # type: ignore[arg-type]
            actor_id=actor.user_id,
            skip=clicked,
        )
        if change.next_occurrence is not None and answered:
            await self.answer_with_next(interaction, change, text, actor, config)
