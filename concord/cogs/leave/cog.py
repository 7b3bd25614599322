"""/leave: request, approve, cancel and see leave; policies, allowances, holidays, exports.

Commands parse, authorise and call one LeaveManager method; the manager re-checks permissions
at the moment of the write. Cards, DMs and reminders are the LeaveDesk's job (cards.py)."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from concord.adapters.leave_export import requests_csv, requests_ics
from concord.adapters.public_holidays import countries, search_countries, subdivisions
from concord.cogs.common import (
    acknowledge_later,
    actor_of,
    answer,
    guild_config,
    member_is_manager,
    require_manager,
)
from concord.cogs.leave.cards import LeaveDesk
from concord.cogs.leave.changes import post_change_card
from concord.cogs.leave.embeds import (
    apply_embed,
    balance_pages,
    calendar_pages,
    holiday_lines,
    out_lines,
    paginate,
    request_line,
    type_lines,
)
from concord.cogs.leave.feeds import FeedCommands
from concord.cogs.leave.teams import TeamCommands
from concord.cogs.leave.views import desk_of, send_embed_pages
from concord.core.dates import parse_date, parse_month
from concord.core.leave import (
    Accrual,
    AlreadyDecided,
    Portion,
    RequestStatus,
    days_from_number,
    describe_dates,
    describe_settings,
    format_amount,
    format_days,
    is_working_day,
    parse_days,
    whole_days,
)
from concord.core.schedule import parse_hhmm
from concord.core.settings import GuildConfig
from concord.core.text import clip, escape_markdown, plural
from concord.db.leave import HeldChange, LeaveManager, PolicyChange
from concord.errors import PermissionDenied, UserError

if TYPE_CHECKING:
    from concord.bot import ConcordBot

log = logging.getLogger(__name__)
REMINDER_JOB = "leave.pending_reminders"
MAX_EXPORT_DAYS = 3 * 366
MAX_FILE_BYTES = 8 * 1024 * 1024
# Requests one export may hold (with the three-year limit): a bigger file is built for minutes.
MAX_EXPORT_REQUESTS = 5000
DATE_HELP = "YYYY-MM-DD, today, tomorrow, fri or 3 Dec"
PORTION_CHOICES = [
    app_commands.Choice(name="Full day", value=Portion.FULL_DAY.value),
    app_commands.Choice(name="Half day (morning)", value=Portion.HALF_DAY_AM.value),
    app_commands.Choice(name="Half day (afternoon)", value=Portion.HALF_DAY_PM.value),
    app_commands.Choice(name="Off duty (hours)", value=Portion.OFF_DUTY.value),
]
STATUS_CHOICES = [app_commands.Choice(name=s.value, value=s.value) for s in RequestStatus]
ACCRUAL_CHOICES = [
    app_commands.Choice(name="upfront (all on 1 January)", value=Accrual.UPFRONT.value),
    app_commands.Choice(name="monthly (1/12 on each 1st)", value=Accrual.MONTHLY.value),
]
FORMAT_CHOICES = [
    app_commands.Choice(name="CSV (spreadsheet)", value="csv"),
    app_commands.Choice(name="iCalendar (Google, Outlook)", value="ics"),
]


# At most 18 digits: any longer number is no request, and SQLite's integers stop at 2**63.
REQUEST_ID: re.Pattern[str] = re.compile(r"#?(\d{1,18})")


def parse_request_id(text: str) -> int:
    match = REQUEST_ID.fullmatch(text.strip())
    if match is None:
        raise UserError(
            f"`{text[:50]}` is not a request number; pick one from the list, e.g. `#12`."
        )
    return int(match[1])


# -- autocomplete ------------------------------------------------------------------------------
async def _type_choices(
    interaction: discord.Interaction, current: str, *, archived: bool
) -> list[app_commands.Choice[str]]:
    """The guild's leave types whose name holds ``current``, each with its settings (or
    "archived"), at most Discord's 25."""
    if interaction.guild_id is None:
        return []
    desk = desk_of(interaction)
    types = await desk.leave.types(interaction.guild_id, now=desk.now(), archived=archived)
    words = current.strip().lower()
    return [
        app_commands.Choice(
            name=clip(
                f"{t.name} · {'archived' if t.archived else describe_settings(t.settings)}", 100
            ),
            value=t.name,
        )
        for t in types
        if words in t.name.lower()
    ][:25]


