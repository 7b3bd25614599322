"""Buttons and modals of the DAR cog: the persistent **Submit DAR** button (panels and reminder
DMs) and **Make task** buttons (summaries) as DynamicItems that work after a restart, the report
modal, and the short-lived views (fix-and-resubmit, post the summary)."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import TYPE_CHECKING, Any

import discord

from concord.cogs.common import OwnerView, field_input, modal_field, report_error
from concord.cogs.tasks.views import TaskCreateModal
from concord.core.dar import BLOCKERS_MAX, DONE_MAX, PLAN_MAX, short_day
from concord.core.embed_pages import ButtonSpec
from concord.errors import UserError

if TYPE_CHECKING:
    from concord.cogs.dar.cog import Dar
    from concord.db.dar import Prefill

log = logging.getLogger(__name__)


def dar_cog(interaction: discord.Interaction) -> Dar:
    cog = interaction.client.get_cog("Dar")  # type: ignore[attr-defined]
    if cog is None:
        raise RuntimeError("the DAR cog is not loaded")
    return cog  # type: ignore[return-value]


def custom_id_day(text: str) -> date | None:
    """The day a button's custom id carries; None for a forged one naming no such day (the
    click is then answered as a user error)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def submit_custom_id(guild_id: int | None = None, day: date | None = None) -> str:
    """``dar:submit`` (a panel: the server it is in, the member's today) or
    ``dar:submit:<guild>:<date>`` (a reminder DM: that server, that day)."""
    if guild_id is None or day is None:
        return "dar:submit"
    return f"dar:submit:{guild_id}:{day.isoformat()}"


class SubmitDarButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"dar:submit(?::(?P<guild>\d+):(?P<day>\d{4}-\d{2}-\d{2}))?",
):
    """Opens the report modal for whoever clicks it."""

    def __init__(self, guild_id: int | None = None, day: date | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label="Submit DAR",
                style=discord.ButtonStyle.primary,
                emoji="📝",
                custom_id=submit_custom_id(guild_id, day),
            )
        )
        self.guild_id = guild_id
        self.day = day

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Button,
        match: re.Match[str],
        /,
    ) -> SubmitDarButton:
        if match["guild"] is None:
            return cls()
        day = custom_id_day(match["day"])
        return cls(int(match["guild"]), day) if day is not None else cls(0)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            if self.guild_id == 0:
                raise UserError("That button is not one of mine. Use `/dar submit` instead.")
            guild_id = self.guild_id or interaction.guild_id
            if guild_id is None:  # a panel's button, forged into a DM
                raise UserError("That button only works in a server. Use `/dar submit` there.")
            await dar_cog(interaction).open_report_modal(interaction, guild_id, self.day)
        except Exception as error:
            await report_error(interaction, error)


def submit_view(guild_id: int | None = None, day: date | None = None) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(SubmitDarButton(guild_id, day))
    return view


class BlockerTaskButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"dar:blocker:(?P<id>\d{1,18})",
):
    """**Make task** under a summary's report with blockers (managers; re-checked on click)."""

    def __init__(self, report_id: int, label: str = "Make task") -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:80],
                style=discord.ButtonStyle.secondary,
                emoji="🧱",
                custom_id=f"dar:blocker:{report_id}",
            )
        )
        self.report_id = report_id

    @classmethod
    def from_spec(cls, spec: ButtonSpec) -> BlockerTaskButton:
        return cls(int(spec.custom_id.rsplit(":", 1)[1]), spec.label)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Button,
        match: re.Match[str],
        /,
    ) -> BlockerTaskButton:
        return cls(int(match["id"]), item.label or "Make task")

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await dar_cog(interaction).make_task_from_blocker(interaction, self.report_id)
        except Exception as error:
            await report_error(interaction, error)


class BlockerTaskModal(TaskCreateModal, title="Task from a blocker"):
    """The task form prefilled from a report's blockers; the task is linked to the report."""

    def __init__(
        self,
        *,
        report_id: int,
        title: str,
        description: str,
        assignee_id: int,
        source_url: str | None,
    ) -> None:
        super().__init__(
            title=title, description=description, assignee_id=assignee_id, source_url=source_url
        )
        self.report_id = report_id
        self.remake = lambda: BlockerTaskModal(
            report_id=report_id,
            title="",
            description="",
            assignee_id=assignee_id,
            source_url=source_url,
        )

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await dar_cog(interaction).submit_blocker_task(interaction, self)


class ReportModal(discord.ui.Modal):
    """Done / Plan / Blockers / Hours, prefilled (from tasks when new, the report when editing)."""

    done: discord.ui.Label[Any] = modal_field(
        "Done",
        custom_id="done",
        style=discord.TextStyle.paragraph,
        max_length=DONE_MAX,
        placeholder="What you worked on today",
    )
    plan: discord.ui.Label[Any] = modal_field(
        "Plan",
        custom_id="plan",
        style=discord.TextStyle.paragraph,
        max_length=PLAN_MAX,
        placeholder="What comes next",
    )
    blockers: discord.ui.Label[Any] = modal_field(
        "Blockers",
        custom_id="blockers",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=BLOCKERS_MAX,
        placeholder="Anything in your way (leave empty if nothing)",
    )
    hours: discord.ui.Label[Any] = modal_field(
        "Hours",
        custom_id="hours",
        required=False,
        max_length=10,
        placeholder="e.g. 7.5 or 7:30 (optional)",
    )

    def __init__(self, guild_id: int, prefill: Prefill) -> None:
        verb = "Edit report" if prefill.editing else "Daily report"
        super().__init__(
            title=f"{verb} — {short_day(prefill.day)}",
            custom_id=f"dar:report:{guild_id}:{prefill.day.isoformat()}",
        )
        self.guild_id = guild_id
        self.day = prefill.day
        field_input(self.done).default = prefill.done[:DONE_MAX] or None
        field_input(self.plan).default = prefill.plan[:PLAN_MAX] or None
        field_input(self.blockers).default = prefill.blockers[:BLOCKERS_MAX] or None
        field_input(self.hours).default = prefill.hours[:10] or None

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await dar_cog(interaction).submit_report(
            interaction,
            self.guild_id,
            self.day,
            done=field_input(self.done).value,
            plan=field_input(self.plan).value,
            blockers=field_input(self.blockers).value,
            hours=field_input(self.hours).value,
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await report_error(interaction, error)


class RetryReportView(OwnerView):
    """After a refused report: reopen the modal with what the member typed, nothing lost."""

    def __init__(self, owner_id: int, guild_id: int, prefill: Prefill) -> None:
        super().__init__(owner_id)
        self.guild_id = guild_id
        self.prefill = prefill

    @discord.ui.button(label="Fix and resubmit", style=discord.ButtonStyle.primary)
    async def fix(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(ReportModal(self.guild_id, self.prefill))


class PostSummaryView(OwnerView):
    """Under a manager's /dar summary: post the same summary for everyone."""

    def __init__(self, owner_id: int, guild_id: int, day: date, label: str) -> None:
        super().__init__(owner_id)
        self.guild_id = guild_id
        self.day = day
        self.post.label = label[:80]

    @discord.ui.button(label="Post", style=discord.ButtonStyle.success)
    async def post(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await dar_cog(interaction).post_summary_for(interaction, self, self.day)
