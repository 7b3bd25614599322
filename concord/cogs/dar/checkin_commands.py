"""/dar checkin …, /dar questions, /dar remind and the check-in forms (issue 21), mixed into the
``Dar`` cog: several check-ins per office, each with its own questions, schedule, participants
and way of posting; each member's own reminder time and workdays; Skip today."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from concord.cogs.common import acknowledge_later, actor_of, answer, guild_id_of
from concord.cogs.dar.checkin_views import CheckinModal, QuestionsModal, entry_view
from concord.cogs.tasks.views import TaskCreateModal
from concord.core.checkins import (
    CheckIn,
    check_answer,
    check_name,
    check_skip_reason,
    parse_days,
    parse_questions,
)
from concord.core.dar import format_day
from concord.core.dates import parse_date
from concord.core.schedule import describe_workdays, format_hhmm, parse_hhmm
from concord.core.settings import GuildConfig
from concord.core.text import clip, escape_markdown
from concord.db.dar.checkins import CheckinChanges, CheckinManager, Entry
from concord.errors import UserError

if TYPE_CHECKING:
    from concord.bot import ConcordBot
    from concord.db.dar import DarManager

log = logging.getLogger(__name__)

SCHEDULE_CHOICES = [
    app_commands.Choice(name="Daily (on the given days)", value="daily"),
    app_commands.Choice(name="Weekly (one day a week)", value="weekly"),
    app_commands.Choice(name="Once (on a date)", value="once"),
]
POST_CHOICES = [
    app_commands.Choice(name="A summary at the summary time", value="summary"),
    app_commands.Choice(name="Each report as it arrives", value="each"),
    app_commands.Choice(name="Each report as it arrives, and a summary", value="each+summary"),
    app_commands.Choice(name="Each report in a thread per day", value="thread"),
    app_commands.Choice(
        name="Each report in a thread per day, and a summary", value="thread+summary"
    ),
]
ENTRY_COLOUR = 0x5865F2


def posting(value: str | None) -> tuple[str | None, bool | None]:
    """A ``post`` choice → (post_each, post_summary)."""
    if value is None:
        return None, None
    each = (
        "channel" if value.startswith("each") else "thread" if value.startswith("thread") else "off"
    )
    return each, value not in ("each", "thread")


def entry_embed(checkin: CheckIn, entry: Entry, name: str) -> discord.Embed:
    """A check-in report as posted in its channel (and edited in place)."""
    embed = discord.Embed(
        title=clip(f"{escape_markdown(checkin.name)} — {escape_markdown(name)}", 256),
        description=format_day(entry.day) + (" · late" if entry.late else ""),
        colour=ENTRY_COLOUR,
    )
    for question in checkin.questions:
        value = entry.answers.get(question.id)
        if value is None:
            continue
        shown = f"{value} {question.unit}" if question.kind == "number" and question.unit else value
        embed.add_field(
            name=clip(escape_markdown(question.label), 256),
            value=clip(escape_markdown(shown), 1024),
            inline=False,
        )
    if entry.edits:
        embed.set_footer(text=f"Edited {entry.edits} time{'s' if entry.edits != 1 else ''}")
    return embed


class CheckinCommands(commands.Cog):
    """The check-in commands of ``/dar`` (mixed into the cog; ``self`` is the ``Dar`` cog)."""

    bot: ConcordBot
    dar_store: DarManager
    checkins: CheckinManager
    thread_locks: dict[int, asyncio.Lock]

    checkin = app_commands.Group(
        name="checkin", description="Check-ins: stand-ups with their own questions and schedule"
    )

    async def checkin_names(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        names = await self.checkins.names(interaction.guild_id)
        wanted = current.lower().strip()
        return [app_commands.Choice(name=n, value=n) for n in names if wanted in n.lower()][:25]

    def _changes(
        self,
        *,
        name: str | None,
        channel: discord.TextChannel | None,
        schedule: app_commands.Choice[str] | None,
        days: str | None,
        time: str | None,
        date: str | None,
        participants: discord.Role | None,
        post: app_commands.Choice[str] | None,
        today: date,
    ) -> CheckinChanges:
        on_date = None
        if date:
            try:
                on_date = _future_date(date, today)
            except UserError as error:
                raise UserError(f"`date`: {error}") from None
        try:
            at = parse_hhmm(time) if time else None
        except UserError as error:
            raise UserError(f"`time`: {error}") from None
        post_each, post_summary = posting(post.value if post else None)
        return CheckinChanges(
            name=check_name(name) if name is not None else None,
            channel_id=channel.id if channel else None,
            schedule=schedule.value if schedule else None,
            days=parse_days(days) if days else None,
            at=at,
            on_date=on_date,
            role_id=participants.id if participants else None,
            post_each=post_each,
            post_summary=post_summary,
        )

    def _today(self, config: GuildConfig) -> date:
        return self.bot.clock.now().astimezone(config.tz).date()

    @checkin.command(name="create", description="Add a check-in (managers)")
    @app_commands.describe(
        name="Its name, e.g. Friday retro",
        channel="Where its reports go (default the reports channel)",
        schedule="Daily, weekly or once",
        days="Days it runs: mon-fri, fri, mon,wed (default the office's workdays)",
        time="When members are asked, HH:MM in their timezone (default the reminder time)",
        participants="Who is asked (default the staff role)",
        date="For a one-off check-in: its date (2026-12-11, 11 Dec)",
        post="Post each report as it arrives and/or a summary (default a summary)",
    )
    @app_commands.choices(schedule=SCHEDULE_CHOICES, post=POST_CHOICES)
    async def checkin_create(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 60],
        channel: discord.TextChannel | None = None,
        schedule: app_commands.Choice[str] | None = None,
        days: app_commands.Range[str, 1, 40] | None = None,
        time: app_commands.Range[str, 1, 10] | None = None,
        participants: discord.Role | None = None,
        date: app_commands.Range[str, 1, 40] | None = None,
        post: app_commands.Choice[str] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        config = await self.bot.guild_settings.get(guild_id)
        changes = self._changes(
            name=name,
            channel=channel,
            schedule=schedule,
            days=days,
            time=time,
            date=date,
            participants=participants,
            post=post,
            today=self._today(config),
        )
        made = await self.checkins.create(
            guild_id, actor_of(config, interaction.user), changes, self.bot.clock.now()
        )
        await answer(
            interaction,
            f"Check-in **{escape_markdown(made.name)}** is set up: "
            f"{made.describe_schedule(config.workdays)}; {made.describe_posting()}. It asks one "
            f"open question for now: shape it with `/dar questions checkin:{made.name}`.",
            ephemeral=True,
        )

    @checkin.command(name="edit", description="Change a check-in (managers)")
    @app_commands.describe(
        checkin="Which check-in",
        name="A new name",
        channel="Where its reports go",
        schedule="Daily, weekly or once",
        days="Days it runs: mon-fri, fri, mon,wed",
        time="When members are asked, HH:MM",
        participants="Who is asked",
        date="For a one-off check-in: its date",
        post="Post each report as it arrives and/or a summary",
    )
    @app_commands.choices(schedule=SCHEDULE_CHOICES, post=POST_CHOICES)
    @app_commands.autocomplete(checkin=checkin_names)
    async def checkin_edit(
        self,
        interaction: discord.Interaction,
        checkin: app_commands.Range[str, 1, 60],
        name: app_commands.Range[str, 1, 60] | None = None,
        channel: discord.TextChannel | None = None,
        schedule: app_commands.Choice[str] | None = None,
        days: app_commands.Range[str, 1, 40] | None = None,
        time: app_commands.Range[str, 1, 10] | None = None,
        participants: discord.Role | None = None,
        date: app_commands.Range[str, 1, 40] | None = None,
        post: app_commands.Choice[str] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        config = await self.bot.guild_settings.get(guild_id)
        now = self.bot.clock.now()
        target = await self.checkins.by_name(guild_id, checkin, now)
        changes = self._changes(
            name=name,
            channel=channel,
            schedule=schedule,
            days=days,
            time=time,
            date=date,
            participants=participants,
            post=post,
            today=self._today(config),
        )
        edited = await self.checkins.edit(
            guild_id, target.id, actor_of(config, interaction.user), changes, now
        )
        await answer(
            interaction,
            f"Check-in **{escape_markdown(edited.name)}**: "
            f"{edited.describe_schedule(config.workdays)}; {edited.describe_posting()}.",
            ephemeral=True,
        )

    @checkin.command(name="pause", description="Pause (or resume) a check-in (managers)")
    @app_commands.describe(checkin="Which check-in", resume="Resume it instead")
    @app_commands.autocomplete(checkin=checkin_names)
    async def checkin_pause(
        self,
        interaction: discord.Interaction,
        checkin: app_commands.Range[str, 1, 60],
        resume: bool = False,
    ) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        config = await self.bot.guild_settings.get(guild_id)
        now = self.bot.clock.now()
        target = await self.checkins.by_name(guild_id, checkin, now)
        changed = await self.checkins.pause(
            guild_id, target.id, actor_of(config, interaction.user), not resume, now
        )
        state = "resumed" if resume else "paused"
        text = f"**{escape_markdown(target.name)}** is {state}."
        if not changed:
            text = f"**{escape_markdown(target.name)}** was already {state}."
        await answer(interaction, text, ephemeral=True)

    @checkin.command(name="delete", description="Delete a check-in; its reports stay (managers)")
    @app_commands.describe(checkin="Which check-in")
    @app_commands.autocomplete(checkin=checkin_names)
    async def checkin_delete(
        self, interaction: discord.Interaction, checkin: app_commands.Range[str, 1, 60]
    ) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        config = await self.bot.guild_settings.get(guild_id)
        now = self.bot.clock.now()
        target = await self.checkins.by_name(guild_id, checkin, now)
        name = await self.checkins.delete(
            guild_id, target.id, actor_of(config, interaction.user), now
        )
        await answer(
            interaction,
            f"Deleted the check-in **{escape_markdown(name)}**; its reports stay in exports.",
            ephemeral=True,
        )

    @checkin.command(name="list", description="The office's check-ins")
    async def checkin_list(self, interaction: discord.Interaction) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        config = await self.bot.guild_settings.get(guild_id)
        await self.checkins.default(guild_id, self.bot.clock.now())
        lines = []
        for item in await self.checkins.all(guild_id):
            where = f"<#{item.channel_id}>" if item.channel_id else "the reports channel"
            who = f"<@&{item.role_id}>" if item.role_id else "staff"
            paused = " · **paused**" if item.paused else ""
            questions = ", ".join(q.label for q in item.questions)
            lines.append(
                f"**{escape_markdown(item.name)}**{paused} — "
                f"{item.describe_schedule(config.workdays)}; {who}; in {where}; "
                f"{item.describe_posting()}\n  Questions: {escape_markdown(questions)}"
            )
        await answer(interaction, clip("\n".join(lines), 2000), ephemeral=True)

    @app_commands.command(name="questions", description="Edit a check-in's questions (managers)")
    @app_commands.describe(checkin="Which check-in")
    @app_commands.autocomplete(checkin=checkin_names)
    async def questions(
        self, interaction: discord.Interaction, checkin: app_commands.Range[str, 1, 60]
    ) -> None:
        guild_id = guild_id_of(interaction)
        config = await self.bot.guild_settings.get(guild_id)
        if not actor_of(config, interaction.user).is_manager:
            raise UserError("Only managers can change check-ins.")
        target = await self.checkins.by_name(guild_id, checkin, self.bot.clock.now())
        if target.is_default:
            raise UserError(
                "The Daily report keeps its Done, Plan, Blockers and Hours; make a check-in of "
                "your own (`/dar checkin create`) for other questions."
            )
        await interaction.response.send_modal(QuestionsModal(guild_id, target))

    async def save_questions(self, interaction: discord.Interaction, modal: QuestionsModal) -> None:
        drafts = parse_questions(modal.values())
        await acknowledge_later(interaction)
        config = await self.bot.guild_settings.get(modal.guild_id)
        saved = await self.checkins.save_questions(
            modal.guild_id,
            modal.checkin.id,
            actor_of(config, interaction.user),
            drafts,
            self.bot.clock.now(),
        )
        lines = "\n".join(f"{q.position}. {escape_markdown(q.spec())}" for q in saved.questions)
        await answer(
            interaction, f"**{escape_markdown(saved.name)}** asks:\n{lines}", ephemeral=True
        )

    # -- filing a check-in ---------------------------------------------------------------
    async def open_checkin(
        self, interaction: discord.Interaction, guild_id: int, target: CheckIn, day: date | None
    ) -> None:
        guild = self.bot.get_guild(guild_id)
        if guild is None or guild.get_member(interaction.user.id) is None:
            raise UserError("You're not a member of that server any more.")
        now = self.bot.clock.now()
        today = await self.dar_store.member_today(guild_id, interaction.user.id, now)
        day = day or today
        if day > today:
            raise UserError("That day hasn't happened yet.")
        entry = await self.checkins.entry(target.id, interaction.user.id, day)
        editing = bool(entry and entry.status == "filed")
        await self.dar_store.check_report_day(guild_id, day, today, editing=editing)
        values = dict(entry.answers) if entry and entry.status == "filed" else {}
        done = target.role_question("done")
        if not values and done is not None:
            prefill = await self.dar_store.prefill(guild_id, interaction.user.id, day)
            values[done.id] = prefill.done
        await interaction.response.send_modal(
            CheckinModal(
                guild_id, target, day, values, editing=bool(entry and entry.status == "filed")
            )
        )

    async def open_checkin_by_id(
        self, interaction: discord.Interaction, checkin_id: int, day: date
    ) -> None:
        guild_id = await self.checkins.guild_of(checkin_id)
        target = await self.checkins.get(guild_id, checkin_id)
        await self.open_checkin(interaction, guild_id, target, day)

    async def submit_checkin(self, interaction: discord.Interaction, modal: CheckinModal) -> None:
        typed = modal.values()
        answers: dict[int, str] = {}
        for question in modal.checkin.questions:
            value = check_answer(question, typed.get(question.id))
            if value is not None:
                answers[question.id] = value
        await acknowledge_later(interaction)
        now = self.bot.clock.now()
        result = await self.checkins.submit(
            modal.guild_id, modal.checkin.id, interaction.user.id, modal.day, answers, now
        )
        target = await self.checkins.get(modal.guild_id, modal.checkin.id)
        name = getattr(interaction.user, "display_name", interaction.user.name)
        embed = entry_embed(target, result.entry, name)
        verb = "filed" if result.created else f"updated (edit {result.entry.edits})"
        await answer(
            interaction,
            f"Your **{escape_markdown(target.name)}** for **{format_day(modal.day)}** is {verb}.",
            embed=embed,
            ephemeral=True,
        )
        await self.post_entry(target, result.entry, embed)

    async def post_entry(self, target: CheckIn, entry: Entry, embed: discord.Embed) -> None:
        """Each report as it arrives (post_each = channel); an edit edits the posted one."""
        if target.post_each == "off":
            return
        config = await self.bot.guild_settings.get(target.guild_id)
        channel_id = target.channel_id or config.reports_channel_id
        if channel_id is None:
            return
        try:
            if entry.post_message_id is not None and entry.post_channel_id is not None:
                posted = self.bot.get_partial_messageable(
                    entry.post_channel_id, guild_id=target.guild_id
                ).get_partial_message(entry.post_message_id)
                await posted.edit(embed=embed)
                return
            if target.post_each == "thread":
                channel_id = await self.day_thread(target, entry.day, channel_id)
            channel = self.bot.get_partial_messageable(channel_id, guild_id=target.guild_id)
            blockers = target.role_question("blockers")
            if blockers is not None and entry.answers.get(blockers.id):
                message = await channel.send(embed=embed, view=entry_view(entry.id))
            else:
                message = await channel.send(embed=embed)
        except discord.HTTPException:
            log.warning("could not post check-in entry %s", entry.id, exc_info=True)
            return
        await self.checkins.set_post(entry.id, message.channel.id, message.id)

    async def day_thread(self, target: CheckIn, day: date, channel_id: int) -> int:
        """The thread the check-in's reports of ``day`` go to, opened (Start Thread without
        Message) by the first report of the day; one at a time per check-in."""
        lock = self.thread_locks.setdefault(target.id, asyncio.Lock())
        async with lock:
            thread_id = await self.checkins.thread(target.id, day)
            if thread_id is not None:
                return thread_id
            parent = self.bot.get_channel(channel_id)
            if not isinstance(parent, discord.TextChannel):
                return channel_id  # not a text channel: post in it as it is
            try:
                thread = await parent.create_thread(
                    name=clip(f"{target.name} — {day:%a} {day.day} {day:%b %Y}", 100),
                    type=discord.ChannelType.public_thread,
                    auto_archive_duration=1440,
                    reason=f"Check-in {target.name}: reports of {day.isoformat()}",
                )
            except discord.Forbidden:
                # Invited before check-ins (no Create Public Threads): the channel itself.
                log.warning("no permission to open a thread in %s; posting there", channel_id)
                return channel_id
            return await self.checkins.save_thread(target.id, day, channel_id, thread.id)

    async def make_task_from_entry(self, interaction: discord.Interaction, entry_id: int) -> None:
        """A manager's **Make task** under a check-in report: the task form prefilled from its
        blockers answer, assigned to the clicker (created through the Tasks cog)."""
        guild_id = guild_id_of(interaction)
        config = await self.bot.guild_settings.get(guild_id)
        if not actor_of(config, interaction.user).is_manager:
            raise UserError("Only managers can make tasks from blockers.")
        entry = await self.checkins.entry_by_id(guild_id, entry_id)
        target = await self.checkins.get(guild_id, entry.checkin_id)
        question = target.role_question("blockers")
        text = entry.answers.get(question.id) if question else None
        if not text:
            raise UserError("That report lists no blockers any more.")
        guild = self.bot.get_guild(guild_id)
        member = guild.get_member(entry.user_id) if guild else None
        name = member.display_name if member else f"member {entry.user_id}"
        await interaction.response.send_modal(
            TaskCreateModal(
                title=clip(f"Unblock {name}: {text.splitlines()[0]}", 100),
                description=f"{text}\n\nFrom {name}'s {target.name} of {format_day(entry.day)}.",
                assignee_id=interaction.user.id,
                source_url=interaction.message.jump_url if interaction.message else None,
            )
        )

    # -- Skip today and the member's own rhythm ----------------------------------------
    async def skip_day(
        self, interaction: discord.Interaction, guild_id: int, day: date, reason: str
    ) -> None:
        cleaned = check_skip_reason(reason)
        await acknowledge_later(interaction)
        guild = self.bot.get_guild(guild_id)
        if guild is None or guild.get_member(interaction.user.id) is None:
            raise UserError("You're not a member of that server any more.")
        skipped = await self.checkins.skip(
            guild_id, interaction.user.id, day, cleaned, self.bot.clock.now()
        )
        if skipped:
            text = f"Skipped your report for **{format_day(day)}**: you won't be counted missing."
        else:
            text = f"You already filed or skipped your report for **{format_day(day)}**."
        await answer(interaction, text, ephemeral=True)

    @app_commands.command(
        name="remind", description="Your own reminder time (your timezone) and workdays"
    )
    @app_commands.describe(
        time="When to remind you, HH:MM in your own timezone",
        days="Your workdays, e.g. mon-thu (no reminder on other days)",
        clear="Back to the office's reminder time and workdays",
    )
    async def remind(
        self,
        interaction: discord.Interaction,
        time: app_commands.Range[str, 1, 10] | None = None,
        days: app_commands.Range[str, 1, 40] | None = None,
        clear: bool = False,
    ) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        try:
            at = parse_hhmm(time) if time else None
        except UserError as error:
            raise UserError(f"`time`: {error}") from None
        workdays = parse_days(days) if days else None
        if not clear and at is None and workdays is None:
            rhythm = (await self.checkins.rhythms(guild_id)).get(interaction.user.id)
            config = await self.bot.guild_settings.get(guild_id)
            own_at = rhythm.remind_at if rhythm and rhythm.remind_at else config.dar_reminder
            own_days = rhythm.workdays if rhythm and rhythm.workdays else config.workdays
            await interaction.response.send_message(
                f"You're reminded at **{format_hhmm(own_at)}** your time on "
                f"{describe_workdays(own_days)}. Change it with `/dar remind time:` `days:`.",
                ephemeral=True,
            )
            return
        await acknowledge_later(interaction)
        await self.checkins.set_rhythm(
            guild_id, interaction.user.id, at, workdays, now, clear=clear
        )
        if clear:
            text = "Back to the office's reminder time and workdays."
        else:
            parts = []
            if at is not None:
                parts.append(f"at **{format_hhmm(at)}** your time")
            if workdays is not None:
                parts.append(f"on {describe_workdays(workdays)} only")
            text = "You'll be reminded " + " and ".join(parts) + "."
        await answer(interaction, text, ephemeral=True)


def _future_date(text: str, today: date) -> date:
    """A one-off check-in's date: ISO, or ``11 Dec`` (the next one); never a day that has
    passed (nobody would ever be asked)."""
    day = parse_date(text, today)
    if day < today:
        raise UserError(f"{day.isoformat()} has passed; a one-off check-in needs today or later.")
    return day
