"""The DAR's scheduled jobs, each effect claimed once in the notification ledger so a restart at
the moment one is due neither repeats nor loses it, and one missed while the bot was down goes
out on the first pass after it is back (the same local day):

- ``dar_reminder`` (daily, the guild's ``dar_reminder`` time): a DM with the Submit DAR button to
  each expected member without a report, in the guild's timezone; members with their own
  timezone are reminded at that time in *their* zone by the ``dar_reminder_zones`` tick job.
  Never anyone on leave, once per member per day.
- ``dar_summary`` (daily, ``dar_summary``): the day's summary in the reports channel, paged.
- ``digest`` (daily, ``digest``): the manager digest in the reports channel, on workdays.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import discord

from concord.cogs.dar.checkin_jobs import (
    CHECKIN_JOB,
    CHECKIN_SUMMARY_JOB,
    OWN_TIME_JOB,
    CheckinJobs,
)
from concord.cogs.dar.checkin_views import reminder_view
from concord.cogs.dar.embeds import roster_members, to_embed, to_view
from concord.core.dar import (
    Member,
    Report,
    RosterEntry,
    summary_deadline,
)
from concord.core.dar_layout import (
    compose_digest,
    compose_follow_up,
    compose_summary,
    late_note,
    reminder_text,
)
from concord.core.embed_pages import MessageSpec
from concord.core.settings import GuildConfig
from concord.db.dar import REMINDER_JOB as DAR_REMINDER_JOB
from concord.scheduler import DailyJob, TickJob

if TYPE_CHECKING:
    from concord.cogs.dar.cog import Dar

log = logging.getLogger(__name__)

REMINDER_JOB = DAR_REMINDER_JOB
REMINDER_ZONES_JOB = "dar_reminder_zones"
SUMMARY_JOB = "dar_summary"
DIGEST_JOB = "digest"
REMINDER_KIND = "dar.reminder"
SUMMARY_KIND = "dar.summary"
DIGEST_KIND = "dar.digest"
FOLLOW_UP_KIND = "dar.follow_up"


class DeliveryFailed(Exception):
    """Some messages of a job could not be sent; the scheduler retries the job (what was
    already sent is claimed and is not sent again)."""


def reminder_key(user_id: int, day: date) -> str:
    return f"{user_id}:{day.isoformat()}"


def reminder_time(config: GuildConfig) -> time | None:
    """Reminders wait for the server's setup: before it, everyone counts as staff in UTC."""
    return config.dar_reminder if config.configured else None


def summary_passed(config: GuildConfig, day: date, zone: ZoneInfo, now: datetime) -> bool:
    """Whether the summary time of ``day`` (on the member's clock) has passed, for a server
    whose reminder comes before its summary: a reminder then would come after the summary."""
    return config.dar_reminder < config.dar_summary and now >= summary_deadline(
        day, config.dar_summary, zone
    )


def summary_time(config: GuildConfig) -> time | None:
    """The summary needs a reports channel to go to."""
    return config.dar_summary if config.reports_channel_id is not None else None


def digest_time(config: GuildConfig) -> time | None:
    """The digest needs a reports channel to go to."""
    return config.digest if config.reports_channel_id is not None else None


