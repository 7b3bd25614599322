"""/dar: file, view and chase daily activity reports; the day's summary, exports and stats; the
Submit DAR panel; the scheduled reminder, summary and manager digest (``jobs``)."""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
import zipfile
from collections.abc import Sequence
from datetime import date, timedelta
from typing import IO, TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from concord.charts import render_dar_chart
from concord.cogs.common import (
    MANAGER_ONLY,
    acknowledge_later,
    actor_of,
    answer,
    field_input,
    guild_id_of,
)
from concord.cogs.dar.checkin_commands import CheckinCommands, entry_embed
from concord.cogs.dar.embeds import (
    missing_messages,
    panel_embed,
    roster_members,
    stats_messages,
    to_embed,
)
from concord.cogs.dar.jobs import DarJobs, send_spec, spec_kwargs
from concord.cogs.dar.views import (
    BlockerTaskModal,
    PostSummaryView,
    ReportModal,
    RetryReportView,
    submit_view,
)
from concord.core.checkins import CheckIn
from concord.core.dar import (
    Report,
    first_line,
    format_day,
    parse_report_date,
    short_day,
    validate_report,
)
from concord.core.dar_layout import (
    compose_summary,
    report_messages,
)
from concord.core.embed_pages import MessageSpec
from concord.core.settings import GuildConfig
from concord.core.text import clip, escape_markdown
from concord.db.dar import STATS_DEFAULT_DAYS, DarManager, Prefill
from concord.db.dar.checkins import CheckinExport, CheckinManager
from concord.db.dar.manager import EXPORT_MAX_DAYS
from concord.db.leave import LeaveManager
from concord.db.tasks import TaskManager
from concord.errors import PermissionDenied, UserError

if TYPE_CHECKING:
    from concord.bot import ConcordBot
    from concord.cogs.tasks.cog import Tasks

log = logging.getLogger(__name__)

FORMAT_CHOICES = [
    app_commands.Choice(name="CSV (spreadsheets, any tool)", value="csv"),
    app_commands.Choice(name="Excel (.xlsx)", value="xlsx"),
]
DATE_HELP = "today, yesterday, mon, 3 Dec or 2026-12-03"
# Exports are kept in memory up to this size, on disk beyond it.
SPOOL_BYTES = 8 * 1024 * 1024