async def leave_type_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return await _type_choices(interaction, current, archived=False)


async def policy_type_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """As :func:`leave_type_choices`, and the archived types (to rename or bring back)."""
    return await _type_choices(interaction, current, archived=True)


async def cancellable_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    if interaction.guild_id is None:
        return []
    desk = desk_of(interaction)
    config = await guild_config(interaction)
    is_manager = member_is_manager(config, interaction.user)
    requests = await desk.leave.cancellable(
        interaction.guild_id, interaction.user.id, is_manager=is_manager, today=desk.today(config)
    )
    name_of = desk.name_of(interaction.guild_id)
    words = current.strip().lower().lstrip("#")
    choices = []
    for request in requests:
        who = "" if request.user_id == interaction.user.id else f"{name_of(request.user_id)} · "
        label = (
            f"#{request.id} · {who}{request.leave_type} · "
            f"{describe_dates(request.start, request.end)} ({request.status.value})"
        )
        if words in label.lower():
            choices.append(app_commands.Choice(name=clip(label, 100), value=str(request.id)))
    return choices[:25]


async def country_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return [
        app_commands.Choice(name=clip(f"{name} ({code})", 100), value=code)
        for code, name in search_countries(current)
    ]


async def subdivision_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    country = str(getattr(interaction.namespace, "country", "") or "")
    words = current.strip().upper()
    return [
        app_commands.Choice(name=code, value=code)
        for code in subdivisions(country)
        if code.startswith(words)
    ][:25]


