"""Buttons and modals of the task cog: the card's DynamicItem buttons (they keep working after a
restart), the pager of task lists, the create/edit modals and their fix-and-resubmit view."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import discord

from concord.cogs.common import OwnerView, PagerView, answer, field_input, modal_field, report_error
from concord.cogs.tasks.embeds import PER_PAGE, list_embed
from concord.core.tasks import (
    DESCRIPTION_MAX,
    NOTE_MAX,
    TITLE_MAX,
    Task,
    format_due,
    page_count,
)
from concord.errors import NotFound, PermissionDenied, UserError

if TYPE_CHECKING:
    from concord.cogs.tasks.cog import Tasks

log = logging.getLogger(__name__)

BUTTONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "start": ("Start", discord.ButtonStyle.primary),
    "done": ("Done", discord.ButtonStyle.success),
    "block": ("Block", discord.ButtonStyle.secondary),
    "claim": ("Claim", discord.ButtonStyle.primary),
    "reopen": ("Reopen", discord.ButtonStyle.secondary),
}
LIST_TIMEOUT = 600.0


def tasks_cog(interaction: discord.Interaction) -> Tasks:
    cog = interaction.client.get_cog("Tasks")  # type: ignore[attr-defined]
    if cog is None:
        raise RuntimeError("the Tasks cog is not loaded")
    return cog  # type: ignore[return-value]


class TaskButton(
    discord.ui.DynamicItem[discord.ui.Button],
    # Up to 18 digits: any longer is no SQLite integer, so no task (answered as "no longer works").
    template=r"task:(?P<action>start|done|block|claim|reopen):(?P<id>\d{1,18})",
):
    """A card button; everyone who sees the card can click it, so the action re-checks the
    permission against the stored task when clicked."""

    def __init__(self, action: str, task_id: int) -> None:
        label, style = BUTTONS[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, custom_id=f"task:{action}:{task_id}")
        )
        self.action = action
        self.task_id = task_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Button,
        match: re.Match[str],
        /,
    ) -> TaskButton:
        return cls(match["action"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await tasks_cog(interaction).click(interaction, self.action, self.task_id)
        except Exception as error:
            await report_error(interaction, error)


def card_view(task: Task) -> discord.ui.View:
    """Start / Done / Block while live (as the status allows), Claim when unassigned, Reopen
    when closed."""
    view = discord.ui.View(timeout=None)
    if task.is_live:
        actions = ["start"] if task.status in ("open", "blocked") else ["block"]
        actions.append("done")
        if task.assignee_id is None:
            actions.append("claim")
    else:
        actions = ["reopen"]
    for action in actions:
        view.add_item(TaskButton(action, task.id))
    return view


def task_list_view(
    owner_id: int,
    title: str,
    tasks: Sequence[Task],
    now: datetime,
    tz: ZoneInfo,
    empty: str = "No tasks match.",
) -> PagerView:
    """◀ Previous / Next ▶ through a task list, 10 a page; only for whoever ran the command."""
    shown = list(tasks)

    def render(page: int) -> discord.Embed:
        return list_embed(title, shown, page, now, tz, empty)

    pages = page_count(len(shown), PER_PAGE)
    return PagerView(owner_id, pages, render, module="task", timeout=LIST_TIMEOUT)


class TaskModal(discord.ui.Modal):
    """The fields a task form has; the create and edit modals prefill them differently."""

    task_title: discord.ui.Label[Any] = modal_field(
        "Title", custom_id="title", max_length=TITLE_MAX
    )
    description: discord.ui.Label[Any] = modal_field(
        "Description",
        custom_id="description",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=DESCRIPTION_MAX,
    )
    due: discord.ui.Label[Any] = modal_field(
        "Due (e.g. fri 17:00, 3 Dec, tomorrow)",
        custom_id="due",
        required=False,
        max_length=40,
        placeholder="empty: no due date",
    )
    priority: discord.ui.Label[Any] = modal_field(
        "Priority (low, normal, high, urgent)",
        custom_id="priority",
        required=False,
        max_length=12,
        default="normal",
    )
    repeat: discord.ui.Label[Any] = modal_field(
        "Repeat: none/daily/weekdays/weekly/monthly",
        custom_id="repeat",
        required=False,
        max_length=12,
        default="none",
    )

    # The same form, empty, as its subclass first showed it (set by each subclass).
    remake: Callable[[], TaskModal]

    def again(self) -> TaskModal:
        """A fresh copy of this form holding what was typed into it."""
        form = self.remake()
        for mine, theirs in zip(self.inputs(), form.inputs(), strict=True):
            theirs.default = mine.value or None
        return form

    def inputs(self) -> list[discord.ui.TextInput[Any]]:
        fields = [self.task_title, self.description, self.due, self.priority, self.repeat]
        return [field_input(label) for label in fields]

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        """A refused form (a due date in the past, an unknown priority…) keeps what was typed:
        one click opens it again, as the DAR's report form does. Refusals that no edit can
        fix (permissions, a task gone) are plain errors."""
        if not isinstance(error, UserError) or isinstance(error, PermissionDenied | NotFound):
            await report_error(interaction, error)
            return
        view = RetryTaskView(interaction.user.id, self)
        try:
            view.message = await answer(interaction, str(error)[:2000], view=view)
        except discord.HTTPException:
            log.warning("could not offer to fix a refused task form", exc_info=True)


class RetryTaskView(OwnerView):
    """Under a refused task form: open it again with everything that was typed."""

    def __init__(self, owner_id: int, form: TaskModal) -> None:
        super().__init__(owner_id)
        self.form = form

    @discord.ui.button(label="Fix and resubmit", style=discord.ButtonStyle.primary)
    async def fix(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(self.form.again())


class TaskCreateModal(TaskModal, title="New task"):
    """A new task, prefilled (from a chat message, a DAR blocker…); assigned to
    ``assignee_id`` or to nobody."""

    def __init__(
        self,
        *,
        title: str = "",
        description: str = "",
        assignee_id: int | None = None,
        source_url: str | None = None,
    ) -> None:
        super().__init__(custom_id="task:create")
        field_input(self.task_title).default = title[:TITLE_MAX] or None
        field_input(self.description).default = description[:DESCRIPTION_MAX] or None
        self.assignee_id = assignee_id
        self.source_url = source_url
        self.remake = lambda: TaskCreateModal(assignee_id=assignee_id, source_url=source_url)

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await tasks_cog(interaction).submit_create(
            interaction,
            title=field_input(self.task_title).value,
            description=field_input(self.description).value,
            due=field_input(self.due).value,
            priority=field_input(self.priority).value,
            repeat=field_input(self.repeat).value,
            assignee_id=self.assignee_id,
            source_url=self.source_url,
        )


class TaskEditModal(TaskModal, title="Edit task"):
    """Prefilled with the task as it is now; only what the user changes is saved."""

    def __init__(self, task: Task) -> None:
        super().__init__(custom_id=f"task:edit:{task.id}")
        self.task = task
        field_input(self.task_title).default = task.title
        field_input(self.description).default = task.description or None
        field_input(self.due).default = (
            format_due(task.due_date, task.due_time) if task.due_date else None
        )
        field_input(self.priority).default = task.priority
        field_input(self.repeat).default = task.repeat
        self.remake = lambda: TaskEditModal(task)

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await tasks_cog(interaction).submit_edit(
            interaction,
            self.task,
            title=field_input(self.task_title).value,
            description=field_input(self.description).value,
            due=field_input(self.due).value,
            priority=field_input(self.priority).value,
            repeat=field_input(self.repeat).value,
        )


class BlockReasonModal(discord.ui.Modal, title="Why is it blocked?"):
    """Block asks for a reason: it shows on the card and goes to the creator."""

    reason: discord.ui.Label[Any] = modal_field(
        "Reason",
        custom_id="reason",
        max_length=NOTE_MAX,
        placeholder="e.g. Waiting for the supplier's quote",
    )

    def __init__(self, task: Task) -> None:
        # A modal title is at most 45 characters.
        super().__init__(
            title=f"Why is task #{task.id} blocked?"[:45], custom_id=f"task:blockreason:{task.id}"
        )
        self.task_id = task.id

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await tasks_cog(interaction).submit_block(
            interaction, self.task_id, field_input(self.reason).value
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await report_error(interaction, error)