@app_commands.guild_only()  # on the group: Discord ignores it on subcommands
class Dar(
    CheckinCommands,
    commands.GroupCog,
    group_name="dar",
    group_description="Daily activity reports",
):
    def __init__(self, bot: ConcordBot) -> None:
        self.bot = bot
        self.dar_store = DarManager(
            bot.db, bot.guild_settings, LeaveManager(bot.db), TaskManager(bot.db)
        )
        self.checkins = CheckinManager(bot.db)
        self.thread_locks: dict[int, asyncio.Lock] = {}
        self.jobs = DarJobs(self)
        super().__init__()

    # -- shared steps ------------------------------------------------------------------------
    def guild(self, guild_id: int) -> discord.Guild:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            raise UserError("I'm not in that server any more.")
        return guild

    async def manager_in(self, guild_id: int, user: discord.abc.User) -> tuple[bool, GuildConfig]:
        """Whether ``user`` counts as a manager in that guild (also for clicks in DMs)."""
        config = await self.bot.guild_settings.get(guild_id)
        member = self.guild(guild_id).get_member(user.id)
        return actor_of(config, member or user).is_manager, config

    async def require_manager(self, guild_id: int, user: discord.abc.User) -> GuildConfig:
        is_manager, config = await self.manager_in(guild_id, user)
        if not is_manager:
            raise PermissionDenied(MANAGER_ONLY)
        return config

    async def guild_today(self, guild_id: int) -> date:
        config = await self.bot.guild_settings.get(guild_id)
        return self.bot.clock.now().astimezone(config.tz).date()

    @staticmethod
    def parse_day(text: str | None, today: date, option: str) -> date:
        if text is None or not text.strip():
            return today
        try:
            return parse_report_date(text, today)
        except UserError as error:
            raise UserError(f"`{option}`: {error}") from None

    async def answer_pages(
        self,
        interaction: discord.Interaction,
        messages: Sequence[MessageSpec],
        *,
        with_buttons: bool = True,
    ) -> None:
        """Ephemeral replies, page after page (the interaction must already be deferred)."""
        for message in messages:
            if not with_buttons:
                message = MessageSpec(embeds=message.embeds, content=message.content)
            await answer(interaction, **spec_kwargs(message), ephemeral=True)

    # -- filing ------------------------------------------------------------------------------
    async def open_report_modal(
        self, interaction: discord.Interaction, guild_id: int, day: date | None
    ) -> None:
        """The report modal for ``day`` (default: the member's today), prefilled."""
        if self.guild(guild_id).get_member(interaction.user.id) is None:
            raise UserError("You're not a member of that server any more.")
        now = self.bot.clock.now()
        today = await self.dar_store.member_today(guild_id, interaction.user.id, now)
        day = day or today
        existing = await self.dar_store.get(guild_id, interaction.user.id, day)
        await self.dar_store.check_report_day(guild_id, day, today, editing=existing is not None)
        prefill = await self.dar_store.prefill(guild_id, interaction.user.id, day)
        await interaction.response.send_modal(ReportModal(guild_id, prefill))

    async def submit_report(
        self,
        interaction: discord.Interaction,
        guild_id: int,
        day: date,
        *,
        done: str,
        plan: str,
        blockers: str,
        hours: str,
    ) -> None:
        try:
            draft = validate_report(done, plan, blockers, hours)
        except UserError as error:
            # Keep what they typed: one click reopens the form with it.
            typed = Prefill(day, done, plan, blockers, hours, editing=False)
            view = RetryReportView(interaction.user.id, guild_id, typed)
            await interaction.response.send_message(str(error), view=view, ephemeral=True)
            view.message = await interaction.original_response()
            return
        await acknowledge_later(interaction)
        result = await self.dar_store.submit(
            guild_id, interaction.user.id, draft, self.bot.clock.now(), day
        )
        report = result.report
        if result.created:
            text = f"Your report for **{format_day(report.day)}** is filed. Thank you!"
        else:
            text = f"Your report for **{format_day(report.day)}** is updated (edit {report.edits})."
        if result.created and report.late:
            text += " It came in after the day's summary, so it is marked late."
        text += await self.edit_hint(guild_id, interaction.user.id, report.day)
        name = getattr(interaction.user, "display_name", interaction.user.name)
        first = report_messages(report, name)[0]
        await answer(interaction, text, embeds=[to_embed(e) for e in first.embeds], ephemeral=True)
        if result.created:
            await self.jobs.follow_up(report, name)
        await self.post_daily(report, name)

    async def post_daily(self, report: Report, name: str) -> None:
        """The Daily report posted as it arrives, when the office asked for it (`/dar checkin
        edit checkin:Daily report post:`); an edit updates the posted one."""
        target = await self.checkins.default(report.guild_id, self.bot.clock.now())
        if target.post_each == "off":
            return
        entry = await self.checkins.entry(target.id, report.user_id, report.day)
        if entry is None:  # pragma: no cover - submit_report writes it with the report
            return
        await self.post_entry(target, entry, entry_embed(target, entry, name))

    async def edit_hint(self, guild_id: int, user_id: int, day: date) -> str:
        """How, and until when, the member can still change the report of ``day``."""
        today = await self.dar_store.member_today(guild_id, user_id, self.bot.clock.now())
        last = await self.dar_store.edit_window_end(guild_id, day)
        if last < today:
            return ""
        command = "/dar submit" if day == today else f"/dar submit date:{day.isoformat()}"
        until = "until the end of today" if last == today else f"until {format_day(last)}"
        return f"\nTo change it, run `{command}` again ({until})."

    @app_commands.command(name="submit", description="File (or edit) your daily activity report")
    @app_commands.describe(
        date=f"The day it is for (default today): {DATE_HELP}",
        checkin="Which check-in (default the Daily report)",
    )
    @app_commands.autocomplete(checkin=CheckinCommands.checkin_names)
    async def submit(
        self,
        interaction: discord.Interaction,
        date: app_commands.Range[str, 1, 40] | None = None,
        checkin: app_commands.Range[str, 1, 60] | None = None,
    ) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        today = await self.dar_store.member_today(guild_id, interaction.user.id, now)
        day = self.parse_day(date, today, "date")
        if checkin is not None:
            target = await self.checkins.by_name(guild_id, checkin, now)
            if not target.is_default:
                await self.open_checkin(interaction, guild_id, target, day)
                return
        await self.open_report_modal(interaction, guild_id, day)

    # -- reading -----------------------------------------------------------------------------
    @app_commands.command(
        name="view", description="Show a daily report (yours, or as a manager anyone's)"
    )
    @app_commands.describe(
        member="Whose report (default you; others need the Manager role)",
        date=f"Which day (default today): {DATE_HELP}",
    )
    async def view(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        date: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        target = member or interaction.user
        if target.id != interaction.user.id:
            await self.require_manager(guild_id, interaction.user)
        now = self.bot.clock.now()
        day = self.parse_day(
            date, await self.dar_store.member_today(guild_id, target.id, now), "date"
        )
        report = await self.dar_store.get(guild_id, target.id, day)
        roster = await self.dar_store.roster(guild_id, day, roster_members(self.guild(guild_id)))
        note = roster.note_for(target.id)
        if report is None:
            text = f"{target.mention} has no report for **{format_day(day)}**"
            if target.id in roster.on_leave_ids:
                text += f" (on leave: {note})."
            elif roster.holiday:
                text += f" (a holiday: {escape_markdown(roster.holiday)})."
            elif target.id not in roster.expected_ids:
                text += " (not expected to file that day)."
            else:
                text += "."
            await answer(interaction, text, ephemeral=True)
            return
        await self.answer_pages(interaction, report_messages(report, target.display_name, note))

    @app_commands.command(
        name="missing", description="Who has not filed a report for a day (managers)"
    )
    @app_commands.describe(date=f"Which day (default today): {DATE_HELP}")
    async def missing(
        self, interaction: discord.Interaction, date: app_commands.Range[str, 1, 40] | None = None
    ) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        await self.require_manager(guild_id, interaction.user)
        day = self.parse_day(date, await self.guild_today(guild_id), "date")
        result = await self.dar_store.missing(
            guild_id, day, roster_members(self.guild(guild_id)), self.bot.clock.now()
        )
        await self.answer_pages(
            interaction, missing_messages(day, result.roster, result.missing, result.not_due)
        )

    @app_commands.command(
        name="summary", description="The day's report summary (managers can post it)"
    )
    @app_commands.describe(date=f"Which day (default today): {DATE_HELP}")
    async def summary(
        self, interaction: discord.Interaction, date: app_commands.Range[str, 1, 40] | None = None
    ) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        is_manager, config = await self.manager_in(guild_id, interaction.user)
        day = self.parse_day(date, await self.guild_today(guild_id), "date")
        data = await self.dar_store.summary(
            guild_id, day, roster_members(self.guild(guild_id)), self.bot.clock.now()
        )
        messages = compose_summary(data)
        await self.answer_pages(interaction, messages, with_buttons=is_manager)
        if not is_manager:
            return
        where = self.summary_channel(config, interaction)
        label = f"Post in #{getattr(where, 'name', 'this channel')}"
        view = PostSummaryView(interaction.user.id, guild_id, day, label)
        view.message = await answer(
            interaction,
            f"Post this summary for everyone in {getattr(where, 'mention', 'this channel')}?",
            view=view,
            ephemeral=True,
        )

    def summary_channel(
        self, config: GuildConfig, interaction: discord.Interaction
    ) -> discord.abc.Messageable:
        if config.reports_channel_id is not None:
            channel = self.bot.get_channel(config.reports_channel_id)
            if isinstance(channel, discord.abc.Messageable):
                return channel
        if interaction.channel is None or not isinstance(
            interaction.channel, discord.abc.Messageable
        ):
            raise UserError("There is no reports channel set and I can't post here.")
        return interaction.channel

    async def post_summary_for(
        self, interaction: discord.Interaction, view: PostSummaryView, day: date
    ) -> None:
        config = await self.require_manager(view.guild_id, interaction.user)
        where = self.summary_channel(config, interaction)
        await interaction.response.defer()
        data = await self.dar_store.summary(
            view.guild_id, day, roster_members(self.guild(view.guild_id)), self.bot.clock.now()
        )
        sent = [await send_spec(where, message) for message in compose_summary(data)]
        view.disable()
        view.stop()
        await interaction.edit_original_response(
            content=f"Posted the summary for {format_day(day)}: {sent[0].jump_url}", view=view
        )

    # -- the panel ---------------------------------------------------------------------------
    @app_commands.command(
        name="panel", description="Post a Submit DAR button in this channel (managers)"
    )
    async def panel(self, interaction: discord.Interaction) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        await self.require_manager(guild_id, interaction.user)
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable) or channel is None:
            raise UserError("I can't post in this channel.")
        message = await channel.send(embed=panel_embed(), view=submit_view())
        previous = await self.dar_store.save_panel(
            guild_id, message.channel.id, message.id, interaction.user.id, self.bot.clock.now()
        )
        if previous is not None:
            try:
                await channel.get_partial_message(previous).delete()  # type: ignore[union-attr]
            except discord.HTTPException:
                log.info("the previous DAR panel %s was already gone", previous)
        await answer(
            interaction, f"Posted the Submit DAR panel: {message.jump_url}", ephemeral=True
        )

    # -- export and stats ------------------------------------------------------------------
    async def scope(
        self, guild_id: int, user: discord.abc.User, member: discord.Member | None, what: str
    ) -> int | None:
        """Whose reports: a manager gets ``member`` or the team (None); others only their own."""
        is_manager, _ = await self.manager_in(guild_id, user)
        if is_manager:
            return member.id if member else None
        if member is not None and member.id != user.id:
            raise PermissionDenied(f"Only managers can {what} other members' reports.")
        return user.id

    @app_commands.command(name="export", description="Reports as a CSV or Excel file")
    @app_commands.describe(
        start=f"First day: {DATE_HELP}",
        end=f"Last day: {DATE_HELP}",
        format="File format",
        member="Only this member (managers; others always get their own)",
        checkin="Which check-in (default the Daily report): one column per question",
    )
    @app_commands.choices(format=FORMAT_CHOICES)
    @app_commands.autocomplete(checkin=CheckinCommands.checkin_names)
    async def export(
        self,
        interaction: discord.Interaction,
        start: app_commands.Range[str, 1, 40],
        end: app_commands.Range[str, 1, 40],
        format: app_commands.Choice[str],
        member: discord.Member | None = None,
        checkin: app_commands.Range[str, 1, 60] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        today = await self.guild_today(guild_id)
        first = self.parse_day(start, today, "start")
        last = self.parse_day(end, today, "end")
        user_id = await self.scope(guild_id, interaction.user, member, "export")
        guild = self.guild(guild_id)
        names = {m.id: m.display_name for m in guild.members}
        with (
            tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as out,
            tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as packed,
        ):
            target = (
                await self.checkins.by_name(guild_id, checkin, self.bot.clock.now())
                if checkin
                else None
            )
            if target is not None and not target.is_default:
                if (last - first).days + 1 > EXPORT_MAX_DAYS or last < first:
                    await self.dar_store.export(
                        guild_id, first, last, format.value, io.BytesIO(), names, user_id
                    )  # the same refusals as the Daily report's export
                config = await self.bot.guild_settings.get(guild_id)
                rows = await self.checkins.export(
                    CheckinExport(
                        guild_id,
                        target.id,
                        first.isoformat(),
                        last.isoformat(),
                        user_id,
                        names,
                        config.tz,
                        format.value,
                    ),
                    out,
                )
            else:
                rows = await self.dar_store.export(
                    guild_id, first, last, format.value, out, names, user_id
                )
            if rows == 0:
                await answer(
                    interaction,
                    f"No reports from {format_day(first)} to {format_day(last)}.",
                    ephemeral=True,
                )
                return
            stem = f"dar-{first.isoformat()}-to-{last.isoformat()}"
            if target is not None and not target.is_default:
                stem = f"{target.name.replace(' ', '_')}-{first.isoformat()}-to-{last.isoformat()}"
            if user_id is not None:
                stem += f"-{names.get(user_id, user_id)}".replace(" ", "_")
            filename = f"{stem}.{format.value}"
            payload, filename = await asyncio.to_thread(
                fit_upload, out, packed, filename, guild.filesize_limit
            )
            await answer(
                interaction,
                f"{rows} report{'s' if rows != 1 else ''} from {format_day(first)} to "
                f"{format_day(last)}.",
                # A spooled temporary file reads like the buffered file discord.File expects.
                file=discord.File(cast(io.BufferedIOBase, payload), filename=filename),
                ephemeral=True,
            )

    @app_commands.command(
        name="stats", description="Reports filed vs expected, streaks and on-time rates"
    )
    @app_commands.describe(
        start=f"First day (default 30 days before the end): {DATE_HELP}",
        end=f"Last day (default today): {DATE_HELP}",
        member="Only this member (managers; others always get their own)",
        checkin="Which check-in (default the Daily report, with a line per other check-in)",
    )
    @app_commands.autocomplete(checkin=CheckinCommands.checkin_names)
    async def stats(
        self,
        interaction: discord.Interaction,
        start: app_commands.Range[str, 1, 40] | None = None,
        end: app_commands.Range[str, 1, 40] | None = None,
        member: discord.Member | None = None,
        checkin: app_commands.Range[str, 1, 60] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        guild_id = guild_id_of(interaction)
        today = await self.guild_today(guild_id)
        last = self.parse_day(end, today, "end")
        first = (
            self.parse_day(start, today, "start")
            if start
            else last - timedelta(days=STATS_DEFAULT_DAYS - 1)
        )
        if end is None and first > last:
            raise UserError(
                f"The start {format_day(first)} is after today, the default end; give an `end` "
                "as well."
            )
        user_id = await self.scope(guild_id, interaction.user, member, "see the stats of")
        guild = self.guild(guild_id)
        target = (
            await self.checkins.by_name(guild_id, checkin, self.bot.clock.now())
            if checkin
            else None
        )
        if target is not None and not target.is_default:
            await self.checkin_stats_answer(interaction, target, first, last, user_id, today)
            return
        stats = await self.dar_store.stats(
            guild_id, first, last, roster_members(guild), today, user_id, now=self.bot.clock.now()
        )
        names = {m.id: m.display_name for m in guild.members}
        who = names.get(user_id, "") if user_id is not None else guild.name
        png = await asyncio.to_thread(
            render_dar_chart, stats.points, clip(f"Daily reports — {who}", 80)
        )
        note = None
        if not stats.today_counted:
            config = await self.bot.guild_settings.get(guild_id)
            note = (
                f"Today ({short_day(today)}) counts from {config.dar_summary:%H:%M}, the summary "
                "time, in the chart and here alike."
            )
        if user_id is None:
            lines = await self.dar_store.checkin_lines(
                guild_id, first, last, roster_members(guild), today
            )
            if lines:
                note = "\n".join(filter(None, [note, "Check-ins:", *lines]))
        messages = stats_messages(first, last, stats.members, names, note)
        head, *rest = messages
        embeds = [to_embed(e) for e in head.embeds]
        embeds[0].set_image(url="attachment://dar-stats.png")
        await answer(
            interaction,
            embeds=embeds,
            file=discord.File(io.BytesIO(png), filename="dar-stats.png"),
            ephemeral=True,
        )
        await self.answer_pages(interaction, rest)

    async def checkin_stats_answer(
        self,
        interaction: discord.Interaction,
        target: CheckIn,
        first: date,
        last: date,
        user_id: int | None,
        today: date,
    ) -> None:
        """A check-in's rates per member over [first, last] (text: answered, on time,
        skipped)."""
        if last < first:
            raise UserError(
                f"The end date ({format_day(last)}) is before the start date ({format_day(first)})."
            )
        guild = self.guild(target.guild_id)
        stats = await self.dar_store.checkin_stats(
            target.guild_id, target, first, last, roster_members(guild), today
        )
        names = {m.id: m.display_name for m in guild.members}
        rows = [m for m in stats.members if user_id is None or m.user_id == user_id]
        lines = [
            f"**{escape_markdown(names.get(m.user_id, str(m.user_id)))}** — answered "
            f"{m.filed}/{m.expected}, on time {m.on_time}, skipped {m.skipped}"
            for m in sorted(rows, key=lambda m: names.get(m.user_id, "").lower())
        ]
        head = stats.line() if user_id is None else f"**{escape_markdown(target.name)}**"
        text = f"{head} — {format_day(first)} to {format_day(last)}\n" + "\n".join(lines)
        await answer(interaction, clip(text, 2000), ephemeral=True)

    # -- blockers → tasks ------------------------------------------------------------------
    async def make_task_from_blocker(
        self, interaction: discord.Interaction, report_id: int
    ) -> None:
        """A manager's **Make task**: the task modal prefilled from the blockers, assigned to
        the clicker."""
        guild_id = guild_id_of(interaction)
        await self.require_manager(guild_id, interaction.user)
        report = await self.dar_store.get_by_id(guild_id, report_id)
        if not report.blockers:
            raise UserError("That report lists no blockers any more.")
        existing = await self.dar_store.blocker_task(report.id)
        if existing is not None and not await self.dar_store.task_finished(guild_id, existing):
            raise UserError(f"Task #{existing} was already made from these blockers.")
        member = self.guild(guild_id).get_member(report.user_id)
        name = member.display_name if member else f"member {report.user_id}"
        title = f"Unblock {name}: {first_line(report.blockers)}"
        description = (
            f"{report.blockers}\n\nFrom {name}'s daily report of {format_day(report.day)}."
        )
        source = interaction.message.jump_url if interaction.message else None
        await interaction.response.send_modal(
            BlockerTaskModal(
                report_id=report.id,
                title=title,
                description=description,
                assignee_id=interaction.user.id,
                source_url=source,
            )
        )

    async def submit_blocker_task(
        self, interaction: discord.Interaction, modal: BlockerTaskModal
    ) -> None:
        """Create the task through the Tasks cog (card, DM, board) and link it to the report."""
        tasks: Tasks | None = self.bot.get_cog("Tasks")  # type: ignore[assignment]
        if tasks is None:
            raise UserError("Tasks are switched off on this bot.")
        task = await tasks.create_task(
            interaction,
            title=field_input(modal.task_title).value,
            description=field_input(modal.description).value,
            due=field_input(modal.due).value,
            priority=field_input(modal.priority).value or None,
            repeat=field_input(modal.repeat).value or None,
            assignee_id=modal.assignee_id,
            source_url=modal.source_url,
        )
        await self.dar_store.link_blocker_task(
            guild_id_of(interaction),
            modal.report_id,
            task.id,
            interaction.user.id,
            self.bot.clock.now(),
        )


def fit_upload(
    out: IO[bytes], packed: IO[bytes], filename: str, limit: int
) -> tuple[IO[bytes], str]:
    """The export as an upload under Discord's size limit: as it is, zipped into ``packed``
    when that makes it fit, else a clear error (a shorter range or one member)."""
    size = out.seek(0, 2)
    out.seek(0)
    if size <= limit:
        return out, filename
    with (
        zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(filename, "w") as member,
    ):
        while chunk := out.read(1024 * 1024):
            member.write(chunk)
    packed_size = packed.seek(0, 2)
    packed.seek(0)
    if packed_size <= limit:
        return packed, f"{filename}.zip"
    raise UserError(
        f"That export is {size / 1_048_576:.1f} MB ({packed_size / 1_048_576:.1f} MB zipped), "
        f"over this server's {limit / 1_048_576:.0f} MB upload limit: pick a shorter range or "
        "one member."
    )