@app_commands.guild_only()  # on the group: Discord ignores it on subcommands
class Leave(
    FeedCommands,
    TeamCommands,
    commands.GroupCog,
    group_name="leave",
    group_description="Leave: requests, balances, holidays, teams",
):
    holiday = app_commands.Group(
        name="holiday", description="Public holidays (no leave is taken on them)"
    )

    def __init__(self, bot: ConcordBot) -> None:
        self.bot = bot
        self.leave = LeaveManager(bot.db)
        self.desk = LeaveDesk(bot, self.leave)
        super().__init__()

    # -- helpers -------------------------------------------------------------------------------
    async def _subject(
        self, interaction: discord.Interaction, member: discord.Member | None, what: str
    ) -> tuple[GuildConfig, int, bool]:
        """(config, whose data, is the caller a manager); others' data is for managers only."""
        config = await guild_config(interaction)
        is_manager = member_is_manager(config, interaction.user)
        if member is not None and member.id != interaction.user.id and not is_manager:
            raise PermissionDenied(f"Only managers can see someone else's {what}.")
        return config, (member or interaction.user).id, is_manager

    # -- requesting ----------------------------------------------------------------------------
    @app_commands.command(name="apply", description="Request leave: full days, half days or hours")
    @app_commands.describe(
        leave_type="The kind of leave (Annual, Sick, ...)",
        start=f"First day: {DATE_HELP}",
        end="Last day (default: the first day)",
        portion="Full day (default), half day or off-duty hours",
        from_time="Off duty from, HH:MM",
        to_time="Off duty until, HH:MM",
        reason="Why (seen by you and the managers only)",
        member="Managers: request on behalf of this member",
        override_note="Managers: file it anyway over blackout days or a team's limit, saying why",
    )
    @app_commands.choices(portion=PORTION_CHOICES)
    @app_commands.autocomplete(leave_type=leave_type_choices)
    async def apply(
        self,
        interaction: discord.Interaction,
        leave_type: str,
        start: str,
        end: str | None = None,
        portion: app_commands.Choice[str] | None = None,
        from_time: str | None = None,
        to_time: str | None = None,
        reason: app_commands.Range[str, 1, 500] | None = None,
        member: discord.Member | None = None,
        override_note: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        config = await guild_config(interaction)
        today = self.desk.today(config)
        first = parse_date(start, today)
        last = parse_date(end, today) if end else None
        begin = parse_hhmm(from_time) if from_time else None
        finish = parse_hhmm(to_time) if to_time else None
        if member is not None and member.bot:
            raise UserError("Bots do not take leave; pick a person.")
        target = member or interaction.user
        result = await self.leave.apply(
            config.guild_id,
            actor=actor_of(config, interaction.user),
            user_id=target.id,
            leave_type=leave_type,
            start=first,
            end=last,
            portion=Portion(portion.value) if portion else Portion.FULL_DAY,
            from_time=begin,
            to_time=finish,
            reason=reason,
            override_note=override_note,
            now=self.desk.now(),
        )
        own = target.id == interaction.user.id
        if self.desk.has_card_channel(config):
            # The requester's answer does not wait for the card: posting in one channel is
            # rate-limited by Discord per channel (and queued by discord.py behind the posts
            # before it), so a busy approvals channel would hold every /leave apply answer.
            await answer(interaction, embed=apply_embed(result, target.display_name, None, own=own))
            note = await self.desk.post_card(result.request, config, result.request_years())
            if note:  # the card could not be posted after all: say so in a followup
                await answer(interaction, note, ephemeral=True)
        else:
            note = await self.desk.post_card(result.request, config, result.request_years())
            embed = apply_embed(result, target.display_name, note, own=own)
            await answer(interaction, embed=embed, ephemeral=True)
        if not own:
            await self.desk.tell_requester(result.request, interaction.user.id, config)

    @app_commands.command(name="cancel", description="Cancel a leave request (gives back its days)")
    @app_commands.describe(request="The request: yours pending or not yet started; managers: any")
    @app_commands.autocomplete(request=cancellable_choices)
    async def cancel(self, interaction: discord.Interaction, request: str) -> None:
        await acknowledge_later(interaction)
        config = await guild_config(interaction)
        request_id = parse_request_id(request)
        try:
            decision = await self.leave.cancel(
                config.guild_id,
                request_id,
                actor=actor_of(config, interaction.user),
                now=self.desk.now(),
            )
        except AlreadyDecided as error:
            raise UserError(self.desk.already_message(error, config)) from None
        cancelled = decision.request
        await self.desk.refresh_card(cancelled, config)
        credited = decision.credited > 0
        if cancelled.user_id == interaction.user.id:
            await self.desk.tell_managers_cancelled(
                cancelled, interaction.user.id, config, credited=credited
            )
        else:
            await self.desk.tell_requester(
                cancelled, interaction.user.id, config, credited=credited
            )
        text = f"Cancelled request #{cancelled.id} ({cancelled.leave_type}, {cancelled.span.describe()})."
        if credited:
            left = " · ".join(
                f"{b.year}: {format_days(b.available)} available"
                for b in decision.balances
                if b.tracked
            )
            text += f" {format_amount(decision.credited)} went back to the balance ({left})."
        await answer(interaction, text[:2000], ephemeral=True)

    # -- seeing leave --------------------------------------------------------------------------
    @app_commands.command(
        name="balance", description="Leave balances: entitlement, taken, available"
    )
    @app_commands.describe(
        member="Managers: someone else's balance", year="Year (default: this year)"
    )
    async def balance(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        year: app_commands.Range[int, 2000, 2100] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        config, user_id, _ = await self._subject(interaction, member, "balance")
        today = self.desk.today(config)
        await self.leave.types(config.guild_id, now=self.desk.now())
        shown_year = year or today.year
        balances = await self.leave.balances(config.guild_id, user_id, shown_year, today=today)
        name = (member or interaction.user).display_name
        await send_embed_pages(
            interaction, balance_pages(name, shown_year, balances, config.workday_minutes)
        )

    @app_commands.command(name="history", description="Leave requests with their ids and states")
    @app_commands.describe(
        member="Managers: someone else's history",
        year="Only requests touching this year",
        status="Only requests in this state",
    )
    @app_commands.choices(status=STATUS_CHOICES)
    async def history(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        year: app_commands.Range[int, 2000, 2100] | None = None,
        status: app_commands.Choice[str] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        config, user_id, _ = await self._subject(interaction, member, "history")
        requests = await self.leave.history(
            config.guild_id,
            user_id,
            year=year,
            status=RequestStatus(status.value) if status else None,
        )
        name = (member or interaction.user).display_name
        filters = " · ".join(
            x for x in (str(year) if year else "", status.value if status else "") if x
        )
        title = f"Leave history · {name}" + (f" · {filters}" if filters else "")
        pages = paginate(title, [request_line(r) for r in requests], empty="No requests.")
        await send_embed_pages(interaction, pages)

    @app_commands.command(name="pending", description="Managers: requests waiting for approval")
    async def pending(self, interaction: discord.Interaction) -> None:
        await acknowledge_later(interaction)
        config, actor = await self.desk.require_pending_reader(interaction)
        embed, view = await self.desk.pending_page(config, 0, actor)
        if view is None:
            await answer(interaction, embed=embed, ephemeral=True)
        else:
            await answer(interaction, embed=embed, view=view, ephemeral=True)

    @app_commands.command(name="out", description="Who is out on a day")
    @app_commands.describe(date=f"The day: {DATE_HELP} (default: today)")
    async def out(self, interaction: discord.Interaction, date: str | None = None) -> None:
        # Parse before deferring: the answer is public, an input error must stay private.
        config = await guild_config(interaction)
        today = self.desk.today(config)
        day = parse_date(date, today) if date else today
        await acknowledge_later(interaction, ephemeral=False)
        absences = whole_days(await self.leave.absences(config.guild_id, day, day))
        holidays = await self.leave.holidays(config.guild_id, day, day)
        notes = []
        if holidays:
            notes.append(f"🎉 {escape_markdown(holidays[0].name)}: a holiday for everyone.")
        elif not is_working_day(day, config.workdays, frozenset()):
            notes.append("Not a working day.")
        if absences and not any(a.is_away for a in absences):
            notes.append("Nobody is out.")
        pages = paginate(
            f"Who is out · {describe_dates(day, day)}",
            out_lines(absences, self.desk.name_of(config.guild_id)),
            colour=discord.Colour.teal(),
            header="\n".join(notes),
            empty="Nobody is out.",
        )
        await send_embed_pages(interaction, pages, ephemeral=False)

    @app_commands.command(name="calendar", description="The team's leave for a month at a glance")
    @app_commands.describe(month="YYYY-MM or a month name, e.g. Dec (default: this month)")
    async def calendar(self, interaction: discord.Interaction, month: str | None = None) -> None:
        config = await guild_config(interaction)  # parsed before the public defer, see /leave out
        first = parse_month(month, self.desk.today(config))
        await acknowledge_later(interaction, ephemeral=False)
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        absences = whole_days(
            await self.leave.absences(
                config.guild_id, first, last, statuses=("approved", "pending")
            )
        )
        holidays = await self.leave.holidays(config.guild_id, first, last)
        pages = calendar_pages(
            first, absences, holidays, config.workdays, self.desk.name_of(config.guild_id)
        )
        await send_embed_pages(interaction, pages, ephemeral=False)

    @app_commands.command(name="types", description="Leave types and their policies")
    async def types(self, interaction: discord.Interaction) -> None:
        await acknowledge_later(interaction)
        config = await guild_config(interaction)
        types = await self.leave.types(config.guild_id, now=self.desk.now())
        await send_embed_pages(interaction, paginate("Leave types", type_lines(types)))

    # -- managing ------------------------------------------------------------------------------
    @app_commands.command(name="policy", description="Managers: create or change a leave type")
    @app_commands.describe(
        leave_type="The type to change, or a new name to create one",
        allowance="Days a year (e.g. 14 or 14.5); 'none' keeps no balance",
        accrual="All on 1 January, or 1/12 on the 1st of each month",
        carryover_cap="Unused days that move to next year (0 = none)",
        deducts="Does it take days from a balance? (false: Work from home, On duty)",
        requires_approval="Must a manager approve it?",
        allow_negative="May the balance go below zero?",
        rename="A new name for this type (its past requests keep the name they had)",
        archive="True: retire the type (history and exports keep it); False: bring it back",
    )
    @app_commands.choices(accrual=ACCRUAL_CHOICES)
    @app_commands.autocomplete(leave_type=policy_type_choices)
    async def policy(
        self,
        interaction: discord.Interaction,
        leave_type: app_commands.Range[str, 1, 40],
        allowance: str | None = None,
        accrual: app_commands.Choice[str] | None = None,
        carryover_cap: app_commands.Range[float, 0, 366] | None = None,
        deducts: bool | None = None,
        requires_approval: bool | None = None,
        allow_negative: bool | None = None,
        rename: app_commands.Range[str, 1, 40] | None = None,
        archive: bool | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        days = parse_days(allowance, allow_none=True) if allowance is not None else None
        change = PolicyChange(
            allowance=days,
            clear_allowance=allowance is not None and days is None,
            accrual=Accrual(accrual.value) if accrual else None,
            carryover_cap=days_from_number(carryover_cap) if carryover_cap is not None else None,
            deducts=deducts,
            requires_approval=requires_approval,
            allow_negative=allow_negative,
            rename=rename,
            archive=archive,
        )
        leave_type_row, created = await self.leave.set_policy(
            config.guild_id,
            leave_type,
            change,
            actor=actor_of(config, interaction.user),
            now=self.desk.now(),
        )
        verb = "Created" if created else "Updated"
        text = f"{verb} **{leave_type_row.name}**: {describe_settings(leave_type_row.settings)}.\n"
        if rename is not None and leave_type_row.name.lower() != leave_type.strip().lower():
            text += f"Renamed from {clip(leave_type.strip(), 40)}; past requests keep that name.\n"
        if leave_type_row.archived:
            text += (
                "It is archived: gone from the choices and balances; its requests stay in the "
                "history and exports.\n"
            )
        elif archive is False:
            text += "It is back in use.\n"
        amounts = (allowance, accrual, carryover_cap, deducts, allow_negative)
        if not created and any(value is not None for value in amounts):
            text += "Requests already made keep the amounts they were made with."
        text = text.rstrip("\n")
        await answer(interaction, text, ephemeral=True)

    @app_commands.command(name="allowance", description="Managers: a member's own yearly allowance")
    @app_commands.describe(
        member="Whose allowance", leave_type="Which type", days="Days a year for this member"
    )
    @app_commands.autocomplete(leave_type=leave_type_choices)
    async def allowance(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        leave_type: str,
        days: app_commands.Range[float, 0, 366],
    ) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        after = await self.leave.set_allowance(
            config.guild_id,
            actor=actor_of(config, interaction.user),
            user_id=member.id,
            leave_type=leave_type,
            days=days_from_number(days),
            now=self.desk.now(),
        )
        if isinstance(after, HeldChange):
            await answer(interaction, await post_change_card(self.desk, after, config))
            return
        text = (
            f"{member.display_name}'s {after.leave_type} allowance is now "
            f"{format_amount(days_from_number(days))} a year; {format_amount(after.available)} "
            f"available in {after.year}."
        )
        if after.available < 0:
            text += " That is below zero: leave already taken exceeds the new allowance."
        await answer(interaction, text, ephemeral=True)

    @app_commands.command(
        name="adjust", description="Managers: add or remove days (a ledger entry)"
    )
    @app_commands.describe(
        member="Whose balance",
        leave_type="Which type",
        days="Days to add (negative to remove)",
        reason="Why (kept in the ledger)",
    )
    @app_commands.autocomplete(leave_type=leave_type_choices)
    async def adjust(
        self,
        interaction: discord.Interaction,
        member: discord.Member,
        leave_type: str,
        days: app_commands.Range[float, -366, 366],
        reason: app_commands.Range[str, 1, 200],
    ) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        amount = days_from_number(days, allow_negative=True)
        after = await self.leave.adjust(
            config.guild_id,
            actor=actor_of(config, interaction.user),
            user_id=member.id,
            leave_type=leave_type,
            days=amount,
            reason=reason,
            now=self.desk.now(),
        )
        if isinstance(after, HeldChange):
            await answer(interaction, await post_change_card(self.desk, after, config))
            return
        sign = "+" if amount > 0 else "-"
        await answer(
            interaction,
            f"Adjusted {member.display_name}'s {after.leave_type} by {sign}"
            f"{format_amount(abs(amount))} ({clip(reason, 200)}). Available in {after.year}: "
            f"{format_amount(after.available)}.",
            ephemeral=True,
        )

    # -- holidays ------------------------------------------------------------------------------
    @holiday.command(name="add", description="Managers: add a holiday (a day nobody works)")
    @app_commands.describe(date=f"The day: {DATE_HELP}", name="What it is, e.g. Christmas Day")
    async def holiday_add(
        self, interaction: discord.Interaction, date: str, name: app_commands.Range[str, 1, 100]
    ) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        day = parse_date(date, self.desk.today(config))
        holiday, replaced = await self.leave.add_holiday(
            config.guild_id,
            day,
            name,
            actor=actor_of(config, interaction.user),
            now=self.desk.now(),
        )
        name = escape_markdown(holiday.name)
        text = f"Added **{name}** on {describe_dates(day, day)}."
        if replaced is not None:
            old_name = escape_markdown(replaced.name)
            text = f"Renamed the holiday on {describe_dates(day, day)}: {old_name} → **{name}**."
        affected = await self.leave.absences(config.guild_id, day, day, ("approved", "pending"))
        if affected:
            cover = (
                "covers that day and keeps its amount"
                if len(affected) == 1
                else "cover that day and keep their amounts"
            )
            text += (
                f" {plural(len(affected), 'request')} already {cover}; "
                "cancel and request again to free the day."
            )
        await answer(interaction, text, ephemeral=True)

    @holiday.command(name="remove", description="Managers: remove a holiday")
    @app_commands.describe(date=f"The day: {DATE_HELP}")
    async def holiday_remove(self, interaction: discord.Interaction, date: str) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        day = parse_date(date, self.desk.today(config))
        holiday = await self.leave.remove_holiday(
            config.guild_id,
            day,
            actor=actor_of(config, interaction.user),
            now=self.desk.now(),
        )
        await answer(
            interaction,
            f"Removed **{escape_markdown(holiday.name)}** ({describe_dates(day, day)}).",
            ephemeral=True,
        )

    @holiday.command(name="list", description="Holidays of a year")
    @app_commands.describe(year="Year (default: this year)")
    async def holiday_list(
        self,
        interaction: discord.Interaction,
        year: app_commands.Range[int, 2000, 2100] | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        config = await guild_config(interaction)
        shown = year or self.desk.today(config).year
        holidays = await self.leave.holidays(
            config.guild_id, date(shown, 1, 1), date(shown, 12, 31)
        )
        pages = paginate(
            f"Holidays {shown}",
            holiday_lines(holidays),
            empty="No holidays yet: `/leave holiday add` or `/leave holiday import`.",
        )
        await send_embed_pages(interaction, pages)

    @holiday.command(name="import", description="Managers: import a country's public holidays")
    @app_commands.describe(
        country="Two-letter country code, e.g. IN, GB, US",
        year="Year (default: this year)",
        subdivision="State or region code, e.g. CA or MH (optional)",
    )
    @app_commands.autocomplete(country=country_choices, subdivision=subdivision_choices)
    async def holiday_import(
        self,
        interaction: discord.Interaction,
        country: str,
        year: app_commands.Range[int, 2000, 2100] | None = None,
        subdivision: str | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        config = await require_manager(interaction)
        shown = year or self.desk.today(config).year
        result = await self.leave.import_holidays(
            config.guild_id,
            country,
            shown,
            subdivision,
            actor=actor_of(config, interaction.user),
            now=self.desk.now(),
        )
        where = countries().get(country.strip().upper(), country)
        if subdivision:
            where += f" ({subdivision.strip().upper()})"
        header = (
            f"Imported {plural(len(result.added), 'public holiday')} of {where} for {shown}"
            + (
                f"; {plural(len(result.skipped), 'date')} already had a holiday and "
                f"{'was' if len(result.skipped) == 1 else 'were'} kept."
                if result.skipped
                else "."
            )
        )
        pages = paginate(
            f"Holidays imported · {where} {shown}",
            holiday_lines(result.added),
            header=header,
            empty="Nothing new.",
        )
        await send_embed_pages(interaction, pages)

    # -- export --------------------------------------------------------------------------------
    @app_commands.command(name="export", description="Download leave as CSV or an iCalendar file")
    @app_commands.describe(
        format="csv for spreadsheets, ics for Google Calendar / Outlook",
        start=f"From: {DATE_HELP} (default: 1 January this year)",
        end="Until (default: 31 December of the start's year)",
        member="Only this member (others than you: managers only; ics: the team without details)",
    )
    @app_commands.choices(format=FORMAT_CHOICES)
    async def export(
        self,
        interaction: discord.Interaction,
        format: app_commands.Choice[str],
        start: str | None = None,
        end: str | None = None,
        member: discord.Member | None = None,
    ) -> None:
        await acknowledge_later(interaction)
        config, user_id, is_manager = await self._subject(interaction, member, "leave")
        today = self.desk.today(config)
        first = parse_date(start, today) if start else date(today.year, 1, 1)
        last = parse_date(end, today) if end else date(first.year, 12, 31)
        if last < first:
            raise UserError(f"The end {last.isoformat()} is before the start {first.isoformat()}.")
        if (last - first).days > MAX_EXPORT_DAYS:
            raise UserError("Export at most three years at a time.")
        # The team's calendar (ics) is for everyone, as /leave calendar is; a member who is
        # not a manager sees others only as out or working elsewhere. Spreadsheets of others'
        # leave are for managers.
        team_feed = member is None and (is_manager or format.value == "ics")
        only = None if team_feed else user_id
        # One more than the cap, to know whether the period holds more than one export may.
        requests = await self.leave.export_requests(
            config.guild_id, first, last, user_id=only, limit=MAX_EXPORT_REQUESTS + 1
        )
        capped = len(requests) > MAX_EXPORT_REQUESTS
        requests = requests[:MAX_EXPORT_REQUESTS]
        name_of = self.desk.name_of(config.guild_id)
        period = f"from {describe_dates(first, first)} to {describe_dates(last, last)}"
        if not requests:
            # An empty file helps nobody; say so, as /dar export does.
            whom = "" if only is None else f" for {name_of(only)}"
            await answer(
                interaction,
                f"No leave requests{whom} {period} (pending or approved): nothing to export.",
            )
            return
        names = {uid: name_of(uid) for r in requests for uid in (r.user_id, r.decided_by) if uid}
        whose = "The team's" if only is None else f"{name_of(only)}'s"
        label = "team" if only is None else name_of(only)
        # Built on a worker thread: thousands of events take seconds, and the event loop
        # must keep answering everyone else meanwhile.
        if format.value == "csv":
            data = await asyncio.to_thread(requests_csv, requests, names, config.tz)
        else:
            data = await asyncio.to_thread(
                partial(
                    requests_ics,
                    requests,
                    names,
                    config.tz,
                    self.desk.now(),
                    calendar_name=f"Leave · {label}",
                    private_except=None if is_manager else interaction.user.id,
                )
            )
        if len(data) > MAX_FILE_BYTES:
            raise UserError("That export is too large for Discord; choose a shorter period.")
        filename = f"leave-{first.isoformat()}-to-{last.isoformat()}.{format.value}"
        count = plural(len(requests), "request")
        cap = (
            f" That is the most one export holds ({MAX_EXPORT_REQUESTS:,}): the period has more, "
            f"so export the rest from {describe_dates(requests[-1].start, requests[-1].start)} on."
            if capped
            else ""
        )
        await answer(
            interaction,
            f"{whose} leave {period}: {count}, pending and approved.{cap}",
            file=discord.File(io.BytesIO(data), filename=filename),
            ephemeral=True,
        )