class DarJobs:
    def __init__(self, cog: Dar) -> None:
        self.cog = cog
        self.bot = cog.bot
        self.dar_store = cog.dar_store
        self.checkin_jobs = CheckinJobs(cog, self)

    def scheduled(self) -> list[DailyJob | TickJob]:
        """The module's jobs (its descriptor hands them to the scheduler). A job that cannot
        run for want of setup is off (None) rather than run for nothing: once the server is
        set up it runs at its time that day, not the next day."""
        return [
            DailyJob(REMINDER_JOB, reminder_time, self.remind),
            TickJob(REMINDER_ZONES_JOB, self.remind_own_zones, guilds=self.guilds_with_own_zones),
            DailyJob(SUMMARY_JOB, summary_time, self.post_summary),
            DailyJob(DIGEST_JOB, digest_time, self.post_digest),
            # Check-ins and members' own reminder times (concord/cogs/dar/checkin_jobs.py).
            TickJob(CHECKIN_JOB, self.checkin_jobs.ask, guilds=self.guilds_with_checkins),
            TickJob(OWN_TIME_JOB, self.checkin_jobs.remind_own_time, guilds=self.guilds_own_time),
            DailyJob(CHECKIN_SUMMARY_JOB, summary_time, self.checkin_jobs.post_summaries),
        ]

    # -- reminders -------------------------------------------------------------------------
    async def remind(self, config: GuildConfig, local_date: date, late: bool) -> None:
        """Members who follow the guild's timezone, at the guild's reminder time; not once the
        day's summary time has passed (a catch-up after downtime: the summary says it all)."""
        guild = self.bot.get_guild(config.guild_id)
        if guild is None:
            return
        if summary_passed(config, local_date, config.tz, self.bot.clock.now()):
            log.info("DAR reminders for %s skipped: its summary time has passed", local_date)
            return
        zones = await self.bot.guild_settings.member_timezones(config.guild_id)
        own_time = await self.own_time_members(config.guild_id)
        people = [
            m
            for m in roster_members(guild)
            if zones.get(m.user_id, config.timezone) == config.timezone
            and m.user_id not in own_time
        ]
        await self._remind(config, guild, local_date, people)

    async def own_time_members(self, guild_id: int) -> set[int]:
        """Members with their own reminder time (``dar_reminder_own_time`` reminds them)."""
        rhythms = await self.cog.checkins.rhythms(guild_id)
        return {uid for uid, r in rhythms.items() if r.remind_at is not None}

    async def remind_people(
        self, config: GuildConfig, guild: discord.Guild, day: date, people: Sequence[Member]
    ) -> None:
        await self._remind(config, guild, day, people, settle_unexpected=True)

    async def guilds_with_checkins(self, now: datetime) -> set[int]:
        """The guilds the check-in job may have work in (a check-in besides the Daily report)."""
        return await self.cog.checkins.guilds_with_checkins()

    async def guilds_own_time(self, now: datetime) -> set[int]:
        """The guilds where some member has their own reminder time."""
        return await self.cog.checkins.guilds_with_own_times()

    async def guilds_with_own_zones(self, now: datetime) -> set[int]:
        """The guilds :meth:`remind_own_zones` may have work in (some member's own timezone)."""
        return await self.bot.guild_settings.guilds_with_member_zones()

    async def remind_own_zones(self, config: GuildConfig, now: datetime) -> None:
        """Members with their own timezone, once the reminder time has come where they are and
        until their own summary time (their report is late after it)."""
        if not config.configured:
            return
        zones = await self.bot.guild_settings.member_timezones(config.guild_id)
        own_time = await self.own_time_members(config.guild_id)
        own = {
            uid: tz for uid, tz in zones.items() if tz != config.timezone and uid not in own_time
        }
        guild = self.bot.get_guild(config.guild_id) if own else None
        if guild is None:
            return
        due: dict[date, list[Member]] = {}
        for member in roster_members(guild):
            zone = own.get(member.user_id)
            if zone is None:
                continue
            local = now.astimezone(ZoneInfo(zone))
            reminder_due = local.time().replace(tzinfo=None) >= config.dar_reminder
            if reminder_due and not summary_passed(config, local.date(), ZoneInfo(zone), now):
                due.setdefault(local.date(), []).append(member)
        for day, people in due.items():
            waiting = set(
                await self.dar_store.unreminded(
                    config.guild_id, day, [m.user_id for m in people], REMINDER_KIND
                )
            )
            if waiting:
                await self._remind(
                    config,
                    guild,
                    day,
                    [m for m in people if m.user_id in waiting],
                    settle_unexpected=True,
                )

    async def _remind(
        self,
        config: GuildConfig,
        guild: discord.Guild,
        day: date,
        people: Sequence[Member],
        *,
        settle_unexpected: bool = False,
    ) -> None:
        """DM each of ``people`` who is expected on ``day`` and has no report, once. With
        ``settle_unexpected`` (the tick job, which looks again every pass) the day is also marked
        done for those nobody expects, so they are not looked up again until tomorrow."""
        now = self.bot.clock.now()
        if await self.cog.checkins.daily_paused(config.guild_id):
            return  # /dar checkin pause checkin:Daily report
        # Never outside a member's own workdays (/dar remind days:).
        rhythms = await self.cog.checkins.rhythms(config.guild_id)
        off_today = {
            uid for uid, r in rhythms.items() if r.workdays and day.weekday() not in r.workdays
        }
        if off_today:
            for member in people:
                if member.user_id in off_today:
                    await self.bot.job_ledger.claim_notification(
                        config.guild_id, REMINDER_KIND, reminder_key(member.user_id, day), now
                    )
            people = [m for m in people if m.user_id not in off_today]
        missing = await self.dar_store.missing(config.guild_id, day, people)
        if settle_unexpected:
            for member in people:
                if member.user_id not in missing.roster.expected_ids:
                    await self.bot.job_ledger.claim_notification(
                        config.guild_id, REMINDER_KIND, reminder_key(member.user_id, day), now
                    )
        if not missing.missing:
            return
        overdue = await self.dar_store.overdue_by_member(config.guild_id, now)
        failed = 0
        for entry in missing.missing:
            key = reminder_key(entry.user_id, day)
            nonce = await self.bot.job_ledger.claim_delivery(
                config.guild_id, REMINDER_KIND, key, now
            )
            if nonce is None:
                continue
            if await self._send_reminder(guild, entry, day, overdue.get(entry.user_id, []), nonce):
                await self.bot.job_ledger.delivered(config.guild_id, REMINDER_KIND, key)
            else:
                await self.bot.job_ledger.release_notification(config.guild_id, REMINDER_KIND, key)
                failed += 1
        if failed:
            raise DeliveryFailed(f"{failed} DAR reminders could not be sent")

    async def _send_reminder(
        self, guild: discord.Guild, entry: RosterEntry, day: date, overdue: list[str], nonce: str
    ) -> bool:
        """True when delivered or when it never can be (DMs closed: logged, not retried)."""
        try:
            user = self.bot.get_user(entry.user_id) or await self.bot.fetch_user(entry.user_id)
            await user.send(
                content=reminder_text(day, entry.note, overdue, guild_name=guild.name),
                view=reminder_view(guild.id, day),
                nonce=nonce,
            )
        except (discord.Forbidden, discord.NotFound):
            log.info("could not DM a DAR reminder to %s (DMs closed or user gone)", entry.user_id)
        except discord.HTTPException:
            log.warning("DAR reminder to %s failed; will retry", entry.user_id, exc_info=True)
            return False
        return True

    # -- the summary and the digest --------------------------------------------------------
    async def post_summary(self, config: GuildConfig, local_date: date, late: bool) -> None:
        guild = self.bot.get_guild(config.guild_id)
        if guild is None:
            return
        if config.reports_channel_id is None:
            log.info("guild %s has no reports channel; no DAR summary posted", guild.id)
            return
        if not (
            await self.cog.checkins.default(config.guild_id, self.bot.clock.now())
        ).post_summary:
            return  # the office posts each report as it arrives instead
        now = self.bot.clock.now()
        data = await self.dar_store.summary(config.guild_id, local_date, roster_members(guild), now)
        if not data.roster.workday and not data.reports:
            return  # a weekend or holiday nobody filed on: nothing to say
        channel = self.bot.get_partial_messageable(config.reports_channel_id, guild_id=guild.id)
        note = late_note(config.dar_summary, config.timezone) if late else None
        await self.post_claimed_pages(
            config.guild_id, channel, SUMMARY_KIND, local_date, compose_summary(data, note)
        )

    async def post_digest(self, config: GuildConfig, local_date: date, late: bool) -> None:
        guild = self.bot.get_guild(config.guild_id)
        if guild is None:
            return
        if config.reports_channel_id is None:
            log.info("guild %s has no reports channel; no digest posted", guild.id)
            return
        if not await self.dar_store.is_workday(config.guild_id, local_date):
            return
        now = self.bot.clock.now()
        data = await self.dar_store.digest(config.guild_id, local_date, roster_members(guild), now)
        channel = self.bot.get_partial_messageable(config.reports_channel_id, guild_id=guild.id)
        note = late_note(config.digest, config.timezone) if late else None
        await self.post_claimed_pages(
            config.guild_id, channel, DIGEST_KIND, local_date, [compose_digest(data, note)]
        )

    async def follow_up(self, report: Report, name: str) -> None:
        """When a member who was not due yet at the posted summary files (their own day ends
        after the office's), add a line under it in the reports channel, once."""
        config = await self.bot.guild_settings.get(report.guild_id)
        if config.reports_channel_id is None:
            return
        posted = await self.bot.job_ledger.sent_at(
            report.guild_id, SUMMARY_KIND, f"{report.day.isoformat()}:1"
        )
        if posted is None:
            return  # no summary yet: the report will be in it
        zone = await self.dar_store.zone(report.guild_id, report.user_id)
        office = summary_deadline(report.day, config.dar_summary, config.tz)
        own = summary_deadline(report.day, config.dar_summary, zone)
        if not office < own or posted >= own:
            return  # they were due when it went out: late or missing, as it says
        now = self.bot.clock.now()
        key = f"{report.user_id}:{report.day.isoformat()}"
        nonce = await self.bot.job_ledger.claim_delivery(report.guild_id, FOLLOW_UP_KIND, key, now)
        if nonce is None:
            return
        channel = self.bot.get_partial_messageable(
            config.reports_channel_id, guild_id=report.guild_id
        )
        try:
            await send_spec(channel, compose_follow_up(report, name), nonce=nonce)
        except discord.HTTPException:
            log.warning("could not post the DAR follow-up for %s", key, exc_info=True)
            await self.bot.job_ledger.release_notification(report.guild_id, FOLLOW_UP_KIND, key)
        else:
            await self.bot.job_ledger.delivered(report.guild_id, FOLLOW_UP_KIND, key)

    async def post_claimed_pages(
        self,
        guild_id: int,
        channel: discord.abc.Messageable,
        kind: str,
        day: date,
        messages: Sequence[MessageSpec],
    ) -> None:
        """Send each page once (claimed per page); a failed page is given back and the job
        fails, so the scheduler's retry sends only what is still missing."""
        now = self.bot.clock.now()
        for number, message in enumerate(messages, start=1):
            key = f"{day.isoformat()}:{number}"
            nonce = await self.bot.job_ledger.claim_delivery(guild_id, kind, key, now)
            if nonce is None:
                continue
            try:
                await send_spec(channel, message, nonce=nonce)
            except discord.HTTPException as error:
                await self.bot.job_ledger.release_notification(guild_id, kind, key)
                raise DeliveryFailed(f"page {number} of {kind} for {day} failed") from error
            await self.bot.job_ledger.delivered(guild_id, kind, key)


def spec_kwargs(message: MessageSpec) -> dict[str, Any]:
    """``send`` arguments for one page: its embeds, content and Make task buttons."""
    kwargs: dict[str, Any] = {"embeds": [to_embed(e) for e in message.embeds]}
    if message.content:
        kwargs["content"] = message.content
    view = to_view(message)
    if view is not None:
        kwargs["view"] = view
    return kwargs


async def send_spec(
    target: discord.abc.Messageable, message: MessageSpec, *, nonce: str | None = None
) -> discord.Message:
    """Send one page; with ``nonce`` (a claim's, see ``JobLedger.claim_delivery``) Discord
    returns the first message instead of making a second one when it is sent again."""
    if nonce is None:
        return await target.send(**spec_kwargs(message))
    return await target.send(**spec_kwargs(message), nonce=nonce)
