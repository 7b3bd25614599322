"""Scheduled work of check-ins and members' own rhythm (issue 21), as jobs of their own that the
DAR module declares (``DarJobs.scheduled``); the scheduler itself is unchanged:

- ``dar_checkins`` (every pass): each check-in other than the Daily report asks its
  participants, by DM with a **Fill in** button, once its time has come where they are, on the
  days it runs; never anyone on leave that whole day or on a holiday; once per member per day.
- ``dar_reminder_own_time`` (every pass): members who set `/dar remind time:` get the Daily
  report reminder at that time in their own timezone (the office-time jobs leave them out).
- ``dar_checkin_summary`` (daily, at ``dar_summary``): for each check-in that posts a summary
  and ran that day, who answered what and who did not.
Members outside their own workdays (`/dar remind days:`) are never reminded or asked.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import discord

from concord.cogs.dar.checkin_views import checkin_view
from concord.cogs.dar.embeds import roster_members
from concord.core.checkins import CheckIn
from concord.core.dar import Member
from concord.core.settings import GuildConfig
from concord.core.text import clip, escape_markdown

if TYPE_CHECKING:
    from concord.cogs.dar.cog import Dar
    from concord.cogs.dar.jobs import DarJobs

log = logging.getLogger(__name__)

CHECKIN_JOB = "dar_checkins"
OWN_TIME_JOB = "dar_reminder_own_time"
CHECKIN_SUMMARY_JOB = "dar_checkin_summary"
ASK_KIND = "dar.checkin"
CHECKIN_SUMMARY_KIND = "dar.checkin_summary"


def ask_key(checkin_id: int, day: date, user_id: int) -> str:
    """The ledger key of a check-in's DM: check-in and day first, so one index range finds a
    day's (``CheckinManager.settled``)."""
    return f"{checkin_id}:{day.isoformat()}:{user_id}"


