"""Buttons and modals of check-ins (issue 21): the form built from a check-in's questions, the
questions editor (one line per question: five lines, the most a modal holds), the persistent
**Fill in** button of a check-in's DM and the **Skip today** button of the reminder."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import TYPE_CHECKING, Any

import discord

from concord.cogs.common import FieldInput, modal_field, report_error
from concord.cogs.dar.views import custom_id_day
from concord.core.checkins import (
    ANSWER_MAX,
    MAX_QUESTIONS,
    SHORT_MAX,
    SKIP_REASON_MAX,
    CheckIn,
    Question,
)
from concord.core.dar import short_day
from concord.core.text import clip
from concord.errors import UserError

if TYPE_CHECKING:
    from concord.cogs.dar.cog import Dar

log = logging.getLogger(__name__)

QUESTIONS_HELP = "Label; short|long|number unit|choice a/b/c; required|optional; role"


def dar_cog(interaction: discord.Interaction) -> Dar:
    cog = interaction.client.get_cog("Dar")  # type: ignore[attr-defined]
    if cog is None:
        raise RuntimeError("the DAR cog is not loaded")
    return cog  # type: ignore[return-value]


def _input(question: Question, value: str | None) -> discord.ui.Label[Any]:
    limit = SHORT_MAX if question.kind in ("short", "number", "choice") else ANSWER_MAX
    style = discord.TextStyle.paragraph if question.kind == "long" else discord.TextStyle.short
    label = modal_field(
        question.label,
        custom_id=f"q{question.id}",
        style=style,
        required=question.required,
        max_length=min(limit, 4000),
        placeholder=question.placeholder or None,
    )
    component = label.component
    assert isinstance(component, FieldInput)
    text = value or ""
    if style is discord.TextStyle.short:
        # A short field holds one line (Discord refuses a multi-line value in it): a prefilled
        # list of done tasks goes on one line.
        text = " · ".join(
            line.strip().removeprefix("- ") for line in text.splitlines() if line.strip()
        )
    component.default = text[:limit] or None
    return label


class CheckinModal(discord.ui.Modal):
    """A check-in's form: one field per question (at most five)."""

    def __init__(
        self,
        guild_id: int,
        checkin: CheckIn,
        day: date,
        values: dict[int, str],
        *,
        editing: bool,
    ) -> None:
        verb = "Edit" if editing else clip(checkin.name, 30)
        super().__init__(
            title=clip(f"{verb} — {short_day(day)}", 45),
            custom_id=f"dar:checkin-form:{checkin.id}:{day.isoformat()}",
        )
        self.guild_id = guild_id
        self.checkin = checkin
        self.day = day
        self.fields: dict[int, discord.ui.Label[Any]] = {}
        for question in checkin.questions[:MAX_QUESTIONS]:
            field = _input(question, values.get(question.id))
            self.fields[question.id] = field
            self.add_item(field)

    def values(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for question_id, field in self.fields.items():
            component = field.component
            assert isinstance(component, discord.ui.TextInput)
            out[question_id] = component.value
        return out

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await dar_cog(interaction).submit_checkin(interaction, self)

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await report_error(interaction, error)


class QuestionsModal(discord.ui.Modal):
    """Five lines, one question each: ``Label; kind; required|optional; role``."""

    def __init__(self, guild_id: int, checkin: CheckIn, lines: list[str] | None = None) -> None:
        super().__init__(
            title=clip(f"Questions — {checkin.name}", 45),
            custom_id=f"dar:questions:{checkin.id}",
        )
        self.guild_id = guild_id
        self.checkin = checkin
        current = lines or [q.spec() for q in checkin.questions]
        self.lines: list[discord.ui.Label[Any]] = []
        for position in range(1, MAX_QUESTIONS + 1):
            field = modal_field(
                f"Question {position}",
                description=QUESTIONS_HELP if position == 1 else None,
                custom_id=f"question{position}",
                required=position == 1,
                # Room for the longest line a saved question shows (spec(): a 45-character
                # label and ten 40-character choices): a default over max_length is refused.
                max_length=600,
                placeholder="e.g. Mood; choice 1/2/3/4/5; optional" if position > 1 else None,
            )
            component = field.component
            assert isinstance(component, FieldInput)
            component.default = current[position - 1] if position <= len(current) else None
            self.lines.append(field)
            self.add_item(field)

    def values(self) -> list[str]:
        out = []
        for field in self.lines:
            component = field.component
            assert isinstance(component, discord.ui.TextInput)
            out.append(component.value)
        return out

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        await dar_cog(interaction).save_questions(interaction, self)

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await report_error(interaction, error)


class CheckinButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"dar:checkin:(?P<id>\d{1,18}):(?P<day>\d{4}-\d{2}-\d{2})",
):
    """**Fill in** on a check-in's DM: that check-in's form for that day."""

    def __init__(self, checkin_id: int, day: date | None, label: str = "Fill in") -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:80],
                style=discord.ButtonStyle.primary,
                emoji="📝",
                custom_id=f"dar:checkin:{checkin_id}:{(day or date.min).isoformat()}",
            )
        )
        self.checkin_id = checkin_id
        self.day = day

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Button,
        match: re.Match[str],
        /,
    ) -> CheckinButton:
        day = custom_id_day(match["day"])
        return cls(int(match["id"]), day)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            if self.day is None:
                raise UserError("That button is not one of mine. Use `/dar submit` instead.")
            await dar_cog(interaction).open_checkin_by_id(interaction, self.checkin_id, self.day)
        except Exception as error:
            await report_error(interaction, error)


class EntryBlockerButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"dar:entry-blocker:(?P<id>\d{1,18})",
):
    """**Make task** under a posted check-in report whose blockers question is answered
    (managers; re-checked on click)."""

    def __init__(self, entry_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Make task",
                style=discord.ButtonStyle.secondary,
                emoji="🧱",
                custom_id=f"dar:entry-blocker:{entry_id}",
            )
        )
        self.entry_id = entry_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Button,
        match: re.Match[str],
        /,
    ) -> EntryBlockerButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await dar_cog(interaction).make_task_from_entry(interaction, self.entry_id)
        except Exception as error:
            await report_error(interaction, error)


def entry_view(entry_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(EntryBlockerButton(entry_id))
    return view


class SkipButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"dar:skip:(?P<guild>\d{1,20}):(?P<day>\d{4}-\d{2}-\d{2})",
):
    """**Skip today** on the reminder: recorded as skipped (with an optional reason), not
    missing."""

    def __init__(self, guild_id: int, day: date | None) -> None:
        super().__init__(
            discord.ui.Button(
                label="Skip today",
                style=discord.ButtonStyle.secondary,
                emoji="⏭️",
                custom_id=f"dar:skip:{guild_id}:{(day or date.min).isoformat()}",
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
    ) -> SkipButton:
        day = custom_id_day(match["day"])
        return cls(int(match["guild"]), day)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            if self.day is None:
                raise UserError("That button is not one of mine.")
            await interaction.response.send_modal(SkipModal(self.guild_id, self.day))
        except Exception as error:
            await report_error(interaction, error)


class SkipModal(discord.ui.Modal):
    reason: discord.ui.Label[Any] = modal_field(
        "Reason (optional)",
        custom_id="reason",
        required=False,
        max_length=SKIP_REASON_MAX,
        placeholder="e.g. at the client's all day",
    )

    def __init__(self, guild_id: int, day: date) -> None:
        super().__init__(
            title=f"Skip the report — {short_day(day)}",
            custom_id=f"dar:skip-form:{guild_id}:{day.isoformat()}",
        )
        self.guild_id = guild_id
        self.day = day

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        component = self.reason.component
        assert isinstance(component, discord.ui.TextInput)
        await dar_cog(interaction).skip_day(interaction, self.guild_id, self.day, component.value)

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:
        await report_error(interaction, error)


def reminder_view(guild_id: int, day: date) -> discord.ui.View:
    """The reminder DM's buttons: Submit DAR and Skip today."""
    from concord.cogs.dar.views import SubmitDarButton

    view = discord.ui.View(timeout=None)
    view.add_item(SubmitDarButton(guild_id, day))
    view.add_item(SkipButton(guild_id, day))
    return view


def checkin_view(checkin_id: int, day: date) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CheckinButton(checkin_id, day))
    return view