class CheckinJobs:
    def __init__(self, cog: Dar, dar_jobs: DarJobs) -> None:
        self.cog = cog
        self.bot = cog.bot
        self.dar_jobs = dar_jobs

    def participants(
        self, config: GuildConfig, checkin: CheckIn, members: list[Member]
    ) -> list[Member]:
        role = checkin.role_id or config.staff_role_id
        if role is None:
            return members
        return [m for m in members if role in m.role_ids]

    async def ask(self, config: GuildConfig, now: datetime) -> None:
        if not config.configured:
            return
        checkins = [
            c
            for c in await self.cog.checkins.all(config.guild_id)
            if not c.is_default and not c.paused
        ]
        if not checkins:
            return
        guild = self.bot.get_guild(config.guild_id)
        if guild is None:
            return
        zones = await self.bot.guild_settings.member_timezones(config.guild_id)
        rhythms = await self.cog.checkins.rhythms(config.guild_id)
        members = roster_members(guild)
        for checkin in checkins:
            at = checkin.at or config.dar_reminder
            by_day: dict[date, list[Member]] = {}
            for member in self.participants(config, checkin, members):
                local = now.astimezone(ZoneInfo(zones.get(member.user_id, config.timezone)))
                own = rhythms.get(member.user_id)
                day = local.date()
                if own and own.workdays and day.weekday() not in own.workdays:
                    continue  # outside the member's own workdays (/dar remind days:)
                if not checkin.runs_on(day, config.workdays):
                    continue
                if local.time().replace(tzinfo=None) < at:
                    continue
                by_day.setdefault(day, []).append(member)
            for day, people in by_day.items():
                settled = await self.cog.checkins.settled(
                    config.guild_id, checkin.id, day, ASK_KIND
                )
                waiting = [m for m in people if m.user_id not in settled]
                if waiting:
                    await self._ask_day(config, guild, checkin, day, waiting, now)

    async def _ask_day(
        self,
        config: GuildConfig,
        guild: discord.Guild,
        checkin: CheckIn,
        day: date,
        people: list[Member],
        now: datetime,
    ) -> None:
        roster = await self.cog.dar_store.roster(config.guild_id, day, people)
        away = set(roster.on_leave_ids)
        for member in people:
            key = ask_key(checkin.id, day, member.user_id)
            if roster.holiday or member.user_id in away:
                await self.bot.job_ledger.claim_notification(config.guild_id, ASK_KIND, key, now)
                continue
            nonce = await self.bot.job_ledger.claim_delivery(config.guild_id, ASK_KIND, key, now)
            if nonce is None:
                continue
            try:
                user = self.bot.get_user(member.user_id) or await self.bot.fetch_user(
                    member.user_id
                )
                await user.send(
                    content=(
                        f"Time for **{escape_markdown(checkin.name)}** in {guild.name} "
                        f"({day:%a} {day.day} {day:%b}): "
                        + clip(", ".join(q.label for q in checkin.questions), 1500)
                    ),
                    view=checkin_view(checkin.id, day),
                    nonce=nonce,
                )
            except (discord.Forbidden, discord.NotFound):
                log.info("could not DM check-in %s to %s", checkin.id, member.user_id)
            except discord.HTTPException:
                log.warning("check-in DM to %s failed; will retry", member.user_id, exc_info=True)
                await self.bot.job_ledger.release_notification(config.guild_id, ASK_KIND, key)
                continue
            await self.bot.job_ledger.delivered(config.guild_id, ASK_KIND, key)

    async def remind_own_time(self, config: GuildConfig, now: datetime) -> None:
        """The Daily report reminder for members with their own reminder time."""
        if not config.configured:
            return
        rhythms = {
            uid: r
            for uid, r in (await self.cog.checkins.rhythms(config.guild_id)).items()
            if r.remind_at is not None
        }
        guild = self.bot.get_guild(config.guild_id) if rhythms else None
        if guild is None:
            return
        from concord.cogs.dar.jobs import REMINDER_KIND, summary_passed

        zones = await self.bot.guild_settings.member_timezones(config.guild_id)
        due: dict[date, list[Member]] = {}
        for member in roster_members(guild):
            rhythm = rhythms.get(member.user_id)
            if rhythm is None or rhythm.remind_at is None:
                continue
            zone = ZoneInfo(zones.get(member.user_id, config.timezone))
            local = now.astimezone(zone)
            if local.time().replace(tzinfo=None) < rhythm.remind_at:
                continue
            if summary_passed(config, local.date(), zone, now):
                continue
            due.setdefault(local.date(), []).append(member)
        for day, people in due.items():
            waiting = set(
                await self.cog.dar_store.unreminded(
                    config.guild_id, day, [m.user_id for m in people], REMINDER_KIND
                )
            )
            if waiting:
                await self.dar_jobs.remind_people(
                    config, guild, day, [m for m in people if m.user_id in waiting]
                )

    async def post_summaries(self, config: GuildConfig, local_date: date, late: bool) -> None:
        guild = self.bot.get_guild(config.guild_id)
        if guild is None:
            return
        members = roster_members(guild)
        names = {m.user_id: m.name for m in members}
        now = self.bot.clock.now()
        for checkin in await self.cog.checkins.all(config.guild_id):
            if checkin.is_default or not checkin.post_summary:
                continue
            if not checkin.runs_on(local_date, config.workdays):
                continue
            channel_id = checkin.channel_id or config.reports_channel_id
            if channel_id is None:
                continue
            key = f"{checkin.id}:{local_date.isoformat()}"
            nonce = await self.bot.job_ledger.claim_delivery(
                config.guild_id, CHECKIN_SUMMARY_KIND, key, now
            )
            if nonce is None:
                continue
            entries = await self.cog.checkins.entries_on(checkin.id, local_date)
            filed = [e for e in entries if e.status == "filed"]
            answered = {e.user_id for e in entries}
            people = self.participants(config, checkin, members)
            roster = await self.cog.dar_store.roster(config.guild_id, local_date, people)
            away = set(roster.on_leave_ids)
            waiting = [m for m in people if m.user_id not in answered and m.user_id not in away]
            embed = discord.Embed(
                title=clip(
                    f"{escape_markdown(checkin.name)} — "
                    f"{local_date:%a} {local_date.day} {local_date:%b}",
                    256,
                ),
                description=f"{len(filed)} / {len(filed) + len(waiting)} answered",
                colour=0x5865F2,
            )
            for entry in filed[:20]:
                lines = []
                for question in checkin.questions:
                    value = entry.answers.get(question.id)
                    if value is not None:
                        lines.append(
                            f"**{escape_markdown(question.label)}**: {escape_markdown(value)}"
                        )
                embed.add_field(
                    name=clip(names.get(entry.user_id, str(entry.user_id)), 256),
                    value=clip("\n".join(lines) or "—", 1024),
                    inline=False,
                )
            if waiting:
                embed.add_field(
                    name=f"Not answered ({len(waiting)})",
                    value=clip(", ".join(f"<@{m.user_id}>" for m in waiting), 1024),
                    inline=False,
                )
            channel = self.bot.get_partial_messageable(channel_id, guild_id=guild.id)
            try:
                await channel.send(embed=embed, nonce=nonce)
            except discord.HTTPException:
                await self.bot.job_ledger.release_notification(
                    config.guild_id, CHECKIN_SUMMARY_KIND, key
                )
                raise
            await self.bot.job_ledger.delivered(config.guild_id, CHECKIN_SUMMARY_KIND, key)
